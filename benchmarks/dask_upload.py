"""``jetraw.dask.upload`` throughput: files/s and MiB/s with 1 and 2 Dask workers, against the S3
sink (``benchmarks._sink``: bytes discarded, CRC-32C checked) and the reference platform.

    uv run -q --frozen --extra dev python -m benchmarks.dask_upload \\
        [--workloads 500x1m 2000x64k] [--workers 1 2] [--runs 3] [--no-plain]

Per workload and worker count: a fresh ``LocalCluster(n_workers=N, threads_per_worker=1,
processes=True)``, one warm-up upload of 16 files, one per task (every worker imports jetraw and
builds its client outside the timing), then ``--runs`` timed uploads of the whole tree into a new
prefix; the median is reported. ``plain`` is ``jetraw.upload`` in this process, for reference.
After each run the sink must hold exactly the workload's objects and bytes, with no checksum
mismatch, and the platform's commit counter must have grown by the number of files.

Also printed: state-server HTTP requests per file (the batch create/complete calls, the token
request of each worker's client, the listings of ``skip_existing``), the quantity that limits a real
cluster (see ``docs/dask.md``). Nothing is pinned to a core: the sink, the platform, the driver
and the workers share the machine, so the figures compare worker counts on the same machine,
not absolute cluster speed. Never a timed test in the suite.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._sink import SinkProcess

__all__ = ["main", "parse_workload"]

MiB = 1 << 20
BUCKET = "bench"


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def parse_workload(text: str) -> tuple[int, int]:
    """``"500x1m"`` → (500 files, 1 MiB each); sizes take ``k`` / ``m`` suffixes."""
    count, _, size = text.lower().partition("x")
    units = {"k": 1 << 10, "m": MiB}
    factor = units.get(size[-1:], 1)
    return int(count), int(size[:-1] if size[-1:] in units else size) * factor


def _make_tree(root: Path, count: int, size: int) -> None:
    """``count`` files of ``size`` random bytes, 100 to a directory."""
    block = os.urandom(size + 4096)
    for i in range(count):
        directory = root / f"d{i // 100:04d}"
        directory.mkdir(parents=True, exist_ok=True)
        offset = i % 4096  # distinct contents without generating count * size random bytes
        (directory / f"f{i:06d}.bin").write_bytes(block[offset : offset + size])


def _requests(platform: Any) -> float:
    metrics = platform.metrics()
    return sum(v for k, v in metrics.items() if k.startswith("jetraw_http_responses_total"))


def _commits(platform: Any) -> float:
    return float(platform.metrics().get("jetraw_uploads_completed_total", 0.0))


def _check(sink: SinkProcess, count: int, size: int) -> None:
    stats = sink.stats()
    mismatches = stats["counters"].get("checksum_mismatches", 0)
    if stats["objects"] != count or stats["stored_bytes"] != count * size or mismatches:
        raise SystemExit(
            f"the sink holds {stats['objects']} objects / {stats['stored_bytes']} B "
            f"({mismatches} checksum mismatches); expected {count} / {count * size} B"
        )


def _timed(
    upload: Any, src: Path, dest: str, sink: SinkProcess, platform: Any, count: int, size: int
) -> tuple[float, float]:
    """Seconds of one upload of the tree, and state-server requests per file."""
    sink.reset()
    requests, commits = _requests(platform), _commits(platform)
    start = time.perf_counter()
    result = upload(src, dest, warm=False)
    seconds = time.perf_counter() - start
    if len(result.uploaded) != count:
        raise SystemExit(f"{len(result.uploaded)} of {count} files uploaded")
    _check(sink, count, size)
    if _commits(platform) - commits != count:
        raise SystemExit("the platform did not commit every file once")
    return seconds, (_requests(platform) - requests) / count


def _env(home: Path) -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(home / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "aws-credentials"),
        "JETRAW_CONFIG_DIR": str(home / "jetraw"),
        "JETRAW_TOKEN_STORAGE": "memory",
    }


def _bench(
    label: str, upload: Any, tree: Path, warm: Path, args: Any, ctx: dict[str, Any]
) -> dict[str, Any]:
    count, size, sink, platform = ctx["count"], ctx["size"], ctx["sink"], ctx["platform"]
    upload(warm, f"/bench/warm-{label}-{time.monotonic_ns()}/", warm=True)
    runs = []
    for n in range(args.runs):
        dest = f"/bench/{label}-{n}-{time.monotonic_ns()}/"
        runs.append(_timed(upload, tree, dest, sink, platform, count, size))
        _log(f"{label}: {count} x {size} B in {runs[-1][0]:.2f} s")
    seconds = statistics.median(s for s, _ in runs)
    return {
        "workers": label,
        "files_s": count / seconds,
        "mib_s": count * size / MiB / seconds,
        "requests_per_file": statistics.median(r for _, r in runs),
        "seconds": seconds,
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.dask_upload", description=__doc__)
    p.add_argument("--workloads", nargs="+", default=["500x1m", "2000x64k"])
    p.add_argument("--workers", nargs="+", type=int, default=[1, 2])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--no-plain", action="store_true", help="skip the in-process jetraw.upload")
    args = p.parse_args(argv)

    from distributed import Client, LocalCluster

    import jetraw
    import jetraw.dask
    from jetraw.testing import LocalPlatform

    with tempfile.TemporaryDirectory(prefix="jetraw-dask-bench-") as tmp:
        home = Path(tmp) / "home"
        env = _env(home)
        os.environ.update(env)  # the plain run and the spawned workers
        rows = []
        with SinkProcess(workdir=Path(tmp) / "sink") as sink, LocalPlatform() as platform:
            storage = {"type": "s3", "bucket": BUCKET, "endpoint_url": sink.url,
                       "region": "us-east-1", "prefix": ""}  # fmt: skip
            platform.create_space("bench", storage=storage)
            warm = Path(tmp) / "warm"
            _make_tree(warm, 16, 1024)
            for text in args.workloads:
                count, size = parse_workload(text)
                tree = Path(tmp) / f"tree-{text}"
                _make_tree(tree, count, size)
                ctx = {"count": count, "size": size, "sink": sink, "platform": platform}
                if not args.no_plain:
                    with jetraw.Client(platform.api_key, server=platform.url) as client:

                        def plain(src: Path, dest: str, warm: bool, c: Any = client) -> Any:
                            return c.upload(src, dest)

                        row = _bench("plain", plain, tree, warm, args, ctx)
                    rows.append({"workload": text, **row})
                for n in args.workers:
                    with (
                        LocalCluster(
                            n_workers=n,
                            threads_per_worker=1,
                            processes=True,
                            dashboard_address=":0",  # a free port: None still binds 8787
                            worker_dashboard_address=None,
                            env=env,
                        ) as cluster,
                        Client(cluster) as dask_client,
                    ):

                        def upload(src: Path, dest: str, warm: bool, c: Any = dask_client) -> Any:
                            # Warm-up: one file a task, so every worker builds its client.
                            return jetraw.dask.upload(
                                src, dest, dask_client=c, server=platform.url,
                                api_key=platform.api_key, files_per_task=1 if warm else None,
                            )  # fmt: skip

                        row = _bench(str(n), upload, tree, warm, args, ctx)
                    rows.append({"workload": text, **row})
    print("| workload | workers | files/s | MiB/s | state-server requests/file | s (median) |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['workload']} | {r['workers']} | {r['files_s']:,.0f} | {r['mib_s']:,.0f} "
            f"| {r['requests_per_file']:.3f} | {r['seconds']:.2f} |"
        )


if __name__ == "__main__":
    main()
