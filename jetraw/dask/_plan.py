"""Planning a Dask upload on the driver: which local file goes where, cut into batches.

Pure functions over the local tree (no server call, no Dask): the remote path of every file is
decided exactly as :meth:`jetraw.aio.AsyncClient.upload` decides it, so the per-file result is
the same as a single-process ``upload()``. The one case the server decides (a single file sent
to a destination without a trailing ``/``, which may name an existing remote directory) is
sent as it was written, in a batch of its own.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from jetraw._transfer import LocalPath, RemoteRef, join
from jetraw.aio import LocalPathNotFoundError

__all__ = ["PlannedFile", "auto_files_per_task", "batches", "plan"]


@dataclasses.dataclass(frozen=True)
class PlannedFile:
    """One file of a Dask upload.

    Attributes:
        local: The local path as the caller gave it (reported in the result).
        source: The absolute local path the worker reads (workers may run in another cwd).
        dest: What the worker passes to ``upload`` as the destination: the remote directory
            with a trailing ``/`` (the file keeps its name), or for :attr:`literal` the
            destination as the caller wrote it.
        remote: ``/space/path``, where the file goes (``None`` when the server decides).
        size: Bytes, from the driver's ``stat`` (0 if it failed: the worker reports why).
        literal: Send ``source`` as a single path with ``dest`` unchanged.
        missing: The file does not exist (reported failed without being sent).
    """

    local: Path
    source: str
    dest: str
    remote: str | None
    size: int = 0
    literal: bool = False
    missing: bool = False


def _walk_tree(root: Path) -> list[tuple[Path, str]]:
    """Every regular file under ``root`` with its POSIX path relative to ``root``, sorted.

    The same walk as ``upload()`` (``os.walk``, directories and names sorted): same files,
    same order.
    """
    found = []
    for directory, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(directory) / name
            found.append((path, path.relative_to(root).as_posix()))
    return found


def _size(path: Path) -> tuple[int, bool]:
    """The file's size, and whether it is missing."""
    try:
        return os.stat(path).st_size, False
    except FileNotFoundError:
        return 0, not os.path.islink(path)  # a dangling link: the worker says what it is
    except OSError:
        return 0, False


def _planned(local: Path, ref: RemoteRef, remote_path: str) -> PlannedFile:
    parent = remote_path.rpartition("/")[0]
    dest = f"/{ref.space}/{parent}/" if parent else f"/{ref.space}/"
    size, missing = _size(local)
    return PlannedFile(
        local, os.path.abspath(local), dest, f"/{ref.space}/{remote_path}", size, missing=missing
    )


def plan(src: LocalPath | Iterable[LocalPath], dest: str, ref: RemoteRef) -> list[PlannedFile]:
    """The files of ``src`` and where each goes under ``ref`` (``dest`` as written).

    Raises:
        LocalPathNotFoundError: ``src`` (a single path) does not exist.
        InvalidPathError: A destination path would be malformed.
    """
    if isinstance(src, (str, os.PathLike)):
        local = Path(src)
        if local.is_dir():
            return [_planned(p, ref, join(ref.path, rel)) for p, rel in _walk_tree(local)]
        if not local.exists():
            raise LocalPathNotFoundError(f"No such local file or directory: {local}")
        if ref.directory:
            return [_planned(local, ref, join(ref.path, local.name))]
        # Into an existing remote directory, or to this very path: the server knows.
        size, _ = _size(local)
        return [PlannedFile(local, os.path.abspath(local), dest, None, size, literal=True)]
    files: list[PlannedFile] = []
    for entry in src:
        local = Path(entry)
        if local.is_dir():
            tree = _walk_tree(local)
            files += [_planned(p, ref, join(ref.path, local.name, rel)) for p, rel in tree]
        else:
            files.append(_planned(local, ref, join(ref.path, local.name)))
    return files


def auto_files_per_task(n_files: int, n_workers: int) -> int:
    """Files per task when not given: about four tasks per worker, at most 1,000 files each.

    Several tasks per worker balance uneven workers and bound what a killed worker costs (its
    running batch is redone); each task also costs a token request and a few state-server
    round trips, so batches are not made smaller than they need to be.
    """
    return max(1, min(1000, -(-n_files // (4 * max(1, n_workers)))))


def batches(
    files: Sequence[PlannedFile], files_per_task: int, bytes_per_task: int
) -> list[list[int]]:
    """The indices of ``files`` cut into consecutive batches of at most ``files_per_task``
    files and ``bytes_per_task`` bytes (a larger file goes alone). A file sent as written
    (``literal``) goes alone; missing files are in no batch."""
    out: list[list[int]] = []
    current: list[int] = []
    held = 0
    for index, file in enumerate(files):
        if file.missing:
            continue
        if file.literal:
            out.append([index])
            continue
        if current and (len(current) >= files_per_task or held + file.size > bytes_per_task):
            out.append(current)
            current, held = [], 0
        current.append(index)
        held += file.size
    if current:
        out.append(current)
    return out
