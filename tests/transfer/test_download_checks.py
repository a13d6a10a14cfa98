"""Downloads check what the server tells them: paths stay under the destination, and a
recorded SHA-256 is verified."""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from jetraw import _api as api_
from jetraw._api import StateServerAPI
from jetraw._crc import crc32c
from jetraw._exceptions import (
    DownloadError,
    IntegrityError,
    InvalidPathError,
    LocalPathExistsError,
    LocalPathNotFoundError,
    RemotePathNotFoundError,
)
from jetraw._transfer import TransferConfig
from jetraw._transfer._localpaths import check_relative, safe_local_target
from jetraw.aio import AsyncJetrawPath

from .conftest import SpaceUnderTest

pytestmark = pytest.mark.anyio

MiB = 1 << 20
SMALL = TransferConfig(multipart_threshold=5 * MiB, part_size=5 * MiB, max_concurrency=4)


# -- safe_local_target ------------------------------------------------------------------------


def test_safe_local_target_joins_plain_paths(tmp_path: Path) -> None:
    assert safe_local_target(tmp_path, "a/b/c.bin") == tmp_path / "a" / "b" / "c.bin"
    assert safe_local_target(tmp_path, "..name") == tmp_path / "..name"  # only a segment ".."
    assert check_relative("x/y") == ["x", "y"]


@pytest.mark.parametrize(
    "relative",
    [
        "../evil",
        "a/../../evil",
        "a/..",
        "..",
        "/etc/passwd",
        "a//b",
        "a/./b",
        ".",
        "",
        "a/",
        "a\x00b",
        "a/b\nc",
    ],
)
def test_safe_local_target_refuses_escapes(tmp_path: Path, relative: str) -> None:
    with pytest.raises(InvalidPathError):
        safe_local_target(tmp_path / "dest", relative)


