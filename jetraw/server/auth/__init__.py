"""The auth layer: who a caller is and how they prove it.

Signed access tokens and the signing key (``_tokens``), the :class:`Principal` behind a token
(``_principal``), passwords (``_passwords``), API keys (``_apikeys``), the OAuth grants
(``_grants``) and client rules (``_client``), device codes (``_device``), browser logins and
sessions (``_sessions``), CSRF (``_csrf``), the rate limiter (``_ratelimit``) and the HTML of the
login pages (``_html``). It stands on ``jetraw.server.store``; the routers in
``jetraw.server.http`` import from this package, never from its modules.
"""

from __future__ import annotations

from jetraw.server.auth._apikeys import (
    API_KEY_PREFIX,
    MAX_API_KEY_TTL,
    api_key_expiry,
    api_key_json,
    check_api_key,
    create_api_key,
    get_api_key,
    list_api_keys,
    parse_secret,
    revoke_api_key,
)
from jetraw.server.auth._client import CLIENT_ID, is_loopback_redirect
from jetraw.server.auth._csrf import (
    CSRF_COOKIE,
    csrf_cookie_value,
    csrf_ok,
    csrf_token,
    set_csrf_cookie,
)
from jetraw.server.auth._device import (
    approve_device,
    create_device_request,
    deny_device,
    find_pending_device,
    new_user_code,
    normalise_user_code,
)
from jetraw.server.auth._grants import (
    REFRESH_PREFIX,
    GrantError,
    TokenPolicy,
    create_auth_code,
    grant_authorization_code,
    grant_device_code,
    grant_refresh_token,
    revoke_token,
)
from jetraw.server.auth._html import (
    error_block,
    error_page,
    esc,
    hidden_fields,
    html_response,
    login_fields,
    message_page,
    organisation_select,
    page,
)
from jetraw.server.auth._passwords import dummy_verify, hash_password, verify_password
from jetraw.server.auth._principal import Principal, authenticate_access_token
from jetraw.server.auth._ratelimit import WINDOW_SECONDS, RateLimiter, shared_hit
from jetraw.server.auth._sessions import (
    SESSION_COOKIE,
    SESSION_SECONDS,
    authenticate_user,
    end_session,
    end_user_sessions,
    make_session,
    make_ticket,
    read_session,
    read_ticket,
)
from jetraw.server.auth._tokens import (
    AccessClaims,
    b64decode,
    b64encode,
    derived_key,
    issue_access_token,
    new_id,
    sha256_hex,
    sign,
    signing_key,
    verify_access_token,
    verify_signed,
)

__all__ = [
    "API_KEY_PREFIX",
    "CLIENT_ID",
    "CSRF_COOKIE",
    "MAX_API_KEY_TTL",
    "REFRESH_PREFIX",
    "SESSION_COOKIE",
    "SESSION_SECONDS",
    "WINDOW_SECONDS",
    "AccessClaims",
    "GrantError",
    "Principal",
    "RateLimiter",
    "TokenPolicy",
    "api_key_expiry",
    "api_key_json",
    "approve_device",
    "authenticate_access_token",
    "authenticate_user",
    "b64decode",
    "b64encode",
    "check_api_key",
    "create_api_key",
    "create_auth_code",
    "create_device_request",
    "csrf_cookie_value",
    "csrf_ok",
    "csrf_token",
    "deny_device",
    "derived_key",
    "dummy_verify",
    "end_session",
    "end_user_sessions",
    "error_block",
    "error_page",
    "esc",
    "find_pending_device",
    "get_api_key",
    "grant_authorization_code",
    "grant_device_code",
    "grant_refresh_token",
    "hash_password",
    "hidden_fields",
    "html_response",
    "is_loopback_redirect",
    "issue_access_token",
    "list_api_keys",
    "login_fields",
    "make_session",
    "make_ticket",
    "message_page",
    "new_id",
    "new_user_code",
    "normalise_user_code",
    "organisation_select",
    "page",
    "parse_secret",
    "read_session",
    "read_ticket",
    "revoke_api_key",
    "revoke_token",
    "set_csrf_cookie",
    "sha256_hex",
    "shared_hit",
    "sign",
    "signing_key",
    "verify_access_token",
    "verify_password",
    "verify_signed",
]
