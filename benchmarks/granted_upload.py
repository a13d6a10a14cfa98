"""CPU-s/GiB and MiB/s of one upload to moto: granted access vs the user's own AWS keys.

    uv run --frozen --extra dev python benchmarks/granted_upload.py [--mib 1024]

Starts moto and a reference platform on 127.0.0.1, makes two S3 spaces on one bucket (one with
``access: "granted"``), uploads the same file to each with the default TransferConfig and prints
the wall time and this process's CPU time (the client's; moto and the server run elsewhere:
moto in a thread of this process is avoided by running it as a child process).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MiB = 1024 * 1024


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _upload(platform: object, space: str, source: Path) -> tuple[float, float]:
    from jetraw.aio import AsyncClient

    async with AsyncClient(platform.api_key, server=platform.url) as client:  # type: ignore[attr-defined]
        cpu, wall = time.process_time(), time.perf_counter()
        await client.upload(source, f"/{space}/bench.bin", overwrite=True)
        return time.process_time() - cpu, time.perf_counter() - wall


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=1024)
    args = parser.parse_args()
    import boto3

    from jetraw.testing import LocalPlatform

    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
    )
    port = _free_port()
    moto = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                boto3.client("s3", endpoint_url=url).list_buckets()
                break
            except Exception:
                time.sleep(0.1)
        boto3.client("s3", endpoint_url=url).create_bucket(Bucket="bench")
        with tempfile.TemporaryDirectory() as tmp, LocalPlatform() as platform:
            source = Path(tmp) / "bench.bin"
            with open(source, "wb") as f:
                for _ in range(args.mib):
                    f.write(os.urandom(MiB))
            base = {
                "type": "s3",
                "bucket": "bench",
                "endpoint_url": url,
                "addressing_style": "path",
            }
            platform.create_space("own", storage={**base, "prefix": "own/"})
            keys = {"access_key_id": "bench", "secret_access_key": "bench"}
            platform.create_space(
                "granted",
                storage={**base, "prefix": "granted/", "access": "granted", "credentials": keys},
            )
            gib = args.mib / 1024
            for space in ("own", "granted"):
                cpu, wall = asyncio.run(_upload(platform, space, source))
                print(
                    f"{space:8s} {args.mib} MiB: {wall:6.2f} s, {args.mib / wall:7.1f} MiB/s, "
                    f"{cpu / gib:6.2f} client CPU-s/GiB"
                )
    finally:
        moto.terminate()
        moto.wait()


if __name__ == "__main__":
    main()
