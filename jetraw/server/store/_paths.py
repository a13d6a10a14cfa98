"""File paths inside a space: the one place they are validated and normalised.

A path is a relative POSIX path (``dir/sub/file.tif``), NFC-normalised, of non-empty segments
other than ``.`` and ``..``, without backslashes, control characters or lone surrogates, at most
1,024 UTF-8 bytes long with segments of at most 255 bytes. Explicit directories are stored with a
trailing ``/`` so they sort where S3 puts common prefixes (after ``a/b.txt``, before ``a/b/x``).
"""

from __future__ import annotations

import re
import unicodedata

from jetraw.server._problems import Problem

__all__ = [
    "CONTROL_CHARACTERS",
    "FORBIDDEN_CHARACTERS",
    "MAX_PATH_BYTES",
    "MAX_SEGMENT_BYTES",
    "SURROGATES",
    "ancestors",
    "check_text",
    "normalise_path",
    "normalise_prefix",
    "prefix_upper_bound",
]

MAX_PATH_BYTES = 1024
MAX_SEGMENT_BYTES = 255


def _invalid(detail: str) -> Problem:
    return Problem(400, "invalid_path", detail)


#: Unicode's categories Cc (C0, DEL, C1) and Cs (surrogates), exactly: one regex search instead
#: of a ``unicodedata.category`` call per character (each item of a batch is checked).
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f]")
FORBIDDEN_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
SURROGATES = re.compile("[\ud800-\udfff]")


def check_text(text: str) -> str:
    """NFC-normalise ``text``; refuse control characters and lone surrogates."""
    found = FORBIDDEN_CHARACTERS.search(text)
    if found is not None:
        raise _invalid(f"The path contains a forbidden character U+{ord(found.group()):04X}.")
    return unicodedata.normalize("NFC", text)


def normalise_path(path: str) -> str:
    """The canonical form of a file or directory path, or ``400 invalid_path``."""
    if not isinstance(path, str) or not path:
        raise _invalid("The path is empty.")
    path = check_text(path)
    if "\\" in path:
        raise _invalid("The path contains a backslash; use '/' between segments.")
    if path.startswith("/"):
        raise _invalid("The path must be relative to the space (no leading '/').")
    encoded = path.encode("utf-8")
    if len(encoded) > MAX_PATH_BYTES:
        raise _invalid(f"The path is longer than {MAX_PATH_BYTES} bytes.")
    for segment in path.split("/"):
        if segment == "":
            raise _invalid("The path has an empty segment ('//' or a trailing '/').")
        if segment in (".", ".."):
            raise _invalid("The path has a '.' or '..' segment.")
        if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
            raise _invalid(f"A path segment is longer than {MAX_SEGMENT_BYTES} bytes.")
    return path


def normalise_prefix(prefix: str) -> str:
    """A listing prefix: any string a path could start with (may be empty or end in '/')."""
    if prefix == "":
        return ""
    prefix = check_text(prefix)
    if "\\" in prefix or prefix.startswith("/") or len(prefix.encode("utf-8")) > MAX_PATH_BYTES:
        raise _invalid("The prefix cannot start any valid path.")
    segments = prefix.split("/")
    for segment in segments[:-1]:
        if segment in ("", ".", ".."):
            raise _invalid("The prefix has an empty, '.' or '..' segment.")
    return prefix


def ancestors(path: str) -> list[str]:
    """``a/b/c`` → ``["a", "a/b"]``."""
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def prefix_upper_bound(prefix: str) -> str | None:
    """The least string greater than every string starting with ``prefix`` (``None``: none)."""
    while prefix:
        last = ord(prefix[-1])
        if last < 0x10FFFF:
            nxt = last + 1
            if 0xD800 <= nxt <= 0xDFFF:
                nxt = 0xE000
            return prefix[:-1] + chr(nxt)
        prefix = prefix[:-1]
    return None
