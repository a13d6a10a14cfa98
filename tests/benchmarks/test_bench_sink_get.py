"""The sink's GetObject: pattern bytes, whole and ranged, with S3's headers (correctness only)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from xml.etree import ElementTree

import pytest

from benchmarks._pattern import BLOCK, pattern_crc, pattern_views
from benchmarks._sink import SinkProcess
from benchmarks._sink_get import MAX_KEYS, list_page, parse_range
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


def _page(objects: list[tuple[str, int, str]], **query: str) -> ElementTree.Element:
    status, code, inner = list_page("b", objects, query, "2026-11-28T00:00:00.000Z")
    assert (status, code) == (200, "")
    return ElementTree.fromstring(f"<R>{inner}</R>")


def test_list_page_caps_at_1000_and_pages_with_a_token() -> None:
    objects = [(f"k{i:05d}", i, '"e"') for i in range(2500)]
    seen: list[str] = []
    query: dict[str, str] = {"max-keys": "5000"}  # more than S3 gives: capped
    while True:
        page = _page(objects, **query)
        keys = [e.findtext("Key") or "" for e in page.iter("Contents")]
        assert len(keys) == int(page.findtext("KeyCount") or -1) <= MAX_KEYS
        seen += keys
        if page.findtext("IsTruncated") == "false":
            assert page.find("NextContinuationToken") is None
            break
        query = {"max-keys": "5000", "continuation-token": page.findtext("NextContinuationToken")}
        assert query["continuation-token"]
    assert seen == [k for k, _, _ in objects]
    assert len(seen) == 2500


def test_list_page_prefix_delimiter_start_after_and_errors() -> None:
    objects = [("a/1", 1, '"e"'), ("a/2", 2, '"e"'), ("b", 3, '"e"'), ("c/d/e", 4, '"e"')]
    page = _page(objects, delimiter="/", **{"max-keys": "2"})
    assert [e.findtext("Prefix") for e in page.iter("CommonPrefixes")] == ["a/"]
    assert [e.findtext("Key") for e in page.iter("Contents")] == ["b"]
    assert page.findtext("IsTruncated") == "true"
    token = page.findtext("NextContinuationToken") or ""
    rest = _page(objects, delimiter="/", **{"max-keys": "2", "continuation-token": token})
    assert [e.findtext("Prefix") for e in rest.iter("CommonPrefixes")] == ["c/"]
    assert rest.findtext("IsTruncated") == "false"
    after = _page(objects, prefix="a/", **{"start-after": "a/1"})
    assert [e.findtext("Key") for e in after.iter("Contents")] == ["a/2"]
    assert list_page("b", objects, {"max-keys": "x"}, "")[0] == 400
    assert list_page("b", objects, {"continuation-token": "%%%"}, "")[0] == 400


def test_list_objects_v2_pages_over_the_wire(sink: SinkProcess) -> None:
    client = boto3_client(sink)
    keys = [f"paged/{i:02d}" for i in range(7)]
    for key in keys:
        client.put_object(Bucket="b", Key=key, Body=b"x")
    pages = list(
        client.get_paginator("list_objects_v2").paginate(
            Bucket="b", Prefix="paged/", PaginationConfig={"PageSize": 3}
        )
    )
    assert [len(p["Contents"]) for p in pages] == [3, 3, 1]
    assert [o["Key"] for p in pages for o in p["Contents"]] == keys
