"""The uploads report: target 3's linearity line compares the huge file with the 2 GiB file read
cold beside it (and still shows the warm row); the driver brackets the huge run (no timing)."""

from __future__ import annotations

import argparse
import types
from pathlib import Path
from typing import Any

from benchmarks._report import linearity, write_report
from benchmarks._run import Bench, Run, parse_args, summarize
from benchmarks._workloads import COLD_TAG

GiB = 1 << 30


def _run(workload: str, cpu: float, sys: float, gib: int = 2, peer: str = "jetraw") -> Run:
    run = Run("http", workload, "defaults", peer, ok=True, bytes=gib * GiB, files=1, wall=1.0,
              cpu=cpu * gib, hwm_kib=150 * 1024)  # fmt: skip
    run.extra = {"sys": sys * gib, "rss_before_kib": 70 * 1024, "minor_faults": 0}
    return run


def _runs() -> list[Run]:
    return [
        _run("2 GiB file", 0.95, 0.46),
        _run("2 GiB file", 0.97, 0.47),
        _run("2 GiB file", 1.28, 0.5, peer="lean-aiobotocore"),
        _run("2 GiB file" + COLD_TAG, 1.40, 0.80),
        _run("2 GiB file" + COLD_TAG, 1.50, 0.90),
        _run("50 GiB file", 1.42, 0.85, gib=50),
    ]


def test_linearity_compares_cold_with_cold_and_shows_warm() -> None:
    rows = summarize(_runs())
    huge = next(r for r in rows if r["workload"] == "50 GiB file")
    (line,) = linearity(rows, huge)
    # 1.42 / median(1.40, 1.50) = 0.98: met; against the warm row's 0.96, 1.48x.
    assert "50 GiB file 1.42 CPU-s/GiB (sys 0.85) = **0.98×** the 2 GiB file read cold" in line
    assert "(1.45, sys 0.85, median of 2;" in line
    assert ": met (user time" in line
    assert "read warm from the page cache (0.96, sys 0.46): 1.48×." in line


def test_linearity_not_met_and_without_a_cold_run() -> None:
    runs = [r for r in _runs() if not r.workload.endswith(COLD_TAG)]
    rows = summarize(runs)
    huge = next(r for r in rows if r["workload"] == "50 GiB file")
    assert linearity(rows, huge) == []
    rows = summarize([*runs, _run("2 GiB file" + COLD_TAG, 1.0, 0.5)])
    huge = next(r for r in rows if r["workload"] == "50 GiB file")
    (line,) = linearity(rows, huge)
    assert "**1.42×**" in line
    assert "not met" in line


def test_report_keeps_the_cold_rows_out_of_the_tables(tmp_path: Path) -> None:
    out = tmp_path / "RESULTS.md"
    args = parse_args(["--huge-gib", "50", "--runs", "2"])
    args.out = str(out)
    bench = types.SimpleNamespace(pinned=True, extras={})
    write_report(out, args, bench, summarize(_runs()), [], 60.0)
    report = out.read_text("utf-8")
    tables = report.split("## Results over HTTP")[1].split("## jetraw alone")[0]
    assert "| 2 GiB file | defaults | jetraw |" in tables
    assert COLD_TAG not in tables
    assert "= **0.98×** the 2 GiB file read cold around it" in report
    assert "between 3 run(s) of the 2 GiB file read cold" in report  # --cold-runs default


def test_driver_brackets_the_huge_file_with_cold_runs(tmp_path: Path) -> None:
    args = parse_args(["--scale", "1e-6", "--huge-gib", "1e-6", "--cold-runs", "2",
                       "--data-dir", str(tmp_path)])  # fmt: skip
    bench = Bench(args, tmp_path)
    calls: list[tuple[str, str, str | None]] = []

    def run_peer(*a: Any, cache: str | None = None) -> Run:
        workload = a[3]
        calls.append((workload.name, a[6], cache))
        return Run("http", workload.name, "defaults", "jetraw", ok=True)

    bench.run_peer = run_peer  # type: ignore[method-assign]
    bench.huge("http", None, None)  # type: ignore[arg-type]
    assert calls == [
        ("2e-06 GiB file" + COLD_TAG, "cold0", "cold"),
        ("1e-06 GiB file", "huge", "cold"),
        ("2e-06 GiB file" + COLD_TAG, "cold1", "cold"),
    ]
    # The same file as the 2 GiB workload (created once, reused).
    assert (tmp_path / "2e-06 GiB file.raw").exists()
    assert isinstance(args, argparse.Namespace)
