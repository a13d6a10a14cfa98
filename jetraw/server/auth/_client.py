"""The one OAuth client of this platform, and the redirect URIs it may use."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

__all__ = ["CLIENT_ID", "is_loopback_redirect"]

#: The one OAuth client of this platform: the SDK/CLI, a public client (RFC 6749 §2.1).
CLIENT_ID = "jetraw"


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
