"""``JetrawFileSystem``: jetraw spaces as an fsspec ``AsyncFileSystem`` (protocol ``jetraw``)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import weakref
from collections.abc import Mapping
from typing import Any

from fsspec.asyn import AsyncFileSystem, sync
from fsspec.callbacks import DEFAULT_CALLBACK, Callback

from jetraw._path_io import AsyncJetrawReader, AsyncJetrawWriter
from jetraw._transfer import ProgressEvent, TransferConfig, TransferResult
from jetraw.aio import (
    AsyncClient,
    AsyncJetrawPath,
    DownloadError,
    RemoteFile,
    UploadError,
)
from jetraw.fs._file import JetrawFile
from jetraw.fs._info import directory_info, entry_info, fs_name, remote_of

__all__ = ["JetrawFileSystem"]

# Bytes read or written per step when a file is copied from one path to another.
_COPY_STEP = 16 << 20


class JetrawFileSystem(AsyncFileSystem):  # type: ignore[misc]  # fsspec is untyped
    """jetraw spaces for fsspec, and so for pandas, xarray, zarr, dask, tifffile, napari, UPath.

    A path is ``jetraw://space/dir/file`` (``space/dir/file`` once the protocol is stripped); the
    root ``jetraw://`` lists the spaces. Every operation goes through an :class:`AsyncClient`
    and its transfer engine: uploads and downloads are checked against the CRC-32C, resumable and
    bounded by the byte budget of ``config``; a written file appears only once it is complete.

    The client is built from the same chain as ``AsyncClient()`` (``JETRAW_API_KEY``, the
    profile in the config file, the OS keyring), or from the options given. The instance pickles
    as its options only, so an API key travels only if it was passed explicitly.

    Args:
        server: The state server's URL (else the profile's or ``JETRAW_SERVER``).
        organisation: The organisation (else the profile's or ``JETRAW_ORGANISATION``).
        profile: The config-file profile to use.
        api_key: An API key (refresh token). Pickled with the instance if given.
        config: Part sizes, concurrency and byte budget of transfers (a
            :class:`~jetraw.TransferConfig` or a mapping of its fields).
        verify: TLS verification for the state server: ``True``, ``False`` or a CA bundle.
        timeout: Seconds for one request to the state server.
        retries: Retries of a failed state-server request.
        asynchronous: ``True`` inside async code (call the ``_``-prefixed coroutines).
        loop: The event loop of a synchronous instance (default: fsspec's own loop thread).
    """

    protocol = ("jetraw",)
    root_marker = ""
    cachable = True

    def __init__(
        self,
        *,
        server: str | None = None,
        organisation: str | None = None,
        profile: str | None = None,
        api_key: str | None = None,
        config: TransferConfig | Mapping[str, Any] | None = None,
        verify: bool | str = True,
        timeout: float = 30.0,
        retries: int = 3,
        asynchronous: bool = False,
        loop: asyncio.AbstractEventLoop | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(asynchronous=asynchronous, loop=loop, **kwargs)
        self._client_options: dict[str, Any] = {
            "server": server,
            "organisation": organisation,
            "profile": profile,
            "verify": verify,
            "timeout": timeout,
            "retries": retries,
        }
        self._api_key = api_key
        if isinstance(config, Mapping):
            config = TransferConfig(**config)
        self.transfer_config: TransferConfig = config or TransferConfig()
        # One client per event loop: an HTTP connection belongs to the loop that opened it.
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncClient] = (
            weakref.WeakKeyDictionary()
        )
        weakref.finalize(self, _close_clients, self._clients)

    # -- paths and clients ---------------------------------------------------------------------

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        stripped: str = super()._strip_protocol(path)
        return stripped.strip("/")

    def unstrip_protocol(self, name: str) -> str:
        """The full URL of a name: ``jetraw://space/path``."""
        return f"jetraw://{self._strip_protocol(name)}"

    async def _client(self) -> AsyncClient:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = AsyncClient(self._api_key, **self._client_options)
            self._clients[loop] = client
        return client

    async def _close(self) -> None:
        """Close the client of the running loop (the next call opens a new one)."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()

    def close(self) -> None:
        """Close the HTTP connections of a synchronous instance (reopened on next use)."""
        if self.asynchronous:
            raise RuntimeError("An asynchronous instance is closed with `await fs._close()`.")
        sync(self.loop, self._close)

    async def _path(self, path: str) -> AsyncJetrawPath:
        return AsyncJetrawPath(remote_of(self._strip_protocol(path)), client=await self._client())

    # -- metadata ------------------------------------------------------------------------------

    async def _info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        path = self._strip_protocol(path)
        if not path:
            return directory_info("")
        client = await self._client()
        return entry_info(await client.stat(remote_of(path)))

    async def _ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        path = self._strip_protocol(path)
        client = await self._client()
        if not path:
            entries = [directory_info(space.name) for space in await client.list_spaces()]
        else:
            entries = [entry_info(e) async for e in client.list_files(remote_of(path))]
            if not entries:  # an empty directory, a file, or nothing
                info = await self._info(path)
                entries = [info] if info["type"] == "file" else []
        entries.sort(key=lambda e: e["name"])
        return entries if detail else [e["name"] for e in entries]

    async def _find(
        self, path: str, maxdepth: int | None = None, withdirs: bool = False, **kwargs: Any
    ) -> Any:
        path = self._strip_protocol(path)
        if withdirs or maxdepth is not None or not path:
            return await super()._find(path, maxdepth=maxdepth, withdirs=withdirs, **kwargs)
        # Every file below a directory is one paginated listing, not one request per directory.
        detail = kwargs.pop("detail", False)
        client = await self._client()
        found = {
            info["name"]: info
            async for info in _file_infos(client.list_files(remote_of(path), recursive=True))
        }
        if not found:
            try:
                info = await self._info(path)
            except FileNotFoundError:
                info = None
            if info is not None and info["type"] == "file":
                found[path] = info
        names = sorted(found)
        return {n: found[n] for n in names} if detail else names

    def checksum(self, path: str) -> int:
        """The platform's CRC-32C of the whole file, as an int."""
        crc = self.info(path).get("crc32c")
        if crc is None:
            raise ValueError(f"{path}: the platform recorded no checksum.")
        return int(crc, 16)

    def ukey(self, path: str) -> str:
        """A key that changes whenever the file's bytes do: its CRC-32C, size and time."""
        info = self.info(path)
        return f"{info.get('crc32c')}-{info['size']}-{info.get('mtime')}"

    def created(self, path: str) -> Any:
        """When the file was created (an aware datetime)."""
        return self.info(path).get("created")

    def modified(self, path: str) -> Any:
        """When the file was last written (an aware datetime)."""
        return self.info(path).get("mtime")

    # -- bytes ---------------------------------------------------------------------------------

    async def _open_reader(self, path: str) -> AsyncJetrawReader:
        reader = (await self._path(path)).open("rb", buffer_size=1)
        return await reader.__aenter__()

    async def _read_range(self, reader: AsyncJetrawReader, start: int, end: int) -> bytes:
        await reader.seek(start)
        return await reader.read(max(0, end - start))

    async def _open_writer(self, path: str, *, overwrite: bool = True) -> AsyncJetrawWriter:
        jpath = await self._path(path)
        writer = jpath.open("wb", overwrite=overwrite, config=self.transfer_config)
        return await writer.__aenter__()

    async def _cat_file(
        self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any
    ) -> bytes:
        async with (await self._path(path)).open("rb", buffer_size=1) as f:
            size = f.size
            first = 0 if start is None else (max(0, size + start) if start < 0 else start)
            last = size if end is None else (max(0, size + end) if end < 0 else min(end, size))
            if first == 0 and last == size:
                return await f.read()  # the whole file, checked against its CRC-32C
            return await self._read_range(f, first, last)

    async def _pipe_file(
        self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any
    ) -> None:
        writer = await self._open_writer(path, overwrite=mode != "create")
        try:
            await writer.write(value)
        except BaseException:
            await writer.discard()
            raise
        await writer.aclose()

    async def _put_file(
        self,
        lpath: str,
        rpath: str,
        callback: Callback = DEFAULT_CALLBACK,
        mode: str = "overwrite",
        **kwargs: Any,
    ) -> None:
        if await asyncio.to_thread(os.path.isdir, lpath):
            await self._makedirs(rpath, exist_ok=True)
            return
        client = await self._client()
        try:
            await client.upload(
                lpath,
                remote_of(self._strip_protocol(rpath)),
                overwrite=mode != "create",
                config=self.transfer_config,
                progress=_progress_to(callback),
            )
        except UploadError as err:
            _raise_first_failure(err.result, err)

    async def _get_file(
        self, rpath: str, lpath: str, callback: Callback = DEFAULT_CALLBACK, **kwargs: Any
    ) -> None:
        if await self._isdir(rpath):
            os.makedirs(lpath, exist_ok=True)
            return
        client = await self._client()
        try:
            await client.download(
                remote_of(self._strip_protocol(rpath)),
                lpath,
                overwrite=True,
                config=self.transfer_config,
                progress=_progress_to(callback),
            )
        except DownloadError as err:
            _raise_first_failure(err.result, err)

    async def _cp_file(self, path1: str, path2: str, *, move: bool = False, **kwargs: Any) -> None:
        try:
            info = await self._info(path1)
        except FileNotFoundError:
            # A move runs its entries concurrently: a directory whose files the others moved
            # first has vanished from the source, and is already at the destination.
            if move and await self._isdir(path2):
                return
            raise
        if info["type"] == "directory":
            await self._makedirs(path2, exist_ok=True)
            return
        client = await self._client()
        src, dest = remote_of(self._strip_protocol(path1)), remote_of(self._strip_protocol(path2))
        if move and src.split("/")[1] == dest.split("/")[1]:
            await client.move(src, dest, overwrite=True)  # a rename: no bytes move
            return
        async with (await self._path(path1)).open("rb", buffer_size=1) as reader:
            writer = await self._open_writer(path2)
            try:
                while chunk := await reader.read(_COPY_STEP):
                    await writer.write(chunk)
            except BaseException:
                await writer.discard()
                raise
            await writer.aclose()
        if move:
            await client.delete(src)

    async def _mv(
        self,
        path1: Any,
        path2: Any,
        recursive: bool = False,
        maxdepth: int | None = None,
        **kw: Any,
    ) -> None:
        """Move files: within a space a rename on the server (no bytes move), else a copy."""
        if path1 == path2:
            return
        await self._copy(
            path1, path2, recursive=recursive, maxdepth=maxdepth, on_error="raise", move=True
        )
        with contextlib.suppress(FileNotFoundError):  # what is left of the source: its directories
            await self._rm(path1, recursive=recursive)

    def mv(self, path1: Any, path2: Any, recursive: bool = False, **kwargs: Any) -> None:
        """Move files or trees (see :meth:`_mv`)."""
        sync(self.loop, self._mv, path1, path2, recursive=recursive, **kwargs)

    # -- the namespace -------------------------------------------------------------------------

    async def _rm_file(self, path: str, **kwargs: Any) -> None:
        client = await self._client()
        await client.delete(remote_of(self._strip_protocol(path)))

    async def _rm(
        self,
        path: Any,
        recursive: bool = False,
        batch_size: int | None = None,
        maxdepth: int | None = None,
        **kwargs: Any,
    ) -> None:
        client = await self._client()
        paths = await self._expand_path(path, recursive=recursive, maxdepth=maxdepth)
        infos = await asyncio.gather(*(self._info_or_none(p) for p in paths))
        dirs = [
            p for p, info in zip(paths, infos, strict=True) if info and info["type"] == "directory"
        ]
        files = [p for p, info in zip(paths, infos, strict=True) if info and info["type"] == "file"]
        top = [d for d in dirs if not any(d.startswith(other + "/") for other in dirs)]
        if recursive and maxdepth is None:
            # A whole tree is one request: the server deletes it.
            for d in top:
                if "/" in d:
                    await client.delete(remote_of(d), recursive=True)
            files = [f for f in files if not any(f.startswith(d + "/") for d in top if "/" in d)]
            dirs = [d for d in dirs if "/" not in d]
        await asyncio.gather(*(client.delete(remote_of(f)) for f in files))
        for d in sorted(dirs, key=lambda d: d.count("/"), reverse=True):
            if "/" not in d:
                continue  # a space's root is not removed with its files
            with contextlib.suppress(FileNotFoundError):  # implicit: gone with its last file
                await client.rmdir(remote_of(d))

    async def _info_or_none(self, path: str) -> dict[str, Any] | None:
        try:
            return await self._info(path)
        except FileNotFoundError:
            return None

    async def _mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        path = self._strip_protocol(path)
        if await self._exists(path):
            raise FileExistsError(path)
        await self._makedirs(path, exist_ok=True) if create_parents else await self._mkdir_one(path)

    async def _makedirs(self, path: str, exist_ok: bool = False) -> None:
        path = self._strip_protocol(path)
        if not exist_ok and await self._exists(path):
            raise FileExistsError(path)
        space, _, rest = path.partition("/")
        parts = rest.split("/") if rest else []
        await self._mkdir_one(space)
        for i in range(1, len(parts) + 1):
            await self._mkdir_one(fs_name(space, "/".join(parts[:i])))

    async def _mkdir_one(self, path: str) -> None:
        client = await self._client()
        if "/" in path:
            await client.mkdir(remote_of(path), exist_ok=True)
            return
        try:  # a name without a slash is a space
            await client.get_space(path)
        except FileNotFoundError:
            await client.create_space(path)

    async def _rmdir(self, path: str) -> None:
        client = await self._client()
        await client.rmdir(remote_of(self._strip_protocol(path)))

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> JetrawFile:
        kwargs.pop("autocommit", None)
        if mode == "xb" and self.exists(path):
            raise FileExistsError(path)
        return JetrawFile(self, path, mode, **kwargs)


async def _file_infos(entries: Any) -> Any:
    """The ``info`` of the files of a recursive listing (it holds explicit directories too)."""
    async for entry in entries:
        if isinstance(entry, RemoteFile):
            yield entry_info(entry)


def _progress_to(callback: Callback) -> Any:
    if callback is DEFAULT_CALLBACK:
        return None

    def report(event: ProgressEvent) -> None:
        callback.set_size(event.bytes_total)
        callback.absolute_update(event.bytes_done)

    return report


def _raise_first_failure(result: TransferResult, err: Exception) -> None:
    for failed in result.failed:
        if isinstance(failed.error, Exception):
            raise failed.error from err
    raise err


def _close_clients(clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any]) -> None:
    """At garbage collection or exit: close the clients whose loops still run (fire and forget)."""
    try:
        current: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        current = None
    for loop, client in list(clients.items()):
        if loop.is_running() and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                closing = asyncio.run_coroutine_threadsafe(client.aclose(), loop)
            if loop is not current:  # at exit: let it finish before the loop's thread dies
                with contextlib.suppress(Exception):
                    closing.result(timeout=5)
