"""Small helpers shared by the identity modules: clock, runtime settings, client address, issuer."""

from __future__ import annotations

import ipaddress
import sqlite3
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request

from jetraw.server._runtime import now, setting
from jetraw.server._state import AppState

__all__ = [
    "CLIENT_ID",
    "client_address",
    "is_loopback_redirect",
    "issuer",
    "now",
    "organisation_json",
    "setting",
    "user_json",
]

#: The one OAuth client of this platform: the SDK/CLI, a public client (RFC 6749 §2.1).
CLIENT_ID = "jetraw"


def client_address(request: Request) -> str:
    """The peer address (proxies are not trusted: the reference server binds directly)."""
    return request.client.host if request.client else "unknown"


def issuer(state: AppState, request: Request) -> str:
    """The server's public base URL, without a trailing slash."""
    base = state.settings.base_url or str(request.base_url)
    return base.rstrip("/")


def is_loopback_redirect(uri: str) -> bool:
    """A loopback redirect URI per RFC 8252 §7.3 (http, 127.0.0.1 / [::1] / localhost, any port)."""
    if len(uri) > 2048 or not uri.isascii() or any(c in uri for c in " \t\r\n\\\"'<>"):
        return False
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return False
    if parts.scheme != "http" or parts.fragment or parts.username or parts.password:
        return False
    if port is not None and not 0 < port < 65536:
        return False
    host = parts.hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback and host in ("127.0.0.1", "::1")
    except ValueError:
        return False


def organisation_json(conn: sqlite3.Connection, organisation_id: str) -> dict[str, Any]:
    row = conn.execute(
        "SELECT id, name FROM organisations WHERE id = ?", (organisation_id,)
    ).fetchone()
    return {"id": row["id"], "name": row["name"]}


def user_json(conn: sqlite3.Connection, user_id: str) -> dict[str, Any]:
    row = conn.execute("SELECT id, email, name FROM users WHERE id = ?", (user_id,)).fetchone()
    return {"id": row["id"], "email": row["email"], "name": row["name"]}
