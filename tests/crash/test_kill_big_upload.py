"""``kill -9`` of one 1 GiB multipart upload, again and again, then a rerun that finishes it.

Local storage only: a moto S3 server would hold the gibibyte in the test's memory. Up to eight
kills, chained: each resumed run is killed again at a random point of what it has left, and the
chain ends when a run gets to the end (the default seed kills three or four times, among the parts
and at the commit: how far a run gets before its point varies with timing). Not twenty: each run
starts a child and re-reads every resumed part (up to 1 GiB of CRC-32C), and the upload journal is
written every 64 parts or second, so more points mostly repeat "killed between two journal writes";
these cross the start, the middle of the parts and the commit in about fifteen seconds.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import anyio.to_thread
import pytest

from jetraw._config import config_dir
from jetraw._crc import crc32c
from jetraw._transfer import TransferConfig

from .conftest import SEED, run_child

pytestmark = pytest.mark.anyio

MiB = 1 << 20
SIZE = 1 << 30
PART = 8 * MiB
CONFIG = {"multipart_threshold": PART, "part_size": PART, "max_concurrency": 4}
KILLS = 8


def make_big(path: Path, rng: random.Random) -> int:
    """1 GiB of random-looking bytes, fast: one random MiB, rotated and stamped per block."""
    base = rng.randbytes(MiB)
    crc = 0
    with open(path, "wb") as f:
        for n in range(SIZE // MiB):
            shift = (n * 7919) % MiB
            block = n.to_bytes(8, "big") + base[shift + 8 :] + base[:shift]
            block = block[:MiB]
            crc = crc32c(block, crc)
            f.write(block)
    return crc


def journaled() -> int:
    directory = config_dir() / "uploads"
    files = list(directory.glob("*.json")) if directory.is_dir() else []
    assert len(files) <= 1
    return sum(size for f in files for _, size, _ in json.loads(f.read_text())["parts"].values())


def find(root: Path, pattern: str) -> list[Path]:
    return [p for p in root.rglob(pattern) if p.is_file()]


def stored_crc(path: Path) -> tuple[int, int]:
    crc = size = 0
    with open(path, "rb") as f:
        while block := f.read(8 * MiB):
            crc = crc32c(block, crc)
            size += len(block)
    return size, crc


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("seed", [SEED], ids=lambda s: f"seed={s}")
async def test_kill_a_1gib_upload(
    client: Any, jetraw_platform: Any, tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    local = tmp_path / "big.bin"
    crc = await anyio.to_thread.run_sync(make_big, local, rng)
    dest = f"/{jetraw_platform.space}/big-{seed}-{os.getpid()}.bin"
    spec = {
        "server": jetraw_platform.url,
        "api_key": jetraw_platform.api_key,
        "mode": "upload",
        "src": str(local),
        "dest": dest,
        "config": CONFIG,
    }
    figures = []
    recorded = stored = 0
    for _ in range(KILLS):
        # Two events per part still to store (the parts a killed run stored are found again
        # in storage), a few more for the create, the assembly and the commit.
        remaining = max(1, (SIZE - stored) // PART)
        kill_at = rng.randint(1, 2 * remaining + 6)
        child = await anyio.to_thread.run_sync(run_child, {**spec, "kill_at": kill_at}, 240.0)
        if not child.killed:  # the point fell after the last event: it finished
            # Only what the last killed run had in flight (stored, not journaled) went again.
            assert child.stored <= SIZE - recorded
            figures.append({"finished_sent": child.stored})
            break
        now = journaled()
        assert now >= recorded  # a resumed run never loses what was journaled
        stored = min(SIZE, stored + child.stored)
        figures.append({"kill_at": kill_at, "stored": child.stored, "journaled": now})
        recorded = now
    if "finished_sent" not in figures[-1]:
        result = await client.upload(local, dest, config=TransferConfig(**CONFIG))
        [entry] = result.files
        assert entry.status == "uploaded"
        # Only what the last killed run had in flight (stored, not journaled) is sent again.
        assert entry.bytes_sent <= SIZE - recorded
        figures.append({"rerun_sent": entry.bytes_sent})
    remote = await client.stat(dest)
    assert (remote.size, remote.crc32c) == (SIZE, crc)
    root = Path(jetraw_platform.data_dir)
    [stored] = await anyio.to_thread.run_sync(find, root, Path(remote.object_key).name)
    assert await anyio.to_thread.run_sync(stored_crc, stored) == (SIZE, crc)
    assert await client.list_pending_uploads(jetraw_platform.space) == []
    assert await anyio.to_thread.run_sync(find, root, ".jetraw-multipart/*") == []
    assert journaled() == 0
    print(json.dumps({"seed": seed, "points": figures}))
