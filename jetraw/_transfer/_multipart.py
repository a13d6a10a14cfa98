"""Large files: a multipart upload each, started or resumed, its parts sent, assembled, committed.

This is the file strategy around :class:`~jetraw._transfer._multipart_upload.MultipartUpload`
(the open upload: parts sent, assembled, committed): it adds the resume journal and reads each
part from the local file. A failed job is settled by ``UploadContext.finish_failed``.

A multipart upload is journaled as its parts finish, so a killed run is resumed by the next one.
The journal is keyed by the file's path only; its identity (inode, size, mtime, ctime) and the
CRC-32C of every resumed part, re-read from the local file, decide whether the stored parts are
still this file's bytes. A changed file aborts the old upload (server and storage) and restarts.
"""

from __future__ import annotations

import logging
import mmap

import anyio
import anyio.abc
import anyio.to_thread

from jetraw._exceptions import JetrawError, StorageError
from jetraw._storage import PartInfo
from jetraw._transfer._config import part_count, plan_part_size
from jetraw._transfer._context import UploadContext
from jetraw._transfer._job import UploadJob, read_part, verify_parts, whole_crc
from jetraw._transfer._journal import Journal, JournalStore, RunningJournal
from jetraw._transfer._multipart_upload import MultipartUpload
from jetraw._transfer._parts import object_size

__all__ = ["Multipart"]

logger = logging.getLogger("jetraw.transfer")


