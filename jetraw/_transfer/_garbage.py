"""Objects a write replaced, kept for a grace period and then deleted by the client.

The state server lists them (``garbage``) when it holds no credentials for a space's S3 bucket.
Deleting at once would break readers that looked the file up just before the overwrite, so the
keys are recorded here with a due time and deleted by a later call of the same client or
process (after the next upload or delete in that space). Best effort: a key lost here is an
orphan object, never a lost file.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from jetraw._util import atomic_write

__all__ = ["GarbageStore"]


class GarbageStore:
    """One small JSON file of ``[key, due]`` pairs per (server, organisation, space)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _file(self, scope: str, space: str) -> Path:
        name = hashlib.sha256(json.dumps([scope, space]).encode()).hexdigest()[:40]
        return self.directory / f"{name}.json"

    def _load(self, path: Path) -> list[list[object]]:
        try:
            data = json.loads(path.read_bytes())
        except (OSError, ValueError):
            return []
        return [e for e in data if isinstance(e, list) and len(e) == 2]

    def _save(self, path: Path, entries: list[list[object]]) -> None:
        if not entries:
            path.unlink(missing_ok=True)
            return
        atomic_write(path, json.dumps(entries))

    def add(self, scope: str, space: str, keys: list[str], grace: float) -> None:
        """Record ``keys`` to delete ``grace`` seconds from now."""
        if not keys:
            return
        path = self._file(scope, space)
        due = time.time() + grace
        self._save(path, self._load(path) + [[k, due] for k in keys])

    def due(self, scope: str, space: str, limit: int = 1000) -> list[str]:
        """Keys whose grace period is over (at most ``limit``)."""
        now = time.time()
        entries = self._load(self._file(scope, space))
        return [str(k) for k, due in entries if float(due) <= now][:limit]  # type: ignore[arg-type]

    def forget(self, scope: str, space: str, keys: list[str]) -> None:
        """Drop deleted ``keys`` from the record."""
        path = self._file(scope, space)
        gone = set(keys)
        self._save(path, [e for e in self._load(path) if e[0] not in gone])
