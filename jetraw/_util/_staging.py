"""The on-disk layout of multipart uploads in a local space, shared by the SDK and the server.

The SDK's local storage backend writes it; the reference server's cleanup reads it to delete
what an expired or aborted upload left behind. Inside a space's root::

    .jetraw-multipart/                 STAGING_DIR: never a valid object key segment
      <storage upload id>/             one directory per multipart upload
        meta.json                      {"key": <object key>, "part_size": <bytes>}
        data                           the object, preallocated, parts written at their offsets
        parts/<n>.json                 {"etag", "size", "crc32c"} once part n is durable
      .new-<key tag>-<upload id>/      the same, while it is being created: renamed into place
                                       whole, so a crash never leaves a directory without meta
      .gone-<upload id>/               a staging being removed (completed or aborted): renamed
                                       here first, so it vanishes from under its id at once;
                                       what a crash leaves here is garbage to anyone

The key tag (:func:`key_tag`) names the object key in the directory name itself, so what a crash
left mid-creation is still found by object key.

``docs/protocol.md`` describes the same layout for other implementations of a local space.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from jetraw._util._atomic import atomic_write

__all__ = ["STAGING_DIR", "StagingLayout", "StagingMeta", "key_tag"]

STAGING_DIR = ".jetraw-multipart"
_NEW = ".new-"
_GONE = ".gone-"


def key_tag(key: str) -> str:
    """A file-name-safe tag of an object key: the first 32 hex digits of its SHA-256."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]


@dataclasses.dataclass(frozen=True)
class StagingMeta:
    """What ``meta.json`` records about one staged upload."""

    key: str
    part_size: int


class StagingLayout:
    """Paths of the staged multipart uploads under one local space root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.base = root / STAGING_DIR

    @staticmethod
    def is_valid_id(upload_id: str) -> bool:
        """Whether ``upload_id`` names a directory directly under :attr:`base` and nothing else."""
        return (
            bool(upload_id)
            and "/" not in upload_id
            and "\\" not in upload_id
            and (not upload_id.startswith("."))
        )

    @staticmethod
    def is_reserved(segment: str) -> bool:
        """Whether an object key segment would collide with the staging area."""
        return segment.startswith(STAGING_DIR)

    def upload_dir(self, upload_id: str) -> Path:
        """The staging directory of ``upload_id``. Raises ValueError for an id that could escape."""
        if not self.is_valid_id(upload_id):
            raise ValueError(f"Invalid multipart upload id {upload_id!r}.")
        return self.base / upload_id

    def new_dir(self, upload_id: str, key: str) -> Path:
        """Where ``upload_id`` of ``key`` is assembled before :meth:`upload_dir` names it."""
        self.upload_dir(upload_id)  # refuses an id that could escape
        return self.base / f"{_NEW}{key_tag(key)}-{upload_id}"

    def new_dirs(self, key: str) -> list[Path]:
        """What a crash left while creating an upload of ``key`` (see :meth:`new_dir`)."""
        try:
            return sorted(self.base.glob(f"{_NEW}{key_tag(key)}-*"))
        except OSError:
            return []

    def retire(self, directory: Path) -> None:
        """Remove a staging ``directory`` (under its id, or a ``.new-`` one): renamed to
        ``.gone-<name>`` first, then deleted, so a crash midway never leaves a partial
        staging where an upload or a cleanup would look for one. Raises OSError."""
        gone = self.base / f"{_GONE}{directory.name}"
        try:
            os.rename(directory, gone)
        except FileNotFoundError:
            return
        shutil.rmtree(gone)

    def sweep(self) -> int:
        """Delete what crashes left half-removed (``.gone-*``); how many. Never raises."""
        try:
            leftovers = list(self.base.glob(f"{_GONE}*"))
        except OSError:
            return 0
        for path in leftovers:
            shutil.rmtree(path, ignore_errors=True)
        return len(leftovers)

    def meta_path(self, upload_id: str) -> Path:
        return self.upload_dir(upload_id) / "meta.json"

    def data_path(self, upload_id: str) -> Path:
        return self.upload_dir(upload_id) / "data"

    def parts_dir(self, upload_id: str) -> Path:
        return self.upload_dir(upload_id) / "parts"

    def part_record(self, upload_id: str, number: int) -> Path:
        return self.parts_dir(upload_id) / f"{number}.json"

    @staticmethod
    def write_meta(directory: Path, meta: StagingMeta) -> None:
        """Record ``meta`` atomically in a staging ``directory`` (which must exist)."""
        body = json.dumps({"key": meta.key, "part_size": meta.part_size})
        atomic_write(directory / "meta.json", body, mode=0o644, parent_mode=None)

    def read_meta(self, upload_id: str) -> StagingMeta | None:
        """The recorded meta of ``upload_id``; None if absent or unreadable."""
        return _parse_meta(self.meta_path(upload_id))

    def iter_uploads(self) -> Iterator[tuple[str, StagingMeta | None]]:
        """Every staged upload id with its meta (None where ``meta.json`` is missing or bad)."""
        try:
            entries = sorted(self.base.iterdir())
        except OSError:
            return
        for entry in entries:
            if entry.is_dir() and self.is_valid_id(entry.name):
                yield entry.name, _parse_meta(entry / "meta.json")


def _parse_meta(path: Path) -> StagingMeta | None:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("key"), str):
        return None
    size = data.get("part_size")
    return StagingMeta(data["key"], size if isinstance(size, int) else 0)
