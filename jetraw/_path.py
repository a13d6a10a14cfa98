"""``AsyncJetrawPath``: a remote path, ``/space/dir/file``, with pathlib's API, async.

It wraps a :class:`~pathlib.PurePosixPath` rather than subclassing one: on Python 3.10/3.11 a
subclass loses extra state (the client) through ``/`` and ``parent``.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import AsyncIterator
from pathlib import Path, PurePosixPath
from typing import Any, Literal, overload

from jetraw._api import RemoteDirectory, RemoteFile
from jetraw._client import AsyncClient
from jetraw._default_client import get_default_client
from jetraw._exceptions import InvalidPathError, RemotePathNotFoundError, SpaceNotFoundError
from jetraw._path_io import AsyncJetrawReader, AsyncJetrawWriter
from jetraw._path_text import AsyncJetrawTextWriter, OpenTextReader, check_mode
from jetraw._transfer import DownloadResult, TransferConfig

__all__ = ["AsyncJetrawPath"]


def _glob_match(pattern: list[str], parts: list[str]) -> bool:
    """Match path segments against glob segments, ``**`` standing for any number of them."""
    if not pattern:
        return not parts
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(_glob_match(rest, parts[i:]) for i in range(len(parts) + 1))
    return bool(parts) and fnmatch.fnmatchcase(parts[0], head) and _glob_match(rest, parts[1:])


class AsyncJetrawPath:
    """A file or directory in a space of the Jetraw platform, like :class:`pathlib.Path`, async.

    ``AsyncJetrawPath("/space/dir/file.tif")``: the first segment is the space. Pure operations
    (``/``, ``name``, ``parent``...) work offline and keep the client; I/O methods are coroutines
    (``await p.exists()``), listings are async iterators (``async for q in p.iterdir()``), and
    :meth:`open` returns an async context manager.

    Args:
        *segments: The path, absolute (``/space/...``), possibly in pieces.
        client: The client to use; the default client (:func:`jetraw.aio.get_default_client`)
            when ``None``.

    Raises:
        InvalidPathError: The path is not absolute, names no space, or has ``..`` segments.
    """

    __slots__ = ("_client", "_path")
    _path: PurePosixPath
    _client: AsyncClient | None

    def __init__(
        self, *segments: str | PurePosixPath | AsyncJetrawPath, client: AsyncClient | None = None
    ) -> None:
        pieces = [s._path if isinstance(s, AsyncJetrawPath) else s for s in segments]
        path = PurePosixPath(*pieces) if pieces else PurePosixPath("/")
        if not path.is_absolute() or len(path.parts) < 2:
            raise InvalidPathError(f"A Jetraw path is '/space/...': got {str(path)!r}.")
        if ".." in path.parts:
            raise InvalidPathError(f"The path {str(path)!r} escapes its space ('..').")
        if str(path).startswith("//"):
            path = PurePosixPath("/" + str(path).lstrip("/"))
        self._path = path
        if client is None and segments and isinstance(segments[0], AsyncJetrawPath):
            client = segments[0]._client
        self._client = client

    def _new(self, path: PurePosixPath) -> AsyncJetrawPath:
        return AsyncJetrawPath(path, client=self._client)

    # -- pure operations ------------------------------------------------------------------------

    @property
    def client(self) -> AsyncClient:
        """The client used for I/O (the default client unless one was given)."""
        if self._client is not None:
            return self._client
        return get_default_client()

    @property
    def space(self) -> str:
        """The space's name (the first segment)."""
        return self._path.parts[1]

    @property
    def path_in_space(self) -> str:
        """The path inside the space, ``dir/file`` (``""`` for the space itself)."""
        return "/".join(self._path.parts[2:])

    @property
    def name(self) -> str:
        """Like ``pathlib.PurePath.name``."""
        return self._path.name

    @property
    def suffix(self) -> str:
        """Like ``pathlib.PurePath.suffix``."""
        return self._path.suffix

    @property
    def suffixes(self) -> list[str]:
        """Like ``pathlib.PurePath.suffixes``."""
        return self._path.suffixes

    @property
    def stem(self) -> str:
        """Like ``pathlib.PurePath.stem``."""
        return self._path.stem

    @property
    def parts(self) -> tuple[str, ...]:
        """Like ``pathlib.PurePath.parts``: ``("/", space, ...)``."""
        return self._path.parts

    @property
    def parent(self) -> AsyncJetrawPath:
        """Like ``pathlib.PurePath.parent``; the space itself is its own parent."""
        if len(self._path.parts) <= 2:
            return self
        return self._new(self._path.parent)

    def __truediv__(self, other: str | PurePosixPath) -> AsyncJetrawPath:
        other = PurePosixPath(other)
        if other.is_absolute():
            return self._new(other)
        return self._new(self._path / other)

    def joinpath(self, *others: str | PurePosixPath) -> AsyncJetrawPath:
        """Like ``pathlib.PurePath.joinpath``."""
        result = self
        for other in others:
            result = result / other
        return result

    def with_name(self, name: str) -> AsyncJetrawPath:
        """Like ``pathlib.PurePath.with_name``."""
        if len(self._path.parts) <= 2:
            raise InvalidPathError(f"{self} is a space: it has no name to replace.")
        return self._new(self._path.with_name(name))

    def with_suffix(self, suffix: str) -> AsyncJetrawPath:
        """Like ``pathlib.PurePath.with_suffix``."""
        return self._new(self._path.with_suffix(suffix))

    def with_stem(self, stem: str) -> AsyncJetrawPath:
        """Like ``pathlib.PurePath.with_stem``."""
        return self.with_name(stem + self.suffix)

    def relative_to(self, other: str | AsyncJetrawPath) -> PurePosixPath:
        """Like ``pathlib.PurePath.relative_to``; the result is a relative ``PurePosixPath``."""
        base = other._path if isinstance(other, AsyncJetrawPath) else PurePosixPath(other)
        return self._path.relative_to(base)

    def is_relative_to(self, other: str | AsyncJetrawPath) -> bool:
        """Like ``pathlib.PurePath.is_relative_to``."""
        base = other._path if isinstance(other, AsyncJetrawPath) else PurePosixPath(other)
        return self._path == base or base in self._path.parents

    def match(self, pattern: str) -> bool:
        """Like ``pathlib.PurePath.match``."""
        return self._path.match(pattern)

    def as_posix(self) -> str:
        """The path as a string, ``/space/dir/file``."""
        return str(self._path)

    def __str__(self) -> str:
        return str(self._path)

    def __repr__(self) -> str:
        return f"AsyncJetrawPath({str(self._path)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AsyncJetrawPath):
            return NotImplemented
        return self._path == other._path

    def __hash__(self) -> int:
        return hash(("jetraw", self._path))

    def __lt__(self, other: AsyncJetrawPath) -> bool:
        return self._path < other._path

    def __reduce__(self) -> tuple[Any, ...]:
        # The path and the client's configuration only (the client pickles without secrets
        # or connections if it supports pickling at all; otherwise the default client is used).
        client = self._client
        try:
            import pickle

            pickle.dumps(client)
        except Exception:
            client = None
        return (_rebuild, (str(self._path), client))

    # -- I/O ------------------------------------------------------------------------------------

    def _remote(self) -> str:
        return str(self._path)

    async def stat(self) -> RemoteFile | RemoteDirectory:
        """Like ``pathlib.Path.stat``, but async: the file's size, checksum, metadata, times.

        Returns:
            A :class:`RemoteFile` or a :class:`RemoteDirectory`.

        Raises:
            RemotePathNotFoundError: Nothing is there.
            SpaceNotFoundError: The space does not exist.
        """
        return await self.client.stat(self._remote())

    async def exists(self) -> bool:
        """Like ``pathlib.Path.exists``, but async (``False`` in a space that does not exist)."""
        try:
            await self.stat()
        except (RemotePathNotFoundError, SpaceNotFoundError):
            return False
        return True

    async def is_file(self) -> bool:
        """Like ``pathlib.Path.is_file``, but async."""
        try:
            return isinstance(await self.stat(), RemoteFile)
        except (RemotePathNotFoundError, SpaceNotFoundError):
            return False

    async def is_dir(self) -> bool:
        """Like ``pathlib.Path.is_dir``, but async (a space is a directory)."""
        try:
            return isinstance(await self.stat(), RemoteDirectory)
        except (RemotePathNotFoundError, SpaceNotFoundError):
            return False

    async def iterdir(self) -> AsyncIterator[AsyncJetrawPath]:
        """Like ``pathlib.Path.iterdir``, but an async iterator.

        Yields:
            The files and directories directly inside this directory.
        """
        async for entry in self.client.list_files(self._remote()):
            yield self._new(PurePosixPath("/", self.space, entry.path))

    async def _all_below(self) -> AsyncIterator[tuple[str, bool]]:
        """Every (relative path, is_dir) below this directory, directories derived from files."""
        base = self.path_in_space
        cut = len(base) + 1 if base else 0
        seen: set[str] = set()
        async for entry in self.client.list_files(self._remote(), recursive=True):
            rel = entry.path[cut:]
            pieces = rel.split("/")
            for depth in range(1, len(pieces)):
                directory = "/".join(pieces[:depth])
                if directory not in seen:
                    seen.add(directory)
                    yield directory, True
            is_dir = isinstance(entry, RemoteDirectory)
            if is_dir and rel in seen:
                continue
            seen.add(rel)
            yield rel, is_dir

    async def glob(self, pattern: str) -> AsyncIterator[AsyncJetrawPath]:
        """Like ``pathlib.Path.glob``, but an async iterator (``**`` spans directories).

        Args:
            pattern: A relative pattern, e.g. ``"*.tif"`` or ``"**/raw/*.tif"``.

        Yields:
            The matching files and directories below this one.
        """
        if not pattern or pattern.startswith("/"):
            raise InvalidPathError(f"A glob pattern is relative and non-empty: got {pattern!r}.")
        wanted = [p for p in pattern.split("/") if p not in ("", ".")]
        dirs_only = pattern.endswith("/")
        async for rel, is_dir in self._all_below():
            if dirs_only and not is_dir:
                continue
            if _glob_match(wanted, rel.split("/")):
                yield self / rel

    def rglob(self, pattern: str) -> AsyncIterator[AsyncJetrawPath]:
        """Like ``pathlib.Path.rglob``, but an async iterator: :meth:`glob` of ``**/pattern``."""
        return self.glob(f"**/{pattern}")

    async def walk(
        self, top_down: bool = True
    ) -> AsyncIterator[tuple[AsyncJetrawPath, list[str], list[str]]]:
        """Like ``pathlib.Path.walk`` (Python 3.12), but an async iterator.

        Yields:
            ``(directory, dirnames, filenames)`` for this directory and each one below it.
        """
        tree: dict[str, tuple[list[str], list[str]]] = {"": ([], [])}
        async for rel, is_dir in self._all_below():
            parent, _, name = rel.rpartition("/")
            tree.setdefault(parent, ([], []))[0 if is_dir else 1].append(name)
            if is_dir:
                tree.setdefault(rel, ([], []))
        order: list[str] = []

        def visit(rel: str) -> None:
            if top_down:
                order.append(rel)
            for name in sorted(tree[rel][0]):
                visit(f"{rel}/{name}" if rel else name)
            if not top_down:
                order.append(rel)

        visit("")
        for rel in order:
            dirnames, filenames = tree[rel]
            yield (self / rel if rel else self), sorted(dirnames), sorted(filenames)

    @overload
    def open(
        self,
        mode: Literal["r", "rt"] = "r",
        buffering: int = ...,
        encoding: str | None = ...,
        errors: str | None = ...,
        newline: str | None = ...,
        *,
        buffer_size: int = ...,
        overwrite: bool = ...,
        config: TransferConfig | None = ...,
    ) -> OpenTextReader: ...

    @overload
    def open(
        self,
        mode: Literal["w", "wt", "x", "xt"],
        buffering: int = ...,
        encoding: str | None = ...,
        errors: str | None = ...,
        newline: str | None = ...,
        *,
        buffer_size: int = ...,
        overwrite: bool = ...,
        config: TransferConfig | None = ...,
    ) -> AsyncJetrawTextWriter: ...

    @overload
    def open(
        self,
        mode: Literal["rb"],
        buffering: int = ...,
        encoding: None = ...,
        errors: None = ...,
        newline: None = ...,
        *,
        buffer_size: int = ...,
        overwrite: bool = ...,
        config: TransferConfig | None = ...,
    ) -> _OpenReader: ...

    @overload
    def open(
        self,
        mode: Literal["wb", "xb"],
        buffering: int = ...,
        encoding: None = ...,
        errors: None = ...,
        newline: None = ...,
        *,
        buffer_size: int = ...,
        overwrite: bool = ...,
        config: TransferConfig | None = ...,
    ) -> AsyncJetrawWriter: ...

    def open(
        self,
        mode: str = "r",
        buffering: int = -1,
        encoding: str | None = None,
        errors: str | None = None,
        newline: str | None = None,
        *,
        buffer_size: int = 1 << 20,
        overwrite: bool = True,
        config: TransferConfig | None = None,
    ) -> OpenTextReader | AsyncJetrawTextWriter | _OpenReader | AsyncJetrawWriter:
        """Like ``pathlib.Path.open``, but an async context manager.

        ``"rb"``: a seekable reader whose reads are ranged requests to storage, buffered by
        ``buffer_size``. ``"wb"``: a writer; the file appears, complete, when it is closed
        (``"xb"``: and the file must not exist). ``"r"``/``"rt"``, ``"w"``/``"wt"``,
        ``"x"``/``"xt"``: the same in text mode, decoded and encoded incrementally, with
        ``newline`` as in ``open()``; ``encoding=None`` is UTF-8 (the same bytes read the same
        on every machine, whatever its locale).

        Args:
            mode: ``"r"`` (the default), ``"rt"``, ``"w"``, ``"wt"``, ``"x"``, ``"xt"``, ``"rb"``,
                ``"wb"`` or ``"xb"``.
            buffering: Text mode: the characters' read chunk in bytes (``-1``: 64 KiB).
            encoding: Text mode: the encoding (``None``: UTF-8).
            errors: Text mode: how encoding errors are handled (``None``: ``"strict"``).
            newline: Text mode: ``None``, ``""``, LF, CR or CR LF, as for ``open()``.
            buffer_size: Read-ahead of the reader, in bytes.
            overwrite: Writing: replace an existing file (atomically); ``"x"`` modes never do.
            config: Writing: part sizes and concurrency of the upload.

        Returns:
            An async context manager yielding the file object.

        Raises:
            ValueError: A mode ``open()`` refuses, ``"a"`` or ``"+"`` (files are immutable), or
                ``encoding``/``errors``/``newline`` with a binary mode.
        """
        kind, text = check_mode(mode, buffering, encoding, errors, newline)
        if kind == "r":
            reader = _OpenReader(self, buffer_size)
            return reader if text is None else OpenTextReader(reader, text)
        writer = AsyncJetrawWriter(
            self.client._checked_transfers,
            self._remote(),
            overwrite=overwrite and kind == "w",
            config=config,
        )
        return writer if text is None else AsyncJetrawTextWriter(writer, text)

    async def read_bytes(self) -> bytes:
        """Like ``pathlib.Path.read_bytes``, but async; the checksum is verified.

        Raises:
            RemotePathNotFoundError: No such file.
            IntegrityError: The stored bytes do not match the recorded checksum.
        """
        async with self.open("rb") as f:
            data = await f.read()
        return data

    async def read_text(self, encoding: str | None = None, errors: str | None = None) -> str:
        """Like ``pathlib.Path.read_text``, but async: :meth:`open` ``"r"`` (UTF-8 by default)."""
        async with self.open("r", encoding=encoding, errors=errors) as f:
            text = await f.read()
        return text

    async def write_bytes(self, data: bytes | bytearray | memoryview) -> int:
        """Like ``pathlib.Path.write_bytes``, but async: replaces the file atomically.

        Returns:
            The number of bytes written.
        """
        async with self.open("wb") as f:
            n = await f.write(data)
        return n

    async def write_text(
        self,
        data: str,
        encoding: str | None = None,
        errors: str | None = None,
        newline: str | None = None,
    ) -> int:
        """Like ``pathlib.Path.write_text``, but async: :meth:`open` ``"w"`` (UTF-8 by default).

        Returns:
            The number of characters written.
        """
        async with self.open("w", encoding=encoding, errors=errors, newline=newline) as f:
            n = await f.write(data)
        return n

    async def download(
        self,
        to: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        config: TransferConfig | None = None,
    ) -> Path:
        """Download this file (or directory tree) to a local path.

        Like :func:`~jetraw.aio.download`, an existing local file is not replaced unless
        ``overwrite=True``.

        Args:
            to: The local file, or an existing directory to download into.
            overwrite: Replace a local file that exists (otherwise that file fails with
                :class:`~jetraw.LocalPathExistsError`, inside a :class:`~jetraw.DownloadError`).
            config: Part sizes and concurrency.

        Returns:
            The local path written (the file, or the directory of a tree).
        """
        result: DownloadResult = await self.client.download(
            self._remote(), to, overwrite=overwrite, config=config
        )
        if len(result.files) == 1 and not await self.is_dir():
            return result.files[0].local
        return Path(to)

    async def unlink(self, missing_ok: bool = False) -> None:
        """Like ``pathlib.Path.unlink``, but async."""
        try:
            await self.client.delete(self._remote())
        except RemotePathNotFoundError:
            if not missing_ok:
                raise

    async def rename(self, target: str | AsyncJetrawPath) -> AsyncJetrawPath:
        """Like ``pathlib.Path.rename``, but async and within the space (no bytes move).

        Args:
            target: The new path, absolute (``/space/...``) or relative to this file's parent.

        Returns:
            The new path.
        """
        new = target if isinstance(target, AsyncJetrawPath) else self.parent / target
        await self.client.move(self._remote(), str(new), overwrite=False)
        return self._new(new._path)

    async def replace(self, target: str | AsyncJetrawPath) -> AsyncJetrawPath:
        """Like ``pathlib.Path.replace``, but async: :meth:`rename` that overwrites."""
        new = target if isinstance(target, AsyncJetrawPath) else self.parent / target
        await self.client.move(self._remote(), str(new), overwrite=True)
        return self._new(new._path)

    async def mkdir(self, parents: bool = False, exist_ok: bool = False) -> None:
        """Like ``pathlib.Path.mkdir``, but async (directories are explicit entries).

        ``parents`` is accepted for symmetry: parent directories always exist implicitly.
        """
        await self.client.mkdir(self._remote(), exist_ok=exist_ok)

    async def rmdir(self) -> None:
        """Like ``pathlib.Path.rmdir``, but async.

        Raises:
            DirectoryNotEmptyError: The directory has entries.
        """
        await self.client.rmdir(self._remote())


class _OpenReader:
    """The awaitable-free context manager :meth:`AsyncJetrawPath.open` returns for ``"rb"``."""

    def __init__(self, path: AsyncJetrawPath, buffer_size: int) -> None:
        self._path = path
        self._buffer_size = buffer_size
        self._reader: AsyncJetrawReader | None = None

    async def __aenter__(self) -> AsyncJetrawReader:
        entry = await self._path.stat()
        if not isinstance(entry, RemoteFile):
            raise IsADirectoryError(f"{self._path} is a directory.")
        storage = await self._path.client._checked_transfers().storage_for(self._path.space)
        self._reader = AsyncJetrawReader(entry, storage, buffer_size=self._buffer_size)
        return self._reader

    async def __aexit__(self, *exc: object) -> None:
        if self._reader is not None:
            await self._reader.aclose()


def _rebuild(path: str, client: AsyncClient | None) -> AsyncJetrawPath:
    return AsyncJetrawPath(path, client=client)
