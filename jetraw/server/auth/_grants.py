"""The token endpoint's grants as plain functions over one SQLite connection.

Every change runs in a ``BEGIN IMMEDIATE`` transaction, so several processes on one data dir
race safely: e.g. eight processes presenting the same rotated-out refresh token at once are
served one after the other, and all get the same successor.

A rotated refresh token's successor secret is derived (HMAC) from the presented token, so the
server can hand out the same successor again during the grace period while storing only hashes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from jetraw.server.auth._apikeys import API_KEY_PREFIX, check_api_key, parse_secret
from jetraw.server.auth._tokens import derived_key, issue_access_token, new_id, sha256_hex
from jetraw.server.store import (
    Connection,
    Row,
    get_organisation,
    get_user,
    organisation_json,
    rfc3339,
    transaction,
    user_json,
)

log = logging.getLogger("jetraw.server.auth")

__all__ = [
    "REFRESH_PREFIX",
    "GrantError",
    "TokenPolicy",
    "create_auth_code",
    "grant_authorization_code",
    "grant_device_code",
    "grant_refresh_token",
    "revoke_token",
]

REFRESH_PREFIX = "jrt_"
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


@dataclass(eq=False)
class GrantError(Exception):
    """An RFC 6749 §5.2 error (``code`` is the problem code; the OAuth ``error`` by default)."""

    error: str
    description: str
    status: int = 400
    code: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.description)
        self.code = self.code or self.error


@dataclass(frozen=True)
class TokenPolicy:
    now: float
    access_token_ttl: float
    refresh_grace_seconds: float = 30.0


def _invalid_grant(description: str) -> GrantError:
    return GrantError("invalid_grant", description)


def _resolve_organisation(
    conn: Connection, user_id: str, default_id: str, requested: str | None
) -> str:
    """The organisation a token is for: the credential's own, or another one of the user's."""
    organisation_id: str | None = default_id
    if requested:
        row = conn.execute(
            "SELECT id FROM organisations WHERE name = ? OR id = ?", (requested, requested)
        ).fetchone()
        organisation_id = str(row["id"]) if row else None
    member = (
        organisation_id
        and conn.execute(
            "SELECT 1 FROM memberships WHERE user_id = ? AND organisation_id = ?",
            (user_id, organisation_id),
        ).fetchone()
    )
    if not member or organisation_id is None:
        raise GrantError(
            "invalid_grant",
            "The user is not a member of the requested organisation.",
            code="not_a_member",
        )
    return organisation_id


def _token_response(
    conn: Connection,
    policy: TokenPolicy,
    *,
    user_id: str,
    organisation_id: str,
    kind: str,
    credential_id: str,
    refresh_token: str | None,
) -> dict[str, Any]:
    access = issue_access_token(
        conn,
        user_id=user_id,
        organisation_id=organisation_id,
        credential_kind=kind,
        credential_id=credential_id,
        now=policy.now,
        ttl=policy.access_token_ttl,
    )
    body: dict[str, Any] = {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": int(policy.access_token_ttl),
    }
    if refresh_token is not None:
        body["refresh_token"] = refresh_token
    body["organisation"] = organisation_json(_row(get_organisation(conn, organisation_id)))
    body["user"] = user_json(_row(get_user(conn, user_id)))
    return body


def _row(row: Row | None) -> Row:
    # A token is only issued inside the checks that found this user and organisation.
    assert row is not None
    return row


def _new_family(
    conn: Connection,
    user_id: str,
    organisation_id: str,
    now: float,
    family: str | None = None,
    refresh: str | None = None,
) -> tuple[str, str]:
    """Start a token family (one interactive login): its id and its first refresh token
    (``refresh``, a ``jrt_<id>_<secret>`` chosen by the caller, or a random one)."""
    family = family or new_id()
    conn.execute(
        "INSERT INTO token_families (id, user_id, organisation_id, created_at) VALUES (?, ?, ?, ?)",
        (family, user_id, organisation_id, rfc3339(now)),
    )
    parsed = parse_secret(refresh, REFRESH_PREFIX) if refresh else None
    ident, secret = parsed or (new_id(), secrets.token_urlsafe(32))
    conn.execute(
        "INSERT INTO refresh_tokens (id, family_id, secret_hash, created_at) VALUES (?, ?, ?, ?)",
        (ident, family, sha256_hex(secret), rfc3339(now)),
    )
    return family, f"{REFRESH_PREFIX}{ident}_{secret}"


def _successor_secret(conn: Connection, presented: str) -> str:
    mac = hmac.new(derived_key(conn, "refresh-rotation"), presented.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")


def create_auth_code(
    conn: Connection,
    *,
    user_id: str,
    organisation_id: str,
    client_id: str,
    redirect_uri: str,
    code_challenge: str,
    now: float,
    ttl: float,
) -> str:
    """Store a single-use authorization code (its hash) and return it."""
    code = secrets.token_urlsafe(32)
    with transaction(conn):
        conn.execute(
            "INSERT INTO auth_codes (code_hash, user_id, organisation_id, client_id,"
            " redirect_uri, code_challenge, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                sha256_hex(code),
                user_id,
                organisation_id,
                client_id,
                redirect_uri,
                code_challenge,
                now + ttl,
            ),
        )
    return code


def grant_authorization_code(
    conn: Connection,
    policy: TokenPolicy,
    *,
    code: str,
    redirect_uri: str,
    code_verifier: str,
    client_id: str | None,
    organisation: str | None,
) -> dict[str, Any]:
    """Exchange a code (PKCE S256) for an access token and a new token family's refresh token."""
    with transaction(conn):
        row = conn.execute(
            "SELECT * FROM auth_codes WHERE code_hash = ?", (sha256_hex(code),)
        ).fetchone()
        if row is not None and row["used_at"] is not None:
            # RFC 6749 §4.1.2: a replayed code revokes what was issued for it.
            revoked = conn.execute(
                "UPDATE token_families SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (rfc3339(policy.now), _code_family(row["code_hash"])),
            )
            if revoked.rowcount:
                log.warning(
                    "authorization code replayed; login %s revoked", _code_family(row["code_hash"])
                )
        if row is None or row["used_at"] is not None:
            failure: GrantError | None = _invalid_grant("The code is invalid or was already used.")
        else:
            # Single use: any attempt consumes the code, even a failed one.
            conn.execute(
                "UPDATE auth_codes SET used_at = ? WHERE code_hash = ?",
                (policy.now, row["code_hash"]),
            )
            failure = _check_code(row, policy, redirect_uri, code_verifier, client_id)
    if failure is not None:
        raise failure
    assert row is not None
    with transaction(conn):
        organisation_id = _resolve_organisation(
            conn, row["user_id"], row["organisation_id"], organisation
        )
        family, refresh = _new_family(
            conn, row["user_id"], organisation_id, policy.now, _code_family(row["code_hash"])
        )
    return _token_response(
        conn,
        policy,
        user_id=row["user_id"],
        organisation_id=organisation_id,
        kind="refresh",
        credential_id=family,
        refresh_token=refresh,
    )


