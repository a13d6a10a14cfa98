"""The ``jetraw`` command on a slow link, so a test can interrupt a transfer mid-way.

argv: delay_seconds, then the command's own arguments. Each stored part waits the delay before
the engine learns of it, and each chunk read from storage waits it before it is handed on, on
both storage backends.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from typing import Any

import anyio

from jetraw._storage import LocalStorage, S3Storage
from jetraw._transfer import JournalStore


def slow(cls: Any, delay: float) -> None:
    original = cls.upload_part

    async def upload_part(self: Any, *args: Any, **kwargs: Any) -> Any:
        info = await original(self, *args, **kwargs)
        await anyio.sleep(delay)
        return info

    cls.upload_part = upload_part
    original_range = cls.iter_range

    async def iter_range(self: Any, *args: Any, **kwargs: Any) -> AsyncIterator[bytes]:
        async for chunk in original_range(self, *args, **kwargs):
            await anyio.sleep(delay)
            yield chunk

    cls.iter_range = iter_range


if __name__ == "__main__":
    delay = float(sys.argv.pop(1))
    for backend in (LocalStorage, S3Storage):
        slow(backend, delay)
    # The tests interrupt once N parts are journaled: journal each slow part as it finishes
    # (the engine's throttle still decides; its interval is just shorter than a part here).
    JournalStore.INTERVAL = delay / 2
    from jetraw.cli import main

    sys.argv[0] = "jetraw"
    main()
