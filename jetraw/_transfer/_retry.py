"""Our own retries of storage requests: exponential backoff with full jitter."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

from jetraw._storage import is_retryable

__all__ = ["with_retries"]

_T = TypeVar("_T")


async def with_retries(
    attempts: int,
    operation: Callable[[], Awaitable[_T]],
    *,
    base: float = 0.1,
    cap: float = 2.0,
    rng: random.Random | None = None,
) -> _T:
    """Run ``operation`` up to ``attempts`` times while it fails with a transient storage error."""
    rng = rng or random.Random()
    for attempt in range(attempts):
        try:
            return await operation()
        except Exception as exc:
            if attempt + 1 >= attempts or not is_retryable(exc):
                raise
        await anyio.sleep(rng.uniform(0, min(cap, base * 2**attempt)))
    raise AssertionError("unreachable")  # pragma: no cover
