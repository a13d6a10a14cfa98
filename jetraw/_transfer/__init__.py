"""The transfer engine, read top to bottom: plan -> schedule -> storage -> commit.

:class:`TransferSession` (one per client) plans a transfer (:mod:`._plan`), takes the shared
byte budget and request limit (:mod:`._budget`), opens the space's storage, and runs the engine:
:class:`Uploader` (small files by :mod:`._single`, large ones by :mod:`._multipart`),
:class:`Downloader`, or a streamed write (:mod:`._stream`). Large files and streamed writes
drive the same open multipart upload, :mod:`._multipart_upload` (parts sent, assembled,
committed or aborted; its storage calls in :mod:`._parts`, its commit in :mod:`._commit`):
:mod:`._multipart` adds the resume journal and reading parts from the file, :mod:`._stream`
the buffering of written bytes and the single PUT of a write that ends below the threshold.
"""

from __future__ import annotations

from jetraw._transfer._config import TransferConfig, plan_part_size
from jetraw._transfer._context import OnCancel, UploadOptions
from jetraw._transfer._download import Downloader, DownloadItem
from jetraw._transfer._errpath import name_user_path
from jetraw._transfer._garbage import GarbageStore
from jetraw._transfer._job import UploadItem, UploadJob
from jetraw._transfer._journal import Journal, JournalStore
from jetraw._transfer._plan import LocalPath
from jetraw._transfer._remote import RemoteRef, join, parse_remote, validate_path
from jetraw._transfer._results import (
    DownloadResult,
    FileTransfer,
    ProgressCallback,
    ProgressEvent,
    TransferResult,
    UploadResult,
)
from jetraw._transfer._session import TransferSession
from jetraw._transfer._stream import StreamUpload
from jetraw._transfer._upload import Uploader

__all__ = [
    "DownloadItem",
    "DownloadResult",
    "Downloader",
    "FileTransfer",
    "GarbageStore",
    "Journal",
    "JournalStore",
    "LocalPath",
    "OnCancel",
    "ProgressCallback",
    "ProgressEvent",
    "RemoteRef",
    "StreamUpload",
    "TransferConfig",
    "TransferResult",
    "TransferSession",
    "UploadItem",
    "UploadJob",
    "UploadOptions",
    "UploadResult",
    "Uploader",
    "join",
    "name_user_path",
    "parse_remote",
    "plan_part_size",
    "validate_path",
]
