"""The benchmark driver puts every peer's files in the same page-cache state (not a timed test)."""

from __future__ import annotations

from pathlib import Path

from benchmarks._run import parse_args
from benchmarks._workloads import big_file, settle_cache


def test_settle_cache_states(tmp_path: Path) -> None:
    work = big_file(tmp_path, 3 << 20, "f")
    assert settle_cache(work.files) == "warm"  # a small file fits in memory
    assert settle_cache(work.files, "cold") == "cold"
    assert settle_cache(work.files, "warm") == "warm"


def test_cache_flag() -> None:
    assert parse_args(["--workloads", "2g"]).cache == "auto"
    assert parse_args(["--cache", "cold"]).cache == "cold"