def test_safe_local_target_refuses_a_symlink_out(tmp_path: Path) -> None:
    dest, outside = tmp_path / "dest", tmp_path / "outside"
    dest.mkdir()
    outside.mkdir()
    (dest / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(InvalidPathError):
        safe_local_target(dest, "link/x.bin")
    # A destination that is itself reached through a link is fine.
    (tmp_path / "dest-link").symlink_to(dest, target_is_directory=True)
    assert safe_local_target(tmp_path / "dest-link", "x.bin") == tmp_path / "dest-link" / "x.bin"


def _names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# -- a lying listing --------------------------------------------------------------------------


def _files_outside(tmp_path: Path, dest: Path) -> list[Path]:
    return [p for p in tmp_path.rglob("*") if p.is_file() and not p.is_relative_to(dest)]


async def test_download_refuses_a_listed_path_with_dotdot(
    space: SpaceUnderTest, client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "good.bin").write_bytes(b"good")
    await client.upload(src / "good.bin", f"/{space.name}/tree/good.bin")
    real = await client.stat(f"/{space.name}/tree/good.bin")
    assert isinstance(real, api_.RemoteFile)
    listing = StateServerAPI.iter_files

    async def lying(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        async for entry in listing(*args, **kwargs):
            yield entry
        # A server (or a man in the middle) naming a file outside the listed directory.
        for path in ("tree/../../evil", "tree/sub/../../../evil2"):
            yield api_.RemoteFile(space.name, path, real.size, real.crc32c, {}, real.object_key)

    monkeypatch.setattr(StateServerAPI, "iter_files", lying)
    dest = tmp_path / "work" / "dest"
    dest.mkdir(parents=True)
    with pytest.raises((InvalidPathError, DownloadError)) as caught:
        await client.download(f"/{space.name}/tree", dest)
    error: BaseException = caught.value
    if isinstance(error, DownloadError):
        # Refused file by file (jetraw._transfer._download); the good file may still arrive.
        failed = {entry.remote: entry.error for entry in error.result.failed}
        assert set(failed) == {
            f"/{space.name}/tree/../../evil",
            f"/{space.name}/tree/sub/../../../evil2",
        }
        assert all(isinstance(e, InvalidPathError) for e in failed.values())
    assert _files_outside(tmp_path, dest) == [src / "good.bin"]
    assert not (tmp_path / "work" / "evil").exists()
    assert not (tmp_path / "evil2").exists()


async def test_download_refuses_a_stat_answer_of_dotdot(
    space: SpaceUnderTest, client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.bin").write_bytes(b"a")
    await client.upload(tmp_path / "a.bin", f"/{space.name}/a.bin")
    real = await client.stat(f"/{space.name}/a.bin")
    stat = StateServerAPI.stat

    async def lying(api: Any, space_name: str, path: str) -> Any:
        found = await stat(api, space_name, path)
        assert isinstance(found, api_.RemoteFile)
        return api_.RemoteFile(space_name, "..", found.size, found.crc32c, {}, found.object_key)

    monkeypatch.setattr(StateServerAPI, "stat", lying)
    dest = tmp_path / "out" / "dest"
    dest.mkdir(parents=True)
    with pytest.raises((InvalidPathError, DownloadError)) as caught:
        await client.download(f"/{space.name}/a.bin", dest)
    cause = caught.value.__cause__ if isinstance(caught.value, DownloadError) else caught.value
    assert isinstance(cause, InvalidPathError)
    assert real.size == 1
    assert _files_outside(tmp_path, dest) == [tmp_path / "a.bin"]
    assert list(dest.iterdir()) == []


@pytest.mark.parametrize("listed", ["abcd..", "abcXevil/x.bin", "other/abc/x.bin"])
async def test_download_refuses_a_listed_path_outside_the_prefix(
    space: SpaceUnderTest,
    client: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    listed: str,
) -> None:
    """The prefix is cut off only from paths that start with it: ``abcd..`` listed under
    ``abc/`` would leave ``..`` (the destination's parent), ``abcXevil/x`` a wrong file."""
    (tmp_path / "a.bin").write_bytes(b"abc")
    await client.upload(tmp_path / "a.bin", f"/{space.name}/abc/a.bin")
    real = await client.stat(f"/{space.name}/abc/a.bin")
    assert isinstance(real, api_.RemoteFile)

    async def lying(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        yield api_.RemoteFile(space.name, listed, real.size, real.crc32c, {}, real.object_key)

    monkeypatch.setattr(StateServerAPI, "iter_files", lying)
    dest = tmp_path / "work" / "dest"
    dest.mkdir(parents=True)
    with pytest.raises(InvalidPathError, match="does not contain it"):
        await client.download(f"/{space.name}/abc", dest)
    assert list(dest.iterdir()) == []
    assert _names(tmp_path / "work") == ["dest"]
    assert _files_outside(tmp_path, dest) == [tmp_path / "a.bin"]


async def test_download_of_a_file_with_a_trailing_slash_is_an_error(
    space: SpaceUnderTest, client: Any, tmp_path: Path
) -> None:
    (tmp_path / "a.bin").write_bytes(b"abc")
    await client.upload(tmp_path / "a.bin", f"/{space.name}/dir/a.bin")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(InvalidPathError, match="names a file, not a directory"):
        await client.download(f"/{space.name}/dir/a.bin/", out)
    assert list(out.iterdir()) == []
    with pytest.raises(RemotePathNotFoundError):
        await client.download(f"/{space.name}/dir/nothing/", out)


async def test_download_does_not_overwrite_a_local_file_by_default(
    space: SpaceUnderTest, client: Any, tmp_path: Path
) -> None:
    (tmp_path / "a.bin").write_bytes(b"new bytes")
    await client.upload(tmp_path / "a.bin", f"/{space.name}/a.bin")
    out = tmp_path / "out.bin"
    out.write_bytes(b"old")
    with pytest.raises(DownloadError) as caught:
        await client.download(f"/{space.name}/a.bin", out)
    error = caught.value.result.failed[0].error
    assert isinstance(error, LocalPathExistsError)
    assert isinstance(error, FileExistsError)
    assert str(out) in str(error)
    assert out.read_bytes() == b"old"
    # Nor through the path object, nor into a directory holding a file of that name.
    with pytest.raises(DownloadError):
        await AsyncJetrawPath(f"/{space.name}/a.bin", client=client).download(out)
    (tmp_path / "into").mkdir()
    (tmp_path / "into" / "a.bin").write_bytes(b"old")
    with pytest.raises(DownloadError):
        await client.download(f"/{space.name}/a.bin", tmp_path / "into")
    assert (tmp_path / "into" / "a.bin").read_bytes() == b"old"
    # Asked for, it is replaced.
    result = await client.download(f"/{space.name}/a.bin", out, overwrite=True)
    assert out.read_bytes() == b"new bytes"
    assert result.files[0].bytes_sent == len(b"new bytes")


async def test_download_under_a_file_is_a_jetraw_error(
    space: SpaceUnderTest, client: Any, tmp_path: Path
) -> None:
    """A destination whose parent is a file: a jetraw error naming the path, no raw OSError."""
    (tmp_path / "a.bin").write_bytes(b"abc")
    await client.upload(tmp_path / "a.bin", f"/{space.name}/a.bin")
    (tmp_path / "plain").write_bytes(b"a file")
    for target in (tmp_path / "plain" / "out.bin", tmp_path / "plain" / "sub" / "out.bin"):
        with pytest.raises(DownloadError) as caught:
            await client.download(f"/{space.name}/a.bin", target)
        error = caught.value.result.failed[0].error
        assert isinstance(error, LocalPathNotFoundError), repr(error)
        assert str(target) in str(error)
    assert (tmp_path / "plain").read_bytes() == b"a file"


# -- SHA-256 ----------------------------------------------------------------------------------


async def _put_with_sha256(
    client: Any, space: SpaceUnderTest, path: str, data: bytes, sha256: str
) -> api_.RemoteFile:
    """Create, write and complete one upload whose complete carries a SHA-256."""
    upload = await client._api.create_upload(space.name, path, len(data), overwrite=True)
    if space.kind == "local":
        (Path(space.storage["root"]) / upload.object_key).parent.mkdir(exist_ok=True)
    space.write_object(upload.object_key, data)
    answer = await client._api.request(
        "POST",
        f"/api/v1/uploads/{upload.id}/complete",
        json={"size": len(data), "checksum": api_.checksum_json(crc32c(data), sha256)},
    )
    return api_.RemoteFile.from_json(space.name, answer)


@pytest.mark.parametrize("size", [1000, 12 * MiB + 7], ids=["one-range", "ranges"])
async def test_download_verifies_a_recorded_sha256(
    space: SpaceUnderTest, client: Any, tmp_path: Path, size: int
) -> None:
    data = os.urandom(size)
    good = hashlib.sha256(data).hexdigest()
    stored = await _put_with_sha256(client, space, "good.bin", data, good)
    assert stored.sha256 == good
    listed = await client.stat(f"/{space.name}/good.bin")
    assert listed.sha256 == good
    out = tmp_path / "good.bin"
    await client.download(f"/{space.name}/good.bin", out, config=SMALL)
    assert out.read_bytes() == data

    # The CRC-32C matches the bytes; only the SHA-256 can tell these are not what was meant.
    wrong = hashlib.sha256(data + b"!").hexdigest()
    await _put_with_sha256(client, space, "bad.bin", data, wrong)
    bad = tmp_path / "bad.bin"
    with pytest.raises(DownloadError) as caught:
        await client.download(f"/{space.name}/bad.bin", bad, config=SMALL)
    assert isinstance(caught.value.__cause__, IntegrityError)
    assert "SHA-256" in str(caught.value.__cause__)
    assert not bad.exists()
    assert _names(tmp_path) == ["good.bin"]  # no temporary file left


@pytest.mark.parametrize("size", [1000, 12 * MiB + 7], ids=["one-range", "ranges"])
async def test_download_of_a_file_hops_to_a_thread_twice(
    space: SpaceUnderTest, client: Any, tmp_path: Path, size: int, monkeypatch: Any
) -> None:
    """Per file one worker-thread call opens it and one finishes it; the body's reads are
    written from the loop (a hop per read cost more CPU than the page-cache write)."""
    import anyio.to_thread

    from jetraw._transfer import _download

    data = os.urandom(size)
    (tmp_path / "src.bin").write_bytes(data)
    await client.upload(tmp_path / "src.bin", f"/{space.name}/hops.bin")
    calls: list[str] = []
    real = anyio.to_thread.run_sync

    async def counting(func: Any, *args: Any, **kwargs: Any) -> Any:
        if sys._getframe(1).f_code.co_filename == _download.__file__:  # the engine's own hops
            calls.append(getattr(func, "__name__", repr(func)))
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(_download.anyio.to_thread, "run_sync", counting)
    out = tmp_path / "hops.bin"
    await client.download(f"/{space.name}/hops.bin", out, config=SMALL)
    assert out.read_bytes() == data
    assert "write_all" not in calls
    assert calls.count("start") == 1
    assert calls.count("finish") == 1
    # A file of several ranges journals too (at most once per range here).
    assert len(calls) - 2 <= (0 if size < SMALL.multipart_threshold else 3)
