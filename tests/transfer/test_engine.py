"""The engine's parts without I/O, and its retries over a flaky connection."""

from __future__ import annotations

import os
import random
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import anyio
import pytest

from jetraw._exceptions import ConfigurationError, StorageConnectionError, StorageError
from jetraw._transfer import TransferConfig, plan_part_size
from jetraw._transfer._budget import BufferPool
from jetraw._transfer._config import MAX_PARTS, part_count
from jetraw._transfer._results import FileTransfer, Progress, ProgressEvent
from jetraw._transfer._retry import with_retries
from jetraw._util import Backoff

from ._proxy import DroppingProxy
from .conftest import s3_descriptor

MiB = 1 << 20
GiB = 1 << 30
TiB = 1 << 40


def test_transfer_config_is_a_value_object() -> None:
    a = TransferConfig(part_size=16 * MiB)
    assert a == TransferConfig(part_size=16 * MiB)
    assert a != TransferConfig()
    assert "part_size=16777216" in repr(a)
    assert hash(a) == hash(TransferConfig(part_size=16 * MiB))
    with pytest.raises(ConfigurationError):
        TransferConfig(part_size=1 * MiB)
    with pytest.raises(ConfigurationError):
        TransferConfig(max_concurrency=0)


@pytest.mark.parametrize("size", [5 * MiB, 49 * GiB, 78 * GiB, 100 * GiB, 1 * TiB, 5 * TiB])
def test_parts_always_fit_under_10000(size: int) -> None:
    config = TransferConfig()
    part = plan_part_size(size, config)
    assert part >= 5 * MiB
    assert part_count(size, part) <= MAX_PARTS
    assert part_count(size, part) < 10_000


def test_default_part_size_kept_when_it_fits() -> None:
    assert plan_part_size(2 * GiB, TransferConfig()) == TransferConfig().part_size


def test_refuses_what_cannot_fit() -> None:
    with pytest.raises(ConfigurationError, match="10,000 parts"):
        plan_part_size(MAX_PARTS * 5 * GiB + 1, TransferConfig())


def test_single_put_below_threshold() -> None:
    config = TransferConfig(multipart_threshold=5 * MiB, part_size=5 * MiB)
    assert not config.is_multipart(0)
    assert not config.is_multipart(5 * MiB - 1)
    assert config.is_multipart(5 * MiB)


@pytest.mark.anyio
async def test_buffer_pool_bounds_bytes_in_flight_and_reuses() -> None:
    pool = BufferPool(10 * MiB)
    held: list[Any] = []
    for _ in range(3):
        held.append(await pool.acquire(3 * MiB))
    assert pool.in_use == 9 * MiB
    got: list[Any] = []

    async def waiter() -> None:
        got.append(await pool.acquire(3 * MiB))

    async with anyio.create_task_group() as tg:
        tg.start_soon(waiter)
        await anyio.sleep(0.05)
        assert got == []  # 12 MiB would exceed the budget
        first = held.pop(0)
        pool.release(first, 3 * MiB)
    assert got[0] is first  # the released buffer was reused
    assert pool.peak <= 10 * MiB
    # One part larger than the whole budget still goes, alone.
    for buf in [*held, *got]:
        pool.release(buf, 3 * MiB)
    huge = await pool.acquire(20 * MiB)
    assert pool.in_use == 20 * MiB
    pool.release(huge, 20 * MiB)
    pool.clear()


@pytest.mark.anyio
async def test_buffer_pool_cancelled_waiter_returns_its_grant() -> None:
    pool = BufferPool(4 * MiB)
    a = await pool.acquire(4 * MiB)
    with anyio.move_on_after(0.05):
        await pool.acquire(4 * MiB)
    pool.release(a, 4 * MiB)
    assert pool.in_use == 0


@pytest.mark.anyio
async def test_retries_transient_errors_only() -> None:
    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise StorageConnectionError("dropped", retryable=True)
        return "ok"

    assert (
        await with_retries(5, flaky, backoff=Backoff(base=0.001, rand=random.Random(1).random))
        == "ok"
    )
    assert calls == 3

    async def permanent() -> None:
        nonlocal calls
        calls += 1
        raise StorageError("no such bucket")

    calls = 0
    with pytest.raises(StorageError):
        await with_retries(5, permanent, backoff=Backoff(base=0.001))
    assert calls == 1


