"""File methods that :class:`~jetraw.AsyncClient` gets through a mixin: uploads, downloads,
pending uploads, and the file operations :class:`~jetraw.AsyncJetrawPath` is built on."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import anyio
import anyio.to_thread

from jetraw import _files_api as api_
from jetraw._config import config_dir
from jetraw._exceptions import (
    DownloadError,
    InvalidPathError,
    JetrawError,
    LocalPathNotFoundError,
    RemotePathNotFoundError,
    UploadError,
    UploadNotFoundError,
)
from jetraw._files_api import RemoteDirectory, RemoteFile, Upload
from jetraw._storage import S3Storage, Storage, open_storage
from jetraw._transfer import (
    Downloader,
    DownloadItem,
    DownloadResult,
    GarbageStore,
    JournalStore,
    OnCancel,
    ProgressCallback,
    RemoteRef,
    TransferConfig,
    Uploader,
    UploadItem,
    UploadResult,
    join,
    parse_remote,
)
from jetraw._transfer._budget import Scheduler
from jetraw._transfer._localpaths import safe_local_target

if TYPE_CHECKING:
    from jetraw._models import Space

__all__ = ["LocalPath", "_FilesMixin"]

#: A local path argument.
LocalPath = Union[str, "os.PathLike[str]"]


def _pool_size(storage: Storage) -> int:
    """How many connections the backend's pool holds (unbounded for local disk)."""
    if isinstance(storage, S3Storage):
        return storage.max_pool_connections
    return 1 << 30


def _walk_tree(root: Path) -> list[tuple[Path, str]]:
    """Every regular file under ``root`` with its POSIX path relative to ``root``, sorted."""
    found = []
    for directory, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(directory) / name
            found.append((path, path.relative_to(root).as_posix()))
    return found


