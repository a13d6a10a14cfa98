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

import mmap
import os
from collections.abc import Sequence

import anyio
import anyio.to_thread

from jetraw import _files_api as api_
from jetraw._crc import crc32c_hex
from jetraw._exceptions import JetrawError, LocalPathNotFoundError, NotFoundError
from jetraw._transfer._commit import complete_checked, is_definitive
from jetraw._transfer._results import FileTransfer, Progress, UploadResult
from jetraw._transfer._retry import with_retries
from jetraw._transfer._upload_base import OnCancel, UploadItem, _Job, file_crc, read_part
from jetraw._transfer._upload_multipart import _MultipartUploader

__all__ = ["OnCancel", "UploadItem", "Uploader"]

#: Longest a stored small file waits for its batch to be committed, in seconds.
_COMPLETE_DELAY = 0.5


class Uploader(_MultipartUploader):
    """Uploads files into one space. Build one per call of ``upload``."""

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
            except FileNotFoundError as exc:
                missing = LocalPathNotFoundError(f"No such local file: {job.item.local}")
                missing.__cause__ = exc
                job.fail(missing)
                continue
            except OSError as exc:
                job.fail(exc)
                continue
            job.size, job.mtime_ns, job.ctime_ns = st.st_size, st.st_mtime_ns, st.st_ctime_ns
            job.ino = st.st_ino
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
            local_crc = await anyio.to_thread.run_sync(file_crc, job.item.local)
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

    # -- single PUT -----------------------------------------------------------------------------

    async def _put_unit(self, job: _Job, buffer: mmap.mmap) -> None:
        size = job.size
        view = memoryview(buffer)[:size]
        try:
            async with self.limiter:
                crc = await anyio.to_thread.run_sync(read_part, job, view, 0)
                assert job.upload is not None
                key = job.upload.object_key
                await with_retries(
                    self.config.retries,
                    lambda: self.storage.put_object(
                        key, view, crc32c=crc, on_bytes=self.progress.add_bytes
                    ),
                )
            job.crc, job.stored = crc, True
            job.sent = job.result.bytes_sent = size
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
                answers: list[api_.BatchItem] | None = None
                if len(chunk) > 1:
                    items = [(j.upload.id, j.size, j.crc) for j in chunk if j.upload is not None]
                    try:
                        answers = await api_.batch_complete(self.api, self.space, items)
                    except Exception as exc:
                        if is_definitive(exc):
                            answers = [api_.BatchItem(None, exc)] * len(chunk)
                for i, job in enumerate(chunk):
                    answer = answers[i] if answers is not None else None
                    if answer is None or (
                        answer.error is not None and not is_definitive(answer.error)
                    ):
                        # Alone, or the batch's answer says nothing of what was committed.
                        answer = await self._complete_one(job)
                    if answer.error is not None:
                        job.fail(answer.error)
                        await self._finish_failed(job)
                    else:
                        await self._succeeded(job, answer.value)

    async def _complete_one(self, job: _Job) -> api_.BatchItem:
        assert job.upload is not None
        try:
            remote = await complete_checked(self.api, job.upload.id, job.size, job.crc, self.space)
        except Exception as exc:
            return api_.BatchItem(None, exc)
        return api_.BatchItem(remote, None)

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
                await self._save_journal(job, force=True)
                # Neither done nor failed for good: listeners learn it can be resumed.
                await self.progress.emit("kept", job.result)
                continue
            if job.error is None:
                job.fail(
                    cancelled
                    if not self.fail_fast
                    else JetrawError("Not uploaded: an earlier file failed (fail_fast).")
                )
            await self._finish_failed(job)
