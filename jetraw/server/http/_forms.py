"""What the HTML page routers share: their worker thread, their forms, CSRF on every page."""

from __future__ import annotations

from collections.abc import Callable

import anyio.to_thread
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from jetraw.server.auth import csrf_cookie_value, csrf_token, html_response, set_csrf_cookie
from jetraw.server.http._state import state_of
from jetraw.server.store import Connection

__all__ = ["CSRF_FAILED", "in_thread", "is_secure", "read_page_form", "render_with_csrf"]

CSRF_FAILED = "This form has expired or did not come from this site. Reload the page and try again."


def is_secure(request: Request) -> bool:
    """Whether the server's public URL is https (cookies are then ``Secure``)."""
    return (state_of(request).settings.base_url or str(request.base_url)).startswith("https:")


async def in_thread(request: Request, fn: Callable[[Connection], Response]) -> Response:
    """Run ``fn`` with the database connection of a worker thread (SQLite blocks)."""
    state = state_of(request)
    return await anyio.to_thread.run_sync(lambda: fn(state.db.conn()))


def render_with_csrf(
    request: Request,
    conn: Connection,
    build: Callable[[str], str],
    status_code: int = 200,
) -> Response:
    """Render ``build(csrf_token)`` as a page, setting the CSRF cookie if the browser has none."""
    cookie, fresh = csrf_cookie_value(request)
    response = html_response(build(csrf_token(conn, cookie)), status_code)
    if fresh:
        set_csrf_cookie(response, cookie, secure=is_secure(request))
    return response


async def read_page_form(request: Request) -> dict[str, str] | None:
    """A page's urlencoded form as a dict (last value wins), or ``None`` if malformed."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        return None
    try:
        form: FormData = await request.form(max_files=0, max_fields=50)
    except Exception:  # any malformed body is the client's error, answered with a page
        return None
    result: dict[str, str] = {}
    for name, value in form.multi_items():
        if not isinstance(value, str) or len(value) > 4096:
            return None
        result[name] = value
    return result