def _code_family(code_hash: str) -> str:
    """The id of the token family a code starts (derived, so a replay can find and revoke it)."""
    return sha256_hex("family:" + code_hash)[:16]


def _check_code(
    row: Row,
    policy: TokenPolicy,
    redirect_uri: str,
    code_verifier: str,
    client_id: str | None,
) -> GrantError | None:
    if row["expires_at"] <= policy.now:
        return _invalid_grant("The code has expired.")
    if client_id is not None and client_id != row["client_id"]:
        return _invalid_grant("The code was issued to another client.")
    if redirect_uri != row["redirect_uri"]:
        return _invalid_grant("redirect_uri does not match the authorization request.")
    if not _VERIFIER.fullmatch(code_verifier):
        return _invalid_grant("code_verifier is malformed (RFC 7636: 43-128 characters).")
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    challenge = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    if not hmac.compare_digest(challenge, row["code_challenge"]):
        return _invalid_grant("PKCE verification failed (code_verifier does not match).")
    return None


def grant_refresh_token(
    conn: Connection,
    policy: TokenPolicy,
    *,
    refresh_token: str,
    organisation: str | None,
) -> dict[str, Any]:
    """Refresh with an API key (no rotation) or an interactive token (rotation, grace, reuse)."""
    if refresh_token.startswith(API_KEY_PREFIX):
        return _refresh_with_api_key(conn, policy, refresh_token, organisation)
    parsed = parse_secret(refresh_token, REFRESH_PREFIX)
    if parsed is None:
        raise _invalid_grant("The refresh token is invalid.")
    ident, secret = parsed
    with transaction(conn):
        row = conn.execute(
            "SELECT t.*, f.user_id, f.organisation_id, f.revoked_at AS family_revoked_at"
            " FROM refresh_tokens t JOIN token_families f ON f.id = t.family_id WHERE t.id = ?",
            (ident,),
        ).fetchone()
        if row is None or not hmac.compare_digest(row["secret_hash"], sha256_hex(secret)):
            raise _invalid_grant("The refresh token is invalid.")
        if row["family_revoked_at"] is not None:
            raise _invalid_grant("The refresh token has been revoked.")
        organisation_id = _resolve_organisation(
            conn, row["user_id"], row["organisation_id"], organisation
        )
        successor_secret = _successor_secret(conn, refresh_token)
        if row["rotated_at"] is None:
            successor = new_id()
            conn.execute(
                "INSERT INTO refresh_tokens (id, family_id, secret_hash, created_at)"
                " VALUES (?, ?, ?, ?)",
                (successor, row["family_id"], sha256_hex(successor_secret), rfc3339(policy.now)),
            )
            conn.execute(
                "UPDATE refresh_tokens SET rotated_at = ?, replaced_by = ? WHERE id = ?",
                (policy.now, successor, ident),
            )
            reused = False
        elif policy.now - row["rotated_at"] <= policy.refresh_grace_seconds:
            successor = row["replaced_by"]
            reused = False
        else:
            # Replayed after the grace period: someone else may hold the family. End it.
            log.warning("refresh token reused after rotation; login %s revoked", row["family_id"])
            conn.execute(
                "UPDATE token_families SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (rfc3339(policy.now), row["family_id"]),
            )
            reused = True
    if reused:
        raise _invalid_grant("The refresh token was already used; the login has been revoked.")
    return _token_response(
        conn,
        policy,
        user_id=row["user_id"],
        organisation_id=organisation_id,
        kind="refresh",
        credential_id=row["family_id"],
        refresh_token=f"{REFRESH_PREFIX}{successor}_{successor_secret}",
    )


