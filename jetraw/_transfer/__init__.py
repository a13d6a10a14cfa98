"""The transfer engine, read top to bottom: plan -> schedule -> storage -> commit.

:class:`TransferSession` (one per client) plans a transfer (:mod:`._plan`), takes the shared
byte budget and request limit (:mod:`._budget`), opens the space's storage, and runs the engine:
:class:`Uploader` (small files by :mod:`._single`, large ones by :mod:`._multipart`),
:class:`Downloader`, or a streamed write (:mod:`._stream`). Large files and streamed writes
drive the same open multipart upload, :mod:`._multipart_upload` (parts sent, assembled,
committed or aborted; its storage calls in :mod:`._parts`, its commit in :mod:`._commit`):
:mod:`._multipart` adds the resume journal and reading parts from the file, :mod:`._stream`
the buffering of written bytes and the single PUT of a write that ends below the threshold.

The names are bound on first use (PEP 562): a client that only lists imports none of the
engine, and a transfer imports the modules it needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jetraw._transfer._config import TransferConfig as TransferConfig
    from jetraw._transfer._config import plan_part_size as plan_part_size
    from jetraw._transfer._context import OnCancel as OnCancel
    from jetraw._transfer._context import UploadOptions as UploadOptions
    from jetraw._transfer._download import Downloader as Downloader
    from jetraw._transfer._download import DownloadItem as DownloadItem
    from jetraw._transfer._errpath import name_user_path as name_user_path
    from jetraw._transfer._garbage import GarbageStore as GarbageStore
    from jetraw._transfer._job import UploadItem as UploadItem
    from jetraw._transfer._job import UploadJob as UploadJob
    from jetraw._transfer._journal import Journal as Journal
    from jetraw._transfer._journal import JournalStore as JournalStore
    from jetraw._transfer._localpaths import LocalPath as LocalPath
    from jetraw._transfer._remote import RemoteRef as RemoteRef
    from jetraw._transfer._remote import join as join
    from jetraw._transfer._remote import parse_remote as parse_remote
    from jetraw._transfer._remote import validate_path as validate_path
    from jetraw._transfer._results import DownloadResult as DownloadResult
    from jetraw._transfer._results import FileTransfer as FileTransfer
    from jetraw._transfer._results import ProgressCallback as ProgressCallback
    from jetraw._transfer._results import ProgressEvent as ProgressEvent
    from jetraw._transfer._results import TransferResult as TransferResult
    from jetraw._transfer._results import UploadResult as UploadResult
    from jetraw._transfer._session import TransferSession as TransferSession
    from jetraw._transfer._stream import StreamUpload as StreamUpload
    from jetraw._transfer._upload import Uploader as Uploader

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

# name -> the module that defines it
_WHERE: dict[str, str] = {
    "DownloadItem": "jetraw._transfer._download",
    "DownloadResult": "jetraw._transfer._results",
    "Downloader": "jetraw._transfer._download",
    "FileTransfer": "jetraw._transfer._results",
    "GarbageStore": "jetraw._transfer._garbage",
    "Journal": "jetraw._transfer._journal",
    "JournalStore": "jetraw._transfer._journal",
    "LocalPath": "jetraw._transfer._localpaths",
    "OnCancel": "jetraw._transfer._context",
    "ProgressCallback": "jetraw._transfer._results",
    "ProgressEvent": "jetraw._transfer._results",
    "RemoteRef": "jetraw._transfer._remote",
    "StreamUpload": "jetraw._transfer._stream",
    "TransferConfig": "jetraw._transfer._config",
    "TransferResult": "jetraw._transfer._results",
    "TransferSession": "jetraw._transfer._session",
    "UploadItem": "jetraw._transfer._job",
    "UploadJob": "jetraw._transfer._job",
    "UploadOptions": "jetraw._transfer._context",
    "UploadResult": "jetraw._transfer._results",
    "Uploader": "jetraw._transfer._upload",
    "join": "jetraw._transfer._remote",
    "name_user_path": "jetraw._transfer._errpath",
    "parse_remote": "jetraw._transfer._remote",
    "plan_part_size": "jetraw._transfer._config",
    "validate_path": "jetraw._transfer._remote",
}


def __getattr__(name: str) -> object:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value: object = getattr(importlib.import_module(where), name)
    globals()[name] = value  # later lookups skip this function
    return value
