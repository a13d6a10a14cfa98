"""Downloads: concurrent ranged reads into a partial file, verified, then renamed; resumable.

Each file is written with ``pwrite`` at each range's offset into ``.<name>.jetraw-partial``
beside the destination; the CRC-32C of every range is combined in order and compared with the
checksum the platform recorded before the partial file is fsynced and renamed into place. When
the file's record also has a SHA-256 (given by the uploader at complete), the partial file is
read back once and that is checked too: a cost paid only for files that asked for it.

A file of several ranges is resumable (:mod:`._download_journal`): the ranges that landed are
journaled beside the partial file, and a later download of the same file to the same place
re-verifies and keeps them. A cancellation or a storage failure keeps the partial file for that;
a wrong checksum, a full disk or a local write error removes it. Either way the destination
holds the old bytes or the new, never a part.

The server names the files: a path it sends with a ``..``, empty or control-character segment
fails that file with :class:`~jetraw.InvalidPathError` before anything is written.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import io
from collections.abc import Sequence
from pathlib import Path

import anyio
import anyio.to_thread

from jetraw._api import RemoteFile
from jetraw._crc import crc32c, crc32c_combine, crc32c_hex
from jetraw._exceptions import (
    InsufficientStorageError,
    IntegrityError,
    JetrawError,
    LocalPathExistsError,
    LocalPathNotFoundError,
    LocalWriteError,
    StorageError,
)
from jetraw._storage import Storage
from jetraw._transfer._budget import Scheduler
from jetraw._transfer._config import MAX_PARTS, TransferConfig
from jetraw._transfer._download_journal import PartialDownload
from jetraw._transfer._errpath import name_user_path
from jetraw._transfer._job import file_crc
from jetraw._transfer._localpaths import check_relative
from jetraw._transfer._results import DownloadResult, FileTransfer, Progress, ProgressCallback
from jetraw._transfer._retry import with_retries
from jetraw._util import write_all

__all__ = ["DownloadItem", "Downloader"]


@dataclasses.dataclass(frozen=True)
class DownloadItem:
    """One remote file and the local path it goes to."""

    remote: RemoteFile
    local: Path


#: Local errors that no other file of the download can escape either: the job stops at once.
_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)


def _translate_local(exc: OSError, path: Path) -> OSError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return InsufficientStorageError(f"No space left on the local disk while writing {path}.")
    if exc.errno in _READ_ONLY:
        why = "read-only file system" if exc.errno == errno.EROFS else "permission denied"
        return LocalWriteError(f"Cannot write {path}: {why}.")
    return exc


def _prepare_error(exc: OSError, local: Path) -> OSError:
    """A jetraw error for a destination that cannot be made ready (never a raw OSError)."""
    translated = _translate_local(exc, local)
    if translated is not exc:
        return translated
    if isinstance(exc, (FileExistsError, NotADirectoryError)) or exc.errno in (
        errno.ENOTDIR,
        errno.EEXIST,
        errno.ENOENT,
    ):
        return LocalPathNotFoundError(
            f"Cannot write {local}: {local.parent} is not a directory (or cannot be created)."
        )
    return StorageError(f"Cannot write {local}: {exc.strerror or exc}.")


class Downloader:
    """Downloads files from one space's storage. Build one per call of ``download``."""

    def __init__(
        self,
        storage: Storage,
        *,
        config: TransferConfig,
        overwrite: bool = False,
        skip_existing: bool = False,
        progress: ProgressCallback | None = None,
        scheduler: Scheduler | None = None,
    ) -> None:
        self.storage = storage
        self.config = config
        self.overwrite = overwrite
        self.skip_existing = skip_existing
        # The client's scheduler when given: downloads then share one byte budget and request
        # limit with every other transfer of the client (uploads included).
        if scheduler is None:
            scheduler = Scheduler(config.max_bytes_in_flight, config.max_concurrency)
        self.pool = scheduler.pool
        self.limiter = scheduler.limiter
        self.progress_callback = progress
        self.progress = Progress(None, 0, 0)
        #: The error that stopped the whole download (a read-only destination, a full disk).
        self.fatal: InsufficientStorageError | LocalWriteError | None = None
        self._work = anyio.CancelScope()

    async def run(self, items: Sequence[DownloadItem]) -> DownloadResult:
        result = DownloadResult(
            [
                FileTransfer(i.local, f"/{i.remote.space}/{i.remote.path}", i.remote.size)
                for i in items
            ]
        )
        self.progress = Progress(
            self.progress_callback, len(items), sum(i.remote.size for i in items)
        )
        # Files run concurrently; the limiter bounds requests (ranges) in flight over all files.
        async with anyio.create_task_group() as outer:
            outer.start_soon(self.progress.ticker)
            async with anyio.create_task_group() as work:
                self._work = work.cancel_scope
                files = anyio.Semaphore(self.config.max_concurrency)
                for item, entry in zip(items, result.files, strict=True):
                    await files.acquire()
                    if self.fatal is not None:
                        files.release()
                        break
                    work.start_soon(self._one, item, entry, files)
            outer.cancel_scope.cancel()
        if self.fatal is not None:
            for entry in result.files:
                if entry.status == "failed" and entry.error is None:
                    entry.error = JetrawError(f"Not downloaded: the download stopped: {self.fatal}")
        await self.progress.emit("bytes")
        return result

    async def _one(self, item: DownloadItem, entry: FileTransfer, files: anyio.Semaphore) -> None:
        try:
            await self.progress.emit("started", entry)
            if self.skip_existing and await anyio.to_thread.run_sync(
                _same_file, item.local, item.remote
            ):
                entry.status = "skipped"
                entry.checksum = item.remote.checksum
                self.progress.add_bytes(item.remote.size)
                await self.progress.emit("done", entry)
                return
            resumed = await self.download_file(item.remote, item.local)
            entry.status = "downloaded"
            entry.checksum = item.remote.checksum
            entry.bytes_sent = item.remote.size - resumed
            entry.bytes_resumed = resumed
            await self.progress.emit("done", entry)
        except Exception as exc:
            name_user_path(exc, item.remote.object_key, entry.remote)
            entry.status, entry.error = "failed", exc
            await self.progress.emit("failed", entry)
            if isinstance(exc, (LocalWriteError, InsufficientStorageError)) and self.fatal is None:
                # Every other file would fail the same way: stop them (partial files of
                # interrupted ones are kept, to resume from) rather than fail each in turn.
                self.fatal = exc
                self._work.cancel()
        finally:
            files.release()

    async def download_file(self, remote: RemoteFile, local: Path) -> int:
        """Fetch one file to ``local`` atomically, verifying its size, CRC-32C and SHA-256.

        The SHA-256 is checked only if the file's record has one. Chunks that an earlier,
        interrupted download of the same file left (and that still verify) are kept.

        Returns:
            The bytes resumed from that earlier download (not fetched again).
        """
        # Defence in depth: the caller built ``local`` from this path; one with ".." in it
        # must not be written at all (jetraw._transfer._localpaths.safe_local_target).
        check_relative(remote.path)
        expected_sha256 = _expected_sha256(remote)

        def prepare() -> None:
            # Only the destination counts as existing: a partial file beside it does not.
            if not self.overwrite and (local.exists() or local.is_symlink()):
                raise LocalPathExistsError(
                    f"{local} exists: pass overwrite=True to replace it (or skip_existing=True)."
                )
            try:
                local.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise _prepare_error(exc, local) from exc
            if local.is_dir():
                raise LocalPathExistsError(f"{local} is a directory, not a file.")

        partial = PartialDownload(local, remote, _chunk_size(remote.size, self.config))

        def start() -> tuple[int, dict[int, int]] | None:
            # One thread hop per file for all of it: the destination, the locked partial
            # file and what a journal of an earlier run recorded.
            prepare()
            try:
                partial.open()
            except OSError as exc:
                raise _prepare_error(exc, local) from exc
            return partial.recorded()

        try:
            found = await anyio.to_thread.run_sync(start)
            resumed = await self._fetch(remote, partial, expected_sha256, found)
            await anyio.to_thread.run_sync(partial.finish)
            return resumed
        except BaseException as exc:
            keep = _keeps_partial(exc)
            if partial.fd >= 0:  # else the destination was refused before anything was opened
                with anyio.CancelScope(shield=True), contextlib.suppress(OSError):
                    await anyio.to_thread.run_sync(partial.keep if keep else partial.discard)
            if isinstance(exc, OSError) and not isinstance(exc, JetrawError):
                translated = _translate_local(exc, local)
                if translated is exc:
                    translated = StorageError(f"Cannot write {local}: {exc.strerror or exc}.")
                raise translated from exc
            raise

    async def _fetch(
        self,
        remote: RemoteFile,
        partial: PartialDownload,
        expected_sha256: str | None,
        found: tuple[int, dict[int, int]] | None,
    ) -> int:
        """Verify what an earlier run left (``found``: the journal's chunk size and CRCs),
        fetch the rest, check the whole file's checksums."""
        size = remote.size
        if found is not None:
            partial.chunk = found[0]  # the journal's chunking, whatever this call's config
        chunk = partial.chunk
        ranges = [(start, min(chunk, size - start)) for start in range(0, size, chunk)]
        crcs: list[int] = [0] * len(ranges)
        resumed = 0
        for index, crc in sorted(found[1].items()) if found is not None else ():
            start, length = ranges[index]
            # Never trust an unverified byte: each kept chunk is read back and checked.
            if await anyio.to_thread.run_sync(partial.verify, start, length, crc):
                crcs[index] = partial.crcs[index] = crc
                resumed += length
        fd = partial.fd
        errors: list[BaseException] = []
        saving = anyio.Lock()
        async with anyio.create_task_group() as tg:
            for index, (start, length) in enumerate(ranges):
                if index in partial.crcs:
                    continue
                tg.start_soon(
                    self._range,
                    remote,
                    fd,
                    index,
                    start,
                    length,
                    crcs,
                    errors,
                    tg.cancel_scope,
                    partial,
                    saving,
                )
        if errors:
            raise errors[0]
        total = 0
        for (_, length), value in zip(ranges, crcs, strict=True):
            total = crc32c_combine(total, value, length)
        if remote.crc32c is not None and total != remote.crc32c:
            raise IntegrityError(
                f"{remote.space}/{remote.path}: CRC-32C {crc32c_hex(total)} of the "
                f"downloaded bytes does not match the recorded {remote.checksum}."
            )
        if expected_sha256 is not None:
            actual = await _sha256_of(partial.path)
            if actual != expected_sha256:
                raise IntegrityError(
                    f"{remote.space}/{remote.path}: SHA-256 {actual} of the downloaded "
                    f"bytes does not match the recorded {expected_sha256}."
                )
        return resumed

    async def _range(
        self,
        remote: RemoteFile,
        fd: int,
        index: int,
        start: int,
        length: int,
        crcs: list[int],
        errors: list[BaseException],
        scope: anyio.CancelScope,
        partial: PartialDownload,
        saving: anyio.Lock,
    ) -> None:
        async def attempt() -> None:
            offset, value = start, 0
            try:
                async for data in self.storage.iter_range(remote.object_key, start, length):
                    if offset + len(data) > start + length:
                        raise IntegrityError(
                            f"Storage sent more bytes than asked for {remote.path}."
                        )
                    value = crc32c(data, value)
                    # On the loop, not in a worker thread: a pwrite of <= 1 MiB into the page cache
                    # costs less than the hop (~0.1 ms of CPU) and, read promptly, aiohttp joins
                    # fewer buffered chunks (faults/GiB 30-47k -> 1-2k; benchmarks/NOTES.md).
                    write_all(fd, data, offset)
                    offset += len(data)
                    self.progress.add_bytes(len(data))
                if offset != start + length:
                    raise IntegrityError(
                        f"{remote.space}/{remote.path}: storage sent {offset - start} of "
                        f"{length} bytes."
                    )
            except BaseException:
                self.progress.add_bytes(start - offset)
                raise
            crcs[index] = value

        try:
            # Budget first, then a request slot: the order the upload engine takes them in.
            async with self.pool.reserve(length), self.limiter:
                await with_retries(self.config.attempts, attempt)
            if partial.landed(index, crcs[index]) and not saving.locked():
                async with saving:  # one journal write at a time; a later chunk catches up
                    await anyio.to_thread.run_sync(partial.save)
        except Exception as exc:
            # Kept, not raised (a task group would wrap it in an ExceptionGroup); the file's
            # other ranges are pointless now.
            errors.append(exc)
            scope.cancel()


