"""Resumable downloads: what an interrupted download leaves is re-verified and kept.

The in-process half (the ``kill -9`` half is in ``tests/crash``): a download cancelled or cut off
by a storage failure keeps ``.<name>.jetraw-partial`` and its journal; the next download of the
same file fetches only the missing chunks; a changed remote file, a corrupted chunk, a wrong
checksum or a second downloader never mix bytes.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from jetraw._exceptions import DownloadError, IntegrityError, StorageError
from jetraw._storage import LocalStorage, S3Storage
from jetraw._transfer import TransferConfig
from jetraw._transfer._download_journal import PartialDownload, partial_paths

from .conftest import SpaceUnderTest

pytestmark = pytest.mark.anyio

MiB = 1 << 20
CHUNK = 5 * MiB
SERIAL = TransferConfig(multipart_threshold=CHUNK, part_size=CHUNK, max_concurrency=1, attempts=1)
SIZE = 4 * CHUNK + 1234  # five ranges


class Ranges:
    """Spies on ranged reads; after ``stop_after`` whole ranges, the next one fails or hangs."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.done = 0
        self.stop_after: int | None = None
        self.hang = False
        self.started = anyio.Event()
        self.starts: list[int] = []
        ranges = self
        for cls in (LocalStorage, S3Storage):
            original = cls.iter_range

            def make(original: Any) -> Any:
                async def iter_range(
                    self: Any, key: str, start: int, length: int
                ) -> AsyncIterator[bytes]:
                    if ranges.stop_after is not None and ranges.done >= ranges.stop_after:
                        ranges.started.set()
                        if ranges.hang:
                            await anyio.sleep_forever()
                        raise StorageError("storage went away", retryable=False)
                    ranges.starts.append(start)
                    async for data in original(self, key, start, length):
                        yield data
                    ranges.done += 1

                return iter_range

            monkeypatch.setattr(cls, "iter_range", make(original))


@pytest.fixture
def ranges(monkeypatch: pytest.MonkeyPatch) -> Ranges:
    monkeypatch.setattr(PartialDownload, "INTERVAL", 0.0)  # journal every chunk: exact figures
    return Ranges(monkeypatch)


async def uploaded(client: Any, space: SpaceUnderTest, tmp_path: Path, name: str) -> bytes:
    data = os.urandom(SIZE)
    (tmp_path / name).write_bytes(data)
    await client.upload(tmp_path / name, f"/{space.name}/{name}", config=SERIAL, overwrite=True)
    return data


def journaled(local: Path) -> dict[str, int]:
    crcs: dict[str, int] = json.loads(partial_paths(local)[1].read_text())["crcs"]
    return crcs


def rot(path: Path, offset: int) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 1]))


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


async def cancelled_after(client: Any, src: str, out: Path, ranges: Ranges, n: int) -> None:
    ranges.stop_after, ranges.hang = n, True
    with anyio.move_on_after(60):
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: client.download(src, out, config=SERIAL))
            await ranges.started.wait()
            await anyio.sleep(0.05)
            tg.cancel_scope.cancel()
    ranges.stop_after, ranges.hang, ranges.started = None, False, anyio.Event()


async def test_cancelled_download_resumes(
    space: SpaceUnderTest, client: Any, tmp_path: Path, ranges: Ranges
) -> None:
    data = await uploaded(client, space, tmp_path, "f.bin")
    out = tmp_path / "out" / "f.bin"
    await cancelled_after(client, f"/{space.name}/f.bin", out, ranges, 3)
    assert not out.exists()
    assert leftovers(out.parent) == [".f.bin.jetraw-partial", ".f.bin.jetraw-partial.json"]
    assert sorted(journaled(out)) == ["0", "1", "2"]
    ranges.starts.clear()
    # A partial file is not an existing file: overwrite=False still downloads.
    result = await client.download(f"/{space.name}/f.bin", out, config=SERIAL)
    [entry] = result.files
    assert entry.status == "downloaded"
    assert entry.bytes_resumed == 3 * CHUNK
    assert entry.bytes_sent == SIZE - 3 * CHUNK
    assert ranges.starts == [3 * CHUNK, 4 * CHUNK]
    assert out.read_bytes() == data
    assert leftovers(out.parent) == []


async def test_storage_failure_keeps_the_partial_and_a_rerun_resumes(
    space: SpaceUnderTest, client: Any, tmp_path: Path, ranges: Ranges
) -> None:
    data = await uploaded(client, space, tmp_path, "g.bin")
    out = tmp_path / "g.bin.copy"
    ranges.stop_after = 2
    with pytest.raises(DownloadError) as info:
        await client.download(f"/{space.name}/g.bin", out, config=SERIAL)
    assert isinstance(info.value.result.files[0].error, StorageError)
    assert not out.exists()
    assert sorted(journaled(out)) == ["0", "1"]
    ranges.stop_after = None
    [entry] = (await client.download(f"/{space.name}/g.bin", out, config=SERIAL)).files
    assert (entry.bytes_resumed, entry.bytes_sent) == (2 * CHUNK, SIZE - 2 * CHUNK)
    assert out.read_bytes() == data
    assert leftovers(tmp_path) == []


