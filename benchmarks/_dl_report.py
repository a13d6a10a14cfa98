"""Writes the downloads report (``--out``, e.g. ``benchmarks/RESULTS-download.md``).

Machine, method, medians per transport with ratios to the lean aiobotocore loop, the
profiles beside the report, and a computed reading against issue 9's targets.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path
from typing import Any

from benchmarks._report import report_head
from benchmarks._run import Run

__all__ = ["medians", "table", "write_download_report"]

GiB = 1 << 30
#: The reference the targets are stated against (issue 9: jetraw ≤ 1.15 × its CPU).
LEAN = "aiobotocore"


def medians(runs: list[Run]) -> list[dict[str, Any]]:
    """One row per (transport, workload, peer): medians of the runs that passed."""
    groups: dict[tuple[str, str, str], list[Run]] = {}
    for r in runs:
        groups.setdefault((r.transport, r.workload, r.peer), []).append(r)
    rows = []
    med = statistics.median
    for (transport, workload, peer), rs in groups.items():
        ok = [r for r in rs if r.ok]
        row: dict[str, Any] = {"transport": transport, "workload": workload, "peer": peer,
                               "n": len(ok), "error": rs[0].error if not ok else ""}  # fmt: skip
        if ok:
            row.update(
                cpu_per_gib=med(r.cpu_per_gib for r in ok),
                sys_per_gib=med(r.extra.get("sys", 0.0) / (r.bytes / GiB) for r in ok),
                cpu_ms_file=med(r.cpu / r.files * 1000 for r in ok),
                mib_s=med(r.mib_s for r in ok),
                files_s=med(r.files / r.wall for r in ok),
                rss_mib=med(r.hwm_kib / 1024 for r in ok),
            )
        rows.append(row)
    return rows


def _lean(rows: list[dict[str, Any]], row: dict[str, Any]) -> dict[str, Any] | None:
    for r in rows:
        if (r["transport"], r["workload"], r["peer"]) == (row["transport"], row["workload"], LEAN):
            return r if r["n"] else None
    return None


def table(rows: list[dict[str, Any]]) -> str:
    """Medians as a Markdown table, with CPU and MiB/s as a ratio to the lean loop's."""
    lines = [
        "| transport | workload | peer | n | CPU-s/GiB | (sys) | × lean CPU | CPU ms/file "
        "| MiB/s | × lean MiB/s | files/s | peak RSS MiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        head = f"| {r['transport']} | {r['workload']} | {r['peer']} "
        if not r["n"]:
            lines.append(head + f"| 0 (failed: {r['error'][:60]}) ||||||||")
            continue
        lean = _lean(rows, r)
        cpu_x = f"{r['cpu_per_gib'] / lean['cpu_per_gib']:.2f}" if lean else "—"
        mib_x = f"{r['mib_s'] / lean['mib_s']:.2f}" if lean else "—"
        lines.append(
            head + f"| {r['n']} | {r['cpu_per_gib']:.2f} | {r['sys_per_gib']:.2f} | {cpu_x} "
            f"| {r['cpu_ms_file']:.2f} | {r['mib_s']:.0f} | {mib_x} | {r['files_s']:.0f} "
            f"| {r['rss_mib']:.0f} |"
        )
    return "\n".join(lines)


def _reading(rows: list[dict[str, Any]]) -> list[str]:
    """jetraw against the targets, per transport and workload (computed, not written by hand)."""
    out = []
    for r in rows:
        if r["peer"] != "jetraw" or not r["n"]:
            continue
        same = [o for o in rows if o["n"] and (o["transport"], o["workload"]) ==
                (r["transport"], r["workload"]) and o["peer"] != "jetraw"]  # fmt: skip
        if not same:
            continue
        lean = _lean(rows, r)
        cpu_best = min(same, key=lambda o: o["cpu_per_gib"])
        fast = max(same, key=lambda o: o["mib_s"])
        ratio = f"{r['cpu_per_gib'] / lean['cpu_per_gib']:.2f} × lean CPU" if lean else "no lean"
        out.append(
            f"- {r['transport'].upper()}, {r['workload']}: jetraw {r['cpu_per_gib']:.2f} "
            f"CPU-s/GiB ({ratio}; target ≤ 1.15), cheapest other {cpu_best['peer']} "
            f"{cpu_best['cpu_per_gib']:.2f}; {r['mib_s']:.0f} MiB/s vs fastest other "
            f"{fast['peer']} {fast['mib_s']:.0f}; peak RSS {r['rss_mib']:.0f} MiB (target ≤ 200)."
        )
    return out


def write_download_report(
    path: Path, args: argparse.Namespace, pinned: bool, runs: list[Run], seconds: float
) -> None:
    rows = medians(runs)
    lines = [
        *report_head(
            "downloads",
            "benchmarks.download",
            seconds,
            "Regenerate with the same command (`nox -s bench` runs it after the uploads); "
            'hand-written notes are in `benchmarks/NOTES.md` ("Downloads").',
        ),
        "## Method",
        "",
        "- Endpoint: `benchmarks/_sink.py` serves every object it stored as deterministic pattern "
        "bytes (`benchmarks/_pattern.py`), whole or one `Range:`, with S3's headers. "
        + (
            "Sink and state server pinned to CPU 0, each client process to CPU 1."
            if pinned
            else "No CPU pinning (fewer than 2 cores, or --no-pin)."
        ),
        "- Set-up, untimed: each workload uploaded once by jetraw (the platform records its "
        "CRC-32C). Each run is a fresh process downloading every object into an empty local "
        "directory (page cache); CPU = getrusage around the download only (sys = the kernel's "
        "share, mostly page-cache writes), peak RSS = VmHWM, MiB/s = bytes / wall.",
        "- After every run the driver checks every file's size and CRC-32C (untimed); a "
        "mismatch fails the run.",
        f"- {args.runs} interleaved round(s), peer order rotating"
        + (
            f" (the 8 GiB file in the first {args.big_runs} only)"
            if getattr(args, "big_runs", args.runs) < args.runs
            else ""
        )
        + "; medians. × lean = ratio to the lean aiobotocore loop of the same row group.",
        "- Peers, library defaults: jetraw `AsyncClient.download` of the directory (ranged GETs "
        "of 8 MiB above 32 MiB, 10 in flight, CRC-32C verified, fsync + rename); boto3's "
        "transfer manager (`download_file`); s3fs `get`; obstore `get_async` streamed to a file "
        "(10 files at once); aiobotocore, the lean loop (16 MiB ranged GETs, 8 in flight, 1 MiB "
        "reads `pwrite`-n from the loop, no checksum, no fsync).",
        "",
    ]
    profiles = sorted(path.parent.glob("PROFILE-download-jetraw-*.txt")) if args.profile else []
    if profiles:
        lines += [
            "Profiles of jetraw per workload (py-spy, `--profile`): "
            + ", ".join(f"[{p.name}]({p.name})" for p in profiles),
            "",
        ]
    for transport in ("http", "https"):
        trows = [r for r in rows if r["transport"] == transport]
        if trows:
            lines += [f"## Results over {transport.upper()}", "", table(trows), ""]
    lines += ["## Reading (computed)", "", *_reading(rows), ""]
    path.write_text("\n".join(lines), "utf-8")
