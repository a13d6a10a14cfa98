"""Text mode of :meth:`AsyncJetrawPath.open`: incremental decoding and encoding of the binary files.

``encoding=None`` means UTF-8 (not the locale's encoding, as ``open()`` would): a remote file is
shared by machines whose locales differ, and the same bytes must read the same everywhere.
Newlines follow ``open()``: ``newline=None`` reads universal newlines (CR, LF and CR LF become
LF) and writes LF as ``os.linesep``; ``""`` splits lines at any of them and translates nothing;
LF, CR or CR LF split lines at that string only (and writing turns LF into it).
"""

from __future__ import annotations

import codecs
import io
import os
import re
from collections.abc import Iterable
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any, ClassVar

from jetraw._path_io import AsyncJetrawReader, AsyncJetrawWriter

__all__ = [
    "AsyncJetrawTextReader",
    "AsyncJetrawTextWriter",
    "OpenTextReader",
    "TextOptions",
    "check_mode",
]

DEFAULT_CHUNK = 64 * 1024
_NEWLINES = (None, "", "\n", "\r", "\r\n")
_ANY_NEWLINE = re.compile("\r\n|\r|\n")


class TextOptions:
    """The text-mode arguments of ``open()``, checked."""

    def __init__(
        self, buffering: int, encoding: str | None, errors: str | None, newline: str | None
    ) -> None:
        if buffering == 0:
            raise ValueError("can't have unbuffered text I/O")
        if newline not in _NEWLINES:
            raise ValueError(f"illegal newline value: {newline!r}")
        self.encoding = encoding if encoding is not None else "utf-8"
        codecs.lookup(self.encoding)  # LookupError: unknown encoding, as open() raises
        self.errors = errors if errors is not None else "strict"
        self.newline = newline
        self.chunk = DEFAULT_CHUNK if buffering in (-1, 1) else buffering


def check_mode(
    mode: str, buffering: int, encoding: str | None, errors: str | None, newline: str | None
) -> tuple[str, TextOptions | None]:
    """``("r" | "w" | "x", options)``; ``options`` is ``None`` for a binary mode.

    Raises:
        ValueError: A mode ``open()`` refuses, one a remote file cannot have (``a``, ``+``), or
            text arguments with a binary mode.
    """
    if not isinstance(mode, str):
        raise TypeError(f"open() argument 'mode' must be str, not {type(mode).__name__}")
    if len(set(mode)) != len(mode) or set(mode) - set("rwxabt+") or not mode:
        raise ValueError(f"invalid mode: {mode!r}")
    kinds = [c for c in mode if c in "rwxa"]
    if len(kinds) != 1 or ("b" in mode and "t" in mode):
        raise ValueError(f"invalid mode: {mode!r}")
    if "a" in mode or "+" in mode:
        raise ValueError(f"invalid mode: {mode!r} (remote files are immutable: no 'a' or '+')")
    if "b" in mode:
        for name, value in (("encoding", encoding), ("errors", errors), ("newline", newline)):
            if value is not None:
                raise ValueError(f"binary mode doesn't take an {name} argument")
        return kinds[0], None
    return kinds[0], TextOptions(buffering, encoding, errors, newline)