async def test_a_changed_remote_file_discards_the_partial(
    space: SpaceUnderTest, client: Any, tmp_path: Path, ranges: Ranges
) -> None:
    await uploaded(client, space, tmp_path, "c.bin")
    out = tmp_path / "out" / "c.bin"
    await cancelled_after(client, f"/{space.name}/c.bin", out, ranges, 3)
    assert len(journaled(out)) == 3
    new = await uploaded(client, space, tmp_path, "c.bin")  # same size, new object and bytes
    [entry] = (await client.download(f"/{space.name}/c.bin", out, config=SERIAL)).files
    assert (entry.bytes_resumed, entry.bytes_sent) == (0, SIZE)
    assert out.read_bytes() == new
    assert leftovers(out.parent) == []


async def test_a_corrupted_kept_chunk_is_fetched_again(
    space: SpaceUnderTest, client: Any, tmp_path: Path, ranges: Ranges
) -> None:
    data = await uploaded(client, space, tmp_path, "k.bin")
    out = tmp_path / "out" / "k.bin"
    await cancelled_after(client, f"/{space.name}/k.bin", out, ranges, 3)
    rot(partial_paths(out)[0], CHUNK + 77)  # one bit of chunk 1 rots on disk
    ranges.starts.clear()
    [entry] = (await client.download(f"/{space.name}/k.bin", out, config=SERIAL)).files
    assert entry.bytes_resumed == 2 * CHUNK
    assert ranges.starts == [CHUNK, 3 * CHUNK, 4 * CHUNK]
    assert out.read_bytes() == data


async def test_a_journal_of_other_chunks_is_followed(
    space: SpaceUnderTest, client: Any, tmp_path: Path, ranges: Ranges
) -> None:
    """A rerun with another part size keeps the journal's chunking (its chunks still count)."""
    data = await uploaded(client, space, tmp_path, "p.bin")
    out = tmp_path / "out" / "p.bin"
    await cancelled_after(client, f"/{space.name}/p.bin", out, ranges, 2)
    bigger = TransferConfig(multipart_threshold=CHUNK, part_size=2 * CHUNK, max_concurrency=2)
    [entry] = (await client.download(f"/{space.name}/p.bin", out, config=bigger)).files
    assert entry.bytes_resumed == 2 * CHUNK
    assert out.read_bytes() == data


async def test_a_wrong_checksum_discards_the_partial(
    space: SpaceUnderTest, client: Any, tmp_path: Path, ranges: Ranges
) -> None:
    data = await uploaded(client, space, tmp_path, "w.bin")
    out = tmp_path / "out" / "w.bin"
    await cancelled_after(client, f"/{space.name}/w.bin", out, ranges, 2)
    remote = await client.stat(f"/{space.name}/w.bin")
    corrupt = bytearray(data)
    corrupt[4 * CHUNK + 5] ^= 1  # in a chunk not fetched yet
    space.write_object(remote.object_key, bytes(corrupt))
    with pytest.raises(DownloadError) as info:
        await client.download(f"/{space.name}/w.bin", out, config=SERIAL)
    assert isinstance(info.value.result.files[0].error, IntegrityError)
    assert list(out.parent.iterdir()) == []  # nothing of it kept: it cannot be trusted


async def test_two_downloads_to_one_destination_do_not_mix(
    space: SpaceUnderTest, client: Any, tmp_path: Path
) -> None:
    data = await uploaded(client, space, tmp_path, "t.bin")
    out = tmp_path / "out" / "t.bin"
    config = TransferConfig(multipart_threshold=CHUNK, part_size=CHUNK, max_concurrency=4)
    results: list[Any] = []

    async def one() -> None:
        src = f"/{space.name}/t.bin"
        results.append(await client.download(src, out, overwrite=True, config=config))

    async with anyio.create_task_group() as tg:
        tg.start_soon(one)
        tg.start_soon(one)
    assert [r.files[0].status for r in results] == ["downloaded", "downloaded"]
    assert out.read_bytes() == data
    assert leftovers(out.parent) == []


async def test_small_files_are_not_journaled(
    space: SpaceUnderTest, client: Any, tmp_path: Path
) -> None:
    """One range: nothing to resume but the whole, so no journal is written; a partial file a
    killed run left is emptied and rewritten."""
    (tmp_path / "s.bin").write_bytes(b"small")
    await client.upload(tmp_path / "s.bin", f"/{space.name}/s.bin")
    out = tmp_path / "out" / "s.bin"
    out.parent.mkdir()
    partial_paths(out)[0].write_bytes(b"junk from a killed run, longer than the file")
    [entry] = (await client.download(f"/{space.name}/s.bin", out)).files
    assert (entry.bytes_sent, entry.bytes_resumed) == (5, 0)
    assert out.read_bytes() == b"small"
    assert leftovers(out.parent) == []
