"""Logging a person in on the HTML pages: password check, login tickets and the settings session.

- A *login ticket* carries an authenticated user from the password step to the organisation
  step of the same form (signed, 10 minutes, bound to the browser's CSRF cookie), so the
  password is never sent twice or echoed back into a page.
- The *session* cookie (signed, 12 hours) keeps a person logged in to the settings page. It
  carries a random session id whose hash is recorded in the ``sessions`` table: logging out
  deletes the record, so a copied cookie stops working at once, and a session made before the
  user's password changed is refused (the record keeps a fingerprint of the password hash).
"""

from __future__ import annotations

import hmac
import secrets

from starlette.requests import Request

from jetraw.server.auth._csrf import CSRF_COOKIE
from jetraw.server.auth._passwords import dummy_verify, verify_password
from jetraw.server.auth._tokens import derived_key, sha256_hex, sign, verify_signed
from jetraw.server.store import Connection, Row, atomic, get_user_by_email

__all__ = [
    "SESSION_COOKIE",
    "SESSION_SECONDS",
    "authenticate_user",
    "end_session",
    "end_user_sessions",
    "make_session",
    "make_ticket",
    "read_session",
    "read_ticket",
]

SESSION_COOKIE = "jetraw_session"
TICKET_SECONDS = 600
SESSION_SECONDS = 12 * 3600


def authenticate_user(conn: Connection, email: str, password: str, *, n: int) -> Row | None:
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


def make_ticket(conn: Connection, request: Request, user_id: str, *, now: float) -> str:
    payload = {"uid": user_id, "exp": now + TICKET_SECONDS, "bind": _binding(request)}
    return sign(derived_key(conn, "login-ticket"), payload)


def read_ticket(conn: Connection, request: Request, ticket: str, *, now: float) -> str | None:
    """The user id of a genuine, unexpired ticket issued to this browser."""
    payload = verify_signed(derived_key(conn, "login-ticket"), ticket)
    if payload is None or payload.get("bind") != _binding(request):
        return None
    exp, uid = payload.get("exp"), payload.get("uid")
    if not isinstance(exp, (int, float)) or exp <= now or not isinstance(uid, str):
        return None
    return uid


def _password_fp(password_hash: str | None) -> str:
    return sha256_hex("session-password:" + (password_hash or ""))


def make_session(conn: Connection, user_id: str, *, now: float) -> str:
    """Record a new settings session for the user; the signed cookie value that names it."""
    session_id = secrets.token_urlsafe(32)
    with atomic(conn):
        # Expired records go here, so the table stays as small as the live sessions.
        conn.execute("DELETE FROM sessions WHERE expires_at <= ?", (now,))
        row = conn.execute("SELECT password_hash FROM users WHERE id = ?", (user_id,)).fetchone()
        conn.execute(
            "INSERT INTO sessions (id_hash, user_id, password_fp, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (
                sha256_hex(session_id),
                user_id,
                _password_fp(row["password_hash"] if row else None),
                now,
                now + SESSION_SECONDS,
            ),
        )
    payload = {"sid": session_id, "uid": user_id, "exp": now + SESSION_SECONDS}
    return sign(derived_key(conn, "session"), payload)


def _session_id(conn: Connection, request: Request) -> tuple[str, str, float] | None:
    """``(session id, user id, expiry)`` of a genuine session cookie, else ``None``."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    payload = verify_signed(derived_key(conn, "session"), cookie)
    if payload is None:
        return None
    sid, exp, uid = payload.get("sid"), payload.get("exp"), payload.get("uid")
    if not isinstance(sid, str) or not isinstance(uid, str):
        return None
    if not isinstance(exp, (int, float)) or isinstance(exp, bool):
        return None
    return sid, uid, float(exp)


def read_session(conn: Connection, request: Request, *, now: float) -> str | None:
    """The logged-in user id of the settings session, if its cookie is genuine and current and
    its record still exists (not logged out, not expired, made with the current password)."""
    found = _session_id(conn, request)
    if found is None:
        return None
    sid, uid, exp = found
    if exp <= now:
        return None
    row = conn.execute(
        "SELECT s.user_id, s.expires_at, s.password_fp, u.password_hash FROM sessions s"
        " JOIN users u ON u.id = s.user_id WHERE s.id_hash = ?",
        (sha256_hex(sid),),
    ).fetchone()
    if row is None or row["user_id"] != uid or row["expires_at"] <= now:
        return None
    if not hmac.compare_digest(row["password_fp"], _password_fp(row["password_hash"])):
        return None
    return uid


def end_session(conn: Connection, request: Request) -> None:
    """Delete the record of the request's session (logging out): its cookie is dead after this."""
    found = _session_id(conn, request)
    if found is not None:
        with atomic(conn):
            conn.execute("DELETE FROM sessions WHERE id_hash = ?", (sha256_hex(found[0]),))


def end_user_sessions(conn: Connection, user_id: str) -> int:
    """End every settings session of a user (e.g. after a password reset); how many ended."""
    with atomic(conn):
        cursor = conn.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))
    return cursor.rowcount
