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
import os
import uuid
from pathlib import Path
from typing import Any

__all__ = ["Journal", "JournalStore"]


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
    """Journals in one directory."""

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
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        target = self._file(key)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}")
        with open(tmp, "wb") as f:
            f.write(json.dumps(journal.to_json()).encode())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)

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
