"""Storage failures, cancellation and concurrent readers."""

from __future__ import annotations

import hashlib
import os
import time
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
from jetraw._storage import LocalStorage, S3Storage
from jetraw._transfer import TransferConfig
from jetraw.aio import AsyncJetrawPath

from ._proxy import DroppingProxy
from .conftest import SpaceUnderTest, s3_descriptor

pytestmark = pytest.mark.anyio

MiB = 1 << 20
SMALL = TransferConfig(multipart_threshold=5 * MiB, part_size=5 * MiB, attempts=2)
SERIAL = TransferConfig(multipart_threshold=5 * MiB, part_size=5 * MiB, max_concurrency=1)


class S3Calls:
    """The multipart uploads the SDK started and the aborts it sent (spied on S3Storage)."""

    def __init__(self) -> None:
        self.created: list[tuple[str, str]] = []
        self.aborted: list[tuple[str, str]] = []


@pytest.fixture
def s3_calls(monkeypatch: pytest.MonkeyPatch) -> S3Calls:
    calls = S3Calls()
    create, abort = S3Storage.create_multipart, S3Storage.abort_multipart

    async def create_multipart(self: S3Storage, key: str, **kwargs: Any) -> str:
        upload_id = await create(self, key, **kwargs)
        calls.created.append((key, upload_id))
        return upload_id

    async def abort_multipart(self: S3Storage, key: str, upload_id: str) -> None:
        calls.aborted.append((key, upload_id))  # the attempt counts, whatever S3 answers
        await abort(self, key, upload_id)

    monkeypatch.setattr(S3Storage, "create_multipart", create_multipart)
    monkeypatch.setattr(S3Storage, "abort_multipart", abort_multipart)
    return calls


def open_uploads(boto3_client: Any, bucket: str) -> set[str]:
    answer = boto3_client.list_multipart_uploads(Bucket=bucket)
    return {u["UploadId"] for u in answer.get("Uploads", [])}


async def test_dropped_connections_abort_the_upload(
    jetraw_platform: Any,
    client: Any,
    moto_url: str,
    bucket: str,
    boto3_client: Any,
    tmp_path: Path,
    s3_calls: S3Calls,
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
        assert proxy.dropped >= SMALL.attempts
    finally:
        proxy.close()
    # The bucket the upload used, untouched by the test: the multipart upload it started there
    # (seen, so this is not vacuous) is gone because the SDK aborted it.
    [(key, upload_id)] = s3_calls.created
    assert s3_calls.aborted == [(key, upload_id)]
    assert open_uploads(boto3_client, bucket) == set()
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
    s3_calls: S3Calls,
) -> None:
    name = f"t-{uuid.uuid4().hex[:12]}"
    jetraw_platform.create_space(name, storage=s3_descriptor(moto_url, bucket))
    (tmp_path / "big.bin").write_bytes(os.urandom(20 * MiB))
    open_before_delete: set[str] = set()

    def delete_bucket_once(event: Any) -> None:
        if event.kind == "bytes" and event.bytes_done > 0 and not open_before_delete:
            open_before_delete.update(open_uploads(boto3_client, bucket))
            # The bucket goes with the upload's parts in it (the test aborts nothing itself).
            boto3_client.delete_bucket(Bucket=bucket)

    config = TransferConfig(multipart_threshold=5 * MiB, part_size=5 * MiB, max_concurrency=1)
    with pytest.raises(UploadError) as info:
        await client.upload(
            tmp_path / "big.bin", f"/{name}/big.bin", config=config, progress=delete_bucket_once
        )
    [failed] = info.value.result.files
    assert isinstance(failed.error, StorageError)
    assert failed.error.code in ("NoSuchBucket", "NoSuchUpload")
    # The bucket is gone with its uploads, so S3's state proves nothing now: what proves the
    # cleanup is that the SDK sent AbortMultipartUpload for the very upload it had started
    # (which was open in the real bucket), and that the server has no pending upload left.
    [(key, upload_id)] = s3_calls.created
    assert open_before_delete == {upload_id}
    assert (key, upload_id) in s3_calls.aborted
    assert await client.list_pending_uploads(name) == []
    with pytest.raises(RemotePathNotFoundError):
        await client.stat(f"/{name}/big.bin")


def slow_parts(monkeypatch: pytest.MonkeyPatch, delay: float) -> None:
    """Slow down local-storage parts (use a MonkeyPatch of its own: undo() undoes all)."""
    original = LocalStorage.upload_part

    async def upload_part(self: Any, *args: Any, **kwargs: Any) -> Any:
        await anyio.sleep(delay)
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(LocalStorage, "upload_part", upload_part)


