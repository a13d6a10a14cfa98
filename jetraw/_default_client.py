"""The default client of the asyncio facade: the one operations use when called without ``client=``.

``jetraw_sync`` keeps its own (each facade has its own default).
"""

from __future__ import annotations

import asyncio
import threading
import weakref

from jetraw._client import AsyncClient

__all__ = ["get_default_client", "set_default_client"]

_lock = threading.Lock()
_default_client: AsyncClient | None = None  # the one given to set_default_client
# Implicit defaults, one per event loop: httpx pools and aiobotocore clients are loop-bound, and
# one shared implicit client would be bound to whichever thread's loop used it first.
_implicit: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncClient] = (
    weakref.WeakKeyDictionary()
)
_unbound: AsyncClient | None = None  # made outside any event loop, bound by its first use


def set_default_client(client: AsyncClient | None) -> None:
    """Make ``client`` the one used by operations called without ``client=``.

    Args:
        client: The client, or ``None`` to forget the default.
    """
    global _default_client
    with _lock:
        _default_client = client


def _implicit_client() -> AsyncClient:
    client = AsyncClient()
    # Nobody else can close it: the loop that first uses it does, when it shuts down
    # (asyncio.run). A client given to set_default_client is its owner's to close.
    client._close_with_loop()
    return client


def get_default_client() -> AsyncClient:
    """The default client: the one set, else one built from the environment (``AsyncClient()``).

    Returns:
        The default client.
    """
    # Without one set, each event loop gets its own, closed when that loop shuts down.
    global _unbound
    try:
        loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    with _lock:
        if _default_client is not None:
            return _default_client
        if loop is None:
            if _unbound is None or not _unbound._serves_as_implicit_default(None):
                _unbound = _implicit_client()
            return _unbound
        current = _implicit.get(loop)
        if current is not None and current._serves_as_implicit_default(loop):
            return current
        if _unbound is not None and _unbound._serves_as_implicit_default(loop):
            current, _unbound = _unbound, None  # made before the loop ran: this loop adopts it
        else:
            current = _implicit_client()
        _implicit[loop] = current
        return current
