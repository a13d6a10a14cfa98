"""The state server's file, directory and upload records (protocol v1), as value objects."""

from __future__ import annotations

import dataclasses
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
]


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
