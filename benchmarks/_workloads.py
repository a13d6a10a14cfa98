"""The benchmark's files: many log-normal 1-100 MB files (seeded), and sparse large files."""

from __future__ import annotations

import math
import os
import random
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SMALL", "Workload", "big_file", "many_files", "small_files"]

MB = 1_000_000
GiB = 1 << 30


@dataclass(frozen=True)
class Workload:
    """A named set of files uploaded together in one run."""

    name: str
    files: list[str]
    description: str

    @property
    def nbytes(self) -> int:
        return sum(os.path.getsize(p) for p in self.files)


def many_files(
    root: Path, *, count: int = 200, scale: float = 1.0, seed: int = 20261128
) -> Workload:
    """``count`` files, sizes log-normal (median 10 MB, sigma 1) clipped to 1-100 MB, times
    ``scale``. Real bytes (a random block repeated), written once and reused: they sit in the
    page cache, so the disk is not what is measured."""
    rng = random.Random(seed)
    directory = root / f"many-{count}-{scale:g}"
    directory.mkdir(parents=True, exist_ok=True)
    block = random.Random(seed).randbytes(1 << 20)
    files = []
    for i in range(count):
        size = int(min(100 * MB, max(1 * MB, rng.lognormvariate(math.log(10 * MB), 1.0))) * scale)
        size = max(size, 1)
        path = directory / f"img-{i:04d}.raw"
        if not path.exists() or path.stat().st_size != size:
            with open(path, "wb") as f:
                left = size
                while left:
                    n = min(left, len(block))
                    f.write(block[:n])
                    left -= n
        files.append(str(path))
    total = sum(os.path.getsize(p) for p in files)
    return Workload(
        f"{count} files",
        files,
        f"{count} files, log-normal 1-100 MB x {scale:g} (seeded), {total / GiB:.2f} GiB in all",
    )


def big_file(root: Path, size: int, name: str) -> Workload:
    """One sparse file of ``size`` bytes (reads are zeros from the page cache, not the disk)."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"{name}.raw"
    if not path.exists() or path.stat().st_size != size:
        with open(path, "wb") as f:
            f.truncate(size)
    return Workload(name, [str(path)], f"one sparse file of {size / GiB:.2f} GiB")


#: The small-file workloads (issue 9, item 2): key -> (file count, file size).
SMALL = {"small64k": (5_000, 64 << 10), "small1m": (10_000, 1 << 20)}


def small_files(root: Path, key: str, *, scale: float = 1.0, seed: int = 20261207) -> Workload:
    """``SMALL[key]``: many files of one size (the count times ``scale``, the size fixed), real
    bytes (distinct per file: a seeded block with the file's index in front), in the page cache
    after the first run."""
    count, size = SMALL[key]
    count = max(1, int(count * scale))
    directory = root / f"{key}-{count}"
    directory.mkdir(parents=True, exist_ok=True)
    block = random.Random(seed).randbytes(size)
    files = []
    for i in range(count):
        path = directory / f"f-{i:05d}.raw"
        if not path.exists() or path.stat().st_size != size:
            head = f"{i:08d}".encode()
            path.write_bytes(head + block[len(head) :])
        files.append(str(path))
    label = f"{size >> 10} KiB" if size < (1 << 20) else f"{size >> 20} MiB"
    return Workload(
        f"{count} x {label}",
        files,
        f"{count:,} files of {label} each ({count * size / GiB:.2f} GiB)",
    )
