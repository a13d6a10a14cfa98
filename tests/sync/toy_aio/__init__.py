"""A small async API shaped like ``jetraw.aio``, to prove the sync generator's transformations."""

from __future__ import annotations

from toy_aio._client import AsyncClient, ToyError, get_default_client, set_default_client
from toy_aio._files import UploadResult, upload
from toy_aio._path import AsyncJetrawPath, Stat

__all__ = [
    "AsyncClient",
    "AsyncJetrawPath",
    "Stat",
    "ToyError",
    "UploadResult",
    "get_default_client",
    "set_default_client",
    "upload",
]