class Multipart:
    """The multipart strategy of one upload call."""

    def __init__(self, ctx: UploadContext) -> None:
        self.ctx = ctx

    async def dispatch(self, job: UploadJob, work: anyio.abc.TaskGroup) -> None:
        """Start (or resume) the job's upload and start sending its missing parts."""
        ctx = self.ctx
        await ctx.progress.emit("started", job.result)
        try:
            await self._start(job)
        except Exception as exc:
            job.fail(exc)
            await ctx.finish_failed(job)
            return
        if job.done:  # resumed an upload that had been committed
            return
        assert job.upload is not None
        assert job.storage_upload_id is not None
        unit = MultipartUpload(
            ctx.api,
            ctx.storage,
            job.upload,
            job.storage_upload_id,
            limiter=ctx.limiter,
            attempts=ctx.config.attempts,
            parts=job.parts,  # shared: the journal records what the unit stores
            stored=job.stored,
        )
        job.pending = 1  # the producer's hold, so the job cannot finish mid-dispatch
        for number in range(1, job.nparts + 1):
            if job.error is not None:
                break
            if number in job.parts:
                continue
            size = job.part_len(number)
            buffer = await ctx.pool.acquire(size)
            job.pending += 1
            ctx.outstanding += 1
            work.start_soon(self._part, job, unit, number, buffer, size)
        await self._unit_done(job, unit)

    async def _start(self, job: UploadJob) -> None:
        ctx = self.ctx
        job.part_size = plan_part_size(job.size, ctx.config)
        key = await anyio.to_thread.run_sync(
            JournalStore.key, ctx.scope, ctx.space, job.item.path, job.item.local
        )
        job.journal = RunningJournal(ctx.journals, key)
        old = await job.journal.load()
        if old is not None:
            if await self._resume(job, old):
                # What an earlier run stored and this one keeps (the whole file if it was
                # assembled or committed already).
                kept = (
                    job.size if job.stored or job.done else sum(p.size for p in job.parts.values())
                )
                job.result.bytes_resumed = kept
                return
            with anyio.CancelScope(shield=True):
                gone = await ctx.abort_journaled(old)
            if not gone:
                raise JetrawError(
                    f"Cannot confirm that the earlier upload of {job.item.local} was aborted; "
                    "not starting a new one. Try again when the server is reachable."
                )
            await job.forget_journal()
        job.nparts = part_count(job.size, job.part_size)
        opts = ctx.options
        upload = job.upload = await ctx.api.create_upload(
            ctx.space,
            job.item.path,
            job.size,
            overwrite=opts.overwrite,
            metadata=opts.metadata,
            multipart=True,
        )
        opened = await MultipartUpload.open(
            ctx.api,
            ctx.storage,
            upload,
            job.part_size,
            limiter=ctx.limiter,
            attempts=ctx.config.attempts,
        )
        sid = job.storage_upload_id = opened.storage_upload_id
        job.journal.record = Journal(
            upload_id=upload.id,
            storage_upload_id=sid,
            object_key=upload.object_key,
            part_size=job.part_size,
            size=job.size,
            mtime_ns=job.mtime_ns,
            ctime_ns=job.ctime_ns,
            ino=job.ino,
            expires_at=upload.expires_at,
        )
        await job.save_journal(force=True)

    def _restart(self, job: UploadJob) -> bool:
        """Forget what was resumed: the caller starts afresh."""
        job.parts.clear()
        job.upload = job.storage_upload_id = None
        if job.journal is not None:
            job.journal.record = None
        return False

    def _take_journaled(self, job: UploadJob, old: Journal) -> None:
        for number, (etag, size, crc) in old.parts.items():
            job.parts[number] = PartInfo(number, etag, size, crc)

    async def _resume(self, job: UploadJob, old: Journal) -> bool:
        """Pick up a journaled upload of the same, unchanged file; False to start afresh."""
        ctx = self.ctx
        if (old.size, old.mtime_ns, old.ctime_ns, old.ino) != (
            job.size,
            job.mtime_ns,
            job.ctime_ns,
            job.ino,
        ):
            return False
        try:
            upload = await ctx.api.get_upload(old.upload_id)
        except JetrawError:
            return False
        if upload.path != job.item.path or upload.status not in ("pending", "completed"):
            return False
        assert job.journal is not None
        job.upload, job.storage_upload_id, job.journal.record = upload, old.storage_upload_id, old
        job.part_size = old.part_size
        job.nparts = part_count(job.size, job.part_size)
        if upload.status == "completed":
            # Committed, but the run was stopped before it heard so: nothing is left to do.
            self._take_journaled(job, old)
            if len(job.parts) != job.nparts or not await self._parts_match(job):
                return self._restart(job)
            job.stored = True
            job.crc = await anyio.to_thread.run_sync(whole_crc, job.parts, job.nparts)
            await ctx.succeeded(job, None)
            return True
        try:
            stored = await ctx.storage.list_parts(old.object_key, old.storage_upload_id)
        except StorageError:
            # Killed between assembling the object and committing it: every part is journaled
            # and the object is there, so only the commit is left.
            if (
                len(old.parts) == job.nparts
                and await object_size(ctx.storage, old.object_key) == job.size
            ):
                self._take_journaled(job, old)
                if await self._parts_match(job):
                    job.stored = True
                    return True
            return self._restart(job)
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
        if not await self._parts_match(job):
            return self._restart(job)
        return True

    async def _parts_match(self, job: UploadJob) -> bool:
        """Re-read the resumed parts: a rewrite that kept size and times is not trusted."""
        if not job.parts:
            return True
        try:
            ok = await anyio.to_thread.run_sync(verify_parts, job, dict(job.parts))
        except OSError:
            return False
        if not ok:
            logger.info("%s changed since its upload was journaled; restarting.", job.item.local)
        return ok

    async def _part(
        self, job: UploadJob, unit: MultipartUpload, number: int, buffer: mmap.mmap, size: int
    ) -> None:
        ctx = self.ctx
        view = memoryview(buffer)[:size]
        clean = True  # False while a request may hold the buffer: from send() to its success
        try:
            if job.error is None:
                async with ctx.limiter:
                    offset = (number - 1) * job.part_size
                    crc = await anyio.to_thread.run_sync(read_part, job, view, offset)
                    clean = False
                    await unit.send(number, view, crc32c=crc, on_bytes=ctx.progress.add_bytes)
                    clean = True
                job.sent += size
                job.result.bytes_sent = job.sent
                await job.save_journal()
        except Exception as exc:
            job.fail(exc)
        finally:
            view.release()
            if clean:
                ctx.pool.release(buffer, size)
            else:  # failed or cancelled mid-request: its bytes may still be in a transport
                ctx.pool.discard(buffer, size)
            ctx.outstanding -= 1
        await self._unit_done(job, unit)

    async def _unit_done(self, job: UploadJob, unit: MultipartUpload) -> None:
        job.pending -= 1
        if job.pending > 0:
            return
        if job.error is None and len(job.parts) == job.nparts:
            try:
                await self._finish(job, unit)
                return
            except Exception as exc:
                job.fail(exc)
        if job.error is None:  # pragma: no cover - defensive: all dispatched but parts missing
            job.fail(StorageError(f"Parts of {job.item.local} are missing."))
        await self.ctx.finish_failed(job)

    async def _finish(self, job: UploadJob, unit: MultipartUpload) -> None:
        """Assemble the parts (unless a resumed run already did), then commit the upload."""
        ctx = self.ctx
        job.crc = total = await unit.whole_crc(job.nparts)
        if not unit.stored:
            # Every part journaled before the object is assembled: a run stopped between the
            # assembly and the commit resumes with only the commit left to do.
            await job.save_journal(force=True)
            await unit.assemble(job.size, job.nparts, total)
            job.stored = True
        # A failure is settled by ``ctx.finish_failed`` (it also keeps or drops the journal).
        remote = await unit.commit(job.size, total, ctx.space, settle=False)
        await ctx.succeeded(job, remote)
