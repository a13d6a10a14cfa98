"""Run by the resume tests in a child process: upload one file slowly, until killed.

argv: server api_key local_path dest part_delay_seconds
"""

from __future__ import annotations

import sys
from typing import Any

import anyio

from jetraw._storage import LocalStorage, S3Storage
from jetraw._storage._granted import GrantedStorage
from jetraw._transfer import TransferConfig
from jetraw.aio import AsyncClient

MiB = 1 << 20


def slow(cls: Any, delay: float) -> None:
    original = cls.upload_part

    async def upload_part(self: Any, *args: Any, **kwargs: Any) -> Any:
        info = await original(self, *args, **kwargs)
        await anyio.sleep(delay)  # a slow part; the engine has recorded nothing of it yet
        return info

    cls.upload_part = upload_part


async def main() -> None:
    server, api_key, local, dest, delay = sys.argv[1:6]
    for cls in (LocalStorage, S3Storage, GrantedStorage):
        slow(cls, float(delay))
    config = TransferConfig(multipart_threshold=5 * MiB, part_size=5 * MiB, max_concurrency=1)
    async with AsyncClient(api_key, server=server) as client:
        await client.upload(local, dest, config=config)


anyio.run(main)
