"""The upload engine's shared parts: a job per file, reading parts, and how a job ends.

A job ends committed (the file is visible) or failed. A failed job's upload is aborted on the
state server, and its stored bytes are deleted only once the server has confirmed the abort: an
upload whose complete was answered ambiguously may be committed, and then ends as uploaded.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import anyio
import anyio.to_thread

from jetraw import _files_api as api_
from jetraw._crc import crc32c, crc32c_hex
from jetraw._exceptions import IntegrityError, JetrawError, StorageError
from jetraw._storage import PartInfo, Storage
from jetraw._transfer._budget import BufferPool, Scheduler
from jetraw._transfer._commit import abort_checked
from jetraw._transfer._config import TransferConfig
from jetraw._transfer._journal import Journal, JournalStore
from jetraw._transfer._results import FileTransfer, Progress, ProgressCallback
from jetraw._transfer._retry import with_retries

__all__ = ["OnCancel", "UploadItem", "file_crc", "read_part", "verify_parts"]

OnCancel = Literal["abort", "keep"]

logger = logging.getLogger("jetraw.transfer")

_SLICE = 1 << 20  # bytes hashed per slice (google_crc32c takes only immutable bytes)


@dataclasses.dataclass(frozen=True)
class UploadItem:
    """One local file and its space-relative destination path."""

    local: Path
    path: str


class _Job:
    def __init__(self, item: UploadItem, result: FileTransfer) -> None:
        self.item = item
        self.result = result
        self.size = 0
        self.mtime_ns = 0
        self.ctime_ns = 0  # user space cannot set it: catches a rewrite that restored the mtime
        self.ino = 0
        self.upload: api_.Upload | None = None
        self.multipart = False
        self.part_size = 0
        self.nparts = 0
        self.storage_upload_id: str | None = None
        self.parts: dict[int, PartInfo] = {}
        self.crc = 0
        self.stored = False  # the object exists in storage under upload.object_key
        self.pending = 0
        self.error: BaseException | None = None
        self.journal_key: str | None = None
        self.journal: Journal | None = None  # the metadata; parts are taken from ``parts``
        self.journal_lock: anyio.Lock | None = None  # one write at a time, newest last
        self.journal_saved_at = -float("inf")
        self.journal_unsaved = 0  # parts finished since the last write
        self.sent = 0  # bytes stored by this run (resumed parts excluded)
        self.done = False

    def fail(self, exc: BaseException) -> None:
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


class _LocalFileChanged(IntegrityError):
    pass


def read_part(job: _Job, view: memoryview, offset: int) -> int:
    """Fill ``view`` from the job's file at ``offset``; return its CRC-32C (worker thread)."""
    fd = os.open(job.item.local, os.O_RDONLY)
    try:
        if not job.same_file(os.fstat(fd)):
            raise _LocalFileChanged(f"{job.item.local} changed while it was being uploaded.")
        got = 0
        while got < len(view):
            if hasattr(os, "preadv"):
                n = os.preadv(fd, [view[got:]], offset + got)
            else:  # pragma: no cover - platforms without preadv
                chunk = os.pread(fd, len(view) - got, offset + got)
                view[got : got + len(chunk)] = chunk
                n = len(chunk)
            if n == 0:
                raise _LocalFileChanged(f"{job.item.local} shrank while it was being uploaded.")
            got += n
        # Written to while we read it: these bytes may be a mix of old and new.
        if not job.same_file(os.fstat(fd)):
            raise _LocalFileChanged(f"{job.item.local} changed while it was being uploaded.")
    finally:
        os.close(fd)
    # Hashed here, in the worker thread, so the event loop never stalls on a part.
    return crc32c(view)


def verify_parts(job: _Job, parts: Mapping[int, PartInfo]) -> bool:
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
    value = 0
    with open(path, "rb") as f:
        while chunk := f.read(_SLICE):
            value = crc32c(chunk, value)
    return value


def _write_journal(
    store: JournalStore, key: str, template: Journal, parts: Mapping[int, PartInfo]
) -> None:
    journal = dataclasses.replace(
        template, parts={n: [p.etag, p.size, p.crc32c] for n, p in parts.items()}
    )
    store.save(key, journal)