def _refresh_with_api_key(
    conn: Connection, policy: TokenPolicy, key: str, organisation: str | None
) -> dict[str, Any]:
    with transaction(conn):
        row = check_api_key(conn, key, now=policy.now)
        if row is None:
            raise _invalid_grant("The API key is invalid, expired or revoked.")
        organisation_id = _resolve_organisation(
            conn, row["user_id"], row["organisation_id"], organisation
        )
        conn.execute(
            "UPDATE api_keys SET last_used_at = ? WHERE id = ?", (rfc3339(policy.now), row["id"])
        )
    return _token_response(
        conn,
        policy,
        user_id=row["user_id"],
        organisation_id=organisation_id,
        kind="api_key",
        credential_id=row["id"],
        refresh_token=None,
    )


def grant_device_code(
    conn: Connection, policy: TokenPolicy, *, device_code: str, organisation: str | None
) -> dict[str, Any]:
    """Poll for a device authorization (RFC 8628 §3.4, §3.5).

    The approving poll's answer can be lost (a reset, a timeout): the poll retried within the
    refresh grace period gets the same login again, as long as its refresh token is unused.
    """
    outcome: GrantError | None = None
    code_hash = sha256_hex(device_code)
    with transaction(conn):
        row = conn.execute(
            "SELECT * FROM device_codes WHERE device_code_hash = ?", (code_hash,)
        ).fetchone()
        if row is not None and row["status"] == "used":
            return _replay_device_grant(conn, policy, row, device_code)
        if row is None:
            raise _invalid_grant("The device code is invalid or was already used.")
        if row["expires_at"] <= policy.now:
            raise GrantError("expired_token", "The device code has expired; start again.")
        if row["status"] == "denied":
            raise GrantError("access_denied", "The authorization request was denied.")
        if row["status"] == "pending":
            last = row["last_poll_at"]
            interval = row["interval"]
            if last is not None and policy.now - last < interval:
                interval += 5
                outcome = GrantError("slow_down", f"Poll at most every {interval} seconds.")
            else:
                outcome = GrantError(
                    "authorization_pending", "The user has not yet approved the request."
                )
            conn.execute(
                "UPDATE device_codes SET last_poll_at = ?, interval = ? WHERE device_code_hash = ?",
                (policy.now, interval, code_hash),
            )
        else:  # approved
            organisation_id = _resolve_organisation(
                conn, row["user_id"], row["organisation_id"], organisation
            )
            conn.execute(
                "UPDATE device_codes SET status = 'used', used_at = ? WHERE device_code_hash = ?",
                (policy.now, code_hash),
            )
            family, refresh = _device_family(conn, device_code)
            _new_family(conn, row["user_id"], organisation_id, policy.now, family, refresh)
    if outcome is not None:
        raise outcome
    return _token_response(
        conn,
        policy,
        user_id=row["user_id"],
        organisation_id=organisation_id,
        kind="refresh",
        credential_id=family,
        refresh_token=refresh,
    )


