"""The default client of the asyncio facade: the one operations use when called without ``client=``.

``jetraw_sync`` keeps its own (each facade has its own default, DESIGN §3).
"""

from __future__ import annotations

import asyncio

from jetraw._client import AsyncClient

__all__ = ["get_default_client", "set_default_client"]

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
        if not current._lifecycle.usable_on(loop):
            current = None
    if current is None:
        current = AsyncClient()
        # Nobody else can close it: the loop that first uses it does, when it shuts down
        # (asyncio.run). A client given to set_default_client is its owner's to close.
        current._lifecycle.close_with_loop = True
        _default_client, _default_is_implicit = current, True
    return current
