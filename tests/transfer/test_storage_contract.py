"""One contract, run against every storage backend (local disk and S3 through moto)."""

from __future__ import annotations

import os
from typing import Any

import pytest

from jetraw._crc import crc32c, crc32c_combine
from jetraw._exceptions import StorageConnectionError, StorageCredentialsError, StorageError
from jetraw._storage import PartInfo, S3Storage, Storage, is_retryable

from .conftest import free_port

pytestmark = pytest.mark.anyio

MiB = 1 << 20


async def read_all(storage: Storage, key: str, start: int = 0, length: int | None = None) -> bytes:
    if length is None:
        length = await storage.head(key) - start
    return b"".join([c async for c in storage.iter_range(key, start, length)])


async def test_put_head_and_ranged_reads(storage: Storage) -> None:
    data = os.urandom(3 * MiB + 5)
    seen: list[int] = []
    await storage.put_object(
        "objects/a", memoryview(bytearray(data)), crc32c=crc32c(data), on_bytes=seen.append
    )
    assert sum(seen) == len(data)
    assert await storage.head("objects/a") == len(data)
    assert await read_all(storage, "objects/a") == data
    assert await read_all(storage, "objects/a", 7, 100) == data[7:107]
    assert await read_all(storage, "objects/a", len(data) - 1, 1) == data[-1:]


async def test_empty_object(storage: Storage) -> None:
    await storage.put_object("objects/empty", memoryview(b""), crc32c=0)
    assert await storage.head("objects/empty") == 0
    assert await read_all(storage, "objects/empty") == b""


async def test_put_replaces_whole_object(storage: Storage) -> None:
    await storage.put_object("objects/r", memoryview(b"old" * 10), crc32c=crc32c(b"old" * 10))
    await storage.put_object("objects/r", memoryview(b"new"), crc32c=crc32c(b"new"))
    assert await read_all(storage, "objects/r") == b"new"


async def test_multipart_out_of_order_then_complete(storage: Storage) -> None:
    part_size = 5 * MiB
    data = os.urandom(2 * part_size + 123)
    chunks = [data[i : i + part_size] for i in range(0, len(data), part_size)]
    upload_id = await storage.create_multipart("objects/big", part_size=part_size)
    assert [m.upload_id for m in await storage.list_multipart_uploads()] == [upload_id]
    infos: dict[int, PartInfo] = {}
    for number in (3, 1, 2):
        body = bytearray(chunks[number - 1])
        infos[number] = await storage.upload_part(
            "objects/big", upload_id, number, memoryview(body), crc32c=crc32c(body)
        )
    listed = await storage.list_parts("objects/big", upload_id)
    assert [(p.number, p.size, p.etag) for p in listed] == [
        (n, infos[n].size, infos[n].etag) for n in (1, 2, 3)
    ]
    total = 0
    for chunk in chunks:
        total = crc32c_combine(total, crc32c(chunk), len(chunk))
    parts = [infos[n] for n in (1, 2, 3)]
    with pytest.raises(StorageError):
        await read_all(storage, "objects/big")
    await storage.complete_multipart("objects/big", upload_id, parts, crc32c=total)
    assert await read_all(storage, "objects/big") == data
    assert await storage.list_multipart_uploads() == []


async def test_abort_leaves_nothing(storage: Storage) -> None:
    upload_id = await storage.create_multipart("objects/ab", part_size=5 * MiB)
    body = bytearray(os.urandom(5 * MiB))
    await storage.upload_part("objects/ab", upload_id, 1, memoryview(body), crc32c=crc32c(body))
    await storage.abort_multipart("objects/ab", upload_id)
    await storage.abort_multipart("objects/ab", upload_id)  # idempotent
    assert await storage.list_multipart_uploads() == []
    with pytest.raises(StorageError):
        await storage.head("objects/ab")


async def test_delete(storage: Storage) -> None:
    await storage.put_object("objects/d", memoryview(b"x"), crc32c=crc32c(b"x"))
    await storage.delete("objects/d")
    await storage.delete("objects/d")
    with pytest.raises(StorageError):
        await storage.head("objects/d")


