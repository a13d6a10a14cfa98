"""Peak memory of a large upload, measured in a child process (the platform runs in another)."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

MiB = 1 << 20
GiB = 1 << 30
CHILD = Path(__file__).with_name("_child_memory.py")


def sparse_file(path: Path, size: int, rng: random.Random) -> None:
    with open(path, "wb") as f:
        f.write(rng.randbytes(4096))  # distinct heads; the rest is a hole
        f.truncate(size)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_peak_rss_under_200_mib(jetraw_platform: Any, tmp_path: Path) -> None:
    assert jetraw_platform.mode == "process"  # the server's memory is not the child's
    rng = random.Random(7)
    big = tmp_path / "big.bin"
    sparse_file(big, 2 * GiB, rng)
    tree = tmp_path / "tree"
    tree.mkdir()
    total = 2 * GiB
    for i in range(300):
        size = rng.randint(1_000_000, 20_000_000)
        sparse_file(tree / f"f{i:03d}.bin", size, rng)
        total += size
    name = f"t-{uuid.uuid4().hex[:12]}"
    root = Path(jetraw_platform.create_space(name)["storage"]["root"])
    try:
        out = subprocess.run(
            [
                sys.executable,
                str(CHILD),
                jetraw_platform.url,
                jetraw_platform.api_key,
                f"/{name}/mem/",
                str(big),
                str(tree),
            ],
            capture_output=True,
            timeout=840,
            check=False,
        )
        assert out.returncode == 0, out.stderr.decode()[-3000:]
        report = json.loads(out.stdout.decode().strip().splitlines()[-1])
        print("memory test:", report)
        assert report["files"] == 301
        assert report["bytes"] == total
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork/exec from this process.
        assert report["vm_hwm_kib"] * 1024 < 200 * MiB, report
        if report["ru_maxrss_at_start_kib"] * 1024 < 100 * MiB:  # not inherited from us
            assert report["ru_maxrss_kib"] * 1024 < 200 * MiB, report
    finally:
        # Free the ~5 GB on disk now rather than at the end of the session.
        shutil.rmtree(root / "objects", ignore_errors=True)
