"""The storage side of a multipart upload: open it, send a part, assemble, abort.

Shared by file uploads (:mod:`jetraw._transfer._multipart`) and streamed writes
(:mod:`jetraw._transfer._stream`): each call is retried on transient storage errors with the one
backoff policy, and an assembly whose answer was lost is recognised by the object it left.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from jetraw._api import StateServerAPI, Upload
from jetraw._exceptions import JetrawError, StorageError
from jetraw._storage import ByteCallback, PartInfo, Storage
from jetraw._transfer._retry import with_retries

__all__ = [
    "abort_storage_upload",
    "assemble",
    "delete_object",
    "object_size",
    "open_multipart",
    "send_part",
]


async def object_size(storage: Storage, key: str) -> int | None:
    """The size of the object ``key``, or ``None`` if it cannot be read (absent, say)."""
    try:
        return await storage.head(key)
    except StorageError:
        return None


async def open_multipart(
    api: StateServerAPI, storage: Storage, upload: Upload, part_size: int, attempts: int
) -> str:
    """Start the storage multipart upload of ``upload``; return its storage upload id.

    The id is also given to the state server, informational only (listings, the server's
    cleanup of what a crash leaves): the caller's journal has it too.
    """
    sid = await with_retries(
        attempts,
        lambda: storage.create_multipart(upload.object_key, part_size=part_size),
        what=f"starting the multipart upload of {upload.object_key}",
    )
    with contextlib.suppress(JetrawError):
        await api.set_storage_upload_id(upload.id, sid)
    return sid


async def send_part(
    storage: Storage,
    upload: Upload,
    sid: str,
    number: int,
    view: memoryview,
    *,
    crc32c: int,
    attempts: int,
    on_bytes: ByteCallback | None = None,
) -> PartInfo:
    """Store part ``number`` (bytes ``view``, CRC-32C ``crc32c``); its record has both."""
    info = await with_retries(
        attempts,
        lambda: storage.upload_part(
            upload.object_key, sid, number, view, crc32c=crc32c, on_bytes=on_bytes
        ),
        what=f"writing part {number} of {upload.object_key}",
    )
    return PartInfo(number, info.etag, len(view), crc32c)


async def assemble(
    storage: Storage,
    key: str,
    sid: str,
    parts: Sequence[PartInfo],
    *,
    crc32c: int,
    size: int,
    attempts: int,
) -> None:
    """Assemble ``parts`` into the object ``key`` (whole-file CRC-32C ``crc32c``)."""
    attempt = 0

    async def complete() -> None:
        nonlocal attempt
        attempt += 1
        try:
            await storage.complete_multipart(key, sid, parts, crc32c=crc32c)
        except StorageError:
            # A retried complete whose first try succeeded (answer lost) finds no upload:
            # the object being there with the right size means it did complete.
            if attempt > 1 and await object_size(storage, key) == size:
                return
            raise

    await with_retries(attempts, complete, what=f"completing the multipart upload of {key}")


async def abort_storage_upload(storage: Storage, key: str, sid: str, attempts: int) -> None:
    """Drop an open storage multipart upload and its parts (best effort)."""
    with contextlib.suppress(JetrawError):
        await with_retries(
            attempts,
            lambda: storage.abort_multipart(key, sid),
            what=f"aborting the multipart upload of {key}",
        )


async def delete_object(storage: Storage, key: str) -> None:
    """Delete an object nothing references any more (best effort)."""
    with contextlib.suppress(JetrawError):
        await storage.delete(key)
