"""``POST /device`` is no oracle (issue 12, finding 3): without a signed-in person, a live, an
expired and an unknown code get the same answer, and nobody can deny someone else's request.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from auth_support import AuthServer, FormReader, running_server, submit
from authlib.integrations.base_client.errors import OAuthError

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
UNKNOWN = "BBBB-CCCC"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[AuthServer]:
    with running_server(tmp_path, device_poll_interval=1, device_code_ttl=60) as srv:
        yield srv


def _start(server: AuthServer) -> dict[str, Any]:
    answer = httpx.post(f"{server.url}/oauth/device_authorization", data={"client_id": "jetraw"})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _poll(server: AuthServer, device_code: str) -> dict[str, Any]:
    server.clock.advance(10)  # never too fast
    try:
        token = server.oauth_client().fetch_token(
            server.token_url, grant_type=DEVICE_GRANT, device_code=device_code
        )
    except OAuthError as exc:
        return {"error": exc.error}
    return dict(token)


def _probe(
    browser: httpx.Client, page: httpx.Response, code: str, values: dict[str, str]
) -> tuple[int, str]:
    answer = submit(browser, page, {"user_code": code, **values})
    # The only difference allowed is the code the visitor typed, echoed into the form.
    return answer.status_code, answer.text.replace(code, "<CODE>")


def test_anonymous_posts_tell_nothing_about_codes(server: AuthServer) -> None:
    user = server.user("pat@example.org", "acme")
    expired = _start(server)
    server.clock.advance(61)
    live = _start(server)
    assert _poll(server, live["device_code"]) == {"error": "authorization_pending"}
    codes = [live["user_code"], expired["user_code"], UNKNOWN]
    anonymous_forms: list[dict[str, str]] = [
        {"action": "approve", "email": "", "password": ""},
        {"action": "deny", "email": "", "password": ""},
        {"action": "deny"},
        {"action": "approve", "email": user.email, "password": "wrong"},
        {"action": "deny", "email": user.email, "password": "wrong"},
        {"action": "deny", "email": "nobody@example.org", "password": "x"},
        {"action": "approve", "login_ticket": "forged.ticket"},
    ]
    with httpx.Client() as browser:
        page = browser.get(f"{server.url}/device")
        for values in anonymous_forms:
            answers = {code: _probe(browser, page, code, values) for code in codes}
            assert len(set(answers.values())) == 1, (values, answers)
            status, body = answers[UNKNOWN]
            assert status in (400, 401), values
            reader = FormReader(body)
            assert {"user_code", "email", "password"} <= set(reader.ids)  # the login form again
            assert reader.texts["error"] in {
                "Wrong email or password.",
                "Sign in to approve or deny the request.",
                "Your sign-in expired; sign in again.",
            }
    # None of it denied or used the live request: its device can still be approved.
    assert _poll(server, live["device_code"]) == {"error": "authorization_pending"}
    with httpx.Client() as browser:
        page = browser.get(f"{server.url}/device", params={"user_code": live["user_code"]})
        approved = submit(browser, page, {"email": user.email, "password": user.password})
        assert "approved" in FormReader(approved.text).ids, approved.text
    token = _poll(server, live["device_code"])
    assert token["refresh_token"].startswith("jrt_")
    assert token["user"]["email"] == user.email


def test_deny_needs_the_signed_in_user_and_csrf(server: AuthServer) -> None:
    user = server.user("quin@example.org", "acme")
    start = _start(server)
    code = start["user_code"]
    with httpx.Client() as browser:
        page = browser.get(f"{server.url}/device")
        anonymous = submit(browser, page, {"user_code": code, "action": "deny"})
        assert anonymous.status_code == 401
        assert "denied" not in FormReader(anonymous.text).ids
        no_csrf = browser.post(
            f"{server.url}/device",
            data={
                "user_code": code,
                "email": user.email,
                "password": user.password,
                "action": "deny",
            },
        )
        assert no_csrf.status_code == 403
        assert _poll(server, start["device_code"]) == {"error": "authorization_pending"}
        denied = submit(
            browser,
            page,
            {"user_code": code, "email": user.email, "password": user.password, "action": "deny"},
        )
        assert "denied" in FormReader(denied.text).ids
    assert _poll(server, start["device_code"]) == {"error": "access_denied"}


def test_signed_in_user_learns_a_code_is_not_live(server: AuthServer) -> None:
    user = server.user("ray@example.org", "acme")
    with httpx.Client() as browser:
        page = browser.get(f"{server.url}/device")
        answer = submit(
            browser, page, {"user_code": UNKNOWN, "email": user.email, "password": user.password}
        )
        assert answer.status_code == 400
        assert "not valid or has expired" in FormReader(answer.text).texts["error"]
