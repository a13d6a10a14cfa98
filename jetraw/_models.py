"""Typed value objects returned by the state server (identity, organisations, spaces, API keys).

They are frozen dataclasses built from the protocol's JSON (``docs/protocol.md``) by
``from_json`` class methods that ignore unknown fields, so a newer server does not break an older
SDK.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

__all__ = [
    "ApiKey",
    "Identity",
    "LoginInfo",
    "LogoutResult",
    "Membership",
    "Organisation",
    "Space",
    "User",
]


def _str(data: Mapping[str, Any], key: str, default: str = "") -> str:
    value = data.get(key, default)
    return default if value is None else str(value)


def _opt(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return None if value is None else str(value)


@dataclasses.dataclass(frozen=True)
class User:
    """A person with an account on the platform."""

    id: str
    email: str
    name: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> User:
        """Build from the protocol's ``user`` object."""
        return cls(id=_str(data, "id"), email=_str(data, "email"), name=_str(data, "name"))


@dataclasses.dataclass(frozen=True)
class Organisation:
    """An organisation; ``role`` is the caller's role in it where the server says so."""

    id: str
    name: str
    role: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Organisation:
        """Build from the protocol's ``organisation`` object."""
        return cls(id=_str(data, "id"), name=_str(data, "name"), role=_opt(data, "role"))


@dataclasses.dataclass(frozen=True)
class Membership:
    """The caller's membership of one organisation."""

    organisation: Organisation
    role: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Membership:
        """Build from one item of ``/me``'s ``memberships``."""
        return cls(
            organisation=Organisation.from_json(data.get("organisation") or {}),
            role=_str(data, "role"),
        )


@dataclasses.dataclass(frozen=True)
class Identity:
    """Who the client is: ``await client.whoami()``."""

    user: User
    organisation: Organisation
    role: str
    memberships: tuple[Membership, ...] = ()

    @property
    def user_id(self) -> str:
        """The user's id."""
        return self.user.id

    @property
    def email(self) -> str:
        """The user's email address."""
        return self.user.email

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Identity:
        """Build from the answer of ``GET /api/v1/me``."""
        return cls(
            user=User.from_json(data.get("user") or {}),
            organisation=Organisation.from_json(data.get("organisation") or {}),
            role=_str(data, "role"),
            memberships=tuple(Membership.from_json(m) for m in data.get("memberships") or ()),
        )


@dataclasses.dataclass(frozen=True)
class Space:
    """A space: a named file namespace whose bytes live in ``storage``.

    ``storage`` is the protocol's descriptor, ``{"type": "s3", "bucket", "prefix", "region",
    "endpoint_url", "addressing_style"}`` or ``{"type": "local", "root"}``.
    """

    id: str
    name: str
    organisation: Organisation
    storage: Mapping[str, Any]
    created_at: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Space:
        """Build from the protocol's ``Space`` object."""
        return cls(
            id=_str(data, "id"),
            name=_str(data, "name"),
            organisation=Organisation.from_json(data.get("organisation") or {}),
            storage=dict(data.get("storage") or {}),
            created_at=_opt(data, "created_at"),
        )


@dataclasses.dataclass(frozen=True)
class ApiKey:
    """An API key. ``key`` (the secret) is set only in the answer that created it."""

    id: str
    name: str
    organisation: Organisation
    hint: str = ""
    created_at: str | None = None
    last_used_at: str | None = None
    revoked_at: str | None = None
    key: str | None = dataclasses.field(default=None, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ApiKey:
        """Build from the protocol's ``ApiKey`` object."""
        return cls(
            id=_str(data, "id"),
            name=_str(data, "name"),
            organisation=Organisation.from_json(data.get("organisation") or {}),
            hint=_str(data, "hint"),
            created_at=_opt(data, "created_at"),
            last_used_at=_opt(data, "last_used_at"),
            revoked_at=_opt(data, "revoked_at"),
            key=_opt(data, "key"),
        )


@dataclasses.dataclass(frozen=True)
class LogoutResult:
    """What ``await client.logout()`` did.

    ``still_logged_in_by`` names environment variables that will keep logging you in (unset them
    to be fully logged out).
    """

    revoked: bool
    removed: tuple[str, ...] = ()
    still_logged_in_by: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class LoginInfo:
    """Which login a client uses and where it comes from: ``await client.login_info()``.

    Nothing is sent to the server to build it: it says which credential is in force, not
    whether the server accepts it (:meth:`~jetraw.aio.AsyncClient.whoami` does).

    Attributes:
        server: The state server in use (``None`` if none is configured).
        profile: The profile name used for resolution and written by logins.
        organisation: The organisation in force, as far as the client knows it.
        auth_source: Where the credential comes from (``"argument"``,
            ``"env:JETRAW_API_KEY"``, ``"profile:NAME"``) or ``None`` (none found).
        saved_server: The server of the profile's saved login, or ``None`` (no saved login).
        stored_in: Where the saved secret lives (``"OS keyring (...)"``, a file, ``"process
            memory"``) when the credential in force comes from the profile; else ``None``.
        unusable_reason: Why the saved login is not used when it belongs to another server
            than the one in use (with what to do about it); ``None`` otherwise.
    """

    server: str | None
    profile: str
    organisation: str | None
    auth_source: str | None
    saved_server: str | None = None
    stored_in: str | None = None
    unusable_reason: str | None = None