def _device_family(conn: Connection, device_code: str) -> tuple[str, str]:
    """The family id and first refresh token a device code starts, derived (HMAC) from the
    code so that a retried poll can be given them again while only hashes are stored."""
    mac = hmac.new(derived_key(conn, "device-grant"), device_code.encode(), hashlib.sha256)
    digest = mac.hexdigest()
    secret = base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")
    return digest[:16], f"{REFRESH_PREFIX}{digest[16:32]}_{secret}"


def _replay_device_grant(
    conn: Connection, policy: TokenPolicy, row: Row, device_code: str
) -> dict[str, Any]:
    """A poll for a device code already redeemed: the same login within the grace period, if
    nothing has used it since (rotated, revoked); otherwise invalid_grant."""
    used = _invalid_grant("The device code is invalid or was already used.")
    used_at = row["used_at"]
    if used_at is None or policy.now - used_at > policy.refresh_grace_seconds:
        raise used
    family, refresh = _device_family(conn, device_code)
    ident = refresh[len(REFRESH_PREFIX) :].partition("_")[0]
    token = conn.execute(
        "SELECT t.rotated_at, f.organisation_id, f.revoked_at FROM refresh_tokens t"
        " JOIN token_families f ON f.id = t.family_id WHERE t.id = ? AND f.id = ?",
        (ident, family),
    ).fetchone()
    if token is None or token["rotated_at"] is not None or token["revoked_at"] is not None:
        raise used
    log.info("device code polled again within the grace period; login %s handed out again", family)
    return _token_response(
        conn,
        policy,
        user_id=row["user_id"],
        organisation_id=token["organisation_id"],
        kind="refresh",
        credential_id=family,
        refresh_token=refresh,
    )


def revoke_token(conn: Connection, token: str, *, now: float) -> None:
    """Revoke an API key or an interactive refresh token's whole family (RFC 7009)."""
    prefix = API_KEY_PREFIX if token.startswith(API_KEY_PREFIX) else REFRESH_PREFIX
    parsed = parse_secret(token, prefix)
    if parsed is None:
        return
    ident, secret = parsed
    with transaction(conn):
        if prefix == API_KEY_PREFIX:
            row = conn.execute("SELECT secret_hash FROM api_keys WHERE id = ?", (ident,)).fetchone()
            if row and hmac.compare_digest(row["secret_hash"], sha256_hex(secret)):
                conn.execute(
                    "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                    (rfc3339(now), ident),
                )
        else:
            row = conn.execute(
                "SELECT secret_hash, family_id FROM refresh_tokens WHERE id = ?", (ident,)
            ).fetchone()
            if row and hmac.compare_digest(row["secret_hash"], sha256_hex(secret)):
                conn.execute(
                    "UPDATE token_families SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                    (rfc3339(now), row["family_id"]),
                )
