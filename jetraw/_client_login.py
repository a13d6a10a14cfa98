"""A client's credentials: the resolved configuration, the token manager, and the login flows.

:class:`Login` is the part of :class:`~jetraw.aio.AsyncClient` that owns who the client is: the
configuration resolved from argument → environment → profile (:mod:`jetraw._config`), the HTTP
shell for the state server, the secret store, the token manager, and the flows that change them
(interactive login, saving a given credential, logout). It is the connection the state-server API
object sends its requests through.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable
from typing import Any

import anyio
import anyio.to_thread

from jetraw._api import StateServerAPI
from jetraw._auth._login import forget_login, lock_path, persist_login
from jetraw._auth._oauth import revoke
from jetraw._auth._store import SecretStore, open_store, store_key
from jetraw._auth._tokens import TokenManager
from jetraw._client_state import Lifecycle
from jetraw._config import (
    ENV_API_KEY,
    ENV_SERVER,
    NO_SERVER_MESSAGE,
    Profile,
    ResolvedConfig,
    config_dir,
    same_server,
)
from jetraw._exceptions import ConfigurationError, JetrawError, LoginRequiredError
from jetraw._http import RetryPolicy, StateServerHTTP
from jetraw._httpx import httpx
from jetraw._models import Identity, LoginInfo, LogoutResult

__all__ = ["Login"]

logger = logging.getLogger("jetraw")


class Login:
    """Who a client is, and the HTTP connection it speaks as.

    Args:
        config: The resolved configuration.
        lifecycle: The client's lifecycle (every request checks it).
        refresh_token_if_empty: See :class:`~jetraw.aio.AsyncClient`.
        verify: TLS verification for the state server.
        timeout: Seconds for one request (connecting: at most 5 s).
        retry: The retry policy of requests.
        transport: An httpx transport (tests).
    """

    def __init__(
        self,
        config: ResolvedConfig,
        lifecycle: Lifecycle,
        *,
        refresh_token_if_empty: bool,
        verify: bool | str,
        timeout: float,
        retry: RetryPolicy,
        transport: httpx.AsyncBaseTransport | None,
    ) -> None:
        self.config = config
        self.lifecycle = lifecycle
        self.refresh_token_if_empty = refresh_token_if_empty
        self.verify = verify
        self.timeout = timeout
        self.retry = retry
        self.transport = transport
        self.http_: StateServerHTTP | None = None
        self.tokens_: TokenManager | None = None
        self._tokens_lock: anyio.Lock | None = None
        self._store: SecretStore | None = None

    # -- the connection of the API object -------------------------------------------------------

    def check(self) -> None:
        self.lifecycle.check()

    def http(self) -> StateServerHTTP:
        if self.http_ is None:
            if self.config.server is None:
                raise ConfigurationError(NO_SERVER_MESSAGE)
            self.http_ = StateServerHTTP(
                self.config.server,
                verify=self.verify,
                timeout=httpx.Timeout(self.timeout, connect=min(5.0, self.timeout)),
                retry=self.retry,
                transport=self.transport,
            )
        return self.http_

    async def tokens(self) -> TokenManager:
        """The token manager, built on first use (one, even for concurrent first calls)."""
        if self.tokens_ is not None:
            return self.tokens_
        if self._tokens_lock is None:
            self._tokens_lock = anyio.Lock()
        async with self._tokens_lock:
            if self.tokens_ is None:
                self.tokens_ = await self._new_token_manager()
            return self.tokens_

    async def aclose(self) -> None:
        if self.http_ is not None:
            await self.http_.aclose()

    # -- credentials ----------------------------------------------------------------------------

    @property
    def organisation(self) -> str | None:
        tm = self.tokens_
        if tm is not None and tm.token_organisation is not None:
            return tm.token_organisation.name
        return self.config.organisation

    def scope(self) -> str:
        """``server|organisation``: what the local journals and garbage records are kept per."""
        return f"{self.config.server}|{self.organisation}"

    def has_secret(self) -> bool:
        return self.config.api_key is not None or self.config.auth_source is not None

    def secret_store(self) -> SecretStore:
        if self._store is None:
            self._store = open_store()
        return self._store

    def _foreign_profile(self) -> tuple[Profile, str] | None:
        """The saved login and the server in use, when the login belongs to another server."""
        prof, server = self.config.profile, self.config.server
        if prof is None or server is None or same_server(server, prof.server):
            return None
        return prof, server

    def foreign_reason(self) -> str | None:
        """Why the saved login is not used when it belongs to another server than this one."""
        foreign = self._foreign_profile()
        if foreign is None:
            return None
        prof, server = foreign
        via = f"{ENV_SERVER} points to" if os.environ.get(ENV_SERVER) else "the server in use is"
        return (
            f"the saved login (profile {prof.name!r}) is for {prof.server}; {via} {server}. "
            f"Unset {ENV_SERVER} to use it, or run `jetraw login --server {server}`."
        )

    def _foreign_profile_error(self) -> LoginRequiredError | None:
        """The error for a saved login that belongs to another server than the one in use."""
        foreign = self._foreign_profile()
        if foreign is None:
            return None
        prof, server = foreign
        return LoginRequiredError(
            f"The saved login (profile {prof.name!r}) is for {prof.server}, not {server}; it is "
            f"not sent to another server. Run `jetraw login --server {server}` to log in there "
            "(or pass an API key, or set JETRAW_API_KEY)."
        )

    async def _new_token_manager(self) -> TokenManager:
        http = self.http()
        cfg = self.config
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
            raise foreign or LoginRequiredError(
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
        prof = self.config.profile
        assert prof is not None
        foreign = self._foreign_profile_error()
        if foreign is not None:
            raise foreign
        store = self.secret_store()
        key = store_key(prof.server, prof.organisation, prof.user)
        blob = await anyio.to_thread.run_sync(store.get, key)
        if not blob or not blob.get("refresh_token"):
            raise LoginRequiredError(
                f"Profile {prof.name!r} has no stored login (store: {store.name}): run "
                f"`jetraw login --profile {prof.name}`."
            )
        return TokenManager(
            self.http(),
            str(blob["refresh_token"]),
            rotating=blob.get("kind", "refresh_token") == "refresh_token",
            organisation=self.config.organisation,
            store=store,
            store_key=key,
            lock_path=lock_path(config_dir(), key),
        )

    # -- flows ----------------------------------------------------------------------------------

    async def authorize(
        self,
        api: StateServerAPI,
        *,
        aws_profile: str | None,
        device: bool,
        opener: Callable[[str], Any] | None,
        login_timeout: float,
        notify: Callable[[str], None] | None,
    ) -> Identity:
        """The interactive login (see :meth:`jetraw.AsyncClient.authorize`)."""
        # Imported here: only an interactive login needs its web page and its flows.
        from jetraw._auth._browser import browser_login, default_notify
        from jetraw._auth._device import device_login

        self.check()
        http = self.http()
        kwargs: dict[str, Any] = {
            "organisation": self.config.organisation,
            "opener": opener,
            "login_timeout": login_timeout,
            "notify": notify or default_notify,
        }
        if device:
            tokens, refresh = await device_login(http, **kwargs)
        else:
            tokens, refresh = await browser_login(http, **kwargs)
        stored = await persist_login(
            server=http.server,
            organisation=tokens.organisation.name if tokens.organisation else None,
            user=tokens.user.email if tokens.user else None,
            tokens=tokens,
            profile_name=self.config.profile_name,
            kind="refresh_token",
            store=self.secret_store(),
            refresh_token=refresh,
            aws_profile=aws_profile,
            previous=self.config.profile,
            http=http,
        )
        self.config = dataclasses.replace(
            self.config,
            api_key=None,
            organisation=stored.profile.organisation,
            profile=stored.profile,
            auth_source=f"profile:{stored.profile.name}",
        )
        self.tokens_ = await self._profile_tokens()
        self.tokens_.set_tokens(tokens)
        api.spaces.clear()
        return await api.whoami()

    async def save_login(self, api: StateServerAPI, *, aws_profile: str | None) -> Identity:
        """Save the given credential as the profile's login (see ``AsyncClient.save_login``)."""
        self.check()
        key = self.config.api_key
        if key is None:
            raise LoginRequiredError(
                "save_login() saves the credential given to this client (refresh_token=... or "
                f"{ENV_API_KEY}); this client has none."
            )
        ident = await api.whoami()
        http = self.http()
        stored = await persist_login(
            server=http.server,
            organisation=ident.organisation.name,
            user=ident.user.email,
            profile_name=self.config.profile_name,
            kind="api_key",
            store=self.secret_store(),
            refresh_token=key,
            aws_profile=aws_profile,
            previous=self.config.profile,
            http=http,
        )
        # The credential in force stays the given one; the profile is now the saved login.
        self.config = dataclasses.replace(self.config, profile=stored.profile)
        return ident

    async def login_info(self) -> LoginInfo:
        """Which login is in force (see :meth:`jetraw.AsyncClient.login_info`)."""
        prof = self.config.profile
        source = self.config.auth_source
        stored_in: str | None = None
        if prof is not None and source is not None and source.startswith("profile:"):
            store = self.secret_store()
            key = store_key(prof.server, prof.organisation, prof.user)
            stored_in = await anyio.to_thread.run_sync(store.describe, key)
        return LoginInfo(
            server=self.config.server,
            profile=self.config.profile_name,
            organisation=self.organisation,
            auth_source=source,
            saved_server=prof.server if prof is not None else None,
            stored_in=stored_in,
            unusable_reason=self.foreign_reason(),
        )

    async def logout(self) -> LogoutResult:
        """Revoke and delete the saved login (see :meth:`jetraw.AsyncClient.logout`)."""
        self.check()
        source = self.config.auth_source or ""
        # Credentials passed as an argument leave the saved login alone; otherwise the profile
        # found by resolution is logged out, even when JETRAW_API_KEY takes precedence over it.
        prof = self.config.profile if source != "argument" else None
        if prof is not None and self._foreign_profile_error() is not None:
            # Another server's saved login: neither revoked here (that would send its secret to
            # this server) nor deleted.
            prof = None
        tm = self.tokens_ if source.startswith("profile:") else None
        if tm is None and prof is not None:
            try:
                tm = await self._profile_tokens()
            except LoginRequiredError:
                tm = None
        revoked = False
        if tm is not None and tm.rotating and tm.refresh_token is not None:
            try:
                await revoke(self.http(), tm.refresh_token)
                revoked = True
            except JetrawError as error:
                logger.warning("Could not revoke the login on the server: %s", error)
        removed: list[str] = []
        if prof is not None:
            removed = await forget_login(prof, self.secret_store())
        self.tokens_ = None
        self.config = dataclasses.replace(self.config, api_key=None, profile=None, auth_source=None)
        self.refresh_token_if_empty = False
        still = tuple(name for name in (ENV_API_KEY,) if os.environ.get(name))
        return LogoutResult(revoked=revoked, removed=tuple(removed), still_logged_in_by=still)
