"""Load on the state server: N concurrent SDK clients for S seconds, mixing stats, listings,
uploads and their commits, against the reference platform on 127.0.0.1 (SQLite).

    uv run --frozen --extra dev python -m benchmarks.load [--clients 200] [--seconds 60]

Each client is its own :class:`jetraw.aio.AsyncClient` (own API key exchange, own connection
pool), all in this one process, looping without think time: a closed loop that keeps the server
saturated, so latencies are what a client sees while 200 others hammer the same server. Every
upload is a real one (create, bytes into the local space, commit), then stat-checked at the end.

Printed (and returned by :func:`run`): operations per kind, errors by class, the latency
percentiles per kind (client side, end to end), throughput, and the server process's RSS
(sampled every 0.5 s) and peak (VmHWM). A 429 answered with ``Retry-After`` is counted, not an
error: the SDK waits and retries it. Anything else is an error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["LoadResult", "run"]

KINDS = ("stat", "list", "upload")
WEIGHTS = (4, 3, 3)
SIZE = 16 * 1024  # bytes per upload: the commit path, not the data plane, is under load


@dataclass
class LoadResult:
    clients: int
    seconds: float
    ops: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    rate_limited: int = 0
    rss_mib: list[float] = field(default_factory=list)
    peak_rss_mib: float = 0.0
    uploaded: dict[str, int] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    server_cpu_s: float = 0.0
    clients_cpu_s: float = 0.0

    def percentile(self, kind: str, q: float) -> float:
        values = sorted(self.latencies[kind])
        if not values:
            return float("nan")
        return values[min(len(values) - 1, int(q * len(values)))] * 1000

    def summary(self) -> dict[str, Any]:
        total = sum(self.ops.values())
        return {
            "clients": self.clients,
            "seconds": self.seconds,
            "operations": dict(self.ops),
            "per_second": round(total / self.seconds, 1),
            "errors": dict(self.errors),
            "rate_limited_429": self.rate_limited,
            "latency_ms": {
                kind: {
                    "p50": round(self.percentile(kind, 0.50), 1),
                    "p99": round(self.percentile(kind, 0.99), 1),
                    "max": round(max(self.latencies[kind], default=0) * 1000, 1),
                }
                for kind in KINDS
            },
            "server_rss_mib": {
                "median": round(statistics.median(self.rss_mib), 1) if self.rss_mib else None,
                "peak": round(self.peak_rss_mib, 1),
            },
            # Of the run's seconds x 2 cores: who was busy (the clients share this one process).
            "cpu_seconds": {
                "server": round(self.server_cpu_s, 1),
                "clients": round(self.clients_cpu_s, 1),
            },
            "uploads_checked": len(self.uploaded),
            "uploads_missing": len(self.missing),
        }


def _status_mib(pid: int, field_name: str) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _sample_rss(pid: int, into: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        into.append(_status_mib(pid, "VmRSS"))
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)


async def _client_loop(
    index: int,
    client: Any,
    space: str,
    source: Path,
    size: int,
    deadline: float,
    result: LoadResult,
    seed: int,
) -> None:
    from jetraw.aio import JetrawError, RateLimitedError

    rng = random.Random(seed * 1000 + index)
    folder = f"/{space}/load/c{index:03d}"
    known: list[str] = []
    n = 0
    while time.monotonic() < deadline:
        kind = rng.choices(KINDS, WEIGHTS)[0] if known else "upload"
        started = time.perf_counter()
        try:
            if kind == "stat":
                await client.stat(rng.choice(known))
            elif kind == "list":
                async for _ in client.list_files(folder):
                    pass
            else:
                n += 1
                target = f"{folder}/f{n:05d}.bin"
                await client.upload(source, target)
                known.append(target)
                result.uploaded[target] = size
        except RateLimitedError:
            result.rate_limited += 1
            continue
        except JetrawError as exc:
            result.errors[type(exc).__name__] += 1
            continue
        result.latencies[kind].append(time.perf_counter() - started)
        result.ops[kind] += 1


async def _check_uploads(client: Any, result: LoadResult) -> None:
    from jetraw.aio import NotFoundError

    semaphore = asyncio.Semaphore(32)

    async def check(path: str, size: int) -> None:
        async with semaphore:
            try:
                info = await client.stat(path)
            except NotFoundError:
                result.missing.append(path)
                return
            if getattr(info, "size", None) != size:
                result.missing.append(path)

    await asyncio.gather(*(check(p, s) for p, s in result.uploaded.items()))


async def _run(platform: Any, clients: int, seconds: float, seed: int) -> LoadResult:
    from jetraw.aio import AsyncClient

    result = LoadResult(clients, seconds)
    with tempfile.TemporaryDirectory(prefix="jetraw-load-") as tmp:
        source = Path(tmp) / "scan.bin"
        source.write_bytes(random.Random(seed).randbytes(SIZE))
        pool = [
            AsyncClient(refresh_token=platform.api_key, server=platform.url) for _ in range(clients)
        ]
        try:
            await asyncio.gather(*(c.whoami() for c in pool))  # every client logged in
            stop = asyncio.Event()
            sampler = None
            if platform.pid is not None:
                sampler = asyncio.create_task(_sample_rss(platform.pid, result.rss_mib, stop))
            deadline = time.monotonic() + seconds
            cpu0 = (_cpu_seconds(platform.pid) if platform.pid else 0.0, time.process_time())
            await asyncio.gather(
                *(
                    _client_loop(i, c, platform.space, source, SIZE, deadline, result, seed)
                    for i, c in enumerate(pool)
                )
            )
            result.clients_cpu_s = time.process_time() - cpu0[1]
            if platform.pid is not None:
                result.server_cpu_s = _cpu_seconds(platform.pid) - cpu0[0]
            stop.set()
            if sampler is not None:
                await sampler
                result.peak_rss_mib = _status_mib(platform.pid, "VmHWM")
            await _check_uploads(pool[0], result)
        finally:
            await asyncio.gather(*(c.aclose() for c in pool))
    return result


def run(clients: int = 200, seconds: float = 60.0, seed: int = 1) -> LoadResult:
    """Start a reference platform (child process), load it, stop it; the figures."""
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    from jetraw.testing import LocalPlatform

    with LocalPlatform(garbage_grace_seconds=0) as platform:
        return asyncio.run(_run(platform, clients, seconds, seed))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(json.dumps(run(args.clients, args.seconds, args.seed).summary(), indent=2))


if __name__ == "__main__":
    main()