def _same_file(local: Path, remote: RemoteFile) -> bool:
    """``skip_existing``: whether ``local`` is a regular file of ``remote``'s size and CRC-32C."""
    try:
        if not local.is_file() or local.is_symlink() or local.stat().st_size != remote.size:
            return False
        return remote.crc32c is not None and file_crc(local) == remote.crc32c
    except OSError:
        return False


def _chunk_size(size: int, config: TransferConfig) -> int:
    """The range size: the part size for large files (grown to keep fewer than 10,000 ranges,
    so a journal stays small), the whole file otherwise."""
    if size < config.multipart_threshold:
        return max(size, 1)
    return max(config.part_size, -(-size // MAX_PARTS))


def _keeps_partial(exc: BaseException) -> bool:
    """Whether a download stopped by ``exc`` keeps its partial file to resume from.

    Kept: a cancellation or interruption, and a failure of the storage or the network (the
    bytes written are still good). Discarded: a wrong checksum (what was written cannot be
    trusted), a full disk (the partial file holds the space needed) and any local write error.
    """
    if not isinstance(exc, Exception):
        return True
    if isinstance(exc, (IntegrityError, InsufficientStorageError, LocalWriteError)):
        return False
    return isinstance(exc, JetrawError)


def _expected_sha256(remote: RemoteFile) -> str | None:
    value = remote.sha256
    if value is None:
        return None
    value = value.lower()
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise IntegrityError(
            f"{remote.space}/{remote.path}: the recorded SHA-256 {value[:80]!r} is malformed."
        )
    return value


_HASH_CHUNK = 8 << 20


async def _sha256_of(path: Path) -> str:
    """SHA-256 of a file, read back in chunks (a thread each: cancellable between chunks)."""
    digest = hashlib.sha256()
    buffer = bytearray(_HASH_CHUNK)
    view = memoryview(buffer)

    def step(handle: io.FileIO) -> bool:
        n = handle.readinto(buffer)
        if not n:
            return False
        digest.update(view[:n])  # releases the GIL for large buffers
        return True

    handle = await anyio.to_thread.run_sync(io.FileIO, path)
    try:
        while await anyio.to_thread.run_sync(step, handle):
            pass
    finally:
        handle.close()
    return digest.hexdigest()
