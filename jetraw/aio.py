"""The asyncio API of jetraw; the sync facade (:mod:`jetraw_sync`) mirrors it name for name."""

from __future__ import annotations

from jetraw._client import AsyncClient, get_default_client, set_default_client

__all__ = [
    "AsyncClient",
    "get_default_client",
    "set_default_client",
]
