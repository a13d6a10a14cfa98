"""``kill -9`` of a downloader mid-file, and downloads and uploads onto full disks."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import anyio.to_thread
import pytest

from jetraw._config import config_dir
from jetraw._exceptions import DownloadError, InsufficientStorageError
from jetraw._transfer import TransferConfig
from jetraw._transfer._download_journal import partial_paths

from .conftest import SEED, SpaceUnderTest, fill, run_child

pytestmark = pytest.mark.anyio

MiB = 1 << 20
CHUNK = 5 * MiB
CONFIG = {"multipart_threshold": CHUNK, "part_size": CHUNK, "max_concurrency": 1}
POINTS = 5


@pytest.mark.slow
@pytest.mark.timeout(150)
@pytest.mark.parametrize("seed", [SEED], ids=lambda s: f"seed={s}")
async def test_kill_a_downloader_mid_file(
    space: SpaceUnderTest, client: Any, jetraw_platform: Any, tmp_path: Path, seed: int
) -> None:
    """Five seeded points (a child start each): every kill after the second range started
    leaves a journal; the rerun fetches only what it lacks and ends byte-exact."""
    rng = random.Random(seed)
    size = 6 * CHUNK + 4321
    data = os.urandom(size)
    (tmp_path / "f.bin").write_bytes(data)
    await client.upload(tmp_path / "f.bin", f"/{space.name}/f.bin")
    figures = []
    for point in range(POINTS):
        out = tmp_path / f"out{point}" / "f.bin"
        # Events: 2 per range (7 ranges); from 5 on, two ranges have landed and been journaled.
        kill_at = rng.randint(5, 13)
        spec = {
            "server": jetraw_platform.url,
            "api_key": jetraw_platform.api_key,
            "mode": "download",
            "src": f"/{space.name}/f.bin",
            "dest": str(out),
            "config": CONFIG,
            "kill_at": kill_at,
            "delay": 0.3,
        }
        child = await anyio.to_thread.run_sync(run_child, spec)
        assert child.killed
        assert not out.exists()
        journal = json.loads(partial_paths(out)[1].read_text())
        kept = sum(min(CHUNK, size - int(i) * CHUNK) for i in journal["crcs"])
        assert kept > 0
        [entry] = (await client.download(f"/{space.name}/f.bin", out)).files
        assert entry.bytes_resumed == kept  # every journaled chunk re-verified and kept
        assert entry.bytes_sent == size - kept < size
        assert out.read_bytes() == data
        assert sorted(p.name for p in out.parent.iterdir()) == ["f.bin"]
        figures.append({"kill_at": kill_at, "received": child.stored, "resumed": kept})
    print(json.dumps({"seed": seed, "points": figures}))


async def test_download_onto_a_full_disk_removes_the_partial(
    space: SpaceUnderTest, client: Any, tmp_path: Path, tmpfs: Any
) -> None:
    """Two chunks land and are journaled, the third meets a full disk: one
    InsufficientStorageError, and the partial file and its journal are deleted (they hold the
    space a rerun needs; keeping them would only make it fail again)."""
    disk = tmpfs(tmp_path / "disk", "12m")
    data = os.urandom(4 * CHUNK)
    (tmp_path / "f.bin").write_bytes(data)
    await client.upload(tmp_path / "f.bin", f"/{space.name}/f.bin")
    config = TransferConfig(**CONFIG)
    with pytest.raises(DownloadError) as info:
        await client.download(f"/{space.name}/f.bin", disk / "f.bin", config=config)
    [failed] = info.value.result.files
    assert isinstance(failed.error, InsufficientStorageError)
    assert os.listdir(disk) == []
    assert not [p for p in os.listdir(f"/proc/{os.getpid()}/fd") if _points_into(p, disk)]


def _points_into(fd: str, directory: Path) -> bool:
    try:
        return os.readlink(f"/proc/{os.getpid()}/fd/{fd}").startswith(str(directory))
    except OSError:
        return False


async def test_upload_with_a_full_journal_directory(
    space: SpaceUnderTest, client: Any, tmp_path: Path, tmpfs: Any, caplog: Any
) -> None:
    """The journal is what resumes an upload, not what makes it: with its directory full the
    upload goes on, not resumable, and says so once per write in the log (a warning); the
    file is exact, no upload is left open and nothing half-written is in the journal folder."""
    journals = tmpfs(config_dir() / "uploads", "64k")
    fill(journals)
    data = os.urandom(3 * CHUNK + 1)
    (tmp_path / "f.bin").write_bytes(data)
    config = TransferConfig(**CONFIG)
    result = await client.upload(tmp_path / "f.bin", f"/{space.name}/j.bin", config=config)
    assert result.files[0].status == "uploaded"
    assert any("Cannot write the resume journal" in r.getMessage() for r in caplog.records)
    remote = await client.stat(f"/{space.name}/j.bin")
    assert await anyio.to_thread.run_sync(space.read_object, remote.object_key) == data
    assert os.listdir(journals) == ["filler"]
    assert await client.list_pending_uploads(space.name) == []
    assert space.open_multipart_uploads() == []
