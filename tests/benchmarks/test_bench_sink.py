"""The benchmark's S3 sink stores the right sizes for real boto3 and aiobotocore uploads.

Correctness only (a benchmark is never a timed test): single PUTs and multipart uploads, plain
bodies (HTTP, checksums off or in a header) and ``aws-chunked`` bodies with checksum trailers
(botocore's default over HTTPS), and wrong checksums refused.
"""

from __future__ import annotations

import base64
import os
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks._sink import ChunkDecoder, SinkProcess
from jetraw._crc import crc32c, crc32c_b64

MiB = 1 << 20
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "sink-test-key",
    "AWS_SECRET_ACCESS_KEY": "sink-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="module", params=["http", "https"])
def sink(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SinkProcess]:
    https = request.param == "https"
    with SinkProcess(https=https, workdir=tmp_path_factory.mktemp("sink")) as server:
        yield server


@pytest.fixture(autouse=True)
def _aws(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)


def boto3_client(sink: SinkProcess, **config: Any) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=sink.url,
        region_name="us-east-1",
        verify=sink.ca or True,
        config=Config(**config),
    )


def payload(size: int, seed: int = 1) -> bytes:
    block = bytes((i * 131 + seed) % 251 for i in range(4096))
    return (block * (size // len(block) + 1))[:size]


def test_boto3_put_object_default_checksums(sink: SinkProcess) -> None:
    sink.reset()
    s3 = boto3_client(sink)
    s3.put_object(Bucket="b", Key="one", Body=payload(100_001))
    s3.put_object(Bucket="b", Key="empty", Body=b"")
    assert s3.head_object(Bucket="b", Key="one")["ContentLength"] == 100_001
    stats = sink.stats()
    assert stats["sizes"] == {"b/one": 100_001, "b/empty": 0}
    counters = stats["counters"]
    # botocore sends a CRC-32 by default: in a header over HTTP, in an aws-chunked trailer over
    # HTTPS. Either way the sink decoded the body and verified it.
    assert counters["crc32_checked"] == 2
    assert counters.get("aws_chunked_bodies", 0) == (2 if sink.url.startswith("https") else 0)
    assert counters.get("checksum_mismatches", 0) == 0


def test_boto3_put_object_without_checksums(sink: SinkProcess) -> None:
    sink.reset()
    s3 = boto3_client(sink, request_checksum_calculation="when_required")
    s3.put_object(Bucket="b", Key="plain", Body=payload(3 * MiB + 7))
    stats = sink.stats()
    assert stats["sizes"] == {"b/plain": 3 * MiB + 7}
    assert stats["counters"].get("aws_chunked_bodies", 0) == 0
    assert stats["counters"].get("crc32_checked", 0) == 0


def test_boto3_upload_file_multipart(sink: SinkProcess, tmp_path: Path) -> None:
    from boto3.s3.transfer import TransferConfig

    sink.reset()
    path = tmp_path / "f.bin"
    path.write_bytes(payload(11 * MiB + 5))
    s3 = boto3_client(sink)
    config = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    s3.upload_file(str(path), "b", "dir/f.bin", Config=config)
    assert s3.head_object(Bucket="b", Key="dir/f.bin")["ContentLength"] == 11 * MiB + 5
    stats = sink.stats()
    assert stats["sizes"] == {"b/dir/f.bin": 11 * MiB + 5}
    counters = stats["counters"]
    assert counters["UploadPart"] == 3
    assert counters["CompleteMultipartUpload"] == 1
    assert counters["payload_bytes"] == 11 * MiB + 5
    assert stats["open_uploads"] == 0


def test_boto3_wrong_crc32c_is_refused_and_counted(sink: SinkProcess) -> None:
    import botocore.exceptions

    sink.reset()
    s3 = boto3_client(
        sink, request_checksum_calculation="when_required", retries={"total_max_attempts": 1}
    )
    body = payload(70_000)
    s3.put_object(Bucket="b", Key="good", Body=body, ChecksumCRC32C=crc32c_b64(crc32c(body)))
    with pytest.raises(botocore.exceptions.ClientError) as info:
        s3.put_object(Bucket="b", Key="bad", Body=body, ChecksumCRC32C=crc32c_b64(crc32c(body) ^ 1))
    assert info.value.response["Error"]["Code"] == "BadDigest"
    stats = sink.stats()
    assert stats["sizes"] == {"b/good": 70_000}
    assert stats["counters"]["crc32c_checked"] == 2
    assert stats["counters"]["checksum_mismatches"] == 1


@pytest.mark.anyio
async def test_aiobotocore_multipart_with_part_crc32c_and_full_object_check(
    sink: SinkProcess,
) -> None:
    """The calls jetraw makes: per-part CRC-32C headers, FULL_OBJECT CRC-32C at completion,
    list_parts, and abort."""
    from aiobotocore.config import AioConfig
    from aiobotocore.session import get_session

    from jetraw._crc import crc32c_combine

    sink.reset()
    parts = [payload(5 * MiB, 1), payload(5 * MiB, 2), payload(1234, 3)]
    config = AioConfig(
        request_checksum_calculation="when_required", s3={"payload_signing_enabled": False}
    )
    async with get_session().create_client(
        "s3", endpoint_url=sink.url, region_name="us-east-1", verify=sink.ca or True, config=config
    ) as s3:
        mpu = await s3.create_multipart_upload(
            Bucket="b", Key="k", ChecksumAlgorithm="CRC32C", ChecksumType="FULL_OBJECT"
        )
        uid = mpu["UploadId"]
        done = []
        for number, body in enumerate(parts, 1):
            r = await s3.upload_part(
                Bucket="b", Key="k", UploadId=uid, PartNumber=number, Body=body,
                ChecksumCRC32C=crc32c_b64(crc32c(body)),
            )  # fmt: skip
            done.append({"PartNumber": number, "ETag": r["ETag"]})
        listed = await s3.list_parts(Bucket="b", Key="k", UploadId=uid)
        assert [(p["PartNumber"], p["Size"]) for p in listed["Parts"]] == [
            (1, 5 * MiB), (2, 5 * MiB), (3, 1234),
        ]  # fmt: skip
        assert listed["Parts"][2]["ChecksumCRC32C"] == crc32c_b64(crc32c(parts[2]))
        whole = 0
        for body in parts:
            whole = crc32c_combine(whole, crc32c(body), len(body))
        await s3.complete_multipart_upload(
            Bucket="b", Key="k", UploadId=uid, MultipartUpload={"Parts": done},
            ChecksumCRC32C=crc32c_b64(whole), ChecksumType="FULL_OBJECT",
        )  # fmt: skip
        head = await s3.head_object(Bucket="b", Key="k")
        assert head["ContentLength"] == 10 * MiB + 1234

        aborted = await s3.create_multipart_upload(Bucket="b", Key="gone")
        await s3.upload_part(
            Bucket="b", Key="gone", UploadId=aborted["UploadId"], PartNumber=1, Body=b"x" * 10
        )
        await s3.abort_multipart_upload(Bucket="b", Key="gone", UploadId=aborted["UploadId"])
    stats = sink.stats()
    assert stats["sizes"] == {"b/k": 10 * MiB + 1234}
    assert stats["open_uploads"] == 0
    counters = stats["counters"]
    assert counters["crc32c_checked"] == 3
    assert counters["full_object_crc32c_checked"] == 1
    assert counters.get("checksum_mismatches", 0) == 0


@pytest.mark.anyio
async def test_aiobotocore_default_checksums_multipart(sink: SinkProcess) -> None:
    """aiobotocore as shipped: CRC-32 on every part (aws-chunked trailers over HTTPS)."""
    from aiobotocore.session import get_session

    sink.reset()
    async with get_session().create_client(
        "s3", endpoint_url=sink.url, region_name="us-east-1", verify=sink.ca or True
    ) as s3:
        await s3.put_object(Bucket="b", Key="small", Body=payload(12_345))
        mpu = await s3.create_multipart_upload(Bucket="b", Key="big")
        bodies = [payload(5 * MiB, 4), payload(777, 5)]
        done = []
        for number, body in enumerate(bodies, 1):
            r = await s3.upload_part(
                Bucket="b", Key="big", UploadId=mpu["UploadId"], PartNumber=number, Body=body
            )
            done.append({"PartNumber": number, "ETag": r["ETag"]})
        await s3.complete_multipart_upload(
            Bucket="b", Key="big", UploadId=mpu["UploadId"], MultipartUpload={"Parts": done}
        )
    stats = sink.stats()
    assert stats["sizes"] == {"b/small": 12_345, "b/big": 5 * MiB + 777}
    counters = stats["counters"]
    assert counters["crc32_checked"] == 3
    assert counters.get("aws_chunked_bodies", 0) == (3 if sink.url.startswith("https") else 0)
    assert counters.get("length_mismatches", 0) == 0


def test_chunk_decoder_any_split() -> None:
    """aws-chunked framing with signatures and a trailer, fed in pieces split anywhere."""
    data = payload(70_000)
    framed = b""
    for start in range(0, len(data), 30_000):
        chunk = data[start : start + 30_000]
        framed += f"{len(chunk):x};chunk-signature={'0' * 64}\r\n".encode() + chunk + b"\r\n"
    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    framed += f"0\r\nx-amz-checksum-crc32:{crc}\r\n\r\nNEXT".encode()
    for step in (1, 7, 4096, len(framed)):
        got = bytearray()
        trailers: dict[str, str] = {}
        decoder = ChunkDecoder(got.extend, trailers.__setitem__)
        stopped_at = None
        for start in range(0, len(framed), step):
            piece = framed[start : start + step]
            pos = decoder.feed(piece)
            if decoder.done:
                stopped_at = start + pos
                break
        assert bytes(got) == data
        assert trailers == {"x-amz-checksum-crc32": crc}
        assert framed[stopped_at:] == b"NEXT"


def test_sink_counts_certificate_files(sink: SinkProcess) -> None:
    """Over HTTPS, the throwaway CA that clients are given exists and is a PEM file."""
    if not sink.url.startswith("https"):
        assert sink.ca is None
        return
    assert sink.ca is not None
    assert os.path.exists(sink.ca)
    assert Path(sink.ca).read_text().startswith("-----BEGIN CERTIFICATE-----")
