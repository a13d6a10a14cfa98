"""Commit throughput of the state server: batch create + batch complete, SQLite vs PostgreSQL,
with 1, 2 and 3 instances on one PostgreSQL database (issue 11).

    eval "$(scripts/postgresql/start.sh)"
    uv run --frozen --extra dev python -m benchmarks.commits [--clients 6] [--batches 4] \
        [--batch 250]

Each case starts its instances (``LocalPlatform`` child processes, one data dir, one fresh
PostgreSQL schema, or SQLite for the SQLite case), then ``--clients`` concurrent clients (asyncio
tasks in this process, each its own httpx connection) loop: ``POST .../uploads/batch`` of
``--batch`` paths, write each object into the local space (what a client does between create
and complete; one byte each, so the commit path is what is measured), ``POST
/uploads/batch-complete``. Client ``i`` talks to instance ``i mod n``: no balancer. Reported per
case: files committed per second (wall), and the client process's CPU per file
(``time.process_time``: HTTP, JSON, the object writes). Every file is checked listed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

from jetraw._crc import crc32c, crc32c_hex
from jetraw.testing import LocalPlatform

__all__ = ["main", "run_case"]


def _schema_url(url: str) -> str:
    import psycopg

    name = f"bench_{secrets.token_hex(4)}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    parts = urlsplit(url)
    query = (
        (parts.query + "&" if parts.query else "")
        + "options="
        + quote(f"-csearch_path={name}", safe="")
    )
    return urlunsplit(parts._replace(query=query))


async def _client(
    url: str, token: str, space: dict[str, Any], prefix: str, batches: int, batch: int
) -> int:
    root = Path(space["storage"]["root"])
    data = b"x"
    checksum = crc32c_hex(crc32c(data))
    done = 0
    async with httpx.AsyncClient(
        base_url=url + "/api/v1",
        headers={"Authorization": f"Bearer {token}"},
        timeout=300,
        trust_env=False,
    ) as http:
        for b in range(batches):
            paths = [f"{prefix}/{b}/{i}" for i in range(batch)]
            r = await http.post(
                f"/spaces/{space['name']}/uploads/batch",
                json={"uploads": [{"path": p, "size": 1} for p in paths]},
            )
            r.raise_for_status()
            uploads = [item["upload"] for item in r.json()["results"]]
            for upload in uploads:
                target = root / upload["object_key"]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            r = await http.post(
                "/uploads/batch-complete",
                json={
                    "uploads": [
                        {"id": u["id"], "size": 1, "checksum": {"crc32c": checksum}}
                        for u in uploads
                    ]
                },
            )
            r.raise_for_status()
            errors = [item for item in r.json()["results"] if item["error"] is not None]
            if errors:
                raise RuntimeError(f"commit errors: {errors[:3]}")
            done += len(uploads)
    return done


def run_case(
    database: str | None, instances: int, *, clients: int, batches: int, batch: int
) -> dict[str, Any]:
    """One case: ``instances`` servers on ``database`` (``None``: SQLite). Returns the figures."""
    with tempfile.TemporaryDirectory(prefix="jetraw-bench-commits-") as tmp:
        platforms = [
            LocalPlatform(
                data_dir=Path(tmp) / "data", database=database, cleanup_interval_seconds=0
            )
            for _ in range(instances)
        ]
        for platform in platforms:
            platform.start()
        try:
            space = platforms[0].create_space(f"bench-{secrets.token_hex(3)}")
            tokens = [p.access_token() for p in platforms]

            async def all_clients() -> list[int]:
                return await asyncio.gather(
                    *(
                        _client(
                            platforms[i % instances].url,
                            tokens[i % instances],
                            space,
                            f"c{i}",
                            batches,
                            batch,
                        )
                        for i in range(clients)
                    )
                )

            cpu, wall = time.process_time(), time.perf_counter()
            counts = asyncio.run(all_clients())
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            files = sum(counts)
            listed = _count_files(platforms[-1], space["name"])
            if listed != files:
                raise RuntimeError(f"{files} committed but {listed} listed")
        finally:
            for platform in platforms:
                platform.close()
    return {
        "backend": "sqlite" if database is None else "postgresql",
        "instances": instances,
        "files": files,
        "seconds": wall,
        "commits_per_second": files / wall,
        "client_cpu_us_per_file": cpu / files * 1e6,
    }


def _count_files(platform: LocalPlatform, space: str) -> int:
    """The files listed in ``space`` (the whole namespace, page by page)."""
    token = platform.access_token()
    total = 0
    params: dict[str, Any] = {"limit": 1000}
    with httpx.Client(
        base_url=platform.url + "/api/v1",
        headers={"Authorization": f"Bearer {token}"},
        trust_env=False,
        timeout=120,
    ) as http:
        while True:
            page = http.get(f"/spaces/{space}/files", params=params).json()
            total += sum(1 for item in page["items"] if item["type"] == "file")
            if not page.get("next_cursor"):
                return total
            params["cursor"] = page["next_cursor"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.commits", description=__doc__)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--batches", type=int, default=4, help="per client")
    parser.add_argument("--batch", type=int, default=250, help="files per batch")
    parser.add_argument(
        "--postgresql",
        default=os.environ.get("JETRAW_TEST_POSTGRESQL_URL", ""),
        help="a database to make schemas in (default $JETRAW_TEST_POSTGRESQL_URL)",
    )
    args = parser.parse_args(argv)
    cases: list[tuple[str | None, int]] = [(None, 1)]
    if args.postgresql:
        cases += [(_schema_url(args.postgresql), n) for n in (1, 2, 3)]
    print("| backend | instances | files | seconds | commits/s | client CPU µs/file |")
    print("|---|---|---|---|---|---|")
    for database, instances in cases:
        r = run_case(
            database, instances, clients=args.clients, batches=args.batches, batch=args.batch
        )
        print(
            f"| {r['backend']} | {r['instances']} | {r['files']} | {r['seconds']:.2f} | "
            f"{r['commits_per_second']:.0f} | {r['client_cpu_us_per_file']:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
