"""``/api/v1``: who am I, and my organisations."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from jetraw.server._problems import Problem
from jetraw.server.http._deps import CallerDep
from jetraw.server.http._problems import problems
from jetraw.server.http._schemas import MeOut, OrganisationList
from jetraw.server.store import get_user, memberships_of, role_of, user_json

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["accounts"])


@router.get(
    "/me",
    response_model=MeOut,
    response_model_exclude_unset=True,
    responses=problems(),
    summary="The caller",
)
def me(caller: CallerDep) -> dict[str, Any]:
    conn = caller.conn
    user = get_user(conn, caller.user_id)
    if user is None:
        raise Problem(401, "unauthorized", "The user no longer exists.")
    return {
        "user": user_json(user),
        "organisation": caller.organisation(),
        "role": role_of(conn, caller.user_id, caller.organisation_id),
        "memberships": memberships_of(conn, caller.user_id),
    }


@router.get(
    "/organisations",
    response_model=OrganisationList,
    response_model_exclude_unset=True,
    responses=problems(),
    summary="The caller's organisations",
)
def organisations(caller: CallerDep) -> dict[str, Any]:
    items = [
        {**m["organisation"], "role": m["role"]}
        for m in memberships_of(caller.conn, caller.user_id)
    ]
    return {"items": items}
