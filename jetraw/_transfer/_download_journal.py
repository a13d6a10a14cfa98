"""What a killed download leaves to resume from: a partial file and its journal, beside it.

A download of ``dir/name`` writes ``dir/.name.jetraw-partial`` and, for a file fetched in more
than one range, records in ``dir/.name.jetraw-partial.json`` (rewritten atomically) the remote
file's identity (space, path, object key, size, CRC-32C, SHA-256), the chunk size and the
CRC-32C of every chunk that has fully landed and been fsynced. The next download of the same
file to the same place re-reads each recorded chunk and keeps it only if its CRC-32C still
matches, then fetches the rest; a journal of another version of the file (a different object
key, size or checksum), or no journal at all, starts the partial file afresh.

One download at a time owns a partial file: it holds an exclusive ``flock`` on it (released by
the kernel when the process dies, ``kill -9`` included). A second download to the same
destination meanwhile (or a platform without ``flock``) uses a private temporary name and
journals nothing, as downloads did before they could resume.

Every method here blocks: call them from a worker thread.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from jetraw._api import RemoteFile
from jetraw._crc import crc32c
from jetraw._util import atomic_write, fsync_dir

__all__ = ["PARTIAL_SUFFIX", "PartialDownload", "partial_paths"]

logger = logging.getLogger("jetraw.transfer")

#: The suffix of a resumable partial file (its journal adds ``.json``).
PARTIAL_SUFFIX = ".jetraw-partial"
_VERSION = 1
_READ = 1 << 20


def partial_paths(local: Path) -> tuple[Path, Path]:
    """The partial file and the journal of a download to ``local``."""
    partial = local.with_name(f".{local.name}{PARTIAL_SUFFIX}")
    return partial, partial.with_name(partial.name + ".json")


def _identity(remote: RemoteFile) -> dict[str, Any]:
    # The object key names one version of the file: an overwrite writes a new object.
    return {
        "space": remote.space,
        "path": remote.path,
        "object_key": remote.object_key,
        "size": remote.size,
        "crc32c": remote.crc32c,
        "sha256": remote.sha256,
    }


def _lock(fd: int) -> bool:
    if sys.platform == "win32":  # pragma: no cover - no flock: never resumable there
        return False
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


class PartialDownload:
    """The partial file of one download, and its journal when it is resumable.

    Args:
        local: The destination.
        remote: The file being downloaded.
        chunk: The range size; a file of one range is never journaled (there is nothing to
            resume but the whole).
    """

    #: Journal at least every this many chunks, or this many seconds.
    EVERY = 64
    INTERVAL = 1.0

    def __init__(self, local: Path, remote: RemoteFile, chunk: int) -> None:
        self.local = local
        self.remote = remote
        self.chunk = chunk
        self.path, self.journal = partial_paths(local)
        self.fd = -1
        #: Whether this download owns the stable partial name (so may resume and journal).
        self.owned = False
        #: index → CRC-32C of every chunk landed in full (journaled at the next save).
        self.crcs: dict[int, int] = {}
        self._journaling = remote.size > chunk
        self._saved_at = -float("inf")
        self._unsaved = 0

    # -- opening --------------------------------------------------------------------------------

    def open(self) -> None:
        """Open (and lock) the stable partial file, else a private temporary one."""
        for _ in range(5):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                if not _lock(fd):
                    os.close(fd)
                    break
                # Locked, but the name may have moved on (renamed into place, or discarded by
                # the download that held it): only the file still under the name is ours.
                mine, there = os.fstat(fd), os.stat(self.path)
            except FileNotFoundError:
                os.close(fd)
                continue
            except BaseException:
                os.close(fd)
                raise
            if (mine.st_dev, mine.st_ino) == (there.st_dev, there.st_ino):
                self.fd, self.owned = fd, True
                return
            os.close(fd)
        self.path = self.local.with_name(f".{self.local.name}.jetraw-{uuid.uuid4().hex[:12]}")
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        self._journaling = False

    def recorded(self) -> tuple[int, dict[int, int]] | None:
        """The chunk size and chunk CRCs a journal of this very file recorded, if any.

        A journal of another file (or version), or an unreadable one, is deleted and the
        partial file emptied.
        """
        if not self.owned:
            return None
        try:
            data = json.loads(self.journal.read_bytes())
            if data.get("version") != _VERSION or data.get("remote") != _identity(self.remote):
                raise ValueError("another file")
            chunk = int(data["chunk"])
            count = -(-self.remote.size // chunk) if chunk > 0 else 0
            crcs = {int(k): int(v) for k, v in data["crcs"].items()}
            if chunk <= 0 or any(not 0 <= k < count for k in crcs):
                raise ValueError("malformed")
        except FileNotFoundError:
            self.reset()
            return None
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            self.reset()
            return None
        return chunk, crcs

    def verify(self, start: int, length: int, expected: int) -> bool:
        """Whether the partial file holds ``length`` bytes at ``start`` with CRC ``expected``."""
        value, offset, end = 0, start, start + length
        while offset < end:
            data = os.pread(self.fd, min(_READ, end - offset), offset)
            if not data:
                return False
            value = crc32c(data, value)
            offset += len(data)
        return value == expected

    def reset(self) -> None:
        """Start the partial file afresh: nothing in it is trusted."""
        self.crcs.clear()
        os.ftruncate(self.fd, 0)
        self.journal.unlink(missing_ok=True)

    # -- journaling -----------------------------------------------------------------------------

    def landed(self, index: int, crc: int) -> bool:
        """Record a chunk written in full; returns whether a journal write is due."""
        self.crcs[index] = crc
        if not self._journaling:
            return False
        self._unsaved += 1
        return self._unsaved >= self.EVERY or time.monotonic() - self._saved_at >= self.INTERVAL

    def save(self) -> None:
        """Fsync the partial file, then journal every chunk landed so far.

        Raises:
            OSError: The disk is full (``ENOSPC``, ``EDQUOT``). Any other failure to write the
                journal only logs and stops journaling: the download goes on, not resumable.
        """
        if not self._journaling:
            return
        self._unsaved = 0
        self._saved_at = time.monotonic()
        crcs = dict(self.crcs)
        body = {
            "version": _VERSION,
            "remote": _identity(self.remote),
            "chunk": self.chunk,
            "crcs": {str(k): v for k, v in sorted(crcs.items())},
        }
        try:
            os.fsync(self.fd)  # a chunk is journaled only once its bytes are durable
            atomic_write(self.journal, json.dumps(body), mode=0o644, parent_mode=None)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise
            logger.warning("Cannot journal the download of %s (not resumable): %s", self.local, exc)
            self._journaling = False

    # -- ending ---------------------------------------------------------------------------------

    def finish(self) -> None:
        """Fsync the complete file and rename it into place (the lock held until then)."""
        os.fsync(self.fd)
        os.replace(self.path, self.local)
        self.journal.unlink(missing_ok=True)
        fsync_dir(self.local.parent)
        self._close()

    def keep(self) -> None:
        """Stop, keeping what can be resumed (the journal brought up to date); else discard."""
        if self._journaling and self.crcs:
            try:
                self.save()
            except OSError:
                self.discard()
                return
            self._close()
            return
        self.discard()

    def discard(self) -> None:
        """Remove the partial file and its journal (still holding the lock while doing so)."""
        try:
            if self.fd >= 0:
                self.path.unlink(missing_ok=True)
                if self.owned:
                    self.journal.unlink(missing_ok=True)
        finally:
            self._close()

    def _close(self) -> None:
        if self.fd >= 0:
            fd, self.fd = self.fd, -1
            os.close(fd)
