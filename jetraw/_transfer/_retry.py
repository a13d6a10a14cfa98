"""Our own retries of storage requests, with the one backoff policy (:class:`jetraw._util.Backoff`,
full jitter)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

from jetraw._storage import is_retryable
from jetraw._util import Backoff

__all__ = ["STORAGE_BACKOFF", "with_retries"]

_T = TypeVar("_T")

#: Storage requests: a first window of 0.1 s, doubling up to 2 s.
STORAGE_BACKOFF = Backoff(base=0.1, cap=2.0)


async def with_retries(
    attempts: int,
    operation: Callable[[], Awaitable[_T]],
    *,
    backoff: Backoff = STORAGE_BACKOFF,
) -> _T:
    """Run ``operation`` up to ``attempts`` times (the first included) while it fails with a
    transient storage error (:attr:`StorageError.retryable <jetraw.StorageError>`)."""
    for attempt in range(1, attempts + 1):
        try:
            return await operation()
        except Exception as exc:
            if attempt >= attempts or not is_retryable(exc):
                raise
        await anyio.sleep(backoff.delay(attempt))
    raise AssertionError("unreachable")  # pragma: no cover
