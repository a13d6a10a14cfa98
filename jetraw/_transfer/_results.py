"""What an upload or download returns, and the progress events it reports on the way."""

from __future__ import annotations

import dataclasses
import inspect
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Literal

import anyio

__all__ = [
    "DownloadResult",
    "FileTransfer",
    "Progress",
    "ProgressCallback",
    "ProgressEvent",
    "TransferResult",
    "UploadResult",
]

Status = Literal["uploaded", "downloaded", "skipped", "failed"]


@dataclasses.dataclass
class FileTransfer:
    """The outcome of one file of a transfer.

    Attributes:
        local: The local path.
        remote: The remote path, ``/space/dir/file``.
        size: Bytes (of the local file for uploads, of the remote one for downloads).
        checksum: The CRC-32C (8 hex digits) recorded by the platform, once known.
        status: ``"uploaded"``, ``"downloaded"``, ``"skipped"`` or ``"failed"``.
        error: The exception of a failed file.
        bytes_sent: Bytes actually sent or received for this file by this run: parts stored
            by an earlier run and resumed are not counted, nor is a skipped file.
        bytes_resumed: Bytes kept from an earlier, interrupted transfer of the same file (each
            chunk or part re-read and its CRC-32C checked), so not sent again: for a download
            ``bytes_sent + bytes_resumed == size``; for an upload the parts stored before (the
            whole file when only the commit was left).
    """

    local: Path
    remote: str
    size: int = 0
    checksum: str | None = None
    status: Status = "failed"
    error: BaseException | None = None
    bytes_sent: int = 0
    bytes_resumed: int = 0


@dataclasses.dataclass
class TransferResult:
    """Every file of a transfer, in the order they were given.

    Attributes:
        files: One :class:`FileTransfer` per file.
    """

    files: list[FileTransfer] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether no file failed."""
        return not self.failed

    @property
    def failed(self) -> list[FileTransfer]:
        """The files that failed."""
        return [f for f in self.files if f.status == "failed"]

    @property
    def skipped(self) -> list[FileTransfer]:
        """The files that were already there (``skip_existing``)."""
        return [f for f in self.files if f.status == "skipped"]

    @property
    def transferred(self) -> list[FileTransfer]:
        """The files uploaded or downloaded."""
        return [f for f in self.files if f.status in ("uploaded", "downloaded")]

    @property
    def bytes(self) -> int:
        """Bytes of the files transferred."""
        return sum(f.size for f in self.transferred)

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} files={len(self.files)} transferred={len(self.transferred)}"
            f" skipped={len(self.skipped)} failed={len(self.failed)}>"
        )


class UploadResult(TransferResult):
    """The result of :func:`jetraw.aio.upload`."""

    @property
    def uploaded(self) -> list[FileTransfer]:
        """The files uploaded."""
        return self.transferred


class DownloadResult(TransferResult):
    """The result of :func:`jetraw.aio.download`."""

    @property
    def downloaded(self) -> list[FileTransfer]:
        """The files downloaded."""
        return self.transferred


@dataclasses.dataclass(frozen=True)
class ProgressEvent:
    """One progress report.

    Attributes:
        kind: ``"started"``, ``"bytes"``, ``"done"`` or ``"failed"`` (of ``file``), or
            ``"bytes"`` with ``file=None`` for a periodic total. ``"kept"``: an upload
            cancelled with ``on_cancel="keep"`` whose stored parts were kept, so running the
            same upload again resumes it (its result says ``"failed"``, with the
            cancellation as its error).
        file: The file concerned (``None`` for periodic totals).
        bytes_done: Bytes sent or received so far over all files (retries subtracted).
        bytes_total: Bytes of all files.
        files_done: Files finished (transferred, skipped, failed or kept).
        files_total: Number of files.
    """

    kind: Literal["started", "bytes", "done", "failed", "kept"]
    file: FileTransfer | None
    bytes_done: int
    bytes_total: int
    files_done: int
    files_total: int


logger = logging.getLogger("jetraw.transfer")

ProgressCallback = Callable[[ProgressEvent], "Awaitable[None] | None"]


class Progress:
    """Counts bytes from any thread; reports to the callback on the loop, bytes at ≤ 10 Hz."""

    interval = 0.1

    def __init__(self, callback: ProgressCallback | None, files_total: int, bytes_total: int):
        self.callback = callback
        self.files_total = files_total
        self.bytes_total = bytes_total
        self.files_done = 0
        self._bytes = 0
        self._reported = -1
        self._lock = threading.Lock()
        self._last = 0.0
        self._callback_failed = False

    def add_bytes(self, n: int) -> None:
        with self._lock:
            self._bytes += n

    @property
    def bytes_done(self) -> int:
        return self._bytes

    def _event(self, kind: str, file: FileTransfer | None) -> ProgressEvent:
        return ProgressEvent(
            kind,  # type: ignore[arg-type]
            file,
            self._bytes,
            self.bytes_total,
            self.files_done,
            self.files_total,
        )

    async def emit(self, kind: str, file: FileTransfer | None = None) -> None:
        if kind in ("done", "failed", "kept"):
            self.files_done += 1
        if self.callback is None:
            return
        if kind == "bytes":
            self._reported = self._bytes
            self._last = time.monotonic()
        try:
            result = self.callback(self._event(kind, file))
            if inspect.isawaitable(result):
                await result
        except Exception:
            # A broken progress display must not break (or half-abort) a transfer.
            if not self._callback_failed:
                self._callback_failed = True
                logger.exception("The progress callback raised; its errors are ignored.")

    async def ticker(self) -> None:
        """Run until cancelled: report the byte total when it changed, at most every 0.1 s."""
        if self.callback is None:
            return
        while True:
            await anyio.sleep(self.interval)
            if self._bytes != self._reported:
                await self.emit("bytes")
