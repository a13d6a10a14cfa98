"""Module-level ``upload`` and ``download`` of :mod:`jetraw.aio` (default client when none)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from jetraw._client import AsyncClient
from jetraw._default_client import get_default_client
from jetraw._transfer import (
    DownloadResult,
    LocalPath,
    ProgressCallback,
    TransferConfig,
    UploadResult,
)

if TYPE_CHECKING:
    from jetraw._transfer import OnCancel

__all__ = ["download", "upload"]


async def upload(
    src: LocalPath | Iterable[LocalPath],
    dest: str,
    *,
    client: AsyncClient | None = None,
    overwrite: bool = False,
    skip_existing: bool = False,
    fail_fast: bool = False,
    metadata: Mapping[str, str] | None = None,
    config: TransferConfig | None = None,
    on_cancel: OnCancel = "abort",
    progress: ProgressCallback | None = None,
) -> UploadResult:
    """Upload a file, a directory tree, or several files to ``dest`` (``/space/path``).

    See :meth:`AsyncClient.upload`; this uses ``client``, else the default client.

    Args:
        src: A file, a directory (its tree, relative paths kept), or an iterable of paths.
        dest: ``/space/path``; a trailing ``/`` means "into that folder".
        client: The client; the default client (:func:`get_default_client`) when ``None``.
        overwrite: Replace existing files (atomically).
        skip_existing: Skip files already there with the same size and CRC-32C.
        fail_fast: Stop at the first failure.
        metadata: User metadata recorded with every file.
        config: Part sizes and concurrency.
        on_cancel: ``"abort"`` or ``"keep"`` (leave a cancelled upload resumable).
        progress: Called (or awaited) with each :class:`ProgressEvent`.

    Returns:
        The outcome of every file.

    Raises:
        UploadError: Some files failed; ``error.result`` has every file's outcome.
        ServerConnectionError: The state server is unreachable before any file is tried.
    """
    if client is None:
        client = get_default_client()
    return await client.upload(
        src,
        dest,
        overwrite=overwrite,
        skip_existing=skip_existing,
        fail_fast=fail_fast,
        metadata=metadata,
        config=config,
        on_cancel=on_cancel,
        progress=progress,
    )


async def download(
    src: str,
    dest: LocalPath,
    *,
    client: AsyncClient | None = None,
    overwrite: bool = False,
    skip_existing: bool = False,
    config: TransferConfig | None = None,
    progress: ProgressCallback | None = None,
) -> DownloadResult:
    """Download a file or a directory tree from ``src`` (``/space/path``) to ``dest``.

    See :meth:`AsyncClient.download`; this uses ``client``, else the default client.

    Args:
        src: ``/space/path`` of a file or directory.
        dest: The local file, or a directory to download into.
        client: The client; the default client (:func:`get_default_client`) when ``None``.
        overwrite: Replace local files that exist (otherwise each such file fails with
            :class:`~jetraw.LocalPathExistsError`).
        skip_existing: Skip local files that exist with the remote file's size and CRC-32C.
        config: Part sizes and concurrency.
        progress: Called (or awaited) with each :class:`ProgressEvent`.

    Returns:
        The outcome of every file.

    Raises:
        DownloadError: Some files failed; ``error.result`` has every file's outcome.
    """
    if client is None:
        client = get_default_client()
    return await client.download(
        src,
        dest,
        overwrite=overwrite,
        skip_existing=skip_existing,
        config=config,
        progress=progress,
    )
