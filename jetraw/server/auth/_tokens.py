"""Signed access tokens, the server's signing key, and helpers for opaque secrets.

An access token is ``<payload>.<signature>``: the payload is unpadded base64url JSON
(``sub`` user id, ``org`` organisation id, ``ck`` credential kind, ``cid`` credential id, ``exp``,
``jti``), the signature HMAC-SHA256 over the payload text. The key is generated on first use and
kept by the store in ``<data dir>/signing.key``, so every process on a data dir signs alike.
Purpose-specific keys (CSRF, login tickets, sessions) are derived from it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any

from jetraw.server.store import Connection
from jetraw.server.store import signing_key as stored_signing_key

__all__ = [
    "AccessClaims",
    "b64decode",
    "b64encode",
    "derived_key",
    "issue_access_token",
    "new_id",
    "sha256_hex",
    "sign",
    "signing_key",
    "verify_access_token",
    "verify_signed",
]


def b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def b64decode(text: str) -> bytes:
    """Decode unpadded base64url; raises ``ValueError`` on anything malformed."""
    try:
        return base64.urlsafe_b64decode(text.encode("ascii") + b"=" * (-len(text) % 4))
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValueError("malformed base64") from exc


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def new_id(nbytes: int = 8) -> str:
    """A random lowercase hex identifier (never contains ``_``, so it can sit inside a token)."""
    return secrets.token_hex(nbytes)


def signing_key(conn: Connection) -> bytes:
    """The data dir's signing key, created on first call (race-free across processes).

    Kept by the store in ``<data dir>/signing.key`` (0600), not in the database.
    """
    return stored_signing_key(conn)


def derived_key(conn: Connection, purpose: str) -> bytes:
    """A key for one purpose only, so a value signed for one use is worthless for another."""
    return hmac.new(signing_key(conn), b"jetraw:" + purpose.encode(), hashlib.sha256).digest()


def sign(key: bytes, payload: dict[str, Any]) -> str:
    body = b64encode(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    mac = hmac.new(key, body.encode("ascii"), hashlib.sha256).digest()
    return f"{body}.{b64encode(mac)}"


def verify_signed(key: bytes, token: str) -> dict[str, Any] | None:
    """The payload of a value made by :func:`sign` with ``key``, or ``None`` if forged/malformed."""
    try:
        body, _, mac_text = token.partition(".")
        expected = hmac.new(key, body.encode("ascii"), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, b64decode(mac_text)):
            return None
        payload = json.loads(b64decode(body))
    except (ValueError, UnicodeError):
        return None
    return payload if isinstance(payload, dict) else None


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    organisation_id: str
    credential_kind: str
    credential_id: str
    expires_at: float


def issue_access_token(
    conn: Connection,
    *,
    user_id: str,
    organisation_id: str,
    credential_kind: str,
    credential_id: str,
    now: float,
    ttl: float,
) -> str:
    payload = {
        "sub": user_id,
        "org": organisation_id,
        "ck": credential_kind,
        "cid": credential_id,
        "exp": int(now + ttl),
        "jti": new_id(12),
    }
    return sign(derived_key(conn, "access-token"), payload)


def verify_access_token(conn: Connection, token: str, *, now: float) -> AccessClaims | None:
    """The claims of a genuine, unexpired access token (revocation is checked by the caller)."""
    if len(token) > 4096 or not token.isascii():
        return None
    payload = verify_signed(derived_key(conn, "access-token"), token)
    if payload is None:
        return None
    try:
        claims = AccessClaims(
            user_id=str(payload["sub"]),
            organisation_id=str(payload["org"]),
            credential_kind=str(payload["ck"]),
            credential_id=str(payload["cid"]),
            expires_at=float(payload["exp"]),
        )
    except (KeyError, TypeError, ValueError):
        return None
    if claims.expires_at <= now:
        return None
    return claims
