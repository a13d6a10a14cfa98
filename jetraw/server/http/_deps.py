"""What the routers share about a request: its caller, its client address, the rate limit.

:data:`CallerDep` is the dependency of every ``/api/v1`` handler: it checks the Bearer access
token (signature, expiry, and that its credential and membership are still live, so revocation
is immediate) and hands the handler a :class:`Caller`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any

import anyio.to_thread
from fastapi import Depends, Request

from jetraw.server._problems import Problem
from jetraw.server.auth import Principal, authenticate_access_token, shared_hit
from jetraw.server.http._state import AppState, state_of
from jetraw.server.store import (
    Connection,
    Row,
    find_space,
    get_organisation,
    organisation_json,
    rfc3339,
    role_of,
)

__all__ = [
    "Caller",
    "CallerDep",
    "check_rate_limit",
    "client_address",
    "issuer",
    "require_principal",
]


def client_address(request: Request) -> str:
    """The peer address (proxies are not trusted: the reference server binds directly)."""
    return request.client.host if request.client else "unknown"


def issuer(request: Request) -> str:
    """The server's public base URL, without a trailing slash."""
    base = state_of(request).settings.base_url or str(request.base_url)
    return base.rstrip("/")


async def check_rate_limit(request: Request, bucket: str) -> int | None:
    """Count one request of ``bucket`` from the client; the ``Retry-After`` seconds if over.

    On PostgreSQL the count is a database write (shared by every instance), so it runs on a
    worker thread: a wait for the write lock never blocks the event loop.
    """
    state = state_of(request)
    limit = int(state.setting("rate_limit_per_minute"))
    key = (bucket, client_address(request))
    if state.db.backend == "postgresql" and limit > 0:
        now = state.now()
        wait = await anyio.to_thread.run_sync(
            lambda: shared_hit(state.db.conn(), key, limit, now=now)
        )
    else:
        wait = state.rate_limiter.hit(key, limit)
    return None if wait is None else max(1, math.ceil(wait))


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
    state = state_of(request)

    def check() -> Principal | None:
        return authenticate_access_token(state.db.conn(), token, now=state.now())

    principal = await anyio.to_thread.run_sync(check)
    if principal is None:
        raise _unauthorized("The access token is invalid, expired or revoked.")
    return principal


@dataclass
class Caller:
    """The authenticated caller of one request, with the handles a handler needs."""

    state: AppState
    principal: Principal

    @property
    def conn(self) -> Connection:
        # The connection of the thread running the handler (never captured across threads).
        return self.state.db.conn()

    @property
    def user_id(self) -> str:
        return self.principal.user_id

    @property
    def organisation_id(self) -> str:
        return self.principal.organisation_id

    def now(self) -> float:
        return self.state.now()

    def stamp(self) -> str:
        return rfc3339(self.state.now())

    def delete_after(self) -> float:
        return self.state.now() + self.state.settings.garbage_grace_seconds

    def organisation(self) -> dict[str, Any]:
        row = get_organisation(self.conn, self.organisation_id)
        if row is None:
            raise Problem(404, "organisation_not_found", "The organisation no longer exists.")
        return organisation_json(row)

    def space(self, name: str) -> Row:
        return find_space(self.conn, self.organisation_id, name)

    def require_admin(self) -> None:
        if role_of(self.conn, self.user_id, self.organisation_id) != "admin":
            raise Problem(403, "forbidden", "Only an admin of the organisation may do this.")


async def _caller(
    request: Request, principal: Annotated[Principal, Depends(require_principal)]
) -> Caller:
    return Caller(state=state_of(request), principal=principal)


CallerDep = Annotated[Caller, Depends(_caller)]
