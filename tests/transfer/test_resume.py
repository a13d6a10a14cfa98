"""A multipart upload killed with SIGKILL resumes on the next run; a changed file restarts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from jetraw._config import config_dir
from jetraw._crc import crc32c, crc32c_hex
from jetraw._exceptions import RemotePathNotFoundError
from jetraw._transfer import TransferConfig
from jetraw._transfer._journal import JournalStore

from .conftest import SpaceUnderTest

pytestmark = pytest.mark.anyio

MiB = 1 << 20
CONFIG = TransferConfig(multipart_threshold=5 * MiB, part_size=5 * MiB, max_concurrency=1)
CHILD = Path(__file__).with_name("_child_upload.py")


def journaled_parts() -> int:
    directory = config_dir() / "uploads"
    best = 0
    for entry in directory.glob("*.json") if directory.is_dir() else []:
        try:
            best = max(best, len(json.loads(entry.read_text())["parts"]))
        except (ValueError, KeyError, OSError):
            continue
    return best


def start_and_kill(platform: Any, local: Path, dest: str, parts: int) -> None:
    """Start the slow child upload and SIGKILL it once ``parts`` parts are journaled."""
    child = subprocess.Popen(
        [sys.executable, str(CHILD), platform.url, platform.api_key, str(local), dest, "0.4"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while journaled_parts() < parts:
            assert child.poll() is None, child.stderr.read().decode() if child.stderr else ""
            assert time.monotonic() < deadline, "the child never journaled its parts"
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=30)
        if child.stderr:
            child.stderr.close()
    assert child.returncode == -signal.SIGKILL


async def upload_counting(client: Any, local: Path, dest: str) -> tuple[Any, int]:
    events: list[Any] = []
    result = await client.upload(local, dest, config=CONFIG, progress=events.append)
    return result, events[-1].bytes_done


@pytest.mark.slow
async def test_kill_then_resume(
    space: SpaceUnderTest, client: Any, jetraw_platform: Any, tmp_path: Path
) -> None:
    size = 6 * 5 * MiB + 123
    data = os.urandom(size)
    local = tmp_path / "big.bin"
    local.write_bytes(data)
    dest = f"/{space.name}/resume/big.bin"
    start_and_kill(jetraw_platform, local, dest, parts=2)
    with pytest.raises(RemotePathNotFoundError):
        await client.stat(dest)
    assert len(await client.list_pending_uploads(space.name)) == 1
    result, sent = await upload_counting(client, local, dest)
    assert result.files[0].status == "uploaded"
    assert 0 < sent <= size - 2 * 5 * MiB  # at least the journaled parts were not sent again
    remote = await client.stat(dest)
    assert remote.checksum == crc32c_hex(crc32c(data))
    assert space.read_object(remote.object_key) == data
    assert await client.list_pending_uploads(space.name) == []
    assert space.open_multipart_uploads() == []
    assert journaled_parts() == 0


@pytest.mark.slow
async def test_file_changed_after_kill_restarts_cleanly(
    space: SpaceUnderTest, client: Any, jetraw_platform: Any, tmp_path: Path
) -> None:
    size = 4 * 5 * MiB + 7
    local = tmp_path / "big.bin"
    local.write_bytes(os.urandom(size))
    dest = f"/{space.name}/resume/changed.bin"
    start_and_kill(jetraw_platform, local, dest, parts=2)
    new = os.urandom(size)
    local.write_bytes(new)  # same size, new bytes and mtime
    os.utime(local, ns=(time.time_ns(), time.time_ns() + 1_000_000_000))
    result, sent = await upload_counting(client, local, dest)
    assert result.files[0].status == "uploaded"
    assert sent == size
    remote = await client.stat(dest)
    assert space.read_object(remote.object_key) == new
    assert remote.checksum == crc32c_hex(crc32c(new))
    assert await client.list_pending_uploads(space.name) == []
    assert space.open_multipart_uploads() == []


def rewrite_in_place(path: Path, data: bytes) -> None:
    with open(path, "r+b") as f:
        f.write(data)


def journal_files() -> list[Path]:
    directory = config_dir() / "uploads"
    return sorted(directory.glob("*.json")) if directory.is_dir() else []


@pytest.mark.slow
async def test_file_replaced_by_rename_after_kill_aborts_the_old_upload(
    space: SpaceUnderTest, client: Any, jetraw_platform: Any, tmp_path: Path
) -> None:
    size = 4 * 5 * MiB + 11
    local = tmp_path / "big.bin"
    local.write_bytes(os.urandom(size))
    dest = f"/{space.name}/resume/renamed.bin"
    start_and_kill(jetraw_platform, local, dest, parts=2)
    old = await client.list_pending_uploads(space.name)
    assert len(old) == 1
    # An editor saves by writing a new file and renaming it over the old one (a new inode).
    new = os.urandom(size + 5)
    (tmp_path / "big.bin.tmp").write_bytes(new)
    os.replace(tmp_path / "big.bin.tmp", local)
    result, sent = await upload_counting(client, local, dest)
    assert result.files[0].status == "uploaded"
    assert sent == size + 5
    remote = await client.stat(dest)
    assert space.read_object(remote.object_key) == new
    assert await client.list_pending_uploads(space.name) == []
    assert space.open_multipart_uploads() == []
    assert journal_files() == []
    assert (await client._api.request("GET", f"/api/v1/uploads/{old[0].id}"))["status"] == "aborted"


@pytest.mark.slow
async def test_same_size_rewrite_with_restored_mtime_is_not_mixed(
    space: SpaceUnderTest, client: Any, jetraw_platform: Any, tmp_path: Path
) -> None:
    size = 4 * 5 * MiB + 3
    local = tmp_path / "big.bin"
    local.write_bytes(os.urandom(size))
    dest = f"/{space.name}/resume/cp-p.bin"
    start_and_kill(jetraw_platform, local, dest, parts=2)
    st = local.stat()
    new = os.urandom(size)
    rewrite_in_place(local, new)  # same inode, same size: only the bytes differ
    os.utime(local, ns=(st.st_atime_ns, st.st_mtime_ns))  # as `cp -p` or `touch -r` would
    assert local.stat().st_mtime_ns == st.st_mtime_ns
    result, sent = await upload_counting(client, local, dest)
    assert result.files[0].status == "uploaded"
    assert sent == size  # nothing of the old parts was trusted
    remote = await client.stat(dest)
    assert space.read_object(remote.object_key) == new
    assert remote.checksum == crc32c_hex(crc32c(new))
    assert await client.list_pending_uploads(space.name) == []
    assert space.open_multipart_uploads() == []
    assert journal_files() == []


@pytest.mark.slow
async def test_resumed_parts_are_reverified(
    space: SpaceUnderTest, client: Any, jetraw_platform: Any, tmp_path: Path
) -> None:
    """Even with size, mtime, ctime and inode all as journaled, resumed parts are re-read: a
    change the markers miss (coarse timestamps, a clock step) restarts, never mixes."""
    size = 4 * 5 * MiB + 3
    local = tmp_path / "big.bin"
    local.write_bytes(os.urandom(size))
    dest = f"/{space.name}/resume/verified.bin"
    start_and_kill(jetraw_platform, local, dest, parts=2)
    st = local.stat()
    new = os.urandom(size)
    rewrite_in_place(local, new)
    os.utime(local, ns=(st.st_atime_ns, st.st_mtime_ns))
    # Make every marker match, as if the change had happened within one timestamp tick.
    [path] = journal_files()
    journal = json.loads(path.read_text())
    journal["ctime_ns"] = local.stat().st_ctime_ns
    path.write_text(json.dumps(journal))
    result, sent = await upload_counting(client, local, dest)
    assert result.files[0].status == "uploaded"
    assert sent == size  # the parts that did not verify restarted the upload
    remote = await client.stat(dest)
    assert space.read_object(remote.object_key) == new
    assert remote.checksum == crc32c_hex(crc32c(new))
    assert await client.list_pending_uploads(space.name) == []
    assert space.open_multipart_uploads() == []
    assert journal_files() == []


async def test_resuming_a_committed_upload_does_not_commit_it_again(
    space: SpaceUnderTest, client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Stopped after the commit but before the journal was deleted: the next run finds the
    # upload committed and reports the file done exactly once, without a second commit.
    data = os.urandom(2 * 5 * MiB + 7)
    local = tmp_path / "done.bin"
    local.write_bytes(data)
    dest = f"/{space.name}/resume/done.bin"
    delete = JournalStore.delete
    monkeypatch.setattr(JournalStore, "delete", lambda self, key: None)
    await client.upload(local, dest, config=CONFIG)
    assert journaled_parts() == 3
    monkeypatch.setattr(JournalStore, "delete", delete)
    events: list[Any] = []
    result = await client.upload(local, dest, config=CONFIG, overwrite=True, progress=events.append)
    assert result.files[0].status == "uploaded"
    assert [e.kind for e in events if e.kind != "bytes"] == ["started", "done"]
    remote = await client.stat(dest)
    assert remote.checksum == crc32c_hex(crc32c(data))
    assert space.read_object(remote.object_key) == data
    assert journaled_parts() == 0
