"""Shared pieces of the API routers: the caller's context and documented problem responses."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from jetraw.server._accounts import get_organisation, organisation_json, role_of
from jetraw.server._app import state_of
from jetraw.server._problems import Problem
from jetraw.server._runtime import now, rfc3339
from jetraw.server._schemas import ProblemOut
from jetraw.server._security import Principal, require_principal
from jetraw.server._spaces import find_space
from jetraw.server._state import AppState

__all__ = ["Caller", "CallerDep", "problems"]

_DESCRIPTIONS = {
    400: "Invalid request, path or name",
    401: "Missing, expired or revoked access token",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict",
    413: "Body too large",
    415: "Body is not JSON",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for problem+json answers with these statuses (401 always)."""
    return {
        status: {
            "model": ProblemOut,
            "description": _DESCRIPTIONS.get(status, "Problem"),
            "content": {"application/problem+json": {}},
        }
        for status in sorted({401, *statuses})
    }


@dataclass
class Caller:
    """The authenticated caller of one request, with the handles a handler needs."""

    state: AppState
    principal: Principal

    @property
    def conn(self) -> sqlite3.Connection:
        # The connection of the thread running the handler (never captured across threads).
        return self.state.db.conn()

    @property
    def user_id(self) -> str:
        return self.principal.user_id

    @property
    def organisation_id(self) -> str:
        return self.principal.organisation_id

    def now(self) -> float:
        return now(self.state)

    def stamp(self) -> str:
        return rfc3339(now(self.state))

    def delete_after(self) -> float:
        return now(self.state) + self.state.settings.garbage_grace_seconds

    def organisation(self) -> dict[str, Any]:
        row = get_organisation(self.conn, self.organisation_id)
        if row is None:
            raise Problem(404, "organisation_not_found", "The organisation no longer exists.")
        return organisation_json(row)

    def space(self, name: str) -> sqlite3.Row:
        return find_space(self.conn, self.organisation_id, name)

    def require_admin(self) -> None:
        if role_of(self.conn, self.user_id, self.organisation_id) != "admin":
            raise Problem(403, "forbidden", "Only an admin of the organisation may do this.")


async def _caller(
    request: Request, principal: Annotated[Principal, Depends(require_principal)]
) -> Caller:
    return Caller(state=state_of(request), principal=principal)


CallerDep = Annotated[Caller, Depends(_caller)]
