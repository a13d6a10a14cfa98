"""The token manager: one per client, it turns a refresh token (or API key) into access tokens.

- An access token is reused until shortly before the server's ``expires_in`` (measured on a
  monotonic clock, minus a margin), and replaced once when the server answers 401.
- Exactly one refresh runs at a time (an anyio lock); tasks that waited reuse its result.
- From sending the grant to storing its answer a refresh is shielded from cancellation: a
  rotated refresh token is always kept and stored. Waiting for a lock is not shielded.
- A stored login (``store_key`` set) is shared by every process of that user: under a file lock
  per (server, organisation, user) the store is re-read, a token another process obtained meanwhile
  is adopted, and the new state is written atomically. Rotation therefore never logs anyone out.
  Within one process a lock per login file comes first, so one task at most waits for the file.
- Storing the rotated token is retried; if it keeps failing the token is kept in memory (it is
  the only valid one) and a warning says that other processes will have to log in again.
- ``invalid_grant``: re-read the store once (another process may have rotated), then give up with
  an error telling the user to run ``jetraw login``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
from anyio.lowlevel import RunVar

import jetraw._exceptions as exc
from jetraw._auth._oauth import LOGIN_HINT, InvalidGrant, TokenSet, request_token
from jetraw._auth._store import SecretStore
from jetraw._config import io_error
from jetraw._http import StateServerHTTP
from jetraw._models import Organisation, User

if TYPE_CHECKING:
    import filelock

__all__ = ["TokenManager", "expiry_margin"]

LOCK_TIMEOUT = 60.0
POLL_MIN = 0.002
POLL_MAX = 0.05
WRITE_ATTEMPTS = 3
WRITE_RETRY_DELAY = 0.1

logger = logging.getLogger("jetraw")


def _safe(error: BaseException, *secrets: str | None) -> str:
    """An error's text with any secret masked (a store may echo what it failed to write)."""
    text = str(error)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


_registry_guard = threading.Lock()
_process_locks: dict[str, threading.Lock] = {}


def _process_lock(path: str) -> threading.Lock:
    """The one lock per lock file shared by every client, thread and event loop of this process."""
    with _registry_guard:
        lock = _process_locks.get(path)
        if lock is None:
            lock = _process_locks[path] = threading.Lock()
        return lock


_loop_locks: RunVar[dict[str, anyio.Lock]] = RunVar("jetraw_login_locks")


def _loop_lock(path: str) -> anyio.Lock:
    """The lock per lock file of this event loop: its tasks queue here, woken in turn."""
    try:
        locks = _loop_locks.get()
    except LookupError:
        locks = {}
        _loop_locks.set(locks)
    lock = locks.get(path)
    if lock is None:
        lock = locks[path] = anyio.Lock()
    return lock


@contextlib.asynccontextmanager
async def _login_lock(file_lock: filelock.BaseFileLock, path: str) -> AsyncIterator[None]:
    """Hold a stored login's lock: this event loop's, this process's, then the file lock.

    Tasks of one event loop queue on an anyio lock; one task per loop at most then tries the
    process-wide lock (other loops, other threads), and one task per process the file lock
    (other processes). Nobody waits in a thread: the last two are tried without blocking and
    polled with ``anyio.sleep``, so waiting occupies no worker thread (the holder needs those to
    read the store) and a cancellation ends it at once.

    Raises:
        LoginError: Not obtained within ``LOCK_TIMEOUT`` seconds.
        ConfigurationError: The lock file cannot be opened.
    """
    deadline = time.monotonic() + LOCK_TIMEOUT
    try:
        with anyio.fail_after(LOCK_TIMEOUT):
            await _loop_lock(path).acquire()
    except TimeoutError:
        raise exc.LoginError(f"Timed out waiting for the token lock {path}.") from None
    try:
        async with _process_login_lock(file_lock, path, deadline):
            yield
    finally:
        _loop_lock(path).release()


@contextlib.asynccontextmanager
async def _process_login_lock(
    file_lock: filelock.BaseFileLock, path: str, deadline: float
) -> AsyncIterator[None]:
    in_process = _process_lock(path)
    delay = POLL_MIN
    while not in_process.acquire(blocking=False):
        delay = await _wait(delay, deadline, path)
    try:
        delay = POLL_MIN
        while True:
            try:
                file_lock.acquire(timeout=0)
                break
            except TimeoutError:  # filelock.Timeout
                delay = await _wait(delay, deadline, path)
            except OSError as error:
                raise io_error("open the lock file", Path(path), error) from error
        try:
            yield
        finally:
            file_lock.release()
    finally:
        in_process.release()


async def _wait(delay: float, deadline: float, path: str) -> float:
    if time.monotonic() >= deadline:
        raise exc.LoginError(f"Timed out waiting for the token lock {path}.")
    await anyio.sleep(delay)
    return min(delay * 2, POLL_MAX)


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
        not_logged_in: The message of the error raised when there is no refresh token.
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
        not_logged_in: str | None = None,
    ) -> None:
        self._not_logged_in = not_logged_in or (
            "Not logged in: run `jetraw login` (or pass an API key, refresh_token=..., or set "
            "JETRAW_API_KEY)."
        )
        self._http = http
        self._refresh_token = refresh_token
        self.rotating = rotating
        self.organisation = organisation
        self._store = store
        self._store_key = store_key
        self._file_lock: filelock.BaseFileLock | None = None
        if lock_path is not None and store is not None:  # a stored login (not an API key)
            import filelock

            self._file_lock = filelock.FileLock(str(lock_path), thread_local=False)
        # The process-wide lock is per file: the same login reached through any path.
        self._lock_key = os.path.abspath(lock_path) if lock_path is not None else ""
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
                raise exc.LoginRequiredError(self._not_logged_in)
            if self._file_lock is None:
                # Shielded: once a rotating refresh token is sent, the new one must be kept even
                # if the caller is cancelled, or this login is lost.
                with anyio.CancelScope(shield=True):
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
            repeatable=True,  # see request_token: the grace period makes a repeat harmless
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
        async with _login_lock(self._file_lock, self._lock_key):
            # Not shielded yet: reading the store sends nothing, so a cancellation is harmless.
            if self._adopt_stored(await self._read(), stale):
                return
            with anyio.CancelScope(shield=True):
                await self._rotate_and_store()

    async def _rotate_and_store(self) -> None:
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
        received_wall = self._wall() - (self._clock() - started)
        for attempt in range(WRITE_ATTEMPTS):
            try:
                await self._write(tokens, received_wall=received_wall)
                return
            except Exception as error:  # any store failure: reported below
                failure = error
                if attempt + 1 < WRITE_ATTEMPTS:
                    await anyio.sleep(WRITE_RETRY_DELAY * (attempt + 1))
        # The new token is the only valid one now (the old one dies after the grace period), so
        # it stays in memory; other processes sharing this login will have to log in again.
        assert self._store is not None
        logger.warning(
            "Could not save the renewed login to %s (%s: %s). This process keeps working, but "
            "other processes using this login will be logged out after the grace period; "
            "run `jetraw login` again if they are.",
            self._store.name,
            type(failure).__name__,
            _safe(failure, self._refresh_token, tokens.access_token),
        )

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
