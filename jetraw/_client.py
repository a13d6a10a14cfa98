"""``AsyncClient``: the connection to one state server, as one user in one organisation.

The client resolves its configuration (argument → environment → profile, see
:mod:`jetraw._config`), owns one HTTP pool and one token manager, and belongs to the event loop
that first uses it. Login flows live in :mod:`jetraw._auth`; the account calls (identity,
organisations, spaces, API keys) come from :mod:`jetraw._client_accounts`, file methods from
:mod:`jetraw._client_files`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import logging
import os
from collections.abc import AsyncGenerator, Callable, Mapping
from types import TracebackType
from typing import Any

import anyio
import httpx

from jetraw import _exceptions as exc
from jetraw._auth import _login, _oauth
from jetraw._auth._browser import browser_login, default_notify
from jetraw._auth._device import device_login
from jetraw._auth._store import SecretStore, open_store, store_key
from jetraw._auth._tokens import TokenManager
from jetraw._client_accounts import _AccountsMixin
from jetraw._client_files import _FilesMixin
from jetraw._config import (
    ENV_API_KEY,
    ENV_SERVER,
    NO_SERVER_MESSAGE,
    ResolvedConfig,
    config_dir,
    resolve,
    same_server,
)
from jetraw._http import RetryPolicy, StateServerHTTP, error_from_response
from jetraw._models import Identity, LoginInfo, LogoutResult, Space

__all__ = ["AsyncClient", "get_default_client", "set_default_client"]

logger = logging.getLogger("jetraw")


class _State(enum.Enum):
    UNOPENED = 1
    OPENED = 2
    CLOSED = 3


class AsyncClient(_AccountsMixin, _FilesMixin):
    """A client of the Jetraw platform (asyncio).

    Credentials are resolved in this order: the ``refresh_token`` argument (an API key), the
    ``JETRAW_API_KEY`` environment variable, then the profile written by the last login
    (``jetraw login`` or :meth:`authorize`). ``auth_source`` tells which one is in force.

    Use it as ``async with AsyncClient() as client: ...`` or close it with :meth:`aclose`. A
    client belongs to the event loop that first uses it.

    Args:
        refresh_token: An API key (or a refresh token). Not written anywhere.
        server: The state server's URL; else ``JETRAW_SERVER``, else the profile's. There is no
            built-in default.
        organisation: The organisation to act in; else ``JETRAW_ORGANISATION``, else the
            profile's, else the API key's own organisation.
        profile: The profile name; else ``JETRAW_PROFILE``, else the file's ``default_profile``.
        refresh_token_if_empty: ``True``: obtain an access token as soon as the client is entered
            or first used, so a wrong key fails at once; no credentials at all is a
            :class:`~jetraw.LoginRequiredError`. ``False``: fetch nothing and accept having no
            credentials, so that :meth:`authorize` can log in.
        verify: TLS verification: ``True``, ``False`` or the path of a CA bundle. Proxy and CA
            environment variables (``HTTPS_PROXY``, ``SSL_CERT_FILE``, ...) are honoured.
        timeout: Seconds for one request to the state server (connecting: at most 5 s).
        retries: Retries of a request on 5xx (idempotent requests only), 429 and connection
            errors, with exponential backoff and jitter.
        transport: An ``httpx`` async transport (for tests).

    Raises:
        ConfigurationError: A named profile does not exist, or a URL is malformed.
    """

    def __init__(
        self,
        refresh_token: str | None = None,
        *,
        server: str | None = None,
        organisation: str | None = None,
        profile: str | None = None,
        refresh_token_if_empty: bool = True,
        verify: bool | str = True,
        timeout: float = 30.0,
        retries: int = 3,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._config: ResolvedConfig = resolve(
            api_key=refresh_token, server=server, organisation=organisation, profile=profile
        )
        self.refresh_token_if_empty = refresh_token_if_empty
        self.verify: bool | str = verify
        self.aws_profile: str | None = self._config.aws_profile
        self._timeout = timeout
        self._retry = RetryPolicy(attempts=max(0, retries) + 1)
        self._transport = transport
        self._state = _State.UNOPENED
        self._loop: asyncio.AbstractEventLoop | None = None
        self._http_: StateServerHTTP | None = None
        self._tokens_: TokenManager | None = None
        self._tokens_lock: anyio.Lock | None = None
        # The implicit default client is closed by its event loop's shutdown (asyncio.run).
        self._close_with_loop = False
        self._closer: AsyncGenerator[None, None] | None = None
        self._store: SecretStore | None = None
        self._spaces: dict[str, Space] = {}

    # -- configuration --------------------------------------------------------------------------

    @property
    def server(self) -> str | None:
        """The state server's base URL (``None`` if none is configured)."""
        return self._config.server

    @property
    def organisation(self) -> str | None:
        """The organisation name in force (known after the first token for API-key defaults)."""
        tm = self._tokens_
        if tm is not None and tm.token_organisation is not None:
            return tm.token_organisation.name
        return self._config.organisation

    @property
    def profile(self) -> str:
        """The profile name used for resolution and written by :meth:`authorize`."""
        return self._config.profile_name

    @property
    def auth_source(self) -> str | None:
        """Where the credentials come from: ``"argument"``, ``"env:JETRAW_API_KEY"``,
        ``"profile:NAME"`` (also after :meth:`authorize`), or ``None`` (none found)."""
        return self._config.auth_source

    def __repr__(self) -> str:
        state = self._state.name.lower()
        return (
            f"<AsyncClient server={self.server!r} organisation={self.organisation!r} "
            f"auth_source={self.auth_source!r} credentials={'***' if self._has_secret() else None}"
            f" state={state}>"
        )

    def _has_secret(self) -> bool:
        return self._config.api_key is not None or self._config.auth_source is not None

    # -- lifecycle ------------------------------------------------------------------------------

    async def __aenter__(self) -> AsyncClient:
        self._check_usable()
        if self.refresh_token_if_empty:
            try:
                tm = await self._token_manager()
                await tm.access_token()
            except BaseException:
                # `async with` never reaches __aexit__ when entering fails: close here.
                await self.aclose()
                raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close storage clients and the HTTP pool. Safe to call twice."""
        if self._state is _State.CLOSED:
            return
        self._state = _State.CLOSED
        try:
            await self._aclose_storage()
        finally:
            if self._http_ is not None:
                await self._http_.aclose()

    def _check_usable(self) -> None:
        if self._state is _State.CLOSED:
            raise exc.ClientClosedError("This AsyncClient is closed; create a new one.")
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise exc.EventLoopError(
                "AsyncClient must be used from a running event loop."
            ) from None
        if self._loop is None:
            self._loop = loop
            if self._close_with_loop:
                self._closer = _close_when_loop_shuts_down(self)
        elif self._loop is not loop:
            raise exc.EventLoopError(
                "This AsyncClient belongs to another event loop (its HTTP connections are bound "
                "to it): create one AsyncClient per event loop, or use the sync jetraw.Client."
            )
        self._state = _State.OPENED

    def _http(self) -> StateServerHTTP:
        if self._http_ is None:
            if self.server is None:
                raise exc.ConfigurationError(NO_SERVER_MESSAGE)
            self._http_ = StateServerHTTP(
                self.server,
                verify=self.verify,
                timeout=httpx.Timeout(self._timeout, connect=min(5.0, self._timeout)),
                retry=self._retry,
                transport=self._transport,
            )
        return self._http_

    def _secret_store(self) -> SecretStore:
        if self._store is None:
            self._store = open_store()
        return self._store

    async def _token_manager(self) -> TokenManager:
        if self._tokens_ is not None:
            return self._tokens_
        if self._tokens_lock is None:
            self._tokens_lock = anyio.Lock()
        # Concurrent first calls must share one manager (one refresh), not build one each.
        async with self._tokens_lock:
            if self._tokens_ is None:
                self._tokens_ = await self._new_token_manager()
            return self._tokens_

    def _foreign_profile_error(self) -> exc.LoginRequiredError | None:
        """The error for a saved login that belongs to another server than the one in use."""
        prof, server = self._config.profile, self.server
        if prof is None or server is None or same_server(server, prof.server):
            return None
        return exc.LoginRequiredError(
            f"The saved login (profile {prof.name!r}) is for {prof.server}, not {server}; it is "
            f"not sent to another server. Run `jetraw login --server {server}` to log in there "
            "(or pass an API key, or set JETRAW_API_KEY)."
        )

    async def _new_token_manager(self) -> TokenManager:
        http = self._http()
        cfg = self._config
        if cfg.api_key is not None:
            return TokenManager(
                http,
                cfg.api_key,
                rotating=cfg.api_key.startswith("jrt_"),
                organisation=cfg.organisation,
            )
        if cfg.profile is not None and cfg.auth_source is not None:
            return await self._profile_tokens()
        foreign = self._foreign_profile_error()
        if self.refresh_token_if_empty:
            raise foreign or exc.LoginRequiredError(
                f"No credentials for {cfg.server}: run `jetraw login` (or pass an API key "
                "as refresh_token=..., or set JETRAW_API_KEY)."
            )
        return TokenManager(
            http,
            None,
            organisation=cfg.organisation,
            not_logged_in=str(foreign) if foreign is not None else None,
        )

    async def _profile_tokens(self) -> TokenManager:
        import anyio.to_thread

        prof = self._config.profile
        assert prof is not None
        foreign = self._foreign_profile_error()
        if foreign is not None:
            raise foreign
        store = self._secret_store()
        key = store_key(prof.server, prof.organisation, prof.user)
        blob = await anyio.to_thread.run_sync(store.get, key)
        if not blob or not blob.get("refresh_token"):
            raise exc.LoginRequiredError(
                f"Profile {prof.name!r} has no stored login (store: {store.name}): run "
                f"`jetraw login --profile {prof.name}`."
            )
        return TokenManager(
            self._http(),
            str(blob["refresh_token"]),
            rotating=blob.get("kind", "refresh_token") == "refresh_token",
            organisation=self._config.organisation,
            store=store,
            store_key=key,
            lock_path=_login.lock_path(config_dir(), key),
        )

    # -- requests -------------------------------------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        idempotent: bool | None = None,
    ) -> Any:
        """An authenticated request to the state server, returning the decoded JSON answer.

        Refreshes the access token once on 401. Returns ``None`` for 204.

        Raises:
            JetrawError: The error mapped from the problem ``code`` of the answer.
        """
        self._check_usable()
        tm = await self._token_manager()
        http = self._http()
        token = await tm.access_token()
        response = await http.send(
            method, path, token=token, json=json, params=params, idempotent=idempotent
        )
        if response.status_code == 401:
            await response.aclose()
            token = await tm.refresh(stale=token)
            response = await http.send(
                method, path, token=token, json=json, params=params, idempotent=idempotent
            )
        if response.status_code >= 400:
            raise error_from_response(response, server=http.server)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise exc.APIError(
                f"The server answered {method} {path} with a body that is not JSON.",
                status_code=response.status_code,
                request_id=response.headers.get("x-request-id"),
            ) from None

    # -- login ----------------------------------------------------------------------------------

    async def authorize(
        self,
        *,
        device: bool = False,
        opener: Callable[[str], Any] | None = None,
        login_timeout: float = 300.0,
        notify: Callable[[str], None] | None = None,
    ) -> Identity:
        """Log in interactively and save the login for the next ``AsyncClient()``.

        The browser login (default) listens on 127.0.0.1 on a free port, prints the login URL
        and opens it with ``opener`` (default :func:`webbrowser.open`); ``device=True`` runs the
        device-code login instead (RFC 8628: enter a short code on any other device). The
        refresh token goes to the secret store; the profile (server, organisation, user, no
        secrets) to the config file, as the default profile.

        Args:
            device: Use the device-code login (for SSH sessions and headless machines).
            opener: Called with the URL to open (a browser, or a test driving one). For the
                device login nothing is opened unless given.
            login_timeout: Seconds to wait for the person to finish.
            notify: Receives the instructions to show (default: printed to standard error).

        Returns:
            The identity now logged in.

        Raises:
            ConfigurationError: No server configured.
            LoginError: Timed out, denied, or the server rejected the login.
        """
        self._check_usable()
        http = self._http()
        kwargs: dict[str, Any] = {
            "organisation": self._config.organisation,
            "opener": opener,
            "login_timeout": login_timeout,
            "notify": notify or default_notify,
        }
        if device:
            tokens, refresh = await device_login(http, **kwargs)
        else:
            tokens, refresh = await browser_login(http, **kwargs)
        store = self._secret_store()
        stored = await _login.persist_login(
            server=http.server,
            organisation=tokens.organisation.name if tokens.organisation else None,
            user=tokens.user.email if tokens.user else None,
            tokens=tokens,
            profile_name=self.profile,
            kind="refresh_token",
            store=store,
            refresh_token=refresh,
            aws_profile=self.aws_profile,
            previous=self._config.profile,
            http=http,
        )
        self._config = dataclasses.replace(
            self._config,
            api_key=None,
            organisation=stored.profile.organisation,
            profile=stored.profile,
            auth_source=f"profile:{stored.profile.name}",
        )
        self._tokens_ = await self._profile_tokens()
        self._tokens_.set_tokens(tokens)
        self._spaces.clear()
        return await self.whoami()

    async def authorize_device(
        self,
        *,
        opener: Callable[[str], Any] | None = None,
        login_timeout: float = 900.0,
        notify: Callable[[str], None] | None = None,
    ) -> Identity:
        """Log in with the device-code flow; the same as ``authorize(device=True)``.

        Args:
            opener: Called with the verification URL, if given (nothing is opened otherwise).
            login_timeout: Seconds to wait for the approval.
            notify: Receives the instructions (default: printed to standard error).

        Returns:
            The identity now logged in.

        Raises:
            LoginError: Denied, expired or timed out.
        """
        return await self.authorize(
            device=True, opener=opener, login_timeout=login_timeout, notify=notify
        )

    async def logout(self) -> LogoutResult:
        """Log out: revoke the login on the server and delete every stored copy of it.

        An API key passed as an argument or in ``JETRAW_API_KEY`` is not revoked (it may be in
        use elsewhere; revoke it with :meth:`revoke_api_key`): the result names such variables.

        Returns:
            What was revoked and removed, and what would still log you in.
        """
        self._check_usable()
        source = self.auth_source or ""
        # Credentials passed as an argument leave the saved login alone; otherwise the profile
        # found by resolution is logged out, even when JETRAW_API_KEY takes precedence over it.
        prof = self._config.profile if source != "argument" else None
        if prof is not None and self._foreign_profile_error() is not None:
            # Another server's saved login: neither revoked here (that would send its secret to
            # this server) nor deleted.
            prof = None
        tm = self._tokens_ if source.startswith("profile:") else None
        if tm is None and prof is not None:
            try:
                tm = await self._profile_tokens()
            except exc.LoginRequiredError:
                tm = None
        revoked = False
        if tm is not None and tm.rotating and tm.refresh_token is not None:
            try:
                await _oauth.revoke(self._http(), tm.refresh_token)
                revoked = True
            except exc.JetrawError as error:
                logger.warning("Could not revoke the login on the server: %s", error)
        removed: list[str] = []
        if prof is not None:
            removed = await _login.forget_login(prof, self._secret_store())
        self._tokens_ = None
        self._config = dataclasses.replace(
            self._config, api_key=None, profile=None, auth_source=None
        )
        self.refresh_token_if_empty = False
        still = tuple(name for name in (ENV_API_KEY,) if os.environ.get(name))
        return LogoutResult(revoked=revoked, removed=tuple(removed), still_logged_in_by=still)

    async def save_login(self) -> Identity:
        """Save the credential this client was given as the login of its profile.

        The API key (or refresh token) passed as ``refresh_token`` or in ``JETRAW_API_KEY`` is
        checked with :meth:`whoami`, then written to the secret store and the profile (server,
        organisation, user; no secret) to the config file, as the default profile. The
        profile's previous login is replaced: its secret deleted, and its refresh token (an
        interactive login, never an API key) revoked on the server, best effort. Afterwards
        ``AsyncClient(profile=client.profile)`` uses the saved credential.

        Returns:
            The identity the credential belongs to.

        Raises:
            LoginRequiredError: The client was given no credential explicitly (a saved login
                is already saved).
            InvalidCredentialsError: The server rejected the credential.
            ConfigurationError: The secret store or the config file cannot be written.
        """
        self._check_usable()
        key = self._config.api_key
        if key is None:
            raise exc.LoginRequiredError(
                "save_login() saves the credential given to this client (refresh_token=... or "
                f"{ENV_API_KEY}); this client has none."
            )
        ident = await self.whoami()
        http = self._http()
        stored = await _login.persist_login(
            server=http.server,
            organisation=ident.organisation.name,
            user=ident.user.email,
            profile_name=self.profile,
            kind="api_key",
            store=self._secret_store(),
            refresh_token=key,
            aws_profile=self.aws_profile,
            previous=self._config.profile,
            http=http,
        )
        # The credential in force stays the given one; the profile is now the saved login.
        self._config = dataclasses.replace(self._config, profile=stored.profile)
        return ident

    async def login_info(self) -> LoginInfo:
        """Which login this client uses, where it comes from, and why a saved one is unused.

        Nothing is sent to the server (:meth:`whoami` checks the credential).

        Returns:
            The server, profile, organisation and credential source in force, the saved
            login's server, where its secret is stored (when it is the credential in force),
            and why the saved login is not usable here (it belongs to another server), if so.

        Raises:
            ConfigurationError: The secret store cannot be opened.
        """
        import anyio.to_thread

        prof = self._config.profile
        source = self.auth_source
        stored_in: str | None = None
        if prof is not None and source is not None and source.startswith("profile:"):
            store = self._secret_store()
            key = store_key(prof.server, prof.organisation, prof.user)
            stored_in = await anyio.to_thread.run_sync(store.describe, key)
        return LoginInfo(
            server=self.server,
            profile=self.profile,
            organisation=self.organisation,
            auth_source=source,
            saved_server=prof.server if prof is not None else None,
            stored_in=stored_in,
            unusable_reason=self._foreign_login_reason(),
        )

    def _foreign_login_reason(self) -> str | None:
        """Why the saved login is not used when it belongs to another server than this one."""
        prof, server = self._config.profile, self.server
        if prof is None or server is None or same_server(server, prof.server):
            return None
        via = f"{ENV_SERVER} points to" if os.environ.get(ENV_SERVER) else "the server in use is"
        return (
            f"the saved login (profile {prof.name!r}) is for {prof.server}; {via} {server}. "
            f"Unset {ENV_SERVER} to use it, or run `jetraw login --server {server}`."
        )


async def _close_at_shutdown(client: AsyncClient) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        await client.aclose()


def _close_when_loop_shuts_down(client: AsyncClient) -> AsyncGenerator[None, None]:
    """Have the running loop close ``client`` when it shuts down.

    Nobody holds the implicit default client to close it. An event loop closes the async
    generators still open when it shuts down (``loop.shutdown_asyncgens()``, which
    ``asyncio.run`` and ``asyncio.Runner`` call), so one suspended at a ``yield`` with
    ``client.aclose()`` in its ``finally`` closes the client there, while the loop still runs.
    Starting it registers it with the running loop; the client keeps it alive.
    """
    closer = _close_at_shutdown(client)
    first = closer.asend(None)  # registers the generator with the running loop (firstiter hook)
    with contextlib.suppress(StopIteration):
        first.send(None)  # runs it to its `yield`: nothing in between awaits
    return closer


_default_client: AsyncClient | None = None
_default_is_implicit = False


def set_default_client(client: AsyncClient | None) -> None:
    """Make ``client`` the one used by operations called without ``client=``.

    Args:
        client: The client, or ``None`` to forget the default.
    """
    global _default_client, _default_is_implicit
    _default_client = client
    _default_is_implicit = False


def get_default_client() -> AsyncClient:
    """The default client: the one set, else one built from the environment (``AsyncClient()``).

    Returns:
        The default client.
    """
    global _default_client, _default_is_implicit
    current = _default_client
    if current is not None and _default_is_implicit:
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        # An implicit default belongs to the loop that made it; a new loop gets a new one.
        if current._state is _State.CLOSED or (current._loop not in (None, loop)):
            current = None
    if current is None:
        current = AsyncClient()
        # Nobody else can close it: the loop that first uses it does, when it shuts down
        # (asyncio.run). A client given to set_default_client is its owner's to close.
        current._close_with_loop = True
        _default_client, _default_is_implicit = current, True
    return current
