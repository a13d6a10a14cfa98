"""Local paths built from remote ones: a download never writes outside its destination.

File paths come from the server (listings, stat). A path with ``..`` or an absolute path joined
onto the destination would write anywhere the user can; so every remote-derived piece is checked
segment by segment before it becomes a local path, and the result must resolve under the root.
"""

from __future__ import annotations

import os
from pathlib import Path, PureWindowsPath
from typing import Union

from jetraw._exceptions import InvalidPathError

__all__ = ["LocalPath", "check_relative", "safe_local_target"]

#: A local path argument.
LocalPath = Union[str, "os.PathLike[str]"]

# Characters that separate path components on this OS besides "/" ("\\" on Windows).
_SEPARATORS = tuple(s for s in (os.sep, os.altsep) if s and s != "/")


def check_relative(relative: str) -> list[str]:
    """The ``/``-separated segments of a relative path from the server, each safe as a name.

    Raises:
        InvalidPathError: Empty, absolute, or with an empty, ``.`` or ``..`` segment, a NUL or
            other control character, an OS path separator or (on Windows) a drive.
    """
    if not isinstance(relative, str) or not relative:
        raise InvalidPathError("The server named a file with an empty path.")
    if relative.startswith("/"):
        raise InvalidPathError(f"The server named a file with an absolute path: {relative!r}.")
    segments = relative.split("/")
    for segment in segments:
        if segment in ("", ".", ".."):
            raise InvalidPathError(
                f"The server named a file {relative!r}: an empty, '.' or '..' segment would "
                "leave the download's destination."
            )
        if any(ord(c) < 32 or ord(c) == 127 for c in segment):
            raise InvalidPathError(
                f"The server named a file with a control character: {relative!r}."
            )
        if any(sep in segment for sep in _SEPARATORS) or (
            os.name == "nt" and PureWindowsPath(segment).drive
        ):
            raise InvalidPathError(
                f"The server named a file {relative!r} that is not a plain name on this system."
            )
    return segments


def safe_local_target(dest_root: Path, relative: str) -> Path:
    """``dest_root`` joined with the server-given ``relative`` path, proven to stay under it.

    Args:
        dest_root: The local directory the download writes into.
        relative: A ``/``-separated path from the server (a file's path below the listed
            prefix, or its base name).

    Returns:
        The local path (``dest_root`` as given, joined with the segments).

    Raises:
        InvalidPathError: ``relative`` is unsafe (see :func:`check_relative`), or the joined
            path resolves outside ``dest_root`` (through a symbolic link, for instance).
    """
    target = dest_root.joinpath(*check_relative(relative))
    root = Path(os.path.realpath(dest_root))
    resolved = Path(os.path.realpath(target))
    if resolved == root or not resolved.is_relative_to(root):
        raise InvalidPathError(
            f"The server named a file {relative!r} that would be written outside {dest_root}."
        )
    return target
