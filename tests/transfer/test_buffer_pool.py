"""The buffer pool resizes cached buffers instead of mapping fresh ones (fewer page faults)."""

from __future__ import annotations

import sys

import pytest

from jetraw._transfer._budget import BufferPool

MiB = 1 << 20

pytestmark = pytest.mark.anyio


async def test_a_cached_buffer_of_another_size_is_resized_not_replaced() -> None:
    pool = BufferPool(64 * MiB)
    first = await pool.acquire(4 * MiB)
    first[:5] = b"kept!"
    pool.release(first, 4 * MiB)

    grown = await pool.acquire(20 * MiB)  # > 2 x 4 MiB + 1 MiB: not reused as it is
    assert grown is first
    assert len(grown) == 20 * MiB
    assert grown[:5] == b"kept!"  # the same pages, not a fresh map
    grown[-1:] = b"x"
    pool.release(grown, 20 * MiB)

    shrunk = await pool.acquire(2 * MiB)  # 20 MiB is too big to lend for 2 MiB as it is
    assert shrunk is first
    assert len(shrunk) == 2 * MiB
    assert shrunk[:5] == b"kept!"
    pool.release(shrunk, 2 * MiB)
    assert pool.cached == pool.held == 2 * MiB
    pool.clear()


async def test_the_smallest_too_big_buffer_is_shrunk_and_budget_is_kept() -> None:
    pool = BufferPool(40 * MiB)
    bufs = [await pool.acquire(n * MiB) for n in (28, 12)]
    for buf, n in zip(bufs, (28, 12), strict=True):
        pool.release(buf, n * MiB)
    small = await pool.acquire(1 * MiB)
    assert small is bufs[1]
    assert len(small) == 1 * MiB
    pool.release(small, 1 * MiB)

    # 40 MiB: nothing cached fits; the largest (28 MiB) grows, and the 1 MiB one is dropped,
    # since 40 MiB lent + 1 MiB cached would exceed the 40 MiB budget.
    big = await pool.acquire(40 * MiB)
    assert big is bufs[0]
    assert len(big) == 40 * MiB
    assert pool.cached == 0
    assert pool.held <= pool.limit
    pool.release(big, 40 * MiB)
    pool.clear()


@pytest.mark.skipif(sys.platform != "linux", reason="mremap and ru_minflt as on Linux")
async def test_growing_a_buffer_faults_in_only_the_new_pages() -> None:
    import resource

    def faults() -> int:
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt

    source = memoryview(b"\1" * (24 * MiB))
    pool = BufferPool(64 * MiB)
    buf = await pool.acquire(16 * MiB)
    buf[: 16 * MiB] = source[: 16 * MiB]
    pool.release(buf, 16 * MiB)

    before = faults()
    buf = await pool.acquire(24 * MiB)
    buf[: 24 * MiB] = source
    taken = faults() - before
    pool.release(buf, 24 * MiB)
    pool.clear()
    # A fresh 24 MiB map faults in 6,144 pages; growing 16 -> 24 MiB only the last 2,048.
    assert taken < 4096, taken


async def test_a_buffer_still_viewed_is_not_resized() -> None:
    pool = BufferPool(64 * MiB)
    first = await pool.acquire(4 * MiB)
    first[:3] = b"abc"
    view = memoryview(first)  # a view left behind (as a transport's unsent bytes would be)
    pool.release(first, 4 * MiB)

    other = await pool.acquire(20 * MiB)
    assert other is not first
    assert len(other) == 20 * MiB
    assert pool.cached == 0
    assert bytes(view[:3]) == b"abc"  # still mapped while the view lives
    view.release()
    pool.release(other, 20 * MiB)
    pool.clear()
