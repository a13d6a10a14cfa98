"""Remote paths, ``/space/dir/file``: parsing and validation before anything is sent."""

from __future__ import annotations

import dataclasses

from jetraw._exceptions import InvalidPathError

__all__ = ["RemoteRef", "join", "parse_remote", "validate_path"]

_MAX_PATH_BYTES = 1024
_MAX_SEGMENT_BYTES = 255


@dataclasses.dataclass(frozen=True)
class RemoteRef:
    """A parsed remote path: the space, the path inside it (``""`` for its root), and whether
    it was written with a trailing slash (meaning a directory)."""

    space: str
    path: str
    directory: bool

    def __str__(self) -> str:
        tail = "/" if self.directory and self.path else ""
        return f"/{self.space}/{self.path}{tail}" if self.path else f"/{self.space}/"


def validate_path(path: str) -> str:
    """Check a space-relative path the way the server does; return it unchanged."""
    if not path:
        raise InvalidPathError("The path inside the space is empty.")
    if len(path.encode("utf-8", "surrogatepass")) > _MAX_PATH_BYTES:
        raise InvalidPathError(f"The path {path[:60]!r}... is longer than 1,024 bytes.")
    for segment in path.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidPathError(
                f"The path {path!r} has an empty, '.' or '..' segment: it would escape or "
                "leave its space."
            )
        if any(ord(c) < 32 or ord(c) == 127 for c in segment):
            raise InvalidPathError(f"The path {path!r} contains a control character.")
        if len(segment.encode("utf-8", "surrogatepass")) > _MAX_SEGMENT_BYTES:
            raise InvalidPathError(f"A segment of {path!r} is longer than 255 bytes.")
    return path


def parse_remote(text: str) -> RemoteRef:
    """Parse ``/space``, ``/space/`` or ``/space/a/b[/]``.

    Raises:
        InvalidPathError: Not absolute, no space, or a path that escapes its space.
    """
    if not isinstance(text, str) or not text.startswith("/"):
        raise InvalidPathError(f"A remote path starts with '/space/': got {text!r}.")
    body = text[1:]
    directory = body.endswith("/") or "/" not in body
    space, _, path = body.partition("/")
    if not space or any(ord(c) < 32 for c in space) or space in (".", ".."):
        raise InvalidPathError(f"No space name in the remote path {text!r}.")
    path = path[:-1] if path.endswith("/") else path
    if path:
        validate_path(path)
    return RemoteRef(space, path, directory)


def join(base: str, *names: str) -> str:
    """Join space-relative path pieces (``""`` is the space root)."""
    parts = [p for p in (base, *names) if p]
    return validate_path("/".join(parts))
