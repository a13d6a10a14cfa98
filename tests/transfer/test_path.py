"""AsyncJetrawPath: pure operations offline, I/O against the reference platform."""

from __future__ import annotations

import io
import pickle
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from jetraw._exceptions import (
    DirectoryNotEmptyError,
    InvalidPathError,
    RemotePathExistsError,
    RemotePathNotFoundError,
)
from jetraw._transfer import TransferConfig
from jetraw.aio import AsyncJetrawPath, RemoteDirectory, RemoteFile

from .conftest import SpaceUnderTest

MiB = 1 << 20


def test_pure_operations() -> None:
    p = AsyncJetrawPath("/raw/2026/img.tar.gz")
    assert p.space == "raw"
    assert p.path_in_space == "2026/img.tar.gz"
    assert p.name == "img.tar.gz"
    assert p.suffix == ".gz"
    assert p.suffixes == [".tar", ".gz"]
    assert p.stem == "img.tar"
    assert p.parts == ("/", "raw", "2026", "img.tar.gz")
    assert p.parent == AsyncJetrawPath("/raw/2026")
    assert p.parent.parent == AsyncJetrawPath("/raw")
    assert p.parent.parent.parent == AsyncJetrawPath("/raw")
    assert p.with_name("x.tif") == AsyncJetrawPath("/raw/2026/x.tif")
    assert p.with_suffix(".zip") == AsyncJetrawPath("/raw/2026/img.tar.zip")
    assert p.relative_to("/raw") == PurePosixPath("2026/img.tar.gz")
    assert p.relative_to(AsyncJetrawPath("/raw/2026")) == PurePosixPath("img.tar.gz")
    assert p.match("*.gz")
    assert not p.match("*.tif")
    assert AsyncJetrawPath("/raw") / "a" / "b" == AsyncJetrawPath("/raw/a/b")
    assert str(AsyncJetrawPath("/raw", "a", "b")) == "/raw/a/b"
    assert repr(p) == "AsyncJetrawPath('/raw/2026/img.tar.gz')"
    assert len({p, AsyncJetrawPath("/raw/2026/img.tar.gz")}) == 1


def test_client_survives_pure_operations() -> None:
    sentinel: Any = object()
    p = AsyncJetrawPath("/raw/a/b.tif", client=sentinel)
    assert (p / "c")._client is sentinel
    assert p.parent._client is sentinel
    assert p.with_suffix(".png")._client is sentinel
    assert AsyncJetrawPath(p, "x")._client is sentinel


@pytest.mark.parametrize("bad", ["relative/path", "/", "/raw/../other", ""])
def test_invalid_paths(bad: str) -> None:
    with pytest.raises(InvalidPathError):
        AsyncJetrawPath(bad)


def test_pickle_keeps_the_path() -> None:
    p = AsyncJetrawPath("/raw/a/b.tif")
    assert pickle.loads(pickle.dumps(p)) == p


@pytest.mark.anyio
async def test_io(space: SpaceUnderTest, client: Any, tmp_path: Path) -> None:
    root = AsyncJetrawPath(f"/{space.name}", client=client)
    f = root / "dir" / "hello.txt"
    assert not await f.exists()
    assert await f.write_text("héllo") == 5
    assert await f.exists()
    assert await f.is_file()
    assert not await f.is_dir()
    assert await f.parent.is_dir()
    assert await f.read_text() == "héllo"
    info = await f.stat()
    assert isinstance(info, RemoteFile)
    assert info.size == len("héllo".encode())
    await (root / "dir" / "sub" / "deep.bin").write_bytes(b"\x00" * 10)
    await (root / "top.tif").write_bytes(b"t")
    names = sorted([q.name async for q in (root / "dir").iterdir()])
    assert names == ["hello.txt", "sub"]
    assert sorted([str(q) async for q in root.glob("*.tif")]) == [f"/{space.name}/top.tif"]
    assert sorted([q.name async for q in root.rglob("*.bin")]) == ["deep.bin"]
    assert sorted([q.name async for q in root.glob("**/*.txt")]) == ["hello.txt"]
    walked = [(str(d), dn, fn) async for d, dn, fn in root.walk()]
    assert walked == [
        (f"/{space.name}", ["dir"], ["top.tif"]),
        (f"/{space.name}/dir", ["sub"], ["hello.txt"]),
        (f"/{space.name}/dir/sub", [], ["deep.bin"]),
    ]
    moved = await f.rename("renamed.txt")
    assert moved == root / "dir" / "renamed.txt"
    assert not await f.exists()
    assert await moved.read_text() == "héllo"
    await (root / "top.tif").write_bytes(b"u")
    with pytest.raises(RemotePathExistsError):
        await (root / "dir" / "sub" / "deep.bin").rename(root / "top.tif")
    empty = root / "empty"
    await empty.mkdir()
    assert await empty.is_dir()
    assert isinstance(await empty.stat(), RemoteDirectory)
    await (empty / "x").write_bytes(b"x")
    with pytest.raises(DirectoryNotEmptyError):
        await empty.rmdir()
    await (empty / "x").unlink()
    await empty.rmdir()
    assert not await empty.exists()
    await moved.unlink()
    with pytest.raises(RemotePathNotFoundError):
        await moved.unlink()
    await moved.unlink(missing_ok=True)
    out = await (root / "top.tif").download(tmp_path)
    assert out == tmp_path / "top.tif"
    assert out.read_bytes() == b"u"


@pytest.mark.anyio
async def test_open_seek_and_ranged_reads(space: SpaceUnderTest, client: Any) -> None:
    data = bytes(range(256)) * (24 * 1024)  # 6 MiB: a multipart write with a small config
    p = AsyncJetrawPath(f"/{space.name}/big.bin", client=client)
    config = TransferConfig(multipart_threshold=5 * MiB, part_size=5 * MiB)
    async with p.open("wb", config=config) as w:
        for start in range(0, len(data), 1_000_000):
            await w.write(data[start : start + 1_000_000])
    assert not await p.parent.joinpath("nothing").exists()
    async with p.open("rb", buffer_size=4096) as r:
        assert r.size == len(data)
        # The record read: enough to check the bytes without anything private.
        assert isinstance(r.file, RemoteFile)
        assert (r.file.space, r.file.path, r.file.size) == (space.name, "big.bin", len(data))
        assert r.file.checksum == (await p.stat()).checksum is not None
        assert await r.read(10) == data[:10]
        assert await r.seek(1000) == 1000
        assert await r.read(5000) == data[1000:6000]
        await r.seek(-3, io.SEEK_END)
        assert await r.read() == data[-3:]
        assert await r.read(1) == b""
        await r.seek(0)
        assert await r.read() == data
    assert await p.read_bytes() == data


@pytest.mark.anyio
async def test_writer_error_uploads_nothing(space: SpaceUnderTest, client: Any) -> None:
    p = AsyncJetrawPath(f"/{space.name}/never.bin", client=client)

    async def write_then_fail() -> None:
        async with p.open("wb") as w:
            await w.write(b"partial")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await write_then_fail()
    assert not await p.exists()
