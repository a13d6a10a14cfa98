"""A failed streamed write (``open('wb')``, fsspec ``open('wb')``) names the user's path, not the
internal object key; the key stays in ``error.object_key`` (issue 13, item 6)."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest

import jetraw
from jetraw.aio import AsyncClient, AsyncJetrawPath, StorageError, TransferConfig
from jetraw.testing import LocalPlatform

pytestmark = pytest.mark.anyio


def _break_object_dirs(root: Path) -> None:
    """Every directory an object goes into becomes a regular file: storage writes fail."""
    for child in list(root.iterdir()):
        if child.is_dir() and not child.name.startswith("."):  # not the multipart staging
            shutil.rmtree(child)
            child.write_bytes(b"not a directory")


def _broken_space(platform: LocalPlatform) -> tuple[str, str]:
    """A fresh local space whose object directory cannot be written; (space, a key's prefix)."""
    name = f"broken-{uuid.uuid4().hex[:8]}"
    root = Path(platform.create_space(name)["storage"]["root"])
    with jetraw.Client(api_key=platform.api_key, server=platform.url) as client:
        jetraw.JetrawPath(f"/{name}/seed.bin", client=client).write_bytes(b"seed")
        key = client.stat(f"/{name}/seed.bin").object_key
    _break_object_dirs(root)
    return name, key.split("/", 1)[0]


@pytest.mark.parametrize("size", [1000, 12 << 20], ids=["single-put", "multipart"])
async def test_open_wb_failure_names_the_users_path(
    jetraw_platform: LocalPlatform, size: int
) -> None:
    space, prefix = _broken_space(jetraw_platform)
    remote = f"/{space}/run1/img.raw"
    config = TransferConfig(multipart_threshold=6 << 20, part_size=5 << 20)
    async with AsyncClient(api_key=jetraw_platform.api_key, server=jetraw_platform.url) as c:
        path = AsyncJetrawPath(remote, client=c)
        with pytest.raises(StorageError) as caught:
            async with path.open("wb", config=config) as f:
                await f.write(b"x" * size)
        assert not await path.exists()  # nothing appeared
    error = caught.value
    assert error.object_key is not None
    assert error.object_key.startswith(prefix)
    assert remote in str(error), str(error)
    assert error.object_key not in str(error), str(error)
    assert error.object_key.split("/")[-1] not in str(error)


def test_fsspec_open_wb_failure_names_the_users_path(jetraw_platform: LocalPlatform) -> None:
    import fsspec

    space, _ = _broken_space(jetraw_platform)
    fs = fsspec.filesystem(
        "jetraw",
        server=jetraw_platform.url,
        api_key=jetraw_platform.api_key,
        skip_instance_cache=True,
    )
    try:
        with pytest.raises(StorageError) as caught, fs.open(f"{space}/a/b.bin", "wb") as f:
            f.write(b"y" * 4096)
    finally:
        fs.close()
    error = caught.value
    assert f"/{space}/a/b.bin" in str(error), str(error)
    assert error.object_key is not None
    assert error.object_key not in str(error)
