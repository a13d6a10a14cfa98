"""One event loop and one client per worker process, kept from one task to the next.

A fresh ``AsyncClient`` per task would cost each task a token request and a new S3 client
(botocore loads its service model per session: ~0.2 s), and tasks running at once in one worker
would each have their own byte budget. Instead every task of a worker process runs on one loop
thread, with one entered client per set of :class:`~jetraw.dask._task.ClientOptions`, so the
``TransferConfig`` budget and request limit hold per worker, and the token and the connection
pools are reused. The clients are closed when the process exits; a forked child starts afresh.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import os
import threading
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Protocol, TypeVar

from jetraw.aio import AsyncClient

__all__ = ["ClientFactory", "WorkerRuntime", "runtime"]

T = TypeVar("T")

_CLOSE_TIMEOUT = 5.0


class ClientFactory(Protocol, Hashable):
    def client(self) -> AsyncClient: ...


class WorkerRuntime:
    """The process's loop thread (started on first use) and its cached clients."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._clients: dict[Any, AsyncClient] = {}
        self._client_lock: asyncio.Lock | None = None

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="jetraw-dask-loop", daemon=True
                )
                thread.start()
                self._loop = loop
            return self._loop

    def run(self, options: ClientFactory, work: Callable[[AsyncClient], Awaitable[T]]) -> T:
        """Run ``work(client)`` on the loop thread, with the process's client for ``options``."""
        loop = self._running_loop()
        future = asyncio.run_coroutine_threadsafe(self._with_client(options, work), loop)
        return future.result()

    async def _with_client(
        self, options: ClientFactory, work: Callable[[AsyncClient], Awaitable[T]]
    ) -> T:
        client = await self._client(options)
        try:
            return await work(client)
        except Exception:
            # A refused key or a broken client: the next task builds a new one.
            if self._clients.get(options) is client:
                del self._clients[options]
                await client.aclose()
            raise

    async def _client(self, options: ClientFactory) -> AsyncClient:
        if self._client_lock is None:
            self._client_lock = asyncio.Lock()
        async with self._client_lock:
            client = self._clients.get(options)
            if client is None:
                # Entering fetches the first token: a wrong key fails here (and is closed).
                client = await options.client().__aenter__()
                self._clients[options] = client
            return client

    def drop(self, options: ClientFactory) -> None:
        """Close and forget the client of ``options`` (after an error no retry cures)."""
        if self._loop is None:
            return

        async def close() -> None:
            client = self._clients.pop(options, None)
            if client is not None:
                await client.aclose()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(close(), self._loop).result(_CLOSE_TIMEOUT)

    def close(self) -> None:
        """Close every client and stop the loop (at exit; bounded wait)."""
        loop = self._loop
        if loop is None or not loop.is_running():
            return

        async def close_all() -> None:
            clients = list(self._clients.values())
            self._clients.clear()
            for client in clients:
                with contextlib.suppress(Exception):
                    await client.aclose()

        with contextlib.suppress(concurrent.futures.TimeoutError, RuntimeError):
            asyncio.run_coroutine_threadsafe(close_all(), loop).result(_CLOSE_TIMEOUT)
        loop.call_soon_threadsafe(loop.stop)
        self._loop = None

    def _after_fork(self) -> None:
        # The loop thread did not survive the fork; its sockets are the parent's: drop, not close.
        self._lock = threading.Lock()
        self._loop = None
        self._clients = {}
        self._client_lock = None


runtime = WorkerRuntime()
atexit.register(runtime.close)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=runtime._after_fork)
