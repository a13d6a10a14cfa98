"""Streaming uploads: bytes are sent in parts while they are being written.

The size of a streamed file is not known when its upload starts, so it is created with
``"size": null`` (multipart only) and the size is given at complete. Written bytes are copied into
buffers from a :class:`BufferPool` (the byte budget): first one *head* buffer of
``multipart_threshold`` bytes (rounded up to whole parts), then one part-sized buffer at a time.
A file that ends inside the head and below the threshold is sent as one PUT on close, without a
multipart upload; once the head is full, the multipart upload starts, the head goes out as parts
and every later full part is sent at once. Part sends run as tasks, at most ``max_concurrency``
at a time, and a write waits for budget when ``max_bytes_in_flight`` is lent out (back-pressure),
so memory stays near the budget however much is written.

Part tasks are plain asyncio tasks rather than children of a task group: a writer's calls may
each run in a different task (the sync facade runs every call as its own task on its loop), and
a task group cannot span them. Every task is awaited (or cancelled and awaited) before the
writer finishes.

The multipart upload itself is a :class:`~jetraw._transfer._multipart_upload.MultipartUpload`,
the unit file uploads drive too (part sends, assembly, commit, abort); this module adds only the
buffering of written bytes, the single PUT below the threshold, and a size known only at close.
Its commit settles an ambiguous failure itself (``settle=True``): :meth:`StreamUpload.finish`
must answer committed or failed.
"""

from __future__ import annotations

import asyncio
import mmap

import anyio
import anyio.lowlevel
import anyio.to_thread

from jetraw._api import RemoteFile, StateServerAPI, Upload
from jetraw._crc import crc32c
from jetraw._exceptions import ConfigurationError, RemotePathExistsError, RemotePathNotFoundError
from jetraw._storage import Storage
from jetraw._transfer._budget import BufferPool, Scheduler
from jetraw._transfer._commit import abort_checked, complete_checked
from jetraw._transfer._config import MAX_PARTS, TransferConfig
from jetraw._transfer._errpath import name_user_path
from jetraw._transfer._multipart_upload import MultipartUpload
from jetraw._transfer._parts import delete_object
from jetraw._transfer._retry import with_retries

__all__ = ["StreamUpload"]


class _Lease:
    """A pool buffer shared by the parts cut from it; back to the pool after the last is sent."""

    def __init__(self, pool: BufferPool, memory: mmap.mmap, size: int) -> None:
        self.pool = pool
        self.memory = memory
        self.size = size  # the budget it holds (its capacity for writing)
        self.fill = 0
        self.refs = 0
        self.sealed = False
        self.released = False
        #: A request on it failed or was cancelled: dropped, not reused, when released.
        self.tainted = False

    def unref(self) -> None:
        self.refs -= 1
        if self.sealed and self.refs == 0:
            self.release()

    def release(self) -> None:
        if not self.released:
            self.released = True
            if self.tainted:  # a transport may still hold a view of its bytes
                self.pool.discard(self.memory, self.size)
            else:
                self.pool.release(self.memory, self.size)


