"""Run by the memory test in a child process: upload with default settings, print peak RSS.

argv: server api_key dest src...

The peak is ``VmHWM`` of ``/proc/self/status``: the high-water mark of this process's own
address space. ``getrusage().ru_maxrss`` is printed too, but on Linux it is not this process's
alone: the kernel carries it over ``fork`` and ``execve`` from the parent (here the test process,
which also runs moto), so it starts at the parent's peak.
"""

from __future__ import annotations

import json
import resource
import sys
import time

import anyio

from jetraw.aio import AsyncClient


def peak_of_this_address_space_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return -1


async def main() -> None:
    server, api_key, dest, *sources = sys.argv[1:]
    started = time.monotonic()
    inherited_maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    async with AsyncClient(api_key, server=server) as client:
        result = await client.upload(sources, dest)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "files": len(result.uploaded),
                "bytes": result.bytes,
                "seconds": time.monotonic() - started,
                "ru_maxrss_kib": usage.ru_maxrss,
                "ru_maxrss_at_start_kib": inherited_maxrss,
                "vm_hwm_kib": peak_of_this_address_space_kib(),
                "cpu_seconds": usage.ru_utime + usage.ru_stime,
            }
        )
    )


anyio.run(main)
