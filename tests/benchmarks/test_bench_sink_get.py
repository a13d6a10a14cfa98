"""The sink's GetObject: pattern bytes, whole and ranged, with S3's headers (correctness only)."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from benchmarks._pattern import BLOCK, pattern_crc, pattern_views
from benchmarks._sink import SinkProcess
from benchmarks._sink_get import parse_range
from jetraw._crc import crc32c
from tests.benchmarks.test_bench_sink import AWS_ENV, boto3_client

MiB = 1 << 20


@pytest.fixture(scope="module", params=["http", "https"])
def sink(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SinkProcess]:
    with SinkProcess(
        https=request.param == "https", workdir=tmp_path_factory.mktemp("sink")
    ) as server:
        yield server


@pytest.fixture(autouse=True)
def _aws(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)


def pattern(size: int) -> bytes:
    return b"".join(bytes(v) for v in pattern_views(0, size))


def test_pattern_crc_matches_the_bytes() -> None:
    for size in (0, 1, 4097, MiB, 3 * MiB + 5):
        assert pattern_crc(size) == crc32c(pattern(size))
    assert pattern(MiB) == BLOCK


def test_parse_range() -> None:
    assert parse_range("bytes=0-9", 100) == (0, 10)
    assert parse_range("bytes=90-", 100) == (90, 10)
    assert parse_range("bytes=-5", 100) == (95, 5)
    assert parse_range("bytes=95-200", 100) == (95, 5)
    assert parse_range("bytes=100-", 100) is None
    assert parse_range("bytes=0-1,5-6", 100) is None


def test_get_whole_ranged_and_checksum(sink: SinkProcess) -> None:
    client = boto3_client(sink)
    size = 5 * MiB + 123
    body = pattern(size)
    client.put_object(Bucket="b", Key="k", Body=body)
    got = client.get_object(Bucket="b", Key="k", ChecksumMode="ENABLED")
    assert got["Body"].read() == body
    assert got["ContentLength"] == size
    crc = base64.b64encode(pattern_crc(size).to_bytes(4, "big")).decode()
    assert got["ResponseMetadata"]["HTTPHeaders"]["x-amz-checksum-crc32c"] == crc
    part = client.get_object(Bucket="b", Key="k", Range="bytes=1048000-3000000")
    assert part["Body"].read() == body[1048000:3000001]
    assert part["ContentRange"] == f"bytes 1048000-3000000/{size}"
    # Several GETs on one keep-alive connection, and a 404 and a 416 after them.
    for start in (0, MiB - 1, 4 * MiB):
        r = client.get_object(Bucket="b", Key="k", Range=f"bytes={start}-{start + 99}")
        assert r["Body"].read() == body[start : start + 100]
    with pytest.raises(client.exceptions.NoSuchKey):
        client.get_object(Bucket="b", Key="missing")
    with pytest.raises(client.exceptions.ClientError, match="InvalidRange"):
        client.get_object(Bucket="b", Key="k", Range=f"bytes={size}-")
    head = client.head_object(Bucket="b", Key="k")
    assert head["ContentLength"] == size
    listed = client.list_objects_v2(Bucket="b")
    assert [(o["Key"], o["Size"]) for o in listed["Contents"]] == [("k", size)]
