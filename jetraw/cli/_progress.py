"""The transfer progress display: a rich live view on a terminal, silence elsewhere.

One :class:`TransferProgress` spans a whole command, which may run several transfers (``jetraw
download A B DEST``); each transfer's events carry its own totals, so they are offset by what the
earlier ones counted.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType

from rich.console import Console, RenderableType
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from jetraw.aio import FileTransfer, ProgressEvent
from jetraw.cli._common import human_size, no_color, printable

__all__ = ["TransferProgress"]

#: Files in flight shown under the total bar (more would scroll a small terminal).
_MAX_CURRENT = 6


class _TotalOnly(ProgressColumn):
    """Render the wrapped column on the total line only (file lines show name and size)."""

    def __init__(self, column: ProgressColumn) -> None:
        super().__init__()
        self.column = column

    def render(self, task: Task) -> RenderableType:
        if task.fields.get("file"):
            return Text("")
        return self.column.render(task)


class _BinarySpeed(ProgressColumn):
    """The transfer rate in KiB/s, MiB/s... (rich's own column counts in decimal MB)."""

    def render(self, task: Task) -> RenderableType:
        speed = task.finished_speed or task.speed
        if speed is None:
            return Text("?", style="progress.data.speed")
        return Text(f"{human_size(int(speed))}/s", style="progress.data.speed")


class TransferProgress:
    """Counts bytes and files for the command's summary, and draws bars when on a terminal.

    Args:
        verb: ``"Uploading"`` or ``"Downloading"``.
        show: Draw the live display (``None``: when stderr is a terminal).
    """

    def __init__(self, verb: str, *, show: bool | None = None) -> None:
        self.verb = verb
        self.show = sys.stderr.isatty() if show is None else show
        self.started = time.monotonic()
        #: Bytes actually sent or received, over all transfers (resumed parts not included).
        self.bytes_moved = 0
        self._base_bytes = 0
        self._base_total = 0
        self._base_files = 0
        self._base_files_total = 0
        self._last: ProgressEvent | None = None
        self._progress: Progress | None = None
        self._total: TaskID | None = None
        self._current: dict[int, TaskID] = {}
        #: Files started and not yet finished.
        self.in_flight: dict[int, FileTransfer] = {}
        #: Uploads cancelled and kept to be resumed (``"kept"`` events; after Ctrl-C).
        self.kept: list[FileTransfer] = []
        #: Files stopped by Ctrl-C (a cancellation, not an error of theirs): not counted done.
        self.interrupted: list[FileTransfer] = []

    # -- context --------------------------------------------------------------------------------

    def __enter__(self) -> TransferProgress:
        if self.show:
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                _TotalOnly(BarColumn()),
                TextColumn("{task.fields[files]}"),
                _TotalOnly(DownloadColumn(binary_units=True)),
                _TotalOnly(_BinarySpeed()),
                _TotalOnly(TimeRemainingColumn()),
                # Rich reads NO_COLOR too; said here so it stays true whatever rich does.
                console=Console(stderr=True, no_color=no_color() or None),
                transient=False,
                refresh_per_second=8,
            )
            self._progress.start()
            self._total = self._progress.add_task(self.verb, total=None, files="", file=False)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is None:
            return
        for task in self._current.values():
            self._progress.remove_task(task)
        self._current.clear()
        if exc_type is None and self._total is not None:
            # Resumed parts were never counted as sent: the finished bar still reads 100 %.
            total = self._base_total + (self._last.bytes_total if self._last else 0)
            self._progress.update(self._total, completed=total, total=total)
        self._progress.stop()
        self._progress = None

    # -- events ---------------------------------------------------------------------------------

    def next_transfer(self) -> None:
        """Start counting a further transfer of the same command on top of the previous ones."""
        if self._last is not None:
            self._base_bytes += self._last.bytes_done
            self._base_total += self._last.bytes_total
            self._base_files += self._last.files_done
            self._base_files_total += self._last.files_total
            self._last = None

    def __call__(self, event: ProgressEvent) -> None:
        self._last = event
        if event.file is not None:
            if event.kind == "started":
                self.in_flight[id(event.file)] = event.file
            elif event.kind in ("done", "failed", "kept"):
                self.in_flight.pop(id(event.file), None)
                if event.kind == "kept":
                    self.kept.append(event.file)
                elif event.kind == "failed" and _cancelled(event.file.error):
                    self.interrupted.append(event.file)
        self.bytes_moved = self._base_bytes + event.bytes_done
        if self._progress is None or self._total is None:
            return
        # A kept upload (Ctrl-C) is not done: it is counted as neither done nor failed.
        files_done = self._base_files + event.files_done - len(self.kept) - len(self.interrupted)
        files_total = self._base_files_total + event.files_total
        self._progress.update(
            self._total,
            completed=self.bytes_moved,
            total=self._base_total + event.bytes_total,
            files=f"{files_done}/{files_total} files",
        )
        if event.file is not None:
            self._file_event(event.kind, event.file)

    def _file_event(self, kind: str, file: FileTransfer) -> None:
        assert self._progress is not None
        key = id(file)
        if kind == "started" and key not in self._current and len(self._current) < _MAX_CURRENT:
            self._current[key] = self._progress.add_task(
                f"  {escape(_short(file))}", total=None, files=human_size(file.size), file=True
            )
        elif kind in ("done", "failed", "kept") and key in self._current:
            self._progress.remove_task(self._current.pop(key))
            if kind == "failed":
                self._progress.console.print(
                    Text.assemble(("failed ", "red"), f"{_short(file)}: {printable(file.error)}")
                )

    @property
    def seconds(self) -> float:
        """Seconds since the display was created."""
        return time.monotonic() - self.started


def _cancelled(error: BaseException | None) -> bool:
    """A cancellation or Ctrl-C (not an ``Exception``): the file was interrupted, not failed."""
    return error is not None and not isinstance(error, Exception)


def _short(file: FileTransfer) -> str:
    name = str(file.local) if file.status != "downloaded" else file.remote
    name = printable(name)  # a remote name may hold terminal escapes
    return name if len(name) <= 48 else "…" + name[-47:]
