"""OAuth 2.0 endpoints: discovery (RFC 8414), token (RFC 6749, 7636, 8628), device authorization
(RFC 8628) and revocation (RFC 7009). The browser-facing authorize page is in ``_pages``.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import FormData

from jetraw.server._problems import problem_body
from jetraw.server.auth import (
    CLIENT_ID,
    GrantError,
    TokenPolicy,
    create_device_request,
    grant_authorization_code,
    grant_device_code,
    grant_refresh_token,
    revoke_token,
    sha256_hex,
)
from jetraw.server.http._deps import check_rate_limit, issuer
from jetraw.server.http._problems import request_id_of
from jetraw.server.http._schemas import OAuthErrorOut
from jetraw.server.http._state import AppState, state_of
from jetraw.server.store import Connection

__all__ = ["DEVICE_GRANT", "GRANT_TYPES", "router"]

log = logging.getLogger("jetraw.server.oauth")

router = APIRouter(tags=["oauth"])

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
GRANT_TYPES = ("authorization_code", "refresh_token", DEVICE_GRANT)
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_FORM_SCHEMA: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {"type": "object", "additionalProperties": {"type": "string"}}
            }
        },
    }
}


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the OAuth errors (``application/json``, RFC 6749 §5.2)."""
    described = {
        400: "An OAuth error: invalid_request, invalid_grant, authorization_pending, ...",
        401: "invalid_client: an unknown client_id",
        429: "rate_limited: too many requests from this address (see Retry-After)",
    }
    return {s: {"model": OAuthErrorOut, "description": described[s]} for s in statuses}


def _oauth_error(request: Request, err: GrantError) -> JSONResponse:
    """RFC 6749 §5.2 error, with the RFC 9457 problem fields in the same object."""
    body = problem_body(
        err.status,
        err.code,
        err.description,
        request_id=request_id_of(request),
        error=err.error,
        error_description=err.description,
    )
    headers = {**_NO_STORE, **err.headers}
    if err.status == 401:
        headers.setdefault("WWW-Authenticate", 'Basic realm="jetraw"')
    return JSONResponse(body, status_code=err.status, headers=headers)


