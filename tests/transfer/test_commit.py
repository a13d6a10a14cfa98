"""A complete whose answer is lost never costs a committed file its bytes.

The state server processes the complete, then the connection drops before the answer arrives
(or the caller cancels while it is in flight). The SDK must look the upload up: committed →
the file counts as uploaded and its object stays; pending → complete again.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from jetraw._crc import crc32c, crc32c_hex
from jetraw._transfer import TransferConfig

from .conftest import SpaceUnderTest

pytestmark = pytest.mark.anyio

MiB = 1 << 20


class LosingTransport(httpx.AsyncBaseTransport):
    """Sends every request; the answers of the first ``drops`` completes are lost (or, with
    ``hang``, never come), after the server has processed them."""

    def __init__(self, drops: int = 1_000_000, *, hang: bool = False) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.drops = drops
        self.hang = hang
        self.lost = 0
        self.processed = anyio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        path = request.url.path
        if request.method == "POST" and path.endswith(("/complete", "/batch-complete")):
            await response.aread()
            await response.aclose()
            if self.hang:
                self.processed.set()
                await anyio.sleep_forever()
            if self.lost < self.drops:
                self.lost += 1
                raise httpx.ReadError("connection reset by peer (test)", request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


async def open_client(platform: Any, transport: LosingTransport) -> AsyncIterator[Any]:
    from jetraw.aio import AsyncClient

    async with AsyncClient(
        platform.api_key, server=platform.url, transport=transport, retries=0
    ) as c:
        yield c


async def check_committed(client: Any, space: SpaceUnderTest, dest: str, data: bytes) -> None:
    remote = await client.stat(dest)
    assert remote.size == len(data)
    assert remote.checksum == crc32c_hex(crc32c(data))
    assert space.read_object(remote.object_key) == data  # the bytes were not deleted
    assert await client.list_pending_uploads(space.name) == []


@pytest.mark.parametrize("drops", [1, 1_000_000])
async def test_lost_complete_answer_single_put(
    space: SpaceUnderTest, jetraw_platform: Any, tmp_path: Path, drops: int
) -> None:
    data = os.urandom(1000)
    (tmp_path / "f").write_bytes(data)
    transport = LosingTransport(drops)
    dest = f"/{space.name}/f"
    async for client in open_client(jetraw_platform, transport):
        result = await client.upload(tmp_path / "f", dest)
        assert transport.lost >= 1
        assert [f.status for f in result.files] == ["uploaded"]
        assert result.files[0].checksum == crc32c_hex(crc32c(data))
        await check_committed(client, space, dest, data)


@pytest.mark.parametrize("drops", [1, 1_000_000])
async def test_lost_batch_complete_answer(
    space: SpaceUnderTest, jetraw_platform: Any, tmp_path: Path, drops: int
) -> None:
    src = tmp_path / "tree"
    src.mkdir()
    files = {f"f{i}.bin": os.urandom(100 + i) for i in range(6)}
    for name, data in files.items():
        (src / name).write_bytes(data)
    transport = LosingTransport(drops)
    async for client in open_client(jetraw_platform, transport):
        result = await client.upload(src, f"/{space.name}/tree/")
        assert transport.lost >= 1
        assert {f.status for f in result.files} == {"uploaded"}
        for name, data in files.items():
            await check_committed(client, space, f"/{space.name}/tree/{name}", data)


async def test_lost_complete_answer_multipart(
    space: SpaceUnderTest, jetraw_platform: Any, tmp_path: Path
) -> None:
    data = os.urandom(2 * 5 * MiB + 17)
    (tmp_path / "big").write_bytes(data)
    config = TransferConfig(multipart_threshold=5 * MiB, part_size=5 * MiB)
    transport = LosingTransport()
    dest = f"/{space.name}/big"
    async for client in open_client(jetraw_platform, transport):
        result = await client.upload(tmp_path / "big", dest, config=config)
        assert transport.lost >= 1
        assert result.files[0].status == "uploaded"
        await check_committed(client, space, dest, data)
        assert space.open_multipart_uploads() == []
        assert not list((Path(os.environ["JETRAW_CONFIG_DIR"]) / "uploads").glob("*.json"))


async def upload_quietly(client: Any, local: Path, dest: str, config: TransferConfig) -> None:
    await client.upload(local, dest, config=config)


@pytest.mark.parametrize("size", [1000, 2 * 5 * MiB + 3])
async def test_cancelled_during_commit_keeps_committed_file(
    space: SpaceUnderTest, jetraw_platform: Any, tmp_path: Path, size: int
) -> None:
    data = os.urandom(size)
    (tmp_path / "f").write_bytes(data)
    config = TransferConfig(multipart_threshold=5 * MiB, part_size=5 * MiB)
    transport = LosingTransport(hang=True)
    dest = f"/{space.name}/f"
    async for client in open_client(jetraw_platform, transport):
        async with anyio.create_task_group() as tg:
            tg.start_soon(upload_quietly, client, tmp_path / "f", dest, config)
            with anyio.fail_after(30):
                await transport.processed.wait()  # the server committed; the answer hangs
            tg.cancel_scope.cancel()
        await check_committed(client, space, dest, data)


@pytest.mark.parametrize("size", [1000, 2 * 5 * MiB + 3])
async def test_lost_complete_answer_open_wb(
    space: SpaceUnderTest, jetraw_platform: Any, size: int
) -> None:
    from jetraw.aio import AsyncJetrawPath

    data = os.urandom(size)
    config = TransferConfig(multipart_threshold=5 * MiB, part_size=5 * MiB)
    transport = LosingTransport()
    dest = f"/{space.name}/streamed"
    async for client in open_client(jetraw_platform, transport):
        async with AsyncJetrawPath(dest, client=client).open("wb", config=config) as w:
            await w.write(data)
        assert transport.lost >= 1
        await check_committed(client, space, dest, data)
