"""S3Storage.iter_range hands over aiohttp's network chunks as received (no joining copy)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from jetraw._exceptions import StorageConnectionError
from jetraw._storage import S3Storage

pytestmark = pytest.mark.anyio


class _Content:
    def __init__(self, chunks: list[tuple[bytes, bool]], error: BaseException | None = None):
        self.chunks, self.error = chunks, error

    async def readchunk(self) -> tuple[bytes, bool]:
        if not self.chunks and self.error is not None:
            raise self.error
        return self.chunks.pop(0) if self.chunks else (b"", False)


class _Body:
    def __init__(self, content: _Content) -> None:
        self._raw_stream = SimpleNamespace(content=content)
        self.closed = False

    async def __aenter__(self) -> _Body:
        return self

    async def __aexit__(self, *exc: object) -> None:
        pass

    async def read(self, n: int) -> bytes:  # the joining path must not be taken
        raise AssertionError("read(n) used")

    def close(self) -> None:
        self.closed = True


def _storage(body: _Body, monkeypatch: pytest.MonkeyPatch) -> S3Storage:
    storage = S3Storage(bucket="b", endpoint_url="http://127.0.0.1:9", region="us-east-1")

    async def call(what: str, operation: str, **kwargs: Any) -> Any:
        assert (operation, kwargs["Range"]) == ("get_object", "bytes=10-17")
        return {"Body": body}

    monkeypatch.setattr(storage, "_call", call)
    return storage


async def test_chunks_as_received_and_chunk_boundaries_are_not_eof(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = b"abcd", b"efgh"
    # (b"", True) marks the end of one HTTP chunk of a chunked answer: more follows.
    body = _Body(_Content([(first, False), (b"", True), (second, True)]))
    got = [c async for c in _storage(body, monkeypatch).iter_range("k", 10, 8)]
    assert got == [first, second]
    assert got[0] is first  # the very object aiohttp received: no copy
    assert body.closed


async def test_a_dropped_body_is_a_storage_connection_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import aiohttp

    body = _Body(_Content([(b"abcd", False)], aiohttp.ClientPayloadError("cut")))
    with pytest.raises(StorageConnectionError):
        _ = [c async for c in _storage(body, monkeypatch).iter_range("k", 10, 8)]
    assert body.closed
