"""Pages for a person: the OAuth authorize (login) page and the device-code page.

``GET /oauth/authorize`` shows the login form; ``POST`` checks it and redirects to the loopback
``redirect_uri`` with a code (RFC 6749 §4.1, PKCE S256 required, RFC 8252 loopback redirects).
A user with several organisations and no (valid) ``organisation`` hint gets a second step with a
choice of organisation. ``/device`` approves or denies a device authorization (RFC 8628): the
person signs in first, and only then is the code looked up, so an anonymous visitor can neither
tell a live code from an unknown one nor deny someone else's request.
The settings page lives in ``_settings_pages``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from jetraw.server.auth import (
    CLIENT_ID,
    approve_device,
    authenticate_user,
    create_auth_code,
    csrf_ok,
    deny_device,
    error_block,
    error_page,
    esc,
    find_pending_device,
    hidden_fields,
    html_response,
    is_loopback_redirect,
    login_fields,
    make_ticket,
    message_page,
    normalise_user_code,
    organisation_select,
    page,
    read_ticket,
)
from jetraw.server.http._deps import check_rate_limit
from jetraw.server.http._forms import CSRF_FAILED, in_thread, read_page_form, render_with_csrf
from jetraw.server.http._state import state_of
from jetraw.server.store import Connection, Row, get_user, user_organisations

__all__ = ["WRONG_LOGIN", "AuthorizationRequest", "router"]

router = APIRouter(include_in_schema=False)

_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")
WRONG_LOGIN = "Wrong email or password."


async def _too_many(request: Request) -> Response | None:
    retry = await check_rate_limit(request, "login")
    if retry is None:
        return None
    return html_response(
        page(
            "Too many attempts",
            f'<p class="error" id="error">Too many attempts. Try again in {retry} seconds.</p>',
        ),
        429,
        {"Retry-After": str(retry)},
    )


# --- /oauth/authorize -------------------------------------------------------------------------


@dataclass(frozen=True)
class AuthorizationRequest:
    response_type: str
    client_id: str
    redirect_uri: str
    code_challenge: str
    code_challenge_method: str
    state: str | None


def _redirect(uri: str, params: Mapping[str, str | None]) -> RedirectResponse:
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(k, v) for k, v in params.items() if v is not None]
    target = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))
    return RedirectResponse(target, status_code=302, headers={"Cache-Control": "no-store"})


def _parse_authorization(
    params: Mapping[str, str],
) -> AuthorizationRequest | Response:
    """The validated request, an HTML error page (bad client/redirect), or an error redirect."""
    if params.get("client_id") != CLIENT_ID:
        return error_page("Unknown application", "The client_id of this request is not known.")
    redirect_uri = params.get("redirect_uri", "")
    if not is_loopback_redirect(redirect_uri):
        return error_page(
            "Invalid redirect URI",
            "redirect_uri must be a loopback address "
            "(http://127.0.0.1:PORT/..., http://[::1]:PORT/... or http://localhost:PORT/...).",
        )
    state = params.get("state") or None
    if params.get("response_type") != "code":
        return _redirect(
            redirect_uri,
            {
                "error": "unsupported_response_type",
                "error_description": "Only response_type=code is supported.",
                "state": state,
            },
        )
    challenge = params.get("code_challenge", "")
    if params.get("code_challenge_method") != "S256" or not _CHALLENGE.fullmatch(challenge):
        return _redirect(
            redirect_uri,
            {
                "error": "invalid_request",
                "error_description": "PKCE is required: code_challenge_method=S256 and a "
                "43-character code_challenge.",
                "state": state,
            },
        )
    return AuthorizationRequest("code", CLIENT_ID, redirect_uri, challenge, "S256", state)


def _authorize_step1(
    authz: AuthorizationRequest, hint: str | None, email: str = "", error: str | None = None
) -> Callable[[str], str]:
    def build(csrf: str) -> str:
        fields = {**asdict(authz), "organisation": hint, "csrf_token": csrf}
        return page(
            "Sign in to Jetraw",
            "<p>Sign in to let the Jetraw SDK / command-line tool on your computer act for you."
            "</p>"
            + error_block(error)
            + '<form id="login-form" method="post" action="/oauth/authorize">'
            + hidden_fields(fields)
            + login_fields(email)
            + '<button type="submit" id="submit" name="action" value="login">Sign in</button> '
            '<button type="submit" id="deny" name="action" value="deny" formnovalidate>'
            "Cancel</button></form>",
        )

    return build


def _choose_organisation(
    request: Request,
    conn: Connection,
    user: Row,
    organisations: list[dict[str, Any]],
    requested: str | None,
    *,
    action: str,
    hidden: Mapping[str, str | None],
    buttons: str,
    now: float,
) -> Response:
    """The organisation chooser, carrying a login ticket so the password is not asked again."""
    notice = _organisation_notice(organisations, requested)
    fields = {**hidden, "login_ticket": make_ticket(conn, request, user["id"], now=now)}
    email = user["email"]

    def build(csrf: str) -> str:
        return page(
            "Choose an organisation",
            f'<p>Signed in as <strong id="signed-in-as">{esc(email)}</strong>.</p>'
            + error_block(notice)
            + f'<form id="login-form" method="post" action="{esc(action)}">'
            + hidden_fields({**fields, "csrf_token": csrf})
            + organisation_select(organisations, requested)
            + buttons
            + "</form>",
        )

    return render_with_csrf(request, conn, build, 200 if notice is None else 400)


def _organisation_notice(organisations: list[dict[str, Any]], requested: str | None) -> str | None:
    if not organisations:
        return "Your account is not a member of any organisation."
    if requested is not None:
        return f"You are not a member of the organisation {requested!r}; choose another."
    return None


_AUTHORIZE_BUTTONS = (
    '<button type="submit" id="submit" name="action" value="login">Continue</button> '
    '<button type="submit" id="deny" name="action" value="deny">Cancel</button>'
)


@router.get("/oauth/authorize")
async def authorize_page(request: Request) -> Response:
    params = dict(request.query_params)
    authz = _parse_authorization(params)
    if not isinstance(authz, AuthorizationRequest):
        return authz
    hint = params.get("organisation") or None
    return await in_thread(
        request, lambda conn: render_with_csrf(request, conn, _authorize_step1(authz, hint))
    )


@router.post("/oauth/authorize")
async def authorize_submit(request: Request) -> Response:
    limited = await _too_many(request)
    if limited is not None:
        return limited
    form = await read_page_form(request)
    if form is None:
        return error_page("Bad request", "The form could not be read.")
    authz = _parse_authorization(form)
    if not isinstance(authz, AuthorizationRequest):
        return authz
    return await in_thread(request, lambda conn: _authorize_post(request, conn, form, authz))


def _authorize_post(
    request: Request, conn: Connection, form: dict[str, str], authz: AuthorizationRequest
) -> Response:
    state = state_of(request)
    if not csrf_ok(conn, request, form.get("csrf_token")):
        return error_page("Form expired", CSRF_FAILED, 403)
    if form.get("action") == "deny":
        return _redirect(
            authz.redirect_uri,
            {
                "error": "access_denied",
                "error_description": "The user cancelled the login.",
                "state": authz.state,
            },
        )
    moment = state.now()
    requested = form.get("organisation") or None
    ticket = form.get("login_ticket")
    if ticket:
        user_id = read_ticket(conn, request, ticket, now=moment)
        user = None if user_id is None else get_user(conn, user_id)
        if user is None:
            return render_with_csrf(
                request,
                conn,
                _authorize_step1(authz, None, error="Your sign-in expired; sign in again."),
                400,
            )
    else:
        email = form.get("email", "")
        user = authenticate_user(
            conn, email, form.get("password", ""), n=int(state.setting("password_hash_n"))
        )
        if user is None:
            return render_with_csrf(
                request, conn, _authorize_step1(authz, requested, email, WRONG_LOGIN), 401
            )
    organisations = user_organisations(conn, user["id"])
    chosen = next((o for o in organisations if o["name"] == requested), None)
    if chosen is None and requested is None and ticket is None and len(organisations) == 1:
        chosen = organisations[0]
    if chosen is None:
        return _choose_organisation(
            request,
            conn,
            user,
            organisations,
            requested,
            action="/oauth/authorize",
            hidden=asdict(authz),
            buttons=_AUTHORIZE_BUTTONS,
            now=moment,
        )
    code = create_auth_code(
        conn,
        user_id=user["id"],
        organisation_id=chosen["id"],
        client_id=authz.client_id,
        redirect_uri=authz.redirect_uri,
        code_challenge=authz.code_challenge,
        now=moment,
        ttl=float(state.setting("auth_code_ttl")),
    )
    return _redirect(authz.redirect_uri, {"code": code, "state": authz.state})


# --- /device ----------------------------------------------------------------------------------


_BAD_CODE = "That code is not valid or has expired."
_SIGN_IN_FIRST = "Sign in to approve or deny the request."
_DEVICE_BUTTONS = (
    '<button type="submit" id="approve" name="action" value="approve">Approve</button> '
    '<button type="submit" id="deny" name="action" value="deny" formnovalidate>Deny</button>'
)


def _device_step1(
    user_code: str, email: str = "", error: str | None = None
) -> Callable[[str], str]:
    def build(csrf: str) -> str:
        return page(
            "Connect a device",
            "<p>Enter the code shown on your device, then sign in to approve it.</p>"
            + error_block(error)
            + '<form id="login-form" method="post" action="/device">'
            + hidden_fields({"csrf_token": csrf})
            + '<label for="user_code">Code</label>'
            f'<input type="text" name="user_code" id="user_code" value="{esc(user_code)}" '
            'autocomplete="off" autocapitalize="characters" required>'
            + login_fields(email)
            + _DEVICE_BUTTONS
            + "</form>",
        )

    return build


@router.get("/device")
async def device_page(request: Request) -> Response:
    user_code = request.query_params.get("user_code", "")[:64]
    return await in_thread(
        request, lambda conn: render_with_csrf(request, conn, _device_step1(user_code))
    )


@router.post("/device")
async def device_submit(request: Request) -> Response:
    limited = await _too_many(request)
    if limited is not None:
        return limited
    form = await read_page_form(request)
    if form is None:
        return error_page("Bad request", "The form could not be read.")
    return await in_thread(request, lambda conn: _device_post(request, conn, form))


def _device_post(request: Request, conn: Connection, form: dict[str, str]) -> Response:
    state = state_of(request)
    if not csrf_ok(conn, request, form.get("csrf_token")):
        return error_page("Form expired", CSRF_FAILED, 403)
    moment = state.now()
    typed = form.get("user_code", "")[:64]
    email = form.get("email", "")
    user_code = normalise_user_code(typed)
    if not user_code:
        # Only the code's form is checked here: the answer tells nothing about live codes.
        return render_with_csrf(request, conn, _device_step1(typed, email, _BAD_CODE), 400)
    # The person comes first: before they have signed in, a live, an expired and an unknown
    # code get the same answer, and nobody can deny someone else's request.
    ticket = form.get("login_ticket")
    if ticket:
        user_id = read_ticket(conn, request, ticket, now=moment)
        user = None if user_id is None else get_user(conn, user_id)
        if user is None:
            error = "Your sign-in expired; sign in again."
            return render_with_csrf(request, conn, _device_step1(typed, "", error), 400)
    else:
        password = form.get("password", "")
        user = authenticate_user(conn, email, password, n=int(state.setting("password_hash_n")))
        if user is None:
            error = WRONG_LOGIN if email or password else _SIGN_IN_FIRST
            return render_with_csrf(request, conn, _device_step1(typed, email, error), 401)
    device = find_pending_device(conn, user_code, now=moment)
    if device is None:
        return render_with_csrf(request, conn, _device_step1(typed, email, _BAD_CODE), 400)
    if form.get("action") == "deny":
        deny_device(conn, user_code, now=moment)
        return message_page("Request denied", "The device was not connected.", element_id="denied")
    requested = (form.get("organisation") or None) if ticket else device["organisation_name"]
    organisations = user_organisations(conn, user["id"])
    chosen = next((o for o in organisations if o["name"] == requested), None)
    if chosen is None and requested is None and len(organisations) == 1:
        chosen = organisations[0]
    if chosen is None:
        return _choose_organisation(
            request,
            conn,
            user,
            organisations,
            requested,
            action="/device",
            hidden={"user_code": user_code},
            buttons=_DEVICE_BUTTONS,
            now=moment,
        )
    if not approve_device(
        conn, user_code, user_id=user["id"], organisation_id=chosen["id"], now=moment
    ):
        return render_with_csrf(request, conn, _device_step1(typed, "", _BAD_CODE), 400)
    return message_page(
        "Device connected",
        f"Signed in to {chosen['name']}. You can close this window and return to your device.",
        element_id="approved",
    )
