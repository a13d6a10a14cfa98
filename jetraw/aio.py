"""The asyncio API of jetraw; the sync facade (:mod:`jetraw_sync`) mirrors it name for name."""

from __future__ import annotations

from jetraw._client import AsyncClient, get_default_client, set_default_client
from jetraw._files_api import RemoteDirectory, RemoteFile, Upload
from jetraw._operations import download, upload
from jetraw._path import AsyncJetrawPath
from jetraw._path_io import AsyncJetrawReader, AsyncJetrawWriter
from jetraw._transfer import (
    DownloadResult,
    FileTransfer,
    ProgressEvent,
    TransferConfig,
    TransferResult,
    UploadResult,
)

__all__ = [
    "AsyncClient",
    "AsyncJetrawPath",
    "AsyncJetrawReader",
    "AsyncJetrawWriter",
    "DownloadResult",
    "FileTransfer",
    "ProgressEvent",
    "RemoteDirectory",
    "RemoteFile",
    "TransferConfig",
    "TransferResult",
    "Upload",
    "UploadResult",
    "download",
    "get_default_client",
    "set_default_client",
    "upload",
]
