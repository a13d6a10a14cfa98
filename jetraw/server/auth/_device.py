"""Device authorization (RFC 8628) on the server side: user codes, lookup, approve and deny."""

from __future__ import annotations

import secrets

from jetraw.server.store import Connection, Row, transaction

__all__ = [
    "approve_device",
    "create_device_request",
    "deny_device",
    "find_pending_device",
    "new_user_code",
    "normalise_user_code",
]

# Consonants only (RFC 8628 §6.1): no vowels (no words), no look-alikes such as 0/O or 1/I.
_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"


def new_user_code() -> str:
    """``ABCD-EFGH``: 8 characters of a 20-letter alphabet (~34 bits), easy to read and type."""
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"{chars[:4]}-{chars[4:]}"


def normalise_user_code(text: str) -> str | None:
    """What a person typed (any case, with or without the dash/spaces) as a stored user code."""
    chars = "".join(c for c in text.upper() if c not in "- \t")
    if len(chars) != 8 or any(c not in _ALPHABET for c in chars):
        return None
    return f"{chars[:4]}-{chars[4:]}"


def create_device_request(
    conn: Connection,
    *,
    device_code_hash: str,
    client_id: str,
    organisation: str | None,
    expires_at: float,
    interval: int,
) -> str:
    """Store a pending device authorization request under a fresh, unique user code."""
    for _ in range(20):
        user_code = new_user_code()
        with transaction(conn):
            taken = conn.execute(
                "SELECT 1 FROM device_codes WHERE user_code = ?", (user_code,)
            ).fetchone()
            if taken:
                continue
            conn.execute(
                "INSERT INTO device_codes (device_code_hash, user_code, client_id,"
                " organisation_name, status, expires_at, interval)"
                " VALUES (?, ?, ?, ?, 'pending', ?, ?)",
                (device_code_hash, user_code, client_id, organisation, expires_at, interval),
            )
            return user_code
    raise RuntimeError("could not allocate a unique user code")


def find_pending_device(conn: Connection, user_code: str, *, now: float) -> Row | None:
    """The pending, unexpired device request with this user code, if any."""
    row: Row | None = conn.execute(
        "SELECT * FROM device_codes WHERE user_code = ? AND status = 'pending' AND expires_at > ?",
        (user_code, now),
    ).fetchone()
    return row


def approve_device(
    conn: Connection, user_code: str, *, user_id: str, organisation_id: str, now: float
) -> bool:
    with transaction(conn):
        cursor = conn.execute(
            "UPDATE device_codes SET status = 'approved', user_id = ?, organisation_id = ?"
            " WHERE user_code = ? AND status = 'pending' AND expires_at > ?",
            (user_id, organisation_id, user_code, now),
        )
    return cursor.rowcount == 1


def deny_device(conn: Connection, user_code: str, *, now: float) -> bool:
    with transaction(conn):
        cursor = conn.execute(
            "UPDATE device_codes SET status = 'denied'"
            " WHERE user_code = ? AND status = 'pending' AND expires_at > ?",
            (user_code, now),
        )
    return cursor.rowcount == 1