class AsyncJetrawTextReader:
    """A read-only text file over a remote file: bytes are read in chunks and decoded as they come.

    Use it as ``async with path.open("r", encoding="utf-8") as f: async for line in f: ...``.
    Invalid bytes raise ``UnicodeDecodeError`` (``errors="strict"``) or are handled as
    ``errors`` says. Reading the whole file at once (``read()``) checks its checksum.
    """

    __sync_fast_paths__: ClassVar[dict[str, str]] = {
        "readline": "_ready_line",
        "__anext__": "_ready_line",
    }

    def __init__(self, raw: AsyncJetrawReader, options: TextOptions) -> None:
        self._raw = raw
        self._options = options
        decoder: Any = codecs.getincrementaldecoder(options.encoding)(options.errors)
        if options.newline is None:
            decoder = io.IncrementalNewlineDecoder(decoder, translate=True)
        self._decoder = decoder
        self._pending = ""  # decoded text; what is before _at was returned already
        self._at = 0
        self._scanned = 0  # no line ends between _at and here
        self._eof = False

    @property
    def name(self) -> str:
        """The remote path, ``/space/path``."""
        return self._raw.name

    @property
    def encoding(self) -> str:
        """The encoding the bytes are decoded with."""
        return self._options.encoding

    @property
    def errors(self) -> str:
        """How decoding errors are handled (``"strict"``, ``"replace"``, ...)."""
        return self._options.errors

    @property
    def closed(self) -> bool:
        """Whether the file was closed."""
        return self._raw.closed

    def readable(self) -> bool:
        """Always ``True``."""
        return True

    def writable(self) -> bool:
        """Always ``False``."""
        return False

    def seekable(self) -> bool:
        """Always ``False`` (a text position is not a byte offset)."""
        return False

    async def _fill(self) -> None:
        data = await self._raw.read(self._options.chunk)
        self._eof = self._raw.tell() >= self._raw.size
        self._pending = self._pending[self._at :] + self._decoder.decode(data, self._eof)
        self._scanned -= self._at
        self._at = 0

    def _take(self, end: int) -> str:
        out = self._pending[self._at : end]
        self._at = self._scanned = end
        return out

    def _line_end(self) -> int | None:
        """Where the next line ends in ``_pending`` (``None``: not there yet)."""
        text, newline = self._pending, self._options.newline
        start = max(self._at, self._scanned)
        if newline != "":
            sep = "\n" if newline is None else newline
            i = text.find(sep, max(self._at, start - len(sep) + 1))
            if i >= 0:
                return i + len(sep)
        else:
            found = _ANY_NEWLINE.search(text, start)
            if found is not None:
                if found.group() != "\r" or found.end() < len(text) or self._eof:
                    return found.end()
                self._scanned = found.start()  # a "\r" last: "\r\n" or not, the next chunk says
                return None
        self._scanned = len(text)
        return None

    async def read(self, size: int = -1) -> str:
        """Like ``io.TextIOBase.read``, but async: up to ``size`` characters (all if negative)."""
        self._check()
        if size is None or size < 0:
            if not self._eof:
                data = await self._raw.read()
                self._eof = True
                self._pending = self._pending[self._at :] + self._decoder.decode(data, True)
                self._at = self._scanned = 0
            return self._take(len(self._pending))
        while len(self._pending) - self._at < size and not self._eof:
            await self._fill()
        return self._take(min(len(self._pending), self._at + size))

    async def readline(self, size: int = -1) -> str:
        """Like ``io.TextIOBase.readline``, but async: the next line, with its ending.

        ``""`` at the end of the file; at most ``size`` characters if ``size`` is not negative.
        """
        self._check()
        while True:
            end = self._line_end()
            if end is None and self._eof:
                end = len(self._pending)
            if size is not None and size >= 0:
                limit = self._at + size
                if len(self._pending) >= limit if end is None else end > limit:
                    end = limit
            if end is not None:
                return self._take(end)
            await self._fill()

    def _ready_line(self, size: int = -1) -> str | None:
        """The next line if it is decoded already and whole (no I/O needed), else ``None``.

        The sync facade calls it on the caller's thread before it goes to the loop: a line
        read from a buffered chunk costs no thread hop (``__sync_fast_paths__``).
        """
        if self._raw.closed or (size is not None and size >= 0):
            return None
        end = self._line_end()
        return None if end is None else self._take(end)

    async def readlines(self, hint: int = -1) -> list[str]:
        """Like ``io.IOBase.readlines``, but async: the lines left (until ``hint`` characters)."""
        lines: list[str] = []
        total = 0
        while line := await self.readline():
            lines.append(line)
            total += len(line)
            if 0 < hint <= total:
                break
        return lines

    def __aiter__(self) -> AsyncJetrawTextReader:
        return self

    async def __anext__(self) -> str:
        line = await self.readline()
        if not line:
            raise StopAsyncIteration
        return line

    async def aclose(self) -> None:
        """Close the file (idempotent)."""
        await self._raw.aclose()
        self._pending, self._at, self._scanned = "", 0, 0

    def _check(self) -> None:
        if self._raw.closed:
            raise ValueError("I/O operation on closed file.")

    async def __aenter__(self) -> AsyncJetrawTextReader:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class AsyncJetrawTextWriter:
    """A write-only text file: strings are encoded as they are written and streamed like ``"wb"``.

    The file appears, complete, when the writer is closed; leaving the ``async with`` block with
    an exception discards it (nothing appears).
    """

    def __init__(self, raw: AsyncJetrawWriter, options: TextOptions) -> None:
        self._raw = raw
        self._options = options
        self._encoder = codecs.getincrementalencoder(options.encoding)(options.errors)
        newline = options.newline
        self._newline = os.linesep if newline is None else newline
        self._chars = 0

    @property
    def name(self) -> str:
        """The remote path, ``/space/path``."""
        return self._raw.name

    @property
    def encoding(self) -> str:
        """The encoding strings are encoded with."""
        return self._options.encoding

    @property
    def closed(self) -> bool:
        """Whether the writer was closed."""
        return self._raw.closed

    def readable(self) -> bool:
        """Always ``False``."""
        return False

    def writable(self) -> bool:
        """Always ``True``."""
        return True

    def seekable(self) -> bool:
        """Always ``False``."""
        return False

    async def write(self, text: str) -> int:
        """Like ``io.TextIOBase.write``, but async. Returns the number of characters written."""
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if self._raw.closed:
            raise ValueError("I/O operation on closed file.")
        out = text.replace("\n", self._newline) if self._newline not in ("", "\n") else text
        data = self._encoder.encode(out)
        if data:
            await self._raw.write(data)
        self._chars += len(text)
        return len(text)

    async def writelines(self, lines: Iterable[str]) -> None:
        """Like ``io.IOBase.writelines``, but async (no line endings are added)."""
        for line in lines:
            await self.write(line)

    async def aclose(self) -> None:
        """Send what is left and close; the file appears now (idempotent)."""
        if self._raw.closed:
            return
        tail = self._encoder.encode("", True)
        if tail:
            await self._raw.write(tail)
        await self._raw.aclose()

    async def discard(self) -> None:
        """Close without creating the file: what was sent so far is removed."""
        await self._raw.discard()

    async def __aenter__(self) -> AsyncJetrawTextWriter:
        await self._raw.__aenter__()
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


class OpenTextReader:
    """The context manager :meth:`AsyncJetrawPath.open` returns for ``"r"``: opens the binary
    reader, then decodes it."""

    def __init__(
        self, raw: AbstractAsyncContextManager[AsyncJetrawReader], options: TextOptions
    ) -> None:
        self._raw = raw
        self._options = options

    async def __aenter__(self) -> AsyncJetrawTextReader:
        return AsyncJetrawTextReader(await self._raw.__aenter__(), self._options)

    async def __aexit__(self, *exc: object) -> None:
        await self._raw.__aexit__(None, None, None)
