"""``/api/v1``: who am I, my organisations, the organisation's spaces."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from jetraw.server._accounts import get_user, memberships_of, role_of, user_json
from jetraw.server._db import transaction
from jetraw.server._deps import CallerDep, problems
from jetraw.server._problems import Problem
from jetraw.server._schemas import (
    MeOut,
    OrganisationList,
    SpaceIn,
    SpaceList,
    SpaceOut,
    storage_dict,
)
from jetraw.server._spaces import create_space, space_json

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


@router.get(
    "/spaces",
    response_model=SpaceList,
    response_model_exclude_unset=True,
    responses=problems(),
    summary="Spaces of the organisation",
)
def list_spaces(caller: CallerDep) -> dict[str, Any]:
    organisation = caller.organisation()
    rows = caller.conn.execute(
        "SELECT * FROM spaces WHERE organisation_id = ? ORDER BY name", (caller.organisation_id,)
    ).fetchall()
    return {"items": [space_json(row, organisation) for row in rows]}


@router.post(
    "/spaces",
    status_code=201,
    response_model=SpaceOut,
    response_model_exclude_unset=True,
    responses=problems(400, 403, 409),
    summary="Create a space (organisation admins)",
)
def post_space(body: SpaceIn, caller: CallerDep) -> dict[str, Any]:
    with transaction(caller.conn) as conn:
        caller.require_admin()
        row = create_space(
            conn,
            organisation_id=caller.organisation_id,
            name=body.name,
            storage=storage_dict(body.storage),
            settings=caller.state.settings,
            now=caller.stamp(),
        )
        return space_json(row, caller.organisation())


@router.get(
    "/spaces/{space}",
    response_model=SpaceOut,
    response_model_exclude_unset=True,
    responses=problems(404),
    summary="One space",
)
def get_space(space: str, caller: CallerDep) -> dict[str, Any]:
    return space_json(caller.space(space), caller.organisation())