@pytest.mark.anyio
async def test_progress_is_throttled_to_10_hz() -> None:
    events: list[ProgressEvent] = []
    progress = Progress(events.append, 1, 1000)
    with anyio.move_on_after(0.55):
        async with anyio.create_task_group() as tg:
            tg.start_soon(progress.ticker)
            for _ in range(500):
                progress.add_bytes(1)
                await anyio.sleep(0.001)
    assert 2 <= len(events) <= 7
    await progress.emit("done", FileTransfer(Path("x"), "/s/x"))
    assert events[-1].files_done == 1


@pytest.mark.anyio
async def test_retried_parts_do_not_count_twice(
    jetraw_platform: Any, client: Any, moto_url: str, bucket: str, tmp_path: Path
) -> None:
    proxy = DroppingProxy(urlparse(moto_url).port or 0, drop_after=2 * MiB, max_drops=2)
    try:
        name = f"t-{uuid.uuid4().hex[:12]}"
        jetraw_platform.create_space(name, storage=s3_descriptor(proxy.url, bucket))
        data = os.urandom(12 * MiB)
        (tmp_path / "f").write_bytes(data)
        events: list[ProgressEvent] = []
        config = TransferConfig(multipart_threshold=5 * MiB, part_size=5 * MiB, max_concurrency=1)
        result = await client.upload(
            tmp_path / "f", f"/{name}/f", config=config, progress=events.append
        )
        assert result.ok
        assert proxy.dropped == 2
        assert events[-1].bytes_done == len(data)
        assert max(e.bytes_done for e in events) <= len(data)
    finally:
        proxy.close()


@pytest.mark.anyio
async def test_a_raising_progress_callback_does_not_break_the_transfer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(event: ProgressEvent) -> None:
        raise RuntimeError("display broke")

    progress = Progress(broken, 1, 10)
    await progress.emit("started", FileTransfer(Path("x"), "/s/x"))
    await progress.emit("done", FileTransfer(Path("x"), "/s/x"))
    assert progress.files_done == 1
    assert sum("progress callback raised" in r.message for r in caplog.records) == 1


def test_transfer_config_retries_is_a_deprecated_name_of_attempts() -> None:
    with pytest.warns(DeprecationWarning, match="attempts="):
        old = TransferConfig(retries=2)
    assert old == TransferConfig(attempts=2)
    assert old.attempts == 2
    with pytest.raises(TypeError, match="attempts= only"):
        TransferConfig(retries=2, attempts=7)  # never silently one of the two


def test_storage_error_declares_retryable() -> None:
    assert StorageConnectionError("dropped", retryable=True).retryable
    assert not StorageError("no such bucket").retryable


@pytest.mark.anyio
async def test_local_storage_checks_its_root_before_anything_is_sent(tmp_path: Path) -> None:
    from jetraw._storage import LocalStorage

    await LocalStorage(tmp_path).check_credentials()
    with pytest.raises(StorageError, match="does not exist"):
        await LocalStorage(tmp_path / "missing").check_credentials()


@pytest.mark.anyio
async def test_buffer_pool_keeps_buffers_for_granted_waiters() -> None:
    """Two parts finishing before their waiters run: both buffers are kept for the waiters
    (the old check counted the first waiter's grant as memory held and unmapped the second)."""
    pool = BufferPool(8 * MiB)
    held = [await pool.acquire(4 * MiB) for _ in range(2)]
    got: list[Any] = []

    async def waiter() -> None:
        got.append(await pool.acquire(4 * MiB))

    async with anyio.create_task_group() as tg:
        tg.start_soon(waiter)
        tg.start_soon(waiter)
        await anyio.sleep(0.05)
        assert got == []
        for buf in held:  # no checkpoint between the two releases
            pool.release(buf, 4 * MiB)
    assert {id(b) for b in got} == {id(b) for b in held}  # reused, none mapped afresh
    assert pool.in_use == 8 * MiB
    assert pool.held == 8 * MiB
    for buf in got:
        pool.release(buf, 4 * MiB)
    assert pool.held == pool.cached == 8 * MiB
    pool.clear()


@pytest.mark.anyio
async def test_buffer_pool_reserve_waiter_is_not_promised_a_buffer() -> None:
    pool = BufferPool(4 * MiB)
    a = await pool.acquire(4 * MiB)
    done = anyio.Event()

    async def reserver() -> None:
        async with pool.reserve(4 * MiB):
            done.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(reserver)
        await anyio.sleep(0.02)
        pool.release(a, 4 * MiB)
        await done.wait()
    assert pool.in_use == 0
    assert pool.held == pool.cached == 4 * MiB
    pool.clear()
