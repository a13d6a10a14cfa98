"""Downloads write network chunks in batches: one ``pwritev`` (one thread hop) per ~4 MiB."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from .conftest import SpaceUnderTest

pytestmark = pytest.mark.anyio

MiB = 1 << 20


async def test_chunks_are_written_in_batches(
    space: SpaceUnderTest, client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jetraw._transfer import _download

    size = 20 * MiB + 12345  # one range (below the multipart threshold), many network chunks
    data = os.urandom(size)
    (tmp_path / "f").write_bytes(data)
    await client.upload(tmp_path / "f", f"/{space.name}/f")
    writes: list[tuple[int, int, int]] = []
    real = _download.write_vectored

    def counting(fd: int, buffers: Any, offset: int) -> None:
        writes.append((offset, len(buffers), sum(len(b) for b in buffers)))
        real(fd, buffers, offset)

    monkeypatch.setattr(_download, "write_vectored", counting)
    (tmp_path / "out").mkdir()
    result = await client.download(f"/{space.name}/f", tmp_path / "out")
    assert (tmp_path / "out" / "f").read_bytes() == data
    assert result.files[0].bytes_sent == size
    # Back to back, each batch ~4 MiB but the last: 6 writes, not one per network chunk.
    assert [o for o, _, _ in writes] == [
        sum(n for _, _, n in writes[:i]) for i in range(len(writes))
    ]
    assert sum(n for _, _, n in writes) == size
    assert len(writes) <= -(-size // _download._WRITE_BATCH) + 1
    assert all(n >= _download._WRITE_BATCH for _, _, n in writes[:-1])
