"""Promises the matrix's cells do not show on their own: resume after an interrupted transfer,
and no half-visible file while the multipart commit is slow."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from jetraw import RemotePathNotFoundError
from jetraw.aio import AsyncClient, TransferConfig
from jetraw.testing import LocalPlatform

from ._proxy import Rule
from .conftest import S3Space, Watcher, crc_hex

pytestmark = pytest.mark.anyio

MiB = 1 << 20
SERIAL = TransferConfig(
    multipart_threshold=5 * MiB, part_size=5 * MiB, max_concurrency=1, attempts=2
)


async def test_resume_after_a_stalled_part_sends_only_the_missing_part(
    jetraw_platform: LocalPlatform, make_space: Callable[..., S3Space], tmp_path: Path
) -> None:
    """A run cancelled while part 2 hangs keeps part 1 (``on_cancel="keep"``); the next run
    sends part 2 only, and the file appears whole."""
    space = make_space(jetraw_platform)
    data = os.urandom(6 * MiB)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    dest = f"/{space.name}/big.bin"
    space.proxy.add(Rule("stall", "PUT", r"[?&]partNumber=2", times=None))
    async with AsyncClient(jetraw_platform.api_key, server=jetraw_platform.url, timeout=1) as c:
        with anyio.move_on_after(3) as scope:
            await c.upload(src, dest, config=SERIAL, on_cancel="keep")
        assert scope.cancelled_caught, "part 2 was meant to hang"
        with pytest.raises(RemotePathNotFoundError):
            await c.stat(dest)  # not visible while a part is missing
        assert len(space.open_multipart_uploads()) == 1  # kept, to be resumed
        space.proxy.clear()
        with anyio.fail_after(20):
            await c.upload(src, dest, config=SERIAL)
        remote = await c.stat(dest)
        assert await c.list_pending_uploads(space.name) == []
    assert remote.checksum == crc_hex(data)
    assert space.read_object(remote.object_key) == data
    assert space.open_multipart_uploads() == []
    part1 = space.proxy.requests("PUT", r"[?&]partNumber=1(&|$)")
    part2 = space.proxy.requests("PUT", r"[?&]partNumber=2(&|$)")
    assert len(part1) == 1, "part 1 was sent again: the journal was not used"
    assert len(part2) == 2  # the stalled one, and the resumed one


async def test_slow_multipart_commit_is_never_half_visible(
    jetraw_platform: LocalPlatform, make_space: Callable[..., S3Space], tmp_path: Path
) -> None:
    """Parts and the S3 commit delayed (0.4 s each): a watcher polling all the while never
    sees the file before its bytes are complete, and sees it right after."""
    space = make_space(jetraw_platform)
    data = os.urandom(11 * MiB)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    dest = f"/{space.name}/big.bin"
    space.proxy.add(
        Rule("latency", "PUT", r"[?&]partNumber=", times=None, delay=0.4),
        Rule("latency", "POST", r"\?uploadId=", times=None, delay=0.4),
    )
    watcher = Watcher(jetraw_platform, space, [dest])
    async with (
        AsyncClient(jetraw_platform.api_key, server=jetraw_platform.url, timeout=2) as c,
        anyio.create_task_group() as tg,
    ):
        await tg.start(watcher.run)
        with anyio.fail_after(30):
            await c.upload(src, dest, config=SERIAL)
        await anyio.sleep(0.2)  # the watcher sees it at least once
        tg.cancel_scope.cancel()
    assert watcher.violations == []
    assert watcher.sightings >= 1
    assert space.open_multipart_uploads() == []
