"""The lock of a stored login: waiting is cancellable and uses no worker thread; the rotated
token survives a failing store and a cancellation mid-grant."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import filelock
import httpx
import pytest

from jetraw import _exceptions as exc
from jetraw._auth import _tokens
from jetraw._auth._store import MemoryStore
from jetraw._auth._tokens import TokenManager
from jetraw._http import StateServerHTTP

from ._mock import MockServer

pytestmark = pytest.mark.anyio
SERVER = "http://jet.test"
KEY = "http://jet.test|acme|ada@example.org"


class FlakyStore(MemoryStore):
    """A memory store whose next ``failures`` writes fail, as a locked keyring does."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.failed = 0

    def set(self, key: str, value: dict[str, Any]) -> None:
        if self.failed < self.failures:
            self.failed += 1
            raise exc.ConfigurationError("The OS keyring is locked.")
        super().set(key, value)


def manager(
    http: StateServerHTTP, lock: Path, store: MemoryStore | None = None, **kw: Any
) -> TokenManager:
    store = store if store is not None else MemoryStore()
    stored = store.get(KEY)
    if stored is None:
        MemoryStore.set(store, KEY, {"kind": "refresh_token", "refresh_token": "jrt_1"})
        stored = {"refresh_token": "jrt_1"}
    return TokenManager(
        http,
        stored["refresh_token"],
        rotating=True,
        store=store,
        store_key=KEY,
        lock_path=lock,
        **kw,
    )


@pytest.fixture
def mock_http() -> tuple[MockServer, StateServerHTTP]:
    mock = MockServer()
    return mock, StateServerHTTP(SERVER, transport=mock.transport())


async def test_cancelled_while_another_process_holds_the_file_lock(
    mock_http: tuple[MockServer, StateServerHTTP], tmp_path: Path
) -> None:
    mock, http = mock_http
    lock = tmp_path / "login.lock"
    tm = manager(http, lock)
    other = filelock.FileLock(str(lock))  # another open file: excluded like another process
    other.acquire()
    try:
        started = time.monotonic()
        with anyio.move_on_after(0.3) as scope:
            await tm.access_token()
        elapsed = time.monotonic() - started
    finally:
        other.release()
    assert scope.cancelled_caught
    assert elapsed < 1.0
    assert mock.requests == []
    # Nothing stayed held: the next refresh gets both locks at once.
    await tm.access_token()
    assert mock.token_grants() == 1
    await http.aclose()


async def test_cancelled_while_another_task_of_this_process_holds_the_login(
    mock_http: tuple[MockServer, StateServerHTTP], tmp_path: Path
) -> None:
    mock, http = mock_http
    lock = tmp_path / "login.lock"
    tm = manager(http, lock)
    in_process = _tokens._process_lock(tm._lock_key)
    assert in_process.acquire(blocking=False)
    try:
        with anyio.move_on_after(0.3) as scope:
            await tm.access_token()
    finally:
        in_process.release()
    assert scope.cancelled_caught
    assert mock.requests == []
    await http.aclose()


async def test_lock_never_obtained_is_a_login_error_after_the_timeout(
    mock_http: tuple[MockServer, StateServerHTTP],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, http = mock_http
    monkeypatch.setattr(_tokens, "LOCK_TIMEOUT", 0.3)
    lock = tmp_path / "login.lock"
    tm = manager(http, lock)
    other = filelock.FileLock(str(lock))
    other.acquire()
    try:
        with pytest.raises(exc.LoginError, match="Timed out waiting for the token lock"):
            await tm.access_token()
    finally:
        other.release()
    await http.aclose()


async def test_many_managers_of_one_login_wait_without_starving_worker_threads(
    mock_http: tuple[MockServer, StateServerHTTP], tmp_path: Path
) -> None:
    # More waiters than anyio's 40 worker threads: blocking waits in threads used to deadlock.
    mock, http = mock_http
    lock = tmp_path / "login.lock"
    store = MemoryStore()
    managers = [manager(http, lock, store) for _ in range(60)]
    tokens: list[str] = []

    async def get(tm: TokenManager) -> None:
        tokens.append(await tm.access_token())

    started = time.monotonic()
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            for tm in managers:
                tg.start_soon(get, tm)
    assert time.monotonic() - started < 5
    # The first refresh was stored; every other manager adopted it from the store.
    assert mock.token_grants() == 1
    assert len(set(tokens)) == 1
    await http.aclose()


async def test_a_failed_store_write_is_retried(
    mock_http: tuple[MockServer, StateServerHTTP],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    mock, http = mock_http
    monkeypatch.setattr(_tokens, "WRITE_RETRY_DELAY", 0.01)
    store = FlakyStore(failures=1)
    tm = manager(http, tmp_path / "login.lock", store)
    with caplog.at_level(logging.WARNING, logger="jetraw"):
        await tm.access_token()
    assert store.failed == 1
    stored = store.get(KEY)
    assert stored is not None
    assert stored["refresh_token"] == tm.refresh_token
    assert tm.refresh_token in mock.refresh_tokens
    assert caplog.records == []
    await http.aclose()


async def test_a_store_that_keeps_failing_keeps_the_token_and_warns(
    mock_http: tuple[MockServer, StateServerHTTP],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    mock, http = mock_http
    monkeypatch.setattr(_tokens, "WRITE_RETRY_DELAY", 0.01)
    store = FlakyStore(failures=100)
    tm = manager(http, tmp_path / "login.lock", store)
    with caplog.at_level(logging.WARNING, logger="jetraw"):
        access = await tm.access_token()
    assert store.failed == _tokens.WRITE_ATTEMPTS
    # The rotated token is the only valid one: kept in memory, and this client goes on working.
    assert tm.refresh_token in mock.refresh_tokens
    assert access in mock.valid_access
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert "Could not save the renewed login" in message
    assert "keyring is locked" in message
    assert tm.refresh_token is not None
    assert tm.refresh_token not in message
    assert access not in message
    await http.aclose()


async def test_stored_login_cancelled_mid_grant_stores_the_rotated_token(
    tmp_path: Path,
) -> None:
    mock = MockServer()
    in_flight_at: list[float] = []

    def slow_token(form: dict[str, str]) -> httpx.Response:
        in_flight_at.append(time.monotonic())
        time.sleep(0.5)
        return MockServer.token(mock, form)

    mock.token = slow_token  # type: ignore[method-assign]

    async def slow_handler(request: httpx.Request) -> httpx.Response:
        return await anyio.to_thread.run_sync(mock, request, abandon_on_cancel=True)

    http = StateServerHTTP(SERVER, transport=httpx.MockTransport(slow_handler))
    store = MemoryStore()
    tm = manager(http, tmp_path / "login.lock", store)
    with anyio.move_on_after(0.2) as scope:
        await tm.access_token()
        await anyio.sleep(5)
    assert scope.cancelled_caught
    assert in_flight_at[0] < scope.deadline
    stored = store.get(KEY)
    assert stored is not None
    assert stored["refresh_token"] != "jrt_1"
    assert stored["refresh_token"] in mock.refresh_tokens
    assert tm.refresh_token == stored["refresh_token"]
    await http.aclose()
