"""``AsyncJetrawPath.open("wb")`` streams: parts go out while the caller writes, memory stays
bounded, small files are one PUT, and a failed or cancelled write leaves nothing behind.

End to end against the reference platform, on a local-disk space and an S3 (moto) space.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import anyio
import google_crc32c
import pytest

from jetraw._exceptions import ConfigurationError, RemotePathExistsError, StorageError
from jetraw._storage import PartInfo, Storage
from jetraw.aio import AsyncJetrawPath, TransferConfig

from .conftest import SpaceUnderTest

KiB = 1 << 10
MiB = 1 << 20
GiB = 1 << 30
PART = 5 * MiB
CHILD = Path(__file__).with_name("_child_stream_write.py")


def _data(size: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


def _crc_hex(data: bytes) -> str:
    return f"{google_crc32c.value(data):08x}"


class SpyStorage:
    """A storage backend wrapper that records what the writer asks of storage."""

    def __init__(self, inner: Storage, *, delay: float = 0.0, fail_part: int | None = None):
        self.inner = inner
        self.delay = delay
        self.fail_part = fail_part
        self.calls: list[str] = []
        self.part_sizes: list[int] = []
        self.in_flight = 0
        self.max_in_flight = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def put_object(self, key: str, body: memoryview, **kw: Any) -> None:
        self.calls.append("put_object")
        await self.inner.put_object(key, body, **kw)

    async def create_multipart(self, key: str, *, part_size: int) -> str:
        self.calls.append("create_multipart")
        return await self.inner.create_multipart(key, part_size=part_size)

    async def upload_part(
        self, key: str, upload_id: str, number: int, body: memoryview, **kw: Any
    ) -> PartInfo:
        self.calls.append("upload_part")
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await anyio.sleep(self.delay)
            if number == self.fail_part:
                raise StorageError(f"part {number} refused (test)")
            info = await self.inner.upload_part(key, upload_id, number, body, **kw)
            self.part_sizes.append(len(body))
            return info
        finally:
            self.in_flight -= 1

    async def complete_multipart(self, *args: Any, **kw: Any) -> None:
        self.calls.append("complete_multipart")
        await self.inner.complete_multipart(*args, **kw)

    async def abort_multipart(self, key: str, upload_id: str) -> None:
        self.calls.append("abort_multipart")
        await self.inner.abort_multipart(key, upload_id)


async def _spy(client: Any, space: str, **kw: Any) -> SpyStorage:
    spy = SpyStorage(await client._transfers.storage_for(space), **kw)
    client._transfers.storages[space] = spy
    return spy


async def _write_in_chunks(p: AsyncJetrawPath, data: bytes, chunk: int, **open_kw: Any) -> int:
    async with p.open("wb", **open_kw) as w:
        for start in range(0, len(data), chunk):
            assert await w.write(data[start : start + chunk]) == min(chunk, len(data) - start)
        assert w.tell() == len(data)
    return len(data)


async def _assert_clean(space: SpaceUnderTest, client: Any, p: AsyncJetrawPath) -> None:
    assert not await p.exists()
    assert space.open_multipart_uploads() == []
    assert await client.list_pending_uploads(space.name) == []


SMALL_CONFIG = TransferConfig(multipart_threshold=PART, part_size=PART, max_concurrency=3)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("size", "multipart"),
    [(0, False), (1, False), (PART - 1, False), (PART, True), (3 * PART + 1, True)],
    ids=["0B", "1B", "part-1", "one-part", "3parts+1"],
)
async def test_roundtrip(space: SpaceUnderTest, client: Any, size: int, multipart: bool) -> None:
    data = _data(size, seed=size)
    p = AsyncJetrawPath(f"/{space.name}/stream/{size}.bin", client=client)
    spy = await _spy(client, space.name)
    await _write_in_chunks(p, data, 64 * KiB, config=SMALL_CONFIG)

    stat = await p.stat()
    assert stat.size == size
    assert stat.checksum == _crc_hex(data)
    assert space.read_object(stat.object_key) == data  # read by an independent client
    assert await p.read_bytes() == data  # and through the SDK, checksum-verified
    if multipart:
        assert spy.calls[0] == "create_multipart"
        assert "put_object" not in spy.calls
        assert spy.part_sizes.count(PART) == size // PART
        expected = [PART] * (size // PART) + ([size % PART] if size % PART else [])
        assert sorted(spy.part_sizes) == sorted(expected)
        assert spy.calls[-1] == "complete_multipart"
    else:
        assert spy.calls == ["put_object"]
    assert space.open_multipart_uploads() == []
    assert await client.list_pending_uploads(space.name) == []


@pytest.mark.anyio
async def test_default_config_small_file_is_one_put(space: SpaceUnderTest, client: Any) -> None:
    data = _data(10 * MiB + 3)
    p = AsyncJetrawPath(f"/{space.name}/small-default.bin", client=client)
    spy = await _spy(client, space.name)
    await _write_in_chunks(p, data, 1 * MiB)
    assert spy.calls == ["put_object"]
    assert await p.read_bytes() == data


@pytest.mark.anyio
async def test_threshold_not_a_multiple_of_the_part_size(
    space: SpaceUnderTest, client: Any
) -> None:
    # The head holds 2 parts (10 MiB); 7 MiB is past the 6 MiB threshold: multipart at close.
    config = TransferConfig(multipart_threshold=6 * MiB, part_size=PART)
    data = _data(7 * MiB)
    p = AsyncJetrawPath(f"/{space.name}/odd.bin", client=client)
    spy = await _spy(client, space.name)
    await _write_in_chunks(p, data, 64 * KiB, config=config)
    assert spy.calls.count("upload_part") == 2
    assert "put_object" not in spy.calls
    assert await p.read_bytes() == data


@pytest.mark.anyio
async def test_concurrency_and_budget_are_bounded(space: SpaceUnderTest, client: Any) -> None:
    config = TransferConfig(
        multipart_threshold=PART, part_size=PART, max_concurrency=2, max_bytes_in_flight=3 * PART
    )
    data = _data(8 * PART + 17)
    p = AsyncJetrawPath(f"/{space.name}/bounded.bin", client=client)
    spy = await _spy(client, space.name, delay=0.05)
    writer = p.open("wb", config=config)
    async with writer as w:
        for start in range(0, len(data), MiB):
            await w.write(data[start : start + MiB])
        stream = w._stream
        assert stream is not None
        assert stream.pool.in_use <= 3 * PART
    assert spy.max_in_flight == 2  # parts did overlap, never more than max_concurrency
    assert stream.peak_bytes <= 3 * PART
    assert spy.calls.count("upload_part") == 9
    assert await p.read_bytes() == data


@pytest.mark.anyio
async def test_overwrite(space: SpaceUnderTest, client: Any) -> None:
    p = AsyncJetrawPath(f"/{space.name}/exists.bin", client=client)
    await p.write_bytes(b"old")
    # Refused when the writer is entered, before anything is written or registered.
    with pytest.raises(RemotePathExistsError):
        async with p.open("wb", overwrite=False):
            raise AssertionError("not reached")  # pragma: no cover
    assert await client.list_pending_uploads(space.name) == []
    assert await p.read_bytes() == b"old"
    data = _data(PART + 5)
    await _write_in_chunks(p, data, 64 * KiB, config=SMALL_CONFIG)  # overwrite=True default
    assert await p.read_bytes() == data
    new = AsyncJetrawPath(f"/{space.name}/new.bin", client=client)
    await _write_in_chunks(new, b"fresh", 2, overwrite=False)
    assert await new.read_bytes() == b"fresh"


@pytest.mark.anyio
@pytest.mark.parametrize("after", [1 * MiB, 3 * PART + 1], ids=["before-multipart", "mid-parts"])
async def test_exception_in_block_leaves_nothing(
    space: SpaceUnderTest, client: Any, after: int
) -> None:
    p = AsyncJetrawPath(f"/{space.name}/fails.bin", client=client)
    spy = await _spy(client, space.name)
    data = _data(after)

    async def write_then_fail() -> None:
        async with p.open("wb", config=SMALL_CONFIG) as w:
            for start in range(0, len(data), 64 * KiB):
                await w.write(data[start : start + 64 * KiB])
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await write_then_fail()
    if after > PART:
        assert "abort_multipart" in spy.calls
    await _assert_clean(space, client, p)


@pytest.mark.anyio
async def test_cancellation_aborts(space: SpaceUnderTest, client: Any) -> None:
    p = AsyncJetrawPath(f"/{space.name}/cancelled.bin", client=client)
    spy = await _spy(client, space.name, delay=0.2)
    chunk = _data(MiB)
    with anyio.CancelScope() as scope:
        async with p.open("wb", config=SMALL_CONFIG) as w:
            for _ in range(4 * PART // MiB):
                await w.write(chunk)
            scope.cancel()  # parts are in flight (each takes 0.2 s): the next await is cancelled
            await w.write(chunk)
            raise AssertionError("not reached")  # pragma: no cover
    assert scope.cancelled_caught
    assert "abort_multipart" in spy.calls
    await _assert_clean(space, client, p)


@pytest.mark.anyio
async def test_failed_part_aborts_and_raises(space: SpaceUnderTest, client: Any) -> None:
    p = AsyncJetrawPath(f"/{space.name}/badpart.bin", client=client)
    await _spy(client, space.name, fail_part=2)
    with pytest.raises(StorageError, match="part 2 refused"):
        await _write_in_chunks(p, _data(4 * PART), MiB, config=SMALL_CONFIG)
    await _assert_clean(space, client, p)


@pytest.mark.anyio
async def test_part_count_limit(
    space: SpaceUnderTest, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jetraw._transfer._stream as stream_module

    monkeypatch.setattr(stream_module, "MAX_PARTS", 2)  # the real limit is 9,999 parts
    p = AsyncJetrawPath(f"/{space.name}/too-many-parts.bin", client=client)
    with pytest.raises(ConfigurationError, match="part_size"):
        await _write_in_chunks(p, _data(3 * PART), MiB, config=SMALL_CONFIG)
    await _assert_clean(space, client, p)


@pytest.mark.anyio
async def test_writer_misuse(space: SpaceUnderTest, client: Any) -> None:
    p = AsyncJetrawPath(f"/{space.name}/closed.bin", client=client)
    async with p.open("wb") as w:
        await w.write(b"x")
    assert w.closed
    with pytest.raises(ValueError, match="closed"):
        await w.write(b"y")
    await w.aclose()  # idempotent
    assert await p.read_bytes() == b"x"
    # Without ``async with``: write, then aclose, works the same.
    w2 = AsyncJetrawPath(f"/{space.name}/plain.bin", client=client).open("wb")
    await w2.write(memoryview(b"abc"))
    await w2.write(bytearray(b"def"))
    await w2.aclose()
    assert await AsyncJetrawPath(f"/{space.name}/plain.bin", client=client).read_bytes() == (
        b"abcdef"
    )
    with pytest.raises(IsADirectoryError):
        async with AsyncJetrawPath(f"/{space.name}", client=client).open("wb"):
            pass  # pragma: no cover


def test_sync_facade_streams(space: SpaceUnderTest, jetraw_platform: Any) -> None:
    """The sync writer runs each call as its own task on the runtime's loop: part sends started
    by one ``write`` must carry on across calls and be awaited (or aborted) at the end."""
    from jetraw_sync import Client, JetrawPath

    client = Client(jetraw_platform.api_key, server=jetraw_platform.url)
    try:
        data = _data(3 * PART + 1)
        p = JetrawPath(f"/{space.name}/sync.bin", client=client)
        with p.open("wb", config=SMALL_CONFIG) as w:
            for start in range(0, len(data), 256 * KiB):
                w.write(data[start : start + 256 * KiB])
        assert p.read_bytes() == data
        assert p.stat().checksum == _crc_hex(data)

        q = JetrawPath(f"/{space.name}/sync-fails.bin", client=client)

        def write_then_fail() -> None:
            with q.open("wb", config=SMALL_CONFIG) as w:
                for start in range(0, 2 * PART + 1, 256 * KiB):
                    w.write(data[start : start + 256 * KiB])
                raise RuntimeError("boom")

        with pytest.raises(RuntimeError, match="boom"):
            write_then_fail()
        assert not q.exists()
        assert space.open_multipart_uploads() == []
        assert client.list_pending_uploads(space.name) == []
    finally:
        client.close()


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_memory_of_a_1_gib_stream(jetraw_platform: Any, tmp_path: Path) -> None:
    """1 GiB through ``open("wb")`` in 1 MiB writes, in a child process: peak memory bounded."""
    assert jetraw_platform.mode == "process"  # the server's memory is not the child's
    name = f"t-{uuid.uuid4().hex[:12]}"
    root = Path(jetraw_platform.create_space(name)["storage"]["root"])
    try:
        out = subprocess.run(
            [sys.executable, str(CHILD), jetraw_platform.url, jetraw_platform.api_key, name],
            capture_output=True,
            timeout=540,
            check=False,
            env={**os.environ, "JETRAW_TOKEN_STORAGE": "memory"},
        )
        assert out.returncode == 0, out.stderr.decode()[-3000:]
        report = json.loads(out.stdout.decode().strip().splitlines()[-1])
        print("stream memory:", report)
        assert report["size"] == GiB
        assert report["stat_size"] == GiB
        assert report["stat_checksum"] == report["crc32c"]
        assert report["vm_hwm_kib"] * KiB < 150 * MiB, report
        # What the write added is about the byte budget (64 MiB by default), not the 1 GiB.
        added = (report["vm_hwm_kib"] - report["vm_hwm_before_writing_kib"]) * KiB
        assert added < TransferConfig().max_bytes_in_flight + 24 * MiB, report
    finally:
        import shutil

        shutil.rmtree(root / "objects", ignore_errors=True)
