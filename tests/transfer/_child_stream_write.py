"""Run by the streaming-write memory test in a child process: write 1 GiB through
``open("wb")`` in 1 MiB writes (default TransferConfig), print the peak memory and checksums.

argv: server api_key space

The peak is ``VmHWM`` of ``/proc/self/status`` (``ru_maxrss`` is carried over fork/exec from the
parent on Linux, so it is not this process's own).
"""

from __future__ import annotations

import json
import os
import sys
import time

import anyio
import google_crc32c

from jetraw.aio import AsyncClient, AsyncJetrawPath

MiB = 1 << 20
TOTAL = 1 << 30


def vm_hwm_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return -1


async def main() -> None:
    server, api_key, space = sys.argv[1:]
    block = bytearray(os.urandom(MiB))
    crc = 0
    started = time.monotonic()
    async with AsyncClient(api_key, server=server) as client:
        p = AsyncJetrawPath(f"/{space}/stream-1gib.bin", client=client)
        await client.get_space(space)
        before = vm_hwm_kib()  # the interpreter, the SDK and a logged-in client
        async with p.open("wb") as w:
            for i in range(TOTAL // MiB):
                block[:8] = i.to_bytes(8, "big")  # every MiB differs
                crc = google_crc32c.extend(crc, bytes(block))
                await w.write(block)
        seconds = time.monotonic() - started
        stat = await p.stat()
    print(
        json.dumps(
            {
                "size": TOTAL,
                "crc32c": f"{crc:08x}",
                "stat_size": stat.size,
                "stat_checksum": stat.checksum,
                "seconds": round(seconds, 2),
                "vm_hwm_kib": vm_hwm_kib(),
                "vm_hwm_before_writing_kib": before,
            }
        )
    )


anyio.run(main)
