"""Typed wrappers of the state server's files and uploads endpoints (protocol v1)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import quote

from jetraw._crc import crc32c_hex, parse_crc32c_hex
from jetraw._exceptions import APIError, JetrawError
from jetraw._http import _CODE_TO_ERROR

__all__ = [
    "BatchItem",
    "RemoteDirectory",
    "RemoteFile",
    "Requester",
    "Upload",
    "abort_upload",
    "batch_complete",
    "batch_create_uploads",
    "complete_upload",
    "create_directory",
    "create_upload",
    "delete_directory",
    "delete_file",
    "get_upload",
    "iter_files",
    "list_uploads",
    "move_file",
    "set_storage_upload_id",
    "stat",
]


class Requester(Protocol):
    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        idempotent: bool | None = None,
    ) -> Any: ...


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


def problem_to_error(problem: Mapping[str, Any]) -> JetrawError:
    """The jetraw error of one problem document inside a batch answer."""
    code = str(problem.get("code") or "")
    status = problem.get("status")
    kind = _CODE_TO_ERROR.get(code) or APIError
    message = str(problem.get("detail") or problem.get("title") or code)
    return kind(
        message, status_code=status, code=code or None, request_id=problem.get("request_id")
    )


def _q(path: str) -> str:
    return quote(path, safe="/")


def _sp(space: str) -> str:
    return quote(space, safe="")


def entry_from_json(space: str, data: Mapping[str, Any]) -> RemoteFile | RemoteDirectory:
    if data.get("type") == "directory":
        return RemoteDirectory(space, str(data["path"]).rstrip("/"))
    return RemoteFile.from_json(space, data)


def checksum_json(crc32c: int, sha256: str | None = None) -> dict[str, str]:
    body = {"crc32c": crc32c_hex(crc32c)}
    if sha256:
        body["sha256"] = sha256
    return body


async def stat(api: Requester, space: str, path: str) -> RemoteFile | RemoteDirectory:
    data = await api._request("GET", f"/api/v1/spaces/{_sp(space)}/files/{_q(path)}")
    return entry_from_json(space, data)


async def iter_files(
    api: Requester, space: str, prefix: str = "", *, delimiter: str | None = None
) -> AsyncIterator[RemoteFile | RemoteDirectory]:
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"prefix": prefix, "limit": 1000}
        if delimiter:
            params["delimiter"] = delimiter
        if cursor:
            params["cursor"] = cursor
        data = await api._request("GET", f"/api/v1/spaces/{_sp(space)}/files", params=params)
        for item in data.get("items", []):
            yield entry_from_json(space, item)
        cursor = data.get("next_cursor")
        if not cursor:
            return


async def delete_file(
    api: Requester, space: str, path: str, *, recursive: bool = False
) -> list[str]:
    """Delete a file (or a tree); returns the garbage object keys to remove later."""
    params = {"recursive": "true"} if recursive else None
    data = await api._request(
        "DELETE", f"/api/v1/spaces/{_sp(space)}/files/{_q(path)}", params=params, idempotent=True
    )
    return [str(k) for k in (data or {}).get("garbage") or ()]


async def create_directory(
    api: Requester, space: str, path: str, *, exist_ok: bool = False
) -> RemoteDirectory:
    await api._request(
        "POST",
        f"/api/v1/spaces/{_sp(space)}/directories",
        json={"path": path, "exist_ok": exist_ok},
    )
    return RemoteDirectory(space, path)


async def delete_directory(api: Requester, space: str, path: str) -> None:
    await api._request("DELETE", f"/api/v1/spaces/{_sp(space)}/directories/{_q(path)}")


async def move_file(
    api: Requester, space: str, source: str, destination: str, *, overwrite: bool = False
) -> RemoteFile:
    data = await api._request(
        "POST",
        f"/api/v1/spaces/{_sp(space)}/move",
        json={"source": source, "destination": destination, "overwrite": overwrite},
    )
    return RemoteFile.from_json(space, data)


def _create_body(
    path: str,
    size: int | None,
    overwrite: bool,
    metadata: Mapping[str, str] | None,
    multipart: bool,
) -> dict[str, Any]:
    return {
        "path": path,
        "size": size,
        "overwrite": overwrite,
        "metadata": dict(metadata or {}),
        "multipart": multipart,
    }


async def create_upload(
    api: Requester,
    space: str,
    path: str,
    size: int | None,
    *,
    overwrite: bool = False,
    metadata: Mapping[str, str] | None = None,
    multipart: bool = False,
) -> Upload:
    """Start an upload; ``size=None`` (with ``multipart=True``): not known until complete."""
    data = await api._request(
        "POST",
        f"/api/v1/spaces/{_sp(space)}/uploads",
        json=_create_body(path, size, overwrite, metadata, multipart),
    )
    return Upload.from_json(data)


async def batch_create_uploads(
    api: Requester, space: str, items: Sequence[tuple[str, int, bool, Mapping[str, str] | None]]
) -> list[BatchItem]:
    """Create uploads for ``(path, size, overwrite, metadata)`` items (single-PUT files)."""
    body = {"uploads": [_create_body(p, s, o, m, False) for p, s, o, m in items]}
    data = await api._request("POST", f"/api/v1/spaces/{_sp(space)}/uploads/batch", json=body)
    out = []
    for item in data.get("results", []):
        if item.get("error"):
            out.append(BatchItem(None, problem_to_error(item["error"])))
        else:
            out.append(BatchItem(Upload.from_json(item["upload"]), None))
    return out


async def complete_upload(
    api: Requester, upload_id: str, size: int, crc32c: int, space: str
) -> RemoteFile:
    data = await api._request(
        "POST",
        f"/api/v1/uploads/{quote(upload_id, safe='')}/complete",
        json={"size": size, "checksum": checksum_json(crc32c)},
        idempotent=True,
    )
    return RemoteFile.from_json(space, data)


async def batch_complete(
    api: Requester, space: str, items: Sequence[tuple[str, int, int]]
) -> list[BatchItem]:
    """Complete ``(upload_id, size, crc32c)`` items."""
    body = {"uploads": [{"id": u, "size": s, "checksum": checksum_json(c)} for u, s, c in items]}
    data = await api._request("POST", "/api/v1/uploads/batch-complete", json=body, idempotent=True)
    out = []
    for item in data.get("results", []):
        if item.get("error"):
            out.append(BatchItem(None, problem_to_error(item["error"])))
        else:
            out.append(BatchItem(RemoteFile.from_json(space, item["file"]), None))
    return out


async def abort_upload(api: Requester, upload_id: str) -> None:
    await api._request("DELETE", f"/api/v1/uploads/{quote(upload_id, safe='')}", idempotent=True)


async def get_upload(api: Requester, upload_id: str) -> Upload:
    data = await api._request("GET", f"/api/v1/uploads/{quote(upload_id, safe='')}")
    return Upload.from_json(data)


async def set_storage_upload_id(api: Requester, upload_id: str, storage_upload_id: str) -> None:
    await api._request(
        "PATCH",
        f"/api/v1/uploads/{quote(upload_id, safe='')}",
        json={"storage_upload_id": storage_upload_id},
        idempotent=True,
    )


async def list_uploads(
    api: Requester, space: str | None = None, status: str | None = "pending"
) -> list[Upload]:
    params = {k: v for k, v in {"space": space, "status": status}.items() if v}
    data = await api._request("GET", "/api/v1/uploads", params=params)
    return [Upload.from_json(item) for item in data.get("items", [])]
