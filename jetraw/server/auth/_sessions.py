"""Logging a person in on the HTML pages: password check, login tickets and the settings session.

- A *login ticket* carries an authenticated user from the password step to the organisation
  step of the same form (signed, 10 minutes, bound to the browser's CSRF cookie), so the
  password is never sent twice or echoed back into a page.
- The *session* cookie (signed, 12 hours) keeps a person logged in to the settings page.
"""

from __future__ import annotations

import sqlite3

from starlette.requests import Request

from jetraw.server.auth._csrf import CSRF_COOKIE
from jetraw.server.auth._passwords import dummy_verify, verify_password
from jetraw.server.auth._tokens import derived_key, sha256_hex, sign, verify_signed
from jetraw.server.store import get_user_by_email

__all__ = [
    "SESSION_COOKIE",
    "SESSION_SECONDS",
    "authenticate_user",
    "make_session",
    "make_ticket",
    "read_session",
    "read_ticket",
]

SESSION_COOKIE = "jetraw_session"
TICKET_SECONDS = 600
SESSION_SECONDS = 12 * 3600


def authenticate_user(
    conn: sqlite3.Connection, email: str, password: str, *, n: int
) -> sqlite3.Row | None:
    """The user with this email and password, else ``None`` (same cost either way)."""
    if not email or not password or len(email) > 320 or len(password) > 1024:
        dummy_verify(password[:1024], n=n)
        return None
    user = get_user_by_email(conn, email)
    if user is None or not user["password_hash"]:
        dummy_verify(password, n=n)
        return None
    return user if verify_password(password, user["password_hash"]) else None


def _binding(request: Request) -> str:
    return sha256_hex(request.cookies.get(CSRF_COOKIE, ""))


def make_ticket(conn: sqlite3.Connection, request: Request, user_id: str, *, now: float) -> str:
    payload = {"uid": user_id, "exp": now + TICKET_SECONDS, "bind": _binding(request)}
    return sign(derived_key(conn, "login-ticket"), payload)


def read_ticket(
    conn: sqlite3.Connection, request: Request, ticket: str, *, now: float
) -> str | None:
    """The user id of a genuine, unexpired ticket issued to this browser."""
    payload = verify_signed(derived_key(conn, "login-ticket"), ticket)
    if payload is None or payload.get("bind") != _binding(request):
        return None
    exp, uid = payload.get("exp"), payload.get("uid")
    if not isinstance(exp, (int, float)) or exp <= now or not isinstance(uid, str):
        return None
    return uid


def make_session(conn: sqlite3.Connection, user_id: str, *, now: float) -> str:
    return sign(derived_key(conn, "session"), {"uid": user_id, "exp": now + SESSION_SECONDS})


def read_session(conn: sqlite3.Connection, request: Request, *, now: float) -> str | None:
    """The logged-in user id of the settings session, if the cookie is genuine and current."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    payload = verify_signed(derived_key(conn, "session"), cookie)
    if payload is None:
        return None
    exp, uid = payload.get("exp"), payload.get("uid")
    if not isinstance(exp, (int, float)) or exp <= now or not isinstance(uid, str):
        return None
    exists = conn.execute("SELECT 1 FROM users WHERE id = ?", (uid,)).fetchone()
    return uid if exists else None
