"""The one scheduler: limits on requests and bytes in flight, interleaving, ambiguous completes."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import anyio
import pytest

from jetraw._exceptions import IntegrityError, StorageConnectionError, UploadError
from jetraw._storage import LocalStorage
from jetraw._transfer import TransferConfig
from jetraw.aio import AsyncJetrawPath

from .conftest import SpaceUnderTest

pytestmark = pytest.mark.anyio

MiB = 1 << 20


@pytest.fixture
def local_space(jetraw_platform: Any) -> SpaceUnderTest:
    name = f"t-{uuid.uuid4().hex[:12]}"
    return SpaceUnderTest(name, "local", jetraw_platform.create_space(name))


class Recorder:
    def __init__(self) -> None:
        self.requests = 0
        self.bytes = 0
        self.max_requests = 0
        self.max_bytes = 0
        self.parts_in_flight = 0
        self.puts_beside_parts = 0

    def enter(self, kind: str, size: int) -> None:
        if kind == "put" and self.parts_in_flight:
            self.puts_beside_parts += 1
        self.parts_in_flight += kind == "part"
        self.requests += 1
        self.bytes += size
        self.max_requests = max(self.max_requests, self.requests)
        self.max_bytes = max(self.max_bytes, self.bytes)

    def leave(self, kind: str, size: int) -> None:
        self.parts_in_flight -= kind == "part"
        self.requests -= 1
        self.bytes -= size


def record(monkeypatch: pytest.MonkeyPatch, recorder: Recorder, delay: float) -> None:
    put, part = LocalStorage.put_object, LocalStorage.upload_part

    async def put_object(self: Any, key: str, body: memoryview, **kw: Any) -> Any:
        recorder.enter("put", len(body))
        try:
            await anyio.sleep(delay)
            return await put(self, key, body, **kw)
        finally:
            recorder.leave("put", len(body))

    async def upload_part(
        self: Any, key: str, uid: str, n: int, body: memoryview, **kw: Any
    ) -> Any:
        recorder.enter("part", len(body))
        try:
            await anyio.sleep(delay)
            return await part(self, key, uid, n, body, **kw)
        finally:
            recorder.leave("part", len(body))

    monkeypatch.setattr(LocalStorage, "put_object", put_object)
    monkeypatch.setattr(LocalStorage, "upload_part", upload_part)


async def test_limits_hold_and_small_files_interleave_with_parts(
    local_space: SpaceUnderTest, client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = Recorder()
    record(monkeypatch, recorder, 0.05)
    (tmp_path / "a-big.bin").write_bytes(os.urandom(40 * MiB))
    for i in range(30):
        (tmp_path / f"b-small{i:02d}.bin").write_bytes(os.urandom(300_000))
    config = TransferConfig(
        multipart_threshold=5 * MiB,
        part_size=5 * MiB,
        max_concurrency=4,
        max_bytes_in_flight=16 * MiB,
    )
    result = await client.upload(tmp_path, f"/{local_space.name}/mix/", config=config)
    assert len(result.uploaded) == 31
    assert recorder.max_requests <= 4
    assert recorder.max_bytes <= 16 * MiB
    # Small files went while parts of the big file were in flight (a sliding window, not one
    # file after the other).
    assert recorder.puts_beside_parts > 0


async def test_ambiguous_storage_complete_is_checked_not_failed(
    local_space: SpaceUnderTest, client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    complete = LocalStorage.complete_multipart
    calls = 0

    async def lost_answer(self: Any, *args: Any, **kwargs: Any) -> None:
        nonlocal calls
        calls += 1
        await complete(self, *args, **kwargs)
        if calls == 1:  # it worked, but the answer was lost
            raise StorageConnectionError("connection reset", retryable=True)

    monkeypatch.setattr(LocalStorage, "complete_multipart", lost_answer)
    data = os.urandom(11 * MiB)
    (tmp_path / "f").write_bytes(data)
    config = TransferConfig(multipart_threshold=5 * MiB, part_size=5 * MiB)
    await client.upload(tmp_path / "f", f"/{local_space.name}/f", config=config)
    assert calls == 2
    assert await AsyncJetrawPath(f"/{local_space.name}/f", client=client).read_bytes() == data


def scribble(path: Path) -> None:
    with open(path, "r+b") as f:
        f.write(b"new bytes")


async def test_local_file_changed_during_upload_is_never_committed(
    local_space: SpaceUnderTest, client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = tmp_path / "f"
    local.write_bytes(os.urandom(12 * MiB))
    part = LocalStorage.upload_part

    async def upload_part(self: Any, *args: Any, **kwargs: Any) -> Any:
        info = await part(self, *args, **kwargs)
        await anyio.to_thread.run_sync(scribble, local)  # someone writes to it mid-upload
        return info

    monkeypatch.setattr(LocalStorage, "upload_part", upload_part)
    config = TransferConfig(multipart_threshold=5 * MiB, part_size=5 * MiB, max_concurrency=1)
    with pytest.raises(UploadError) as info:
        await client.upload(local, f"/{local_space.name}/f", config=config)
    error = info.value.result.files[0].error
    assert isinstance(error, IntegrityError)
    assert "changed" in str(error)
    assert not await AsyncJetrawPath(f"/{local_space.name}/f", client=client).exists()
    assert await client.list_pending_uploads(local_space.name) == []
    assert local_space.open_multipart_uploads() == []


async def test_concurrent_uploads_share_one_budget(
    local_space: SpaceUnderTest, client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two ``upload()`` calls at once on one client hold what one would, not twice that."""
    recorder = Recorder()
    record(monkeypatch, recorder, 0.05)
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "big.bin").write_bytes(os.urandom(30 * MiB))
        for i in range(10):
            (tmp_path / name / f"small{i}.bin").write_bytes(os.urandom(400_000))
    config = TransferConfig(
        multipart_threshold=5 * MiB,
        part_size=5 * MiB,
        max_concurrency=3,
        max_bytes_in_flight=12 * MiB,
    )
    results: list[Any] = []

    async def run(name: str) -> None:
        results.append(
            await client.upload(tmp_path / name, f"/{local_space.name}/{name}/", config=config)
        )

    async with anyio.create_task_group() as tg:
        tg.start_soon(run, "a")
        tg.start_soon(run, "b")
    assert [len(r.uploaded) for r in results] == [11, 11]
    assert recorder.max_requests <= 3
    assert recorder.max_bytes <= 12 * MiB
    assert client._transfers.scheduler(config).pool.peak <= 12 * MiB
    assert recorder.max_bytes >= 10 * MiB  # the budget was used, not just respected


