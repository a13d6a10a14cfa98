"""CSRF protection for the HTML forms: a random cookie, and a form token signed over it.

The browser gets a ``jetraw_csrf`` cookie (HttpOnly, SameSite=Lax); every form carries
``csrf_token`` = HMAC(key, cookie). A cross-site page can neither read the cookie nor forge the
HMAC, so a POST whose token does not match its cookie is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from starlette.requests import Request
from starlette.responses import Response

from jetraw.server.auth._tokens import b64encode, derived_key
from jetraw.server.store import Connection

__all__ = [
    "CSRF_COOKIE",
    "csrf_cookie_value",
    "csrf_ok",
    "csrf_token",
    "set_csrf_cookie",
]

CSRF_COOKIE = "jetraw_csrf"
_COOKIE_RE = re.compile(r"[A-Za-z0-9_-]{20,100}")


def csrf_cookie_value(request: Request) -> tuple[str, bool]:
    """The request's CSRF cookie, or a new one; and whether it is new (must be set)."""
    value = request.cookies.get(CSRF_COOKIE, "")
    if (
        20 <= len(value) <= 100
        and value.isascii()
        and value.replace("-", "").replace("_", "").isalnum()
    ):
        return value, False
    return secrets.token_urlsafe(32), True


def csrf_token(conn: Connection, cookie: str) -> str:
    return b64encode(hmac.new(derived_key(conn, "csrf"), cookie.encode(), hashlib.sha256).digest())


def csrf_ok(conn: Connection, request: Request, submitted: str | None) -> bool:
    """Whether a POSTed ``csrf_token`` matches the request's cookie."""
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not submitted or not submitted.isascii():
        return False
    return hmac.compare_digest(csrf_token(conn, cookie), submitted)


def set_csrf_cookie(response: Response, cookie: str, *, secure: bool) -> None:
    response.set_cookie(CSRF_COOKIE, cookie, httponly=True, samesite="lax", secure=secure, path="/")
