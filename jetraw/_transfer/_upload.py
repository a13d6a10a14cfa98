"""The upload engine: one scheduler over files and parts.

A producer walks the files in order; each unit of work (a small file, or one part of a large one)
first takes its bytes from the :class:`BufferPool` (the global byte budget), which blocks the
producer when the budget is spent, then runs as a task that holds a request slot (the global
concurrency limit) while it reads into its buffer and sends. That is a sliding window over all
files: the next file starts as soon as the budget allows, interleaving with a large file's parts.

A file becomes visible only when the state server completes its upload. Any failure aborts the
upload (storage multipart + state-server upload) in a cancellation-shielded block; a cancelled
multipart upload is aborted too, unless ``on_cancel="keep"``, which leaves it to be resumed from
the journal by the next run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import mmap
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import anyio
import anyio.to_thread

from jetraw import _files_api as api_
from jetraw._crc import crc32c, crc32c_combine, crc32c_hex
from jetraw._exceptions import (
    IntegrityError,
    JetrawError,
    NotFoundError,
    StorageError,
    UploadStateError,
)
from jetraw._storage import PartInfo, Storage
from jetraw._transfer._budget import BufferPool
from jetraw._transfer._config import TransferConfig, part_count, plan_part_size
from jetraw._transfer._journal import Journal, JournalStore
from jetraw._transfer._results import FileTransfer, Progress, ProgressCallback, UploadResult
from jetraw._transfer._retry import with_retries

__all__ = ["UploadItem", "Uploader"]

OnCancel = Literal["abort", "keep"]

logger = logging.getLogger("jetraw.transfer")

#: Longest a stored small file waits for its batch to be committed, in seconds.
_COMPLETE_DELAY = 0.5


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
        self.journal: Journal | None = None
        self.sent = 0  # bytes stored by this run (resumed parts excluded)
        self.done = False

    def fail(self, exc: BaseException) -> None:
        if self.error is None:
            self.error = exc

    def part_len(self, number: int) -> int:
        if number < self.nparts:
            return self.part_size
        return self.size - (self.nparts - 1) * self.part_size


class _LocalFileChanged(IntegrityError):
    pass


def _read_into(job: _Job, view: memoryview, offset: int) -> None:
    fd = os.open(job.item.local, os.O_RDONLY)
    try:
        st = os.fstat(fd)
        if st.st_size != job.size or st.st_mtime_ns != job.mtime_ns:
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
        st = os.fstat(fd)
        if st.st_size != job.size or st.st_mtime_ns != job.mtime_ns:
            raise _LocalFileChanged(f"{job.item.local} changed while it was being uploaded.")
    finally:
        os.close(fd)


class Uploader:
    """Uploads files into one space. Build one per call of ``upload``."""

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
        self.pool = BufferPool(config.max_bytes_in_flight)
        self.limiter = anyio.CapacityLimiter(config.max_concurrency)
        #: Object keys the committed files replaced (for the client to delete later).
        self.garbage: list[str] = []
        self._to_complete: list[_Job] = []
        self._outstanding = 0
        self._producer_done = False
        self._complete_lock = anyio.Lock()
        self._work: anyio.abc.TaskGroup | None = None
        self.progress = Progress(None, 0, 0)

    # -- entry point ----------------------------------------------------------------------------

    async def run(self, items: Sequence[UploadItem]) -> UploadResult:
        result = UploadResult([FileTransfer(i.local, f"/{self.space}/{i.path}") for i in items])
        jobs = [_Job(i, r) for i, r in zip(items, result.files, strict=True)]
        await anyio.to_thread.run_sync(self._stat_all, jobs)
        self.progress = Progress(
            self.progress_callback, len(jobs), sum(j.size for j in jobs if j.error is None)
        )
        for job in jobs:
            if job.error is not None:
                await self._report_failure(job)
        if self.fail_fast and any(j.error is not None for j in jobs):
            for job in jobs:
                if job.error is None:
                    job.fail(JetrawError("Not uploaded: an earlier file failed (fail_fast)."))
                    await self._report_failure(job)
        if self.skip_existing:
            await self._mark_existing([j for j in jobs if j.error is None])
        todo = [j for j in jobs if j.error is None and not j.done]
        try:
            async with anyio.create_task_group() as outer:
                outer.start_soon(self.progress.ticker)
                async with anyio.create_task_group() as work:
                    self._work = work
                    work.start_soon(self._completer)
                    await self._produce(todo, work)
                outer.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await self._cleanup(todo)
            self.pool.clear()
        await self.progress.emit("bytes")
        return result

    # -- preparation ----------------------------------------------------------------------------

    def _stat_all(self, jobs: list[_Job]) -> None:
        for job in jobs:
            try:
                st = os.stat(job.item.local)
                if not os.path.isfile(job.item.local):
                    raise IsADirectoryError(f"{job.item.local} is not a regular file.")
            except OSError as exc:
                job.fail(exc)
                continue
            job.size, job.mtime_ns = st.st_size, st.st_mtime_ns
            job.result.size = job.size
            job.multipart = self.config.is_multipart(job.size)

    async def _mark_existing(self, jobs: list[_Job]) -> None:
        """``skip_existing``: files already there with the same size and CRC-32C are skipped.

        Many files are looked up with one listing of their common directory, not a call each.
        """
        known: dict[str, api_.RemoteFile] | None = None
        if len(jobs) > 10:
            common = os.path.commonpath([j.item.path for j in jobs]) if jobs else ""
            if common in {j.item.path for j in jobs}:
                common = common.rpartition("/")[0]
            prefix = f"{common}/" if common else ""
            known = {}
            async for entry in api_.iter_files(self.api, self.space, prefix):
                if isinstance(entry, api_.RemoteFile):
                    known[entry.path] = entry
        for job in jobs:
            remote: api_.RemoteFile | api_.RemoteDirectory | None
            if known is not None:
                remote = known.get(job.item.path)
            else:
                try:
                    remote = await api_.stat(self.api, self.space, job.item.path)
                except NotFoundError:
                    remote = None
            if not isinstance(remote, api_.RemoteFile) or remote.size != job.size:
                continue
            local_crc = await anyio.to_thread.run_sync(_file_crc, job.item.local)
            if remote.crc32c == local_crc:
                job.done = True
                job.result.status = "skipped"
                job.result.checksum = crc32c_hex(local_crc)
                await self.progress.emit("done", job.result)

    # -- producer -------------------------------------------------------------------------------

    async def _produce(self, jobs: list[_Job], work: anyio.abc.TaskGroup) -> None:
        try:
            batch: list[_Job] = []
            for job in jobs:
                if job.multipart:
                    await self._dispatch_small(batch, work)
                    batch = []
                    await self._dispatch_multipart(job, work)
                else:
                    batch.append(job)
                    if len(batch) >= self.config.batch_size:
                        await self._dispatch_small(batch, work)
                        batch = []
            await self._dispatch_small(batch, work)
        finally:
            self._producer_done = True

    async def _dispatch_small(self, jobs: list[_Job], work: anyio.abc.TaskGroup) -> None:
        if not jobs:
            return
        for job in jobs:
            await self.progress.emit("started", job.result)
        if len(jobs) == 1:
            job = jobs[0]
            try:
                job.upload = await api_.create_upload(
                    self.api,
                    self.space,
                    job.item.path,
                    job.size,
                    overwrite=self.overwrite,
                    metadata=self.metadata,
                )
            except JetrawError as exc:
                job.fail(exc)
        else:
            try:
                answers = await api_.batch_create_uploads(
                    self.api,
                    self.space,
                    [(j.item.path, j.size, self.overwrite, self.metadata) for j in jobs],
                )
            except JetrawError as exc:
                answers = [api_.BatchItem(None, exc)] * len(jobs)
            for job, answer in zip(jobs, answers, strict=True):
                if answer.error is not None:
                    job.fail(answer.error)
                else:
                    job.upload = answer.value
        for job in jobs:
            if job.error is not None:
                await self._finish_failed(job)
                continue
            buffer = await self.pool.acquire(job.size)
            self._outstanding += 1
            work.start_soon(self._put_unit, job, buffer)

    async def _dispatch_multipart(self, job: _Job, work: anyio.abc.TaskGroup) -> None:
        await self.progress.emit("started", job.result)
        try:
            await self._start_multipart(job)
        except Exception as exc:
            job.fail(exc)
            await self._finish_failed(job)
            return
        job.pending = 1  # the producer's hold, so the job cannot finish mid-dispatch
        for number in range(1, job.nparts + 1):
            if job.error is not None:
                break
            if number in job.parts:
                continue
            size = job.part_len(number)
            buffer = await self.pool.acquire(size)
            job.pending += 1
            self._outstanding += 1
            work.start_soon(self._part_unit, job, number, buffer, size)
        await self._unit_done(job)

    # -- multipart ------------------------------------------------------------------------------

    async def _start_multipart(self, job: _Job) -> None:
        job.part_size = plan_part_size(job.size, self.config)
        job.journal_key = await anyio.to_thread.run_sync(
            JournalStore.key, self.scope, self.space, job.item.path, job.item.local
        )
        old = self.journals.load(job.journal_key)
        if old is not None:
            if await self._resume(job, old):
                return
            with anyio.CancelScope(shield=True):
                await self._abort_ids(old.upload_id, old.object_key, old.storage_upload_id)
            self.journals.delete(job.journal_key)
        job.nparts = part_count(job.size, job.part_size)
        job.upload = await api_.create_upload(
            self.api,
            self.space,
            job.item.path,
            job.size,
            overwrite=self.overwrite,
            metadata=self.metadata,
            multipart=True,
        )
        upload = job.upload
        sid = await with_retries(
            self.config.retries,
            lambda: self.storage.create_multipart(upload.object_key, part_size=job.part_size),
        )
        job.storage_upload_id = sid
        job.journal = Journal(
            upload_id=job.upload.id,
            storage_upload_id=sid,
            object_key=job.upload.object_key,
            part_size=job.part_size,
            size=job.size,
            mtime_ns=job.mtime_ns,
            expires_at=job.upload.expires_at,
        )
        await self._save_journal(job)
        # Informational only (listing, server-side cleanup): the journal has it too.
        with contextlib.suppress(JetrawError):
            await api_.set_storage_upload_id(self.api, upload.id, sid)

    async def _resume(self, job: _Job, old: Journal) -> bool:
        """Pick up a journaled upload of the same, unchanged file; False to start afresh."""
        if old.size != job.size or old.mtime_ns != job.mtime_ns:
            return False
        try:
            upload = await api_.get_upload(self.api, old.upload_id)
            if upload.status != "pending" or upload.path != job.item.path:
                return False
        except (NotFoundError, UploadStateError):
            return False
        job.upload, job.storage_upload_id, job.journal = upload, old.storage_upload_id, old
        job.part_size = old.part_size
        job.nparts = part_count(job.size, job.part_size)
        try:
            stored = await self.storage.list_parts(old.object_key, old.storage_upload_id)
        except StorageError:
            # Killed between assembling the object and committing it: every part is journaled
            # and the object is there, so only the commit is left.
            if len(old.parts) == job.nparts and await self._object_size(old.object_key) == job.size:
                for number, (etag, size, crc) in old.parts.items():
                    job.parts[number] = PartInfo(number, etag, size, crc)
                job.stored = True
                return True
            job.upload = job.journal = None
            return False
        for part in stored:
            known = old.parts.get(part.number)
            crc = part.crc32c if part.crc32c is not None else (known[2] if known else None)
            if (
                crc is not None
                and part.number <= job.nparts
                and part.size == job.part_len(part.number)
                and (known is None or known[0] == part.etag)
            ):
                job.parts[part.number] = PartInfo(part.number, part.etag, part.size, crc)
        return True

    async def _save_journal(self, job: _Job) -> None:
        if job.journal is None or job.journal_key is None:
            return
        job.journal.parts = {n: [p.etag, p.size, p.crc32c] for n, p in job.parts.items()}
        payload = Journal.from_json(job.journal.to_json())
        try:
            await anyio.to_thread.run_sync(self.journals.save, job.journal_key, payload)
        except OSError as exc:
            # Only resuming needs the journal; the upload itself goes on.
            logger.warning("Cannot write the resume journal of %s: %s", job.item.local, exc)

    async def _part_unit(self, job: _Job, number: int, buffer: mmap.mmap, size: int) -> None:
        view = memoryview(buffer)[:size]
        try:
            if job.error is None:
                async with self.limiter:
                    await anyio.to_thread.run_sync(
                        _read_into, job, view, (number - 1) * job.part_size
                    )
                    crc = crc32c(view)
                    assert job.upload is not None
                    assert job.storage_upload_id is not None
                    upload, sid = job.upload, job.storage_upload_id
                    info = await with_retries(
                        self.config.retries,
                        lambda: self.storage.upload_part(
                            upload.object_key,
                            sid,
                            number,
                            view,
                            crc32c=crc,
                            on_bytes=self.progress.add_bytes,
                        ),
                    )
                job.parts[number] = PartInfo(number, info.etag, size, crc)
                job.sent += size
                await self._save_journal(job)
        except Exception as exc:
            job.fail(exc)
        finally:
            view.release()
            self.pool.release(buffer, size)
            self._outstanding -= 1
        await self._unit_done(job)

    async def _unit_done(self, job: _Job) -> None:
        job.pending -= 1
        if job.pending > 0:
            return
        if job.error is None and len(job.parts) == job.nparts:
            try:
                await self._finish_multipart(job)
                return
            except Exception as exc:
                job.fail(exc)
        if job.error is None:  # pragma: no cover - defensive: all dispatched but parts missing
            job.fail(StorageError(f"Parts of {job.item.local} are missing."))
        await self._finish_failed(job)

    async def _finish_multipart(self, job: _Job) -> None:
        assert job.upload is not None
        assert job.storage_upload_id is not None
        upload, sid = job.upload, job.storage_upload_id
        parts = [job.parts[n] for n in range(1, job.nparts + 1)]
        total = 0
        for p in parts:
            total = crc32c_combine(total, p.crc32c or 0, p.size)
        job.crc = total
        attempt = 0

        async def complete() -> None:
            nonlocal attempt
            attempt += 1
            try:
                await self.storage.complete_multipart(upload.object_key, sid, parts, crc32c=total)
            except StorageError:
                # A retried complete whose first try succeeded (answer lost) finds no upload:
                # the object being there with the right size means it did complete.
                if attempt > 1 and await self._object_size(upload.object_key) == job.size:
                    return
                raise

        if not job.stored:
            async with self.limiter:
                await with_retries(self.config.retries, complete)
            job.stored = True
        remote = await api_.complete_upload(self.api, upload.id, job.size, total, self.space)
        await self._succeeded(job, remote)

    async def _object_size(self, key: str) -> int | None:
        try:
            return await self.storage.head(key)
        except StorageError:
            return None

    # -- single PUT -----------------------------------------------------------------------------

    async def _put_unit(self, job: _Job, buffer: mmap.mmap) -> None:
        size = job.size
        view = memoryview(buffer)[:size]
        try:
            async with self.limiter:
                await anyio.to_thread.run_sync(_read_into, job, view, 0)
                crc = crc32c(view)
                assert job.upload is not None
                key = job.upload.object_key
                await with_retries(
                    self.config.retries,
                    lambda: self.storage.put_object(
                        key, view, crc32c=crc, on_bytes=self.progress.add_bytes
                    ),
                )
            job.crc, job.stored = crc, True
            job.sent = size
            self._to_complete.append(job)
        except Exception as exc:
            job.fail(exc)
        finally:
            view.release()
            self.pool.release(buffer, size)
            self._outstanding -= 1
        if job.error is not None:
            await self._finish_failed(job)

    async def _completer(self) -> None:
        """Commit stored small files in batches: when a batch is full, when nothing else is in
        flight, or when the oldest has waited ``_COMPLETE_DELAY`` (visibility latency)."""
        waiting_since: float | None = None
        while True:
            await anyio.sleep(0.02)
            if not self._to_complete:
                waiting_since = None
                if self._producer_done and self._outstanding == 0:
                    return
                continue
            now = anyio.current_time()
            waiting_since = now if waiting_since is None else waiting_since
            if (
                len(self._to_complete) >= self.config.batch_size
                or self._outstanding == 0
                or now - waiting_since >= _COMPLETE_DELAY
            ):
                waiting_since = None
                await self._flush()

    async def _flush(self) -> None:
        async with self._complete_lock:
            jobs, self._to_complete = self._to_complete, []
            for start in range(0, len(jobs), self.config.batch_size):
                chunk = jobs[start : start + self.config.batch_size]
                items = [(j.upload.id, j.size, j.crc) for j in chunk if j.upload is not None]
                answers: list[api_.BatchItem]
                if len(chunk) == 1:
                    try:
                        value = await api_.complete_upload(self.api, *items[0], self.space)
                        answers = [api_.BatchItem(value, None)]
                    except JetrawError as exc:
                        answers = [api_.BatchItem(None, exc)]
                else:
                    try:
                        answers = await api_.batch_complete(self.api, self.space, items)
                    except JetrawError as exc:
                        answers = [api_.BatchItem(None, exc)] * len(chunk)
                for job, answer in zip(chunk, answers, strict=True):
                    if answer.error is not None:
                        job.fail(answer.error)
                        await self._finish_failed(job)
                    else:
                        await self._succeeded(job, answer.value)

    # -- outcomes -------------------------------------------------------------------------------

    async def _succeeded(self, job: _Job, remote: api_.RemoteFile) -> None:
        job.done = True
        self.garbage.extend(remote.garbage)
        if job.journal_key is not None:
            self.journals.delete(job.journal_key)
        job.result.status = "uploaded"
        job.result.checksum = remote.checksum or crc32c_hex(job.crc)
        job.result.error = None
        await self.progress.emit("done", job.result)

    async def _finish_failed(self, job: _Job) -> None:
        if job.done:
            return
        job.done = True
        with anyio.CancelScope(shield=True):
            await self._abort_job(job)
        job.result.status = "failed"
        job.result.error = job.error
        await self.progress.emit("failed", job.result)
        if self.fail_fast and self._work is not None:
            self._work.cancel_scope.cancel()

    async def _abort_job(self, job: _Job) -> None:
        key = job.upload.object_key if job.upload is not None else None
        await self._abort_ids(
            job.upload.id if job.upload is not None else None,
            key,
            job.storage_upload_id if not job.stored else None,
        )
        if job.stored and key is not None:
            with contextlib.suppress(JetrawError):
                await self.storage.delete(key)
        if job.journal_key is not None:
            self.journals.delete(job.journal_key)

    async def _abort_ids(
        self, upload_id: str | None, object_key: str | None, storage_upload_id: str | None
    ) -> None:
        if storage_upload_id is not None and object_key is not None:
            with contextlib.suppress(JetrawError):
                await with_retries(
                    self.config.retries,
                    lambda: self.storage.abort_multipart(object_key, storage_upload_id),
                )
        if upload_id is not None:
            with contextlib.suppress(JetrawError):
                await api_.abort_upload(self.api, upload_id)

    async def _report_failure(self, job: _Job) -> None:
        job.done = True
        job.result.status = "failed"
        job.result.error = job.error
        await self.progress.emit("failed", job.result)

    async def _cleanup(self, jobs: list[_Job]) -> None:
        """After cancellation (or fail_fast): nothing half-done is left open, unless kept."""
        for job in jobs:
            if job.done:
                continue
            cancelled = anyio.get_cancelled_exc_class()("upload cancelled")
            if job.multipart and self.on_cancel == "keep" and job.upload is not None:
                job.fail(cancelled)
                job.result.status = "failed"
                job.result.error = job.error
                job.done = True
                continue
            if job.error is None:
                job.fail(
                    cancelled
                    if not self.fail_fast
                    else JetrawError("Not uploaded: an earlier file failed (fail_fast).")
                )
            await self._finish_failed(job)


def _file_crc(path: Path) -> int:
    value = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            value = crc32c(chunk, value)
    return value
