"""``kill -9`` of an uploader at seeded random points; the rerun finishes and resends little.

After each kill the same upload runs again (``skip_existing``): every file ends exact (size and
CRC-32C as listed, bytes read back from storage), the rerun sends at most the bytes of the files
not yet visible minus the parts their journals recorded (what the killed run had in flight or
stored without recording), and once the pending uploads the killed run left are aborted and the
server cleanup has run, no upload is open, in storage or on the server.
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

from .conftest import SEED, SpaceUnderTest, run_child

pytestmark = pytest.mark.anyio

KiB, MiB = 1 << 10, 1 << 20
CONFIG = {
    "multipart_threshold": 5 * MiB,
    "part_size": 5 * MiB,
    "max_concurrency": 4,
    "batch_size": 25,
}
POINTS = 20


def make_tree(root: Path, rng: random.Random) -> dict[str, bytes]:
    """200 files: 198 small ones (0 B to 24 KiB) in a few folders, two of three parts each."""
    files: dict[str, bytes] = {}
    for n in range(198):
        files[f"d{n % 7}/s{n:03d}.bin"] = rng.randbytes(rng.randint(0, 24 * KiB))
    for n in range(2):
        files[f"big/m{n}.bin"] = os.urandom(2 * 5 * MiB + rng.randint(1, 512 * KiB))
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return files


def journaled_bytes(pending: dict[str, str]) -> dict[str, int]:
    """Part bytes recorded by the journals, by remote path (through the pending upload ids)."""
    found: dict[str, int] = {}
    directory = config_dir() / "uploads"
    for entry in directory.glob("*.json") if directory.is_dir() else []:
        journal = json.loads(entry.read_text())
        path = pending.get(journal["upload_id"])
        if path is not None:
            found[path] = sum(size for _, size, _ in journal["parts"].values())
    return found


async def listed(client: Any, space: str, prefix: str) -> dict[str, Any]:
    return {f.path: f async for f in client._api.iter_files(space, prefix)}


async def check_exact(space: SpaceUnderTest, client: Any, prefix: str, files: dict[str, bytes]):
    remote = await listed(client, space.name, prefix)
    assert sorted(remote) == sorted(prefix + rel for rel in files)
    for rel, data in files.items():
        entry = remote[prefix + rel]
        assert (entry.size, entry.crc32c) == (len(data), crc32c(data)), rel
        stored = await anyio.to_thread.run_sync(space.read_object, entry.object_key)
        assert stored == data, rel


async def kill_and_rerun(
    space: SpaceUnderTest,
    client: Any,
    platform: Any,
    src: Path,
    prefix: str,
    files: dict[str, bytes],
    kill_at: int,
    config: TransferConfig,
    extra: dict[str, Any] | None = None,
) -> dict[str, int]:
    spec = {
        "server": platform.url,
        "api_key": platform.api_key,
        "mode": "upload",
        "src": str(src),
        "dest": f"/{space.name}/{prefix}",
        "config": CONFIG,
        "skip_existing": True,
        "kill_at": kill_at,
        **(extra or {}),
    }
    child = await anyio.to_thread.run_sync(run_child, spec)
    assert child.killed
    visible = await listed(client, space.name, prefix)
    pending = {u.id: u.path for u in await client.list_pending_uploads(space.name)}
    journaled = journaled_bytes(pending)
    missing = [prefix + rel for rel in files if prefix + rel not in visible]
    owed = sum(len(files[p[len(prefix) :]]) for p in missing)
    recorded = sum(journaled.get(p, 0) for p in missing)
    result = await client.upload(src, f"/{space.name}/{prefix}", skip_existing=True, config=config)
    assert result.ok
    sent = sum(f.bytes_sent for f in result.files)
    # Nothing visible or journaled is sent again: only what the killed run had in flight.
    assert sent <= owed - recorded, (kill_at, sent, owed, recorded)
    await check_exact(space, client, prefix, files)
    # The cleanup: the killed run's uploads that never got committed (small files, whose
    # stored bytes are not under any file's object) are aborted; the files stay.
    left = await client.list_pending_uploads(space.name)
    for upload in left:
        assert upload.storage_upload_id is None or upload.path not in missing
        await client.abort_upload(upload.id)
    assert await client.list_pending_uploads(space.name) == []
    # A run killed between starting a storage multipart upload and reporting its id leaves a
    # staging directory only the server's cleanup finds (by the retired upload's object key).
    await anyio.to_thread.run_sync(platform.cleanup)
    assert space.open_multipart_uploads() == []
    await check_exact(space, client, prefix, files)
    return {
        "kill_at": kill_at,
        "stored_by_killed_run": child.stored,
        "owed": owed,
        "journaled": recorded,
        "rerun_sent": sent,
        "aborted_pending": len(left),
    }


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("seed", [SEED], ids=lambda s: f"seed={s}")
async def test_kill_uploader_of_a_tree(
    space: SpaceUnderTest, client: Any, jetraw_platform: Any, tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    src = tmp_path / "tree"
    files = make_tree(src, rng)
    config = TransferConfig(**CONFIG)
    # A full run counts the events (storage and state-server calls, before and after each).
    spec = {
        "server": jetraw_platform.url,
        "api_key": jetraw_platform.api_key,
        "mode": "upload",
        "src": str(src),
        "dest": f"/{space.name}/calibrate/",
        "config": CONFIG,
    }
    full = await anyio.to_thread.run_sync(run_child, spec)
    assert not full.killed
    await check_exact(space, client, "calibrate/", files)
    figures = []
    for point in range(POINTS):
        kill_at = rng.randint(1, full.events)
        figures.append(
            await kill_and_rerun(
                space, client, jetraw_platform, src, f"r{point}/", files, kill_at, config
            )
        )
    print(json.dumps({"seed": seed, "space": space.kind, "points": figures}))
