"""The token manager: one per client, it turns a refresh token (or API key) into access tokens.

- An access token is reused until shortly before the server's ``expires_in`` (measured on a
  monotonic clock, minus a margin), and replaced once when the server answers 401.
- Exactly one refresh runs at a time (an anyio lock); tasks that waited reuse its result.
- A refresh runs shielded from cancellation: a rotated refresh token is always kept and stored.
- A stored login (``store_key`` set) is shared by every process of that user: under a file lock
  per (server, organisation, user) the store is re-read, a token another process obtained meanwhile
  is adopted, and the new state is written atomically. Rotation therefore never logs anyone out.
- ``invalid_grant``: re-read the store once (another process may have rotated), then give up with
  an error telling the user to run ``jetraw login``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import filelock

from jetraw import _exceptions as exc
from jetraw._auth._oauth import LOGIN_HINT, InvalidGrant, TokenSet, request_token
from jetraw._auth._store import SecretStore
from jetraw._config import io_error
from jetraw._http import StateServerHTTP
from jetraw._models import Organisation, User

__all__ = ["TokenManager", "expiry_margin"]

LOCK_TIMEOUT = 60.0


def expiry_margin(expires_in: float) -> float:
    """Seconds before expiry at which a token counts as expired: a quarter, at most a minute.

    Proportional, so that very short lifetimes (seconds, in tests) still leave room for a request
    in flight on a loaded machine.
    """
    return min(60.0, max(0.0, expires_in) * 0.25)


class TokenManager:
    """Access tokens for one client.

    Args:
        http: The state server.
        refresh_token: An API key or an interactive refresh token; ``None`` when logged out.
        rotating: Whether the refresh token rotates (interactive logins).
        organisation: The organisation to request tokens for (``None``: the credential's default).
        store: The secret store of a stored login (``None`` for API keys given directly).
        store_key: The store entry of this login.
        lock_path: The cross-process lock file of this login.
        clock: Monotonic clock (injectable).
        wall: Wall clock, for expiry times shared with other processes (injectable).
    """

    def __init__(
        self,
        http: StateServerHTTP,
        refresh_token: str | None,
        *,
        rotating: bool = False,
        organisation: str | None = None,
        store: SecretStore | None = None,
        store_key: str | None = None,
        lock_path: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._http = http
        self._refresh_token = refresh_token
        self.rotating = rotating
        self.organisation = organisation
        self._store = store
        self._store_key = store_key
        self._file_lock = (
            filelock.FileLock(str(lock_path), thread_local=False, timeout=LOCK_TIMEOUT)
            if lock_path is not None and store is not None
            else None
        )
        self._clock = clock
        self._wall = wall
        self._access: str | None = None
        self._deadline = 0.0
        self._lock: anyio.Lock | None = None
        self.refresh_count = 0
        self.user: User | None = None
        self.token_organisation: Organisation | None = None

    def __repr__(self) -> str:
        return (
            f"<TokenManager rotating={self.rotating} has_refresh_token="
            f"{self._refresh_token is not None} has_access_token={self._access is not None}>"
        )

    @property
    def has_credentials(self) -> bool:
        """Whether there is anything to obtain access tokens with."""
        return self._refresh_token is not None or self._valid() is not None

    @property
    def refresh_token(self) -> str | None:
        """The current refresh token (for logout and login persistence only)."""
        return self._refresh_token

    def _valid(self) -> str | None:
        if self._access is not None and self._clock() < self._deadline:
            return self._access
        return None

    def _adopt(self, tokens: TokenSet, *, received_at: float) -> None:
        self._access = tokens.access_token
        self._deadline = received_at + tokens.expires_in - expiry_margin(tokens.expires_in)
        if tokens.refresh_token:
            self._refresh_token = tokens.refresh_token
        if tokens.user is not None:
            self.user = tokens.user
        if tokens.organisation is not None:
            self.token_organisation = tokens.organisation

    def set_tokens(self, tokens: TokenSet) -> None:
        """Install tokens obtained by a login flow."""
        self._adopt(tokens, received_at=self._clock())

    async def access_token(self) -> str:
        """A valid access token, refreshing first if needed.

        Raises:
            LoginRequiredError: No credentials, or the login expired or was revoked.
            InvalidCredentialsError: The API key is wrong, expired or revoked.
        """
        token = self._valid()
        if token is not None:
            return token
        return await self.refresh(stale=self._access)

    async def refresh(self, stale: str | None) -> str:
        """Replace the access token ``stale`` (``None``: any), unless another task already did."""
        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:
            current = self._valid()
            if current is not None and current != stale:
                return current
            if self._refresh_token is None:
                raise exc.LoginRequiredError(
                    "Not logged in: run `jetraw login` (or pass an API key, "
                    "refresh_token=..., or set JETRAW_API_KEY)."
                )
            # Shielded: once a rotating refresh token is sent, the new one must be kept even if
            # the caller is cancelled, or this login is lost.
            with anyio.CancelScope(shield=True):
                if self._file_lock is None:
                    await self._refresh_unshared()
                else:
                    await self._refresh_shared(stale)
            assert self._access is not None
            return self._access

    async def _grant(self) -> TokenSet:
        assert self._refresh_token is not None
        self.refresh_count += 1
        return await request_token(
            self._http,
            {"grant_type": "refresh_token", "refresh_token": self._refresh_token},
            organisation=self.organisation,
        )

    def _rejected(self, request_id: str | None) -> exc.AuthenticationError:
        if self.rotating:
            return exc.LoginRequiredError(
                f"Your login to {self._http.server} has expired or was revoked: run "
                "`jetraw login`.",
                status_code=400,
                code="invalid_grant",
                request_id=request_id,
            )
        return exc.InvalidCredentialsError(
            f"The API key was rejected by {self._http.server} (wrong, expired or revoked): "
            f"create a new one in the settings page, or {LOGIN_HINT}.",
            status_code=400,
            code="invalid_grant",
            request_id=request_id,
        )

    async def _refresh_unshared(self) -> None:
        started = self._clock()
        try:
            tokens = await self._grant()
        except InvalidGrant as error:
            raise self._rejected(error.request_id) from None
        self._adopt(tokens, received_at=started)

    async def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await anyio.to_thread.run_sync(fn, *args)

    async def _refresh_shared(self, stale: str | None) -> None:
        assert self._file_lock is not None
        assert self._store is not None
        assert self._store_key is not None
        try:
            await self._run(self._file_lock.acquire)
        except filelock.Timeout:
            raise exc.LoginError(
                f"Timed out waiting for the token lock {self._file_lock.lock_file}."
            ) from None
        except OSError as error:
            raise io_error("open the lock file", Path(self._file_lock.lock_file), error) from error
        try:
            if self._adopt_stored(await self._read(), stale):
                return
            started = self._clock()
            try:
                tokens = await self._grant()
            except InvalidGrant as error:
                # Another process may have rotated the token since we last looked: once more.
                stored = await self._read()
                fresh = stored.get("refresh_token") if stored else None
                if not fresh or fresh == self._refresh_token:
                    raise self._rejected(error.request_id) from None
                self._refresh_token = str(fresh)
                started = self._clock()
                try:
                    tokens = await self._grant()
                except InvalidGrant as again:
                    raise self._rejected(again.request_id) from None
            self._adopt(tokens, received_at=started)
            await self._write(tokens, received_wall=self._wall() - (self._clock() - started))
        finally:
            await self._run(self._file_lock.release)

    async def _read(self) -> dict[str, Any] | None:
        assert self._store is not None
        result: dict[str, Any] | None = await self._run(self._store.get, self._store_key)
        return result

    def _adopt_stored(self, stored: dict[str, Any] | None, stale: str | None) -> bool:
        """Take over a newer refresh token, and a still-valid access token, from the store."""
        if not stored:
            return False
        if stored.get("refresh_token"):
            self._refresh_token = str(stored["refresh_token"])
        access = stored.get("access_token")
        expires_at = stored.get("expires_at")
        if (
            not access
            or access == stale
            or stored.get("access_organisation") != self.organisation
            or not isinstance(expires_at, (int, float))
        ):
            return False
        expires_in = float(stored.get("expires_in") or 0)
        remaining = float(expires_at) - self._wall() - expiry_margin(expires_in)
        if remaining <= 0:
            return False
        self._access = str(access)
        self._deadline = self._clock() + remaining
        return True

    async def _write(self, tokens: TokenSet, *, received_wall: float) -> None:
        assert self._store is not None
        assert self._store_key is not None
        stored = await self._read() or {}
        stored.update(
            {
                "refresh_token": self._refresh_token,
                "access_token": tokens.access_token,
                "expires_in": tokens.expires_in,
                "expires_at": received_wall + tokens.expires_in,
                "access_organisation": self.organisation,
            }
        )
        await self._run(self._store.set, self._store_key, stored)
