"""The small-file workloads and per-file figures of the benchmark driver (not timed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from benchmarks._small import proc_cpu, small_table
from benchmarks._workloads import small_files


def test_small_files_are_distinct_and_sized(tmp_path: Path) -> None:
    w = small_files(tmp_path, "small64k", scale=0.001)
    assert len(w.files) == 5
    contents = [Path(p).read_bytes() for p in w.files]
    assert all(len(c) == 64 << 10 for c in contents)
    assert len(set(contents)) == 5
    assert w.name == "5 x 64 KiB"
    # Reused, not rewritten, on the next call.
    mtime = os.stat(w.files[0]).st_mtime_ns
    assert small_files(tmp_path, "small64k", scale=0.001).files == w.files
    assert os.stat(w.files[0]).st_mtime_ns == mtime


def test_proc_cpu_counts_another_process() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys,time\nt=time.process_time()\n"
         "while time.process_time()-t<0.3: pass\nsys.stdin.read()"],
        stdin=subprocess.PIPE,
    )  # fmt: skip
    try:
        first = proc_cpu(child.pid)
        assert first is not None
        while (proc_cpu(child.pid) or 0) < 0.25:
            pass
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait()
    assert proc_cpu(child.pid) is None  # reaped: no /proc entry
    assert proc_cpu(None) is None


def test_small_table_per_file_rows() -> None:
    base = {"transport": "http", "workload": "5 x 64 KiB", "mode": "defaults", "n": 1,
            "cpu_ms_per_file": 1.0, "sys_ms_per_file": 0.1, "sink_ms_per_file": 0.05,
            "rss_mib": 40.0}  # fmt: skip
    rows = [
        {**base, "peer": "jetraw", "files_per_s": 500.0, "round_trips": 0.02,
         "server_ms_per_file": 0.2},
        {**base, "peer": "obstore", "files_per_s": 1000.0, "server_ms_per_file": None},
    ]  # fmt: skip
    table = small_table(rows)
    assert "| jetraw | 500 | 0.50 | 1.000 (0.100) | 0.0200 | 0.20 |" in table[2]
    assert "| obstore | 1000 | 1.00 |" in table[3]
    assert "| — | — |" in table[3]
