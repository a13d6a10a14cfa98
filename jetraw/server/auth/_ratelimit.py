"""A sliding-window rate limit per client address, for the login, token and device endpoints.

The window is kept in this process's memory: with several server processes on one data dir each
enforces the limit on its own (so a client may get up to N x the limit in total). The limit itself
is a run-time setting (``rate_limit_per_minute``, 0 = off) shared through the database.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

__all__ = ["WINDOW_SECONDS", "RateLimiter"]

WINDOW_SECONDS = 60.0
#: Beyond this many tracked addresses, idle ones are dropped (bounded memory under a flood).
_MAX_KEYS = 10_000


class RateLimiter:
    """At most ``limit`` hits per key within any ``window`` seconds."""

    def __init__(
        self, *, window: float = WINDOW_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._hits: dict[tuple[str, str], deque[float]] = {}

    def hit(self, key: tuple[str, str], limit: int) -> float | None:
        """Record one hit; ``None`` if allowed, else the seconds until one would be allowed."""
        if limit <= 0:
            return None
        moment = self._clock()
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                if len(self._hits) >= _MAX_KEYS:
                    self._prune(moment)
                hits = self._hits[key] = deque()
            while hits and hits[0] <= moment - self.window:
                hits.popleft()
            if len(hits) >= limit:
                return max(0.0, hits[len(hits) - limit] + self.window - moment)
            hits.append(moment)
            return None

    def _prune(self, moment: float) -> None:
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= moment - self.window]:
            del self._hits[key]
