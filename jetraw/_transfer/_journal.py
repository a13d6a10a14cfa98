"""The resume journal: what a multipart upload has stored so far, kept on local disk.

One small JSON file per upload under ``<config dir>/uploads/``, keyed by server, organisation,
space, remote path and the local file's real path. It is rewritten atomically as parts finish
(when 64 of them are unjournaled or a second has passed since the last write, and always when
an upload is kept for resuming or about to be assembled), so after a crash or ``kill -9`` the
next run of the same upload finds the upload ids and the parts already stored; a stored part
the journal missed is at worst sent again. The file's inode, size, mtime and ctime are
recorded, not keyed on: a file replaced by a rename (a new inode) still finds its old journal,
so the old upload is aborted rather than orphaned."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from jetraw._storage import PartInfo
from jetraw._util import atomic_write

__all__ = ["Journal", "JournalStore", "RunningJournal"]

logger = logging.getLogger("jetraw.transfer")


@dataclasses.dataclass
class Journal:
    upload_id: str
    storage_upload_id: str
    object_key: str
    part_size: int
    size: int
    mtime_ns: int
    ctime_ns: int = 0
    ino: int = 0
    #: part number → [etag, size, crc32c]
    parts: dict[int, list[Any]] = dataclasses.field(default_factory=dict)
    expires_at: str | None = None

    def to_json(self) -> dict[str, Any]:
        # Not dataclasses.asdict: its deep copy of every part was most of a rewrite's cost.
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["parts"] = {str(k): v for k, v in self.parts.items()}
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Journal:
        data = dict(data)
        data["parts"] = {int(k): list(v) for k, v in data.get("parts", {}).items()}
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


class JournalStore:
    """Journals in one directory.

    A running upload rewrites its journal (every part so far) once :attr:`EVERY` parts finished
    unjournaled or :attr:`INTERVAL` seconds passed: rewriting it after every part made the cost
    quadratic in the parts. A finished part missing from the journal is only sent again on
    resume (resumed parts are re-read and checked against their CRC-32C anyway).
    """

    EVERY = 64
    INTERVAL = 1.0

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @staticmethod
    def key(scope: str, space: str, path: str, local: Path) -> str:
        ident = [scope, space, path, str(local.resolve())]
        return hashlib.sha256(json.dumps(ident).encode()).hexdigest()[:40]

    def _file(self, key: str) -> Path:
        return self.directory / f"{key}.json"

    def load(self, key: str) -> Journal | None:
        try:
            return Journal.from_json(json.loads(self._file(key).read_bytes()))
        except (OSError, ValueError, TypeError, KeyError):
            return None

    def save(self, key: str, journal: Journal) -> None:
        atomic_write(self._file(key), json.dumps(journal.to_json()))

    def now(self) -> float:
        """The clock of the write throttle (monotonic; tests override it)."""
        return time.monotonic()

    def delete(self, key: str) -> None:
        self._file(key).unlink(missing_ok=True)

    def forget_upload(self, upload_id: str) -> int:
        """Delete every journal of the upload ``upload_id``; return how many there were."""
        if not self.directory.is_dir():
            return 0
        removed = 0
        for entry in self.directory.glob("*.json"):
            journal = self.load(entry.stem)
            if journal is not None and journal.upload_id == upload_id:
                self.delete(entry.stem)
                removed += 1
        return removed


def _write(store: JournalStore, key: str, template: Journal, parts: Mapping[int, PartInfo]) -> None:
    # Snapshot and serialise in the worker thread: the loop only copied the part map.
    journal = dataclasses.replace(
        template, parts={n: [p.etag, p.size, p.crc32c] for n, p in parts.items()}
    )
    store.save(key, journal)


class RunningJournal:
    """The journal of one running multipart upload: its key, its metadata, its write throttle.

    Args:
        store: Where journals are kept.
        key: The journal's key (:meth:`JournalStore.key`).
    """

    def __init__(self, store: JournalStore, key: str) -> None:
        self.store = store
        self.key = key
        #: The upload's metadata (parts are given to :meth:`save`); ``None``: nothing to write.
        self.record: Journal | None = None
        self._lock = anyio.Lock()  # one write at a time, newest last
        self._saved_at = -float("inf")
        self._unsaved = 0  # parts finished since the last write

    async def save(
        self, parts: Mapping[int, PartInfo], local: Path, *, force: bool = False
    ) -> None:
        """Write the journal with ``parts``: at once when ``force``, else when one is due.

        The write (serialising, fsync, rename) runs in a worker thread. A failed write only
        logs: resuming needs the journal, the upload itself does not.
        """
        if self.record is None:
            return
        if not force:
            self._unsaved += 1
            due = (
                self._unsaved >= self.store.EVERY
                or self.store.now() - self._saved_at >= self.store.INTERVAL
            )
            if not due or self._lock.locked():
                return  # a later part (or the forced write at the end) journals it
        async with self._lock:
            if self.record is None:
                return
            self._unsaved = 0
            self._saved_at = self.store.now()
            args = (self.store, self.key, self.record, dict(parts))
            try:
                await anyio.to_thread.run_sync(_write, *args)
            except OSError as exc:
                logger.warning("Cannot write the resume journal of %s: %s", local, exc)

    async def load(self) -> Journal | None:
        """The journal a previous run left under this key, if any."""
        return await anyio.to_thread.run_sync(self.store.load, self.key)

    async def forget(self) -> None:
        """Delete the journal file."""
        await anyio.to_thread.run_sync(self.store.delete, self.key)