async def test_larger_concurrency_gets_a_larger_storage_pool(
    jetraw_platform: Any, moto_url: str, aws_env: dict[str, str], bucket: str, tmp_path: Path
) -> None:
    from jetraw._storage import S3Storage
    from jetraw.aio import AsyncClient

    from .conftest import s3_descriptor

    name = f"t-{uuid.uuid4().hex[:12]}"
    jetraw_platform.create_space(name, storage=s3_descriptor(moto_url, bucket))
    data = os.urandom(1000)
    (tmp_path / "f").write_bytes(data)
    async with AsyncClient(jetraw_platform.api_key, server=jetraw_platform.url) as client:
        small = await client._transfers.storage_for(name, concurrency=8)
        assert isinstance(small, S3Storage)
        await small._get_client()
        assert await client._transfers.storage_for(name, concurrency=8) is small
        config = TransferConfig(max_concurrency=100)
        await client.upload(tmp_path / "f", f"/{name}/f", config=config)
        big = await client._transfers.storage_for(name, concurrency=100)
        assert isinstance(big, S3Storage)
        assert big is not small
        assert big.max_pool_connections >= 100
        assert await client._transfers.storage_for(name, concurrency=50) is big  # never shrinks
        assert small._client is not None  # a transfer in flight may still use it
        path = AsyncJetrawPath(f"/{name}/f", client=client)
        assert await path.read_bytes() == data
    assert small._client is None
    assert big._client is None


async def test_downloads_share_the_budget_with_uploads(
    local_space: SpaceUnderTest, client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upload and a download at once on one client stay within the client's one budget:
    a download's ranges take their bytes from it as upload parts do."""
    (tmp_path / "down.bin").write_bytes(os.urandom(30 * MiB))
    config = TransferConfig(
        multipart_threshold=5 * MiB,
        part_size=5 * MiB,
        max_concurrency=3,
        max_bytes_in_flight=12 * MiB,
    )
    await client.upload(tmp_path / "down.bin", f"/{local_space.name}/down.bin", config=config)
    (tmp_path / "up").mkdir()
    (tmp_path / "up" / "big.bin").write_bytes(os.urandom(30 * MiB))
    recorder = Recorder()
    record(monkeypatch, recorder, 0.05)
    iter_range = LocalStorage.iter_range

    async def recorded_range(self: Any, key: str, start: int, length: int) -> Any:
        recorder.enter("range", length)
        try:
            await anyio.sleep(0.05)
            async for chunk in iter_range(self, key, start, length):
                yield chunk
        finally:
            recorder.leave("range", length)

    monkeypatch.setattr(LocalStorage, "iter_range", recorded_range)

    async with anyio.create_task_group() as tg:
        tg.start_soon(
            lambda: client.upload(tmp_path / "up", f"/{local_space.name}/up/", config=config)
        )
        tg.start_soon(
            lambda: client.download(
                f"/{local_space.name}/down.bin", tmp_path / "back.bin", config=config
            )
        )
    assert (tmp_path / "back.bin").read_bytes() == (tmp_path / "down.bin").read_bytes()
    assert recorder.max_requests <= 3
    assert recorder.max_bytes <= 12 * MiB
    assert client._transfers.scheduler(config).pool.peak <= 12 * MiB
    assert recorder.max_bytes >= 10 * MiB  # the budget was used, not just respected


async def test_small_files_hold_about_the_concurrency_in_budget(
    local_space: SpaceUnderTest, client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small files take budget buffers only as store workers get to them: the budget held is
    about the concurrency times one read run (1 MiB), not the whole budget's worth of files
    waiting for a request slot (peak RSS)."""
    recorder = Recorder()
    record(monkeypatch, recorder, 0.01)
    for i in range(600):
        (tmp_path / f"s{i:03d}.bin").write_bytes(os.urandom(64 << 10))
    config = TransferConfig(max_concurrency=4, max_bytes_in_flight=64 * MiB, batch_size=50)
    result = await client.upload(tmp_path, f"/{local_space.name}/many/", config=config)
    assert len(result.uploaded) == 600
    assert recorder.max_requests <= 4
    assert client._transfers.scheduler(config).pool.peak <= 4 * MiB
    listed = AsyncJetrawPath(f"/{local_space.name}/many", client=client).iterdir()
    assert len([p async for p in listed]) == 600
