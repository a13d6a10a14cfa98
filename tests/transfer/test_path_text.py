"""Text mode of AsyncJetrawPath.open / JetrawPath.open, on a local space and an S3 (moto) space."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest

from jetraw._exceptions import RemotePathExistsError
from jetraw._path_text import DEFAULT_CHUNK
from jetraw.aio import AsyncJetrawPath

from .conftest import SpaceUnderTest

TEXT = "héllo wörld €\nzweite Zeile 日本語\n"
CRLF = b"one\r\ntwo\rthree\nfour\r\n"


def _reference(data: bytes, newline: str | None, **kw: Any) -> list[str]:
    """What ``io.TextIOWrapper`` (so ``open()``) reads from the same bytes."""
    return list(io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", newline=newline, **kw))


def _big() -> bytes:
    # A 3-byte "€" straddles the first chunk boundary; many lines, several chunks in all.
    head = b"a" * (DEFAULT_CHUNK - 1) + "€\n".encode()
    body = "".join(f"Zeile {i}: grüße €{i}\r\n" for i in range(8000)).encode()
    return head + body


@pytest.mark.anyio
async def test_async_text_mode(space: SpaceUnderTest, client: Any) -> None:
    p = AsyncJetrawPath(f"/{space.name}/t/notes.txt", client=client)
    async with p.open("w", encoding="utf-8") as f:
        assert await f.write(TEXT) == len(TEXT)
    assert await p.read_bytes() == TEXT.encode()
    async with p.open("r", encoding="utf-8") as f:
        assert [line async for line in f] == TEXT.splitlines(keepends=True)
    async with p.open("rt") as f:  # encoding=None is UTF-8
        assert await f.readline() == "héllo wörld €\n"
        assert await f.read(3) == "zwe"
        assert await f.read() == "ite Zeile 日本語\n"
        assert await f.read() == ""
    assert await p.read_text() == TEXT
    assert await p.write_text("a\nb", newline="\r\n") == 3
    assert await p.read_bytes() == b"a\r\nb"
    assert await p.read_text(encoding="latin-1") == "a\nb"

    q = AsyncJetrawPath(f"/{space.name}/t/crlf.txt", client=client)
    await q.write_bytes(CRLF)
    for newline in (None, "", "\n", "\r", "\r\n"):
        async with q.open("r", newline=newline) as f:
            assert [line async for line in f] == _reference(CRLF, newline), newline
        for chunk in (3, 4):  # chunks end after a lone "\r" (3), between "\r" and "\n" (4)
            async with q.open("r", newline=newline, buffering=chunk) as f:
                assert await f.readlines() == _reference(CRLF, newline), (newline, chunk)
    async with q.open("r", newline=None) as f:
        assert await f.read() == "one\ntwo\nthree\nfour\n"
    async with q.open("r", newline="", buffering=4) as f:
        assert await f.readline(2) == "on"
        assert await f.readline(10) == "e\r\n"
        assert await f.read(5) == "two\rt"
        assert await f.readline() == "hree\n"
        assert await f.read() == "four\r\n"
        assert await f.readline() == ""
    empty = AsyncJetrawPath(f"/{space.name}/t/empty.txt", client=client)
    await empty.write_text("")
    async with empty.open() as f:
        assert [line async for line in f] == []
        assert await f.read() == ""

    big = _big()
    r = AsyncJetrawPath(f"/{space.name}/t/big.txt", client=client)
    await r.write_bytes(big)
    expected = _reference(big, None)
    async with r.open("r", encoding="utf-8") as f:
        assert [line async for line in f] == expected
    async with r.open("r", buffering=5, buffer_size=1000) as f:  # every char split somewhere
        assert [line async for line in f] == expected


@pytest.mark.anyio
async def test_async_text_errors(space: SpaceUnderTest, client: Any) -> None:
    p = AsyncJetrawPath(f"/{space.name}/bad.txt", client=client)
    await p.write_bytes(b"ok\n\xff\xfe bad\n")
    with pytest.raises(UnicodeDecodeError):
        async with p.open("r", encoding="utf-8") as f:
            await f.read()
    with pytest.raises(UnicodeDecodeError):
        await p.read_text()
    async with p.open("r", errors="replace") as f:
        assert [line async for line in f] == ["ok\n", "\ufffd\ufffd bad\n"]
    with pytest.raises(UnicodeEncodeError):
        await p.write_text("€", encoding="ascii")
    assert await p.read_bytes() == b"ok\n\xff\xfe bad\n"  # the failed write changed nothing

    new = AsyncJetrawPath(f"/{space.name}/never.txt", client=client)

    async def write_then_fail() -> None:
        async with new.open("w") as f:
            await f.write("x" * 100_000)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await write_then_fail()
    assert not await new.exists()
    async with new.open("x") as f:
        await f.write("first")
    with pytest.raises(RemotePathExistsError):
        async with new.open("xt") as f:
            await f.write("second")  # pragma: no cover
    assert await new.read_text() == "first"


@pytest.mark.parametrize(
    ("mode", "kwargs", "message"),
    [
        ("rb", {"encoding": "utf-8"}, "binary mode doesn't take an encoding argument"),
        ("wb", {"newline": ""}, "binary mode doesn't take an newline argument"),
        ("rtb", {}, "invalid mode: 'rtb'"),
        ("rr", {}, "invalid mode: 'rr'"),
        ("q", {}, "invalid mode: 'q'"),
        ("rw", {}, "invalid mode: 'rw'"),
        ("a", {}, "no 'a' or '\\+'"),
        ("r+", {}, "no 'a' or '\\+'"),
        ("r", {"newline": "x"}, "illegal newline value: 'x'"),
        ("r", {"buffering": 0}, "can't have unbuffered text I/O"),
    ],
)
def test_bad_modes(mode: str, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AsyncJetrawPath("/s/f.txt").open(mode, **kwargs)


def test_unknown_encoding() -> None:
    with pytest.raises(LookupError):
        AsyncJetrawPath("/s/f.txt").open("r", encoding="no-such-codec")


@pytest.fixture
def sync_client(jetraw_platform: Any) -> Iterator[Any]:
    from jetraw_sync import Client

    client = Client(jetraw_platform.api_key, server=jetraw_platform.url)
    try:
        yield client
    finally:
        client.close()


def test_sync_text_mode(space: SpaceUnderTest, sync_client: Any) -> None:
    from jetraw_sync import JetrawPath

    p = JetrawPath(f"/{space.name}/s/notes.txt", client=sync_client)
    with p.open("w", encoding="utf-8") as f:
        assert f.write(TEXT) == len(TEXT)
        f.writelines(["x\n", "ü\n"])
    assert p.read_bytes() == (TEXT + "x\nü\n").encode()
    with p.open("r", encoding="utf-8") as f:
        assert next(f) == "héllo wörld €\n"
        assert [line for line in f] == ["zweite Zeile 日本語\n", "x\n", "ü\n"]
        with pytest.raises(StopIteration):
            next(f)
    with p.open() as f:  # "r" is the default, as for pathlib
        assert f.readline() == "héllo wörld €\n"
        assert f.readlines() == ["zweite Zeile 日本語\n", "x\n", "ü\n"]
    assert p.read_text() == TEXT + "x\nü\n"
    assert p.write_text("a\nb", encoding="utf-16", newline="\r\n") == 3
    assert p.read_bytes() == "a\r\nb".encode("utf-16")
    assert p.read_text(encoding="utf-16") == "a\nb"

    q = JetrawPath(f"/{space.name}/s/crlf.txt", client=sync_client)
    q.write_bytes(CRLF)
    for newline in (None, "", "\n"):
        with q.open("r", newline=newline, buffering=4) as f:
            assert list(f) == _reference(CRLF, newline), newline

    big = _big()
    r = JetrawPath(f"/{space.name}/s/big.txt", client=sync_client)
    r.write_bytes(big)
    with r.open("r") as f:
        assert list(f) == _reference(big, None)

    bad = JetrawPath(f"/{space.name}/s/bad.txt", client=sync_client)
    bad.write_bytes(b"\xe2\x82 ok")  # a truncated "€"
    with pytest.raises(UnicodeDecodeError), bad.open("r") as f:
        f.read()
    assert bad.read_text(errors="replace") == "\ufffd ok"

    never = JetrawPath(f"/{space.name}/s/never.txt", client=sync_client)

    def write_then_fail() -> None:
        with never.open("wt") as f:
            f.write("partial")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        write_then_fail()
    assert not never.exists()
    with pytest.raises(ValueError, match="binary mode doesn't take an encoding argument"):
        never.open("rb", encoding="utf-8")


def test_sync_lines_from_a_buffered_chunk_need_no_loop_call(
    space: SpaceUnderTest, sync_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Lines already decoded are returned on the caller's thread: the loop is called once per
    # chunk, not once per line (it was ~30 µs per line).
    from jetraw_sync import JetrawPath, _runtime

    big = _big()
    r = JetrawPath(f"/{space.name}/s/lines.txt", client=sync_client)
    r.write_bytes(big)
    calls = 0
    run = _runtime.run

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return run(*args, **kwargs)

    monkeypatch.setattr(_runtime, "run", counting)
    with r.open("r", newline="") as f:
        lines = [f.readline(), *f]
    assert lines == _reference(big, "")
    chunks = len(big) // DEFAULT_CHUNK + 1
    assert calls <= 2 * chunks + 4, (calls, len(lines))
    with r.open("r") as f:  # readline(size) and a closed file still go through the loop
        assert f.readline(3) == "aaa"
        f.close()
        with pytest.raises(ValueError, match="closed file"):
            next(f)
