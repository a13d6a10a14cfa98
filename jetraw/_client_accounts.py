"""The account calls of ``AsyncClient``: identity, organisations, spaces and API keys."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from jetraw._models import ApiKey, Identity, Organisation, Space

__all__ = ["API", "_AccountsMixin"]

API = "/api/v1"


class _AccountsMixin:
    """Who you are, your organisations, their spaces, and your API keys (``AsyncClient``)."""

    if TYPE_CHECKING:
        _spaces: dict[str, Space]

        async def _request(
            self,
            method: str,
            path: str,
            *,
            json: Any = None,
            params: Mapping[str, Any] | None = None,
            idempotent: bool | None = None,
        ) -> Any: ...

    # -- account --------------------------------------------------------------------------------

    async def whoami(self) -> Identity:
        """Who this client is: user, organisation, role and memberships.

        Returns:
            The identity behind the client's credentials.

        Raises:
            LoginRequiredError: No credentials.
            InvalidCredentialsError: The credentials were rejected.
        """
        return Identity.from_json(await self._request("GET", f"{API}/me"))

    async def list_organisations(self) -> list[Organisation]:
        """The organisations the user is a member of, with the user's role in each.

        Returns:
            The organisations.
        """
        data = await self._request("GET", f"{API}/organisations")
        return [Organisation.from_json(item) for item in data.get("items", [])]

    # -- spaces ---------------------------------------------------------------------------------

    async def list_spaces(self) -> list[Space]:
        """The spaces of the client's organisation.

        Returns:
            The spaces, in the server's order.
        """
        data = await self._request("GET", f"{API}/spaces")
        spaces = [Space.from_json(item) for item in data.get("items", [])]
        self._spaces.update((s.name, s) for s in spaces)
        return spaces

    async def get_space(self, name: str) -> Space:
        """One space by name (cached for the life of the client).

        Args:
            name: The space name.

        Returns:
            The space.

        Raises:
            SpaceNotFoundError: No such space in the client's organisation.
        """
        space = self._spaces.get(name)
        if space is None:
            data = await self._request("GET", f"{API}/spaces/{quote(name, safe='')}")
            space = self._spaces[name] = Space.from_json(data)
        return space

    async def create_space(self, name: str, storage: Mapping[str, Any] | None = None) -> Space:
        """Create a space (organisation admins only).

        Args:
            name: The new space's name.
            storage: The storage descriptor (``{"type": "s3", "bucket": ..., ...}`` or
                ``{"type": "local", "root": ...}``); ``None`` lets the server choose.

        Returns:
            The new space.

        Raises:
            ConflictError: A space of that name exists.
            PermissionDeniedError: You are not an admin of the organisation.
        """
        body: dict[str, Any] = {"name": name}
        if storage is not None:
            body["storage"] = dict(storage)
        space = Space.from_json(await self._request("POST", f"{API}/spaces", json=body))
        self._spaces[space.name] = space
        return space

    # -- API keys -------------------------------------------------------------------------------

    async def list_api_keys(self) -> list[ApiKey]:
        """Your API keys (without their secrets; ``hint`` is the last 4 characters).

        Returns:
            The keys, revoked ones included.
        """
        data = await self._request("GET", f"{API}/api-keys")
        return [ApiKey.from_json(item) for item in data.get("items", [])]

    async def create_api_key(self, name: str, *, organisation: str | None = None) -> ApiKey:
        """Create an API key. Its secret, ``key``, is in this answer only.

        Args:
            name: A label for the key.
            organisation: The key's default organisation (default: the client's).

        Returns:
            The key, with ``key`` set.
        """
        body: dict[str, Any] = {"name": name}
        if organisation is not None:
            body["organisation"] = organisation
        return ApiKey.from_json(await self._request("POST", f"{API}/api-keys", json=body))

    async def revoke_api_key(self, key_id: str) -> None:
        """Revoke one of your API keys.

        Args:
            key_id: The key's ``id``.

        Raises:
            ApiKeyNotFoundError: No such key of yours.
        """
        await self._request("DELETE", f"{API}/api-keys/{quote(key_id, safe='')}")
