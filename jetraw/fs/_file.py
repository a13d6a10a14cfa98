"""The file object of :meth:`JetrawFileSystem.open`: ranged, cached reads; streamed writes."""

from __future__ import annotations

import asyncio
import sys
from types import FrameType
from typing import Any, Protocol

from fsspec.asyn import sync
from fsspec.core import OpenFile
from fsspec.spec import AbstractBufferedFile

from jetraw._path_io import AsyncJetrawReader, AsyncJetrawWriter

__all__ = ["JetrawFile"]


class _Opener(Protocol):
    """What a :class:`JetrawFile` needs of its filesystem (``JetrawFileSystem``)."""

    loop: asyncio.AbstractEventLoop

    async def _open_reader(self, path: str) -> AsyncJetrawReader: ...
    async def _read_range(self, reader: AsyncJetrawReader, start: int, end: int) -> bytes: ...
    async def _open_writer(self, path: str, *, overwrite: bool = True) -> AsyncJetrawWriter: ...


class JetrawFile(AbstractBufferedFile):  # type: ignore[misc]  # fsspec is untyped
    """A binary file on a jetraw space, for fsspec's synchronous ``open``.

    Reading (``"rb"``) fetches byte ranges from storage through fsspec's block cache
    (``cache_type``, ``block_size``). Writing (``"wb"``, or ``"xb"``: only if the file does not
    exist) streams each block into the transfer engine's multipart upload as it fills; the file
    appears, complete, on :meth:`close`. Leaving a
    ``with`` block on an exception discards the upload: nothing appears and no part is left.
    """

    fs: _Opener

    def __init__(self, fs: _Opener, path: str, mode: str = "rb", **kwargs: Any) -> None:
        if mode not in ("rb", "wb", "xb"):
            raise ValueError(f"Unsupported mode {mode!r}: jetraw files open as 'rb', 'wb' or 'xb'.")
        self._reader: AsyncJetrawReader | None = None
        self._writer: AsyncJetrawWriter | None = None
        super().__init__(fs, path, mode=mode, **kwargs)

    # -- reading -----------------------------------------------------------------------------

    def _fetch_range(self, start: int, end: int) -> bytes:
        if self._reader is None:
            self._reader = self._run(self.fs._open_reader(self.path))
        return self._run(self.fs._read_range(self._reader, start, end))  # type: ignore[no-any-return]

    # -- writing -----------------------------------------------------------------------------

    def _initiate_upload(self) -> None:
        self._writer = self._run(self.fs._open_writer(self.path, overwrite=self.mode == "wb"))

    def _upload_chunk(self, final: bool = False) -> bool:
        assert self._writer is not None  # opened by _initiate_upload
        writer = self._writer
        data = self.buffer.getbuffer()
        try:
            if len(data):
                self._run(writer.write(data))
        finally:
            data.release()
        if final:
            self._run(writer.aclose())
        return True

    def discard(self) -> None:
        """Close without creating the file: what was sent so far is removed."""
        if self.closed:
            return
        self.closed: bool = True
        if self._writer is not None:
            self._run(self._writer.discard())

    def close(self) -> None:
        """Close the file; a written file appears now (complete, or not at all)."""
        if self.closed:
            return
        if self._on_own_loop():
            # Garbage-collected on the filesystem's event-loop thread (an unclosed file a reader
            # dropped), where nothing can be awaited: release it in the background. A write
            # left unclosed there cannot be committed, so it is discarded, never half-visible.
            self.closed = True
            if self._reader is not None:
                _in_background(self.fs.loop, self._reader.aclose())
            if self._writer is not None:
                _in_background(self.fs.loop, self._writer.discard())
            self._reader = self._writer = None
            return
        if self.writable() and _leaving_open_file_on_error():
            self.discard()
            return
        try:
            super().close()
        finally:
            if self._reader is not None:
                reader, self._reader = self._reader, None
                self._run(reader.aclose())

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is not None and self.writable():
            self.discard()
        else:
            self.close()

    def _run(self, coro: Any) -> Any:
        return sync(self.fs.loop, lambda: coro)

    def _on_own_loop(self) -> bool:
        try:
            return asyncio.get_running_loop() is self.fs.loop
        except RuntimeError:
            return False


def _leaving_open_file_on_error() -> bool:
    """Whether this ``close()`` comes from an ``fsspec.open(...)`` block left on an exception.

    ``OpenFile.__exit__`` closes its files without passing the exception on, which would commit
    whatever part of the file was written before the error. Its frame still holds the exception.
    """
    frame: FrameType | None = sys._getframe(2)
    for _ in range(4):
        if frame is None:
            return False
        if frame.f_code is _OPEN_FILE_EXIT:
            args = frame.f_locals.get("args", ())
            return len(args) > 1 and args[1] is not None
        frame = frame.f_back
    return False


_OPEN_FILE_EXIT = OpenFile.__exit__.__code__
_BACKGROUND: set[asyncio.Task[Any]] = set()


def _in_background(loop: asyncio.AbstractEventLoop, coro: Any) -> None:
    """Run ``coro`` as a task of ``loop`` (the running one), keeping it referenced until done."""
    task = loop.create_task(coro)
    _BACKGROUND.add(task)
    task.add_done_callback(_BACKGROUND.discard)
