"""File objects returned by :meth:`AsyncJetrawPath.open`: ranged buffered reads, streamed writes."""

from __future__ import annotations

import io
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING

from jetraw._api import RemoteFile
from jetraw._crc import crc32c
from jetraw._exceptions import IntegrityError
from jetraw._transfer import TransferConfig, name_user_path

if TYPE_CHECKING:
    from jetraw._storage import Storage
    from jetraw._transfer import StreamUpload, TransferSession

__all__ = ["AsyncJetrawReader", "AsyncJetrawWriter"]


class AsyncJetrawReader:
    """A read-only, seekable binary file over a remote file: reads are ranged and buffered.

    Use it as ``async with path.open("rb") as f: data = await f.read(100)``.
    """

    def __init__(self, remote: RemoteFile, storage: Storage, *, buffer_size: int = 1 << 20) -> None:
        self._remote = remote
        self._storage = storage
        self._buffer_size = max(1, buffer_size)
        self._pos = 0
        self._buf = b""
        self._buf_start = 0
        self._closed = False

    @property
    def file(self) -> RemoteFile:
        """The record of the file being read: size, checksum (CRC-32C), metadata, times.

        Whoever reads the whole file can check its bytes against ``file.crc32c``.
        """
        return self._remote

    @property
    def size(self) -> int:
        """The file's size in bytes."""
        return self._remote.size

    @property
    def name(self) -> str:
        """The remote path, ``/space/path``."""
        return f"/{self._remote.space}/{self._remote.path}"

    @property
    def closed(self) -> bool:
        """Whether :meth:`aclose` was called."""
        return self._closed

    def readable(self) -> bool:
        """Like ``io.IOBase.readable``: always ``True``."""
        return True

    def seekable(self) -> bool:
        """Like ``io.IOBase.seekable``: always ``True``."""
        return True

    def writable(self) -> bool:
        """Like ``io.IOBase.writable``: always ``False``."""
        return False

    def tell(self) -> int:
        """The current position."""
        return self._pos

    async def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Like ``io.IOBase.seek``, but async. Returns the new position."""
        self._check()
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos

    async def _fetch(self, start: int, length: int) -> bytes:
        key = self._remote.object_key
        try:
            chunks = [c async for c in self._storage.iter_range(key, start, length)]
        except Exception as exc:
            name_user_path(exc, key, f"/{self._remote.space}/{self._remote.path}")
            raise
        data = b"".join(chunks)
        if len(data) != length:
            raise IntegrityError(f"{self.name}: storage returned {len(data)} of {length} bytes.")
        return data

    async def read(self, size: int = -1) -> bytes:
        """Like ``io.BufferedReader.read``, but async: up to ``size`` bytes (all if negative)."""
        self._check()
        end = self.size if size is None or size < 0 else min(self.size, self._pos + size)
        if end <= self._pos:
            return b""
        out = bytearray()
        while self._pos < end:
            offset = self._pos - self._buf_start
            if 0 <= offset < len(self._buf):
                take = self._buf[offset : offset + (end - self._pos)]
            else:
                want = end - self._pos
                if want >= self._buffer_size:  # large reads bypass the buffer
                    take = await self._fetch(self._pos, want)
                else:
                    length = min(self._buffer_size, self.size - self._pos)
                    self._buf, self._buf_start = await self._fetch(self._pos, length), self._pos
                    continue
            out += take
            self._pos += len(take)
        whole = (size is None or size < 0) and len(out) == self.size
        # A read of the whole file is checked against the recorded checksum.
        if whole and self._remote.crc32c is not None and crc32c(out) != self._remote.crc32c:
            raise IntegrityError(f"{self.name}: the bytes read do not match the checksum.")
        return bytes(out)

    async def aclose(self) -> None:
        """Close the file (idempotent)."""
        self._closed = True
        self._buf = b""

    def _check(self) -> None:
        if self._closed:
            raise ValueError("I/O operation on closed file.")

    async def __aenter__(self) -> AsyncJetrawReader:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class AsyncJetrawWriter:
    """A write-only binary file whose bytes are uploaded while they are written; the file
    appears, complete, when the writer is closed.

    Written bytes go into part-sized buffers taken from the transfer budget
    (``TransferConfig.max_bytes_in_flight``); each full part is sent at once, up to
    ``max_concurrency`` at a time, and a write waits while the budget is spent, so memory stays
    bounded however much is written. A file smaller than ``multipart_threshold`` is sent in one
    request on close. Leaving the ``async with`` block with an exception (or being cancelled)
    aborts the upload: nothing appears and no part is left in storage.

    With ``overwrite=False`` an existing destination is refused when the writer is entered.
    """

    def __init__(
        self,
        session: Callable[[], TransferSession],
        remote: str,
        *,
        overwrite: bool = True,
        config: TransferConfig | None = None,
    ) -> None:
        # Called when the writer is entered, so a client closed in between is refused then.
        self._open_session = session
        self._session: TransferSession | None = None
        self._remote = remote
        self._overwrite = overwrite
        self._config = config or TransferConfig()
        self._stream: StreamUpload | None = None
        self._size = 0
        self._closed = False

    @property
    def name(self) -> str:
        """The remote path, ``/space/path``."""
        return self._remote

    @property
    def closed(self) -> bool:
        """Whether the writer was closed."""
        return self._closed

    def readable(self) -> bool:
        """Always ``False``."""
        return False

    def writable(self) -> bool:
        """Always ``True``."""
        return True

    def seekable(self) -> bool:
        """Always ``False``."""
        return False

    def tell(self) -> int:
        """Bytes written so far."""
        return self._size

    async def _open(self) -> StreamUpload:
        if self._stream is None:
            self._session = self._open_session()
            self._stream = await self._session.open_stream(
                self._remote, overwrite=self._overwrite, config=self._config
            )
        return self._stream

    async def write(self, data: bytes | bytearray | memoryview) -> int:
        """Like ``io.BufferedWriter.write``, but async. Returns the number of bytes written.

        The bytes are copied; the call may wait while earlier parts are being sent.
        """
        if self._closed:
            raise ValueError("I/O operation on closed file.")
        stream = await self._open()
        n = await stream.write(data)
        self._size += n
        return n

    async def aclose(self) -> None:
        """Send what is left and close; the file appears now (idempotent).

        On failure (or cancellation) the upload is aborted and the error raised.
        """
        if self._closed:
            return
        self._closed = True
        stream = await self._open()
        assert self._session is not None  # set by _open
        await self._session.finish_stream(stream)

    async def discard(self) -> None:
        """Close without uploading anything: what was sent so far is removed."""
        self._closed = True
        if self._stream is not None:
            await self._stream.abort()

    async def __aenter__(self) -> AsyncJetrawWriter:
        await self._open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            await self.discard()
        else:
            await self.aclose()
