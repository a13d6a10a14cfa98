"""The facade layer: AsyncJetrawPath reaches the transfer session only through a checked entry
point, and implicit default clients are per event loop (issue 8 review)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from jetraw import ClientClosedError
from jetraw.aio import AsyncClient, AsyncJetrawPath


@pytest.mark.anyio
async def test_a_closed_clients_path_refuses_open_before_any_storage_is_opened(
    jetraw_platform: Any,
) -> None:
    name = "closed-client"
    jetraw_platform.create_space(name)
    async with AsyncClient(jetraw_platform.api_key, server=jetraw_platform.url) as client:
        await AsyncJetrawPath(f"/{name}/warm", client=client).write_bytes(b"x")
    assert client._transfers.storages == {}  # closed with the client
    path = AsyncJetrawPath(f"/{name}/after-close", client=client)
    with pytest.raises(ClientClosedError):
        async with path.open("wb") as f:
            await f.write(b"never sent")
    with pytest.raises(ClientClosedError):
        async with path.open("rb"):
            pass
    assert client._transfers.storages == {}  # no backend opened after the close, none leaked


def test_implicit_default_clients_are_per_event_loop_across_threads(
    monkeypatch: pytest.MonkeyPatch, jetraw_platform: Any
) -> None:
    monkeypatch.setenv("JETRAW_SERVER", jetraw_platform.url)
    monkeypatch.setenv("JETRAW_API_KEY", jetraw_platform.api_key)
    from jetraw import _default_client as default

    monkeypatch.setattr(default, "_unbound", None)
    monkeypatch.setattr(default, "_implicit", type(default._implicit)())
    barrier = threading.Barrier(4)
    seen: list[tuple[int, AsyncClient, AsyncClient]] = []
    errors: list[BaseException] = []

    async def use() -> tuple[AsyncClient, AsyncClient]:
        barrier.wait(timeout=10)  # every thread's loop asks at the same moment
        first = default.get_default_client()
        await first.whoami()  # binds it to this loop; must not hit another thread's client
        return first, default.get_default_client()

    def worker(index: int) -> None:
        try:
            first, again = asyncio.run(use())
            seen.append((index, first, again))
        except BaseException as error:  # reported below, with the thread's index
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(seen) == 4
    assert all(first is again for _, first, again in seen)  # one per loop, kept for the loop
    assert len({id(first) for _, first, _ in seen}) == 4  # and never shared between loops
