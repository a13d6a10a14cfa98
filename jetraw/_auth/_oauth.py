"""The OAuth 2.0 token endpoint as the SDK uses it: requests, answers, and error translation."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import secrets
from collections.abc import Mapping
from typing import Any

import jetraw._exceptions as exc
from jetraw._http import StateServerHTTP, error_from_response
from jetraw._models import Organisation, User

__all__ = [
    "AUTHORIZE_PATH",
    "CLIENT_ID",
    "DEVICE_PATH",
    "LOGIN_HINT",
    "REVOKE_PATH",
    "TOKEN_PATH",
    "InvalidGrant",
    "TokenSet",
    "pkce_pair",
    "request_token",
    "revoke",
]

CLIENT_ID = "jetraw"

TOKEN_PATH = "/oauth/token"  # noqa: S105 - a URL path, not a password
REVOKE_PATH = "/oauth/revoke"
AUTHORIZE_PATH = "/oauth/authorize"
DEVICE_PATH = "/oauth/device_authorization"

LOGIN_HINT = "run `jetraw login` (or pass a valid API key)"


class InvalidGrant(Exception):
    """Internal signal: the token endpoint rejected the grant (``invalid_grant``)."""

    def __init__(self, request_id: str | None) -> None:
        super().__init__("invalid_grant")
        self.request_id = request_id


@dataclasses.dataclass(frozen=True)
class TokenSet:
    """A successful token answer. Its repr never shows a token."""

    access_token: str = dataclasses.field(repr=False)
    expires_in: float
    refresh_token: str | None = dataclasses.field(default=None, repr=False)
    organisation: Organisation | None = None
    user: User | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TokenSet:
        """Build from the token endpoint's JSON answer."""
        org = data.get("organisation")
        user = data.get("user")
        return cls(
            access_token=str(data["access_token"]),
            expires_in=float(data.get("expires_in") or 60),
            refresh_token=data.get("refresh_token") or None,
            organisation=Organisation.from_json(org) if isinstance(org, dict) else None,
            user=User.from_json(user) if isinstance(user, dict) else None,
        )


def pkce_pair() -> tuple[str, str]:
    """A PKCE ``(code_verifier, code_challenge)`` pair, method S256 (RFC 7636)."""
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return verifier, challenge


async def request_token(
    http: StateServerHTTP,
    form: Mapping[str, str],
    *,
    organisation: str | None = None,
    repeatable: bool = False,
) -> TokenSet:
    """POST the token endpoint and translate its errors.

    Args:
        http: The state server.
        form: The grant.
        organisation: The organisation to log in to.
        repeatable: The grant may be sent again after a lost answer (a refresh grant): it is
            then retried, within the client's retries, on connection errors, timeouts and 5xx
            too. Other grants are retried only when they surely were not processed (an error
            before sending, 429, 503): a repeated authorization code counts as a replay.

    Raises:
        InvalidGrant: The grant was rejected (the caller decides what that means).
        PermissionDeniedError: The user is not a member of the requested organisation.
        RateLimitedError, ServerConnectionError, APIError: As for any request.
    """
    body = {"client_id": CLIENT_ID, **form}
    if organisation:
        body["organisation"] = organisation
    # A refresh grant is repeatable: an API key does not rotate, and within its grace period
    # (30 s) the server answers a repeated rotating refresh token with the same successor. An
    # authorization code is not: the server takes a second exchange for a replay (RFC 6749
    # §4.1.2) and revokes the login.
    response = await http.send("POST", TOKEN_PATH, data=body, idempotent=repeatable)
    if response.status_code == 200:
        try:
            return TokenSet.from_json(response.json())
        except (ValueError, KeyError, TypeError):
            raise exc.APIError(
                f"The server at {http.server} answered the token request with something that is "
                "not a token; check the server URL.",
                status_code=200,
                request_id=response.headers.get("x-request-id"),
            ) from None
    error = error_from_response(response, server=http.server)
    try:
        oauth_error = response.json().get("error")
    except (ValueError, AttributeError):
        oauth_error = None
    if error.code == "not_a_member":
        where = f" {organisation!r}" if organisation else ""
        raise exc.PermissionDeniedError(
            f"You are not a member of the organisation{where} on {http.server}; pick one you "
            "belong to (`organisation=`, JETRAW_ORGANISATION or `jetraw login --organisation`).",
            status_code=error.status_code,
            code=error.code,
            request_id=error.request_id,
        )
    if error.code == "organisation_not_found":
        raise exc.OrganisationNotFoundError(
            f"No organisation {organisation!r} on {http.server}.",
            status_code=error.status_code,
            code=error.code,
            request_id=error.request_id,
        )
    if oauth_error == "invalid_grant" or error.code == "invalid_grant":
        raise InvalidGrant(error.request_id)
    raise error


async def revoke(http: StateServerHTTP, token: str, hint: str = "refresh_token") -> None:
    """Revoke a refresh token's family or an API key (RFC 7009; always 200 by the spec)."""
    response = await http.send(
        "POST",
        REVOKE_PATH,
        data={"token": token, "token_type_hint": hint, "client_id": CLIENT_ID},
        idempotent=True,
    )
    if response.status_code >= 400:
        raise error_from_response(response, server=http.server)
