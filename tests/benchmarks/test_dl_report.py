"""The downloads report: medians, ratios to the lean loop, the computed reading (no timing)."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks._dl_report import medians, table, write_download_report
from benchmarks._run import Run

GiB = 1 << 30


def _run(peer: str, cpu: float, wall: float, ok: bool = True) -> Run:
    run = Run("http", "1 GiB file", "defaults", peer, ok=ok, bytes=GiB, files=1, wall=wall,
              cpu=cpu, hwm_kib=100 * 1024, error="" if ok else "boom")  # fmt: skip
    run.extra = {"sys": cpu / 2}
    return run


def test_medians_ratios_and_report(tmp_path: Path) -> None:
    runs = [_run("jetraw", c, 2.0) for c in (1.0, 3.0, 1.2)]
    runs += [_run("aiobotocore", c, 1.0) for c in (1.0, 1.0, 0.9)]
    runs += [_run("s3fs", 1.0, 1.0, ok=False)]
    rows = medians(runs)
    jet = next(r for r in rows if r["peer"] == "jetraw")
    assert (jet["n"], jet["cpu_per_gib"], jet["sys_per_gib"], jet["mib_s"]) == (3, 1.2, 0.6, 512)
    text = table(rows)
    assert "| http | 1 GiB file | jetraw | 3 | 1.20 | 0.60 | 1.20 |" in text
    assert "| 0.50 |" in text  # jetraw's MiB/s is half the lean loop's
    assert "s3fs | 0 (failed: boom)" in text
    out = tmp_path / "RESULTS-download.md"
    args = argparse.Namespace(runs=3, profile=False)
    write_download_report(out, args, True, runs, 60.0)
    report = out.read_text("utf-8")
    assert report.startswith("# jetraw benchmarks: downloads side by side with the peers")
    assert "## Results over HTTP" in report
    assert "## Results over HTTPS" not in report
    assert "jetraw 1.20 CPU-s/GiB (1.20 × lean CPU; target ≤ 1.15)" in report
