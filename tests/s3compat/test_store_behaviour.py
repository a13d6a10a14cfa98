"""What each S3 server here does with the features jetraw relies on or avoids.

These pin down the rows of docs/storage-compatibility.md that this machine can prove (moto and
Ceph RGW 16.2 over HTTP and HTTPS). Each test states the expected answer per server; a new Ceph
release that changes one fails here first, before the SDK's own tests say why.
"""

from __future__ import annotations

import base64
import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from jetraw._crc import crc32c, crc32c_b64, crc32c_hex
from jetraw._exceptions import DownloadError, IntegrityError, StorageError
from jetraw._storage import S3Storage
from jetraw._transfer import TransferConfig
from tests.conftest import RgwServers, S3Endpoint

MiB = 1 << 20


@pytest.fixture(params=["moto", "rgw", "rgw-https"])
def endpoint(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> S3Endpoint:
    if request.param == "moto":
        found: S3Endpoint = request.getfixturevalue("moto_server")
    else:
        servers: RgwServers = request.getfixturevalue("rgw_servers")
        found = servers.endpoint(request.param)
    for name, value in found.env.items():
        monkeypatch.setenv(name, value)
    return found


@pytest.fixture
def s3(endpoint: S3Endpoint) -> Any:
    return endpoint.boto3_client(attempts=1)  # the answers are the point, not retried ones


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"compat-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def error_of(call: Any, **kwargs: Any) -> tuple[int, str]:
    try:
        call(**kwargs)
    except ClientError as exc:
        return exc.response["ResponseMetadata"]["HTTPStatusCode"], exc.response["Error"]["Code"]
    return 200, ""


def is_rgw(endpoint: S3Endpoint) -> bool:
    return endpoint.name.startswith("rgw")


def test_a_wrong_crc32c_header_is_accepted(s3: Any, bucket: str) -> None:
    """Neither moto 5 nor RGW 16.2 checks ``x-amz-checksum-crc32c`` (AWS does): the bytes are
    stored whatever the header says, and no checksum is kept or echoed."""
    wrong = base64.b64encode(b"\0\0\0\1").decode()
    assert error_of(s3.put_object, Bucket=bucket, Key="k", Body=b"hello", ChecksumCRC32C=wrong) == (
        200,
        "",
    )
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"hello"
    s3.put_object(
        Bucket=bucket, Key="g", Body=b"hello", ChecksumCRC32C=crc32c_b64(crc32c(b"hello"))
    )
    head = s3.head_object(Bucket=bucket, Key="g", ChecksumMode="ENABLED")
    assert not [name for name in head if name.startswith("Checksum")]


def test_full_object_crc32c_multipart(endpoint: S3Endpoint, s3: Any, bucket: str) -> None:
    """What S3Storage asks for (CRC32C, FULL_OBJECT): moto echoes it, RGW ignores it; both
    accept a wrong part CRC and list parts without checksums."""
    upload = s3.create_multipart_upload(
        Bucket=bucket, Key="m", ChecksumAlgorithm="CRC32C", ChecksumType="FULL_OBJECT"
    )
    echoed = {k: v for k, v in upload.items() if k.startswith("Checksum")}
    expected = (
        {} if is_rgw(endpoint) else {"ChecksumAlgorithm": "CRC32C", "ChecksumType": "FULL_OBJECT"}
    )
    assert echoed == expected
    wrong = base64.b64encode(b"\0\0\0\1").decode()
    answer = error_of(
        s3.upload_part,
        Bucket=bucket,
        Key="m",
        UploadId=upload["UploadId"],
        PartNumber=1,
        Body=os.urandom(5 * MiB),
        ChecksumCRC32C=wrong,
    )
    assert answer == (200, "")
    [part] = s3.list_parts(Bucket=bucket, Key="m", UploadId=upload["UploadId"])["Parts"]
    assert not [name for name in part if name.startswith("Checksum")]


# botocore sends checksum trailers over HTTPS only, and moto here is HTTP only.
@pytest.mark.parametrize("endpoint", ["rgw-https"], indirect=True)
def test_aws_chunked_with_a_trailing_checksum(endpoint: S3Endpoint, bucket: str) -> None:
    """boto3's default over HTTPS (a trailer, no Content-Length): RGW answers 411; jetraw sends
    its CRC-32C as a plain header instead (request_checksum_calculation="when_required")."""
    import boto3

    default = boto3.client(
        "s3",
        endpoint_url=endpoint.url,
        region_name="us-east-1",
        aws_access_key_id=endpoint.access_key,
        aws_secret_access_key=endpoint.secret_key,
        verify=endpoint.ca,
        config=Config(s3={"addressing_style": "path"}),
    )
    answer = error_of(default.put_object, Bucket=bucket, Key="k", Body=b"hello")
    assert answer == (411, "MissingContentLength")


def test_complete_multipart_answer_etag(endpoint: S3Endpoint, s3: Any, bucket: str) -> None:
    """RGW's CompleteMultipartUpload answer has an empty ETag (HEAD has the right one): jetraw
    does not use that answer."""
    upload = s3.create_multipart_upload(Bucket=bucket, Key="m")["UploadId"]
    etag = s3.upload_part(
        Bucket=bucket, Key="m", UploadId=upload, PartNumber=1, Body=os.urandom(5 * MiB)
    )["ETag"]
    done = s3.complete_multipart_upload(
        Bucket=bucket,
        Key="m",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
    )
    head = s3.head_object(Bucket=bucket, Key="m")["ETag"]
    assert head.strip('"').endswith("-1")
    assert done.get("ETag") == ("" if is_rgw(endpoint) else head)


def test_unknown_upload_codes(endpoint: S3Endpoint, s3: Any, bucket: str) -> None:
    """ListParts of an unknown upload is NoSuchKey on RGW (S3Storage reports NoSuchUpload, as
    AWS and moto say); completing one is a 500 on both (retried by jetraw, then reported)."""
    unknown = {"Bucket": bucket, "Key": "x", "UploadId": "0123456789abcdef"}
    parts = {"Parts": [{"PartNumber": 1, "ETag": '"0"'}]}
    code = "NoSuchKey" if is_rgw(endpoint) else "NoSuchUpload"
    assert error_of(s3.list_parts, **unknown) == (404, code)
    status, _ = error_of(s3.complete_multipart_upload, **unknown, MultipartUpload=parts)
    assert status == 500
    assert error_of(s3.abort_multipart_upload, **unknown) == (404, "NoSuchUpload")


@pytest.mark.anyio
async def test_s3_storage_reports_no_such_upload(endpoint: S3Endpoint, bucket: str) -> None:
    stored = S3Storage(bucket=bucket, endpoint_url=endpoint.url, addressing_style="path")
    try:
        with pytest.raises(StorageError) as info:
            await stored.list_parts("x", "0123456789abcdef")
        assert info.value.code == "NoSuchUpload"
    finally:
        await stored.aclose()


@pytest.mark.anyio
@pytest.mark.parametrize("size", [1000, 12 * MiB + 5], ids=["put", "multipart"])
async def test_bytes_damaged_on_the_way_are_caught_on_read(
    endpoint: S3Endpoint,
    bucket: str,
    jetraw_platform: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    size: int,
) -> None:
    """The store ignores the CRC-32C sent with the bytes, so bytes damaged between jetraw's
    read of the file and the store are stored. The whole-file CRC-32C jetraw records at commit
    (of what it read) is what catches them, on every read."""
    from jetraw.aio import AsyncClient, AsyncJetrawPath

    put, part = S3Storage.put_object, S3Storage.upload_part

    def damaged(body: memoryview) -> memoryview:
        copy = bytearray(body)
        copy[len(copy) // 2] ^= 0x20
        return memoryview(copy)

    async def put_object(self: S3Storage, key: str, body: memoryview, **kw: Any) -> None:
        await put(self, key, damaged(body), **kw)

    async def upload_part(
        self: S3Storage, key: str, upload_id: str, number: int, body: memoryview, **kw: Any
    ) -> Any:
        return await part(
            self, key, upload_id, number, damaged(body) if number == 2 else body, **kw
        )

    monkeypatch.setattr(S3Storage, "put_object", put_object)
    monkeypatch.setattr(S3Storage, "upload_part", upload_part)
    name = f"c-{uuid.uuid4().hex[:12]}"
    descriptor = {
        "type": "s3",
        "bucket": bucket,
        "prefix": "p",
        "region": "us-east-1",
        "endpoint_url": endpoint.url,
        "addressing_style": "path",
    }
    jetraw_platform.create_space(name, storage=descriptor)
    data = os.urandom(size)
    (tmp_path / "f").write_bytes(data)
    config = TransferConfig(multipart_threshold=5 * MiB, part_size=5 * MiB)
    async with AsyncClient(jetraw_platform.api_key, server=jetraw_platform.url) as client:
        await client.upload(tmp_path / "f", f"/{name}/f", config=config)  # the store took it
        assert (await client.stat(f"/{name}/f")).checksum == crc32c_hex(crc32c(data))
        with pytest.raises(DownloadError) as info:
            await client.download(f"/{name}/f", tmp_path / "back", config=config)
        assert isinstance(info.value.result.files[0].error, IntegrityError)
        assert not (tmp_path / "back").exists()
        with pytest.raises(IntegrityError):
            await AsyncJetrawPath(f"/{name}/f", client=client).read_bytes()
