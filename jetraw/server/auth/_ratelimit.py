"""A sliding-window rate limit per client address, for the login, token and device endpoints.

On SQLite the window is kept in this process's memory (:class:`RateLimiter`): with several server
processes on one data dir each enforces the limit on its own (so a client may get up to N x the
limit in total). On PostgreSQL it is counted in the database (:func:`shared_hit`, the
``rate_limits`` table, under the write lock), so every instance on the database enforces one
limit together. The limit itself is a run-time setting (``rate_limit_per_minute``, 0 = off)
shared through the database.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable

from jetraw.server.store import Connection, transaction

__all__ = ["WINDOW_SECONDS", "RateLimiter", "shared_hit"]

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


def shared_hit(
    conn: Connection,
    key: tuple[str, str],
    limit: int,
    *,
    now: float,
    window: float = WINDOW_SECONDS,
) -> float | None:
    """:meth:`RateLimiter.hit` counted in the database, for every instance on it at once.

    The same sliding window: the hit times of ``key`` in the last ``window`` seconds are one row
    of ``rate_limits``, read and written in one transaction (writers serialise), so concurrent
    requests to several instances are counted exactly once each.
    """
    if limit <= 0:
        return None
    bucket = f"{key[0]} {key[1]}"
    with transaction(conn):
        row = conn.execute("SELECT hits FROM rate_limits WHERE bucket = ?", (bucket,)).fetchone()
        hits = [float(t) for t in json.loads(row[0])] if row is not None else []
        hits = [t for t in hits if t > now - window]
        if len(hits) >= limit:
            return max(0.0, hits[len(hits) - limit] + window - now)
        hits.append(now)
        conn.execute(
            "INSERT INTO rate_limits (bucket, hits, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (bucket) DO UPDATE SET hits = excluded.hits, "
            "updated_at = excluded.updated_at",
            (bucket, json.dumps(hits), now),
        )
    return None
