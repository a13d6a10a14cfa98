"""(being written)"""

from __future__ import annotations

import anyio

from jetraw.server._state import AppState


async def periodic_cleanup(state: AppState) -> None:
    await anyio.sleep_forever()
