"""``kill -9`` of the state server during a burst of commits; after a restart, a rerun.

The platform runs in its own process (``LocalPlatform``); the uploader, in the test, sends many
small files in batches of ten. At a seeded random batch commit, after a seeded random delay of
0-30 ms (so the commit is killed before it arrives, while it is applied, or after it was applied
but before its answer left), the server gets SIGKILL. After ``restart`` (same database, new
port) the same upload with ``skip_existing`` must leave every path listed exactly once with its
size and CRC-32C, the stored bytes exact: no commit doubled, none lost.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import threading
from pathlib import Path
from typing import Any

import anyio.to_thread
import pytest

from jetraw._api import StateServerAPI
from jetraw._crc import crc32c
from jetraw._transfer import TransferConfig
from jetraw.aio import AsyncClient

from .conftest import SEED

pytestmark = pytest.mark.anyio

KiB = 1 << 10
FILES = 120
CONFIG = TransferConfig(batch_size=10, max_concurrency=8)
POINTS = 6


def read_back(root: Path, keys: dict[str, str]) -> dict[str, bytes]:
    return {path: (root / key).read_bytes() for path, key in keys.items()}


async def listed(client: Any, space: str, prefix: str) -> list[Any]:
    return [f async for f in client._api.iter_files(space, prefix)]


@pytest.mark.slow
@pytest.mark.timeout(200)
@pytest.mark.parametrize("seed", [SEED], ids=lambda s: f"seed={s}")
async def test_kill_the_state_server_during_commits(
    jetraw_platform_factory: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    seed: int,
) -> None:
    rng = random.Random(seed)
    platform = await anyio.to_thread.run_sync(jetraw_platform_factory)
    src = tmp_path / "tree"
    files = {f"f{n:03d}.bin": rng.randbytes(rng.randint(1, 4 * KiB)) for n in range(FILES)}
    src.mkdir()
    for name, data in files.items():
        (src / name).write_bytes(data)
    space = platform.space
    batches = -(-FILES // CONFIG.batch_size)
    plan: dict[str, Any] = {}
    original = StateServerAPI.batch_complete

    async def batch_complete(self: Any, *args: Any, **kwargs: Any) -> Any:
        plan["calls"] += 1
        if plan["calls"] == plan["at"]:
            pid = platform._proc.pid
            timer = threading.Timer(plan["delay"], os.kill, (pid, signal.SIGKILL))
            timer.start()
            plan["timer"] = timer
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(StateServerAPI, "batch_complete", batch_complete)
    figures = []
    for point in range(POINTS):
        prefix = f"r{point}/"
        plan.update(calls=0, at=rng.randint(1, batches), delay=rng.uniform(0, 0.03))
        async with AsyncClient(platform.api_key, server=platform.url, retries=0) as client:
            # With its server gone, the upload keeps looking its commits up (their answers
            # were lost); this client never sees the restarted server (a new port): stop it.
            with contextlib.suppress(Exception), anyio.move_on_after(3):
                await client.upload(src, f"/{space}/{prefix}", config=CONFIG)
        plan["timer"].join()
        assert platform._proc.wait(30) == -signal.SIGKILL
        await anyio.to_thread.run_sync(platform.restart)
        async with AsyncClient(platform.api_key, server=platform.url) as client:
            before = len(await listed(client, space, prefix))
            result = await client.upload(
                src, f"/{space}/{prefix}", skip_existing=True, config=CONFIG
            )
            assert result.ok
            entries = await listed(client, space, prefix)
            paths = [e.path for e in entries]
            assert sorted(paths) == sorted(prefix + name for name in files)  # each exactly once
            for entry in entries:
                data = files[entry.path[len(prefix) :]]
                assert (entry.size, entry.crc32c) == (len(data), crc32c(data)), entry.path
            root = Path((await client._api.get_space(space)).storage["root"])
            keys = {e.path: e.object_key for e in entries}
            stored = await anyio.to_thread.run_sync(read_back, root, keys)
            assert stored == {prefix + name: data for name, data in files.items()}
            left = await client.list_pending_uploads(space)
            for upload in left:  # the cleanup: uploads the killed commit left pending
                await client.abort_upload(upload.id)
            assert await client.list_pending_uploads(space) == []
            assert len(await listed(client, space, prefix)) == FILES
        figures.append(
            {
                "batch": plan["at"],
                "delay_ms": round(plan["delay"] * 1000, 1),
                "visible_after_kill": before,
                "skipped": len(result.skipped),
                "aborted_pending": len(left),
            }
        )
    print(json.dumps({"seed": seed, "points": figures}))
