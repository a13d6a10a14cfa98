"""One process of the shared-login test: call the server for a while from the saved profile.

Prints one JSON line: calls, failures (by type and message), and refreshes this process did.
"""

from __future__ import annotations

import json
import sys
import time

import anyio

from jetraw import JetrawError
from jetraw.aio import AsyncClient


async def main(seconds: float, tasks: int) -> dict[str, object]:
    calls = 0
    failures: list[str] = []
    deadline = time.monotonic() + seconds
    async with AsyncClient() as client:

        async def worker() -> None:
            nonlocal calls
            while time.monotonic() < deadline:
                try:
                    await client.whoami()
                    calls += 1
                except JetrawError as error:
                    failures.append(f"{type(error).__name__}: {error}")
                await anyio.sleep(0.02)

        async with anyio.create_task_group() as tg:
            for _ in range(tasks):
                tg.start_soon(worker)
        tm = client._login.tokens_
        refreshes = tm.refresh_count if tm is not None else 0
    return {"calls": calls, "failures": failures, "refreshes": refreshes}


if __name__ == "__main__":
    result = anyio.run(main, float(sys.argv[1]), int(sys.argv[2]))
    print(json.dumps(result), flush=True)
