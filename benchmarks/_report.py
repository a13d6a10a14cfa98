"""Writes ``benchmarks/RESULTS.md``: machine, versions, settings, medians, ratios, a reading."""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import os
import platform
import sys
from pathlib import Path
from typing import Any

from benchmarks._workloads import COLD_TAG

__all__ = ["linearity", "machine_facts", "write_report"]

_VERSIONS = (
    "jetraw", "boto3", "botocore", "s3transfer", "aiobotocore", "aiohttp", "s3fs", "fsspec",
    "obstore", "httpx", "google-crc32c",
)  # fmt: skip
NOTES = Path(__file__).resolve().parent / "NOTES.md"


def machine_facts() -> dict[str, str]:
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            mem = f"{int(f.readline().split()[1]) / (1 << 20):.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    versions = []
    for name in _VERSIONS:
        try:
            versions.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    return {
        "CPU": f"{model}, {os.cpu_count()} cores",
        "Memory": mem,
        "Kernel": f"{platform.system()} {platform.release()}",
        "Python": sys.version.split()[0],
        "Load average at the end": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "Libraries": ", ".join(versions),
    }


def _fmt(row: dict[str, Any], key: str, spec: str) -> str:
    value = row.get(key)
    return "—" if value is None else format(value, spec)


def _table(rows: list[dict[str, Any]]) -> list[str]:
    out = [
        "| workload | settings | peer | CPU s/GiB (sys) | × best | peak RSS MiB (before) | × best "
        "| MiB/s | × best | runs | sink CPU s/GiB |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        if not r["n"]:
            err = "; ".join(r["errors"])[:160].replace("|", "/")
            out.append(
                f"| {r['workload']} | {r['mode']} | {r['peer']} | failed: {err} | | | | | | "
                f"0/{r['failed']} | |"
            )
            continue
        best = " **best**"
        failed = f" (+{r['failed']} failed)" if r["failed"] else ""
        if r.get("exit_crashes"):
            failed += f" ({r['exit_crashes']} crashed at exit)"
        out.append(
            f"| {r['workload']} | {r['mode']} | {r['peer']} | {r['cpu_per_gib']:.2f} "
            f"({r['sys_per_gib']:.2f}) | "
            f"{r['cpu_ratio']:.2f}{best if r['cpu_ratio'] == 1 else ''} | {r['rss_mib']:.0f} "
            f"({r['rss_before_mib']:.0f}) | "
            f"{r['rss_ratio']:.2f}{best if r['rss_ratio'] == 1 else ''} | {r['mib_s']:.0f} | "
            f"{r['speed_ratio']:.2f}{best if r['speed_ratio'] == 1 else ''} | "
            f"{r['n']}{failed} | "
            f"{r['sink_cpu_per_gib']:.2f} |"
        )
    return out


def _reading(rows: list[dict[str, Any]]) -> list[str]:
    """Facts computed from the table: where jetraw is best, and where it is not."""
    out = []
    for r in rows:
        if r["peer"] != "jetraw" or not r["n"] or "cpu_ratio" not in r:
            continue
        key = (r["transport"], r["workload"], r["mode"])
        peers = [
            x
            for x in rows
            if (x["transport"], x["workload"], x["mode"]) == key
            and x["n"]
            and x["peer"] != "jetraw"
        ]
        if not peers:
            continue
        cpu_best = min(peers, key=lambda x: x["cpu_per_gib"])
        speed_best = max(peers, key=lambda x: x["mib_s"])
        rss_best = min(peers, key=lambda x: x["rss_mib"])
        out.append(
            f"- {r['transport']}, {r['workload']}, {r['mode']}: jetraw {r['cpu_per_gib']:.2f} "
            f"CPU-s/GiB vs best peer {cpu_best['peer']} {cpu_best['cpu_per_gib']:.2f} "
            f"(×{r['cpu_per_gib'] / cpu_best['cpu_per_gib']:.2f}); {r['mib_s']:.0f} MiB/s vs "
            f"{speed_best['peer']} {speed_best['mib_s']:.0f}; RSS {r['rss_mib']:.0f} MiB vs "
            f"{rss_best['peer']} {rss_best['rss_mib']:.0f}."
        )
    return out


def linearity(rows: list[dict[str, Any]], huge: dict[str, Any]) -> list[str]:
    """Issue 9's target 3 (≤ 1.1×): the huge file's jetraw CPU per GiB against the 2 GiB file
    read cold beside it (same process settings: the huge file cannot be read warm), and, for
    reference, against the 2 GiB row of the table (read warm, from the page cache)."""
    if not huge["n"]:
        return []

    def jetraw(pick: Any) -> dict[str, Any] | None:
        found = [r for r in rows if r["peer"] == "jetraw" and r["n"]
                 and r["transport"] == huge["transport"] and r["mode"] == huge["mode"]
                 and pick(r["workload"])]  # fmt: skip
        return found[0] if found else None

    cold = jetraw(lambda w: w.endswith(COLD_TAG))
    if cold is None:
        return []
    warm = jetraw(lambda w: w == cold["workload"].removesuffix(COLD_TAG))
    ratio = huge["cpu_per_gib"] / cold["cpu_per_gib"]
    user = (huge["cpu_per_gib"] - huge["sys_per_gib"]) / (cold["cpu_per_gib"] - cold["sys_per_gib"])
    line = (
        f"Linearity (issue 9, target 3: ≤ 1.1×): {huge['workload']} "
        f"{huge['cpu_per_gib']:.2f} CPU-s/GiB (sys {huge['sys_per_gib']:.2f}) = **{ratio:.2f}×** "
        f"the {cold['workload'].removesuffix(COLD_TAG)} read cold around it "
        f"({cold['cpu_per_gib']:.2f}, sys {cold['sys_per_gib']:.2f}, median of {cold['n']}; "
        f"{cold['mib_s']:.0f} MiB/s, RSS {cold['rss_mib']:.0f} MiB): "
        f"{'met' if ratio <= 1.1 else 'not met'} (user time {user:.2f}×)."
    )
    if warm is not None:
        line += (
            f" Against the table's {warm['workload']} row, read warm from the page cache "
            f"({warm['cpu_per_gib']:.2f}, sys {warm['sys_per_gib']:.2f}): "
            f"{huge['cpu_per_gib'] / warm['cpu_per_gib']:.2f}×."
        )
    return [line]


def report_head(what: str, module: str, seconds: float, regenerate: str) -> list[str]:
    """A report's title, how it was written (``python -m <module> <argv>``), and the machine."""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return [
        f"# jetraw benchmarks: {what} side by side with the peers",
        "",
        f"Written by `python -m {module} {' '.join(sys.argv[1:])}` on {now} "
        f"({seconds / 60:.1f} min). {regenerate}",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in machine_facts().items()],
        "",
    ]


