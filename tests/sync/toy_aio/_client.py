"""A toy ``AsyncClient``: an in-memory store of files per server, with a fake token step."""

from __future__ import annotations

import asyncio
import os
from types import TracebackType

from jetraw._exceptions import ClientClosedError, EventLoopError, InvalidCredentialsError

STORES: dict[str, dict[str, bytes]] = {}


class ToyError(Exception):
    """Raised by the toy API."""


class AsyncClient:
    """A toy client.

    Use ``async with AsyncClient(...) as client:``; an ``AsyncClient`` belongs to one loop.

    Args:
        refresh_token: An API key; ``"bad"`` is rejected when a token is fetched.
        server: Where the files live.
        organisation: An organisation name.
        profile: A profile name.
        refresh_token_if_empty: Fetch a token when entered.
    """

    def __init__(
        self,
        refresh_token: str | None = None,
        *,
        server: str | None = None,
        organisation: str | None = None,
        profile: str | None = None,
        refresh_token_if_empty: bool = True,
    ) -> None:
        self._key = refresh_token or os.environ.get("TOY_API_KEY")
        self._server = server or os.environ.get("TOY_SERVER", "toy://default")
        self._organisation = organisation
        self.refresh_token_if_empty = refresh_token_if_empty
        self.tokens_fetched = 0
        self.closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self.auth_source = "argument" if refresh_token else None

    @property
    def server(self) -> str:
        """The server URL."""
        return self._server

    @property
    def organisation(self) -> str | None:
        """The organisation in force."""
        return self._organisation

    def __repr__(self) -> str:
        return f"<AsyncClient server={self._server!r}>"

    def _check(self) -> None:
        if self.closed:
            raise ClientClosedError("closed")
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif self._loop is not loop:
            raise EventLoopError("This AsyncClient belongs to another event loop")

    async def __aenter__(self) -> AsyncClient:
        self._check()
        if self.refresh_token_if_empty:
            await self._fetch_token()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _fetch_token(self) -> None:
        await asyncio.sleep(0)
        if self._key == "bad":
            raise InvalidCredentialsError("The API key was rejected.")
        self.tokens_fetched += 1

    async def aclose(self) -> None:
        """Close the client. Safe to call twice."""
        self.closed = True

    async def whoami(self) -> str:
        """Who this is.

        Returns:
            The organisation, or ``"nobody"``.
        """
        self._check()
        return self._organisation or "nobody"

    async def sleep(
        self, seconds: float, marker: str | None = None, cleanup_seconds: float = 0.05
    ) -> None:
        """Sleep; on cancellation write ``marker`` (a file path) as the cleanup proof.

        Args:
            seconds: How long.
            marker: A file written when the sleep is cancelled.
            cleanup_seconds: How long the cleanup takes (like an abort).
        """
        self._check()
        try:
            await asyncio.sleep(seconds)
        except asyncio.CancelledError:
            if marker is not None:
                await asyncio.sleep(cleanup_seconds)
                with open(marker, "w") as f:  # noqa: ASYNC230 (a toy)
                    f.write("cleaned up")
            raise

    def store(self) -> dict[str, bytes]:
        return STORES.setdefault(self._server, {})


_default: AsyncClient | None = None


def set_default_client(client: AsyncClient | None) -> None:
    """Make ``client`` the default.

    Args:
        client: The client, or ``None``.
    """
    global _default
    _default = client


def get_default_client() -> AsyncClient:
    """The default client (``AsyncClient()`` if none was set).

    Returns:
        The default client.
    """
    global _default
    if _default is None:
        _default = AsyncClient()
    return _default
