"""A full disk: a specific error and no partial file, for downloads and local-disk spaces.

The disk is a real 1 MiB tmpfs (needs root to mount, as in CI); the injected variant runs
everywhere.
"""

from __future__ import annotations

import errno
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jetraw._exceptions import DownloadError, InsufficientStorageError, UploadError

from .conftest import SpaceUnderTest

pytestmark = pytest.mark.anyio

MiB = 1 << 20


def files_under(root: Path) -> list[str]:
    return [os.path.join(d, f) for d, _, names in os.walk(root) for f in names]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    from tests.conftest import require_system

    mountpoint = tmp_path / "small-disk"
    mountpoint.mkdir()
    ok = (
        os.geteuid() == 0
        and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mountpoint)],
            capture_output=True,
            check=False,
        ).returncode
        == 0
    )
    require_system("mounting a tmpfs (root)", ok)
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)


async def test_download_to_a_full_disk(
    space: SpaceUnderTest, client: Any, tmp_path: Path, small_disk: Path
) -> None:
    (tmp_path / "f").write_bytes(os.urandom(3 * MiB))
    await client.upload(tmp_path / "f", f"/{space.name}/f")
    with pytest.raises(DownloadError) as info:
        await client.download(f"/{space.name}/f", small_disk / "f")
    [failed] = info.value.result.files
    assert isinstance(failed.error, InsufficientStorageError)
    assert os.listdir(small_disk) == []


async def test_upload_to_a_full_local_space(
    jetraw_platform: Any, client: Any, tmp_path: Path, small_disk: Path
) -> None:
    name = f"t-{uuid.uuid4().hex[:12]}"
    jetraw_platform.create_space(name, storage={"type": "local", "root": str(small_disk)})
    (tmp_path / "f").write_bytes(os.urandom(3 * MiB))
    with pytest.raises(UploadError) as info:
        await client.upload(tmp_path / "f", f"/{name}/f")
    [failed] = info.value.result.files
    assert isinstance(failed.error, InsufficientStorageError)
    assert files_under(small_disk) == []
    assert await client.list_pending_uploads(name) == []


async def test_download_enospc_injected(
    space: SpaceUnderTest, client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jetraw._transfer import _download

    (tmp_path / "f").write_bytes(os.urandom(100_000))
    await client.upload(tmp_path / "f", f"/{space.name}/f")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "f").write_bytes(b"previous")

    def full(fd: int, data: bytes, offset: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_download, "write_all", full)
    with pytest.raises(DownloadError) as info:
        await client.download(f"/{space.name}/f", tmp_path / "out", overwrite=True)
    assert isinstance(info.value.result.files[0].error, InsufficientStorageError)
    assert os.listdir(tmp_path / "out") == ["f"]
    assert (tmp_path / "out" / "f").read_bytes() == b"previous"


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A real read-only file system, a tmpfs mounted ro (as root: chmod does not stop root)."""
    from tests.conftest import require_system

    mountpoint = tmp_path / "read-only"
    mountpoint.mkdir()
    ok = (
        os.geteuid() == 0
        and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(mountpoint)],
            capture_output=True,
            check=False,
        ).returncode
        == 0
    )
    require_system("mounting a read-only tmpfs (root)", ok)
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)


async def test_download_to_a_read_only_dir_stops_at_the_first_file(
    space: SpaceUnderTest, client: Any, tmp_path: Path, read_only_dir: Path
) -> None:
    from jetraw._exceptions import LocalWriteError
    from jetraw._transfer import TransferConfig

    make = tmp_path / "src"
    make.mkdir()
    for i in range(20):
        (make / f"f{i:02}").write_bytes(os.urandom(1000))
    await client.upload(make, f"/{space.name}/ro/")
    with pytest.raises(DownloadError) as info:
        await client.download(
            f"/{space.name}/ro/", read_only_dir / "out", config=TransferConfig(max_concurrency=2)
        )
    assert isinstance(info.value.__cause__, LocalWriteError)
    assert isinstance(info.value.__cause__, PermissionError)
    assert "read-only file system" in str(info.value.__cause__)
    files = info.value.result.files
    assert len(files) == 20
    assert all(f.status == "failed" for f in files)
    # Stopped at once: the files not yet started were never tried (not 20 write errors).
    tried = [f for f in files if isinstance(f.error, LocalWriteError)]
    assert 1 <= len(tried) <= 2
    assert sum("Not downloaded: the download stopped" in str(f.error) for f in files) >= 18
    assert os.listdir(read_only_dir) == []


async def test_download_enospc_stops_the_whole_job(
    space: SpaceUnderTest, client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jetraw._transfer import TransferConfig, _download

    make = tmp_path / "src"
    make.mkdir()
    for i in range(20):
        (make / f"f{i:02}").write_bytes(os.urandom(1000))
    await client.upload(make, f"/{space.name}/full/")
    calls = []

    def full(fd: int, data: bytes, offset: int) -> None:
        calls.append(offset)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_download, "write_all", full)
    with pytest.raises(DownloadError) as info:
        await client.download(
            f"/{space.name}/full/", tmp_path / "out", config=TransferConfig(max_concurrency=2)
        )
    assert isinstance(info.value.__cause__, InsufficientStorageError)
    assert 1 <= len(calls) <= 2
    assert len(info.value.result.failed) == 20
    assert files_under(tmp_path / "out") == []


async def test_a_tree_into_a_full_local_space_stops_at_the_first_enospc(
    jetraw_platform: Any,
    client: Any,
    tmp_path: Path,
    small_disk: Path,
) -> None:
    name = f"t-{uuid.uuid4().hex[:12]}"
    jetraw_platform.create_space(name, storage={"type": "local", "root": str(small_disk)})
    tree = tmp_path / "tree"
    tree.mkdir()
    for i in range(40):  # 40 x 200 KiB: the 1 MiB disk is full after a few of them
        (tree / f"f{i:02}.bin").write_bytes(os.urandom(200 * 1024))
    with pytest.raises(UploadError) as info:
        await client.upload(tree, f"/{name}/tree")
    error = info.value
    assert str(error).startswith("Upload stopped ("), str(error)
    assert isinstance(error.__cause__, InsufficientStorageError)
    files = error.result.files
    full = [f for f in files if isinstance(f.error, InsufficientStorageError)]
    stopped = [f for f in files if f.status == "failed" and f not in full]
    # Only the files in flight when the disk filled hit ENOSPC (10 requests at a time); the
    # rest were not tried.
    assert full
    assert len(stopped) >= 10, (len(full), len(stopped))
    assert all("the upload stopped" in str(f.error) for f in stopped)
    assert await client.list_pending_uploads(name) == []

    # The CLI (in a child process, as a user runs it): one line, exit 7.
    import sys

    import anyio.to_thread

    env = dict(
        os.environ, JETRAW_SERVER=jetraw_platform.url, JETRAW_API_KEY=jetraw_platform.api_key
    )
    argv = [sys.executable, "-m", "jetraw.cli", "upload", "-r", str(tree), f"/{name}/again"]
    out = await anyio.to_thread.run_sync(
        lambda: subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    )
    assert out.returncode == 7, out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("Error: No space left"), lines[0]
    assert lines[0].endswith("of 40 files uploaded."), lines[0]
