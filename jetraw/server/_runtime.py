"""Run-time values a request needs: the clock, and settings that may be overridden at run time.

``access_token_ttl``, ``rate_limit_per_minute``, ``refresh_grace_seconds`` and
``device_poll_interval`` can be changed while the server runs (admin API,
``LocalPlatform.set_access_token_ttl``). The override lives in the ``settings`` table so every
process sharing a data dir agrees; each process caches the table for at most
:data:`CACHE_SECONDS` so reading a setting costs nothing per request.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timezone
from typing import Any

from jetraw.server._state import AppState

__all__ = ["CACHE_SECONDS", "RUNTIME_SETTINGS", "now", "rfc3339", "setting", "store_setting"]

CACHE_SECONDS = 0.5
#: Settings that may be overridden at run time, and their JSON types.
RUNTIME_SETTINGS: dict[str, type] = {
    "access_token_ttl": int,
    "rate_limit_per_minute": int,
    "refresh_grace_seconds": float,
    "device_poll_interval": int,
}

_lock = threading.Lock()


class _Cache:
    __slots__ = ("loaded_at", "values")

    def __init__(self) -> None:
        self.loaded_at = float("-inf")
        self.values: dict[str, Any] = {}


def now(state: AppState) -> float:
    """The server's current time (unix seconds) from its injectable clock."""
    return state.settings.clock()


def rfc3339(timestamp: float) -> str:
    """``2026-11-28T14:00:00Z`` (to the second): fixed width, so the strings also sort by time."""
    moment = datetime.fromtimestamp(timestamp, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def setting(state: AppState, name: str) -> Any:
    """A setting's value: the run-time override if one is stored, else the configured value."""
    if name in RUNTIME_SETTINGS:
        values = _overrides(state)
        if name in values:
            return values[name]
    return getattr(state.settings, name)


def store_setting(state: AppState, name: str, value: Any) -> None:
    """Persist a run-time override (seen by every process on the data dir within the cache time)."""
    if name not in RUNTIME_SETTINGS:
        raise KeyError(name)
    state.db.conn().execute(
        "INSERT INTO settings (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (name, json.dumps(value)),
    )
    cache = _cache_of(state)
    with _lock:
        cache.loaded_at = float("-inf")


def _cache_of(state: AppState) -> _Cache:
    cache: _Cache | None = getattr(state, "_runtime_cache", None)
    if cache is None:
        with _lock:
            cache = getattr(state, "_runtime_cache", None)
            if cache is None:
                cache = _Cache()
                object.__setattr__(state, "_runtime_cache", cache)
    return cache


def _overrides(state: AppState) -> dict[str, Any]:
    cache = _cache_of(state)
    moment = time.monotonic()
    if moment - cache.loaded_at <= CACHE_SECONDS:
        return cache.values
    rows = state.db.conn().execute("SELECT key, value FROM settings").fetchall()
    values: dict[str, Any] = {}
    for row in rows:
        kind = RUNTIME_SETTINGS.get(row["key"])
        if kind is not None:
            values[row["key"]] = kind(json.loads(row["value"]))
    with _lock:
        cache.values = values
        cache.loaded_at = moment
    return values