async def test_s3_without_credentials_sends_nothing(
    monkeypatch: pytest.MonkeyPatch, moto_url: str
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    # A port where nothing listens: if a request were sent it would be a connection error.
    backend = S3Storage(bucket="b", endpoint_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(StorageCredentialsError) as info:
        await backend.put_object("k", memoryview(b"x"), crc32c=crc32c(b"x"))
    assert "credentials" in str(info.value)
    with pytest.raises(StorageCredentialsError):
        await backend.check_credentials()  # the check the session makes before any request
    await backend.aclose()


async def test_s3_unknown_profile(aws_env: Any, moto_url: str) -> None:
    backend = S3Storage(bucket="b", endpoint_url=moto_url, aws_profile="no-such-profile")
    with pytest.raises(StorageCredentialsError):
        await backend.head("k")
    await backend.aclose()


async def test_s3_no_such_bucket(aws_env: Any, moto_url: str) -> None:
    backend = S3Storage(bucket="missing-bucket-xyz", endpoint_url=moto_url, addressing_style="path")
    with pytest.raises(StorageError) as info:
        await backend.put_object("k", memoryview(b"x"), crc32c=crc32c(b"x"))
    assert info.value.code == "NoSuchBucket"
    assert not isinstance(info.value, StorageCredentialsError)
    await backend.aclose()


async def test_s3_unreachable_endpoint(aws_env: Any) -> None:
    backend = S3Storage(bucket="b", endpoint_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(StorageConnectionError) as info:
        await backend.put_object("k", memoryview(b"x"), crc32c=crc32c(b"x"))
    assert is_retryable(info.value)
    assert "botocore" not in type(info.value).__module__
    await backend.aclose()


async def test_s3_part_checksum_sent_and_object_readable_by_boto3(
    aws_env: Any, moto_url: str, bucket: str, boto3_client: Any
) -> None:
    backend = S3Storage(bucket=bucket, prefix="p/", endpoint_url=moto_url, addressing_style="path")
    data = os.urandom(1000)
    await backend.put_object("objects/x", memoryview(bytearray(data)), crc32c=crc32c(data))
    got = boto3_client.get_object(Bucket=bucket, Key="p/objects/x")["Body"].read()
    assert got == data
    await backend.aclose()


async def test_missing_object_and_upload_codes(storage: Storage) -> None:
    with pytest.raises(StorageError) as info:
        await storage.head("objects/none")
    assert info.value.code == "NoSuchKey"
    with pytest.raises(StorageError) as info:
        await read_all(storage, "objects/none", 0, 10)
    assert info.value.code == "NoSuchKey"
    with pytest.raises(StorageError) as info:
        await storage.list_parts("objects/none", "0123456789abcdef")
    assert info.value.code == "NoSuchUpload"


async def test_s3_request_bodies_go_from_the_loop_as_views(
    s3_endpoint: Any, bucket: str, moto_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A part is handed to aiohttp as views of its buffer on the event loop's thread: never read
    in a worker thread as copies (aiohttp's default for a file-like body)."""
    import threading

    from jetraw._storage import _s3_body

    readers: set[int] = set()
    written: list[int] = []
    read, write = _s3_body.PartBody.read, _s3_body.PartPayload.write_with_length

    def spy_read(self: Any, size: int | None = -1) -> bytes:
        readers.add(threading.get_ident())
        return read(self, size)

    async def spy_write(self: Any, writer: Any, content_length: int | None) -> None:
        written.append(self._length)
        await write(self, writer, content_length)

    monkeypatch.setattr(_s3_body.PartBody, "read", spy_read)
    monkeypatch.setattr(_s3_body.PartPayload, "write_with_length", spy_write)
    storage = S3Storage(
        bucket=bucket, prefix="p", region="us-east-1", endpoint_url=moto_url,
        addressing_style="path",
    )  # fmt: skip
    try:
        data = os.urandom(5 * MiB + 3)
        seen: list[int] = []
        await storage.put_object("a", memoryview(bytearray(data)), crc32c=crc32c(data),
                                 on_bytes=seen.append)  # fmt: skip
        upload = await storage.create_multipart("b", part_size=5 * MiB)
        part = await storage.upload_part("b", upload, 1, memoryview(bytearray(data)),
                                         crc32c=crc32c(data), on_bytes=seen.append)  # fmt: skip
        await storage.complete_multipart("b", upload, [part], crc32c=crc32c(data))
        assert b"".join([c async for c in storage.iter_range("b", 0, len(data))]) == data
        assert b"".join([c async for c in storage.iter_range("a", 0, len(data))]) == data
    finally:
        await storage.aclose()
    assert written == [len(data), len(data)]
    assert sum(seen) == 2 * len(data)
    assert readers <= {threading.get_ident()}  # botocore may hash the body (HTTP), on the loop


async def test_part_payload_gives_bytes_not_text() -> None:
    """aiohttp's default ``as_bytes`` decodes a payload as UTF-8 text; a part is binary."""
    from jetraw._storage import _s3_body

    data = b"\xff\xfe\x00binary" * 100
    payload = _s3_body.PartPayload(_s3_body.PartBody(memoryview(bytearray(data)), None))
    assert await payload.as_bytes() == data
    assert payload.autoclose  # nothing for aiohttp to close: jetraw owns the buffer
    assert payload.size == len(data)
