"""A toy ``AsyncJetrawPath``."""

from __future__ import annotations

import dataclasses
import posixpath
from collections.abc import AsyncIterator
from typing import Literal, overload

from toy_aio._client import AsyncClient, get_default_client


@dataclasses.dataclass(frozen=True)
class Stat:
    """A file's size."""

    size: int


class AsyncReader:
    """A readable remote file; ``async with p.open("rb") as f: await f.read()``."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0
        self.closed = False

    async def __aenter__(self) -> AsyncReader:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def read(self, size: int = -1) -> bytes:
        """Read up to ``size`` bytes (all if negative).

        Args:
            size: How many bytes.

        Returns:
            The bytes read.
        """
        end = len(self._data) if size < 0 else self._pos + size
        chunk, self._pos = self._data[self._pos : end], min(end, len(self._data))
        return chunk

    async def aclose(self) -> None:
        """Close the file."""
        self.closed = True


class AsyncJetrawPath:
    """A path in a space, like :class:`pathlib.PurePosixPath`, async.

    I/O methods are coroutines (``await p.exists()``), listings are async iterators
    (``async for q in p.iterdir()``).

    Args:
        path: ``/space/dir/name``.
        client: The client (default: the default client).
    """

    def __init__(self, path: str, *, client: AsyncClient | None = None) -> None:
        self._path = posixpath.normpath(path)
        self._client = client

    @property
    def client(self) -> AsyncClient:
        """The client this path uses."""
        return self._client if self._client is not None else get_default_client()

    def __str__(self) -> str:
        return self._path

    def __repr__(self) -> str:
        return f"AsyncJetrawPath({self._path!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AsyncJetrawPath):
            return NotImplemented
        return self._path == other._path

    def __hash__(self) -> int:
        return hash(self._path)

    def __truediv__(self, name: str) -> AsyncJetrawPath:
        return AsyncJetrawPath(posixpath.join(self._path, name), client=self._client)

    @property
    def name(self) -> str:
        """The final component."""
        return posixpath.basename(self._path)

    @property
    def parent(self) -> AsyncJetrawPath:
        """The logical parent."""
        return AsyncJetrawPath(posixpath.dirname(self._path), client=self._client)

    def with_name(self, name: str) -> AsyncJetrawPath:
        """A path with the name changed.

        Args:
            name: The new name.
        """
        return self.parent / name

    async def exists(self) -> bool:
        """Like ``pathlib.Path.exists``, but async."""
        return self._path in self.client.store()

    async def write_bytes(self, data: bytes) -> int:
        """Write ``data`` to the file.

        Args:
            data: The bytes.

        Returns:
            How many bytes were written.
        """
        self.client._check()
        self.client.store()[self._path] = data
        return len(data)

    async def stat(self) -> Stat:
        """The file's size."""
        return Stat(len(self.client.store()[self._path]))

    async def iterdir(self) -> AsyncIterator[AsyncJetrawPath]:
        """The entries of the directory, like ``async for p in path.iterdir()``."""
        prefix = self._path.rstrip("/") + "/"
        for key in sorted(self.client.store()):
            if key.startswith(prefix) and "/" not in key[len(prefix) :]:
                yield AsyncJetrawPath(key, client=self._client)

    async def children(self) -> list[AsyncJetrawPath]:
        """All entries at once."""
        return [p async for p in self.iterdir()]

    async def sibling(self, name: str) -> AsyncJetrawPath | None:
        """The sibling called ``name`` if it exists."""
        other = self.with_name(name)
        return other if await other.exists() else None

    async def same_file(self, other: AsyncJetrawPath | str) -> bool:
        """Whether ``other`` is the same path."""
        return str(other) == self._path

    @overload
    def open(self, mode: Literal["rb"]) -> AsyncReader: ...
    @overload
    def open(self, mode: Literal["r"]) -> AsyncReader: ...
    def open(self, mode: str = "rb") -> AsyncReader:
        """Open the file for reading: ``async with p.open("rb") as f: await f.read()``.

        Args:
            mode: Only ``"rb"``.
        """
        return AsyncReader(self.client.store()[self._path])
