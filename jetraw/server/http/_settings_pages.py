"""``/login``, ``/logout``, ``/settings``: a person logs in and creates or revokes API keys.

This is the seed's "desktop application" role: the place a user gets a long-lived API key.
A new key is shown once, in the response to the POST that created it. It may be given an expiry
(``expires_in`` seconds, or ``expires_at``); without one the server's default applies. Signing
out deletes the session's record on the server, so a copied session cookie is dead after it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from jetraw.server.auth import (
    SESSION_COOKIE,
    SESSION_SECONDS,
    api_key_expiry,
    authenticate_user,
    create_api_key,
    csrf_ok,
    end_session,
    error_block,
    error_page,
    esc,
    get_api_key,
    hidden_fields,
    html_response,
    list_api_keys,
    login_fields,
    make_session,
    organisation_select,
    page,
    read_session,
    revoke_api_key,
)
from jetraw.server.http._deps import check_rate_limit
from jetraw.server.http._forms import (
    CSRF_FAILED,
    in_thread,
    is_secure,
    read_page_form,
    render_with_csrf,
)
from jetraw.server.http._state import state_of
from jetraw.server.store import Connection, rfc3339, user_organisations

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _login_page(email: str = "", error: str | None = None) -> Callable[[str], str]:
    def build(csrf: str) -> str:
        return page(
            "Sign in to Jetraw",
            "<p>Sign in to manage your API keys.</p>"
            + error_block(error)
            + '<form id="login-form" method="post" action="/login">'
            + hidden_fields({"csrf_token": csrf})
            + login_fields(email)
            + '<button type="submit" id="submit">Sign in</button></form>',
        )

    return build


@router.get("/login")
async def login_page(request: Request) -> Response:
    return await in_thread(request, lambda conn: render_with_csrf(request, conn, _login_page()))


@router.post("/login")
async def login_submit(request: Request) -> Response:
    retry = await check_rate_limit(request, "login")
    if retry is not None:
        body = page("Too many attempts", f'<p class="error" id="error">Try again in {retry} s.</p>')
        return html_response(body, 429, {"Retry-After": str(retry)})
    form = await read_page_form(request)
    if form is None:
        return error_page("Bad request", "The form could not be read.")

    def run(conn: Connection) -> Response:
        state = state_of(request)
        if not csrf_ok(conn, request, form.get("csrf_token")):
            return error_page("Form expired", CSRF_FAILED, 403)
        email = form.get("email", "")
        n = int(state.setting("password_hash_n"))
        user = authenticate_user(conn, email, form.get("password", ""), n=n)
        if user is None:
            return render_with_csrf(
                request, conn, _login_page(email, "Wrong email or password."), 401
            )
        response = RedirectResponse("/settings", status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            make_session(conn, user["id"], now=state.now()),
            max_age=SESSION_SECONDS,
            httponly=True,
            samesite="lax",
            secure=is_secure(request),
            path="/",
        )
        return response

    return await in_thread(request, run)


@router.post("/logout")
async def logout(request: Request) -> Response:
    form = await read_page_form(request) or {}

    def run(conn: Connection) -> Response:
        if not csrf_ok(conn, request, form.get("csrf_token")):
            return error_page("Form expired", CSRF_FAILED, 403)
        end_session(conn, request)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    return await in_thread(request, run)


_EXPIRY_CHOICES = (
    ("86400", "1 day"),
    ("604800", "7 days"),
    ("2592000", "30 days"),
    ("7776000", "90 days"),
    ("31536000", "1 year"),
)


def _duration(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{seconds} seconds"


def _expiry_fields(default_ttl: int | None) -> str:
    default = "never" if default_ttl is None else f"after {_duration(default_ttl)}"
    options = f'<option value="">Server default ({esc(default)})</option>' + "".join(
        f'<option value="{value}">{label}</option>' for value, label in _EXPIRY_CHOICES
    )
    return (
        '<label for="key-expires-in">Expires</label>'
        f'<select name="expires_in" id="key-expires-in">{options}</select>'
        '<label for="key-expires-at">or on (UTC)</label>'
        '<input type="date" name="expires_at" id="key-expires-at">'
    )


def _key_rows(keys: list[dict[str, Any]], csrf: str, now: str) -> str:
    if not keys:
        return "<p>No API keys yet.</p>"
    rows = []
    for key in keys:
        expires = key["expires_at"]
        if key["revoked_at"]:
            action = f"revoked {esc(key['revoked_at'])}"
        elif expires is not None and expires <= now:
            action = f"expired {esc(expires)}"
        else:
            action = (
                f'<form method="post" action="/settings/api-keys/{esc(key["id"])}/revoke">'
                + hidden_fields({"csrf_token": csrf})
                + f'<button type="submit" id="revoke-{esc(key["id"])}">Revoke</button></form>'
            )
        rows.append(
            f'<tr id="key-{esc(key["id"])}"><td>{esc(key["name"])}</td>'
            f"<td>{esc(key['organisation']['name'])}</td><td>…{esc(key['hint'])}</td>"
            f"<td>{esc(key['created_at'])}</td><td>{esc(key['last_used_at'] or 'never')}</td>"
            f'<td id="expires-{esc(key["id"])}">{esc(expires or "never")}</td>'
            f"<td>{action}</td></tr>"
        )
    return (
        '<table id="api-keys"><tr><th>Name</th><th>Organisation</th><th>Key</th>'
        "<th>Created</th><th>Last used</th><th>Expires</th><th></th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _settings_page(
    request: Request,
    conn: Connection,
    user_id: str,
    *,
    new_key: str | None = None,
    error: str | None = None,
) -> Callable[[str], str]:
    state = state_of(request)
    now = rfc3339(state.now())
    default_ttl = state.settings.api_key_default_ttl
    user = conn.execute("SELECT email FROM users WHERE id = ?", (user_id,)).fetchone()
    keys = list_api_keys(conn, user_id)
    organisations = user_organisations(conn, user_id)

    def build(csrf: str) -> str:
        shown = ""
        if new_key is not None:
            shown = (
                '<div class="notice"><p>Your new API key. Copy it now: it is not shown again.</p>'
                f'<p><code id="new-key">{esc(new_key)}</code></p></div>'
            )
        return page(
            "API keys",
            f'<p>Signed in as <strong id="signed-in-as">{esc(user["email"])}</strong>.</p>'
            + shown
            + error_block(error)
            + _key_rows(keys, csrf, now)
            + "<h2>Create an API key</h2>"
            '<form id="create-key-form" method="post" action="/settings/api-keys">'
            + hidden_fields({"csrf_token": csrf})
            + '<label for="key-name">Name</label>'
            '<input type="text" name="name" id="key-name" maxlength="100" required>'
            + organisation_select(organisations, None)
            + _expiry_fields(default_ttl)
            + '<button type="submit" id="create-key">Create key</button></form>'
            '<form method="post" action="/logout">'
            + hidden_fields({"csrf_token": csrf})
            + '<button type="submit" id="logout">Sign out</button></form>',
        )

    return build


def _form_expiry(
    form: dict[str, str], *, now: float, default_ttl: int | None
) -> float | str | None:
    """The new key's expiry from the form (unix time or ``None``), or the error to show."""
    expires_in = form.get("expires_in", "").strip() or None
    expires_at = form.get("expires_at", "").strip() or None
    if expires_in is not None and (not expires_in.isdigit() or len(expires_in) > 10):
        return "Expiry: choose one of the periods."
    try:
        return api_key_expiry(
            now=now,
            expires_in=None if expires_in is None else int(expires_in),
            expires_at=expires_at,
            default_ttl=default_ttl,
        )
    except ValueError as exc:
        return f"Expiry: {exc}."


