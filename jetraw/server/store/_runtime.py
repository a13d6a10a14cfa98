"""Settings that may be overridden while the server runs, stored in the ``settings`` table.

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
from typing import Any

from jetraw.server._settings import ServerSettings
from jetraw.server.store._db import Database

__all__ = ["CACHE_SECONDS", "RUNTIME_SETTINGS", "RuntimeSettings"]

CACHE_SECONDS = 0.5
#: Settings that may be overridden at run time, and their JSON types.
RUNTIME_SETTINGS: dict[str, type] = {
    "access_token_ttl": int,
    "rate_limit_per_minute": int,
    "refresh_grace_seconds": float,
    "device_poll_interval": int,
}


class RuntimeSettings:
    """The settings of one server process: the configured values and the stored overrides."""

    def __init__(self, settings: ServerSettings, db: Database) -> None:
        self._settings = settings
        self._db = db
        self._lock = threading.Lock()
        self._loaded_at = float("-inf")
        self._values: dict[str, Any] = {}

    def get(self, name: str) -> Any:
        """A setting's value: the run-time override if one is stored, else the configured value."""
        if name in RUNTIME_SETTINGS:
            values = self._overrides()
            if name in values:
                return values[name]
        return getattr(self._settings, name)

    def set(self, name: str, value: Any) -> None:
        """Persist an override (seen by every process on the data dir within the cache time).

        Raises:
            KeyError: ``name`` is not one of :data:`RUNTIME_SETTINGS`.
        """
        if name not in RUNTIME_SETTINGS:
            raise KeyError(name)
        self._db.conn().execute(
            "INSERT INTO settings (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (name, json.dumps(value)),
        )
        with self._lock:
            self._loaded_at = float("-inf")

    def _overrides(self) -> dict[str, Any]:
        moment = time.monotonic()
        if moment - self._loaded_at <= CACHE_SECONDS:
            return self._values
        rows = self._db.conn().execute("SELECT key, value FROM settings").fetchall()
        values: dict[str, Any] = {}
        for row in rows:
            kind = RUNTIME_SETTINGS.get(row["key"])
            if kind is not None:
                values[row["key"]] = kind(json.loads(row["value"]))
        with self._lock:
            self._values = values
            self._loaded_at = moment
        return values
