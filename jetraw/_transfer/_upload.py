"""The upload engine: one scheduler over files and parts.

A producer walks the files in order; each unit of work (a small file, or one part of a large one)
first takes its bytes from the :class:`BufferPool` (the global byte budget), which blocks the
producer when the budget is spent, then runs as a task that holds a request slot (the global
concurrency limit) while it reads into its buffer and sends. That is a sliding window over all
files: the next file starts as soon as the budget allows, interleaving with a large file's parts.

Small files go through :class:`~jetraw._transfer._single.SinglePut`, large ones through
:class:`~jetraw._transfer._multipart.Multipart`; both end their jobs through the shared
:class:`~jetraw._transfer._context.UploadContext`.

A file becomes visible only when the state server completes its upload. Any failure aborts the
upload (storage multipart + state-server upload) in a cancellation-shielded block; a cancelled
multipart upload is aborted too, unless ``on_cancel="keep"``, which leaves it to be resumed from
the journal by the next run.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import anyio
import anyio.abc
import anyio.to_thread

from jetraw._api import RemoteDirectory, RemoteFile, StateServerAPI
from jetraw._crc import crc32c_hex
from jetraw._exceptions import JetrawError, LocalPathNotFoundError, NotFoundError
from jetraw._storage import Storage
from jetraw._transfer._budget import Scheduler
from jetraw._transfer._config import TransferConfig
from jetraw._transfer._context import UploadContext, UploadOptions
from jetraw._transfer._job import UploadItem, UploadJob, file_crc
from jetraw._transfer._journal import JournalStore
from jetraw._transfer._multipart import Multipart
from jetraw._transfer._results import FileTransfer, Progress, ProgressCallback, UploadResult
from jetraw._transfer._single import SinglePut

__all__ = ["Uploader"]

_FAIL_FAST = "Not uploaded: an earlier file failed (fail_fast)."


class Uploader:
    """Uploads files into one space. Build one per call of ``upload``.

    Args:
        api: The state server.
        storage: The space's storage backend.
        space: The space name.
        config: Part sizes, concurrency, attempts.
        journals: Where resume journals are kept.
        scope: ``server|organisation``, part of every journal's key.
        options: What the caller asked for.
        progress: Called (or awaited) with each progress event.
        scheduler: The client's byte budget and request limit (a private one if ``None``).
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
        options: UploadOptions | None = None,
        progress: ProgressCallback | None = None,
        scheduler: Scheduler | None = None,
    ) -> None:
        if scheduler is None:
            scheduler = Scheduler(config.max_bytes_in_flight, config.max_concurrency)
        self.ctx = UploadContext(
            api,
            storage,
            space=space,
            config=config,
            journals=journals,
            scope=scope,
            options=options or UploadOptions(),
            scheduler=scheduler,
        )
        self.progress_callback = progress
        self.single = SinglePut(self.ctx)
        self.multipart = Multipart(self.ctx)

    @property
    def garbage(self) -> list[str]:
        """Object keys the committed files replaced."""
        return self.ctx.garbage

    async def run(self, items: Sequence[UploadItem]) -> UploadResult:
        ctx = self.ctx
        result = UploadResult([FileTransfer(i.local, f"/{ctx.space}/{i.path}") for i in items])
        jobs = [UploadJob(i, r) for i, r in zip(items, result.files, strict=True)]
        await anyio.to_thread.run_sync(self._stat_all, jobs)
        ctx.progress = Progress(
            self.progress_callback, len(jobs), sum(j.size for j in jobs if j.error is None)
        )
        for job in jobs:
            if job.error is not None:
                await ctx.report_failure(job)
        if ctx.options.fail_fast and any(j.error is not None for j in jobs):
            for job in jobs:
                if job.error is None:
                    job.fail(JetrawError(_FAIL_FAST))
                    await ctx.report_failure(job)
        if ctx.options.skip_existing:
            await self._mark_existing([j for j in jobs if j.error is None])
        todo = [j for j in jobs if j.error is None and not j.done]
        try:
            async with anyio.create_task_group() as outer:
                outer.start_soon(ctx.progress.ticker)
                async with anyio.create_task_group() as work:
                    ctx.work = work
                    work.start_soon(self.single.completer)
                    await self._produce(todo, work)
                outer.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await self.cleanup(todo)
            ctx.pool.clear()
        await ctx.progress.emit("bytes")
        return result

    # -- planning -------------------------------------------------------------------------------

    def _stat_all(self, jobs: list[UploadJob]) -> None:
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
            job.record(st)
            job.multipart = self.ctx.config.is_multipart(job.size)

    async def _mark_existing(self, jobs: list[UploadJob]) -> None:
        """``skip_existing``: files already there with the same size and CRC-32C are skipped.

        Many files are looked up with one listing of their common directory, not a call each.
        """
        ctx = self.ctx
        known: dict[str, RemoteFile] | None = None
        if len(jobs) > 10:
            common = os.path.commonpath([j.item.path for j in jobs]) if jobs else ""
            if common in {j.item.path for j in jobs}:
                common = common.rpartition("/")[0]
            prefix = f"{common}/" if common else ""
            known = {}
            async for entry in ctx.api.iter_files(ctx.space, prefix):
                if isinstance(entry, RemoteFile):
                    known[entry.path] = entry
        for job in jobs:
            remote: RemoteFile | RemoteDirectory | None
            if known is not None:
                remote = known.get(job.item.path)
            else:
                try:
                    remote = await ctx.api.stat(ctx.space, job.item.path)
                except NotFoundError:
                    remote = None
            if not isinstance(remote, RemoteFile) or remote.size != job.size:
                continue
            local_crc = await anyio.to_thread.run_sync(file_crc, job.item.local)
            if remote.crc32c == local_crc:
                job.done = True
                job.result.status = "skipped"
                job.result.checksum = crc32c_hex(local_crc)
                await ctx.progress.emit("done", job.result)

    # -- producer -------------------------------------------------------------------------------

    async def _produce(self, jobs: list[UploadJob], work: anyio.abc.TaskGroup) -> None:
        try:
            batch: list[UploadJob] = []
            for job in jobs:
                if job.multipart:
                    await self.single.dispatch(batch, work)
                    batch = []
                    await self.multipart.dispatch(job, work)
                else:
                    batch.append(job)
                    if len(batch) >= self.ctx.config.batch_size:
                        await self.single.dispatch(batch, work)
                        batch = []
            await self.single.dispatch(batch, work)
        finally:
            self.single.producer_done = True

    async def cleanup(self, jobs: list[UploadJob]) -> None:
        """After cancellation (or fail_fast): nothing half-done is left open, unless kept."""
        ctx = self.ctx
        for job in jobs:
            if job.done:
                continue
            cancelled = anyio.get_cancelled_exc_class()("upload cancelled")
            if job.multipart and ctx.options.on_cancel == "keep" and job.upload is not None:
                job.fail(cancelled)
                job.result.status = "failed"
                job.result.error = job.error
                job.done = True
                await job.save_journal(force=True)
                # Neither done nor failed for good: listeners learn it can be resumed.
                await ctx.progress.emit("kept", job.result)
                continue
            if job.error is None and ctx.fatal is not None:
                job.fail(JetrawError(f"Not uploaded: the upload stopped: {ctx.fatal}"))
            elif job.error is None:
                job.fail(cancelled if not ctx.options.fail_fast else JetrawError(_FAIL_FAST))
            await ctx.finish_failed(job)
