"""Who is calling: the :class:`Principal` behind a Bearer access token.

The HTTP layer reads the token from the ``Authorization`` header (``jetraw.server.http``);
revocation is checked here on every request, so a revoked key or login stops working at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from jetraw.server.auth._tokens import verify_access_token
from jetraw.server.store import Connection

__all__ = ["Principal", "authenticate_access_token"]


@dataclass(frozen=True)
class Principal:
    """The caller of an API request, as proven by its access token."""

    user_id: str
    organisation_id: str
    #: ``"api_key"`` or ``"refresh"`` (an interactive login's token family).
    credential_kind: str
    #: The API key id, or the token family id.
    credential_id: str


def authenticate_access_token(conn: Connection, token: str, *, now: float) -> Principal | None:
    """The principal of a valid access token whose credential and membership are still live."""
    claims = verify_access_token(conn, token, now=now)
    if claims is None:
        return None
    if claims.credential_kind == "api_key":
        live = conn.execute(
            "SELECT 1 FROM api_keys WHERE id = ? AND user_id = ? AND revoked_at IS NULL"
            " AND (expires_at IS NULL OR expires_at > ?)",
            (claims.credential_id, claims.user_id, now),
        ).fetchone()
    elif claims.credential_kind == "refresh":
        live = conn.execute(
            "SELECT 1 FROM token_families WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
            (claims.credential_id, claims.user_id),
        ).fetchone()
    else:
        return None
    if live is None:
        return None
    member = conn.execute(
        "SELECT 1 FROM memberships WHERE user_id = ? AND organisation_id = ?",
        (claims.user_id, claims.organisation_id),
    ).fetchone()
    if member is None:
        return None
    return Principal(
        user_id=claims.user_id,
        organisation_id=claims.organisation_id,
        credential_kind=claims.credential_kind,
        credential_id=claims.credential_id,
    )
