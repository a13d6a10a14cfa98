"""The state server's file, directory and upload records (protocol v1), as value objects."""

from __future__ import annotations

import dataclasses
import datetime
import stat as _stat
from collections.abc import Mapping
from typing import Any

from jetraw._crc import crc32c_hex, parse_crc32c_hex

__all__ = [
    "BatchItem",
    "RemoteDirectory",
    "RemoteFile",
    "Upload",
    "checksum_json",
    "entry_from_json",
    "parse_time",
]


def parse_time(text: str | None) -> datetime.datetime | None:
    """An ISO-8601 time of the protocol (``...Z``) as an aware datetime (``None`` stays)."""
    if not text:
        return None
    moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


def _epoch(moment: datetime.datetime | None) -> float:
    return 0.0 if moment is None else moment.timestamp()


@dataclasses.dataclass(frozen=True)
class RemoteFile:
    """A file in a space (the protocol's ``File``)."""

    space: str
    path: str
    size: int
    crc32c: int | None
    metadata: Mapping[str, str]
    object_key: str
    created_at: str | None = None
    modified_at: str | None = None
    sha256: str | None = None
    #: Object keys this operation replaced, for the client to delete after a grace period
    #: (S3 spaces of a server without storage credentials).
    garbage: tuple[str, ...] = dataclasses.field(default=(), compare=False, repr=False)

    @property
    def checksum(self) -> str | None:
        """The CRC-32C as 8 hex digits."""
        return None if self.crc32c is None else crc32c_hex(self.crc32c)

    # -- pathlib/os.stat_result-style views (``created_at``/``modified_at`` stay the protocol's
    # ISO strings, which ``jetraw stat --json`` prints as they are) ----------------------------

    @property
    def created(self) -> datetime.datetime | None:
        """When the file was created, an aware UTC datetime (``None`` if the server said none)."""
        return parse_time(self.created_at)

    @property
    def modified(self) -> datetime.datetime | None:
        """When the file was last written, an aware UTC datetime (``created`` if never since)."""
        return parse_time(self.modified_at) or self.created

    @property
    def st_size(self) -> int:
        """Like ``os.stat_result.st_size``: :attr:`size`."""
        return self.size

    @property
    def st_mtime(self) -> float:
        """Like ``os.stat_result.st_mtime``: :attr:`modified` in epoch seconds (0.0 if unknown)."""
        return _epoch(self.modified)

    @property
    def st_ctime(self) -> float:
        """Like ``os.stat_result.st_ctime``: :attr:`created` in epoch seconds (0.0 if unknown).

        A remote file is never changed in place (a write replaces it), so its creation time is
        also the time its record last changed.
        """
        return _epoch(self.created)

    @property
    def st_birthtime(self) -> float:
        """Like ``os.stat_result.st_birthtime``: :attr:`created` in epoch seconds."""
        return _epoch(self.created)

    @property
    def st_mode(self) -> int:
        """Like ``os.stat_result.st_mode``: a regular file (``stat.S_ISREG``), mode ``0o644``."""
        return _stat.S_IFREG | 0o644

    @classmethod
    def from_json(cls, space: str, data: Mapping[str, Any]) -> RemoteFile:
        checksum = data.get("checksum") or {}
        crc = checksum.get("crc32c")
        return cls(
            space=space,
            path=str(data["path"]),
            size=int(data.get("size") or 0),
            crc32c=parse_crc32c_hex(crc) if crc else None,
            metadata=dict(data.get("metadata") or {}),
            object_key=str(data.get("object_key") or ""),
            created_at=data.get("created_at"),
            modified_at=data.get("modified_at"),
            sha256=checksum.get("sha256"),
            garbage=tuple(str(k) for k in data.get("garbage") or ()),
        )


@dataclasses.dataclass(frozen=True)
class RemoteDirectory:
    """A directory in a space (implicit or explicit)."""

    space: str
    path: str

    # -- the os.stat_result-style names of RemoteFile; a directory records no size or times ----

    #: Directories record no times: ``None``, and ``0.0`` in the ``st_*`` names.
    created = None
    modified = None
    st_size = 0
    st_mtime = 0.0
    st_ctime = 0.0
    st_birthtime = 0.0

    @property
    def st_mode(self) -> int:
        """Like ``os.stat_result.st_mode``: a directory (``stat.S_ISDIR``), mode ``0o755``."""
        return _stat.S_IFDIR | 0o755


@dataclasses.dataclass(frozen=True)
class Upload:
    """An upload (the protocol's ``Upload``)."""

    id: str
    space: str
    path: str
    size: int
    object_key: str
    status: str
    storage_upload_id: str | None = None
    created_at: str | None = None
    expires_at: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Upload:
        space = data.get("space")
        if isinstance(space, Mapping):
            space = space.get("name")
        return cls(
            id=str(data["id"]),
            space=str(space or ""),
            path=str(data.get("path") or ""),
            size=int(data.get("size") or 0),
            object_key=str(data.get("object_key") or ""),
            status=str(data.get("status") or "pending"),
            storage_upload_id=data.get("storage_upload_id"),
            created_at=data.get("created_at"),
            expires_at=data.get("expires_at"),
        )


@dataclasses.dataclass(frozen=True)
class BatchItem:
    """One result of a batch call: a value or the error it raised."""

    value: Any
    error: BaseException | None


def entry_from_json(space: str, data: Mapping[str, Any]) -> RemoteFile | RemoteDirectory:
    if data.get("type") == "directory":
        return RemoteDirectory(space, str(data["path"]).rstrip("/"))
    return RemoteFile.from_json(space, data)


def checksum_json(crc32c: int, sha256: str | None = None) -> dict[str, str]:
    body = {"crc32c": crc32c_hex(crc32c)}
    if sha256:
        body["sha256"] = sha256
    return body
