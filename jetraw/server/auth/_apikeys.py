"""API keys in the database: create, list, revoke, and check a presented key.

A key is ``jrk_<id>_<secret>``; only the SHA-256 of the secret is stored. A key may have an
expiry (``expires_at``, unix time); an expired key is refused exactly like a revoked one.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import date, datetime, timezone
from typing import Any

from jetraw.server.auth._tokens import new_id, sha256_hex
from jetraw.server.store import Connection, Row, atomic, rfc3339

__all__ = [
    "API_KEY_PREFIX",
    "MAX_API_KEY_TTL",
    "api_key_expiry",
    "api_key_json",
    "check_api_key",
    "create_api_key",
    "get_api_key",
    "list_api_keys",
    "parse_secret",
    "revoke_api_key",
]

API_KEY_PREFIX = "jrk_"
#: The longest lifetime a key can be given (ten years, in seconds).
MAX_API_KEY_TTL = 10 * 366 * 86400
_ROW_SQL = (
    "SELECT k.*, o.name AS organisation_name FROM api_keys k"
    " JOIN organisations o ON o.id = k.organisation_id"
)


def parse_secret(token: str, prefix: str) -> tuple[str, str] | None:
    """Split ``<prefix><id>_<secret>`` into ``(id, secret)``; ``None`` if it is not one."""
    if not token.startswith(prefix) or len(token) > 512 or not token.isascii():
        return None
    ident, sep, secret = token[len(prefix) :].partition("_")
    if not sep or not ident or not secret:
        return None
    return ident, secret


def api_key_json(row: Row) -> dict[str, Any]:
    """The protocol's ``ApiKey`` object for an ``api_keys`` row joined with its organisation."""
    return {
        "id": row["id"],
        "name": row["name"],
        "organisation": {"id": row["organisation_id"], "name": row["organisation_name"]},
        "created_at": row["created_at"],
        "last_used_at": row["last_used_at"],
        "revoked_at": row["revoked_at"],
        "expires_at": None if row["expires_at"] is None else rfc3339(row["expires_at"]),
        "hint": row["hint"],
    }


def _parse_instant(text: str) -> float:
    """An RFC 3339 date-time with a zone (``...Z`` or ``+01:00``), or a date (its 00:00 UTC)."""
    text = text.strip()
    if len(text) == 10:
        day = date.fromisoformat(text)
        return datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp()
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("needs a time zone")
    return moment.timestamp()


def api_key_expiry(
    *,
    now: float,
    expires_in: int | None = None,
    expires_at: str | None = None,
    default_ttl: int | None = None,
) -> float | None:
    """When a new key expires (unix time; ``None`` = never): ``expires_in`` seconds from now, or
    at ``expires_at`` (RFC 3339), or after the operator's ``default_ttl`` when neither is given.

    Raises:
        ValueError: both are given, or the expiry is not in the next ten years.
    """
    if expires_in is not None and expires_at is not None:
        raise ValueError("give expires_in or expires_at, not both")
    if expires_at is not None:
        try:
            moment = _parse_instant(expires_at)
        except (ValueError, OverflowError, OSError):
            raise ValueError(
                "expires_at is an RFC 3339 date-time with a time zone, e.g. 2027-01-31T00:00:00Z"
            ) from None
    elif expires_in is not None:
        moment = now + expires_in
    elif default_ttl is not None:
        moment = now + default_ttl
    else:
        return None
    if not now < moment <= now + MAX_API_KEY_TTL:
        raise ValueError("the expiry must be in the future and at most ten years away")
    return moment


def create_api_key(
    conn: Connection,
    *,
    user_id: str,
    organisation_id: str,
    name: str,
    now: float,
    expires_at: float | None = None,
) -> tuple[dict[str, Any], str]:
    """Create a key for a member of an organisation (inside or outside a caller's transaction).

    ``expires_at`` (unix time) ends the key then, as if revoked; ``None``: it never expires.

    Returns:
        The ``ApiKey`` JSON object and the key itself (shown to the user once, never stored).

    Raises:
        LookupError: the user is not a member of the organisation.
    """
    ident = new_id()
    key = f"{API_KEY_PREFIX}{ident}_{secrets.token_urlsafe(32)}"
    secret = key.split("_", 2)[2]
    with atomic(conn):
        member = conn.execute(
            "SELECT 1 FROM memberships WHERE user_id = ? AND organisation_id = ?",
            (user_id, organisation_id),
        ).fetchone()
        if member is None:
            raise LookupError("not a member of the organisation")
        conn.execute(
            "INSERT INTO api_keys (id, user_id, organisation_id, name, secret_hash, hint,"
            " created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                ident,
                user_id,
                organisation_id,
                name,
                sha256_hex(secret),
                key[-4:],
                rfc3339(now),
                expires_at,
            ),
        )
        row = conn.execute(_ROW_SQL + " WHERE k.id = ?", (ident,)).fetchone()
    return api_key_json(row), key


def list_api_keys(conn: Connection, user_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        _ROW_SQL + " WHERE k.user_id = ? ORDER BY k.created_at, k.rowid", (user_id,)
    ).fetchall()
    return [api_key_json(row) for row in rows]


def get_api_key(conn: Connection, key_id: str) -> dict[str, Any] | None:
    row = conn.execute(_ROW_SQL + " WHERE k.id = ?", (key_id,)).fetchone()
    return None if row is None else {**api_key_json(row), "user_id": row["user_id"]}


def revoke_api_key(conn: Connection, key_id: str, *, now: float) -> bool:
    """Revoke a key at once (its access tokens stop working too).

    Returns:
        ``True`` if the key exists (revoked now or before), ``False`` if there is no such key.
    """
    with atomic(conn):
        conn.execute(
            "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
            (rfc3339(now), key_id),
        )
        row = conn.execute("SELECT 1 FROM api_keys WHERE id = ?", (key_id,)).fetchone()
    return row is not None


def check_api_key(conn: Connection, key: str, *, now: float) -> Row | None:
    """The live ``api_keys`` row for a presented key, or ``None`` (unknown, wrong, revoked,
    expired)."""
    parsed = parse_secret(key, API_KEY_PREFIX)
    if parsed is None:
        return None
    ident, secret = parsed
    row: Row | None = conn.execute("SELECT * FROM api_keys WHERE id = ?", (ident,)).fetchone()
    if row is None or not hmac.compare_digest(row["secret_hash"], sha256_hex(secret)):
        return None
    if row["revoked_at"] is not None:
        return None
    if row["expires_at"] is not None and row["expires_at"] <= now:
        return None
    return row
