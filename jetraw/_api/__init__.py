"""The state server's API: one object with every call of protocol v1, and its records."""

from __future__ import annotations

from jetraw._api._calls import API_PREFIX, Connection, StateServerAPI, TokenSource
from jetraw._api._types import (
    BatchItem,
    RemoteDirectory,
    RemoteFile,
    Upload,
    checksum_json,
    entry_from_json,
)

__all__ = [
    "API_PREFIX",
    "BatchItem",
    "Connection",
    "RemoteDirectory",
    "RemoteFile",
    "StateServerAPI",
    "TokenSource",
    "Upload",
    "checksum_json",
    "entry_from_json",
]
