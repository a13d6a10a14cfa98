"""The benchmark's files: many log-normal 1-100 MB files (seeded), and sparse large files."""

from __future__ import annotations

import math
import os
import random
from dataclasses import dataclass
from pathlib import Path

__all__ = ["COLD_TAG", "SMALL", "Workload", "big_file", "many_files", "settle_cache", "small_files"]

MB = 1_000_000
GiB = 1 << 30
#: Appended to a workload's name when the driver reads it cold on purpose, beside the huge file
#: (target 3 compares cold with cold); those rows stay out of the peer tables and plots.
COLD_TAG = ", read cold"


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


def _mem_available() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:  # pragma: no cover - not Linux
        pass
    return 0


def settle_cache(files: list[str], want: str = "auto") -> str:
    """Put the files in the same page-cache state before every run; return ``"warm"`` or
    ``"cold"`` (``want``: that state, or ``"auto"``).

    The first read of a file not in the page cache costs the reader several times the system
    time of a cached read (for a sparse file: a zeroed page allocated per 4 KiB, 0.3-2 s/GiB
    here against ~0.15 cached), so without this the first peer of a round paid for the others.
    Files that fit in half the available memory are read through (every peer reads them
    cached); larger ones are dropped from the cache (every peer reads them cold).
    """
    total = sum(os.path.getsize(p) for p in files)
    warm = want == "warm" or (want == "auto" and total <= _mem_available() // 2)
    buf = memoryview(bytearray(8 << 20))
    for path in files:
        fd = os.open(path, os.O_RDONLY)
        try:
            if not warm:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                continue
            offset = 0
            while n := os.preadv(fd, [buf], offset):
                offset += n
        finally:
            os.close(fd)
    return "warm" if warm else "cold"
