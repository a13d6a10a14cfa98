"""The lifecycle of a client: unopened, opened on one event loop, closed.

httpx pools and aiobotocore clients are bound to the loop that made them, so a client belongs to
the loop that first uses it and says so clearly when used from another; a closed client refuses
to be used again. The implicit default client, which nobody holds to close, is closed by its
loop's shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections.abc import AsyncGenerator, Awaitable, Callable

from jetraw._exceptions import ClientClosedError, EventLoopError

__all__ = ["ClientState", "Lifecycle"]


class ClientState(enum.Enum):
    UNOPENED = 1
    OPENED = 2
    CLOSED = 3


class Lifecycle:
    """The state and event loop of one client.

    Args:
        aclose: Closes the client (run by the loop's shutdown when ``close_with_loop``).
    """

    def __init__(self, aclose: Callable[[], Awaitable[None]]) -> None:
        self.state = ClientState.UNOPENED
        self.loop: asyncio.AbstractEventLoop | None = None
        #: Set on the implicit default client: its event loop's shutdown (asyncio.run) closes it.
        self.close_with_loop = False
        self._aclose = aclose
        self._closer: AsyncGenerator[None, None] | None = None

    @property
    def closed(self) -> bool:
        return self.state is ClientState.CLOSED

    def close(self) -> bool:
        """Mark the client closed; False if it already was."""
        if self.state is ClientState.CLOSED:
            return False
        self.state = ClientState.CLOSED
        return True

    def check(self) -> None:
        """Bind the client to the running loop on first use; refuse another loop, or a close.

        Raises:
            ClientClosedError: The client is closed.
            EventLoopError: No running loop, or the client belongs to another one.
        """
        if self.state is ClientState.CLOSED:
            raise ClientClosedError("This AsyncClient is closed; create a new one.")
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise EventLoopError("AsyncClient must be used from a running event loop.") from None
        if self.loop is None:
            self.loop = loop
            if self.close_with_loop:
                self._closer = self._close_when_loop_shuts_down()
        elif self.loop is not loop:
            raise EventLoopError(
                "This AsyncClient belongs to another event loop (its HTTP connections are bound "
                "to it): create one AsyncClient per event loop, or use the sync jetraw.Client."
            )
        self.state = ClientState.OPENED

    def usable_on(self, loop: asyncio.AbstractEventLoop | None) -> bool:
        """Whether the client is open (or unopened) and free to be used on ``loop``."""
        return self.state is not ClientState.CLOSED and self.loop in (None, loop)

    async def _close_at_shutdown(self) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            await self._aclose()

    def _close_when_loop_shuts_down(self) -> AsyncGenerator[None, None]:
        """Have the running loop close the client when it shuts down.

        An event loop closes the async generators still open when it shuts down
        (``loop.shutdown_asyncgens()``, which ``asyncio.run`` and ``asyncio.Runner`` call), so
        one suspended at a ``yield`` with ``aclose()`` in its ``finally`` closes the client
        there, while the loop still runs. Starting it registers it with the running loop; the
        lifecycle keeps it alive.
        """
        closer = self._close_at_shutdown()
        first = closer.asend(None)  # registers the generator with the running loop (firstiter)
        with contextlib.suppress(StopIteration):
            first.send(None)  # runs it to its `yield`: nothing in between awaits
        return closer
