"""A ready-made progress display for ``upload(..., progress=ProgressBar())``, chosen automatically.

- Inside a Jupyter kernel: a widget bar (``ipywidgets``, the ``jetraw[notebook]`` extra) when it is
  importable, else a text bar that redraws in place (``\\r``) in the cell's output.
- Elsewhere: the same text bar on stderr when it is a terminal, and nothing otherwise (a log file
  or CI output is not filled with bars).

The CLI's rich display (``jetraw upload``) is separate and unchanged.
"""

from __future__ import annotations

import sys
import threading
from typing import Any, Literal, TextIO

from jetraw._transfer import ProgressEvent

__all__ = ["ProgressBar", "in_jupyter_kernel"]

Mode = Literal["auto", "widget", "text", "none"]


def in_jupyter_kernel() -> bool:
    """Whether this code runs in a Jupyter (IPython) kernel, not a terminal IPython or Python."""
    ipython = sys.modules.get("IPython")
    if ipython is None or "ipykernel" not in sys.modules:
        return False
    shell = ipython.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _widgets_available() -> bool:
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


class ProgressBar:
    """A progress callback that draws a bar suited to where it runs.

    Pass one per transfer: ``upload(src, dest, progress=ProgressBar())``.

    Args:
        description: The label in front of the bar.
        mode: ``"auto"`` (default) picks as described in the module; ``"widget"``, ``"text"`` or
            ``"none"`` force one.
        file: Where the text bar is written (default: stdout in a kernel, stderr elsewhere).

    Attributes:
        mode: The display chosen (``"widget"``, ``"text"`` or ``"none"``).
        last: The last event received (``None`` before the first).
    """

    def __init__(
        self, description: str = "Transfer", *, mode: Mode = "auto", file: TextIO | None = None
    ) -> None:
        kernel = in_jupyter_kernel()
        if mode == "auto":
            stream = file if file is not None else sys.stderr
            if kernel:
                mode = "widget" if _widgets_available() else "text"
            else:
                mode = "text" if file is not None or stream.isatty() else "none"
        self.mode: Mode = mode
        self.description = description
        self.last: ProgressEvent | None = None
        self._file = file if file is not None else (sys.stdout if kernel else sys.stderr)
        self._lock = threading.Lock()
        self._widget: Any = None
        self._label: Any = None
        self._width = 0
        self._ended = False

    def __call__(self, event: ProgressEvent) -> None:
        with self._lock:
            self.last = event
            if self.mode == "widget":
                self._draw_widget(event)
            elif self.mode == "text":
                self._draw_text(event)

    def _summary(self, event: ProgressEvent) -> str:
        return (
            f"{_size(event.bytes_done)} / {_size(event.bytes_total)}, "
            f"{event.files_done}/{event.files_total} files"
        )

    def _draw_widget(self, event: ProgressEvent) -> None:
        if self._widget is None:
            import ipywidgets
            from IPython.display import display

            self._widget = ipywidgets.FloatProgress(
                value=0.0, min=0.0, max=1.0, description=self.description
            )
            self._label = ipywidgets.Label()
            display(ipywidgets.HBox([self._widget, self._label]))  # type: ignore[no-untyped-call]
        total = max(event.bytes_total, 1)
        self._widget.value = min(event.bytes_done / total, 1.0)
        self._label.value = self._summary(event)
        if event.files_total and event.files_done == event.files_total:
            self._widget.bar_style = "success" if event.kind == "done" else "warning"

    def _draw_text(self, event: ProgressEvent) -> None:
        if self._ended:
            return  # the line is finished; a late byte total changes nothing
        fraction = event.bytes_done / event.bytes_total if event.bytes_total else 0.0
        filled = int(min(fraction, 1.0) * 30)
        line = (
            f"{self.description} [{'#' * filled}{'.' * (30 - filled)}] "
            f"{fraction:4.0%} {self._summary(event)}"
        )
        pad = " " * max(self._width - len(line), 0)
        self._width = len(line)
        done = event.files_total > 0 and event.files_done == event.files_total
        self._ended = done
        self._file.write("\r" + line + pad + ("\n" if done else ""))
        self._file.flush()
