"""A failed or cancelled request's buffer is never lent out again (its transport may still send it).

asyncio's socket transport (Python >= 3.12) keeps a ``memoryview`` of bytes it could not write at
once. Each storage call below that gives up keeps a view of its body, as such a transport would;
every later request must get other memory, and the bytes the abandoned request still holds must
not change. The budget comes back whole either way.
"""

from __future__ import annotations

import functools
import mmap
import os
import uuid
from pathlib import Path
from typing import Any

import anyio
import pytest

from jetraw._exceptions import StorageConnectionError, UploadError
from jetraw._storage import LocalStorage
from jetraw._transfer import TransferConfig
from jetraw._transfer._budget import BufferPool
from jetraw.aio import AsyncJetrawPath

from .conftest import SpaceUnderTest

pytestmark = pytest.mark.anyio

MiB = 1 << 20
CONFIG = TransferConfig(
    multipart_threshold=5 * MiB, part_size=5 * MiB, max_concurrency=1, max_bytes_in_flight=20 * MiB
)


@pytest.fixture
def local_space(jetraw_platform: Any) -> SpaceUnderTest:
    name = f"t-{uuid.uuid4().hex[:12]}"
    return SpaceUnderTest(name, "local", jetraw_platform.create_space(name))


class Transport:
    """What the storage calls saw: the views "still being sent" of the requests that gave up."""

    def __init__(self) -> None:
        self.seen: list[object] = []  # every request's buffer, in order
        #: (a view kept, its bytes then, how many requests had started before it gave up)
        self.abandoned: list[tuple[memoryview, bytes, int]] = []

    def saw(self, body: memoryview) -> None:
        self.seen.append(body.obj)

    def abandon(self, body: memoryview) -> None:
        # A view of its own, as a transport keeps (the engine releases the one it passed).
        self.abandoned.append((body[:], bytes(body), len(self.seen)))

    def check(self) -> None:
        assert self.abandoned, "no request gave up"
        for view, then, before in self.abandoned:
            later = self.seen[before:]
            assert later, "no request came after the one that gave up"
            assert all(buffer is not view.obj for buffer in later), "buffer lent out again"
            assert bytes(view) == then, "an abandoned request's bytes changed"
            assert isinstance(view.obj, mmap.mmap)


def pool_of(client: Any) -> BufferPool:
    pool: BufferPool = client._transfers.scheduler(CONFIG).pool
    return pool


async def test_failed_parts_and_puts_are_discarded(
    local_space: SpaceUnderTest, client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    transport = Transport()
    put, part = LocalStorage.put_object, LocalStorage.upload_part

    async def put_object(self: Any, key: str, body: memoryview, **kw: Any) -> Any:
        transport.saw(body)
        if len(body) == 3 * MiB and not any(len(v) == len(body) for v, _, _ in transport.abandoned):
            transport.abandon(body)
            raise StorageConnectionError("reset mid-body", retryable=False)
        return await put(self, key, body, **kw)

    async def upload_part(
        self: Any, key: str, uid: str, n: int, body: memoryview, **kw: Any
    ) -> Any:
        transport.saw(body)
        if n == 2 and len(transport.abandoned) < 2 and len(body) == 5 * MiB:
            transport.abandon(body)
            raise StorageConnectionError("reset mid-body", retryable=False)
        return await part(self, key, uid, n, body, **kw)

    monkeypatch.setattr(LocalStorage, "put_object", put_object)
    monkeypatch.setattr(LocalStorage, "upload_part", upload_part)
    files = {
        "a-small.bin": os.urandom(3 * MiB),  # fails (single PUT)
        "b-big.bin": os.urandom(15 * MiB),  # part 2 fails
        "c-small.bin": os.urandom(3 * MiB),
        "d-big.bin": os.urandom(15 * MiB),
        "e-big.bin": os.urandom(15 * MiB),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    with pytest.raises(UploadError) as info:
        await client.upload(tmp_path, f"/{local_space.name}/d/", config=CONFIG)
    failed = {Path(f.local).name for f in info.value.result.files if f.error is not None}
    errors = {Path(f.local).name: repr(f.error) for f in info.value.result.files}
    assert failed == {"a-small.bin", "b-big.bin"}, errors
    transport.check()
    pool = pool_of(client)
    assert pool.in_use == 0  # the budget came back whole
    assert pool.discarded >= 2
    for name in ("c-small.bin", "d-big.bin", "e-big.bin"):
        remote = AsyncJetrawPath(f"/{local_space.name}/d/{name}", client=client)
        assert await remote.read_bytes() == files[name]


async def test_cancelled_parts_are_discarded(
    local_space: SpaceUnderTest, client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    transport = Transport()
    part = LocalStorage.upload_part
    started = anyio.Event()

    async def upload_part(
        self: Any, key: str, uid: str, n: int, body: memoryview, **kw: Any
    ) -> Any:
        transport.saw(body)
        if not started.is_set():
            transport.abandon(body)
            started.set()
            await anyio.sleep_forever()  # cancelled here, mid-request
        return await part(self, key, uid, n, body, **kw)

    monkeypatch.setattr(LocalStorage, "upload_part", upload_part)
    (tmp_path / "f").write_bytes(os.urandom(15 * MiB))
    with anyio.move_on_after(30):
        async with anyio.create_task_group() as tg:
            upload = functools.partial(client.upload, config=CONFIG)
            tg.start_soon(upload, tmp_path / "f", f"/{local_space.name}/f")
            await started.wait()
            tg.cancel_scope.cancel()
    assert started.is_set()
    pool = pool_of(client)
    assert pool.in_use == 0
    assert pool.discarded >= 1
    data = os.urandom(15 * MiB)
    (tmp_path / "g").write_bytes(data)
    await client.upload(tmp_path / "g", f"/{local_space.name}/g", config=CONFIG)
    transport.check()
    assert await AsyncJetrawPath(f"/{local_space.name}/g", client=client).read_bytes() == data
    assert pool.in_use == 0


async def test_stream_write_failure_discards_the_buffer(
    local_space: SpaceUnderTest, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    transport = Transport()
    part = LocalStorage.upload_part

    async def upload_part(
        self: Any, key: str, uid: str, n: int, body: memoryview, **kw: Any
    ) -> Any:
        transport.saw(body)
        if not transport.abandoned:
            transport.abandon(body)
            raise StorageConnectionError("reset mid-body", retryable=False)
        return await part(self, key, uid, n, body, **kw)

    monkeypatch.setattr(LocalStorage, "upload_part", upload_part)
    chunk = os.urandom(MiB)
    path = AsyncJetrawPath(f"/{local_space.name}/s", client=client)

    async def write_until_it_fails() -> None:
        async with path.open("wb", config=CONFIG) as f:
            for _ in range(30):
                await f.write(chunk)

    with pytest.raises(StorageConnectionError):
        await write_until_it_fails()
    data = os.urandom(15 * MiB)
    async with path.open("wb", config=CONFIG) as f:
        await f.write(data)
    transport.check()
    assert await path.read_bytes() == data
    assert pool_of(client).in_use == 0
    assert pool_of(client).discarded >= 1