async def cancel_midway(client: Any, local: Path, dest: str, **kwargs: Any) -> list[Any]:
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
    return events


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
        first = await cancel_midway(client, tmp_path / "big.bin", dest, on_cancel="keep")
    # Listeners are told the upload was kept (not done, not failed for good).
    kept = [e for e in first if e.kind == "kept"]
    assert [e.file.remote for e in kept] == [dest]
    assert not any(e.kind in ("done", "failed") for e in first)
    assert kept[0].files_done == 1
    assert 0 < kept[0].file.bytes_sent < len(data)
    assert len(await client.list_pending_uploads(local_space.name)) == 1
    assert not await AsyncJetrawPath(dest, client=client).exists()
    events: list[Any] = []
    result = await client.upload(tmp_path / "big.bin", dest, config=SMALL, progress=events.append)
    assert events[-1].bytes_done < len(data)
    # Only what this run sent: the kept parts are not counted again.
    assert result.files[0].bytes_sent == events[-1].bytes_done < len(data)
    assert not any(e.kind == "kept" for e in events)
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
    journals = config_dir() / "uploads"
    assert len(list(journals.glob("*.json"))) == 1
    await client.abort_upload(upload.id)
    assert await client.list_pending_uploads(local_space.name) == []
    assert local_space.open_multipart_uploads() == []
    # Its resume journal went with it: the next run starts afresh, with nothing to find.
    assert list(journals.glob("*.json")) == []


async def test_concurrent_readers_during_overwrite(
    space: SpaceUnderTest, client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Multipart files (3 parts each way) and reads of many chunks: a read takes many awaits, so
    # overwrites commit while reads are in flight.
    versions = [os.urandom(12 * MiB + 1), os.urandom(12 * MiB + 1)]
    digests = {hashlib.sha256(v).digest(): i for i, v in enumerate(versions)}
    dest = f"/{space.name}/hot.bin"
    p = AsyncJetrawPath(dest, client=client)
    config = TransferConfig(multipart_threshold=5 * MiB, part_size=5 * MiB)
    for i, data in enumerate(versions):
        (tmp_path / f"v{i}").write_bytes(data)
    await client.upload(tmp_path / "v0", dest, config=config)
    reads: list[tuple[float, float, int]] = []  # (start, end, version)
    writes: list[tuple[float, float, int]] = [(0.0, time.monotonic(), 0)]
    commits: list[tuple[float, float]] = []  # the complete requests: when a new version appears
    done = False
    request = client._api.request

    async def timed_request(method: str, path: str, **kwargs: Any) -> Any:
        started = time.monotonic()
        answer = await request(method, path, **kwargs)
        if method == "POST" and path.endswith("complete"):
            commits.append((started, time.monotonic()))
        return answer

    monkeypatch.setattr(client._api, "request", timed_request)

    async def reader() -> None:
        while not done:
            started = time.monotonic()
            data = await p.read_bytes()
            version = digests.get(hashlib.sha256(data).digest())
            assert version is not None, f"a read of {len(data)} bytes matched neither version"
            reads.append((started, time.monotonic(), version))

    async def read_after(moment: float) -> None:
        """Wait until some read that started after ``moment`` has finished."""
        while not any(start > moment for start, _, _ in reads):  # noqa: ASYNC110
            await anyio.sleep(0.01)

    with anyio.fail_after(120):
        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(reader)
            await read_after(writes[0][1])
            for round_ in range(4):
                version = (round_ + 1) % 2
                started = time.monotonic()
                await client.upload(tmp_path / f"v{version}", dest, overwrite=True, config=config)
                writes.append((started, time.monotonic(), version))
                await read_after(writes[-1][1])
            done = True

    assert {v for _, _, v in reads} == {0, 1}
    assert len(commits) == 4
    # Reads really overlapped the overwrites: some were in flight across a commit.
    assert any(r[0] < c[0] and r[1] > c[1] for r in reads for c in commits)
    # A read that began after an overwrite finished and ended before the next one began sees
    # exactly that version.
    next_starts = [w[0] for w in writes[1:]] + [float("inf")]
    for (_, end, version), next_start in zip(writes, next_starts, strict=True):
        for start, finish, seen in reads:
            if start > end and finish < next_start:
                assert seen == version
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
