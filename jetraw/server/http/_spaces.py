"""``/api/v1/spaces``: the organisation's spaces (list, create, get)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from jetraw.server.http._deps import CallerDep
from jetraw.server.http._problems import problems
from jetraw.server.http._schemas import SpaceIn, SpaceList, SpaceOut, storage_dict
from jetraw.server.store import create_space, space_json, transaction

__all__ = ["router"]

# Tagged "accounts", as when these routes shared a module with /me: the tag is part of each
# operation id ("accounts.list_spaces") in the published OpenAPI document.
router = APIRouter(prefix="/api/v1", tags=["accounts"])


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
