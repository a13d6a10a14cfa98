"""The one backoff policy: exponential, capped, with full jitter.

"Full jitter" (AWS Architecture Blog, *Exponential Backoff And Jitter*): the delay after failed
try ``n`` is uniform in ``[0, min(cap, base * 2**(n-1))]``. Spreading retries over the whole window
is what keeps many clients that failed together from retrying together. A server's
``Retry-After`` wins over the computed delay, but is capped too: a hostile or confused server must
not park a client for an hour.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable

__all__ = ["Backoff"]


@dataclasses.dataclass(frozen=True)
class Backoff:
    """How long to wait between tries.

    Args:
        base: The first window, in seconds; doubled after every failed try.
        cap: The largest window, and the largest ``Retry-After`` honoured, in seconds.
        rand: A source of floats in ``[0, 1)``; injectable so tests are deterministic.
    """

    base: float = 0.25
    cap: float = 10.0
    rand: Callable[[], float] = dataclasses.field(default=random.random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.base < 0 or self.cap < 0:
            raise ValueError("Backoff base and cap must not be negative.")

    def window(self, attempt: int) -> float:
        """The upper bound of the delay after failed try ``attempt`` (1-based)."""
        return min(self.cap, self.base * 2.0 ** max(0, attempt - 1))

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to sleep after failed try ``attempt`` (1-based), honouring ``retry_after``."""
        if retry_after is not None:
            return max(0.0, min(retry_after, self.cap))
        return self.window(attempt) * self.rand()
