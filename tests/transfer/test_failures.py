"""Storage failures, cancellation and concurrent readers."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import anyio
import pytest

from jetraw._config import config_dir
from jetraw._exceptions import (
    DownloadError,
    IntegrityError,
    RemotePathNotFoundError,
    StorageConnectionError,
    StorageError,
    UploadError,
)
from jetraw._storage import LocalStorage
from jetraw._transfer import TransferConfig
from jetraw.aio import AsyncJetrawPath

from ._proxy import DroppingProxy
from .conftest import SpaceUnderTest, s3_descriptor

pytestmark = pytest.mark.anyio

MiB = 1 << 20
SMALL = TransferConfig(multipart_threshold=5 * MiB, part_size=5 * MiB, retries=2)
SERIAL = TransferConfig(multipart_threshold=5 * MiB, part_size=5 * MiB, max_concurrency=1)


async def test_dropped_connections_abort_the_upload(
    jetraw_platform: Any,
    client: Any,
    moto_url: str,
    bucket: str,
    boto3_client: Any,
    tmp_path: Path,
) -> None:
    proxy = DroppingProxy(urlparse(moto_url).port or 0, drop_after=1 * MiB)
    try:
        name = f"t-{uuid.uuid4().hex[:12]}"
        jetraw_platform.create_space(name, storage=s3_descriptor(proxy.url, bucket))
        (tmp_path / "big.bin").write_bytes(os.urandom(12 * MiB))
        (tmp_path / "small.bin").write_bytes(b"fits through")
        with pytest.raises(UploadError) as info:
            await client.upload(
                [tmp_path / "big.bin", tmp_path / "small.bin"], f"/{name}/", config=SMALL
            )
        big, small = info.value.result.files
        assert big.status == "failed"
        assert isinstance(big.error, StorageConnectionError)
        assert small.status == "uploaded"
        assert proxy.dropped >= SMALL.retries
    finally:
        proxy.close()
    assert boto3_client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    with pytest.raises(RemotePathNotFoundError):
        await client.stat(f"/{name}/big.bin")
    assert await client.list_pending_uploads(name) == []


async def test_bucket_deleted_mid_upload(
    jetraw_platform: Any,
    client: Any,
    moto_url: str,
    bucket: str,
    boto3_client: Any,
    tmp_path: Path,
) -> None:
    name = f"t-{uuid.uuid4().hex[:12]}"
    jetraw_platform.create_space(name, storage=s3_descriptor(moto_url, bucket))
    (tmp_path / "big.bin").write_bytes(os.urandom(20 * MiB))
    deleted = False

    def delete_bucket_once(event: Any) -> None:
        nonlocal deleted
        if event.kind == "bytes" and event.bytes_done > 0 and not deleted:
            deleted = True
            for upload in boto3_client.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
                boto3_client.abort_multipart_upload(
                    Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                )
            boto3_client.delete_bucket(Bucket=bucket)

    config = TransferConfig(multipart_threshold=5 * MiB, part_size=5 * MiB, max_concurrency=1)
    with pytest.raises(UploadError) as info:
        await client.upload(
            tmp_path / "big.bin", f"/{name}/big.bin", config=config, progress=delete_bucket_once
        )
    assert deleted
    [failed] = info.value.result.files
    assert isinstance(failed.error, StorageError)
    assert failed.error.code in ("NoSuchBucket", "NoSuchUpload")
    with pytest.raises(RemotePathNotFoundError):
        await client.stat(f"/{name}/big.bin")
    assert await client.list_pending_uploads(name) == []
    boto3_client.create_bucket(Bucket=bucket)
    assert boto3_client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def slow_parts(monkeypatch: pytest.MonkeyPatch, delay: float) -> None:
    """Slow down local-storage parts (use a MonkeyPatch of its own: undo() undoes all)."""
    original = LocalStorage.upload_part

    async def upload_part(self: Any, *args: Any, **kwargs: Any) -> Any:
        await anyio.sleep(delay)
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(LocalStorage, "upload_part", upload_part)


async def cancel_midway(client: Any, local: Path, dest: str, **kwargs: Any) -> None:
    events: list[Any] = []
    with anyio.move_on_after(30) as outer:
        async with anyio.create_task_group() as tg:

            async def run() -> None:
                await client.upload(local, dest, config=SERIAL, progress=events.append, **kwargs)

            tg.start_soon(run)
            while not any(e.kind == "bytes" and e.bytes_done >= 5 * MiB for e in events):  # noqa: ASYNC110
                await anyio.sleep(0.01)
            tg.cancel_scope.cancel()
    assert not outer.cancelled_caught


@pytest.fixture
def local_space(jetraw_platform: Any) -> SpaceUnderTest:
    name = f"t-{uuid.uuid4().hex[:12]}"
    return SpaceUnderTest(name, "local", jetraw_platform.create_space(name))


async def test_cancel_aborts_by_default(
    local_space: SpaceUnderTest, client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow_parts(monkeypatch, 0.2)
    (tmp_path / "big.bin").write_bytes(os.urandom(30 * MiB))
    dest = f"/{local_space.name}/c.bin"
    await cancel_midway(client, tmp_path / "big.bin", dest)
    assert await client.list_pending_uploads(local_space.name) == []
    assert local_space.open_multipart_uploads() == []
    assert not await AsyncJetrawPath(dest, client=client).exists()
    assert list((config_dir() / "uploads").glob("*.json")) == []


async def test_cancel_keep_then_resume(
    local_space: SpaceUnderTest, client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = os.urandom(30 * MiB)
    (tmp_path / "big.bin").write_bytes(data)
    dest = f"/{local_space.name}/k.bin"
    with pytest.MonkeyPatch.context() as mp:
        slow_parts(mp, 0.2)
        await cancel_midway(client, tmp_path / "big.bin", dest, on_cancel="keep")
    assert len(await client.list_pending_uploads(local_space.name)) == 1
    assert not await AsyncJetrawPath(dest, client=client).exists()
    events: list[Any] = []
    await client.upload(tmp_path / "big.bin", dest, config=SMALL, progress=events.append)
    assert events[-1].bytes_done < len(data)
    assert await AsyncJetrawPath(dest, client=client).read_bytes() == data
    assert await client.list_pending_uploads(local_space.name) == []


async def test_abort_pending_upload(
    local_space: SpaceUnderTest, client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow_parts(monkeypatch, 0.2)
    (tmp_path / "big.bin").write_bytes(os.urandom(30 * MiB))
    await cancel_midway(
        client, tmp_path / "big.bin", f"/{local_space.name}/p.bin", on_cancel="keep"
    )
    [upload] = await client.list_pending_uploads(local_space.name)
    assert upload.path == "p.bin"
    assert upload.storage_upload_id
    await client.abort_upload(upload.id)
    assert await client.list_pending_uploads(local_space.name) == []
    assert local_space.open_multipart_uploads() == []


async def test_concurrent_readers_during_overwrite(
    space: SpaceUnderTest, client: Any, tmp_path: Path
) -> None:
    versions = [os.urandom(6 * MiB), os.urandom(6 * MiB)]
    dest = f"/{space.name}/hot.bin"
    p = AsyncJetrawPath(dest, client=client)
    config = TransferConfig(multipart_threshold=5 * MiB, part_size=5 * MiB)
    for i, data in enumerate(versions):
        (tmp_path / f"v{i}").write_bytes(data)
    await client.upload(tmp_path / "v0", dest, config=config)
    seen: list[int] = []
    done = False

    async def reader() -> None:
        while not done:
            data = await p.read_bytes()
            seen.append(versions.index(data))  # ValueError if neither version

    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(reader)
        for round_ in range(4):
            await client.upload(
                tmp_path / f"v{(round_ + 1) % 2}", dest, overwrite=True, config=config
            )
        done = True
    assert seen
    assert await p.read_bytes() == versions[0]


async def test_corrupted_object_fails_download_with_integrity_error(
    space: SpaceUnderTest, client: Any, tmp_path: Path
) -> None:
    data = os.urandom(7 * MiB)
    (tmp_path / "f").write_bytes(data)
    await client.upload(tmp_path / "f", f"/{space.name}/f", config=SMALL)
    remote = await client.stat(f"/{space.name}/f")
    corrupt = bytearray(data)
    corrupt[12345] ^= 1
    space.write_object(remote.object_key, bytes(corrupt))
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(DownloadError) as info:
        await client.download(f"/{space.name}/f", out, config=SMALL)
    assert isinstance(info.value.result.files[0].error, IntegrityError)
    assert os.listdir(out) == []
    with pytest.raises(IntegrityError):
        await AsyncJetrawPath(f"/{space.name}/f", client=client).read_bytes()


async def test_replaced_s3_objects_are_deleted_after_the_grace_period(
    jetraw_platform: Any,
    client: Any,
    moto_url: str,
    bucket: str,
    boto3_client: Any,
    tmp_path: Path,
) -> None:
    name = f"t-{uuid.uuid4().hex[:12]}"
    jetraw_platform.create_space(name, storage=s3_descriptor(moto_url, bucket))

    def objects() -> set[str]:
        listing = boto3_client.list_objects_v2(Bucket=bucket).get("Contents", [])
        return {o["Key"] for o in listing}

    dest = f"/{name}/f"
    keys = []
    for i, grace in enumerate([3600.0, 3600.0, 0.0]):
        (tmp_path / "f").write_bytes(f"version {i}".encode())
        config = TransferConfig(garbage_grace=grace)
        await client.upload(tmp_path / "f", dest, overwrite=True, config=config)
        keys.append("space-data/" + (await client.stat(dest)).object_key)
        if i == 1:  # within the grace period: the replaced object stays for readers
            assert objects() == set(keys)
    # What the third upload replaced (version 1) was due at once and is gone; version 0's grace
    # period is not over yet.
    assert objects() == {keys[0], keys[2]}
