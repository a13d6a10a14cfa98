"""AsyncClient logic against httpx.MockTransport (fast; the end-to-end twins use LocalPlatform)."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from pathlib import Path

import anyio
import anyio.to_thread
import httpx
import pytest

from jetraw import _exceptions as exc
from jetraw._auth._store import FileStore, MemoryStore
from jetraw._auth._tokens import TokenManager
from jetraw._config import Profile, save_profile
from jetraw._http import RetryPolicy, StateServerHTTP
from jetraw.aio import AsyncClient, get_default_client, set_default_client

from ._mock import MockServer

pytestmark = pytest.mark.anyio
SERVER = "http://jet.test"


def client(mock: MockServer, key: str | None = "jrk_good", **kw: object) -> AsyncClient:
    return AsyncClient(key, server=SERVER, transport=mock.transport(), **kw)  # type: ignore[arg-type]


async def test_api_key_fetches_token_on_enter_and_calls() -> None:
    mock = MockServer()
    async with client(mock) as c:
        assert mock.token_grants() == 1
        ident = await c.whoami()
        assert ident.email == "ada@example.org"
        assert ident.organisation.name == "acme"
        assert c.organisation == "acme"
        assert c.auth_source == "argument"
    assert mock.token_grants() == 1


async def test_wrong_key_fails_at_enter() -> None:
    mock = MockServer()
    with pytest.raises(exc.InvalidCredentialsError, match="jetraw login") as info:
        async with client(mock, "jrk_wrong"):
            pass
    assert info.value.request_id == "req-grant"
    assert "jrk_wrong" not in str(info.value)


async def test_no_credentials_is_login_required_naming_jetraw_login() -> None:
    mock = MockServer()
    with pytest.raises(exc.LoginRequiredError, match="jetraw login"):
        async with client(mock, None):
            pass


async def test_refresh_token_if_empty_false_tolerates_no_credentials() -> None:
    mock = MockServer()
    async with client(mock, None, refresh_token_if_empty=False) as c:
        assert c.auth_source is None
        with pytest.raises(exc.LoginRequiredError, match="jetraw login"):
            await c.whoami()
    assert mock.requests == []


async def test_no_server_is_a_clear_configuration_error() -> None:
    with pytest.raises(exc.ConfigurationError, match="JETRAW_SERVER"):
        async with AsyncClient("jrk_good"):
            pass


async def test_401_refreshes_once_and_retries() -> None:
    mock = MockServer()
    async with client(mock) as c:
        mock.valid_access.clear()  # the server forgot every token (a restart, a revocation)
        await c.whoami()
        assert mock.token_grants() == 2
        mock.valid_access.clear()
        mock.fail_next = []
        # A token refused twice in a row is an error, not a loop.
        original = mock.token

        def token_then_forget(form: dict[str, str]) -> httpx.Response:
            response = original(form)
            mock.valid_access.clear()
            return response

        mock.token = token_then_forget  # type: ignore[method-assign]
        with pytest.raises(exc.InvalidCredentialsError):
            await c.whoami()


async def test_thousand_concurrent_calls_share_one_refresh() -> None:
    mock = MockServer()
    async with client(mock) as c:
        mock.valid_access.clear()
        before = mock.token_grants()
        async with anyio.create_task_group() as tg:
            for _ in range(1000):
                tg.start_soon(c.whoami)
        assert mock.token_grants() - before == 1


async def test_expired_token_is_refreshed_before_use() -> None:
    now = [1000.0]
    mock = MockServer(ttl=100)
    http = StateServerHTTP(SERVER, transport=mock.transport())
    tm = TokenManager(http, "jrk_good", clock=lambda: now[0])
    first = await tm.access_token()
    now[0] += 74  # before the 25 % margin
    assert await tm.access_token() == first
    now[0] += 2
    assert await tm.access_token() != first
    assert mock.token_grants() == 2
    await http.aclose()


async def test_cancelled_refresh_still_keeps_rotated_token() -> None:
    mock = MockServer()
    in_flight_at: list[float] = []
    answered_at: list[float] = []
    original = mock.token

    def slow_token(form: dict[str, str]) -> httpx.Response:
        in_flight_at.append(time.monotonic())
        time.sleep(0.5)
        # The server has rotated the token: only this answer carries the new one.
        answered_at.append(time.monotonic())
        return original(form)

    mock.token = slow_token  # type: ignore[method-assign]

    async def slow_handler(request: httpx.Request) -> httpx.Response:
        # abandon_on_cancel: an unshielded caller really loses the answer, as over a network.
        return await anyio.to_thread.run_sync(mock, request, abandon_on_cancel=True)

    http = StateServerHTTP(SERVER, transport=httpx.MockTransport(slow_handler))
    tm = TokenManager(http, "jrt_1", rotating=True)
    with anyio.move_on_after(0.2) as scope:
        await tm.access_token()
        await anyio.sleep(5)
    assert scope.cancelled_caught
    # The shielded refresh finished: the rotated token was kept, the old one is gone.
    assert tm.refresh_token not in (None, "jrt_1")
    assert tm.refresh_token in mock.refresh_tokens
    # ... although the cancellation came while the grant was in flight, before the answer.
    assert in_flight_at[0] < scope.deadline < answered_at[0]
    await http.aclose()


async def test_not_a_member_is_permission_denied() -> None:
    mock = MockServer()
    with pytest.raises(exc.PermissionDeniedError, match="not a member"):
        async with client(mock, organisation="other"):
            pass


async def test_problem_codes_map_to_exceptions() -> None:
    mock = MockServer()
    async with client(mock) as c:
        with pytest.raises(exc.SpaceNotFoundError) as info:
            await c.get_space("nope")
        assert info.value.status_code == 404
        assert info.value.code == "space_not_found"
        assert info.value.request_id == "req-404"
        space = await c.create_space("raw")
        assert await c.get_space("raw") is space


async def test_retries_idempotent_on_503_with_retry_after() -> None:
    mock = MockServer()
    mock.fail_next = [
        httpx.Response(503, json={"code": "internal_error"}, headers={"retry-after": "0"}),
        httpx.Response(429, json={"code": "rate_limited"}, headers={"retry-after": "0"}),
    ]
    async with client(mock) as c:
        assert (await c.whoami()).email == "ada@example.org"


async def test_no_retry_of_post_on_500() -> None:
    mock = MockServer()
    async with client(mock) as c:
        mock.fail_next = [httpx.Response(500, json={"code": "internal_error", "status": 500})]
        with pytest.raises(exc.APIError):
            await c.create_space("x")
        assert sum(r.method == "POST" and "spaces" in r.url.path for r in mock.requests) == 1


async def test_rate_limited_after_retries_carries_retry_after() -> None:
    mock = MockServer()
    async with client(mock, retries=2) as c:
        limited = httpx.Response(
            429,
            json={"code": "rate_limited", "detail": "Slow down."},
            headers={"retry-after": "0", "x-request-id": "req-429"},
        )
        mock.fail_next = [limited, limited, limited]
        with pytest.raises(exc.RateLimitedError) as info:
            await c.whoami()
    assert info.value.retry_after == 0
    assert info.value.status_code == 429
    assert info.value.request_id == "req-429"
    assert sum(r.url.path == "/api/v1/me" for r in mock.requests) == 3


def test_retry_policy_backoff_is_capped_with_jitter() -> None:
    policy = RetryPolicy(attempts=5, backoff=1.0, max_backoff=4.0, rand=lambda: 1.0)
    assert [policy.delay(n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 4.0]
    low = RetryPolicy(backoff=1.0, rand=lambda: 0.0)
    assert low.delay(2) == 0.0  # full jitter: anywhere between 0 and the ceiling
    mid = RetryPolicy(backoff=1.0, max_backoff=10.0, rand=lambda: 0.5)
    assert [mid.delay(n) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 4.0, 5.0]  # scales, capped
    assert policy.delay(1, retry_after=30) == 4.0  # Retry-After honoured up to the cap
    assert policy.delay(1, retry_after=0.5) == 0.5


async def test_connection_refused_is_server_connection_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    c = AsyncClient("jrk_good", server=SERVER, transport=httpx.MockTransport(refuse), retries=2)
    with anyio.fail_after(5), pytest.raises(exc.ServerConnectionError, match="Cannot reach"):
        async with c:
            pass


async def test_authorization_never_sent_cross_origin() -> None:
    mock = MockServer()
    async with client(mock) as c:
        with pytest.raises(exc.ConfigurationError, match="Refusing"):
            await c._api.request("GET", "http://elsewhere.test/api/v1/me")
    assert all(r.url.host == "jet.test" for r in mock.requests)


async def test_closed_client_and_second_loop() -> None:
    mock = MockServer()
    c = client(mock)
    await c.aclose()
    with pytest.raises(exc.ClientClosedError):
        await c.whoami()

    c2 = client(mock)
    await c2.whoami()
    errors: list[BaseException] = []

    def other_loop() -> None:
        try:
            asyncio.run(c2.whoami())
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=other_loop)
    thread.start()
    thread.join()
    assert isinstance(errors[0], exc.EventLoopError)
    await c2.aclose()


async def test_secrets_not_in_repr_logs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    mock = MockServer()
    async with client(mock) as c:
        await c.whoami()
        text = repr(c)
    with pytest.raises(exc.JetrawError) as info:
        async with client(mock, "jrk_wrong"):
            pass
    everything = caplog.text + text + str(info.value) + repr(info.value)
    for secret in ("jrk_good", "jrk_wrong", *mock.valid_access):
        assert secret not in everything


async def test_default_client_set_and_implicit(monkeypatch: pytest.MonkeyPatch) -> None:
    mock = MockServer()
    c = client(mock)
    set_default_client(c)
    assert get_default_client() is c
    set_default_client(None)
    monkeypatch.setenv("JETRAW_SERVER", SERVER)
    monkeypatch.setenv("JETRAW_API_KEY", "jrk_good")
    implicit = get_default_client()
    assert implicit.auth_source == "env:JETRAW_API_KEY"
    assert get_default_client() is implicit
    await implicit.aclose()
    assert get_default_client() is not implicit
    set_default_client(None)
    await c.aclose()


async def test_profile_login_adopts_token_rotated_by_another_process() -> None:
    mock = MockServer(ttl=600)
    store = MemoryStore()
    save_profile(Profile("default", SERVER, "acme", "ada@example.org"))
    key = f"{SERVER}|acme|ada@example.org"
    store.set(key, {"kind": "refresh_token", "refresh_token": "jrt_1"})
    a = AsyncClient(transport=mock.transport())
    b = AsyncClient(transport=mock.transport())
    async with a, b:
        assert a.auth_source == "profile:default"
        await a.whoami()  # rotates jrt_1 and stores the new access token
        await b.whoami()  # adopts a's access token from the store: no second grant
        assert mock.token_grants() == 1
        mock.valid_access.clear()
        await b.whoami()  # b refreshes with the rotated token it adopted
        assert mock.token_grants() == 2
        mock.valid_access.discard("at_1")
        await a.whoami()  # a adopts b's access token from the store
        assert mock.token_grants() == 2
        # Without a reusable access token in the store, a must refresh with b's rotated refresh
        # token: its own was rotated away (this mock has no grace period) and would fail.
        blob = store.get(key)
        assert blob is not None
        store.set(key, {"kind": "refresh_token", "refresh_token": blob["refresh_token"]})
        mock.valid_access.clear()
        await a.whoami()
    assert mock.token_grants() == 3
    assert store.get(key)["refresh_token"] in mock.refresh_tokens  # type: ignore[index]


async def test_revoked_interactive_login_says_run_jetraw_login() -> None:
    mock = MockServer()
    save_profile(Profile("default", SERVER, "acme", "ada@example.org"))
    MemoryStore().set(f"{SERVER}|acme|ada@example.org", {"refresh_token": "jrt_revoked"})
    with pytest.raises(exc.LoginRequiredError, match="run `jetraw login`"):
        async with AsyncClient(transport=mock.transport()):
            pass


def test_file_store_is_private_and_atomic(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "secrets")
    store.set("k", {"refresh_token": "jrt_x"})
    path = Path(store.describe("k"))
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert store.get("k") == {"refresh_token": "jrt_x"}
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    assert store.delete("k")
    assert store.get("k") is None


async def test_invalid_grant_rereads_the_store_once() -> None:
    # Another writer (not holding our lock, e.g. a login in another storage) replaced the token
    # between our read and our grant: the grant fails, the re-read finds the new one, it works.
    from jetraw._auth._store import store_key

    mock = MockServer()
    mock.refresh_tokens = {"jrt_new"}
    reads: list[int] = []

    class Racy(MemoryStore):
        def get(self, key: str) -> dict[str, object] | None:  # type: ignore[override]
            reads.append(1)
            token = "jrt_old" if len(reads) == 1 else "jrt_new"
            return {"refresh_token": token}

    http = StateServerHTTP(SERVER, transport=mock.transport())
    key = store_key(SERVER, "acme", "ada@example.org")
    tm = TokenManager(
        http,
        "jrt_old",
        rotating=True,
        store=Racy(),
        store_key=key,
        lock_path=Path(os.environ["JETRAW_CONFIG_DIR"]) / "t.lock",
    )
    assert await tm.access_token()
    assert tm.refresh_token not in ("jrt_old", "jrt_new")
    assert mock.token_grants() == 2
    await http.aclose()


async def test_invalid_grant_with_nothing_newer_says_log_in_again() -> None:
    from jetraw._auth._store import store_key

    mock = MockServer()
    store = MemoryStore()
    key = store_key(SERVER, "acme", "gone@example.org")
    store.set(key, {"refresh_token": "jrt_gone"})
    http = StateServerHTTP(SERVER, transport=mock.transport())
    tm = TokenManager(
        http,
        "jrt_gone",
        rotating=True,
        store=store,
        store_key=key,
        lock_path=Path(os.environ["JETRAW_CONFIG_DIR"]) / "t2.lock",
    )
    with pytest.raises(exc.LoginRequiredError, match="run `jetraw login`"):
        await tm.access_token()
    assert mock.token_grants() == 1
    await http.aclose()


def test_keyring_probe_that_hangs_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from jetraw._auth import _store

    monkeypatch.setattr(_store, "_probe_result", None)
    monkeypatch.setattr(_store, "_probe", lambda: time.sleep(5) or (True, "never"))
    started = time.monotonic()
    ok, why = _store.keyring_available(timeout=0.2)
    assert time.monotonic() - started < 1
    assert not ok
    assert "did not answer" in why


def test_keyring_failure_is_one_actionable_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring
    import keyring.errors

    from jetraw._auth._store import KeyringStore

    def locked(*args: object) -> None:
        raise keyring.errors.KeyringLocked("locked")

    monkeypatch.setattr(keyring, "get_password", locked)
    monkeypatch.setattr(keyring, "set_password", locked)
    store = KeyringStore()
    with pytest.raises(exc.ConfigurationError, match="JETRAW_TOKEN_STORAGE=file"):
        store.get("k")
    with pytest.raises(exc.ConfigurationError, match="unlock it"):
        store.set("k", {"refresh_token": "jrt_x"})


def test_one_problem_mapping_keeps_retry_after_request_id_and_status() -> None:
    from jetraw._http import problem_to_error

    error = problem_to_error(
        {
            "code": "rate_limited",
            "detail": "Slow down.",
            "status": 429,
            "retry_after": 3,
            "request_id": "req-1",
        }
    )
    assert isinstance(error, exc.RateLimitedError)
    assert (error.retry_after, error.status_code, error.request_id) == (3.0, 429, "req-1")
    missing = problem_to_error({"code": "file_not_found", "detail": "No.", "status": 404})
    assert isinstance(missing, exc.RemotePathNotFoundError)
    assert missing.status_code == 404
