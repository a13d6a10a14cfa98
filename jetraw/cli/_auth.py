"""`jetraw login/logout/whoami/auth status` (owned by the client-auth work)."""