@router.get("/settings")
async def settings_page(request: Request) -> Response:
    def run(conn: Connection) -> Response:
        user_id = read_session(conn, request, now=state_of(request).now())
        if user_id is None:
            return RedirectResponse("/login", status_code=303)
        return render_with_csrf(request, conn, _settings_page(request, conn, user_id))

    return await in_thread(request, run)


@router.post("/settings/api-keys")
async def settings_create_key(request: Request) -> Response:
    form = await read_page_form(request)
    if form is None:
        return error_page("Bad request", "The form could not be read.")

    def run(conn: Connection) -> Response:
        state = state_of(request)
        user_id = read_session(conn, request, now=state.now())
        if user_id is None:
            return RedirectResponse("/login", status_code=303)
        if not csrf_ok(conn, request, form.get("csrf_token")):
            return error_page("Form expired", CSRF_FAILED, 403)
        name = form.get("name", "").strip()
        if not name or len(name) > 100 or not name.isprintable():
            build = _settings_page(
                request, conn, user_id, error="A key name is 1-100 printable characters."
            )
            return render_with_csrf(request, conn, build, 400)
        organisation = next(
            (o for o in user_organisations(conn, user_id) if o["name"] == form.get("organisation")),
            None,
        )
        if organisation is None:
            build = _settings_page(
                request, conn, user_id, error="Choose one of your organisations."
            )
            return render_with_csrf(request, conn, build, 400)
        expires_at = _form_expiry(
            form, now=state.now(), default_ttl=state.settings.api_key_default_ttl
        )
        if isinstance(expires_at, str):
            build = _settings_page(request, conn, user_id, error=expires_at)
            return render_with_csrf(request, conn, build, 400)
        _, key = create_api_key(
            conn,
            user_id=user_id,
            organisation_id=organisation["id"],
            name=name,
            now=state.now(),
            expires_at=expires_at,
        )
        return render_with_csrf(request, conn, _settings_page(request, conn, user_id, new_key=key))

    return await in_thread(request, run)


@router.post("/settings/api-keys/{key_id}/revoke")
async def settings_revoke_key(request: Request, key_id: str) -> Response:
    form = await read_page_form(request) or {}

    def run(conn: Connection) -> Response:
        state = state_of(request)
        user_id = read_session(conn, request, now=state.now())
        if user_id is None:
            return RedirectResponse("/login", status_code=303)
        if not csrf_ok(conn, request, form.get("csrf_token")):
            return error_page("Form expired", CSRF_FAILED, 403)
        key = get_api_key(conn, key_id)
        if key is None or key["user_id"] != user_id:
            return error_page("Not found", "No such API key.", 404)
        revoke_api_key(conn, key_id, now=state.now())
        return RedirectResponse("/settings", status_code=303)

    return await in_thread(request, run)
