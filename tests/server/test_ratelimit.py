"""The rate limiter: unit behaviour of the sliding window, and 429s from the real endpoints."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from auth_support import AuthServer, FormReader, running_server, submit

from jetraw.server.auth import RateLimiter


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_sliding_window() -> None:
    clock = _Clock()
    limiter = RateLimiter(window=60, clock=clock)
    key = ("token", "10.0.0.1")
    assert [limiter.hit(key, 3) for _ in range(3)] == [None, None, None]
    assert limiter.hit(key, 3) == pytest.approx(60)
    assert limiter.hit(("token", "10.0.0.2"), 3) is None  # per address
    assert limiter.hit(("login", "10.0.0.1"), 3) is None  # per endpoint group
    clock.now += 30
    assert limiter.hit(key, 3) == pytest.approx(30)
    clock.now += 30.01  # the first three hits leave the window (sliding, not fixed buckets)
    assert limiter.hit(key, 3) is None
    assert limiter.hit(key, 0) is None  # 0 = off


def test_refused_hits_do_not_extend_the_wait() -> None:
    clock = _Clock()
    limiter = RateLimiter(window=60, clock=clock)
    key = ("token", "a")
    limiter.hit(key, 1)
    for _ in range(100):
        clock.now += 0.5
        assert limiter.hit(key, 1) is not None
    clock.now += 10
    assert limiter.hit(key, 1) is None


@pytest.fixture
def server(tmp_path: Path) -> Iterator[AuthServer]:
    with running_server(tmp_path, rate_limit_per_minute=3) as srv:
        yield srv


def test_token_endpoint_limited(server: AuthServer) -> None:
    data = {"grant_type": "refresh_token", "refresh_token": "jrk_x_y"}
    answers = [httpx.post(server.token_url, data=data) for _ in range(4)]
    assert [a.status_code for a in answers] == [400, 400, 400, 429]
    limited = answers[-1]
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    body = limited.json()
    assert body["code"] == "rate_limited"
    assert body["error"] == "rate_limited"
    assert body["status"] == 429
    # Other endpoint groups have their own window.
    device = httpx.post(f"{server.url}/oauth/device_authorization", data={"client_id": "jetraw"})
    assert device.status_code == 200


def test_login_form_limited(server: AuthServer) -> None:
    user = server.user("rl@example.org", "acme")
    with httpx.Client() as browser:
        page = browser.get(f"{server.url}/device")
        statuses = [
            submit(
                browser, page, {"user_code": "BBBB-BBBB", "email": user.email, "password": "x"}
            ).status_code
            for _ in range(3)
        ]
        limited = submit(browser, page, {"email": user.email, "password": user.password})
    # A wrong password is answered before the code is looked up (no code oracle): 401.
    assert statuses == [401, 401, 401]
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert "Too many attempts" in FormReader(limited.text).texts["error"]


def test_limit_is_a_runtime_setting(server: AuthServer) -> None:
    server.set("rate_limit_per_minute", 0)
    data = {"grant_type": "refresh_token", "refresh_token": "jrk_x_y"}
    assert {httpx.post(server.token_url, data=data).status_code for _ in range(8)} == {400}
    server.set("rate_limit_per_minute", 1)
    assert httpx.post(server.token_url, data=data).status_code == 400
    assert httpx.post(server.token_url, data=data).status_code == 429