class _FilesMixin:
    """Uploads, downloads, pending uploads and file operations of ``AsyncClient``."""

    if TYPE_CHECKING:
        verify: bool | str
        aws_profile: str | None

        @property
        def server(self) -> str | None: ...

        @property
        def organisation(self) -> str | None: ...

        async def _request(
            self,
            method: str,
            path: str,
            *,
            json: Any = None,
            params: Mapping[str, Any] | None = None,
            idempotent: bool | None = None,
        ) -> Any: ...

        async def get_space(self, name: str) -> Space: ...

    # -- storage --------------------------------------------------------------------------------

    def _storage_cache(self) -> dict[str, Storage]:
        cache: dict[str, Storage] | None = self.__dict__.get("_storages")
        if cache is None:
            cache = self.__dict__["_storages"] = {}
        return cache

    def _retired_storages(self) -> list[Storage]:
        retired: list[Storage] | None = self.__dict__.get("_retired")
        if retired is None:
            retired = self.__dict__["_retired"] = []
        return retired

    async def _storage_for(self, space: str, *, concurrency: int = 10) -> Storage:
        """The storage backend of a space (one per space and client, on this client's loop).

        Its connection pool is at least ``concurrency``: a transfer asking for more requests in
        flight than the cached backend's pool holds gets a new backend with a larger pool (the
        old one, which transfers in flight may still use, is closed with the client).
        """
        cache = self._storage_cache()
        found = cache.get(space)
        if found is None or _pool_size(found) < concurrency:
            info = await self.get_space(space)
            found = cache.get(space)
            if found is None or _pool_size(found) < concurrency:
                if found is not None:
                    self._retired_storages().append(found)
                found = cache[space] = open_storage(
                    info.storage,
                    verify=self.verify,
                    aws_profile=self.aws_profile,
                    max_pool_connections=max(32, concurrency),
                )
        return found

    def _scheduler(self, config: TransferConfig) -> Scheduler:
        """The client's one byte budget and request limit (on the running loop), grown to fit
        ``config``: concurrent transfers share it rather than each having their own."""
        loop = asyncio.get_running_loop()
        found: tuple[asyncio.AbstractEventLoop, Scheduler] | None = self.__dict__.get("_sched")
        if found is None or found[0] is not loop:
            found = self.__dict__["_sched"] = (
                loop,
                Scheduler(config.max_bytes_in_flight, config.max_concurrency),
            )
        found[1].fit(config.max_bytes_in_flight, config.max_concurrency)
        return found[1]

    async def _aclose_storage(self) -> None:
        """Close the storage clients this client opened."""
        cache = self._storage_cache()
        storages = list(cache.values()) + self._retired_storages()
        cache.clear()
        self._retired_storages().clear()
        for storage in storages:
            await storage.aclose()
        sched = self.__dict__.pop("_sched", None)
        if sched is not None:
            sched[1].pool.clear()

    def _journals(self) -> JournalStore:
        return JournalStore(config_dir() / "uploads")

    def _scope(self) -> str:
        return f"{self.server}|{self.organisation}"

    async def _collect_garbage(
        self, space: str, replaced: Iterable[str], grace: float | None = None
    ) -> None:
        """Record objects a write replaced; delete those whose grace period is over."""
        store = GarbageStore(config_dir() / "garbage")
        keys = list(replaced)
        grace = TransferConfig().garbage_grace if grace is None else grace
        await anyio.to_thread.run_sync(store.add, self._scope(), space, keys, grace)
        due = await anyio.to_thread.run_sync(store.due, self._scope(), space)
        if not due:
            return
        storage = await self._storage_for(space)
        deleted = []
        for key in due:
            with contextlib.suppress(JetrawError):
                await storage.delete(key)
                deleted.append(key)
        await anyio.to_thread.run_sync(store.forget, self._scope(), space, deleted)

    # -- uploads --------------------------------------------------------------------------------

    async def upload(
        self,
        src: LocalPath | Iterable[LocalPath],
        dest: str,
        *,
        overwrite: bool = False,
        skip_existing: bool = False,
        fail_fast: bool = False,
        metadata: Mapping[str, str] | None = None,
        config: TransferConfig | None = None,
        on_cancel: OnCancel = "abort",
        progress: ProgressCallback | None = None,
    ) -> UploadResult:
        """Upload a file, a directory tree, or several files to ``dest``.

        Every file is tried; each becomes visible only once all its bytes are stored. Large
        files go in parts, resumable after a crash or kill from a local journal.

        Args:
            src: A file, a directory (its whole tree, relative paths kept), or an iterable of
                files and directories.
            dest: ``/space/path``. With a trailing ``/`` (or naming an existing directory, or
                for a tree or several files) it is the folder the files go into.
            overwrite: Replace files that exist (atomically). Without it an existing file is
                a failure of that file (:class:`~jetraw.RemotePathExistsError`).
            skip_existing: Skip files already there with the same size and CRC-32C.
            fail_fast: Stop at the first failure (the rest are reported as not uploaded).
            metadata: User metadata recorded with every file.
            config: Part sizes and concurrency; :class:`TransferConfig` defaults otherwise.
            on_cancel: ``"abort"`` (default) removes a cancelled upload's parts; ``"keep"``
                leaves them, so running the same upload again resumes it.
            progress: Called (or awaited) with each :class:`ProgressEvent`.

        Returns:
            The outcome of every file.

        Raises:
            UploadError: Some files failed; ``error.result`` has every file's outcome.
            LocalPathNotFoundError: ``src`` does not exist (raised before any request).
            InvalidPathError: ``dest`` is malformed or escapes its space.
            SpaceNotFoundError: The space does not exist.
            StorageCredentialsError: No usable storage credentials (nothing was sent).
        """
        config = config or TransferConfig()
        ref = parse_remote(dest)
        items = await self._plan_upload(src, ref)
        storage = await self._storage_for(ref.space, concurrency=config.max_concurrency)
        if isinstance(storage, S3Storage):
            await storage._get_client()  # missing credentials fail here, before any request
        uploader = Uploader(
            self,
            storage,
            space=ref.space,
            config=config,
            journals=self._journals(),
            scope=self._scope(),
            overwrite=overwrite,
            skip_existing=skip_existing,
            fail_fast=fail_fast,
            metadata=metadata,
            on_cancel=on_cancel,
            progress=progress,
            scheduler=self._scheduler(config),
        )
        result = await uploader.run(items)
        with contextlib.suppress(JetrawError, OSError):
            await self._collect_garbage(ref.space, uploader.garbage, config.garbage_grace)
        if result.failed:
            first = result.failed[0]
            raise UploadError(
                f"{len(result.failed)} of {len(result.files)} files failed to upload; first: "
                f"{first.local}: {first.error}",
                result=result,
            ) from first.error
        return result

    async def _plan_upload(
        self, src: LocalPath | Iterable[LocalPath], ref: RemoteRef
    ) -> list[UploadItem]:
        if isinstance(src, (str, os.PathLike)):
            local = Path(src)
            is_dir = await anyio.to_thread.run_sync(local.is_dir)
            if is_dir:
                tree = await anyio.to_thread.run_sync(_walk_tree, local)
                return [UploadItem(p, join(ref.path, rel)) for p, rel in tree]
            exists = await anyio.to_thread.run_sync(local.exists)
            if not exists:
                raise LocalPathNotFoundError(f"No such local file or directory: {local}")
            if ref.directory or await self._is_remote_dir(ref):
                return [UploadItem(local, join(ref.path, local.name))]
            return [UploadItem(local, ref.path)]
        items: list[UploadItem] = []
        for entry in src:
            local = Path(entry)
            if await anyio.to_thread.run_sync(local.is_dir):
                tree = await anyio.to_thread.run_sync(_walk_tree, local)
                items += [UploadItem(p, join(ref.path, local.name, rel)) for p, rel in tree]
            else:
                items.append(UploadItem(local, join(ref.path, local.name)))
        return items

    async def _is_remote_dir(self, ref: RemoteRef) -> bool:
        try:
            entry = await api_.stat(self, ref.space, ref.path)
        except RemotePathNotFoundError:
            return False
        return isinstance(entry, RemoteDirectory)

    async def list_pending_uploads(self, space: str | None = None) -> list[Upload]:
        """The caller's uploads that were started and neither completed nor aborted.

        Args:
            space: Only those of this space.

        Returns:
            The pending uploads (with ``expires_at``).
        """
        return await api_.list_uploads(self, space, "pending")

    async def abort_upload(self, upload_id: str) -> None:
        """Abort a pending upload and remove the parts it stored.

        The local resume journal of that upload (if this machine has one) is deleted too, so
        a later run of the same upload starts afresh instead of finding it.

        Args:
            upload_id: The upload's id (from :meth:`list_pending_uploads`).

        Raises:
            UploadNotFoundError: No such upload (its local journal, if any, is deleted anyway).
        """
        try:
            upload = await api_.get_upload(self, upload_id)
        except UploadNotFoundError:
            await anyio.to_thread.run_sync(self._journals().forget_upload, upload_id)
            raise
        if upload.storage_upload_id:
            storage = await self._storage_for(upload.space)
            with contextlib.suppress(JetrawError):
                await storage.abort_multipart(upload.object_key, upload.storage_upload_id)
        await api_.abort_upload(self, upload_id)
        await anyio.to_thread.run_sync(self._journals().forget_upload, upload_id)

    # -- downloads ------------------------------------------------------------------------------

    async def download(
        self,
        src: str,
        dest: LocalPath,
        *,
        overwrite: bool = False,
        config: TransferConfig | None = None,
        progress: ProgressCallback | None = None,
    ) -> DownloadResult:
        """Download a file or a directory tree.

        Each file is fetched with concurrent ranged reads into a temporary file beside its
        destination, its CRC-32C checked, then renamed into place: a failure never leaves a
        partial file.

        Args:
            src: ``/space/path`` of a file, or of a directory (its whole tree).
            dest: The local file, or a directory to put the file (or tree) in.
            overwrite: Replace local files that exist. Without it an existing local file is a
                failure of that file (:class:`~jetraw.LocalPathExistsError`), as ``upload``
                treats an existing remote file.
            config: Part sizes and concurrency.
            progress: Called (or awaited) with each :class:`ProgressEvent`.

        Returns:
            The outcome of every file.

        Raises:
            DownloadError: Some files failed; ``error.result`` has every file's outcome
                (:class:`~jetraw.IntegrityError`, :class:`~jetraw.InsufficientStorageError`...).
            RemotePathNotFoundError: ``src`` does not exist.
            SpaceNotFoundError: The space does not exist.
            InvalidPathError: ``src`` names a file but ends with ``/``, or the server listed a
                path outside ``src`` or one that would be written outside ``dest``.
        """
        config = config or TransferConfig()
        ref = parse_remote(src)
        local = Path(dest)
        items: list[DownloadItem] = []
        entry: RemoteFile | RemoteDirectory
        if ref.path and not ref.directory:
            entry = await api_.stat(self, ref.space, ref.path)
        else:
            entry = RemoteDirectory(ref.space, ref.path)
        if isinstance(entry, RemoteFile):
            into = await anyio.to_thread.run_sync(local.is_dir) or str(dest).endswith(os.sep)
            name = entry.path.rsplit("/", 1)[-1]
            items.append(DownloadItem(entry, safe_local_target(local, name) if into else local))
        else:
            prefix = f"{entry.path}/" if entry.path else ""
            async for found in api_.iter_files(self, ref.space, prefix):
                if isinstance(found, RemoteFile):
                    if not found.path.startswith(prefix):
                        raise InvalidPathError(
                            f"The server listed {found.path!r} under {prefix!r}, which does not "
                            "contain it; nothing was downloaded."
                        )
                    target = safe_local_target(local, found.path[len(prefix) :])
                    items.append(DownloadItem(found, target))
            if not items and entry.path:
                # Nothing listed: a missing directory (not found), or a file named with a "/".
                there = await api_.stat(self, ref.space, entry.path)
                if isinstance(there, RemoteFile):
                    raise InvalidPathError(
                        f"{src} names a file, not a directory: drop the trailing '/'."
                    )
            elif not items:
                await self.get_space(ref.space)  # an unknown space: SpaceNotFoundError
        storage = await self._storage_for(ref.space, concurrency=config.max_concurrency)
        # The client's one byte budget and request limit, shared with concurrent transfers.
        downloader = Downloader(
            storage,
            config=config,
            overwrite=overwrite,
            progress=progress,
            scheduler=self._scheduler(config),
        )
        result = await downloader.run(items)
        if result.failed:
            first = result.failed[0]
            raise DownloadError(
                f"{len(result.failed)} of {len(result.files)} files failed to download; first: "
                f"{first.remote}: {first.error}",
                result=result,
            ) from first.error
        return result

    # -- file operations ------------------------------------------------------------------------

    async def stat(self, path: str) -> RemoteFile | RemoteDirectory:
        """The file or directory at ``/space/path``.

        ``/space`` itself is a directory once the space is known to exist.

        Raises:
            RemotePathNotFoundError: Nothing is there.
            SpaceNotFoundError: The space does not exist.
        """
        ref = parse_remote(path)
        if not ref.path:
            await self.get_space(ref.space)  # cached for the life of the client
            return RemoteDirectory(ref.space, "")
        return await api_.stat(self, ref.space, ref.path)

    async def list_files(
        self, path: str, *, recursive: bool = False
    ) -> AsyncIterator[RemoteFile | RemoteDirectory]:
        """The entries under the directory ``/space/dir`` (every file below it if recursive)."""
        ref = parse_remote(path)
        prefix = f"{ref.path}/" if ref.path else ""
        async for entry in api_.iter_files(
            self, ref.space, prefix, delimiter=None if recursive else "/"
        ):
            yield entry

    async def delete(self, path: str, *, recursive: bool = False) -> None:
        """Delete the file ``/space/path`` (or a directory tree with ``recursive=True``)."""
        ref = parse_remote(path)
        garbage = await api_.delete_file(self, ref.space, ref.path, recursive=recursive)
        with contextlib.suppress(JetrawError, OSError):
            await self._collect_garbage(ref.space, garbage)

    async def move(self, src: str, dest: str, *, overwrite: bool = False) -> RemoteFile:
        """Rename a file within its space (no bytes move)."""
        a, b = parse_remote(src), parse_remote(dest)
        if a.space != b.space:
            from jetraw._exceptions import InvalidPathError

            raise InvalidPathError("A file can only be moved within its space.")
        target = join(b.path, a.path.rsplit("/", 1)[-1]) if b.directory else b.path
        moved = await api_.move_file(self, a.space, a.path, target, overwrite=overwrite)
        with contextlib.suppress(JetrawError, OSError):
            await self._collect_garbage(a.space, moved.garbage)
        return moved

    async def mkdir(self, path: str, *, exist_ok: bool = False) -> None:
        """Create the (explicit, possibly empty) directory ``/space/dir``."""
        ref = parse_remote(path)
        await api_.create_directory(self, ref.space, ref.path, exist_ok=exist_ok)

    async def rmdir(self, path: str) -> None:
        """Remove the empty directory ``/space/dir``."""
        ref = parse_remote(path)
        await api_.delete_directory(self, ref.space, ref.path)
