"""The benchmark driver: ``python -m benchmarks [--quick] [--scale X] [--runs N] [--https]``.

Starts the S3 sink and the reference platform (each in its own child process, pinned to CPU 0),
then runs every (workload, settings, peer) combination in a fresh child pinned to CPU 1, rounds
interleaved (peer order rotates every round), and checks after each run that the sink stored
exactly the bytes and objects of the workload with no checksum or framing mismatch. Writes
``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks._profile import profile_env, py_spy, record, summarize_raw
from benchmarks._report import write_report
from benchmarks._sink import SinkProcess
from benchmarks._small import proc_cpu
from benchmarks._workloads import (
    COLD_TAG,
    SMALL,
    GiB,
    Workload,
    big_file,
    many_files,
    settle_cache,
    small_files,
)

MiB = 1 << 20
PEERS = ("jetraw", "boto3", "s3fs", "obstore", "aiobotocore", "lean-aiobotocore")
#: Peers run only when asked for (``--peers``): jetraw's sync facade (issue 9, target 6) and
#: jetraw with the lean small-PUT path off; jetraw imported from ``--base-tree`` (before/after).
OPTIONAL_PEERS = ("jetraw-sync", "jetraw-botocore", "jetraw-base")
WORKLOADS = ("files", "2g", "8g", *SMALL)
MODES = ("defaults", "matched")
MATCHED = {"part_size": 16 * MiB, "concurrency": 10, "threshold": 32 * MiB}
BUCKET = "bench"
ROOT = Path(__file__).resolve().parent


@dataclass
class Run:
    transport: str
    workload: str
    mode: str
    peer: str
    ok: bool
    bytes: int = 0
    files: int = 0
    wall: float = 0.0
    cpu: float = 0.0
    hwm_kib: int = 0
    sink_cpu: float = 0.0
    round_trips: float | None = None
    server_cpu: float | None = None
    error: str = ""
    #: The files' page-cache state at the start ("warm" or "cold", benchmarks._workloads).
    cache: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def cpu_per_gib(self) -> float:
        return self.cpu / (self.bytes / GiB)

    @property
    def mib_s(self) -> float:
        return self.bytes / MiB / self.wall


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _http_total(metrics: dict[str, float]) -> float:
    return sum(v for k, v in metrics.items() if k.startswith("jetraw_http_responses_total"))


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.runs: list[Run] = []
        self.extras: dict[str, Any] = {}
        self.pinned = _can_pin(args)
        self.server_cpu = 0 if self.pinned else None
        self.client_cpu = 1 if self.pinned else None
        self.env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": "bench-key",
            "AWS_SECRET_ACCESS_KEY": "bench-secret",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
            "JETRAW_CONFIG_DIR": str(workdir / "jetraw-config"),
            "JETRAW_TOKEN_STORAGE": "memory",
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(ROOT.parent), os.environ.get("PYTHONPATH")) if p
            ),
        }
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
            self.env.pop(name, None)

    # -- child processes -------------------------------------------------------------------------

    def _child(
        self, module: str, args: list[str], timeout: float, env: dict[str, str] | None = None
    ) -> dict[str, Any]:
        if sum(len(a) for a in args) > 64 * 1024:
            # Linux caps one argument at 128 KiB: a long spec goes in a file, named "@path".
            spec = self.workdir / f"spec-{time.monotonic_ns()}.json"
            spec.write_text(args[-1], "utf-8")
            args = [*args[:-1], f"@{spec}"]
        # BENCH_WRAP="strace -f -c -o /tmp/x": run each child under a tool (counts, not timings).
        wrap = shlex.split(os.environ.get("BENCH_WRAP", ""))
        proc = subprocess.run(
            [*wrap, sys.executable, "-m", module, *args],
            capture_output=True,
            text=True,
            env=self.env if env is None else env,
            timeout=timeout,
            cwd=ROOT.parent,
        )
        lines = proc.stdout.strip().splitlines()
        if proc.returncode != 0 and not (lines and lines[-1].startswith("{")):
            noise = ("Unclosed", "connections:", "connector:", "client_session:", "  ")
            useful = [
                line for line in (proc.stderr or proc.stdout).strip().splitlines()
                if line.strip() and not line.startswith(noise)
            ]  # fmt: skip
            tail = useful[-3:]
            raise RuntimeError(f"exit {proc.returncode}: " + " | ".join(tail)[:400])
        result: dict[str, Any] = json.loads(lines[-1])
        # The measurement was printed; a crash while the interpreter shut down is noted.
        result["exit_code"] = proc.returncode
        return result

    def _spec(
        self, peer: str, mode: str, workload: Workload, sink: SinkProcess, platform: Any,
        prefix: str,
    ) -> dict[str, Any]:  # fmt: skip
        return {
            "peer": peer,
            "mode": mode,
            "matched": MATCHED,
            "files": workload.files,
            "prefix": prefix,
            "bucket": BUCKET,
            "endpoint": sink.url,
            "ca": sink.ca,
            "server": platform.url,
            "api_key": platform.api_key,
            "space": "bench",
            "cpu": self.client_cpu,
        }

    def run_peer(
        self, transport: str, sink: SinkProcess, platform: Any, workload: Workload, mode: str,
        peer: str, prefix: str, cache: str | None = None,
    ) -> Run:  # fmt: skip
        spec = self._spec(peer, mode, workload, sink, platform, prefix)
        env = None
        if peer == "jetraw-base":  # the jetraw peer, importing jetraw from --base-tree
            spec["peer"] = "jetraw"
            # Not PYTHONPATH: ``python -m`` puts the working directory (this tree) before it.
            env = {**self.env, "BENCH_BASE_TREE": str(Path(self.args.base_tree).resolve())}
        run = Run(transport, workload.name, mode, peer, ok=False)
        run.cache = settle_cache(workload.files, cache or self.args.cache)
        sink.reset()
        sink_cpu0 = sink.stats()["cpu_seconds"]
        before = _http_total(platform.metrics()) if peer.startswith("jetraw") else 0.0
        server_cpu0 = proc_cpu(getattr(platform, "pid", None))
        timeout = 300 + workload.nbytes / (20 * MiB)
        try:
            result = self._child("benchmarks._peer", [json.dumps(spec)], timeout, env)
        except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
            run.error = str(exc)[:300]
            _log(f"  {peer} {mode} {workload.name}: FAILED {run.error}")
            return run
        server_cpu1 = proc_cpu(getattr(platform, "pid", None))
        if server_cpu0 is not None and server_cpu1 is not None:
            run.server_cpu = server_cpu1 - server_cpu0
        stats = sink.stats()
        run.bytes, run.files = result["bytes"], result["files"]
        run.wall, run.cpu, run.hwm_kib = result["wall"], result["cpu"], result["hwm_kib"]
        run.sink_cpu = stats["cpu_seconds"] - sink_cpu0
        run.extra = {
            "sys": result["sys"],
            "rss_before_kib": result["rss_before_kib"],
            "minor_faults": result.get("minor_faults", 0),
            "max_part_number": stats["counters"].get("max_part_number", 0),
            "exit_code": result["exit_code"],
        }
        if result["exit_code"]:
            _log(f"  {peer} {mode} {workload.name}: exit code {result['exit_code']} after the run")
        if peer.startswith("jetraw"):
            # The /metrics request itself is counted too: subtract it.
            run.round_trips = (_http_total(platform.metrics()) - before - 1) / run.files
        problems = []
        if stats["stored_bytes"] != workload.nbytes or stats["objects"] != len(workload.files):
            problems.append(
                f"sink stored {stats['objects']} objects / {stats['stored_bytes']} B, expected "
                f"{len(workload.files)} / {workload.nbytes} B"
            )
        c = stats["counters"]
        for bad in ("checksum_mismatches", "length_mismatches", "bad_requests", "invalid_parts"):
            if c.get(bad):
                problems.append(f"{bad}={c[bad]}")
        run.extra["counters"] = c
        if problems:
            run.error = "; ".join(problems)
            _log(f"  {peer} {mode} {workload.name}: WRONG {run.error}")
            return run
        run.ok = True
        _log(
            f"  {peer:11s} {mode:8s} {workload.name:10s} {run.mib_s:7.0f} MiB/s "
            f"{run.cpu_per_gib:6.2f} cpu-s/GiB (sys {result['sys'] / (run.bytes / GiB):.2f}) "
            f"{run.hwm_kib / 1024:6.0f} MiB RSS (from {result['rss_before_kib'] / 1024:.0f}) "
            f"{result.get('minor_faults', 0) / (run.bytes / GiB):7.0f} faults/GiB "
            f"(sink {run.sink_cpu / (run.bytes / GiB):.2f} cpu-s/GiB) {run.cache}"
        )
        return run

    # -- the matrix ------------------------------------------------------------------------------

    def workloads(self) -> list[tuple[str, Workload]]:
        """(key, workload) for the chosen workloads, files created (or reused) on disk."""
        data = Path(self.args.data_dir)
        scale = self.args.scale
        chosen = []
        if "files" in self.args.workloads:
            chosen.append(("files", many_files(data, count=self.args.files, scale=scale)))
        for key, gib in (("2g", 2), ("8g", 8)):
            if key in self.args.workloads:
                name = f"{gib * scale:g} GiB file"
                chosen.append((key, big_file(data, int(gib * GiB * scale), name)))
        for key in SMALL:
            if key in self.args.workloads:
                chosen.append((key, small_files(data, key, scale=self.args.small_scale)))
        return chosen

    def transport(self, transport: str, workloads: list[tuple[str, Workload]]) -> None:
        from jetraw.testing import LocalPlatform

        https = transport == "https"
        if https and self.args.https_workloads:
            workloads = [(k, w) for k, w in workloads if k in self.args.https_workloads]
        sink_dir = self.workdir / f"sink-{transport}"
        with (
            SinkProcess(https=https, cpu=self.server_cpu, workdir=sink_dir) as sink,
            LocalPlatform() as platform,
        ):
            storage = {"type": "s3", "bucket": BUCKET, "endpoint_url": sink.url,
                       "region": "us-east-1", "prefix": ""}  # fmt: skip
            platform.create_space("bench", storage=storage)
            _log(f"{transport}: sink {sink.url}, platform {platform.url}")
            peers = list(self.args.peers)
            for rnd in range(self.args.runs):
                order = peers[rnd % len(peers) :] + peers[: rnd % len(peers)]
                _log(f"{transport}: round {rnd + 1}/{self.args.runs}")
                for key, workload in workloads:
                    if key == "8g" and rnd >= self.args.big_runs:
                        continue
                    for mode in self.args.modes:
                        for peer in order:
                            prefix = f"r{rnd}-{key}-{mode}-{peer}"
                            self.runs.append(
                                self.run_peer(
                                    transport, sink, platform, workload, mode, peer, prefix
                                )
                            )
            if not https and self.args.huge_gib > 0 and "jetraw" in peers:
                self.huge(transport, sink, platform)
            if not https and not self.args.no_extras:
                self.run_extras(platform)
            if self.args.profile:
                self.profile(transport, sink, platform, workloads)

    def huge(self, transport: str, sink: SinkProcess, platform: Any) -> None:
        """jetraw alone on the huge file, read cold (it cannot fit in the page cache), between
        ``--cold-runs`` runs of the 2 GiB file read cold (about half before it, the rest after;
        same process settings), so that the report compares cold with cold (issue 9, target 3).
        """
        data = Path(self.args.data_dir)
        size = int(2 * GiB * self.args.scale)
        ref = big_file(data, size, f"{2 * self.args.scale:g} GiB file")
        ref = Workload(ref.name + COLD_TAG, ref.files, ref.description + ", read cold")
        huge = big_file(data, int(self.args.huge_gib * GiB), "huge")
        huge = Workload(f"{self.args.huge_gib:g} GiB file", huge.files, huge.description)
        runs = self.args.cold_runs
        before = (runs + 1) // 2
        for i in range(runs):
            if i == before:
                self._huge_run(transport, sink, platform, huge)
            _log(f"{transport}: jetraw alone, {ref.description} ({i + 1}/{runs})")
            self.runs.append(
                self.run_peer(
                    transport, sink, platform, ref, "defaults", "jetraw", f"cold{i}", cache="cold"
                )
            )
        if before >= runs:
            self._huge_run(transport, sink, platform, huge)

    def _huge_run(self, transport: str, sink: SinkProcess, platform: Any, huge: Workload) -> None:
        _log(f"{transport}: jetraw alone, {huge.description}")
        run = self.run_peer(
            transport, sink, platform, huge, "defaults", "jetraw", "huge", cache="cold"
        )
        self.runs.append(run)

    def profile(
        self,
        transport: str,
        sink: SinkProcess,
        platform: Any,
        workloads: list[tuple[str, Workload]],
    ) -> None:
        """jetraw (matched settings) under py-spy on each workload; summaries to a text file."""
        binary = py_spy()
        if binary is None:
            _log("--profile: py-spy is not installed (it is in the bench extra)")
            return
        out = Path(self.args.out).with_name(f"PROFILE-jetraw-{transport}.txt")
        parts = [
            f"py-spy profiles of jetraw uploads ({transport}, matched settings), written by "
            "python -m benchmarks --profile. Wall-clock samples of active threads at 100 Hz.\n"
        ]
        for _key, workload in workloads:
            spec = self._spec("jetraw", "matched", workload, sink, platform, "profile")
            raw = self.workdir / f"profile-{transport}-{_key}.raw"
            sink.reset()
            arg = json.dumps(spec)
            if len(arg) > 64 * 1024:  # as in _child: a long spec goes in a file, named "@path"
                (path := self.workdir / f"profile-spec-{_key}.json").write_text(arg, "utf-8")
                arg = f"@{path}"
            try:
                record(binary, [sys.executable, "-m", "benchmarks._peer", arg],
                       raw, profile_env(self.env), ROOT.parent)  # fmt: skip
            except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
                parts.append(f"== {workload.description}: {exc}\n")
                continue
            parts.append(f"== {workload.description}\n{summarize_raw(raw)}")
        out.write_text("\n".join(parts), "utf-8")
        _log(f"wrote {out}")

    def run_extras(self, platform: Any) -> None:
        base = {
            "server": platform.url,
            "api_key": platform.api_key,
            "space": "bench",
            "cpu": self.client_cpu,
        }
        try:
            self.extras["overhead"] = self._child(
                "benchmarks._extras", ["overhead", json.dumps(base)], 300
            )
            _log(f"overhead: {self.extras['overhead']}")
        except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
            self.extras["overhead"] = {"error": str(exc)}
        # Longer than a burst of 1,000 calls takes here (~4 s), or it expires mid-burst.
        ttl = 12
        platform.set_access_token_ttl(ttl)
        try:
            spec = {**base, "ttl": ttl, "cycles": 3, "calls": 1000}
            self.extras["refresh"] = self._child(
                "benchmarks._extras", ["refresh", json.dumps(spec)], 300
            )
            _log(f"refresh: {self.extras['refresh']}")
        except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
            self.extras["refresh"] = {"error": str(exc)}
        finally:
            platform.set_access_token_ttl(600)


def summarize(runs: list[Run]) -> list[dict[str, Any]]:
    """Medians per (transport, workload, mode, peer), with ratios to the best peer of each
    (transport, workload, mode) group."""
    groups: dict[tuple[str, str, str, str], list[Run]] = {}
    for r in runs:
        groups.setdefault((r.transport, r.workload, r.mode, r.peer), []).append(r)
    rows = []
    for (transport, workload, mode, peer), rs in groups.items():
        ok = [r for r in rs if r.ok]
        row: dict[str, Any] = {
            "transport": transport, "workload": workload, "mode": mode, "peer": peer,
            "n": len(ok), "failed": len(rs) - len(ok),
            "errors": sorted({r.error for r in rs if not r.ok}),
        }  # fmt: skip
        if ok:
            row["cpu_per_gib"] = statistics.median(r.cpu_per_gib for r in ok)
            row["rss_mib"] = statistics.median(r.hwm_kib / 1024 for r in ok)
            row["rss_before_mib"] = statistics.median(r.extra["rss_before_kib"] / 1024 for r in ok)
            row["sys_per_gib"] = statistics.median(r.extra["sys"] / (r.bytes / GiB) for r in ok)
            row["faults_per_gib"] = statistics.median(
                r.extra["minor_faults"] / (r.bytes / GiB) for r in ok
            )
            row["exit_crashes"] = sum(1 for r in ok if r.extra.get("exit_code"))
            row["mib_s"] = statistics.median(r.mib_s for r in ok)
            row["sink_cpu_per_gib"] = statistics.median(r.sink_cpu / (r.bytes / GiB) for r in ok)
            row["max_part"] = max(r.extra.get("max_part_number", 0) for r in ok)
            trips = [r.round_trips for r in ok if r.round_trips is not None]
            row["round_trips"] = statistics.median(trips) if trips else None
            _per_file(row, ok)
            row["cpu_spread"] = (
                (max(r.cpu_per_gib for r in ok) - min(r.cpu_per_gib for r in ok))
                / row["cpu_per_gib"]
                if len(ok) > 1 else 0.0
            )  # fmt: skip
        rows.append(row)
    by_group: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for row in rows:
        by_group.setdefault((row["transport"], row["workload"], row["mode"]), []).append(row)
    for group in by_group.values():
        done = [r for r in group if r["n"]]
        if not done:
            continue
        best_cpu = min(r["cpu_per_gib"] for r in done)
        best_rss = min(r["rss_mib"] for r in done)
        best_speed = max(r["mib_s"] for r in done)
        for done_row in done:
            done_row["cpu_ratio"] = done_row["cpu_per_gib"] / best_cpu
            done_row["rss_ratio"] = done_row["rss_mib"] / best_rss
            done_row["speed_ratio"] = done_row["mib_s"] / best_speed
    return rows


def _per_file(row: dict[str, Any], ok: list[Run]) -> None:
    """Per-file medians (the small-file table): files/s, CPU ms per file of the client, the
    state server and the sink."""
    row["files_per_s"] = statistics.median(r.files / r.wall for r in ok)
    row["cpu_ms_per_file"] = statistics.median(1000 * r.cpu / r.files for r in ok)
    row["sys_ms_per_file"] = statistics.median(1000 * r.extra["sys"] / r.files for r in ok)
    row["sink_ms_per_file"] = statistics.median(1000 * r.sink_cpu / r.files for r in ok)
    server = [1000 * r.server_cpu / r.files for r in ok if r.server_cpu is not None]
    row["server_ms_per_file"] = statistics.median(server) if server else None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument("--quick", action="store_true", help="scale 0.1, 1 run, 5 GiB huge file")
    p.add_argument("--scale", type=float, help="multiply every file size (default 1)")
    p.add_argument("--runs", type=int, help="interleaved rounds (default 5; 1 with --quick)")
    p.add_argument("--https", action="store_true", help="also run the matrix over HTTPS")
    p.add_argument("--files", type=int, default=200, help="files in the many-files workload")
    p.add_argument("--peers", nargs="+", default=list(PEERS), choices=PEERS + OPTIONAL_PEERS)
    p.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    p.add_argument(
        "--workloads",
        nargs="+",
        default=["files", "2g", "8g"],
        choices=WORKLOADS,
        help="small64k = 5,000 x 64 KiB, small1m = 10,000 x 1 MiB (not in the default set)",
    )
    p.add_argument(
        "--small-scale",
        type=float,
        default=1.0,
        help="multiply the file count of the small-file workloads (sizes stay)",
    )
    p.add_argument("--big-runs", type=int, help="rounds that include the 8 GiB file (default: all)")
    p.add_argument(
        "--https-workloads", nargs="+", choices=WORKLOADS,
        help="with --https: the workloads also run over HTTPS (default: all)",
    )  # fmt: skip
    p.add_argument(
        "--huge-gib", type=float, help="size of jetraw's lone file (default 50; 0 = skip)"
    )
    p.add_argument(
        "--cold-runs", type=int, default=3,
        help="runs of jetraw on the 2 GiB file read cold around the huge one (default 3)",
    )  # fmt: skip
    p.add_argument(
        "--no-extras", action="store_true", help="skip overhead and refresh measurements"
    )
    p.add_argument("--no-pin", action="store_true", help="do not pin sink and client to cores")
    p.add_argument(
        "--cache", choices=("auto", "warm", "cold"), default="auto",
        help="page-cache state of the files before every run (auto: warm if they fit in half "
        "the available memory, else cold)",
    )  # fmt: skip
    p.add_argument("--profile", action="store_true", help="also profile jetraw with py-spy")
    p.add_argument(
        "--base-tree", help="peer jetraw-base imports jetraw from here (git archive of a commit)"
    )
    p.add_argument("--data-dir", default=os.path.join(tempfile.gettempdir(), "jetraw-bench-data"))
    p.add_argument("--out", default=str(ROOT / "RESULTS.md"))
    args = p.parse_args(argv)
    if args.scale is None:
        args.scale = 0.1 if args.quick else 1.0
    if args.runs is None:
        args.runs = 1 if args.quick else 5
    if args.big_runs is None:
        args.big_runs = args.runs
    if args.huge_gib is None:
        args.huge_gib = 5.0 if args.quick else 50.0
    if "jetraw-base" in args.peers and not args.base_tree:
        p.error("--peers jetraw-base needs --base-tree")
    return args


def _can_pin(args: argparse.Namespace) -> bool:
    """Two CPUs or more to choose from (asked before the driver pins itself)."""
    if args.no_pin or not hasattr(os, "sched_getaffinity"):
        return False
    return len(os.sched_getaffinity(0)) >= 2


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    started = time.time()
    bench_dir = tempfile.TemporaryDirectory(prefix="jetraw-bench-")
    bench = Bench(args, Path(bench_dir.name))
    if bench.pinned:
        # The driver, the sink and the state server (children inherit this) share CPU 0; each
        # client process moves itself to CPU 1.
        os.sched_setaffinity(0, {0})
    with bench_dir:
        keyed = bench.workloads()
        workloads = [w for _, w in keyed]
        for w in workloads:
            _log(f"workload {w.name}: {w.description}")
        for transport in ["http", "https"] if args.https else ["http"]:
            bench.transport(transport, keyed)
    rows = summarize(bench.runs)
    write_report(Path(args.out), args, bench, rows, workloads, time.time() - started)
    _log(f"wrote {args.out} in {time.time() - started:.0f} s")
