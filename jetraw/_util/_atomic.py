"""Atomic file replacement: a reader sees the old file or the whole new one, never half of it.

The bytes go to a temporary name in the target's directory (same file system, so the rename is
atomic), are fsynced, renamed over the target, and the directory is fsynced so the rename itself
survives a power cut. The temporary file is removed on any failure, ``KeyboardInterrupt`` included.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

__all__ = ["atomic_write", "fsync_dir", "write_all"]


def write_all(fd: int, data: bytes | bytearray | memoryview, offset: int = 0) -> None:
    """``pwrite`` all of ``data`` at ``offset`` (``os.pwrite`` may write less than asked)."""
    view = memoryview(data)
    if view.format != "B" or view.ndim != 1:
        view = view.cast("B")
    done = 0
    while done < len(view):
        done += os.pwrite(fd, view[done:], offset + done)


def fsync_dir(path: Path) -> None:
    """Make a rename or a new entry in directory ``path`` durable (best effort where refused)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - directories that cannot be opened (Windows)
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse fsync on directories
        pass
    finally:
        os.close(fd)


def atomic_write(
    path: Path,
    data: bytes | bytearray | memoryview | str,
    *,
    mode: int = 0o600,
    parent_mode: int | None = 0o700,
) -> None:
    """Replace ``path`` with ``data`` atomically and durably.

    Args:
        path: The file to create or replace.
        data: The new content; ``str`` is written as UTF-8.
        mode: The new file's permission bits, applied whatever the umask.
        parent_mode: Create missing parent directories with this mode; ``None`` requires the
            parent to exist.

    Raises:
        OSError: The directory or the file cannot be written (nothing is left behind).
    """
    if parent_mode is not None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=parent_mode)
    body = data.encode("utf-8") if isinstance(data, str) else data
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        try:
            if hasattr(os, "fchmod"):
                os.fchmod(fd, mode)  # the umask may have narrowed (or widened) what open() gave
            write_all(fd, body)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