class StreamUpload:
    """One file uploaded from a stream of writes to ``/space/path``.

    Call :meth:`start` first (it refuses an existing destination when ``overwrite`` is false),
    then :meth:`write` any number of times, then :meth:`finish` (the file appears) or
    :meth:`abort` (nothing appears, nothing is left open).
    """

    def __init__(
        self,
        api: StateServerAPI,
        storage: Storage,
        *,
        space: str,
        path: str,
        config: TransferConfig,
        overwrite: bool,
        scheduler: Scheduler | None = None,
    ) -> None:
        self.api = api
        self.storage = storage
        self.space = space
        self.path = path
        self.config = config
        self.overwrite = overwrite
        self.attempts = config.attempts
        self.part_size = config.part_size
        parts_in_head = max(1, -(-config.multipart_threshold // self.part_size))
        self.head_size = parts_in_head * self.part_size
        # The client's scheduler when given: one budget over every concurrent transfer.
        if scheduler is None:
            scheduler = Scheduler(config.max_bytes_in_flight, config.max_concurrency)
        self.pool = scheduler.pool
        self.limiter = scheduler.limiter
        self.size = 0
        #: The single PUT's upload (below the threshold), until committed or aborted.
        self.upload: Upload | None = None
        #: The multipart upload (once the head is full), until committed or aborted.
        self.multipart: MultipartUpload | None = None
        self.garbage: list[str] = []
        self._next_part = 1
        self._buffer: _Lease | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._error: BaseException | None = None

    @property
    def peak_bytes(self) -> int:
        """The most buffer bytes lent out at once."""
        return self.pool.peak

    async def start(self) -> None:
        """Refuse at once a destination that exists when not overwriting."""
        if self.overwrite:
            return
        try:
            await self.api.stat(self.space, self.path)
        except RemotePathNotFoundError:
            return
        raise RemotePathExistsError(
            f"/{self.space}/{self.path} exists (open it with overwrite=True to replace it)."
        )

    # -- writing --------------------------------------------------------------------------------

    async def write(self, data: bytes | bytearray | memoryview) -> int:
        """Take ``data`` (copied); may wait for buffer budget. Returns ``len(data)`` in bytes."""
        try:
            return await self._write(data)
        except Exception as exc:
            self._name_path(exc)
            raise

    def _name_path(self, exc: BaseException) -> None:
        """A storage error names ``/space/path``, not the object key (kept in ``object_key``)."""
        upload = self.upload or (self.multipart.upload if self.multipart else None)
        if upload is not None:
            name_user_path(exc, upload.object_key, f"/{self.space}/{self.path}")

    async def _write(self, data: bytes | bytearray | memoryview) -> int:
        await anyio.lowlevel.checkpoint_if_cancelled()  # cancellable even when nothing waits
        self._raise_failure()
        with memoryview(data) as raw, raw.cast("B") as view:
            total, offset = len(view), 0
            while offset < total:
                if self._buffer is None:
                    size = self.part_size if self.multipart is not None else self.head_size
                    memory = await self.pool.acquire(size)
                    self._buffer = _Lease(self.pool, memory, size)
                    self._raise_failure()
                buffer = self._buffer
                take = min(buffer.size - buffer.fill, total - offset)
                buffer.memory[buffer.fill : buffer.fill + take] = view[offset : offset + take]
                buffer.fill += take
                offset += take
                self.size += take
                if buffer.fill == buffer.size:
                    try:
                        await self._ship()
                    except Exception as exc:
                        self._error = self._error or exc  # the writer is broken from now on
                        raise
        return total

    def _raise_failure(self) -> None:
        if self._error is not None:
            raise self._error

    async def _ship(self) -> None:
        """Send the current buffer as parts (starting the multipart upload if need be)."""
        buffer = self._buffer
        assert buffer is not None
        count = -(-buffer.fill // self.part_size)
        if self._next_part - 1 + count > MAX_PARTS:
            raise ConfigurationError(
                f"A streamed write of more than {MAX_PARTS} parts of {self.part_size} bytes "
                "(the S3 limit is 10,000 parts): open it with a larger TransferConfig.part_size."
            )
        if self.multipart is None:
            await self._start_multipart()
        self._buffer = None
        buffer.sealed = True
        for start in range(0, buffer.fill, self.part_size):
            length = min(self.part_size, buffer.fill - start)
            buffer.refs += 1
            task = asyncio.ensure_future(self._send(self._next_part, buffer, start, length))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            self._next_part += 1
        if buffer.refs == 0:
            buffer.release()

    async def _start_multipart(self) -> None:
        upload = await self.api.create_upload(
            self.space, self.path, None, overwrite=self.overwrite, multipart=True
        )
        try:
            self.multipart = await MultipartUpload.open(
                self.api,
                self.storage,
                upload,
                self.part_size,
                limiter=self.limiter,
                attempts=self.attempts,
            )
        except BaseException:
            self.upload = upload  # no storage upload to drop: abort() settles the server's
            raise

    async def _send(self, number: int, buffer: _Lease, start: int, length: int) -> None:
        view = memoryview(buffer.memory)[start : start + length]
        sending = False  # True from the request's start to its success
        try:
            if self._error is not None:
                return
            assert self.multipart is not None
            async with self.limiter:
                sending = True
                await self.multipart.send(number, view)  # its CRC-32C off the event loop
                sending = False
        except Exception as exc:
            if self._error is None:
                self._error = exc
        finally:
            if sending:  # failed or cancelled mid-request (sticky: the lease is shared)
                buffer.tainted = True
            view.release()
            buffer.unref()

    # -- the end --------------------------------------------------------------------------------

    async def finish(self) -> RemoteFile:
        """Send what is left and complete the upload: the file appears now.

        On any failure the caller must :meth:`abort`.
        """
        try:
            return await self._finish()
        except Exception as exc:
            self._name_path(exc)
            raise

    async def _finish(self) -> RemoteFile:
        self._raise_failure()
        if self.multipart is None and not self.config.is_multipart(self.size):
            remote = await self._put_whole()
        else:
            if self._buffer is not None and self._buffer.fill > 0:
                await self._ship()  # the last part (or a head past the threshold)
            elif self._buffer is not None:
                self._buffer.release()
                self._buffer = None
            tasks = list(self._tasks)
            if tasks:
                await asyncio.wait(tasks)
            self._raise_failure()
            remote = await self._complete_multipart()
        self.pool.clear()
        return remote

    async def _put_whole(self) -> RemoteFile:
        buffer, self._buffer = self._buffer, None
        view = memoryview(buffer.memory)[: buffer.fill] if buffer is not None else memoryview(b"")
        sending = False
        try:
            self.upload = upload = await self.api.create_upload(
                self.space, self.path, self.size, overwrite=self.overwrite
            )
            crc = await anyio.to_thread.run_sync(crc32c, view)  # off the event loop
            async with self.limiter:
                sending = True
                await with_retries(
                    self.attempts,
                    lambda: self.storage.put_object(upload.object_key, view, crc32c=crc),
                )
                sending = False
        finally:
            view.release()
            if buffer is not None:
                buffer.tainted = buffer.tainted or sending
                buffer.release()
        remote = await complete_checked(
            self.api, upload.id, self.size, crc, self.space, settle=upload
        )
        self.upload = None  # committed: nothing to abort any more
        self.garbage = list(remote.garbage)
        return remote

    async def _complete_multipart(self) -> RemoteFile:
        assert self.multipart is not None
        count = self._next_part - 1
        remote = await self.multipart.finish(self.size, count, self.space, settle=True)
        self.multipart = None  # committed: nothing to abort any more
        self.garbage = list(remote.garbage)
        return remote

    async def abort(self) -> None:
        """Drop everything sent so far (cancellation-shielded; idempotent)."""
        with anyio.CancelScope(shield=True):
            tasks = set(self._tasks)
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks)
            if self._buffer is not None:
                self._buffer.release()
                self._buffer = None
            multipart, self.multipart = self.multipart, None
            if multipart is not None:
                await multipart.abort()
            upload, self.upload = self.upload, None
            # Only an abort the server confirms frees the object: after a lost complete answer
            # the file may be committed, and its bytes must stay.
            if upload is not None and await abort_checked(self.api, upload.id) == "aborted":
                await delete_object(self.storage, upload.object_key)
            self.pool.clear()
