"""Run by the memory test in a child process: upload with default settings, print peak RSS.

argv: server api_key dest src...
"""

from __future__ import annotations

import json
import resource
import sys
import time

import anyio

from jetraw.aio import AsyncClient


async def main() -> None:
    server, api_key, dest, *sources = sys.argv[1:]
    started = time.monotonic()
    async with AsyncClient(api_key, server=server) as client:
        result = await client.upload(sources, dest)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "files": len(result.uploaded),
                "bytes": result.bytes,
                "seconds": time.monotonic() - started,
                "max_rss_kib": usage.ru_maxrss,
                "cpu_seconds": usage.ru_utime + usage.ru_stime,
            }
        )
    )


anyio.run(main)
