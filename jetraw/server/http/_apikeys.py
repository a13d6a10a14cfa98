"""``/api/v1/api-keys``: the caller's API keys (list, create with an optional expiry, revoke)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from jetraw.server._problems import Problem
from jetraw.server.auth import (
    MAX_API_KEY_TTL,
    api_key_expiry,
    create_api_key,
    get_api_key,
    list_api_keys,
    revoke_api_key,
)
from jetraw.server.http._deps import CallerDep
from jetraw.server.http._problems import problems
from jetraw.server.http._schemas import ApiKeyOut

__all__ = ["ApiKeyIn", "ApiKeyList", "router"]

router = APIRouter(prefix="/api/v1", tags=["api-keys"])


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    #: Name (or id) of one of the caller's organisations; the token's organisation if omitted.
    organisation: str | None = Field(default=None, min_length=1, max_length=100)
    #: Seconds until the key stops working; the server's default (or never) if omitted.
    expires_in: int | None = Field(default=None, ge=1, le=MAX_API_KEY_TTL)
    #: When the key stops working (RFC 3339 with a time zone); instead of ``expires_in``.
    expires_at: str | None = Field(default=None, min_length=10, max_length=64)


class ApiKeyList(BaseModel):
    items: list[ApiKeyOut]


@router.get(
    "/api-keys", response_model=ApiKeyList, responses=problems(), summary="The caller's API keys"
)
def get_api_keys(caller: CallerDep) -> dict[str, Any]:
    return {"items": list_api_keys(caller.conn, caller.user_id)}


@router.post(
    "/api-keys",
    status_code=201,
    response_model=ApiKeyOut,
    responses=problems(400, 403),
    summary="Create an API key (the key is in this response only)",
)
def post_api_key(body: ApiKeyIn, caller: CallerDep) -> dict[str, Any]:
    if not body.name.strip() or not body.name.isprintable():
        raise Problem(400, "invalid_request", "name: 1-100 printable characters.")
    try:
        expires_at = api_key_expiry(
            now=caller.now(),
            expires_in=body.expires_in,
            expires_at=body.expires_at,
            default_ttl=caller.state.settings.api_key_default_ttl,
        )
    except ValueError as exc:
        raise Problem(400, "invalid_request", str(exc)) from None
    conn = caller.conn
    organisation_id = caller.organisation_id
    if body.organisation is not None:
        row = conn.execute(
            "SELECT id FROM organisations WHERE name = ? OR id = ?",
            (body.organisation, body.organisation),
        ).fetchone()
        organisation_id = row["id"] if row else ""
    try:
        key_json, key = create_api_key(
            conn,
            user_id=caller.user_id,
            organisation_id=organisation_id,
            name=body.name.strip(),
            now=caller.now(),
            expires_at=expires_at,
        )
    except LookupError:
        raise Problem(
            403, "not_a_member", "You are not a member of the requested organisation."
        ) from None
    return {**key_json, "key": key}


@router.delete(
    "/api-keys/{key_id}",
    status_code=204,
    responses=problems(404),
    summary="Revoke one of the caller's API keys",
)
def delete_api_key(key_id: str, caller: CallerDep) -> None:
    key = get_api_key(caller.conn, key_id)
    # Another user's key is "not found", never "forbidden": ids are not to be probed.
    if key is None or key["user_id"] != caller.user_id:
        raise Problem(404, "api_key_not_found", "No such API key.")
    revoke_api_key(caller.conn, key_id, now=caller.now())
