"""Small files: one PUT each, their uploads created and committed in batches.

The uploads of a batch of small files are created with one call; each file is read into a
budget buffer and stored with one PUT; stored files are committed in batches by a completer
task, when a batch is full, when nothing else is in flight, or when the oldest has waited
``_COMPLETE_DELAY`` (visibility latency).
"""

from __future__ import annotations

import mmap

import anyio
import anyio.abc
import anyio.to_thread

from jetraw._api import BatchItem
from jetraw._exceptions import JetrawError
from jetraw._transfer._commit import complete_checked, is_definitive
from jetraw._transfer._context import UploadContext
from jetraw._transfer._job import UploadJob, read_part
from jetraw._transfer._retry import with_retries

__all__ = ["SinglePut"]

#: Longest a stored small file waits for its batch to be committed, in seconds.
_COMPLETE_DELAY = 0.5


class SinglePut:
    """The single-request strategy of one upload call."""

    def __init__(self, ctx: UploadContext) -> None:
        self.ctx = ctx
        self.to_complete: list[UploadJob] = []
        #: Set by the producer once every job is dispatched: the completer may stop then.
        self.producer_done = False
        self._complete_lock = anyio.Lock()

    async def dispatch(self, jobs: list[UploadJob], work: anyio.abc.TaskGroup) -> None:
        """Create the uploads of ``jobs`` and start storing each (waiting for budget)."""
        ctx = self.ctx
        if not jobs:
            return
        for job in jobs:
            await ctx.progress.emit("started", job.result)
        opts = ctx.options
        if len(jobs) == 1:
            job = jobs[0]
            try:
                job.upload = await ctx.api.create_upload(
                    ctx.space,
                    job.item.path,
                    job.size,
                    overwrite=opts.overwrite,
                    metadata=opts.metadata,
                )
            except JetrawError as exc:
                job.fail(exc)
        else:
            try:
                answers = await ctx.api.batch_create_uploads(
                    ctx.space, [(j.item.path, j.size, opts.overwrite, opts.metadata) for j in jobs]
                )
            except JetrawError as exc:
                answers = [BatchItem(None, exc)] * len(jobs)
            for job, answer in zip(jobs, answers, strict=True):
                if answer.error is not None:
                    job.fail(answer.error)
                else:
                    job.upload = answer.value
        for job in jobs:
            if job.error is not None:
                await ctx.finish_failed(job)
                continue
            buffer = await ctx.pool.acquire(job.size)
            ctx.outstanding += 1
            work.start_soon(self._put, job, buffer)

    async def _put(self, job: UploadJob, buffer: mmap.mmap) -> None:
        ctx = self.ctx
        size = job.size
        view = memoryview(buffer)[:size]
        sent = False  # the request succeeded: no transport holds the buffer any more
        try:
            async with ctx.limiter:
                crc = await anyio.to_thread.run_sync(read_part, job, view, 0)
                assert job.upload is not None
                key = job.upload.object_key
                await with_retries(
                    ctx.config.attempts,
                    lambda: ctx.storage.put_object(
                        key, view, crc32c=crc, on_bytes=ctx.progress.add_bytes
                    ),
                    what=f"writing {key}",
                )
            sent = True
            job.crc, job.stored = crc, True
            job.sent = job.result.bytes_sent = size
            self.to_complete.append(job)
        except Exception as exc:
            job.fail(exc)
        finally:
            view.release()
            if sent:
                ctx.pool.release(buffer, size)
            else:  # failed or cancelled: its bytes may still be in a transport
                ctx.pool.discard(buffer, size)
            ctx.outstanding -= 1
        if job.error is not None:
            await ctx.finish_failed(job)

    async def completer(self) -> None:
        """Commit stored files in batches until every job is dispatched and settled."""
        waiting_since: float | None = None
        while True:
            await anyio.sleep(0.02)
            if not self.to_complete:
                waiting_since = None
                if self.producer_done and self.ctx.outstanding == 0:
                    return
                continue
            now = anyio.current_time()
            waiting_since = now if waiting_since is None else waiting_since
            if (
                len(self.to_complete) >= self.ctx.config.batch_size
                or self.ctx.outstanding == 0
                or now - waiting_since >= _COMPLETE_DELAY
            ):
                waiting_since = None
                await self.flush()

    async def flush(self) -> None:
        """Commit every stored file now."""
        ctx = self.ctx
        async with self._complete_lock:
            jobs, self.to_complete = self.to_complete, []
            for start in range(0, len(jobs), ctx.config.batch_size):
                chunk = jobs[start : start + ctx.config.batch_size]
                answers: list[BatchItem] | None = None
                if len(chunk) > 1:
                    items = [(j.upload.id, j.size, j.crc) for j in chunk if j.upload is not None]
                    try:
                        answers = await ctx.api.batch_complete(ctx.space, items)
                    except Exception as exc:
                        if is_definitive(exc):
                            answers = [BatchItem(None, exc)] * len(chunk)
                unreachable: BaseException | None = None
                for i, job in enumerate(chunk):
                    answer = answers[i] if answers is not None else None
                    if unreachable is not None and answer is None:
                        # The batch and one file alone failed without an answer: trying each
                        # other file would cost the same timeouts again, file after file. They
                        # fail now; their abort (finish_failed) finds any that committed.
                        answer = BatchItem(None, unreachable)
                    elif answer is None or (
                        answer.error is not None and not is_definitive(answer.error)
                    ):
                        # Alone, or the batch's answer says nothing of what was committed.
                        answer = await self._complete_one(job)
                        if (
                            answers is None
                            and len(chunk) > 1
                            and answer.error is not None
                            and not is_definitive(answer.error)
                        ):
                            unreachable = answer.error
                    if answer.error is not None:
                        job.fail(answer.error)
                        await ctx.finish_failed(job)
                    else:
                        await ctx.succeeded(job, answer.value)

    async def _complete_one(self, job: UploadJob) -> BatchItem:
        assert job.upload is not None
        try:
            remote = await complete_checked(
                self.ctx.api, job.upload.id, job.size, job.crc, self.ctx.space
            )
        except Exception as exc:
            return BatchItem(None, exc)
        return BatchItem(remote, None)
