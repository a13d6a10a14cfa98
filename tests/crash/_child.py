"""A transfer run in a child process, to be killed with SIGKILL at a chosen point.

argv[1] is a JSON spec: ``server``, ``api_key``, ``mode`` (``upload`` or ``download``),
``src``, ``dest``, ``config`` (``TransferConfig`` keywords), ``skip_existing``, ``kill_at`` (0:
run to the end), ``delay`` (seconds added after each storage call: slows the run down).

Every storage and state-server call the transfer makes is two events, one before it and one
after it returns. Each event is a line on stdout, ``E <n> <bytes stored so far>``. At event
``kill_at`` the child prints ``KILL <n> <bytes>`` and blocks its event loop: the test then sends
SIGKILL, so the point is exact (worker threads may still finish what they were writing). A run
to the end prints ``DONE <events> <bytes>``.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import anyio

from jetraw._api import StateServerAPI
from jetraw._storage import LocalStorage, S3Storage
from jetraw._transfer import TransferConfig
from jetraw.aio import AsyncClient

STORAGE_CALLS = ("put_object", "create_multipart", "upload_part", "complete_multipart")
API_CALLS = (
    "create_upload",
    "batch_create_uploads",
    "set_storage_upload_id",
    "complete_upload",
    "batch_complete",
)


class Events:
    def __init__(self, kill_at: int, delay: float) -> None:
        self.n = 0
        self.stored = 0
        self.kill_at = kill_at
        self.delay = delay

    def event(self) -> None:
        self.n += 1
        if self.n == self.kill_at:
            print(f"KILL {self.n} {self.stored}", flush=True)
            time.sleep(120)  # the loop stops here; SIGKILL arrives within milliseconds
            sys.exit(3)  # never killed: the test fails on this exit code
        print(f"E {self.n} {self.stored}", flush=True)


def hook(cls: Any, name: str, events: Events, *, stores: bool, delay: bool) -> None:
    original = getattr(cls, name)

    async def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        events.event()
        result = await original(self, *args, **kwargs)
        if stores and name in ("put_object", "upload_part"):
            at = 1 if name == "put_object" else 3
            events.stored += len(kwargs["body"] if "body" in kwargs else args[at])
        if delay and events.delay:
            await anyio.sleep(events.delay)
        events.event()
        return result

    setattr(cls, name, wrapper)


def hook_ranges(cls: Any, events: Events) -> None:
    original = cls.iter_range

    async def iter_range(self: Any, key: str, start: int, length: int) -> Any:
        events.event()
        async for data in original(self, key, start, length):
            events.stored += len(data)
            yield data
        if events.delay:
            await anyio.sleep(events.delay)
        events.event()

    cls.iter_range = iter_range


async def main() -> None:
    spec = json.loads(sys.argv[1])
    events = Events(int(spec.get("kill_at", 0)), float(spec.get("delay", 0)))
    for cls in (LocalStorage, S3Storage):
        if spec["mode"] == "download":
            hook_ranges(cls, events)
        else:
            for name in STORAGE_CALLS:
                hook(cls, name, events, stores=True, delay=True)
    if spec["mode"] == "upload":
        for name in API_CALLS:
            hook(StateServerAPI, name, events, stores=False, delay=False)
    config = TransferConfig(**spec.get("config", {}))
    async with AsyncClient(spec["api_key"], server=spec["server"]) as client:
        if spec["mode"] == "upload":
            await client.upload(
                spec["src"],
                spec["dest"],
                config=config,
                skip_existing=bool(spec.get("skip_existing")),
            )
        else:
            await client.download(spec["src"], spec["dest"], config=config)
    print(f"DONE {events.n} {events.stored}", flush=True)


anyio.run(main)
