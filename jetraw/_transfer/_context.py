"""What the parts of one upload call share, and how an upload job ends.

A job ends committed (the file is visible) or failed. A failed job's upload is aborted on the
state server, and its stored bytes are deleted only once the server has confirmed the abort: an
upload whose complete was answered ambiguously may be committed, and then ends as uploaded.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Literal

import anyio
import anyio.abc

from jetraw._api import RemoteFile, StateServerAPI
from jetraw._crc import crc32c_hex
from jetraw._exceptions import InsufficientStorageError
from jetraw._storage import Storage
from jetraw._transfer._budget import Scheduler
from jetraw._transfer._commit import abort_checked
from jetraw._transfer._config import TransferConfig
from jetraw._transfer._errpath import name_user_path
from jetraw._transfer._job import UploadJob
from jetraw._transfer._journal import Journal, JournalStore
from jetraw._transfer._parts import abort_storage_upload, delete_object
from jetraw._transfer._results import Progress

__all__ = ["OnCancel", "UploadContext", "UploadOptions"]

OnCancel = Literal["abort", "keep"]

logger = logging.getLogger("jetraw.transfer")


@dataclasses.dataclass(frozen=True)
class UploadOptions:
    """What the caller of ``upload`` asked for."""

    overwrite: bool = False
    skip_existing: bool = False
    fail_fast: bool = False
    metadata: Mapping[str, str] = dataclasses.field(default_factory=dict)
    on_cancel: OnCancel = "abort"


class UploadContext:
    """The state, storage, budget and bookkeeping of one upload call into one space.

    Args:
        api: The state server.
        storage: The space's storage backend.
        space: The space name.
        config: Part sizes, concurrency, attempts.
        journals: Where resume journals are kept.
        scope: ``server|organisation``, part of every journal's key.
        options: What the caller asked for.
        scheduler: The client's byte budget and request limit (shared by its transfers).
    """

    def __init__(
        self,
        api: StateServerAPI,
        storage: Storage,
        *,
        space: str,
        config: TransferConfig,
        journals: JournalStore,
        scope: str,
        options: UploadOptions,
        scheduler: Scheduler,
    ) -> None:
        self.api = api
        self.storage = storage
        self.space = space
        self.config = config
        self.journals = journals
        self.scope = scope
        self.options = options
        self.pool = scheduler.pool
        self.limiter = scheduler.limiter
        self.progress = Progress(None, 0, 0)
        #: Object keys the committed files replaced (for the session to delete later).
        self.garbage: list[str] = []
        #: The task group of the run (``fail_fast`` cancels it).
        self.work: anyio.abc.TaskGroup | None = None
        #: Units of work (small files, parts) in flight.
        self.outstanding = 0
        #: The error that stopped the whole upload: the space's storage is full (ENOSPC/507).
        self.fatal: InsufficientStorageError | None = None

    # -- outcomes -------------------------------------------------------------------------------

    async def succeeded(self, job: UploadJob, remote: RemoteFile | None) -> None:
        job.done = True
        if remote is not None:
            self.garbage.extend(remote.garbage)
        await job.forget_journal()
        job.result.status = "uploaded"
        job.result.checksum = (remote.checksum if remote else None) or crc32c_hex(job.crc)
        job.result.error = None
        await self.progress.emit("done", job.result)

    async def finish_failed(self, job: UploadJob) -> None:
        """End a job that failed: abort its upload (shielded), then report it."""
        if job.done:
            return
        job.done = True
        with anyio.CancelScope(shield=True):
            if await self._abort_job(job):
                # The complete went through though its answer was lost (or cancelled).
                await self.succeeded(job, None)
                return
        job.result.status = "failed"
        name_user_path(job.error, job.upload.object_key if job.upload else None, job.result.remote)
        job.result.error = job.error
        await self.progress.emit("failed", job.result)
        if isinstance(job.error, InsufficientStorageError) and self.fatal is None:
            # Every other file would fail the same way: stop them, rather than fail each in turn.
            self.fatal = job.error
            if self.work is not None:
                self.work.cancel_scope.cancel()
        if self.options.fail_fast and self.work is not None:
            self.work.cancel_scope.cancel()

    async def report_failure(self, job: UploadJob) -> None:
        """Report a job that failed before anything was sent for it."""
        job.done = True
        job.result.status = "failed"
        job.result.error = job.error
        await self.progress.emit("failed", job.result)

    async def _abort_job(self, job: UploadJob) -> bool:
        """Abort the job's upload; True if the server says it was committed after all."""
        upload = job.upload
        if upload is None:
            await job.forget_journal()
            return False
        if job.storage_upload_id is not None and not job.stored:
            await abort_storage_upload(
                self.storage, upload.object_key, job.storage_upload_id, self.config.attempts
            )
        outcome = await abort_checked(self.api, upload.id)
        if outcome == "completed" and job.stored:
            return True
        if outcome == "aborted":
            # Nothing references the object now; an ambiguous PUT may have stored it anyway.
            await delete_object(self.storage, upload.object_key)
            await job.forget_journal()
        else:
            # The server may reference the object: keep it and the journal (a later run or the
            # server's expiry of pending uploads settles it).
            await job.save_journal(force=True)
            logger.warning(
                "Could not confirm the abort of upload %s of %s; its stored bytes are kept.",
                upload.id,
                job.item.local,
            )
        return False

    async def abort_journaled(self, old: Journal) -> bool:
        """Abort a journaled upload (server and storage); True once nothing of it is left."""
        await abort_storage_upload(
            self.storage, old.object_key, old.storage_upload_id, self.config.attempts
        )
        outcome = await abort_checked(self.api, old.upload_id)
        if outcome == "aborted":
            await delete_object(self.storage, old.object_key)
        return outcome != "unknown"
