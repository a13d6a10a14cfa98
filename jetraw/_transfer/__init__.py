"""The transfer engine: part planning, the byte budget, uploads, downloads, resume."""

from __future__ import annotations

from jetraw._transfer._config import TransferConfig, plan_part_size
from jetraw._transfer._download import Downloader, DownloadItem
from jetraw._transfer._garbage import GarbageStore
from jetraw._transfer._journal import Journal, JournalStore
from jetraw._transfer._remote import RemoteRef, join, parse_remote, validate_path
from jetraw._transfer._results import (
    DownloadResult,
    FileTransfer,
    ProgressCallback,
    ProgressEvent,
    TransferResult,
    UploadResult,
)
from jetraw._transfer._upload import OnCancel, Uploader, UploadItem

__all__ = [
    "DownloadItem",
    "DownloadResult",
    "Downloader",
    "FileTransfer",
    "GarbageStore",
    "Journal",
    "JournalStore",
    "OnCancel",
    "ProgressCallback",
    "ProgressEvent",
    "RemoteRef",
    "TransferConfig",
    "TransferResult",
    "UploadItem",
    "UploadResult",
    "Uploader",
    "join",
    "parse_remote",
    "plan_part_size",
    "validate_path",
]
