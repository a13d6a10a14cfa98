"""The protocol every storage backend implements, and the types it speaks."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Protocol

from jetraw._exceptions import StorageError

__all__ = ["ByteCallback", "MultipartInfo", "PartInfo", "Storage", "is_retryable"]

#: Called with the number of body bytes handed to the transport (may be called again after a
#: retry with a negative number to take them back).
ByteCallback = Callable[[int], None]


@dataclasses.dataclass(frozen=True)
class PartInfo:
    """One stored part of a multipart upload."""

    number: int
    etag: str
    size: int
    crc32c: int | None = None


@dataclasses.dataclass(frozen=True)
class MultipartInfo:
    """A multipart upload still open in storage."""

    key: str
    upload_id: str


def is_retryable(exc: BaseException) -> bool:
    """Whether an error is a transient storage failure, worth another attempt."""
    return isinstance(exc, StorageError) and exc.retryable


class Storage(Protocol):
    """Where the bytes of one space live. Keys are relative to the space's root/prefix.

    Every method raises only :class:`~jetraw.StorageError` subclasses, with S3's error codes in
    ``code`` on every backend (``NoSuchKey``, ``NoSuchUpload``, ``NoSuchBucket``...); transient
    ones have ``retryable=True``. Backends never retry by themselves: the transfer engine does.
    """

    @property
    def pool_size(self) -> int:
        """How many requests the backend can have in flight at once (its connection pool)."""
        ...

    @property
    def timeouts(self) -> tuple[float, float] | None:
        """The (connect, read) timeouts of its requests; ``None`` where there are none."""
        ...

    async def check_credentials(self) -> None:
        """Fail now, before anything is sent, if the backend cannot be used at all.

        Raises:
            StorageCredentialsError: No usable credentials (S3).
            StorageError: The storage root is missing (local disk).
        """
        ...

    async def put_object(
        self, key: str, body: memoryview, *, crc32c: int, on_bytes: ByteCallback | None = None
    ) -> None:
        """Store ``body`` under ``key`` atomically (a reader sees all of it or nothing)."""
        ...

    async def prepare_puts(self, puts: Sequence[tuple[str, int]]) -> None:
        """A hint: ``put_object`` of these ``(key, crc32c)`` follows soon, one after the other.

        A backend may fetch what those requests need in one go (the granted backend asks for
        all their grants in one call); the others do nothing. Never raises: a failure here is
        met again, and reported, by the ``put_object`` itself.
        """
        ...

    async def create_multipart(self, key: str, *, part_size: int) -> str:
        """Start a multipart upload of equal parts (the last may be smaller); return its id."""
        ...

    async def upload_part(
        self,
        key: str,
        upload_id: str,
        number: int,
        body: memoryview,
        *,
        crc32c: int,
        on_bytes: ByteCallback | None = None,
    ) -> PartInfo:
        """Store part ``number`` (1-based) of an open multipart upload."""
        ...

    async def list_parts(self, key: str, upload_id: str) -> list[PartInfo]:
        """The parts stored so far, by number."""
        ...

    async def complete_multipart(
        self, key: str, upload_id: str, parts: Sequence[PartInfo], *, crc32c: int
    ) -> None:
        """Assemble the parts into the object ``key`` (whole-file CRC-32C ``crc32c``)."""
        ...

    async def abort_multipart(self, key: str, upload_id: str) -> None:
        """Drop an open multipart upload and its parts (idempotent)."""
        ...

    async def list_multipart_uploads(self) -> list[MultipartInfo]:
        """Open multipart uploads under this space's root/prefix."""
        ...

    async def head(self, key: str) -> int:
        """The size of the object ``key``."""
        ...

    def iter_range(self, key: str, start: int, length: int) -> AsyncIterator[bytes]:
        """Yield the bytes ``[start, start + length)`` of ``key`` in chunks."""
        ...

    async def delete(self, key: str) -> None:
        """Delete the object ``key`` (no error if it is gone)."""
        ...

    async def aclose(self) -> None:
        """Release connections; the backend is unusable afterwards."""
        ...
