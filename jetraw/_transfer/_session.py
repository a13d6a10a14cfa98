"""A client's transfer session: its storage backends, byte budget, journals and garbage.

One per :class:`~jetraw.aio.AsyncClient`. It plans and runs uploads, downloads and streamed writes
(``open("wb")``), lists and aborts pending uploads, and deletes the objects that writes replaced
once their grace period is over. Everything it needs is given to it (the state-server API, TLS
and AWS settings, where the client keeps its state): it never calls back into the client.

Setup, the same for every transfer: open the space's storage (credentials checked before any
request is sent), take the shared scheduler, run the engine, collect the garbage.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio.to_thread

from jetraw._api import API_PREFIX, StateServerAPI, Upload
from jetraw._exceptions import DownloadError, JetrawError, UploadError, UploadNotFoundError
from jetraw._storage import Storage, open_storage
from jetraw._transfer._budget import Scheduler
from jetraw._transfer._config import TransferConfig
from jetraw._transfer._context import OnCancel, UploadOptions
from jetraw._transfer._download import Downloader
from jetraw._transfer._garbage import GarbageStore
from jetraw._transfer._journal import JournalStore
from jetraw._transfer._plan import LocalPath, plan_download, plan_upload
from jetraw._transfer._remote import parse_remote
from jetraw._transfer._results import DownloadResult, ProgressCallback, UploadResult
from jetraw._transfer._stream import StreamUpload
from jetraw._transfer._upload import Uploader

__all__ = ["TransferSession"]


def _timeout_kwargs(timeouts: tuple[float, float] | None) -> dict[str, float]:
    """``open_storage``'s timeout arguments (none: the backend's defaults)."""
    if timeouts is None:
        return {}
    return {"connect_timeout": timeouts[0], "read_timeout": timeouts[1]}


def _fits(storage: Storage, concurrency: int, timeouts: tuple[float, float] | None) -> bool:
    """Whether a cached backend serves a transfer (pool large enough, the asked timeouts)."""
    if storage.pool_size < concurrency:
        return False
    return timeouts is None or storage.timeouts is None or storage.timeouts == timeouts


class TransferSession:
    """The transfers of one client.

    Args:
        api: The client's state-server API.
        verify: TLS verification for storage endpoints.
        aws_profile: The AWS profile for S3 credentials.
        scope: Returns ``server|organisation`` (journal keys and garbage records are per scope;
            the organisation may be known only after the first token).
        state_dir: Returns the directory of the client's local state (``uploads/`` journals,
            ``garbage/`` records), read at each use.
    """

    def __init__(
        self,
        api: StateServerAPI,
        *,
        verify: bool | str,
        aws_profile: str | None,
        scope: Callable[[], str],
        state_dir: Callable[[], Path],
    ) -> None:
        self.api = api
        self.verify = verify
        self.aws_profile = aws_profile
        self.scope = scope
        self.state_dir = state_dir
        #: One backend per space, on the client's loop.
        self.storages: dict[str, Storage] = {}
        self._retired: list[Storage] = []
        self._scheduler: tuple[asyncio.AbstractEventLoop, Scheduler] | None = None

    # -- shared parts ---------------------------------------------------------------------------

    async def storage_for(
        self, space: str, *, concurrency: int = 10, timeouts: tuple[float, float] | None = None
    ) -> Storage:
        """The storage backend of a space (one per space and session).

        Its connection pool is at least ``concurrency``: a transfer asking for more requests in
        flight than the cached backend's pool holds gets a new backend with a larger pool (the
        old one, which transfers in flight may still use, is closed with the session).
        """
        found = self.storages.get(space)
        if found is None or not _fits(found, concurrency, timeouts):
            info = await self.api.get_space(space)
            found = self.storages.get(space)
            if found is None or not _fits(found, concurrency, timeouts):
                if found is not None:
                    self._retired.append(found)
                found = self.storages[space] = open_storage(
                    info.storage,
                    verify=self.verify,
                    aws_profile=self.aws_profile,
                    max_pool_connections=max(32, concurrency),
                    granter=self._granter(space),
                    **_timeout_kwargs(timeouts),
                )
        return found

    def _granter(
        self, space: str
    ) -> Callable[[list[dict[str, Any]]], Awaitable[tuple[float, list[dict[str, Any]]]]]:
        """Signs a batch of storage requests on a space with granted access (never logged)."""

        async def grant(requests: list[dict[str, Any]]) -> tuple[float, list[dict[str, Any]]]:
            answer = await self.api.request(
                "POST",
                f"{API_PREFIX}/spaces/{quote(space, safe='')}/grants",
                json={"requests": requests},
                idempotent=True,
            )
            return float(answer["expires_at"]), list(answer["results"])

        return grant

    async def _ready_storage(self, space: str, config: TransferConfig) -> Storage:
        storage = await self.storage_for(
            space,
            concurrency=config.max_concurrency,
            timeouts=(config.connect_timeout, config.read_timeout),
        )
        await storage.check_credentials()  # missing credentials fail here, before any request
        return storage

    def scheduler(self, config: TransferConfig) -> Scheduler:
        """The one byte budget and request limit (on the running loop), grown to fit
        ``config``: concurrent transfers share it rather than each having their own."""
        loop = asyncio.get_running_loop()
        if self._scheduler is None or self._scheduler[0] is not loop:
            self._scheduler = (
                loop,
                Scheduler(config.max_bytes_in_flight, config.max_concurrency),
            )
        self._scheduler[1].fit(config.max_bytes_in_flight, config.max_concurrency)
        return self._scheduler[1]

    def journals(self) -> JournalStore:
        """The resume journals of multipart uploads."""
        return JournalStore(self.state_dir() / "uploads")

    async def collect_garbage(
        self, space: str, replaced: Iterable[str], grace: float | None = None
    ) -> None:
        """Record objects a write replaced; delete those whose grace period is over.

        Best effort: a failure leaves an orphan object, never a lost file, and is not raised.
        """
        with contextlib.suppress(JetrawError, OSError):
            await self._collect_garbage(space, list(replaced), grace)

    async def _collect_garbage(self, space: str, keys: list[str], grace: float | None) -> None:
        store = GarbageStore(self.state_dir() / "garbage")
        grace = TransferConfig().garbage_grace if grace is None else grace
        scope = self.scope()
        await anyio.to_thread.run_sync(store.add, scope, space, keys, grace)
        due = await anyio.to_thread.run_sync(store.due, scope, space)
        if not due:
            return
        storage = await self.storage_for(space)
        deleted = []
        for key in due:
            with contextlib.suppress(JetrawError):
                await storage.delete(key)
                deleted.append(key)
        await anyio.to_thread.run_sync(store.forget, scope, space, deleted)

    async def aclose(self) -> None:
        """Close the storage clients opened, and free the budget's cached buffers."""
        storages = list(self.storages.values()) + self._retired
        self.storages.clear()
        self._retired.clear()
        for storage in storages:
            await storage.aclose()
        if self._scheduler is not None:
            self._scheduler[1].pool.clear()
            self._scheduler = None

    # -- transfers ------------------------------------------------------------------------------

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
        """Plan, then run an upload (see :meth:`jetraw.AsyncClient.upload`)."""
        config = config or TransferConfig()
        ref = parse_remote(dest)
        items = await plan_upload(self.api, src, ref)
        storage = await self._ready_storage(ref.space, config)
        options = UploadOptions(
            overwrite=overwrite,
            skip_existing=skip_existing,
            fail_fast=fail_fast,
            metadata=dict(metadata or {}),
            on_cancel=on_cancel,
        )
        uploader = Uploader(
            self.api,
            storage,
            space=ref.space,
            config=config,
            journals=self.journals(),
            scope=self.scope(),
            options=options,
            progress=progress,
            scheduler=self.scheduler(config),
        )
        result = await uploader.run(items)
        await self.collect_garbage(ref.space, uploader.garbage, config.garbage_grace)
        fatal = uploader.ctx.fatal
        if fatal is not None:
            # One error for the whole job: the space's storage cannot take any file.
            done = len(result.transferred) + len(result.skipped)
            raise UploadError(
                f"Upload stopped ({done} of {len(result.files)} files done): {fatal}",
                result=result,
            ) from fatal
        if result.failed:
            first = result.failed[0]
            raise UploadError(
                f"{len(result.failed)} of {len(result.files)} files failed to upload; first: "
                f"{first.local}: {first.error}",
                result=result,
            ) from first.error
        return result

    async def download(
        self,
        src: str,
        dest: LocalPath,
        *,
        overwrite: bool = False,
        skip_existing: bool = False,
        config: TransferConfig | None = None,
        progress: ProgressCallback | None = None,
    ) -> DownloadResult:
        """Plan, then run a download (see :meth:`jetraw.AsyncClient.download`)."""
        config = config or TransferConfig()
        ref = parse_remote(src)
        items = await plan_download(self.api, ref, src, dest)
        storage = await self.storage_for(
            ref.space,
            concurrency=config.max_concurrency,
            timeouts=(config.connect_timeout, config.read_timeout),
        )
        downloader = Downloader(
            storage,
            config=config,
            overwrite=overwrite,
            skip_existing=skip_existing,
            progress=progress,
            scheduler=self.scheduler(config),
        )
        result = await downloader.run(items)
        fatal = downloader.fatal
        if fatal is not None:
            # One error for the whole job: the destination cannot take any file.
            done = len(result.transferred) + len(result.skipped)
            raise DownloadError(
                f"Download stopped ({done} of {len(result.files)} files done): {fatal}",
                result=result,
            ) from fatal
        if result.failed:
            first = result.failed[0]
            raise DownloadError(
                f"{len(result.failed)} of {len(result.files)} files failed to download; first: "
                f"{first.remote}: {first.error}",
                result=result,
            ) from first.error
        return result

    async def open_stream(
        self, remote: str, *, overwrite: bool, config: TransferConfig
    ) -> StreamUpload:
        """A started streamed upload to ``remote`` (``/space/path``), for ``open("wb")``.

        Raises:
            IsADirectoryError: ``remote`` names a directory.
            RemotePathExistsError: It exists and ``overwrite`` is false.
        """
        ref = parse_remote(remote)
        if not ref.path or ref.directory:
            raise IsADirectoryError(f"{remote} names a directory, not a file.")
        storage = await self._ready_storage(ref.space, config)
        stream = StreamUpload(
            self.api,
            storage,
            space=ref.space,
            path=ref.path,
            config=config,
            overwrite=overwrite,
            scheduler=self.scheduler(config),
        )
        await stream.start()
        return stream

    async def finish_stream(self, stream: StreamUpload) -> None:
        """Complete a streamed upload (the file appears), then collect what it replaced.

        On failure (or cancellation) the upload is aborted and the error raised.
        """
        try:
            remote = await stream.finish()
        except BaseException:
            await stream.abort()
            raise
        await self.collect_garbage(stream.space, remote.garbage, stream.config.garbage_grace)

    async def list_pending(self, space: str | None = None) -> list[Upload]:
        """The caller's pending uploads (see :meth:`jetraw.AsyncClient.list_pending_uploads`)."""
        return await self.api.list_uploads(space, "pending")

    async def stored_parts(self, upload: Upload) -> tuple[int, int] | None:
        """(parts, bytes) a pending multipart upload holds in storage; ``None`` if unknown."""
        if not upload.storage_upload_id:
            return None
        try:
            storage = await self.storage_for(upload.space)
            parts = await storage.list_parts(upload.object_key, upload.storage_upload_id)
        except JetrawError:
            return None
        return len(parts), sum(p.size for p in parts)

    async def abort_upload(self, upload_id: str) -> None:
        """Abort a pending upload, its stored parts and its local journal."""
        journals = self.journals()
        try:
            upload = await self.api.get_upload(upload_id)
        except UploadNotFoundError:
            await anyio.to_thread.run_sync(journals.forget_upload, upload_id)
            raise
        if upload.storage_upload_id:
            storage = await self.storage_for(upload.space)
            with contextlib.suppress(JetrawError):
                await storage.abort_multipart(upload.object_key, upload.storage_upload_id)
        await self.api.abort_upload(upload_id)
        await anyio.to_thread.run_sync(journals.forget_upload, upload_id)
