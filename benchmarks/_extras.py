"""Measurements besides throughput, each in a fresh process: ``python -m benchmarks._extras``.

``overhead``: the cost of a call through the sync facade (``jetraw_sync``) against the same call
awaited on ``jetraw.aio``: ``get_space`` (cached: no I/O, pure dispatch) and ``whoami`` (one
round trip to the state server).

``refresh``: with a short access-token lifetime (longer than one burst takes), 1,000 concurrent
calls just after the token expired; counts the token grants the server issued (ideally exactly
one per expiry) and the 401 answers (requests sent with a stale token).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any

import httpx

from jetraw.testing._platform import parse_metrics


def _counts(server: str) -> tuple[float, float]:
    """(token grants, 401 answers) so far."""
    samples = parse_metrics(httpx.get(server + "/metrics", trust_env=False).text)
    grants = sum(v for k, v in samples.items() if k.startswith("jetraw_token_grants"))
    return grants, samples.get('jetraw_http_responses_total{status="401"}', 0.0)


def overhead(spec: dict[str, Any]) -> dict[str, Any]:
    import jetraw_sync
    from jetraw.aio import AsyncClient

    space, n_local, n_remote = spec["space"], spec.get("n_local", 2000), spec.get("n_remote", 300)
    out: dict[str, Any] = {}

    def timed(fn: Any, n: int) -> float:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        return (time.perf_counter() - t0) / n * 1e6

    client = jetraw_sync.Client(spec["api_key"], server=spec["server"])
    client.get_space(space)
    client.whoami()
    out["sync_get_space_us"] = timed(lambda: client.get_space(space), n_local)
    out["sync_whoami_us"] = timed(client.whoami, n_remote)
    client.close()

    async def run_async() -> None:
        async with AsyncClient(spec["api_key"], server=spec["server"]) as aclient:
            await aclient.get_space(space)
            await aclient.whoami()
            t0 = time.perf_counter()
            for _ in range(n_local):
                await aclient.get_space(space)
            out["async_get_space_us"] = (time.perf_counter() - t0) / n_local * 1e6
            t0 = time.perf_counter()
            for _ in range(n_remote):
                await aclient.whoami()
            out["async_whoami_us"] = (time.perf_counter() - t0) / n_remote * 1e6

    asyncio.run(run_async())
    return out


def refresh(spec: dict[str, Any]) -> dict[str, Any]:
    from jetraw.aio import AsyncClient

    ttl, cycles, calls = spec["ttl"], spec.get("cycles", 3), spec.get("calls", 1000)
    server = spec["server"]
    grants: list[float] = []
    unauthorized: list[float] = []
    seconds: list[float] = []

    async def run() -> None:
        async with AsyncClient(spec["api_key"], server=server) as client:
            await client.whoami()
            for _ in range(cycles):
                # The client renews at 75 % of the lifetime; be past the real expiry too.
                await asyncio.sleep(ttl + 0.3)
                g0, u0 = await asyncio.to_thread(_counts, server)
                t0 = time.perf_counter()
                await asyncio.gather(*(client.whoami() for _ in range(calls)))
                seconds.append(time.perf_counter() - t0)
                g1, u1 = await asyncio.to_thread(_counts, server)
                grants.append(g1 - g0)
                unauthorized.append(u1 - u0)

    asyncio.run(run())
    return {
        "grants_per_expiry": grants,
        "unauthorized_per_expiry": unauthorized,
        "seconds_per_burst": seconds,
        "calls": calls,
        "ttl": ttl,
    }


def main() -> None:
    what, spec = sys.argv[1], json.loads(sys.argv[2])
    if spec.get("cpu") is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {spec["cpu"]})
    result = {"overhead": overhead, "refresh": refresh}[what](spec)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
