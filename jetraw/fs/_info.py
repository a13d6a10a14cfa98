"""fsspec's view of jetraw paths and entries: ``space/path`` names and ``info`` dictionaries."""

from __future__ import annotations

import datetime
from typing import Any

from jetraw.aio import RemoteDirectory, RemoteFile

__all__ = ["directory_info", "entry_info", "fs_name", "parse_time", "remote_of"]


def remote_of(path: str) -> str:
    """The jetraw remote path (``/space/path``) of an fsspec name (``space/path``)."""
    return "/" + path.strip("/")


def fs_name(space: str, path: str) -> str:
    """The fsspec name of ``path`` in ``space``."""
    return f"{space}/{path}".rstrip("/") if path else space


def directory_info(name: str) -> dict[str, Any]:
    """The ``info`` of a directory (a space is the directory at its root)."""
    return {"name": name, "size": 0, "type": "directory"}


def entry_info(entry: RemoteFile | RemoteDirectory) -> dict[str, Any]:
    """The ``info`` of a listed or looked-up entry.

    Files carry ``size``, ``crc32c`` (8 hex digits, the platform's checksum of the whole file),
    ``created``/``mtime`` (aware datetimes) and the user ``metadata``.
    """
    name = fs_name(entry.space, entry.path)
    if isinstance(entry, RemoteDirectory):
        return directory_info(name)
    return {
        "name": name,
        "size": entry.size,
        "type": "file",
        "crc32c": entry.checksum,
        "created": parse_time(entry.created_at),
        "mtime": parse_time(entry.modified_at),
        "metadata": dict(entry.metadata),
    }


def parse_time(text: str | None) -> datetime.datetime | None:
    """An ISO-8601 time of the protocol (``...Z``) as an aware datetime (``None`` stays)."""
    if not text:
        return None
    moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)
