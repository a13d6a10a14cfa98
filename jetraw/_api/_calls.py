"""The state-server API object: every call of protocol v1 as a method, over one ``request``.

``request`` is the one place an authenticated call is made: it takes a token from the token
source, refreshes it once on 401, and turns an error answer into a jetraw exception through the
one mapping (:func:`jetraw._http.error_from_response`; batch items through
:func:`jetraw._http.problem_to_error`), which keeps ``status_code``, ``code``, ``request_id``
and ``retry_after``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import quote, unquote

from jetraw._api._types import (
    BatchItem,
    RemoteDirectory,
    RemoteFile,
    Upload,
    checksum_json,
    entry_from_json,
)
from jetraw._exceptions import APIError, JetrawError, SpaceNotFoundError
from jetraw._http import StateServerHTTP, error_from_response, problem_to_error
from jetraw._models import ApiKey, Identity, Organisation, Space

__all__ = ["API_PREFIX", "Connection", "StateServerAPI", "TokenSource"]

API_PREFIX = "/api/v1"
_SPACE_IN_PATH = re.compile(rf"{API_PREFIX}/spaces/([^/?]+)")


class TokenSource(Protocol):
    """Access tokens for requests (the token manager)."""

    async def access_token(self) -> str: ...

    async def refresh(self, stale: str | None) -> str: ...


class Connection(Protocol):
    """What the API object needs from the client that owns it."""

    def check(self) -> None:
        """Raise if the owner may not be used now (closed, or another event loop)."""

    def http(self) -> StateServerHTTP:
        """The HTTP shell for the state server (built on first use)."""
        ...

    async def tokens(self) -> TokenSource:
        """The token source (built on first use)."""
        ...


def _q(path: str) -> str:
    return quote(path, safe="/")


def _sp(space: str) -> str:
    return quote(space, safe="")


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


class StateServerAPI:
    """The state server's calls, for one client (one server, one user, one organisation).

    Args:
        connection: The owner's HTTP shell, token source and usability check.
    """

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        #: Spaces by name, cached for the life of the client (a space's storage never changes).
        self.spaces: dict[str, Space] = {}

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        idempotent: bool | None = None,
    ) -> Any:
        """An authenticated request, returning the decoded JSON answer (``None`` for 204).

        Refreshes the access token once on 401.

        Raises:
            JetrawError: The error mapped from the problem ``code`` of the answer.
        """
        self.connection.check()
        tokens = await self.connection.tokens()
        http = self.connection.http()
        token = await tokens.access_token()
        response = await http.send(
            method, path, token=token, json=json, params=params, idempotent=idempotent
        )
        if response.status_code == 401:
            await response.aclose()
            token = await tokens.refresh(stale=token)
            response = await http.send(
                method, path, token=token, json=json, params=params, idempotent=idempotent
            )
        if response.status_code >= 400:
            error = error_from_response(response, server=http.server)
            if isinstance(error, SpaceNotFoundError) and path != f"{API_PREFIX}/spaces":
                await self._name_the_spaces(error, path)
            raise error
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise APIError(
                f"The server answered {method} {path} with a body that is not JSON.",
                status_code=response.status_code,
                request_id=response.headers.get("x-request-id"),
            ) from None

    async def _name_the_spaces(self, error: JetrawError, path: str) -> None:
        """Say which spaces exist in ``error``'s message, when the caller may list them."""
        try:
            spaces = await self.list_spaces()
        except JetrawError:
            return  # not allowed (or not reachable): the server's message stays as it is
        match = _SPACE_IN_PATH.match(path)
        name = unquote(match[1]) if match else None
        names = ", ".join(sorted(s.name for s in spaces)) or "none"
        organisation = spaces[0].organisation.name if spaces else ""
        if name and organisation:
            error.message = f"No space {name!r} in organisation {organisation!r}; spaces: {names}."
        else:
            error.message = f"{error.message.rstrip('.')}; spaces: {names}."
        error.args = (error.message,)

    # -- account, organisations, spaces, API keys -----------------------------------------------

    async def whoami(self) -> Identity:
        return Identity.from_json(await self.request("GET", f"{API_PREFIX}/me"))

    async def list_organisations(self) -> list[Organisation]:
        data = await self.request("GET", f"{API_PREFIX}/organisations")
        return [Organisation.from_json(item) for item in data.get("items", [])]

    async def list_spaces(self) -> list[Space]:
        data = await self.request("GET", f"{API_PREFIX}/spaces")
        spaces = [Space.from_json(item) for item in data.get("items", [])]
        self.spaces.update((s.name, s) for s in spaces)
        return spaces

    async def get_space(self, name: str) -> Space:
        space = self.spaces.get(name)
        if space is None:
            data = await self.request("GET", f"{API_PREFIX}/spaces/{_sp(name)}")
            space = self.spaces[name] = Space.from_json(data)
        return space

    async def create_space(self, name: str, storage: Mapping[str, Any] | None = None) -> Space:
        body: dict[str, Any] = {"name": name}
        if storage is not None:
            body["storage"] = dict(storage)
        space = Space.from_json(await self.request("POST", f"{API_PREFIX}/spaces", json=body))
        self.spaces[space.name] = space
        return space

    async def list_api_keys(self) -> list[ApiKey]:
        data = await self.request("GET", f"{API_PREFIX}/api-keys")
        return [ApiKey.from_json(item) for item in data.get("items", [])]

    async def create_api_key(self, name: str, *, organisation: str | None = None) -> ApiKey:
        body: dict[str, Any] = {"name": name}
        if organisation is not None:
            body["organisation"] = organisation
        return ApiKey.from_json(await self.request("POST", f"{API_PREFIX}/api-keys", json=body))

    async def revoke_api_key(self, key_id: str) -> None:
        await self.request("DELETE", f"{API_PREFIX}/api-keys/{_sp(key_id)}")

    # -- files and directories ------------------------------------------------------------------

    async def stat(self, space: str, path: str) -> RemoteFile | RemoteDirectory:
        data = await self.request("GET", f"{API_PREFIX}/spaces/{_sp(space)}/files/{_q(path)}")
        return entry_from_json(space, data)

    async def iter_files(
        self, space: str, prefix: str = "", *, delimiter: str | None = None
    ) -> AsyncIterator[RemoteFile | RemoteDirectory]:
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"prefix": prefix, "limit": 1000}
            if delimiter:
                params["delimiter"] = delimiter
            if cursor:
                params["cursor"] = cursor
            url = f"{API_PREFIX}/spaces/{_sp(space)}/files"
            data = await self.request("GET", url, params=params)
            for item in data.get("items", []):
                yield entry_from_json(space, item)
            cursor = data.get("next_cursor")
            if not cursor:
                return

    async def delete_file(self, space: str, path: str, *, recursive: bool = False) -> list[str]:
        """Delete a file (or a tree); returns the garbage object keys to remove later."""
        params = {"recursive": "true"} if recursive else None
        url = f"{API_PREFIX}/spaces/{_sp(space)}/files/{_q(path)}"
        data = await self.request("DELETE", url, params=params, idempotent=True)
        return [str(k) for k in (data or {}).get("garbage") or ()]

    async def create_directory(
        self, space: str, path: str, *, exist_ok: bool = False
    ) -> RemoteDirectory:
        body = {"path": path, "exist_ok": exist_ok}
        await self.request("POST", f"{API_PREFIX}/spaces/{_sp(space)}/directories", json=body)
        return RemoteDirectory(space, path)

    async def delete_directory(self, space: str, path: str) -> None:
        await self.request("DELETE", f"{API_PREFIX}/spaces/{_sp(space)}/directories/{_q(path)}")

    async def move_file(
        self, space: str, source: str, destination: str, *, overwrite: bool = False
    ) -> RemoteFile:
        body = {"source": source, "destination": destination, "overwrite": overwrite}
        data = await self.request("POST", f"{API_PREFIX}/spaces/{_sp(space)}/move", json=body)
        return RemoteFile.from_json(space, data)

    # -- uploads --------------------------------------------------------------------------------

    async def create_upload(
        self,
        space: str,
        path: str,
        size: int | None,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
        multipart: bool = False,
    ) -> Upload:
        """Start an upload; ``size=None`` (with ``multipart=True``): not known until complete."""
        body = _create_body(path, size, overwrite, metadata, multipart)
        data = await self.request("POST", f"{API_PREFIX}/spaces/{_sp(space)}/uploads", json=body)
        return Upload.from_json(data)

    async def batch_create_uploads(
        self, space: str, items: Sequence[tuple[str, int, bool, Mapping[str, str] | None]]
    ) -> list[BatchItem]:
        """Create uploads for ``(path, size, overwrite, metadata)`` items (single-PUT files)."""
        body = {"uploads": [_create_body(p, s, o, m, False) for p, s, o, m in items]}
        url = f"{API_PREFIX}/spaces/{_sp(space)}/uploads/batch"
        data = await self.request("POST", url, json=body)
        return [
            BatchItem(None, problem_to_error(item["error"]))
            if item.get("error")
            else BatchItem(Upload.from_json(item["upload"]), None)
            for item in data.get("results", [])
        ]

    async def complete_upload(
        self, upload_id: str, size: int, crc32c: int, space: str
    ) -> RemoteFile:
        data = await self.request(
            "POST",
            f"{API_PREFIX}/uploads/{_sp(upload_id)}/complete",
            json={"size": size, "checksum": checksum_json(crc32c)},
            idempotent=True,
        )
        return RemoteFile.from_json(space, data)

    async def batch_complete(
        self, space: str, items: Sequence[tuple[str, int, int]]
    ) -> list[BatchItem]:
        """Complete ``(upload_id, size, crc32c)`` items."""
        body = {
            "uploads": [{"id": u, "size": s, "checksum": checksum_json(c)} for u, s, c in items]
        }
        url = f"{API_PREFIX}/uploads/batch-complete"
        data = await self.request("POST", url, json=body, idempotent=True)
        return [
            BatchItem(None, problem_to_error(item["error"]))
            if item.get("error")
            else BatchItem(RemoteFile.from_json(space, item["file"]), None)
            for item in data.get("results", [])
        ]

    async def abort_upload(self, upload_id: str) -> None:
        await self.request("DELETE", f"{API_PREFIX}/uploads/{_sp(upload_id)}", idempotent=True)

    async def get_upload(self, upload_id: str) -> Upload:
        return Upload.from_json(await self.request("GET", f"{API_PREFIX}/uploads/{_sp(upload_id)}"))

    async def set_storage_upload_id(self, upload_id: str, storage_upload_id: str) -> None:
        await self.request(
            "PATCH",
            f"{API_PREFIX}/uploads/{_sp(upload_id)}",
            json={"storage_upload_id": storage_upload_id},
            idempotent=True,
        )

    async def list_uploads(
        self, space: str | None = None, status: str | None = "pending"
    ) -> list[Upload]:
        params = {k: v for k, v in {"space": space, "status": status}.items() if v}
        data = await self.request("GET", f"{API_PREFIX}/uploads", params=params)
        return [Upload.from_json(item) for item in data.get("items", [])]
