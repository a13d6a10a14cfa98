"""Authentication: the token manager, the secret store, and the login flows (browser, device)."""

__all__: list[str] = []
