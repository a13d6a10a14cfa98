"""Our own retries of storage requests, with the one backoff policy (:class:`jetraw._util.Backoff`,
full jitter)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

from jetraw._storage import is_retryable
from jetraw._util import Backoff

__all__ = ["STORAGE_BACKOFF", "with_retries"]

_T = TypeVar("_T")

logger = logging.getLogger("jetraw.transfer")

#: Storage requests: a first window of 0.1 s, doubling up to 2 s.
STORAGE_BACKOFF = Backoff(base=0.1, cap=2.0)


async def with_retries(
    attempts: int,
    operation: Callable[[], Awaitable[_T]],
    *,
    backoff: Backoff = STORAGE_BACKOFF,
    what: str = "storage request",
) -> _T:
    """Run ``operation`` up to ``attempts`` times (the first included) while it fails with a
    transient storage error (:attr:`StorageError.retryable <jetraw.StorageError>`).

    Each retry is logged at INFO on ``jetraw.transfer`` with ``what`` (an operation and a key,
    never a URL: a presigned one is a credential), the attempt, the error class and the delay.
    """
    for attempt in range(1, attempts + 1):
        try:
            return await operation()
        except Exception as exc:
            if attempt >= attempts or not is_retryable(exc):
                raise
            delay = backoff.delay(attempt)
            code = getattr(exc, "code", None)
            logger.info(
                "%s failed on attempt %d/%d (%s%s); retry in %.2fs",
                what,
                attempt,
                attempts,
                type(exc).__name__,
                f" {code}" if code else "",
                delay,
            )
        await anyio.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
