"""Round trips through the reference platform to local and S3 (moto) spaces."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from jetraw._crc import crc32c, crc32c_hex
from jetraw._transfer import TransferConfig

from .conftest import SpaceUnderTest

pytestmark = pytest.mark.anyio

MiB = 1 << 20
SMALL = TransferConfig(multipart_threshold=5 * MiB, part_size=5 * MiB)


def make_file(path: Path, size: int, seed: int = 0) -> bytes:
    data = os.urandom(size) if size else b""
    path.write_bytes(data)
    return data


@pytest.mark.parametrize(
    "size",
    [0, 1, 5 * MiB - 1, 5 * MiB, 5 * MiB + 1, 3 * 5 * MiB + 1],
    ids=["0B", "1B", "threshold-1", "threshold", "threshold+1", "3parts+1"],
)
async def test_round_trip_small_config(
    size: int, space: SpaceUnderTest, client: Any, tmp_path: Path
) -> None:
    data = make_file(tmp_path / "src.bin", size)
    result = await client.upload(tmp_path / "src.bin", f"/{space.name}/dir/", config=SMALL)
    [entry] = result.files
    assert entry.status == "uploaded"
    assert entry.remote == f"/{space.name}/dir/src.bin"
    assert entry.size == size
    assert entry.checksum == crc32c_hex(crc32c(data))
    remote = await client.stat(f"/{space.name}/dir/src.bin")
    assert remote.size == size
    assert remote.checksum == crc32c_hex(crc32c(data))
    assert space.read_object(remote.object_key) == data
    assert space.open_multipart_uploads() == []
    out = tmp_path / "back.bin"
    await client.download(f"/{space.name}/dir/src.bin", out, config=SMALL)
    assert out.read_bytes() == data
    assert [name for name in os.listdir(tmp_path) if name.startswith(".")] == []


async def test_round_trip_64mib_plus_3_default_config(
    space: SpaceUnderTest, client: Any, tmp_path: Path
) -> None:
    size = 64 * MiB + 3
    data = make_file(tmp_path / "big.bin", size)
    events: list[Any] = []
    result = await client.upload(
        tmp_path / "big.bin", f"/{space.name}/big.bin", progress=events.append
    )
    assert result.files[0].status == "uploaded"
    remote = await client.stat(f"/{space.name}/big.bin")
    assert remote.checksum == crc32c_hex(crc32c(data))
    assert space.read_object(remote.object_key) == data
    assert space.open_multipart_uploads() == []
    kinds = [e.kind for e in events]
    assert kinds[0] == "started"
    assert "done" in kinds
    assert events[-1].bytes_done == size
    assert events[-1].files_done == 1
    back = tmp_path / "out"
    back.mkdir()
    await client.download(f"/{space.name}/big.bin", back)
    assert (back / "big.bin").read_bytes() == data


async def test_tree_of_500_files(space: SpaceUnderTest, client: Any, tmp_path: Path) -> None:
    root = tmp_path / "tree"
    expected: dict[str, bytes] = {}
    for i in range(500):
        rel = f"d{i % 7}/sub{i % 3}/f{i:03d}.bin"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        expected[rel] = make_file(root / rel, (i * 37) % 3000)
    result = await client.upload(root, f"/{space.name}/tree/")
    assert len(result.uploaded) == 500
    assert result.ok
    listed = {}
    async for entry in client.list_files(f"/{space.name}/tree", recursive=True):
        listed[entry.path[len("tree/") :]] = entry
    assert set(listed) == set(expected)
    for rel, data in list(expected.items())[::25]:
        assert space.read_object(listed[rel].object_key) == data
        assert listed[rel].checksum == crc32c_hex(crc32c(data))
    out = tmp_path / "back"
    down = await client.download(f"/{space.name}/tree", out)
    assert len(down.downloaded) == 500
    for rel, data in expected.items():
        assert (out / rel).read_bytes() == data


async def test_module_level_functions_use_the_default_client(
    space: SpaceUnderTest, jetraw_platform: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jetraw.aio

    monkeypatch.setenv("JETRAW_API_KEY", jetraw_platform.api_key)
    monkeypatch.setenv("JETRAW_SERVER", jetraw_platform.url)
    (tmp_path / "local-file").write_bytes(b"seed example")
    try:
        result = await jetraw.aio.upload(tmp_path / "local-file", f"/{space.name}/")
        assert result.files[0].remote == f"/{space.name}/local-file"
        path = jetraw.aio.AsyncJetrawPath(f"/{space.name}/local-file")
        assert await path.read_bytes() == b"seed example"
        down = await jetraw.aio.download(f"/{space.name}/local-file", tmp_path / "copy")
        assert down.files[0].status == "downloaded"
        assert (tmp_path / "copy").read_bytes() == b"seed example"
    finally:
        client = jetraw.aio.get_default_client()
        jetraw.aio.set_default_client(None)
        await client.aclose()


def responses(platform: Any) -> float:
    return sum(v for k, v in platform.metrics().items() if k.startswith("jetraw_http_responses"))


async def test_many_small_files_cost_few_round_trips(
    space: SpaceUnderTest, client: Any, jetraw_platform: Any, tmp_path: Path
) -> None:
    for i in range(300):
        (tmp_path / f"f{i:03d}").write_bytes(b"x" * i)
    await client.whoami()
    before = responses(jetraw_platform)
    result = await client.upload(tmp_path, f"/{space.name}/many/")
    assert len(result.uploaded) == 300
    after = responses(jetraw_platform)
    # 3 batch creates + a few batch completes (+ the metrics call itself), not 600 calls.
    assert after - before < 30
    (tmp_path / "f007").write_bytes(b"changed")
    before = responses(jetraw_platform)
    again = await client.upload(
        tmp_path, f"/{space.name}/many/", skip_existing=True, overwrite=True
    )
    assert len(again.skipped) == 299
    assert len(again.uploaded) == 1
    assert responses(jetraw_platform) - before < 15
