"""jetraw: the Python SDK for the Jetraw platform.

The synchronous API of the user documentation (``Client``, ``JetrawPath``, ``upload``, ...) is
re-exported lazily from :mod:`jetraw_sync`; the asyncio API lives in :mod:`jetraw.aio`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jetraw._exceptions import *  # noqa: F403
from jetraw._exceptions import __all__ as _exception_names

__version__ = "0.1.0"

_SYNC_NAMES = (
    "Client",
    "JetrawPath",
    "download",
    "get_default_client",
    "set_default_client",
    "upload",
)
_ASYNC_NAMES = ("AsyncClient", "AsyncJetrawPath", "TransferConfig")

__all__ = sorted([*_exception_names, *_SYNC_NAMES, *_ASYNC_NAMES, "__version__"])

if TYPE_CHECKING:
    from jetraw.aio import AsyncClient as AsyncClient
    from jetraw.aio import AsyncJetrawPath as AsyncJetrawPath
    from jetraw.aio import TransferConfig as TransferConfig
    from jetraw_sync import Client as Client
    from jetraw_sync import JetrawPath as JetrawPath
    from jetraw_sync import download as download
    from jetraw_sync import get_default_client as get_default_client
    from jetraw_sync import set_default_client as set_default_client
    from jetraw_sync import upload as upload


def __getattr__(name: str) -> object:
    # Lazy, so `import jetraw` stays cheap and the sync runtime starts only when used.
    if name in _SYNC_NAMES:
        import jetraw_sync

        return getattr(jetraw_sync, name)
    if name in _ASYNC_NAMES:
        import jetraw.aio

        return getattr(jetraw.aio, name)
    raise AttributeError(f"module 'jetraw' has no attribute {name!r}")
