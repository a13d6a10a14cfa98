"""A part's bytes as an S3 request body: one buffer, no copies, progress as it is sent."""

from __future__ import annotations

import io
from typing import Any

import aiohttp.payload

from jetraw._storage._base import ByteCallback

__all__ = ["PartBody", "PartPayload"]

_WRITE_SLICE = 1 << 20  # bytes per transport write of a request body


class PartBody(io.RawIOBase):
    """A seekable file-like over a memoryview: aiohttp streams it without a copy of the part.

    Progress counts the furthest byte handed out, so a re-read (signing, a botocore rewind)
    does not count twice; :meth:`retract` takes an attempt's bytes back before a retry.
    """

    def __init__(self, view: memoryview, on_bytes: ByteCallback | None) -> None:
        super().__init__()
        self._view = view.cast("B") if view.format != "B" else view
        self._pos = 0
        self._reported = 0
        self._on_bytes = on_bytes

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: len(self._view)}[whence]
        self._pos = max(0, min(len(self._view), base + offset))
        return self._pos

    def readinto(self, buffer: Any) -> int:
        target = memoryview(buffer).cast("B")
        n = min(len(target), len(self._view) - self._pos)
        target[:n] = self._view[self._pos : self._pos + n]
        self._advance(n)
        return n

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            size = len(self._view) - self._pos
        chunk = bytes(self._view[self._pos : self._pos + size])
        self._advance(len(chunk))
        return chunk

    def _advance(self, n: int) -> None:
        self._pos += n
        if self._pos > self._reported:
            if self._on_bytes is not None:
                self._on_bytes(self._pos - self._reported)
            self._reported = self._pos

    def retract(self) -> None:
        if self._on_bytes is not None and self._reported:
            self._on_bytes(-self._reported)
        self._reported = 0

    def take(self, size: int) -> memoryview:
        """The next ``size`` bytes as a view (no copy), counted as handed out."""
        view = self._view[self._pos : self._pos + size]
        self._advance(len(view))
        return view

    def __len__(self) -> int:
        return len(self._view)


class PartPayload(aiohttp.payload.Payload):
    """How aiohttp sends a :class:`PartBody`: views of the buffer, written from the loop.

    Without it aiohttp takes the body for a file (``IOBasePayload``) and reads each 256 KiB chunk
    in the default thread pool, as a fresh ``bytes`` copy: four thread hops and a copy per MiB
    (a quarter of an upload's CPU in the py-spy profile). Here each 1 MiB slice of the part's
    buffer goes straight to the transport, which applies back-pressure between slices. Registered
    for ``PartBody`` only (aiobotocore hands aiohttp a proxy of it, which ``isinstance`` sees
    through).
    """

    _value: PartBody
    _autoclose = True  # a view of memory jetraw owns: nothing for aiohttp to close

    def __init__(self, value: PartBody, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("content_type", "application/octet-stream")
        super().__init__(value, *args, **kwargs)
        # Always the whole part: botocore rewinds the body to 0 before every attempt, and a payload
        # rebuilt by aiohttp after a partly sent attempt must not start where that one stopped.
        self._start = 0
        self._length = len(value) - self._start
        self._size = self._length

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        return bytes(self._value._view[self._start :]).decode(encoding, errors)

    async def as_bytes(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        """The part's bytes (a copy; aiohttp's default would decode them as text)."""
        return bytes(self._value._view[self._start :])

    async def write(self, writer: Any) -> None:
        await self.write_with_length(writer, None)

    async def write_with_length(self, writer: Any, content_length: int | None) -> None:
        body = self._value
        body.seek(self._start)
        remaining = self._length if content_length is None else min(self._length, content_length)
        while remaining > 0:
            view = body.take(min(_WRITE_SLICE, remaining))
            remaining -= len(view)
            await writer.write(view)


aiohttp.payload.PAYLOAD_REGISTRY.register(
    PartPayload, PartBody, order=aiohttp.payload.Order.try_first
)
