"""Who is calling: the :class:`Principal` behind a Bearer access token, and the credential API.

Other server modules import authentication from here only.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import anyio.to_thread
from fastapi import Request

from jetraw.server._auth_keys import create_api_key, revoke_api_key
from jetraw.server._passwords import hash_password, verify_password
from jetraw.server._problems import Problem
from jetraw.server._runtime import now as server_now
from jetraw.server._state import AppState
from jetraw.server._tokens import verify_access_token

__all__ = [
    "Principal",
    "authenticate_access_token",
    "create_api_key",
    "hash_password",
    "require_principal",
    "revoke_api_key",
    "verify_password",
]


@dataclass(frozen=True)
class Principal:
    """The caller of an API request, as proven by its access token."""

    user_id: str
    organisation_id: str
    #: ``"api_key"`` or ``"refresh"`` (an interactive login's token family).
    credential_kind: str
    #: The API key id, or the token family id.
    credential_id: str


def authenticate_access_token(
    conn: sqlite3.Connection, token: str, *, now: float
) -> Principal | None:
    """The principal of a valid access token whose credential and membership are still live."""
    claims = verify_access_token(conn, token, now=now)
    if claims is None:
        return None
    if claims.credential_kind == "api_key":
        live = conn.execute(
            "SELECT 1 FROM api_keys WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
            (claims.credential_id, claims.user_id),
        ).fetchone()
    elif claims.credential_kind == "refresh":
        live = conn.execute(
            "SELECT 1 FROM token_families WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
            (claims.credential_id, claims.user_id),
        ).fetchone()
    else:
        return None
    if live is None:
        return None
    member = conn.execute(
        "SELECT 1 FROM memberships WHERE user_id = ? AND organisation_id = ?",
        (claims.user_id, claims.organisation_id),
    ).fetchone()
    if member is None:
        return None
    return Principal(
        user_id=claims.user_id,
        organisation_id=claims.organisation_id,
        credential_kind=claims.credential_kind,
        credential_id=claims.credential_id,
    )


def _unauthorized(detail: str) -> Problem:
    return Problem(
        401,
        "unauthorized",
        detail,
        headers={"WWW-Authenticate": 'Bearer realm="jetraw", error="invalid_token"'},
    )


async def require_principal(request: Request) -> Principal:
    """FastAPI dependency: the caller, or a ``401 unauthorized`` problem.

    Checks the signature and expiry of the Bearer token, and that its credential (API key or
    token family) is not revoked and the membership still exists, so revocation is immediate.
    """
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("A Bearer access token is required.")
    state: AppState = request.app.state.jetraw

    def check() -> Principal | None:
        return authenticate_access_token(state.db.conn(), token, now=server_now(state))

    principal = await anyio.to_thread.run_sync(check)
    if principal is None:
        raise _unauthorized("The access token is invalid, expired or revoked.")
    return principal
