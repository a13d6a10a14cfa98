"""Planning a transfer: which local file goes to which remote path, and back.

Both directions are decided here, before any byte moves: a missing local source, a malformed
destination, or a server listing that names a path outside what was asked for fails the whole
call at once.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import anyio.to_thread

from jetraw._api import RemoteDirectory, RemoteFile, StateServerAPI
from jetraw._exceptions import InvalidPathError, LocalPathNotFoundError, RemotePathNotFoundError
from jetraw._transfer._download import DownloadItem
from jetraw._transfer._job import UploadItem
from jetraw._transfer._localpaths import LocalPath, safe_local_target
from jetraw._transfer._remote import RemoteRef, join

__all__ = ["LocalPath", "plan_download", "plan_upload"]


def _walk_tree(root: Path) -> list[tuple[Path, str]]:
    """Every regular file under ``root`` with its POSIX path relative to ``root``, sorted."""
    found = []
    for directory, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(directory) / name
            found.append((path, path.relative_to(root).as_posix()))
    return found


async def _is_remote_dir(api: StateServerAPI, ref: RemoteRef) -> bool:
    try:
        entry = await api.stat(ref.space, ref.path)
    except RemotePathNotFoundError:
        return False
    return isinstance(entry, RemoteDirectory)


async def plan_upload(
    api: StateServerAPI, src: LocalPath | Iterable[LocalPath], ref: RemoteRef
) -> list[UploadItem]:
    """The files of ``src`` and where each goes under ``ref``.

    Raises:
        LocalPathNotFoundError: ``src`` (a single path) does not exist.
        InvalidPathError: A destination path would be malformed.
    """
    if isinstance(src, (str, os.PathLike)):
        local = Path(src)
        if await anyio.to_thread.run_sync(local.is_dir):
            tree = await anyio.to_thread.run_sync(_walk_tree, local)
            return [UploadItem(p, join(ref.path, rel)) for p, rel in tree]
        if not await anyio.to_thread.run_sync(local.exists):
            raise LocalPathNotFoundError(f"No such local file or directory: {local}")
        if ref.directory or await _is_remote_dir(api, ref):
            return [UploadItem(local, join(ref.path, local.name))]
        return [UploadItem(local, ref.path)]
    # One worker-thread call for the whole list: a hop per path cost more than its stat.
    return await anyio.to_thread.run_sync(_plan_list, [Path(e) for e in src], ref.path)


def _plan_list(paths: list[Path], dest: str) -> list[UploadItem]:
    """Each path under ``dest`` (a directory: its tree under its name), in a worker thread."""
    items: list[UploadItem] = []
    for local in paths:
        if local.is_dir():
            items += [UploadItem(p, join(dest, local.name, rel)) for p, rel in _walk_tree(local)]
        else:
            items.append(UploadItem(local, join(dest, local.name)))
    return items


async def plan_download(
    api: StateServerAPI, ref: RemoteRef, src: str, dest: LocalPath
) -> list[DownloadItem]:
    """The remote files under ``ref`` (``src`` as written) and the local path of each.

    Raises:
        RemotePathNotFoundError: ``src`` does not exist.
        SpaceNotFoundError: The space does not exist.
        InvalidPathError: ``src`` names a file but ends with ``/``, or the server listed a path
            outside ``src`` or one that would be written outside ``dest``.
    """
    local = Path(dest)
    items: list[DownloadItem] = []
    entry: RemoteFile | RemoteDirectory
    if ref.path and not ref.directory:
        entry = await api.stat(ref.space, ref.path)
    else:
        entry = RemoteDirectory(ref.space, ref.path)
    if isinstance(entry, RemoteFile):
        into = await anyio.to_thread.run_sync(local.is_dir) or str(dest).endswith(os.sep)
        name = entry.path.rsplit("/", 1)[-1]
        items.append(DownloadItem(entry, safe_local_target(local, name) if into else local))
        return items
    prefix = f"{entry.path}/" if entry.path else ""
    async for found in api.iter_files(ref.space, prefix):
        if isinstance(found, RemoteFile):
            if not found.path.startswith(prefix):
                raise InvalidPathError(
                    f"The server listed {found.path!r} under {prefix!r}, which does not "
                    "contain it; nothing was downloaded."
                )
            items.append(DownloadItem(found, safe_local_target(local, found.path[len(prefix) :])))
    if not items and entry.path:
        # Nothing listed: a missing directory (not found), or a file named with a "/".
        there = await api.stat(ref.space, entry.path)
        if isinstance(there, RemoteFile):
            raise InvalidPathError(f"{src} names a file, not a directory: drop the trailing '/'.")
    elif not items:
        await api.get_space(ref.space)  # an unknown space: SpaceNotFoundError
    return items
