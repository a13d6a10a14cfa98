"""Small files: one PUT each, their uploads created and committed in batches.

The uploads of a batch of small files are created with one call and queued. A few store workers
(as many as requests may be in flight) drain the queue: each takes a run of files that fit in
``_READ_BYTES``, takes one budget buffer for all of them, reads and hashes them in one
worker-thread call, then PUTs them one after the other, each holding a request slot. So the
budget held by small files is about the concurrency times ``_READ_BYTES`` (not the whole
budget's worth of files waiting for a slot), and a thread hop, a task and a buffer serve many
files. The producer stops creating uploads while two batches are queued (until less than one
is). Stored files are committed in batches by a completer task, when a batch is full, when
nothing else is in flight, or when the oldest has waited ``_COMPLETE_DELAY`` (visibility
latency).
"""

from __future__ import annotations

import collections

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
#: Bytes of files a store worker reads in one worker-thread call (one file may be larger).
_READ_BYTES = 1 << 20
#: Files a store worker reads in one worker-thread call, at most.
_READ_FILES = 16


def _read_all(jobs: list[UploadJob], views: list[memoryview]) -> list[int | Exception]:
    """Each job's file into its view: its CRC-32C, or the error of reading it (worker thread)."""
    out: list[int | Exception] = []
    for job, view in zip(jobs, views, strict=True):
        try:
            out.append(read_part(job, view, 0))
        except Exception as exc:
            out.append(exc)
    return out


class SinglePut:
    """The single-request strategy of one upload call."""

    def __init__(self, ctx: UploadContext) -> None:
        self.ctx = ctx
        self.to_complete: list[UploadJob] = []
        #: Set by the producer once every job is dispatched: the completer may stop then.
        self.producer_done = False
        self._complete_lock = anyio.Lock()
        self._queue: collections.deque[UploadJob] = collections.deque()
        self._workers = 0
        self._room = anyio.Event()

    async def dispatch(self, jobs: list[UploadJob], work: anyio.abc.TaskGroup) -> None:
        """Create the uploads of ``jobs`` and queue them for the store workers."""
        ctx = self.ctx
        if not jobs:
            return
        while len(self._queue) >= 2 * ctx.config.batch_size:  # enough queued: wait
            self._room = anyio.Event()
            await self._room.wait()
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
            ctx.outstanding += 1
            self._queue.append(job)
        while self._workers < min(ctx.config.max_concurrency, len(self._queue)):
            self._workers += 1
            work.start_soon(self._worker)

    def _take_run(self) -> list[UploadJob]:
        """The next files a worker reads together: a fair share of the queue, within bounds."""
        queue, ctx = self._queue, self.ctx
        limit = min(_READ_FILES, max(1, len(queue) // ctx.config.max_concurrency))
        budget = min(_READ_BYTES, max(1, ctx.pool.limit // ctx.config.max_concurrency))
        run = [queue.popleft()]
        total = run[0].size
        while queue and len(run) < limit and total + queue[0].size <= budget:
            total += queue[0].size
            run.append(queue.popleft())
        if len(queue) < ctx.config.batch_size:
            self._room.set()
        return run

    async def _worker(self) -> None:
        try:
            while self._queue:
                await self._store(self._take_run())
        finally:
            self._workers -= 1

    async def _store(self, jobs: list[UploadJob]) -> None:
        """Read ``jobs`` into one buffer in one worker-thread call, then PUT each."""
        ctx = self.ctx
        total = sum(j.size for j in jobs)
        failed: list[UploadJob] = []
        clean = True  # no request that may still hold a view of the buffer was abandoned
        buffer = None
        try:
            buffer = await ctx.pool.acquire(total)
            whole = memoryview(buffer)
            views, offset = [], 0
            for job in jobs:
                views.append(whole[offset : offset + job.size])
                offset += job.size
            try:
                crcs = await anyio.to_thread.run_sync(_read_all, jobs, views)
                await ctx.storage.prepare_puts(
                    [
                        (job.upload.object_key, crc)
                        for job, crc in zip(jobs, crcs, strict=True)
                        if job.upload is not None and not isinstance(crc, Exception)
                    ]
                )
                for job, view, crc in zip(jobs, views, crcs, strict=True):
                    if isinstance(crc, Exception):
                        job.fail(crc)
                        failed.append(job)
                        continue
                    try:
                        await self._put(job, view, crc)
                    except Exception as exc:
                        clean = False
                        job.fail(exc)
                        failed.append(job)
            except BaseException:
                clean = False  # cancelled: the PUT under way may still hold its view
                raise
            finally:
                for view in views:
                    view.release()
                whole.release()
        finally:
            ctx.outstanding -= len(jobs)
            if buffer is not None:
                if clean:
                    ctx.pool.release(buffer, total)
                else:  # a failed or cancelled request's bytes may still be in a transport
                    ctx.pool.discard(buffer, total)
        # Jobs never reached (cancelled) are settled by the uploader's cleanup.
        for job in failed:
            await ctx.finish_failed(job)

    async def _put(self, job: UploadJob, view: memoryview, crc: int) -> None:
        ctx = self.ctx
        assert job.upload is not None
        key = job.upload.object_key
        async with ctx.limiter:
            await with_retries(
                ctx.config.attempts,
                lambda: ctx.storage.put_object(
                    key, view, crc32c=crc, on_bytes=ctx.progress.add_bytes
                ),
                what=f"writing {key}",
            )
        job.crc, job.stored = crc, True
        job.sent = job.result.bytes_sent = job.size
        self.to_complete.append(job)

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