async def _read_form(request: Request) -> dict[str, str]:
    """The form parameters, each at most once (RFC 6749 §3.2), or ``invalid_request``."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        raise GrantError(
            "invalid_request", "Send the parameters as application/x-www-form-urlencoded."
        )
    try:
        form: FormData = await request.form(max_files=0, max_fields=50)
    except Exception as exc:  # malformed bodies of any kind are a client error
        raise GrantError("invalid_request", "The form body is malformed.") from exc
    params: dict[str, str] = {}
    for name, value in form.multi_items():
        if not isinstance(value, str):
            raise GrantError("invalid_request", "File parts are not accepted.")
        if name in params:
            raise GrantError("invalid_request", f"Parameter {name!r} was sent more than once.")
        if len(value) > 4096:
            raise GrantError("invalid_request", f"Parameter {name!r} is too long.")
        params[name] = value
    return params


def _required(params: dict[str, str], *names: str) -> list[str]:
    missing = [n for n in names if not params.get(n)]
    if missing:
        raise GrantError("invalid_request", "Missing parameter(s): " + ", ".join(missing) + ".")
    return [params[n] for n in names]


def _check_client(params: dict[str, str], *, required: bool) -> None:
    client_id = params.get("client_id")
    if client_id is None and not required:
        return
    if client_id is None:
        raise GrantError("invalid_request", "Missing parameter(s): client_id.")
    if client_id != CLIENT_ID:
        raise GrantError("invalid_client", "Unknown client_id.", status=401)


async def _run_db(state: AppState, fn: Callable[[Connection], Any]) -> Any:
    return await anyio.to_thread.run_sync(lambda: fn(state.db.conn()))


async def _rate_limit(request: Request, bucket: str) -> None:
    retry = await check_rate_limit(request, bucket)
    if retry is not None:
        raise GrantError(
            "rate_limited",
            f"Too many requests; retry in {retry} s.",
            status=429,
            headers={"Retry-After": str(retry)},
        )


@router.get("/.well-known/oauth-authorization-server", summary="Discovery (RFC 8414)")
def discovery(request: Request) -> dict[str, Any]:
    base = issuer(request)
    return {
        "issuer": base,
        "authorization_endpoint": f"{base}/oauth/authorize",
        "token_endpoint": f"{base}/oauth/token",
        "device_authorization_endpoint": f"{base}/oauth/device_authorization",
        "revocation_endpoint": f"{base}/oauth/revoke",
        "response_types_supported": ["code"],
        "grant_types_supported": list(GRANT_TYPES),
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none"],
        "revocation_endpoint_auth_methods_supported": ["none"],
    }


@router.post(
    "/oauth/token",
    summary="Token endpoint (RFC 6749 §3.2)",
    openapi_extra=_FORM_SCHEMA,
    responses=_errors(400, 401, 429),
)
async def token(request: Request) -> JSONResponse:
    state = state_of(request)
    grant_type = ""
    try:
        await _rate_limit(request, "token")
        params = await _read_form(request)
        grant_type = params.get("grant_type", "")
        if not grant_type:
            raise GrantError("invalid_request", "Missing parameter(s): grant_type.")
        if grant_type not in GRANT_TYPES:
            raise GrantError("unsupported_grant_type", "Unsupported grant_type.")
        _check_client(params, required=grant_type != "refresh_token")
        policy = TokenPolicy(
            now=state.now(),
            access_token_ttl=float(state.setting("access_token_ttl")),
            refresh_grace_seconds=float(state.setting("refresh_grace_seconds")),
        )
        organisation = params.get("organisation") or None
        if grant_type == "authorization_code":
            code, redirect_uri, verifier = _required(
                params, "code", "redirect_uri", "code_verifier"
            )
            body = await _run_db(
                state,
                lambda conn: grant_authorization_code(
                    conn,
                    policy,
                    code=code,
                    redirect_uri=redirect_uri,
                    code_verifier=verifier,
                    client_id=params.get("client_id"),
                    organisation=organisation,
                ),
            )
        elif grant_type == "refresh_token":
            (refresh,) = _required(params, "refresh_token")
            body = await _run_db(
                state,
                lambda conn: grant_refresh_token(
                    conn, policy, refresh_token=refresh, organisation=organisation
                ),
            )
        else:
            (device_code,) = _required(params, "device_code")
            body = await _run_db(
                state,
                lambda conn: grant_device_code(
                    conn, policy, device_code=device_code, organisation=organisation
                ),
            )
    except GrantError as err:
        if grant_type == "refresh_token":
            state.metrics.inc("jetraw_refresh_failures_total")
        return _oauth_error(request, err)
    state.metrics.inc("jetraw_token_grants_total", {"grant_type": grant_type})
    return JSONResponse(body, headers=_NO_STORE)


@router.post(
    "/oauth/device_authorization",
    summary="Device authorization (RFC 8628 §3.1)",
    openapi_extra=_FORM_SCHEMA,
    responses=_errors(400, 401, 429),
)
async def device_authorization(request: Request) -> JSONResponse:
    state = state_of(request)
    try:
        await _rate_limit(request, "device")
        params = await _read_form(request)
        _check_client(params, required=True)
    except GrantError as err:
        return _oauth_error(request, err)
    organisation = params.get("organisation") or None
    ttl = int(state.setting("device_code_ttl"))
    interval = int(state.setting("device_poll_interval"))
    moment = state.now()
    device_code = secrets.token_urlsafe(32)

    def create(conn: Connection) -> str:
        return create_device_request(
            conn,
            device_code_hash=sha256_hex(device_code),
            client_id=CLIENT_ID,
            organisation=organisation,
            expires_at=moment + ttl,
            interval=interval,
        )

    user_code: str = await _run_db(state, create)
    base = issuer(request)
    return JSONResponse(
        {
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri": f"{base}/device",
            "verification_uri_complete": f"{base}/device?user_code={user_code}",
            "expires_in": ttl,
            "interval": interval,
        },
        headers=_NO_STORE,
    )


@router.post(
    "/oauth/revoke",
    summary="Token revocation (RFC 7009)",
    openapi_extra=_FORM_SCHEMA,
    responses=_errors(400, 401, 429),
)
async def revoke(request: Request) -> JSONResponse:
    state = state_of(request)
    try:
        params = await _read_form(request)
        _check_client(params, required=False)
        (token_value,) = _required(params, "token")
    except GrantError as err:
        return _oauth_error(request, err)
    moment = state.now()
    await _run_db(state, lambda conn: revoke_token(conn, token_value, now=moment))
    return JSONResponse({}, headers=_NO_STORE)
