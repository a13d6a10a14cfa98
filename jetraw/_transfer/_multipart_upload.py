"""One open multipart upload: its parts sent and known, then assembled and committed, or aborted.

The unit both multipart paths drive: :class:`jetraw._transfer._multipart.Multipart` (file
uploads, which add the resume journal and read parts from the local file) and
:class:`jetraw._transfer._stream.StreamUpload` (streamed writes, which add buffering and the
single-PUT decision). How parts are scheduled, and how failures are latched, stays with them.
"""

from __future__ import annotations

import anyio
import anyio.to_thread

from jetraw._api import RemoteFile, StateServerAPI, Upload
from jetraw._crc import crc32c as crc32c_of
from jetraw._storage import ByteCallback, PartInfo, Storage
from jetraw._transfer._commit import AbortOutcome, abort_checked, complete_checked
from jetraw._transfer._job import whole_crc
from jetraw._transfer._parts import (
    abort_storage_upload,
    assemble,
    delete_object,
    open_multipart,
    send_part,
)

__all__ = ["MultipartUpload"]


class MultipartUpload:
    """The state server's ``upload`` and its open storage multipart upload ``storage_upload_id``.

    Args:
        api: The state server.
        storage: The space's storage backend.
        upload: The state server's (multipart) upload.
        storage_upload_id: The storage multipart upload.
        limiter: The request limit an assembly holds a slot of (part sends are limited by
            their caller, who may do more under the same slot, such as reading the part).
        attempts: Tries of each storage call.
        parts: The parts stored so far (shared, not copied: a resumed job's journal has them).
        stored: The object is assembled already (a resumed run stopped before its commit).
    """

    def __init__(
        self,
        api: StateServerAPI,
        storage: Storage,
        upload: Upload,
        storage_upload_id: str,
        *,
        limiter: anyio.CapacityLimiter,
        attempts: int,
        parts: dict[int, PartInfo] | None = None,
        stored: bool = False,
    ) -> None:
        self.api = api
        self.storage = storage
        self.upload = upload
        self.storage_upload_id = storage_upload_id
        self.limiter = limiter
        self.attempts = attempts
        self.parts: dict[int, PartInfo] = {} if parts is None else parts
        self.stored = stored

    @classmethod
    async def open(
        cls,
        api: StateServerAPI,
        storage: Storage,
        upload: Upload,
        part_size: int,
        *,
        limiter: anyio.CapacityLimiter,
        attempts: int,
    ) -> MultipartUpload:
        """Open the storage multipart upload of the state server's ``upload``."""
        sid = await open_multipart(api, storage, upload, part_size, attempts)
        return cls(api, storage, upload, sid, limiter=limiter, attempts=attempts)

    async def send(
        self,
        number: int,
        view: memoryview,
        *,
        crc32c: int | None = None,
        on_bytes: ByteCallback | None = None,
    ) -> PartInfo:
        """Store part ``number`` (retried); its CRC-32C is computed off the loop unless given."""
        if crc32c is None:
            crc32c = await anyio.to_thread.run_sync(crc32c_of, view)
        info = await send_part(
            self.storage,
            self.upload,
            self.storage_upload_id,
            number,
            view,
            crc32c=crc32c,
            attempts=self.attempts,
            on_bytes=on_bytes,
        )
        self.parts[number] = info
        return info

    async def whole_crc(self, count: int) -> int:
        """The CRC-32C of the whole object, combined from parts ``1..count``."""
        return await anyio.to_thread.run_sync(whole_crc, self.parts, count)

    async def assemble(self, size: int, count: int, crc32c: int) -> None:
        """Assemble parts ``1..count`` into the object (``size`` bytes, CRC-32C ``crc32c``)."""
        parts = [self.parts[n] for n in range(1, count + 1)]
        async with self.limiter:
            await assemble(
                self.storage,
                self.upload.object_key,
                self.storage_upload_id,
                parts,
                crc32c=crc32c,
                size=size,
                attempts=self.attempts,
            )
        self.stored = True

    async def commit(self, size: int, crc32c: int, space: str, *, settle: bool) -> RemoteFile:
        """Commit the assembled object on the state server (see :func:`complete_checked`)."""
        return await complete_checked(
            self.api,
            self.upload.id,
            size,
            crc32c,
            space,
            settle=self.upload if settle else None,
        )

    async def finish(self, size: int, count: int, space: str, *, settle: bool) -> RemoteFile:
        """Assemble (unless already stored) and commit; the file is visible on return."""
        crc = await self.whole_crc(count)
        if not self.stored:
            await self.assemble(size, count, crc)
        return await self.commit(size, crc, space, settle=settle)

    async def abort(self) -> AbortOutcome:
        """Abort it (storage and server, shielded); the object is deleted once the abort is sure.

        Only an abort the server confirms frees the object: after a lost complete answer the
        file may be committed, and its bytes must stay.
        """
        with anyio.CancelScope(shield=True):
            if not self.stored:
                await abort_storage_upload(
                    self.storage, self.upload.object_key, self.storage_upload_id, self.attempts
                )
            outcome = await abort_checked(self.api, self.upload.id)
            if outcome == "aborted":
                await delete_object(self.storage, self.upload.object_key)
        return outcome
