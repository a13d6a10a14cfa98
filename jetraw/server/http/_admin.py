"""``/admin/v1``: operator API used by :class:`jetraw.testing.LocalPlatform` and scripts.

Enabled only when ``settings.admin_token`` is set; every call needs ``Authorization: Bearer
<admin token>`` (compared in constant time). It is documented in the OpenAPI document under the
``admin`` tag. Anything not found here is a 404, exactly as if the API did not exist, when the
admin API is disabled.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Request
from pydantic import Field

from jetraw.server._problems import Problem
from jetraw.server.auth import create_api_key, hash_password, revoke_api_key
from jetraw.server.http._problems import problems
from jetraw.server.http._schemas import (
    ApiKeyOut,
    DisplayText,
    InModel,
    NameText,
    OrganisationOut,
    SpaceOut,
    StorageIn,
    Text,
    UserOut,
    storage_dict,
)
from jetraw.server.http._state import AppState, state_of
from jetraw.server.store import (
    RUNTIME_SETTINGS,
    Connection,
    Row,
    add_membership,
    create_organisation,
    create_space,
    create_user,
    get_organisation_by_name,
    get_user,
    get_user_by_email,
    organisation_json,
    rfc3339,
    run_cleanup,
    space_json,
    transaction,
)

__all__ = [
    "AdminApiKeyIn",
    "AdminMemberIn",
    "AdminOrganisationIn",
    "AdminSettingsIn",
    "AdminSpaceIn",
    "AdminUserCreated",
    "AdminUserIn",
    "router",
]


async def _require_admin(request: Request) -> AppState:
    state = state_of(request)
    expected = state.settings.admin_token
    if not expected:
        raise Problem(404, "not_found", f"No route {request.method} {request.url.path}.")
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        token.strip().encode("utf-8", "replace"), expected.encode("utf-8")
    ):
        raise Problem(
            401,
            "unauthorized",
            "The admin token is missing or wrong.",
            headers={"WWW-Authenticate": 'Bearer realm="jetraw-admin"'},
        )
    return state


AdminDep = Annotated[AppState, Depends(_require_admin)]
router = APIRouter(prefix="/admin/v1", tags=["admin"])


class AdminOrganisationIn(InModel):
    name: NameText


class AdminUserIn(InModel):
    email: Annotated[Text, Field(max_length=320)]
    password: Annotated[Text | None, Field(max_length=1024)] = None
    name: Annotated[DisplayText | None, Field(max_length=200)] = None


class AdminUserCreated(UserOut):
    password: str


class AdminMemberIn(InModel):
    #: user id or email
    user: Text
    #: organisation name
    organisation: Text
    role: Annotated[str, Field(pattern="^(admin|member)$")] = "member"


class AdminApiKeyIn(InModel):
    user: Text
    organisation: Text
    name: Annotated[DisplayText, Field(min_length=1, max_length=200)] = "api key"


class AdminSpaceIn(InModel):
    organisation: Text
    name: NameText
    storage: StorageIn | None = None


class AdminSettingsIn(InModel):
    access_token_ttl: Annotated[int | None, Field(ge=1, le=10**7)] = None
    rate_limit_per_minute: Annotated[int | None, Field(ge=0, le=10**9)] = None
    refresh_grace_seconds: Annotated[float | None, Field(ge=0, le=10**6)] = None
    device_poll_interval: Annotated[int | None, Field(ge=1, le=3600)] = None


def _user(conn: Connection, ref: str) -> Row:
    row = get_user_by_email(conn, ref) if "@" in ref else get_user(conn, ref)
    if row is None:
        raise Problem(404, "user_not_found", "No such user.")
    return row


def _organisation(conn: Connection, name: str) -> Row:
    row = get_organisation_by_name(conn, name)
    if row is None:
        raise Problem(404, "organisation_not_found", f"No organisation {name!r}.")
    return row


@router.post(
    "/organisations",
    status_code=201,
    response_model=OrganisationOut,
    response_model_exclude_unset=True,
    responses=problems(400, 409),
    summary="Create an organisation",
)
def post_organisation(body: AdminOrganisationIn, state: AdminDep) -> dict[str, Any]:
    with transaction(state.db.conn()) as conn:
        return create_organisation(conn, body.name, now=rfc3339(state.now()))


@router.post(
    "/users",
    status_code=201,
    response_model=AdminUserCreated,
    response_model_exclude_unset=True,
    responses=problems(400, 409),
    summary="Create a user (a random password if none is given; returned once)",
)
async def post_user(body: AdminUserIn, state: AdminDep) -> dict[str, Any]:
    password = body.password or secrets.token_urlsafe(12)
    # Hashing is deliberately slow: keep it off the event loop.
    encoded = await anyio.to_thread.run_sync(
        lambda: hash_password(password, n=state.settings.password_hash_n)
    )

    def insert() -> dict[str, Any]:
        with transaction(state.db.conn()) as conn:
            return create_user(
                conn,
                email=body.email,
                name=body.name,
                password_hash=encoded,
                now=rfc3339(state.now()),
            )

    user = await anyio.to_thread.run_sync(insert)
    return {**user, "password": password}


@router.post(
    "/memberships",
    status_code=201,
    responses=problems(400, 404),
    summary="Add a user to an organisation (or change the role)",
)
def post_membership(body: AdminMemberIn, state: AdminDep) -> dict[str, Any]:
    with transaction(state.db.conn()) as conn:
        user = _user(conn, body.user)
        org = _organisation(conn, body.organisation)
        add_membership(
            conn,
            user_id=user["id"],
            organisation_id=org["id"],
            role=body.role,
            now=rfc3339(state.now()),
        )
    return {"user": user["id"], "organisation": organisation_json(org), "role": body.role}


@router.post(
    "/api-keys",
    status_code=201,
    response_model=ApiKeyOut,
    response_model_exclude_unset=True,
    responses=problems(400, 403, 404),
    summary="Create an API key for a member of an organisation",
)
def post_api_key(body: AdminApiKeyIn, state: AdminDep) -> dict[str, Any]:
    conn = state.db.conn()
    user = _user(conn, body.user)
    org = _organisation(conn, body.organisation)
    try:
        key_json, key = create_api_key(
            conn, user_id=user["id"], organisation_id=org["id"], name=body.name, now=state.now()
        )
    except LookupError:
        raise Problem(
            403, "not_a_member", "The user is not a member of the organisation."
        ) from None
    return {**key_json, "key": key}


@router.delete(
    "/api-keys/{key_id}",
    status_code=204,
    responses=problems(404),
    summary="Revoke an API key",
)
def delete_api_key(key_id: str, state: AdminDep) -> None:
    if not revoke_api_key(state.db.conn(), key_id, now=state.now()):
        raise Problem(404, "api_key_not_found", "No such API key.")


@router.post(
    "/spaces",
    status_code=201,
    response_model=SpaceOut,
    response_model_exclude_unset=True,
    responses=problems(400, 404, 409),
    summary="Create a space in any organisation",
)
def post_space(body: AdminSpaceIn, state: AdminDep) -> dict[str, Any]:
    with transaction(state.db.conn()) as conn:
        org = _organisation(conn, body.organisation)
        row = create_space(
            conn,
            organisation_id=org["id"],
            name=body.name,
            storage=storage_dict(body.storage),
            settings=state.settings,
            now=rfc3339(state.now()),
            operator=True,  # the admin API is the operator's: any local root
        )
        return space_json(row, organisation_json(org))


@router.patch(
    "/settings",
    responses=problems(400),
    summary="Change run-time settings (every process on the data dir follows within 0.5 s)",
)
def patch_settings(body: AdminSettingsIn, state: AdminDep) -> dict[str, Any]:
    for name, value in body.model_dump(exclude_none=True).items():
        state.runtime.set(name, value)
    return {name: state.setting(name) for name in RUNTIME_SETTINGS}


@router.post("/cleanup", responses=problems(), summary="Run the cleanup now")
def post_cleanup(state: AdminDep) -> dict[str, Any]:
    return run_cleanup(state.db, state.settings)
