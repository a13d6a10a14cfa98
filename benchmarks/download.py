"""Downloads side by side: ``python -m benchmarks.download [--scale X] [--runs N] [--https]``.

The sink (:mod:`benchmarks._sink`) serves every stored object as deterministic pattern bytes
(:mod:`benchmarks._pattern`). Set-up, untimed: the workload's files are pattern files (the
many-files workload already is one; big files are written once), uploaded once by jetraw into
the ``bench`` space on the sink bucket, so the reference platform records them with their
CRC-32C and the sink knows their keys and sizes. Then, rounds interleaved and the peer order
rotating, each peer downloads every object in a fresh child (:mod:`benchmarks._dl_peer`,
pinned to CPU 1; sink and platform on CPU 0) into a normal directory on the local disk (the
page cache: nothing is flushed), and the driver — untimed — checks every file's size and
CRC-32C against the pattern's, failing the run on any mismatch, and deletes the directory.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import google_crc32c

from benchmarks._dl_report import medians, table, write_download_report
from benchmarks._pattern import pattern_crc, pattern_file
from benchmarks._run import BUCKET, Bench, Run, _log
from benchmarks._sink import SinkProcess
from benchmarks._workloads import GiB, Workload, many_files

MiB = 1 << 20
PEERS = ("jetraw", "boto3", "s3fs", "obstore", "aiobotocore")
ROOT = Path(__file__).resolve().parent


def _workloads(args: argparse.Namespace) -> list[tuple[str, Workload]]:
    data = Path(args.data_dir)
    out: list[tuple[str, Workload]] = []
    for key in args.workloads:
        if key == "files":
            out.append((key, many_files(data, count=args.files, scale=args.scale)))
        elif key in ("2g", "8g"):
            size = int(int(key[0]) * GiB * args.scale)
            path = pattern_file(data / "dl", size, f"dl-{size}")
            out.append((key, Workload(f"{size / GiB:g} GiB file", [str(path)], "one file")))
        else:  # COUNTxKIB: a small-file set, e.g. 5000x64
            count, kib = (int(x) for x in key.split("x"))
            directory = data / "dl" / f"set-{count}x{kib}k"
            paths = [pattern_file(directory, kib * 1024, f"f{i:05d}") for i in range(count)]
            out.append((key, Workload(f"{count} x {kib} KiB", [str(p) for p in paths], key)))
    return out


def _verify(dest: Path, objects: list[Any]) -> list[str]:
    """Problems with the downloaded files: missing, wrong size or wrong CRC-32C."""
    found = {p.name: p for p in dest.rglob("*") if p.is_file()}
    problems = []
    for _key, size, key in objects:
        path = found.get(key)
        if path is None:
            problems.append(f"{key}: missing")
            continue
        if path.stat().st_size != size:
            problems.append(f"{key}: {path.stat().st_size} B, expected {size}")
            continue
        crc = 0
        with open(path, "rb") as f:
            while chunk := f.read(8 * MiB):
                crc = google_crc32c.extend(crc, chunk)
        if crc != pattern_crc(size):
            problems.append(f"{key}: wrong CRC-32C")
    if len(found) != len(objects):
        problems.append(f"{len(found)} files written, expected {len(objects)}")
    return problems


def _transport(bench: Bench, transport: str, keyed: list[tuple[str, Workload]]) -> None:
    from jetraw.testing import LocalPlatform

    args = bench.args
    with (
        SinkProcess(
            https=transport == "https", cpu=bench.server_cpu, workdir=bench.workdir / transport
        ) as sink,
        LocalPlatform() as platform,
    ):
        storage = {"type": "s3", "bucket": BUCKET, "endpoint_url": sink.url,
                   "region": "us-east-1", "prefix": ""}  # fmt: skip
        platform.create_space("bench", storage=storage)
        registered: dict[str, list[Any]] = {}
        for key, workload in keyed:
            prefix = f"dl-{key}"
            spec = bench._spec("jetraw", "defaults", workload, sink, platform, prefix)
            bench._child("benchmarks._peer", [json.dumps(spec)], 600 + workload.nbytes / MiB)
            info = {"server": platform.url, "api_key": platform.api_key, "space": "bench",
                    "prefix": prefix}  # fmt: skip
            listing = bench._child("benchmarks._dl_peer", ["list", json.dumps(info)], 120)
            objects = listing["objects"]
            sizes = sink.stats()["sizes"]
            assert all(sizes.get(f"{BUCKET}/{k}") == n for k, n, _ in objects), "sink lost some"
            assert len(objects) == len(workload.files), (len(objects), len(workload.files))
            registered[key] = sorted(objects)
            _log(f"{transport}: {workload.name} uploaded once (untimed) under {prefix}/")
        dest_root = Path(args.dest_dir)
        if args.profile:
            _profile(bench, transport, sink, platform, keyed, registered, dest_root)
        for rnd in range(args.runs):
            order = args.peers[rnd % len(args.peers) :] + args.peers[: rnd % len(args.peers)]
            _log(f"{transport}: round {rnd + 1}/{args.runs}")
            for key, workload in keyed:
                if key == "8g" and rnd >= args.big_runs:
                    continue
                for peer in order:
                    bench.runs.append(
                        _one(bench, transport, sink, platform, key, workload, peer,
                             registered[key], dest_root / f"{peer}-{key}")
                    )  # fmt: skip


def _one(
    bench: Bench, transport: str, sink: SinkProcess, platform: Any, key: str,
    workload: Workload, peer: str, objects: list[Any], dest: Path,
) -> Run:  # fmt: skip
    shutil.rmtree(dest, ignore_errors=True)
    spec = {
        "peer": "jetraw" if peer == "jetraw-base" else peer, "objects": objects,
        "prefix": f"dl-{key}", "dest": str(dest),
        "bucket": BUCKET, "endpoint": sink.url, "ca": sink.ca, "server": platform.url,
        "api_key": platform.api_key, "space": "bench", "cpu": bench.client_cpu,
    }  # fmt: skip
    run = Run(transport, workload.name, "defaults", peer, ok=False)
    cpu0 = sink.stats()["cpu_seconds"]
    env = bench.env
    if peer == "jetraw-base":  # the same peer, importing jetraw from --base-tree
        # Not PYTHONPATH: ``python -m`` puts the working directory (this tree) before it.
        bench.env = {**env, "BENCH_BASE_TREE": str(Path(bench.args.base_tree).resolve())}
    try:
        result = bench._child(
            "benchmarks._dl_peer", [json.dumps(spec)], 300 + workload.nbytes / (20 * MiB)
        )
        run.sink_cpu = sink.stats()["cpu_seconds"] - cpu0
        problems = _verify(dest, objects)
    except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
        run.error = str(exc)[:300]
        _log(f"  {peer} {workload.name}: FAILED {run.error}")
        return run
    finally:
        bench.env = env
        shutil.rmtree(dest, ignore_errors=True)
    run.bytes, run.files = result["bytes"], result["files"]
    run.wall, run.cpu, run.hwm_kib = result["wall"], result["cpu"], result["hwm_kib"]
    run.extra = {k: result[k] for k in ("sys", "rss_before_kib", "minor_faults", "exit_code")}
    if problems:
        run.error = "; ".join(problems[:5])
        _log(f"  {peer} {workload.name}: WRONG {run.error}")
        return run
    run.ok = True
    _log(
        f"  {peer:11s} {workload.name:12s} {run.mib_s:7.0f} MiB/s {run.cpu_per_gib:6.2f} cpu-s/GiB "
        f"(sys {result['sys'] / (run.bytes / GiB):.2f}, "
        f"{result['minor_faults'] / (run.bytes / GiB) / 1000:.0f}k faults/GiB) "
        f"{run.hwm_kib / 1024:6.0f} MiB RSS "
        f"{run.cpu / run.files * 1000:7.2f} cpu-ms/file "
        f"(sink {run.sink_cpu / (run.bytes / GiB):.2f})"
    )
    return run


def _profile(
    bench: Bench, transport: str, sink: SinkProcess, platform: Any,
    keyed: list[tuple[str, Workload]], registered: dict[str, list[Any]], dest_root: Path,
) -> None:  # fmt: skip
    """jetraw's download of each workload under py-spy; summaries to PROFILE-download-*.txt."""
    from benchmarks._profile import profile_env, py_spy, record, summarize_raw

    args = bench.args
    binary = py_spy()
    if binary is None:
        _log("--profile: py-spy is not installed (it is in the bench extra)")
        return
    parts = [f"py-spy profiles of jetraw downloads ({transport}, defaults), 100 Hz.\n"]
    for key, workload in keyed:
        dest = dest_root / f"profile-{key}"
        shutil.rmtree(dest, ignore_errors=True)
        spec = {
            "peer": "jetraw", "objects": registered[key], "prefix": f"dl-{key}",
            "dest": str(dest), "bucket": BUCKET, "endpoint": sink.url, "ca": sink.ca,
            "server": platform.url, "api_key": platform.api_key, "space": "bench",
            "cpu": bench.client_cpu,
        }  # fmt: skip
        raw = bench.workdir / f"profile-{transport}-{key}.raw"
        argv = [sys.executable, "-m", "benchmarks._dl_peer", json.dumps(spec)]
        record(binary, argv, raw, profile_env(bench.env), ROOT.parent)
        shutil.rmtree(dest, ignore_errors=True)
        parts.append(f"== {workload.name}\n{summarize_raw(raw)}")
    # Beside the report (which links to it), else beside this module.
    out = (Path(args.out).parent if args.out else ROOT) / f"PROFILE-download-jetraw-{transport}.txt"
    out.write_text("\n".join(parts), "utf-8")
    _log(f"wrote {out}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.download", description=__doc__)
    p.add_argument("--scale", type=float, default=1.0, help="multiply every big-file size")
    p.add_argument("--runs", type=int, default=3, help="interleaved rounds")
    p.add_argument("--https", action="store_true", help="also over HTTPS")
    p.add_argument(
        "--big-runs", type=int, default=None,
        help="rounds (per transport) that include the 8g workload (default: every round)",
    )  # fmt: skip
    p.add_argument("--files", type=int, default=200, help="files in the many-files workload")
    p.add_argument(
        "--peers",
        nargs="+",
        default=list(PEERS),
        choices=[*PEERS, "jetraw-base", "aiobotocore-verified"],
    )
    p.add_argument(
        "--base-tree", help="peer jetraw-base imports jetraw from here (git archive of a commit)"
    )
    p.add_argument(
        "--workloads", nargs="+", default=["files", "2g"],
        help="files, 2g, 8g, or COUNTxKIB small-file sets (5000x64, 10000x1024)",
    )  # fmt: skip
    p.add_argument("--no-pin", action="store_true", help="do not pin sink and client to cores")
    p.add_argument("--data-dir", default=os.path.join(tempfile.gettempdir(), "jetraw-bench-data"))
    p.add_argument("--dest-dir", help="where downloads go (default: beside the data)")
    p.add_argument(
        "--out", help="also write the report to this Markdown file (e.g. RESULTS-download.md)"
    )
    p.add_argument(
        "--profile", action="store_true",
        help="also profile jetraw with py-spy (PROFILE-download-*.txt beside --out)",
    )  # fmt: skip
    args = p.parse_args(argv)
    if args.big_runs is None:
        args.big_runs = args.runs
    if args.dest_dir is None:
        args.dest_dir = os.path.join(args.data_dir, "downloads")
    return args


def main(argv: list[str] | None = None) -> None:
    from benchmarks._run import _can_pin

    args = parse_args(argv)
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="jetraw-dl-bench-") as workdir:
        bench = Bench(args, Path(workdir))
        bench.pinned = _can_pin(args)
        if bench.pinned:
            os.sched_setaffinity(0, {0})
        keyed = _workloads(args)
        for transport in ["http", "https"] if args.https else ["http"]:
            _transport(bench, transport, keyed)
    print(table(medians(bench.runs)))
    if args.out:
        write_download_report(Path(args.out), args, bench.pinned, bench.runs, time.time() - started)


if __name__ == "__main__":
    main()