class _UploaderBase:
    """State and outcomes shared by the single-PUT and the multipart paths."""

    # A running upload rewrites its journal (every part so far) once this many parts finished
    # unjournaled or this many seconds passed: rewriting it after every part made the cost
    # quadratic in the parts. A finished part missing from the journal is only sent again on
    # resume (resumed parts are re-read and checked against their CRC-32C anyway).
    _JOURNAL_EVERY = 64
    _JOURNAL_INTERVAL = 1.0

    def __init__(
        self,
        api: api_.Requester,
        storage: Storage,
        *,
        space: str,
        config: TransferConfig,
        journals: JournalStore,
        scope: str,
        overwrite: bool = False,
        skip_existing: bool = False,
        fail_fast: bool = False,
        metadata: Mapping[str, str] | None = None,
        on_cancel: OnCancel = "abort",
        progress: ProgressCallback | None = None,
        scheduler: Scheduler | None = None,
    ) -> None:
        self.api = api
        self.storage = storage
        self.space = space
        self.config = config
        self.journals = journals
        self.scope = scope
        self.overwrite = overwrite
        self.skip_existing = skip_existing
        self.fail_fast = fail_fast
        self.metadata = dict(metadata or {})
        self.on_cancel = on_cancel
        self.progress_callback = progress
        # The client's scheduler when given: one budget over every concurrent transfer.
        if scheduler is None:
            scheduler = Scheduler(config.max_bytes_in_flight, config.max_concurrency)
        self.pool: BufferPool = scheduler.pool
        self.limiter = scheduler.limiter
        #: Object keys the committed files replaced (for the client to delete later).
        self.garbage: list[str] = []
        self._work: anyio.abc.TaskGroup | None = None
        self._to_complete: list[_Job] = []
        self._outstanding = 0
        self._producer_done = False
        self._complete_lock = anyio.Lock()
        self.progress = Progress(None, 0, 0)

    async def _object_size(self, key: str) -> int | None:
        try:
            return await self.storage.head(key)
        except StorageError:
            return None

    def _now(self) -> float:
        """The clock of the journal's throttle (monotonic; tests override it)."""
        return time.monotonic()

    async def _save_journal(self, job: _Job, *, force: bool = False) -> None:
        """Journal the job's parts: at once when ``force``, else as a part that just finished.

        The write (serialising, fsync, rename) runs in a worker thread; the loop only copies
        the part map (a shallow copy) when a write is due.
        """
        if job.journal is None or job.journal_key is None:
            return
        if job.journal_lock is None:
            job.journal_lock = anyio.Lock()
        if not force:
            job.journal_unsaved += 1
            due = (
                job.journal_unsaved >= self._JOURNAL_EVERY
                or self._now() - job.journal_saved_at >= self._JOURNAL_INTERVAL
            )
            if not due or job.journal_lock.locked():
                return  # a later part (or the forced write at the end) journals it
        async with job.journal_lock:
            if job.journal is None:
                return
            job.journal_unsaved = 0
            job.journal_saved_at = self._now()
            args = (self.journals, job.journal_key, job.journal, dict(job.parts))
            try:
                await anyio.to_thread.run_sync(_write_journal, *args)
            except OSError as exc:
                # Only resuming needs the journal; the upload itself goes on.
                logger.warning("Cannot write the resume journal of %s: %s", job.item.local, exc)

    async def _forget_journal(self, job: _Job) -> None:
        if job.journal_key is not None:
            await anyio.to_thread.run_sync(self.journals.delete, job.journal_key)

    # -- outcomes -------------------------------------------------------------------------------

    async def _succeeded(self, job: _Job, remote: api_.RemoteFile | None) -> None:
        job.done = True
        if remote is not None:
            self.garbage.extend(remote.garbage)
        await self._forget_journal(job)
        job.result.status = "uploaded"
        job.result.checksum = (remote.checksum if remote else None) or crc32c_hex(job.crc)
        job.result.error = None
        await self.progress.emit("done", job.result)

    async def _finish_failed(self, job: _Job) -> None:
        if job.done:
            return
        job.done = True
        with anyio.CancelScope(shield=True):
            committed = await self._abort_job(job)
            if committed:
                # The complete went through though its answer was lost (or cancelled).
                await self._succeeded(job, None)
                return
        job.result.status = "failed"
        job.result.error = job.error
        await self.progress.emit("failed", job.result)
        if self.fail_fast and self._work is not None:
            self._work.cancel_scope.cancel()

    async def _abort_job(self, job: _Job) -> bool:
        """Abort the job's upload; True if the server says it was committed after all."""
        upload = job.upload
        if upload is None:
            await self._forget_journal(job)
            return False
        if job.storage_upload_id is not None and not job.stored:
            await self._abort_multipart(upload.object_key, job.storage_upload_id)
        outcome = await abort_checked(self.api, upload.id)
        if outcome == "completed" and job.stored:
            return True
        if outcome == "aborted":
            # Nothing references the object now; an ambiguous PUT may have stored it anyway.
            await self._delete_object(upload.object_key)
            await self._forget_journal(job)
        else:
            # The server may reference the object: keep it and the journal (a later run or the
            # server's expiry of pending uploads settles it).
            await self._save_journal(job, force=True)
            logger.warning(
                "Could not confirm the abort of upload %s of %s; its stored bytes are kept.",
                upload.id,
                job.item.local,
            )
        return False

    async def _abort_multipart(self, object_key: str, storage_upload_id: str) -> None:
        with contextlib.suppress(JetrawError):
            await with_retries(
                self.config.retries,
                lambda: self.storage.abort_multipart(object_key, storage_upload_id),
            )

    async def _delete_object(self, object_key: str) -> None:
        with contextlib.suppress(JetrawError):
            await self.storage.delete(object_key)

    async def _abort_old(self, old: Journal) -> bool:
        """Abort a journaled upload (server and storage); True once nothing of it is left."""
        await self._abort_multipart(old.object_key, old.storage_upload_id)
        outcome = await abort_checked(self.api, old.upload_id)
        if outcome == "aborted":
            await self._delete_object(old.object_key)
        return outcome != "unknown"

    async def _report_failure(self, job: _Job) -> None:
        job.done = True
        job.result.status = "failed"
        job.result.error = job.error
        await self.progress.emit("failed", job.result)
