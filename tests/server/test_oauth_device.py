"""Device authorization (RFC 8628): codes, polling errors, approval and denial on the real page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from auth_support import AuthServer, FormReader, User, running_server, submit
from authlib.integrations.base_client.errors import OAuthError

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[AuthServer]:
    with running_server(tmp_path, device_poll_interval=2, device_code_ttl=120) as srv:
        yield srv


def _start(server: AuthServer, **extra: str) -> dict[str, Any]:
    answer = httpx.post(
        f"{server.url}/oauth/device_authorization", data={"client_id": "jetraw", **extra}
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    return dict(answer.json())


def _poll(server: AuthServer, device_code: str, **extra: str) -> dict[str, Any]:
    client = server.oauth_client()
    try:
        token = client.fetch_token(
            server.token_url, grant_type=DEVICE_GRANT, device_code=device_code, **extra
        )
    except OAuthError as exc:
        return {"error": exc.error}
    return dict(token)


def _approve(
    server: AuthServer,
    user: User,
    user_code: str,
    *,
    action: str = "approve",
    choose: str | None = None,
) -> httpx.Response:
    with httpx.Client() as browser:
        page = browser.get(f"{server.url}/device", params={"user_code": user_code})
        ids = FormReader(page.text).ids
        for element in ("user_code", "email", "password", "approve", "deny"):
            assert element in ids, element
        answer = submit(
            browser,
            page,
            {"email": user.email, "password": user.password, "action": action},
        )
        if choose is not None:
            assert FormReader(answer.text).ids["organisation"]["tag"] == "select"
            answer = submit(browser, answer, {"organisation": choose, "action": action})
    return answer


def test_device_flow_approved_on_the_page(server: AuthServer) -> None:
    user = server.user("ivy@example.org", "acme")
    start = _start(server)
    assert re.fullmatch(r"[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}", start["user_code"])
    assert start["verification_uri"] == f"{server.url}/device"
    assert start["verification_uri_complete"] == (
        f"{server.url}/device?user_code={start['user_code']}"
    )
    assert start["expires_in"] == 120
    assert start["interval"] == 2
    assert _poll(server, start["device_code"]) == {"error": "authorization_pending"}
    server.clock.advance(2)
    page = _approve(server, user, start["user_code"])
    assert page.status_code == 200
    assert "approved" in FormReader(page.text).ids
    token = _poll(server, start["device_code"])
    assert token["refresh_token"].startswith("jrt_")
    assert token["organisation"]["name"] == "acme"
    assert token["user"]["email"] == user.email
    me = httpx.get(
        f"{server.url}/api/v1/me", headers={"Authorization": f"Bearer {token['access_token']}"}
    )
    assert me.status_code == 200
    # The device code is single use: a poll retried within the refresh grace period (its answer
    # was lost) gets the same login again, and one after it nothing.
    server.clock.advance(10)
    again = _poll(server, start["device_code"])
    assert again["refresh_token"] == token["refresh_token"]
    assert again["access_token"] != token["access_token"]
    server.clock.advance(21)
    assert _poll(server, start["device_code"]) == {"error": "invalid_grant"}
    metrics = httpx.get(f"{server.url}/metrics").text
    assert f'jetraw_token_grants_total{{grant_type="{DEVICE_GRANT}"}} 2' in metrics


def test_a_replayed_device_code_gets_nothing_once_its_login_was_used(server: AuthServer) -> None:
    user = server.user("ada@example.org", "acme")
    start = _start(server)
    _approve(server, user, start["user_code"])
    token = _poll(server, start["device_code"])
    refreshed = server.oauth_client().refresh_token(
        server.token_url, refresh_token=token["refresh_token"]
    )
    assert refreshed["refresh_token"] != token["refresh_token"]
    # Within the grace period, but the login it started has moved on: the code is spent.
    server.clock.advance(1)
    assert _poll(server, start["device_code"]) == {"error": "invalid_grant"}


def test_a_replayed_device_code_gets_nothing_once_its_login_was_revoked(
    server: AuthServer,
) -> None:
    user = server.user("bob@example.org", "acme")
    start = _start(server)
    _approve(server, user, start["user_code"])
    token = _poll(server, start["device_code"])
    revoked = httpx.post(
        f"{server.url}/oauth/revoke", data={"token": token["refresh_token"], "client_id": "jetraw"}
    )
    assert revoked.status_code == 200
    assert _poll(server, start["device_code"]) == {"error": "invalid_grant"}


def test_slow_down_when_polling_too_fast(server: AuthServer) -> None:
    start = _start(server)
    assert _poll(server, start["device_code"]) == {"error": "authorization_pending"}
    assert _poll(server, start["device_code"]) == {"error": "slow_down"}
    # The interval grew by 5 s (RFC 8628 §3.5): 2 s later is still too fast.
    server.clock.advance(3)
    assert _poll(server, start["device_code"]) == {"error": "slow_down"}
    server.clock.advance(13)
    assert _poll(server, start["device_code"]) == {"error": "authorization_pending"}


def test_denied_on_the_page(server: AuthServer) -> None:
    user = server.user("jay@example.org", "acme")
    start = _start(server)
    page = _approve(server, user, start["user_code"].lower().replace("-", ""), action="deny")
    assert "denied" in FormReader(page.text).ids
    assert _poll(server, start["device_code"]) == {"error": "access_denied"}


def test_expired_device_code(server: AuthServer) -> None:
    user = server.user("kai@example.org", "acme")
    start = _start(server)
    server.clock.advance(121)
    page = _approve(server, user, start["user_code"])
    assert page.status_code == 400
    assert "not valid or has expired" in FormReader(page.text).texts["error"]
    assert _poll(server, start["device_code"]) == {"error": "expired_token"}


def test_organisation_choice_and_hint(server: AuthServer) -> None:
    user = server.user("lea@example.org", "acme", "beta")
    start = _start(server)
    page = _approve(server, user, start["user_code"], choose="beta")
    assert "approved" in FormReader(page.text).ids
    assert _poll(server, start["device_code"])["organisation"]["name"] == "beta"
    hinted = _start(server, organisation="beta")
    page = _approve(server, user, hinted["user_code"])  # no choice needed
    assert "approved" in FormReader(page.text).ids
    assert _poll(server, hinted["device_code"])["organisation"]["name"] == "beta"


def test_wrong_password_and_unknown_code_on_the_page(server: AuthServer) -> None:
    user = server.user("max@example.org", "acme")
    start = _start(server)
    with httpx.Client() as browser:
        page = browser.get(f"{server.url}/device")
        wrong = submit(
            browser,
            page,
            {"user_code": start["user_code"], "email": user.email, "password": "nope"},
        )
        assert wrong.status_code == 401
        assert FormReader(wrong.text).texts["error"] == "Wrong email or password."
        unknown = submit(
            browser,
            page,
            {"user_code": "BBBB-BBBB", "email": user.email, "password": user.password},
        )
        assert unknown.status_code == 400
        garbage = submit(browser, page, {"user_code": "<script>", "email": "", "password": ""})
        assert garbage.status_code == 400
        assert "<script>" not in garbage.text
        no_csrf = browser.post(
            f"{server.url}/device",
            data={
                "user_code": start["user_code"],
                "email": user.email,
                "password": user.password,
                "action": "approve",
            },
        )
        assert no_csrf.status_code == 403
    assert _poll(server, start["device_code"]) == {"error": "authorization_pending"}


def test_device_authorization_errors(server: AuthServer) -> None:
    url = f"{server.url}/oauth/device_authorization"
    missing = httpx.post(url, data={})
    assert (missing.status_code, missing.json()["error"]) == (400, "invalid_request")
    wrong = httpx.post(url, data={"client_id": "someone"})
    assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_client")
    as_json = httpx.post(url, json={"client_id": "jetraw"})
    assert (as_json.status_code, as_json.json()["error"]) == (400, "invalid_request")
    unknown = _poll(server, "not-a-device-code")
    assert unknown == {"error": "invalid_grant"}
