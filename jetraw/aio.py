"""The asyncio API of jetraw; the sync facade (:mod:`jetraw_sync`) mirrors it name for name."""

from __future__ import annotations

from jetraw._api import RemoteDirectory, RemoteFile, Upload
from jetraw._client import AsyncClient, get_default_client, set_default_client
from jetraw._models import (
    ApiKey,
    Identity,
    LoginInfo,
    LogoutResult,
    Membership,
    Organisation,
    Space,
    User,
)
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
    "ApiKey",
    "AsyncClient",
    "AsyncJetrawPath",
    "AsyncJetrawReader",
    "AsyncJetrawWriter",
    "DownloadResult",
    "FileTransfer",
    "Identity",
    "LoginInfo",
    "LogoutResult",
    "Membership",
    "Organisation",
    "ProgressEvent",
    "RemoteDirectory",
    "RemoteFile",
    "Space",
    "TransferConfig",
    "TransferResult",
    "Upload",
    "UploadResult",
    "User",
    "download",
    "get_default_client",
    "set_default_client",
    "upload",
]
