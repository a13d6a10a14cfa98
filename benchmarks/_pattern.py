"""Deterministic object bytes for download benchmarks: one seeded 1 MiB block, repeated.

Every object the sink serves (``GET``, whole or ranged) is the first ``size`` bytes of the
infinite repetition of :data:`BLOCK`, the same block :func:`benchmarks._workloads.many_files`
writes: so the many-files workload's files *are* pattern files, and :func:`pattern_file` makes
the others. CRC-32C of any prefix is computed from the block's CRC by combination (cached per
size), never by reading the bytes.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Iterator
from pathlib import Path

import google_crc32c

from jetraw._crc import crc32c_combine

__all__ = ["BLOCK", "SEED", "pattern_crc", "pattern_file", "pattern_views"]

SEED = 20261128
BLOCK = random.Random(SEED).randbytes(1 << 20)
_VIEW = memoryview(BLOCK)
_BLOCK_CRC = google_crc32c.value(BLOCK)


@functools.lru_cache(maxsize=4096)
def _blocks_crc(count: int) -> int:
    """CRC-32C of ``count`` whole blocks (by doubling: O(log count) combinations)."""
    if count == 0:
        return 0
    half = _blocks_crc(count // 2)
    crc = crc32c_combine(half, half, (count // 2) * len(BLOCK))
    if count % 2:
        crc = crc32c_combine(crc, _BLOCK_CRC, len(BLOCK))
    return crc


@functools.lru_cache(maxsize=65536)
def pattern_crc(size: int) -> int:
    """CRC-32C of the first ``size`` bytes of the pattern."""
    whole, tail = divmod(size, len(BLOCK))
    crc = _blocks_crc(whole)
    if tail:
        crc = crc32c_combine(crc, google_crc32c.value(BLOCK[:tail]), tail)
    return crc


def pattern_views(offset: int, length: int) -> Iterator[memoryview]:
    """The pattern's bytes ``[offset, offset + length)`` as read-only slices of the block."""
    while length > 0:
        at = offset % len(BLOCK)
        n = min(length, len(BLOCK) - at)
        yield _VIEW[at : at + n]
        offset += n
        length -= n


def pattern_file(root: Path, size: int, name: str) -> Path:
    """A real file holding the pattern's first ``size`` bytes (written once, then reused)."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"{name}.pattern"
    if not path.exists() or path.stat().st_size != size:
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as f:
            for view in pattern_views(0, size):
                f.write(view)
        tmp.replace(path)
    return path
