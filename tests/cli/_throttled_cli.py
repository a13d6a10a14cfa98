"""The ``jetraw`` command with slow multipart parts, so a test can interrupt an upload mid-way.

argv: part_delay_seconds, then the command's own arguments. Each stored part waits the delay
before the engine learns of it (as a slow link would), on both storage backends.
"""

from __future__ import annotations

import sys
from typing import Any

import anyio

from jetraw._storage import LocalStorage, S3Storage


def slow(cls: Any, delay: float) -> None:
    original = cls.upload_part

    async def upload_part(self: Any, *args: Any, **kwargs: Any) -> Any:
        info = await original(self, *args, **kwargs)
        await anyio.sleep(delay)
        return info

    cls.upload_part = upload_part


if __name__ == "__main__":
    delay = float(sys.argv.pop(1))
    for backend in (LocalStorage, S3Storage):
        slow(backend, delay)
    from jetraw.cli import main

    sys.argv[0] = "jetraw"
    main()
