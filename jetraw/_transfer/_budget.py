"""The byte budget: a byte-weighted semaphore that also recycles part buffers.

Every part (or small file) holds a buffer from the pool while it is read and sent, so the bytes in
flight, over all files, never exceed the budget, and buffers of the common sizes are reused rather
than allocated per part. Waiters are served in order, so a large part is not starved by a stream
of small files.

Buffers are anonymous memory maps, not ``bytearray``: glibc serves freed multi-megabyte
``bytearray`` blocks again from its heap (its mmap threshold rises to 32 MiB after the first
free), which kept tens of MiB of freed memory resident; an mmap is returned to the OS on close.
They are private maps, so a cached buffer of the wrong size is resized (``mremap``) rather than
replaced: the pages it keeps stay mapped, and only the growth is faulted in. Mapping a fresh
buffer for each file of a mixed tree faulted in ~180k pages per GiB (3/4 of the bytes); resizing
brings that to ~105k and saves 0.1-0.2 s of system time per GiB (benchmarks/NOTES.md).

A buffer whose request failed or was cancelled goes back with :meth:`BufferPool.discard`, never
:meth:`~BufferPool.release`: the transport of an abandoned request may still hold a view of
unsent bytes (asyncio's socket transport keeps a ``memoryview`` of what it could not write at
once on Python >= 3.12), and a reused buffer refilled by another part would change them.
"""

from __future__ import annotations

import collections
import contextlib
import mmap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio

__all__ = ["BufferPool", "Scheduler"]


