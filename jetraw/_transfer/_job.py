"""One file of an upload: its record (:class:`UploadJob`), and reading its parts off the disk.

The reads run in worker threads and check, before and after, that the file is still the one
planned (inode, size, mtime, ctime): bytes of a file rewritten mid-upload are never committed.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path

from jetraw._api import Upload
from jetraw._crc import crc32c, crc32c_combine
from jetraw._exceptions import IntegrityError
from jetraw._storage import PartInfo
from jetraw._transfer._journal import RunningJournal
from jetraw._transfer._results import FileTransfer

__all__ = [
    "LocalFileChangedError",
    "UploadItem",
    "UploadJob",
    "file_crc",
    "read_part",
    "verify_parts",
    "whole_crc",
]

_SLICE = 1 << 20  # bytes hashed per slice (google_crc32c takes only immutable bytes)


@dataclasses.dataclass(frozen=True)
class UploadItem:
    """One local file and its space-relative destination path."""

    local: Path
    path: str


class LocalFileChangedError(IntegrityError):
    """The local file changed (or shrank) while it was being uploaded."""


@dataclasses.dataclass(eq=False)
class UploadJob:
    """Everything known about one file of an upload, from planning to its outcome."""

    item: UploadItem
    result: FileTransfer
    size: int = 0
    mtime_ns: int = 0
    ctime_ns: int = 0  # user space cannot set it: catches a rewrite that restored the mtime
    ino: int = 0
    multipart: bool = False
    #: The state server's upload (``None`` until created, and again once settled).
    upload: Upload | None = None
    part_size: int = 0
    nparts: int = 0
    storage_upload_id: str | None = None
    parts: dict[int, PartInfo] = dataclasses.field(default_factory=dict)
    crc: int = 0
    stored: bool = False  # the object exists in storage under upload.object_key
    pending: int = 0  # units of work of this job still running (multipart)
    error: BaseException | None = None
    journal: RunningJournal | None = None
    sent: int = 0  # bytes stored by this run (resumed parts excluded)
    done: bool = False

    def fail(self, exc: BaseException) -> None:
        """Record the first error (later ones are consequences)."""
        if self.error is None:
            self.error = exc

    def part_len(self, number: int) -> int:
        if number < self.nparts:
            return self.part_size
        return self.size - (self.nparts - 1) * self.part_size

    def same_file(self, st: os.stat_result) -> bool:
        return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino) == (
            self.size,
            self.mtime_ns,
            self.ctime_ns,
            self.ino,
        )

    def record(self, st: os.stat_result) -> None:
        """Take the file's identity (size, times, inode) from ``st``."""
        self.size, self.mtime_ns, self.ctime_ns = st.st_size, st.st_mtime_ns, st.st_ctime_ns
        self.ino = st.st_ino
        self.result.size = self.size

    async def save_journal(self, *, force: bool = False) -> None:
        """Journal the parts so far: at once when ``force``, else as a part that just finished."""
        if self.journal is not None:
            await self.journal.save(self.parts, self.item.local, force=force)

    async def forget_journal(self) -> None:
        if self.journal is not None:
            await self.journal.forget()


def read_part(job: UploadJob, view: memoryview, offset: int) -> int:
    """Fill ``view`` from the job's file at ``offset``; return its CRC-32C (worker thread)."""
    fd = os.open(job.item.local, os.O_RDONLY)
    try:
        if not job.same_file(os.fstat(fd)):
            raise LocalFileChangedError(f"{job.item.local} changed while it was being uploaded.")
        got = 0
        while got < len(view):
            if hasattr(os, "preadv"):
                n = os.preadv(fd, [view[got:]], offset + got)
            else:  # pragma: no cover - platforms without preadv
                chunk = os.pread(fd, len(view) - got, offset + got)
                view[got : got + len(chunk)] = chunk
                n = len(chunk)
            if n == 0:
                raise LocalFileChangedError(f"{job.item.local} shrank while it was being uploaded.")
            got += n
        # Written to while we read it: these bytes may be a mix of old and new.
        if not job.same_file(os.fstat(fd)):
            raise LocalFileChangedError(f"{job.item.local} changed while it was being uploaded.")
    finally:
        os.close(fd)
    # Hashed here, in the worker thread, so the event loop never stalls on a part.
    return crc32c(view)


def verify_parts(job: UploadJob, parts: Mapping[int, PartInfo]) -> bool:
    """Whether the local file still has, at each part, the bytes whose CRC-32C was stored."""
    fd = os.open(job.item.local, os.O_RDONLY)
    try:
        if not job.same_file(os.fstat(fd)):
            return False
        for number, part in parts.items():
            offset, value, left = (number - 1) * job.part_size, 0, part.size
            while left > 0:
                chunk = os.pread(fd, min(_SLICE, left), offset)
                if not chunk:
                    return False
                value = crc32c(chunk, value)
                offset += len(chunk)
                left -= len(chunk)
            if value != part.crc32c:
                return False
    finally:
        os.close(fd)
    return True


def file_crc(path: Path) -> int:
    """The CRC-32C of a whole local file (worker thread)."""
    value = 0
    with open(path, "rb") as f:
        while chunk := f.read(_SLICE):
            value = crc32c(chunk, value)
    return value


def whole_crc(parts: Mapping[int, PartInfo], nparts: int) -> int:
    """The whole file's CRC-32C from its parts' (~7 µs a part: a worker thread for many)."""
    total = 0
    for number in range(1, nparts + 1):
        part = parts[number]
        total = crc32c_combine(total, part.crc32c or 0, part.size)
    return total
