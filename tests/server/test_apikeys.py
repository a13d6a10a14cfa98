"""API keys: the /api/v1/api-keys API and the settings web page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from auth_support import AuthServer, FormReader, User, running_server, submit


@pytest.fixture
def server(tmp_path: Path) -> Iterator[AuthServer]:
    with running_server(tmp_path) as srv:
        yield srv


def _access(server: AuthServer, key: str, **extra: str) -> str:
    answer = httpx.post(
        server.token_url,
        data={"grant_type": "refresh_token", "refresh_token": key, **extra},
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_create_list_revoke(server: AuthServer) -> None:
    user = server.user("amy@example.org", "acme", "beta")
    _, bootstrap_key = server.api_key(user, "acme", name="first")
    token = _access(server, bootstrap_key)
    url = f"{server.url}/api/v1/api-keys"
    created = httpx.post(url, json={"name": "laptop"}, headers=_auth(token))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["key"].startswith(f"jrk_{body['id']}_")
    assert body["hint"] == body["key"][-4:]
    assert body["organisation"]["name"] == "acme"
    assert body["revoked_at"] is None
    assert body["last_used_at"] is None
    other = httpx.post(url, json={"name": "ci", "organisation": "beta"}, headers=_auth(token))
    assert other.json()["organisation"]["name"] == "beta"
    listed = httpx.get(url, headers=_auth(token)).json()["items"]
    assert [k["name"] for k in listed] == ["first", "laptop", "ci"]
    assert all("key" not in k or k["key"] is None for k in listed)
    # The new key works, and its access tokens die the moment it is revoked.
    new_token = _access(server, body["key"])
    assert httpx.get(url, headers=_auth(new_token)).status_code == 200
    deleted = httpx.delete(f"{url}/{body['id']}", headers=_auth(token))
    assert deleted.status_code == 204
    gone = httpx.get(url, headers=_auth(new_token))
    assert gone.status_code == 401
    assert gone.json()["code"] == "unauthorized"
    assert gone.headers["www-authenticate"].startswith("Bearer")
    refused = httpx.post(
        server.token_url, data={"grant_type": "refresh_token", "refresh_token": body["key"]}
    )
    assert refused.json()["error"] == "invalid_grant"
    listed = {k["id"]: k for k in httpx.get(url, headers=_auth(token)).json()["items"]}
    assert listed[body["id"]]["revoked_at"] is not None
    assert httpx.delete(f"{url}/{body['id']}", headers=_auth(token)).status_code == 204


def test_api_key_errors(server: AuthServer) -> None:
    user = server.user("bob@example.org", "acme")
    stranger = server.user("sue@example.org", "other")
    _, key = server.api_key(user, "acme")
    _, stranger_key = server.api_key(stranger, "other")
    token = _access(server, key)
    url = f"{server.url}/api/v1/api-keys"
    not_member = httpx.post(url, json={"name": "x", "organisation": "other"}, headers=_auth(token))
    assert (not_member.status_code, not_member.json()["code"]) == (403, "not_a_member")
    for bad in (
        {},
        {"name": ""},
        {"name": 5},
        {"name": "x" * 101},
        {"name": "a", "extra": 1},
        {"name": "tab\there"},
    ):
        answer = httpx.post(url, json=bad, headers=_auth(token))
        assert (answer.status_code, answer.json()["code"]) == (400, "invalid_request"), bad
    malformed = httpx.post(
        url, content=b"{nope", headers={**_auth(token), "Content-Type": "application/json"}
    )
    assert malformed.json()["code"] == "invalid_request"
    stranger_id = httpx.get(url, headers=_auth(_access(server, stranger_key))).json()["items"][0]
    for key_id in (stranger_id["id"], "nope", "%00"):
        answer = httpx.delete(f"{url}/{key_id}", headers=_auth(token))
        assert (answer.status_code, answer.json()["code"]) == (404, "api_key_not_found")
    assert _access(server, stranger_key)  # still alive
    for header in (
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer " + token[:-2] + "AA"},
        {"Authorization": "Bearer " + key},
        {"Authorization": "Bearer \u00e9".encode()},
    ):
        answer = httpx.get(url, headers=header)
        assert answer.status_code == 401, header
        assert answer.json()["code"] == "unauthorized"


def test_access_token_expiry(server: AuthServer) -> None:
    server.set("access_token_ttl", 30)
    user = server.user("cal@example.org", "acme")
    _, key = server.api_key(user, "acme")
    answer = httpx.post(
        server.token_url, data={"grant_type": "refresh_token", "refresh_token": key}
    ).json()
    assert answer["expires_in"] == 30
    url = f"{server.url}/api/v1/api-keys"
    assert httpx.get(url, headers=_auth(answer["access_token"])).status_code == 200
    server.clock.advance(31)
    assert httpx.get(url, headers=_auth(answer["access_token"])).status_code == 401


def _settings_login(server: AuthServer, user: User, browser: httpx.Client) -> httpx.Response:
    first = browser.get(f"{server.url}/settings", follow_redirects=True)
    assert str(first.url).endswith("/login")
    answer = submit(browser, first, {"email": user.email, "password": user.password})
    assert answer.status_code == 303
    return browser.get(f"{server.url}/settings")


def test_settings_page_creates_and_revokes_keys(server: AuthServer) -> None:
    user = server.user("dee@example.org", "acme", "beta")
    with httpx.Client() as browser:
        page = _settings_login(server, user, browser)
        reader = FormReader(page.text)
        assert reader.texts["signed-in-as"] == user.email
        assert sorted(reader.forms["create-key-form"]["options"]["organisation"]) == [
            "acme",
            "beta",
        ]
        created = submit(
            browser, page, {"name": "desktop", "organisation": "beta"}, form_id="create-key-form"
        )
        assert created.status_code == 200
        key = FormReader(created.text).texts["new-key"]
        assert key.startswith("jrk_")
        token = httpx.post(
            server.token_url, data={"grant_type": "refresh_token", "refresh_token": key}
        ).json()
        assert token["organisation"]["name"] == "beta"
        # Shown once: the listing shows only the hint.
        again = browser.get(f"{server.url}/settings")
        assert key not in again.text
        assert key[-4:] in again.text
        key_id = key.split("_")[1]
        revoke_form = next(
            f for f in FormReader(again.text).forms.values() if key_id in f["action"]
        )
        revoked = browser.post(f"{server.url}{revoke_form['action']}", data=revoke_form["fields"])
        assert revoked.status_code == 303
    listing = httpx.get(f"{server.url}/api/v1/api-keys", headers=_auth(token["access_token"]))
    assert listing.status_code == 401


def test_settings_page_requires_login_and_csrf(server: AuthServer) -> None:
    user = server.user("eli@example.org", "acme")
    anonymous = httpx.post(f"{server.url}/settings/api-keys", data={"name": "x"})
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/login"
    with httpx.Client() as browser:
        page = _settings_login(server, user, browser)
        fields = FormReader(page.text).forms["create-key-form"]["fields"]
        forged = browser.post(
            f"{server.url}/settings/api-keys", data={**fields, "csrf_token": "x", "name": "evil"}
        )
        assert forged.status_code == 403
        wrong = submit(
            browser, page, {"name": "k", "organisation": "nope"}, form_id="create-key-form"
        )
        assert wrong.status_code == 400
        blank = submit(browser, page, {"name": "  "}, form_id="create-key-form")
        assert blank.status_code == 400
    with httpx.Client() as other:
        bad = other.get(f"{server.url}/login")
        refused = submit(other, bad, {"email": user.email, "password": "wrong"})
        assert refused.status_code == 401
        assert "jetraw_session" not in other.cookies
        other.cookies.set("jetraw_session", "forged.value")
        assert other.get(f"{server.url}/settings").status_code == 303
    assert httpx.get(f"{server.url}/api/v1/api-keys", headers=_auth("x")).status_code == 401
