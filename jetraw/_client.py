"""``AsyncClient``: the connection to one state server, as one user in one organisation.

A thin facade over parts that each own one thing:

- :class:`~jetraw._client_login.Login`: the resolved configuration (argument → environment →
  profile, :mod:`jetraw._config`), the HTTP shell, the secret store, the token manager, and the
  login flows;
- :class:`~jetraw._api.StateServerAPI`: every state-server call, over one ``request``;
- :class:`~jetraw._transfer.TransferSession` (made on first use: listing imports no engine):
  storage backends, the byte budget, journals and garbage, and the transfers themselves;
- :class:`~jetraw._client_state.Lifecycle`: the event loop the client belongs to, and closing.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from jetraw._api import RemoteDirectory, RemoteFile, StateServerAPI, Upload
from jetraw._client_args import credential_argument
from jetraw._client_login import Login
from jetraw._client_state import Lifecycle
from jetraw._config import config_dir, resolve
from jetraw._exceptions import InvalidPathError
from jetraw._http import RetryPolicy
from jetraw._httpx import httpx
from jetraw._models import ApiKey, Identity, LoginInfo, LogoutResult, Organisation, Space
from jetraw._transfer._config import TransferConfig
from jetraw._transfer._localpaths import LocalPath
from jetraw._transfer._remote import join, parse_remote
from jetraw._transfer._results import DownloadResult, ProgressCallback, UploadResult

if TYPE_CHECKING:
    from jetraw._transfer import OnCancel, TransferSession

__all__ = ["AsyncClient", "LocalPath"]


class AsyncClient:
    """A client of the Jetraw platform (asyncio).

    Credentials are resolved in this order: the ``refresh_token`` (or ``api_key``) argument, the
    ``JETRAW_API_KEY`` environment variable, then the profile written by the last login
    (``jetraw login`` or :meth:`authorize`). ``auth_source`` tells which one is in force.

    Use it as ``async with AsyncClient() as client: ...`` or close it with :meth:`aclose`. A
    client belongs to the event loop that first uses it.

    Args:
        refresh_token: An API key (or a refresh token). Not written anywhere.
        api_key: The same as ``refresh_token`` (the name boto3 users expect); pass either.
        server: The state server's URL; else ``JETRAW_SERVER``, else the profile's (no default).
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
        ConfigurationError: No such profile, a malformed URL, or two different keys given.
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
        api_key: str | None = None,
    ) -> None:
        key = credential_argument(refresh_token, api_key)
        config = resolve(api_key=key, server=server, organisation=organisation, profile=profile)
        self.verify: bool | str = verify
        self.aws_profile: str | None = config.aws_profile
        self._lifecycle = Lifecycle(self.aclose)
        self._login = Login(
            config,
            self._lifecycle,
            refresh_token_if_empty=refresh_token_if_empty,
            verify=verify,
            timeout=timeout,
            retry=RetryPolicy(attempts=max(0, retries) + 1),
            transport=transport,
        )
        self._api = StateServerAPI(self._login)

    @functools.cached_property
    def _transfers(self) -> TransferSession:
        from jetraw._transfer._session import TransferSession

        return TransferSession(
            self._api,
            verify=self.verify,
            aws_profile=self.aws_profile,
            scope=self._login.scope,
            state_dir=config_dir,
        )

    # -- configuration --------------------------------------------------------------------------

    @property
    def server(self) -> str | None:
        """The state server's base URL (``None`` if none is configured)."""
        return self._login.config.server

    @property
    def organisation(self) -> str | None:
        """The organisation name in force (known after the first token for API-key defaults)."""
        return self._login.organisation

    @property
    def profile(self) -> str:
        """The profile name used for resolution and written by :meth:`authorize`."""
        return self._login.config.profile_name

    @property
    def auth_source(self) -> str | None:
        """The credentials' source: "argument", "env:JETRAW_API_KEY", "profile:NAME" or None."""
        return self._login.config.auth_source

    @property
    def refresh_token_if_empty(self) -> bool:
        """Whether a token is fetched on entering the client (``False`` after :meth:`logout`)."""
        return self._login.refresh_token_if_empty

    def __repr__(self) -> str:
        state = self._lifecycle.state.name.lower()
        return (
            f"<AsyncClient server={self.server!r} organisation={self.organisation!r} "
            f"auth_source={self.auth_source!r} "
            f"credentials={'***' if self._login.has_secret() else None} state={state}>"
        )

    # -- lifecycle ------------------------------------------------------------------------------

    async def __aenter__(self) -> AsyncClient:
        self._lifecycle.check()
        if self._login.refresh_token_if_empty:
            try:
                tm = await self._login.tokens()
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
        if not self._lifecycle.close():
            return
        try:
            if "_transfers" in vars(self):  # made
                await self._transfers.aclose()
        finally:
            await self._login.aclose()

    # -- the facade's own layer ----------------------------------------------------------------

    def _checked_transfers(self) -> TransferSession:
        """The transfer session, for ``AsyncJetrawPath``'s readers and writers (this layer);
        checked like every call, so a closed client, or one of another loop, is refused."""
        self._lifecycle.check()
        return self._transfers

    def _serves_as_implicit_default(self, loop: asyncio.AbstractEventLoop | None) -> bool:
        """Whether this implicit default may still serve ``loop`` (for ``_default_client``)."""
        return self._lifecycle.usable_on(loop)

    def _close_with_loop(self) -> None:
        """Have the loop that first uses this client close it at its shutdown (implicit default)."""
        self._lifecycle.close_with_loop = True

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
            LoginError: Timed out, denied, or the server rejected the login; at once (``code``
                ``"browser_not_found"``) when no browser can be opened here (no ``DISPLAY``, a
                ``BROWSER`` command that does not run): use ``device=True`` then.
        """
        return await self._login.authorize(
            self._api,
            aws_profile=self.aws_profile,
            device=device,
            opener=opener,
            login_timeout=login_timeout,
            notify=notify,
        )

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
        return await self._login.save_login(self._api, aws_profile=self.aws_profile)

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
        return await self._login.login_info()

    async def logout(self) -> LogoutResult:
        """Log out: revoke the login on the server and delete every stored copy of it.

        An API key passed as an argument or in ``JETRAW_API_KEY`` is not revoked (it may be in
        use elsewhere; revoke it with :meth:`revoke_api_key`): the result names such variables.

        Returns:
            What was revoked and removed, and what would still log you in.
        """
        return await self._login.logout()

    # -- account, organisations, spaces, API keys -----------------------------------------------

    async def whoami(self) -> Identity:
        """Who this client is: user, organisation, role and memberships.

        Returns:
            The identity behind the client's credentials.

        Raises:
            LoginRequiredError: No credentials.
            InvalidCredentialsError: The credentials were rejected.
        """
        return await self._api.whoami()

    async def list_organisations(self) -> list[Organisation]:
        """The organisations the user is a member of, with the user's role in each.

        Returns:
            The organisations.
        """
        return await self._api.list_organisations()

    async def list_spaces(self) -> list[Space]:
        """The spaces of the client's organisation.

        Returns:
            The spaces, in the server's order.
        """
        return await self._api.list_spaces()

    async def get_space(self, name: str) -> Space:
        """One space by name (cached for the life of the client).

        Args:
            name: The space name.

        Returns:
            The space.

        Raises:
            SpaceNotFoundError: No such space in the client's organisation.
        """
        return await self._api.get_space(name)

    async def create_space(self, name: str, storage: Mapping[str, Any] | None = None) -> Space:
        """Create a space (organisation admins only).

        Args:
            name: The new space's name.
            storage: The storage descriptor (``{"type": "s3", "bucket": ..., ...}`` or
                ``{"type": "local", "root": ...}``); ``None`` lets the server choose.

        Returns:
            The new space.

        Raises:
            ConflictError: A space of that name exists.
            PermissionDeniedError: You are not an admin of the organisation.
        """
        return await self._api.create_space(name, storage)

    async def list_api_keys(self) -> list[ApiKey]:
        """Your API keys (without their secrets; ``hint`` is the last 4 characters).

        Returns:
            The keys, revoked ones included.
        """
        return await self._api.list_api_keys()

    async def create_api_key(self, name: str, *, organisation: str | None = None) -> ApiKey:
        """Create an API key. Its secret, ``key``, is in this answer only.

        Args:
            name: A label for the key.
            organisation: The key's default organisation (default: the client's).

        Returns:
            The key, with ``key`` set.
        """
        return await self._api.create_api_key(name, organisation=organisation)

    async def revoke_api_key(self, key_id: str) -> None:
        """Revoke one of your API keys.

        Args:
            key_id: The key's ``id``.

        Raises:
            ApiKeyNotFoundError: No such key of yours.
        """
        await self._api.revoke_api_key(key_id)

    # -- transfers ------------------------------------------------------------------------------

    async def upload(
        self,
        src: LocalPath | Iterable[LocalPath],
        dest: str,
        *,
        overwrite: bool = False,
        skip_existing: bool = False,
        fail_fast: bool = False,
        metadata: Mapping[str, str] | None = None,
        config: TransferConfig | None = None,
        on_cancel: OnCancel = "abort",
        progress: ProgressCallback | None = None,
    ) -> UploadResult:
        """Upload a file, a directory tree, or several files to ``dest``.

        Every file is tried; each becomes visible only once all its bytes are stored. Large
        files go in parts, resumable after a crash or kill from a local journal.

        Args:
            src: A file, a directory (its whole tree, relative paths kept), or an iterable of
                files and directories.
            dest: ``/space/path``. With a trailing ``/`` (or naming an existing directory, or
                for a tree or several files) it is the folder the files go into.
            overwrite: Replace files that exist (atomically). Without it an existing file is
                a failure of that file (:class:`~jetraw.RemotePathExistsError`).
            skip_existing: Skip files already there with the same size and CRC-32C.
            fail_fast: Stop at the first failure (the rest are reported as not uploaded).
            metadata: User metadata recorded with every file.
            config: Part sizes and concurrency; :class:`TransferConfig` defaults otherwise.
            on_cancel: ``"abort"`` (default) removes a cancelled upload's parts; ``"keep"``
                leaves them, so running the same upload again resumes it.
            progress: Called (or awaited) with each :class:`ProgressEvent`.

        Returns:
            The outcome of every file.

        Raises:
            UploadError: Some files failed; ``error.result`` has every file's outcome.
            LocalPathNotFoundError: ``src`` does not exist (raised before any request).
            InvalidPathError: ``dest`` is malformed or escapes its space.
            SpaceNotFoundError: The space does not exist.
            StorageCredentialsError: No usable storage credentials (nothing was sent).
            ServerConnectionError: The state server is unreachable before any file is tried.
        """
        return await self._transfers.upload(
            src,
            dest,
            overwrite=overwrite,
            skip_existing=skip_existing,
            fail_fast=fail_fast,
            metadata=metadata,
            config=config,
            on_cancel=on_cancel,
            progress=progress,
        )

    async def list_pending_uploads(self, space: str | None = None) -> list[Upload]:
        """The caller's uploads that were started and neither completed nor aborted.

        Args:
            space: Only those of this space.

        Returns:
            The pending uploads (with ``expires_at``).
        """
        return await self._transfers.list_pending(space)

    async def stored_parts(self, upload: Upload) -> tuple[int, int] | None:
        """How much a pending upload holds: ``(parts, bytes)`` stored in the space's storage,
        which running it again resumes from. Asks the storage, so parts of any machine count.

        Args:
            upload: A pending upload (from :meth:`list_pending_uploads`).

        Returns:
            ``(parts, bytes)``, or ``None`` for an upload not sent in parts or when the storage
            cannot be asked (no credentials, unreachable, the parts gone).
        """
        return await self._transfers.stored_parts(upload)

    async def abort_upload(self, upload_id: str) -> None:
        """Abort a pending upload and remove the parts it stored.

        The local resume journal of that upload (if this machine has one) is deleted too, so
        a later run of the same upload starts afresh instead of finding it.

        Args:
            upload_id: The upload's id (from :meth:`list_pending_uploads`).

        Raises:
            UploadNotFoundError: No such upload (its local journal, if any, is deleted anyway).
        """
        await self._transfers.abort_upload(upload_id)

    async def download(
        self,
        src: str,
        dest: LocalPath,
        *,
        overwrite: bool = False,
        skip_existing: bool = False,
        config: TransferConfig | None = None,
        progress: ProgressCallback | None = None,
    ) -> DownloadResult:
        """Download a file or a directory tree.

        Each file is fetched with concurrent ranged reads into a hidden partial file beside its
        destination, its CRC-32C checked, then renamed into place: the destination never holds
        a partial file. An interrupted download of a large file keeps its verified chunks, and
        running the same download again resumes it.

        Args:
            src: ``/space/path`` of a file, or of a directory (its whole tree).
            dest: The local file, or a directory to put the file (or tree) in.
            overwrite: Replace local files that exist. Without it an existing local file is a
                failure of that file (:class:`~jetraw.LocalPathExistsError`), as ``upload``
                treats an existing remote file.
            skip_existing: Skip local files that exist with the remote file's size and CRC-32C
                (reported as ``"skipped"``); another existing file still fails.
            config: Part sizes and concurrency.
            progress: Called (or awaited) with each :class:`ProgressEvent`.

        Returns:
            The outcome of every file.

        Raises:
            DownloadError: Some files failed; ``error.result`` has every file's outcome
                (:class:`~jetraw.IntegrityError`, :class:`~jetraw.InsufficientStorageError`...).
            RemotePathNotFoundError: ``src`` does not exist.
            SpaceNotFoundError: The space does not exist.
            InvalidPathError: ``src`` names a file but ends with ``/``, or the server listed a
                path outside ``src`` or one that would be written outside ``dest``.
        """
        return await self._transfers.download(
            src,
            dest,
            overwrite=overwrite,
            skip_existing=skip_existing,
            config=config,
            progress=progress,
        )

    # -- file operations ------------------------------------------------------------------------

    async def stat(self, path: str) -> RemoteFile | RemoteDirectory:
        """The file or directory at ``/space/path``.

        ``/space`` itself is a directory once the space is known to exist.

        Raises:
            RemotePathNotFoundError: Nothing is there.
            SpaceNotFoundError: The space does not exist.
        """
        ref = parse_remote(path)
        if not ref.path:
            await self._api.get_space(ref.space)  # cached for the life of the client
            return RemoteDirectory(ref.space, "")
        return await self._api.stat(ref.space, ref.path)

    async def list_files(
        self, path: str, *, recursive: bool = False
    ) -> AsyncIterator[RemoteFile | RemoteDirectory]:
        """The entries under the directory ``/space/dir`` (every file below it if recursive)."""
        ref = parse_remote(path)
        prefix = f"{ref.path}/" if ref.path else ""
        delimiter = None if recursive else "/"
        async for entry in self._api.iter_files(ref.space, prefix, delimiter=delimiter):
            yield entry

    async def delete(self, path: str, *, recursive: bool = False) -> None:
        """Delete the file ``/space/path`` (or a directory tree with ``recursive=True``)."""
        ref = parse_remote(path)
        garbage = await self._api.delete_file(ref.space, ref.path, recursive=recursive)
        await self._transfers.collect_garbage(ref.space, garbage)

    async def move(self, src: str, dest: str, *, overwrite: bool = False) -> RemoteFile:
        """Rename a file within its space (no bytes move)."""
        a, b = parse_remote(src), parse_remote(dest)
        if a.space != b.space:
            raise InvalidPathError("A file can only be moved within its space.")
        target = join(b.path, a.path.rsplit("/", 1)[-1]) if b.directory else b.path
        moved = await self._api.move_file(a.space, a.path, target, overwrite=overwrite)
        await self._transfers.collect_garbage(a.space, moved.garbage)
        return moved

    async def mkdir(self, path: str, *, exist_ok: bool = False) -> None:
        """Create the (explicit, possibly empty) directory ``/space/dir``."""
        ref = parse_remote(path)
        await self._api.create_directory(ref.space, ref.path, exist_ok=exist_ok)

    async def rmdir(self, path: str) -> None:
        """Remove the empty directory ``/space/dir``."""
        ref = parse_remote(path)
        await self._api.delete_directory(ref.space, ref.path)