class BufferPool:
    """At most ``limit`` bytes of buffers lent out at once (one oversize buffer may go alone)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_use = 0
        self.peak = 0
        #: Buffers dropped by :meth:`discard` (never handed out again), for tests and stats.
        self.discarded = 0
        self._free: list[mmap.mmap] = []
        #: Bytes granted to waiting ``acquire`` calls that have not yet taken their buffer: a
        #: grant is made when budget comes back, the buffer is taken when the waiter runs.
        self._promised = 0
        self._cached = 0  # bytes of the buffers in _free
        self._waiters: collections.deque[tuple[int, anyio.Event, bool]] = collections.deque()

    @property
    def cached(self) -> int:
        return self._cached

    def _fits(self, size: int) -> bool:
        return self.in_use == 0 or self.in_use + size <= self.limit

    @property
    def held(self) -> int:
        """Bytes of buffers lent out (granted budget whose buffer was taken) or cached."""
        return self.in_use - self._promised + self._cached

    async def acquire(self, size: int) -> mmap.mmap:
        """Wait for ``size`` bytes of budget and return a buffer of at least that length."""
        await self._grant(size, take=True)
        return self._take(size)

    @asynccontextmanager
    async def reserve(self, size: int) -> AsyncIterator[None]:
        """``async with pool.reserve(n)``: hold ``n`` bytes of budget, without a buffer (for
        bytes that live elsewhere, such as a download's range on its way to the disk)."""
        await self._grant(size)
        try:
            yield
        finally:
            self.in_use -= size
            self._wake()

    async def _grant(self, size: int, *, take: bool = False) -> None:
        if self._waiters or not self._fits(size):
            event = anyio.Event()
            entry = (size, event, take)
            self._waiters.append(entry)
            try:
                await event.wait()
            except BaseException:
                if entry in self._waiters:
                    self._waiters.remove(entry)
                else:  # granted while being cancelled: hand the grant back
                    self.in_use -= size
                    self._promised -= size if take else 0
                    self._wake()
                raise
            self._promised -= size if take else 0
        else:
            self.in_use += size
        self.peak = max(self.peak, self.in_use)

    def _take(self, size: int) -> mmap.mmap:
        capacity = max(_GRAIN, -(-size // _GRAIN) * _GRAIN)
        best = None
        # Newest first: the most recently used buffers are the ones still in the CPU caches.
        for i in range(len(self._free) - 1, -1, -1):
            n = len(self._free[i])
            if size <= n <= 2 * size + (1 << 20) and (best is None or n < len(self._free[best])):
                best = i
                if n == capacity:  # no buffer of the pool is smaller and still fits
                    break
        if best is not None:
            return self._unfree(best)
        if self._free:
            # The smallest buffer that is too big (shrunk: nothing to fault in), else the
            # largest (grown: only the new pages fault in).
            bigger = [i for i, b in enumerate(self._free) if len(b) >= capacity]
            pick = min(bigger, key=lambda i: len(self._free[i])) if bigger else None
            if pick is None:
                pick = max(range(len(self._free)), key=lambda i: len(self._free[i]))
            buffer = self._unfree(pick)
            try:
                buffer.resize(capacity)
            except (BufferError, OSError, SystemError, ValueError):  # a view left; no mremap
                _close(buffer)
            else:
                self._trim()
                return buffer
        self._trim()
        return _new_buffer(capacity)

    def _trim(self) -> None:
        # Drop cached buffers that would push the total held over the budget (not those that
        # granted waiters will take).
        while self._free and self.held > self.limit:
            _close(self._unfree(0))

    def _unfree(self, index: int) -> mmap.mmap:
        buffer = self._free.pop(index)
        self._cached -= len(buffer)
        return buffer

    def release(self, buffer: mmap.mmap, size: int) -> None:
        """Return a buffer and its ``size`` bytes of budget."""
        self.in_use -= size
        # Kept when all buffers mapped stay within the budget. Budget granted to a waiter that
        # has not run yet is not counted: that waiter takes a cached buffer (counting it made a
        # second part finishing before the waiter ran unmap its buffer, and the waiter after
        # it map and fault in a fresh one: ~60k page faults per GiB of 8 MiB parts).
        if self.held + len(buffer) <= self.limit:
            self._free.append(buffer)
            self._cached += len(buffer)
        else:
            _close(buffer)
        self._wake()

    def discard(self, buffer: mmap.mmap, size: int) -> None:
        """Return ``size`` bytes of budget but drop the buffer: it is never handed out again.

        For the buffer of a failed or cancelled request, whose bytes a transport may still be
        sending. The mapping is closed now, or (if a view of it is still exported) when the last
        view goes.
        """
        self.in_use -= size
        self.discarded += 1
        _close(buffer)
        self._wake()

    def _wake(self) -> None:
        while self._waiters:
            size, event, take = self._waiters[0]
            if not self._fits(size):
                return
            self._waiters.popleft()
            self.in_use += size
            self._promised += size if take else 0
            event.set()

    @asynccontextmanager
    async def lease(self, size: int) -> AsyncIterator[memoryview]:
        """``async with pool.lease(n) as view``: a ``memoryview`` of exactly ``n`` bytes."""
        buffer = await self.acquire(size)
        view = memoryview(buffer)[:size]
        ok = False
        try:
            yield view
            ok = True
        finally:
            view.release()
            if ok:
                self.release(buffer, size)
            else:  # the body raised or was cancelled: its bytes may still be in flight
                self.discard(buffer, size)

    def grow(self, limit: int) -> None:
        """Raise the budget to ``limit`` bytes (never lowers it)."""
        if limit > self.limit:
            self.limit = limit
            self._wake()

    def clear(self) -> None:
        for buffer in self._free:
            _close(buffer)
        self._free.clear()
        self._cached = 0


class Scheduler:
    """A client's one byte budget and request limit, shared by all its transfers at once.

    Concurrent ``upload()`` calls, downloads and ``open("wb")`` streams of one client draw from
    the same budget and the same request slots, so N transfers hold what one would, not N times
    that. Sized by the largest :class:`~jetraw.TransferConfig` seen so far. Must be created on
    the event loop that uses it.
    """

    def __init__(self, max_bytes_in_flight: int, max_concurrency: int) -> None:
        self.pool = BufferPool(max_bytes_in_flight)
        self.limiter = anyio.CapacityLimiter(max_concurrency)

    def fit(self, max_bytes_in_flight: int, max_concurrency: int) -> None:
        """Grow the budget and the request limit to at least these."""
        self.pool.grow(max_bytes_in_flight)
        if max_concurrency > self.limiter.total_tokens:
            self.limiter.total_tokens = max_concurrency


_GRAIN = 1 << 16  # buffer capacities are rounded up to this, so similar sizes share buffers


def _new_buffer(size: int) -> mmap.mmap:
    if hasattr(mmap, "MAP_PRIVATE"):  # POSIX: private, so that it can be resized
        return mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE)
    return mmap.mmap(-1, size)


def _close(buffer: mmap.mmap) -> None:
    # A view still exported (an exception's traceback holding a frame) keeps it mapped until
    # the garbage collector drops the view; unmap now when we can.
    with contextlib.suppress(BufferError):
        buffer.close()