def write_report(
    path: Path,
    args: argparse.Namespace,
    bench: Any,
    rows: list[dict[str, Any]],
    workloads: list[Any],
    seconds: float,
) -> None:
    from benchmarks._run import MATCHED

    lines = [
        *report_head(
            "uploads",
            "benchmarks",
            seconds,
            "Regenerate with the same command; hand-written notes come from `benchmarks/NOTES.md`.",
        ),
        "## Method",
        "",
        "- Endpoint: `benchmarks/_sink.py`, a minimal S3 server that discards bytes (keeps sizes; "
        "verifies CRC-32C/CRC-32 when sent, and FULL_OBJECT CRC-32C at completion), one asyncio "
        "process. "
        + (
            "Sink and state server pinned to CPU 0, each client process to CPU 1."
            if bench.pinned
            else "No CPU pinning (fewer than 2 cores, or --no-pin)."
        ),
        "- Each run is a fresh process; CPU = getrusage (self + children) around the upload "
        "only (after imports and client setup), peak RSS = the process's VmHWM (includes the "
        "interpreter and imports), MiB/s = bytes / wall time of the upload.",
        (
            "- Before every run the driver puts the workload's files in the same page-cache "
            "state for every peer: read through (cached) when they fit in half the available "
            "memory, else dropped from the cache (read cold by every peer; the huge file). "
            "Earlier runs let the first peer of a round read them cold for the others."
            if args.cache == "auto"
            else f"- Before every run the driver puts the workload's files in the page cache "
            f"state `--cache {args.cache}` for every peer."
        ),
        "- After every run the sink's object count and stored bytes are checked against the "
        "workload, and its checksum/length mismatch counters must be zero; a run that fails this "
        "counts as failed.",
        f"- {args.runs} interleaved round(s) (peer order rotates each round); medians; × best = "
        "ratio to the best peer of that row group (lower is better for CPU and RSS, higher for "
        "MiB/s).",
        f"- Matched settings: part size {MATCHED['part_size'] >> 20} MiB, concurrency "
        f"{MATCHED['concurrency']}, multipart threshold {MATCHED['threshold'] >> 20} MiB (jetraw's "
        "byte budget = concurrency × part size; s3fs: chunksize, max_concurrency and batch_size; "
        "obstore: chunk_size, max_concurrency per file and 10 files at once).",
        "- Defaults: each library as shipped (jetraw TransferConfig(): 8 MiB parts, threshold 32 "
        "MiB, 10 requests, 64 MiB budget; boto3 TransferConfig(): 8 MiB/8 MiB/10 threads; s3fs: "
        "50 MiB chunks, put_object below 100 MiB, max_concurrency 10, fsspec batch size; "
        "obstore put: its chunk size/12 parts per file, files 10 at once via asyncio; aiobotocore: "
        "the plain loop with 8 MiB parts and 10 requests, whole-part `read()`; lean-aiobotocore, "
        "issue 9's raw loop in both modes: 16 MiB parts, 8 in flight, unsigned payload, "
        "`when_required` checksums, no CRC; jetraw-sync: jetraw_sync.Client.upload, the async "
        "engine on the sync facade's loop thread, same settings as jetraw).",
        "- Workloads: "
        + "; ".join(w.description for w in workloads)
        + "."
        + (
            f" Plus one {args.huge_gib:g} GiB sparse file by jetraw alone, read cold, between "
            f"{args.cold_runs} run(s) of the {2 * args.scale:g} GiB file read cold (same process "
            "settings; target 3 compares the two cold reads)."
            if args.huge_gib
            else ""
        ),
        "",
    ]
    from benchmarks._plots import write_plots

    plain = [r for r in rows if not r["workload"].endswith(COLD_TAG)]
    plots = write_plots(path, plain, f"{args.huge_gib:g} GiB" if args.huge_gib else None)
    if plots:
        lines += ["## Plots", "", *[f"![{p.stem}]({p.name})" for p in plots], ""]
    profiles = sorted(path.parent.glob("PROFILE-jetraw-*.txt")) if args.profile else []
    if profiles:
        lines += [
            "Profiles of jetraw per workload (py-spy, `--profile`): "
            + ", ".join(f"[{p.name}]({p.name})" for p in profiles),
            "",
        ]
    lines += [
        "Downloads, measured the same way against the same peers (`python -m benchmarks."
        "download`, run by `nox -s bench` after this one): [RESULTS-download.md]"
        "(RESULTS-download.md).",
        "",
    ]
    for transport in ("http", "https"):
        trows = [r for r in rows if r["transport"] == transport and not r["workload"].startswith(
            f"{args.huge_gib:g} GiB") and not r["workload"].endswith(COLD_TAG)]  # fmt: skip
        if not trows:
            continue
        lines += [f"## Results over {transport.upper()}", "", *_table(trows), ""]
    huge = [r for r in rows if r["workload"].startswith(f"{args.huge_gib:g} GiB")]
    if huge:
        h = huge[0]
        lines += ["## jetraw alone: one large sparse file", ""]
        if h["n"]:
            lines.append(
                f"{h['workload']}: {h['mib_s']:.0f} MiB/s, {h['cpu_per_gib']:.2f} CPU-s/GiB, peak "
                f"RSS {h['rss_mib']:.0f} MiB, {h['max_part']} parts (S3 allows 10,000; fixed 5 "
                "or 8 "
                "MiB parts cap an object at 49 or 78 GiB)."
            )
        else:
            lines.append(f"{h['workload']}: FAILED: {'; '.join(h['errors'])}")
        for c in (r for r in rows if r["workload"].endswith(COLD_TAG) and not r["n"]):
            lines.append(f"{c['workload']}: FAILED: {'; '.join(c['errors'])}")
        lines += ["", *linearity(rows, h), ""]
    small = {w.name for w in workloads if w.name.split(" x ")[0].isdigit()}
    if small:
        from benchmarks._small import small_table

        chosen = [r for r in rows if r["workload"] in small and r["n"]]
        lines += ["## Small files: per file", "", *small_table(chosen), ""]
    trips = [r for r in rows if r["peer"] == "jetraw" and r.get("round_trips") is not None]
    extras = bench.extras
    lines += ["## State server and facade", ""]
    for r in trips:
        lines.append(
            f"- State-server HTTP requests per file ({r['transport']}, {r['workload']}, "
            f"{r['mode']}): {r['round_trips']:.2f}"
        )
    ov = extras.get("overhead", {})
    if "error" in ov:
        lines.append(f"- Sync facade overhead: FAILED: {ov['error']}")
    elif ov:
        lines.append(
            "- Sync facade vs async: `get_space` (cached, no I/O) "
            f"{ov['sync_get_space_us']:.0f} µs "
            f"sync vs {ov['async_get_space_us']:.1f} µs async per call; `whoami` (one round trip) "
            f"{ov['sync_whoami_us']:.0f} µs sync vs {ov['async_whoami_us']:.0f} µs async."
        )
    rf = extras.get("refresh", {})
    if "error" in rf:
        lines.append(f"- Refreshes under concurrency: FAILED: {rf['error']}")
    elif rf:
        lines.append(
            f"- Token grants per expiry with {rf['calls']} concurrent `whoami` calls just after "
            f"the access token ({rf['ttl']} s lifetime) expired: "
            f"{', '.join(f'{g:g}' for g in rf['grants_per_expiry'])}; 401 answers: "
            f"{', '.join(f'{g:g}' for g in rf.get('unauthorized_per_expiry', []))} (bursts took "
            f"{', '.join(f'{s:.2f}' for s in rf['seconds_per_burst'])} s)."
        )
    lines += ["", "## Reading (computed)", "", *_reading(rows), ""]
    if NOTES.exists():
        lines += [NOTES.read_text("utf-8").rstrip(), ""]
    path.write_text("\n".join(lines), "utf-8")
