"""Users, organisations and memberships: plain functions over a SQLite connection.

Used by the bootstrap, the admin API, the accounts API and the OAuth pages. Callers own the
transaction (wrap several calls in :func:`jetraw.server.store.transaction` when they must agree).
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
import uuid
from typing import Any

from jetraw.server._problems import Problem
from jetraw.server.store._db import Connection, Row

__all__ = [
    "NAME_RE",
    "ROLES",
    "add_membership",
    "create_organisation",
    "create_user",
    "get_organisation",
    "get_organisation_by_name",
    "get_user",
    "get_user_by_email",
    "memberships_of",
    "organisation_json",
    "role_of",
    "user_json",
    "user_organisations",
    "validate_email",
    "validate_name",
]

ROLES = ("admin", "member")
NAME_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_EMAIL_RE = re.compile(r"[^@\s]{1,64}@[^@\s]{1,255}")


def _new_id() -> str:
    return uuid.uuid4().hex


def validate_name(name: str, what: str = "name") -> str:
    """Check an organisation or space name (a slug ``[a-z0-9][a-z0-9-]{0,62}``)."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise Problem(
            400,
            "invalid_name",
            f"A {what} is 1-63 characters: lowercase letters, digits and '-', "
            "starting with a letter or digit.",
        )
    return name


def validate_email(email: str) -> str:
    email = unicodedata.normalize("NFC", email.strip()) if isinstance(email, str) else ""
    if not _EMAIL_RE.fullmatch(email) or any(unicodedata.category(c)[0] == "C" for c in email):
        raise Problem(400, "invalid_request", "Not a valid email address.")
    return email


def user_json(row: Row | dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "email": row["email"], "name": row["name"]}


def organisation_json(row: Row | dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "name": row["name"]}


def create_organisation(conn: Connection, name: str, *, now: str) -> dict[str, Any]:
    """Create an organisation; ``409 organisation_exists`` if the name is taken."""
    validate_name(name, "organisation name")
    org_id = _new_id()
    try:
        conn.execute(
            "INSERT INTO organisations (id, name, created_at) VALUES (?, ?, ?)",
            (org_id, name, now),
        )
    except sqlite3.IntegrityError:
        raise Problem(
            409, "organisation_exists", f"An organisation named {name!r} exists."
        ) from None
    return {"id": org_id, "name": name}


def create_user(
    conn: Connection,
    *,
    email: str,
    name: str | None,
    password_hash: str | None,
    now: str,
) -> dict[str, Any]:
    """Create a user; ``409 user_exists`` if the email (case-insensitive) is taken."""
    email = validate_email(email)
    display = (name or email.split("@", 1)[0]).strip()
    if not display or len(display) > 200 or any(unicodedata.category(c) == "Cc" for c in display):
        raise Problem(400, "invalid_request", "A user name is 1-200 printable characters.")
    user_id = _new_id()
    try:
        conn.execute(
            "INSERT INTO users (id, email, name, password_hash, created_at) VALUES (?, ?, ?, ?, ?)",
            (user_id, email, display, password_hash, now),
        )
    except sqlite3.IntegrityError:
        raise Problem(409, "user_exists", "A user with this email exists.") from None
    return {"id": user_id, "email": email, "name": display}


def add_membership(
    conn: Connection, *, user_id: str, organisation_id: str, role: str, now: str
) -> None:
    """Make a user a member of an organisation (or change the role of an existing member)."""
    if role not in ROLES:
        raise Problem(400, "invalid_request", "role is 'admin' or 'member'.")
    conn.execute(
        "INSERT INTO memberships (user_id, organisation_id, role, created_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (user_id, organisation_id) DO UPDATE SET role = excluded.role",
        (user_id, organisation_id, role, now),
    )


def get_user(conn: Connection, user_id: str) -> Row | None:
    row: Row | None = conn.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()
    return row


def get_user_by_email(conn: Connection, email: str) -> Row | None:
    row: Row | None = conn.execute(
        "SELECT * FROM users WHERE email = ?", (email.strip(),)
    ).fetchone()
    return row


def get_organisation(conn: Connection, organisation_id: str) -> Row | None:
    row: Row | None = conn.execute(
        "SELECT * FROM organisations WHERE id = ?", (organisation_id,)
    ).fetchone()
    return row


def get_organisation_by_name(conn: Connection, name: str) -> Row | None:
    row: Row | None = conn.execute("SELECT * FROM organisations WHERE name = ?", (name,)).fetchone()
    return row


def role_of(conn: Connection, user_id: str, organisation_id: str) -> str | None:
    """The user's role in the organisation, or ``None`` if not a member."""
    row = conn.execute(
        "SELECT role FROM memberships WHERE user_id = ? AND organisation_id = ?",
        (user_id, organisation_id),
    ).fetchone()
    return None if row is None else str(row["role"])


def memberships_of(conn: Connection, user_id: str) -> list[dict[str, Any]]:
    """``[{"organisation": {"id", "name"}, "role"}]`` sorted by organisation name."""
    rows = conn.execute(
        "SELECT o.id, o.name, m.role FROM memberships m "
        "JOIN organisations o ON o.id = m.organisation_id WHERE m.user_id = ? ORDER BY o.name",
        (user_id,),
    ).fetchall()
    return [{"organisation": organisation_json(r), "role": r["role"]} for r in rows]


def user_organisations(conn: Connection, user_id: str) -> list[dict[str, Any]]:
    """``[{"id", "name"}]`` of the user's organisations, sorted by name."""
    rows = conn.execute(
        "SELECT o.id, o.name FROM memberships m JOIN organisations o ON o.id = m.organisation_id"
        " WHERE m.user_id = ? ORDER BY o.name",
        (user_id,),
    ).fetchall()
    return [{"id": r["id"], "name": r["name"]} for r in rows]
