"""Logging out ends the settings session, and API keys can expire (issue 12, finding 1).

Before: ``/logout`` only asked the browser to drop the 12-hour signed cookie, so a copied cookie
kept creating API keys, which never expired.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from auth_support import AuthServer, FormReader, User, running_server, submit

from jetraw.server.auth import (
    SESSION_COOKIE,
    derived_key,
    end_user_sessions,
    hash_password,
    sign,
    verify_signed,
)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[AuthServer]:
    with running_server(tmp_path) as srv:
        yield srv


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _access(server: AuthServer, key: str) -> httpx.Response:
    return httpx.post(server.token_url, data={"grant_type": "refresh_token", "refresh_token": key})


def _login(server: AuthServer, user: User, browser: httpx.Client) -> httpx.Response:
    page = browser.get(f"{server.url}/login")
    answer = submit(browser, page, {"email": user.email, "password": user.password})
    assert answer.status_code == 303, answer.text
    settings = browser.get(f"{server.url}/settings")
    assert settings.status_code == 200
    return settings


def _create_with(
    server: AuthServer, cookies: dict[str, str], fields: dict[str, str], name: str
) -> httpx.Response:
    """What an attacker with a copy of the browser's cookies and a form token sends."""
    with httpx.Client(cookies=cookies) as thief:
        return thief.post(
            f"{server.url}/settings/api-keys",
            data={**fields, "name": name, "organisation": "acme"},
        )


def test_logout_ends_the_session_for_a_copied_cookie(server: AuthServer) -> None:
    user = server.user("ann@example.org", "acme")
    with httpx.Client() as browser:
        page = _login(server, user, browser)
        copied = dict(browser.cookies.items())
        assert SESSION_COOKIE in copied
        fields = FormReader(page.text).forms["create-key-form"]["fields"]
        # The copied cookie works while the session lives...
        made = _create_with(server, copied, fields, "before-logout")
        assert made.status_code == 200
        assert FormReader(made.text).texts["new-key"].startswith("jrk_")
        logout_form = next(
            f for f in FormReader(page.text).forms.values() if f["action"] == "/logout"
        )
        out = browser.post(f"{server.url}/logout", data=logout_form["fields"])
        assert out.status_code == 303
        assert out.headers["location"] == "/login"
    # ...and not after the owner signed out: no page, no new key.
    with httpx.Client(cookies=copied) as thief:
        assert thief.get(f"{server.url}/settings").status_code == 303
    refused = _create_with(server, copied, fields, "after-logout")
    assert (refused.status_code, refused.headers.get("location")) == (303, "/login")
    names = [
        r["name"] for r in server.state.db.conn().execute("SELECT name FROM api_keys").fetchall()
    ]
    assert names == ["before-logout"]
    assert server.state.db.conn().execute("SELECT COUNT(*) FROM sessions").fetchone()[0] == 0


def test_unknown_or_forged_session_ids_are_refused(server: AuthServer) -> None:
    user = server.user("ben@example.org", "acme")
    key = derived_key(server.state.db.conn(), "session")
    exp = server.clock.now + 3600
    for payload in (
        {"uid": user.id, "exp": exp},  # the old cookie: no session id at all
        {"sid": "never-issued", "uid": user.id, "exp": exp},
        {"sid": 5, "uid": user.id, "exp": exp},
        {"sid": "x", "uid": user.id, "exp": True},
    ):
        with httpx.Client(cookies={SESSION_COOKIE: sign(key, payload)}) as browser:
            assert browser.get(f"{server.url}/settings").status_code == 303, payload
    # A real session id under another user's id is refused too.
    other = server.user("bob@example.org", "acme")
    with httpx.Client() as browser:
        _login(server, user, browser)
        real = verify_signed(key, browser.cookies[SESSION_COOKIE])
        assert real is not None
        swapped = sign(key, {**real, "uid": other.id})
        with httpx.Client(cookies={SESSION_COOKIE: swapped}) as thief:
            assert thief.get(f"{server.url}/settings").status_code == 303
        assert browser.get(f"{server.url}/settings").status_code == 200


def test_sessions_expire_and_end_when_the_password_changes(server: AuthServer) -> None:
    user = server.user("cat@example.org", "acme")
    with httpx.Client() as browser:
        _login(server, user, browser)
        server.clock.advance(12 * 3600 + 1)
        assert browser.get(f"{server.url}/settings").status_code == 303
    with httpx.Client() as browser:
        _login(server, user, browser)
        conn = server.state.db.conn()
        conn.execute(
            "UPDATE users SET password_hash = ? WHERE id = ?",
            (hash_password("a new password", n=16), user.id),
        )
        assert browser.get(f"{server.url}/settings").status_code == 303
    user.password = "a new password"
    with httpx.Client() as one, httpx.Client() as two:
        _login(server, user, one)
        _login(server, user, two)
        # Two live ones, and the record of the one refused since the password changed.
        assert end_user_sessions(server.state.db.conn(), user.id) == 3
        assert one.get(f"{server.url}/settings").status_code == 303
        assert two.get(f"{server.url}/settings").status_code == 303


def test_api_key_expiry_on_the_json_api(server: AuthServer) -> None:
    user = server.user("dan@example.org", "acme")
    _, key = server.api_key(user, "acme")
    token = _access(server, key).json()["access_token"]
    url = f"{server.url}/api/v1/api-keys"
    never = httpx.post(url, json={"name": "forever"}, headers=_auth(token)).json()
    assert never["expires_at"] is None
    short = httpx.post(url, json={"name": "short", "expires_in": 3600}, headers=_auth(token))
    assert short.status_code == 201, short.text
    at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(server.clock.now + 7200))
    fixed = httpx.post(url, json={"name": "fixed", "expires_at": at}, headers=_auth(token)).json()
    assert fixed["expires_at"] == at
    expected = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(server.clock.now + 3600))
    assert short.json()["expires_at"] == expected
    listed = {k["name"]: k for k in httpx.get(url, headers=_auth(token)).json()["items"]}
    assert listed["short"]["expires_at"] == expected
    assert listed["forever"]["expires_at"] is None
    short_token = _access(server, short.json()["key"]).json()["access_token"]
    assert httpx.get(url, headers=_auth(short_token)).status_code == 200
    server.clock.advance(3601)
    # Expired: refused at the token endpoint exactly like a revoked key, and its access token
    # stops working at once (not when it would have expired).
    refused = _access(server, short.json()["key"])
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")
    assert httpx.get(url, headers=_auth(short_token)).status_code == 401
    assert _access(server, fixed["key"]).status_code == 200
    assert _access(server, never["key"]).status_code == 200
    server.clock.advance(3600)
    assert _access(server, fixed["key"]).json()["error"] == "invalid_grant"
    fresh = _access(server, key).json()["access_token"]
    listed = {k["name"]: k for k in httpx.get(url, headers=_auth(fresh)).json()["items"]}
    assert listed["short"]["expires_at"] == expected
    assert listed["short"]["revoked_at"] is None
    bad_bodies: list[dict[str, Any]] = [
        {"name": "k", "expires_in": 0},
        {"name": "k", "expires_in": -5},
        {"name": "k", "expires_in": "60"},
        {"name": "k", "expires_in": 10**12},
        {"name": "k", "expires_in": 60, "expires_at": at},
        {"name": "k", "expires_at": "yesterday"},
        {"name": "k", "expires_at": "2020-01-01T00:00:00Z"},
        {"name": "k", "expires_at": "2026-12-31T00:00:00"},  # no zone
        {"name": "k", "expires_at": "9999-12-31T00:00:00Z"},
    ]
    for body in bad_bodies:
        answer = httpx.post(url, json=body, headers=_auth(fresh))
        assert (answer.status_code, answer.json()["code"]) == (400, "invalid_request"), body


def test_operator_default_ttl(tmp_path: Path) -> None:
    with running_server(tmp_path, api_key_default_ttl=600) as server:
        user = server.user("eve@example.org", "acme")
        _, key = server.api_key(user, "acme")  # made directly: no default applied
        token = _access(server, key).json()["access_token"]
        url = f"{server.url}/api/v1/api-keys"
        made = httpx.post(url, json={"name": "default"}, headers=_auth(token)).json()
        assert made["expires_at"] == time.strftime(
            "%Y-%m-%dT%H:%M:%SZ", time.gmtime(server.clock.now + 600)
        )
        longer = httpx.post(url, json={"name": "l", "expires_in": 86400}, headers=_auth(token))
        assert longer.json()["expires_at"] > made["expires_at"]
        server.clock.advance(601)
        assert _access(server, made["key"]).json()["error"] == "invalid_grant"
        assert _access(server, longer.json()["key"]).status_code == 200
        with httpx.Client() as browser:
            page = _login(server, user, browser)
            assert "Server default (after 10 minutes)" in page.text
            created = submit(
                browser,
                page,
                {"name": "page-default", "organisation": "acme"},
                form_id="create-key-form",
            )
            assert created.status_code == 200
            new_key = FormReader(created.text).texts["new-key"]
        row = (
            server.state.db.conn()
            .execute("SELECT expires_at FROM api_keys WHERE name = 'page-default'")
            .fetchone()
        )
        assert row["expires_at"] == pytest.approx(server.clock.now + 600)
        assert _access(server, new_key).status_code == 200


def test_api_key_expiry_on_the_settings_page(server: AuthServer) -> None:
    user = server.user("fay@example.org", "acme")
    with httpx.Client() as browser:
        page = _login(server, user, browser)
        form = FormReader(page.text).forms["create-key-form"]
        assert form["options"]["expires_in"][0] == ""  # the server's default comes first
        assert "Server default (never)" in page.text
        created = submit(
            browser,
            page,
            {"name": "week", "organisation": "acme", "expires_in": "604800"},
            form_id="create-key-form",
        )
        assert created.status_code == 200
        week_key = FormReader(created.text).texts["new-key"]
        day = time.strftime("%Y-%m-%d", time.gmtime(server.clock.now + 3 * 86400))
        dated = submit(
            browser,
            page,
            {"name": "dated", "organisation": "acme", "expires_at": day},
            form_id="create-key-form",
        )
        assert dated.status_code == 200
        for bad in (
            {"expires_in": "abc"},
            {"expires_in": "0"},
            {"expires_at": "not a date"},
            {"expires_at": "2001-01-01"},
            {"expires_in": "86400", "expires_at": day},
        ):
            answer = submit(
                browser,
                page,
                {"name": "bad", "organisation": "acme", **bad},
                form_id="create-key-form",
            )
            assert answer.status_code == 400, bad
            assert "Expir" in FormReader(answer.text).texts["error"]
        listing = browser.get(f"{server.url}/settings")
        week_id = week_key.split("_")[1]
        week_expiry = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(server.clock.now + 604800))
        assert FormReader(listing.text).texts[f"expires-{week_id}"] == week_expiry
        assert _access(server, week_key).status_code == 200
        server.clock.advance(604801)
        assert _access(server, week_key).json()["error"] == "invalid_grant"
        _login(server, user, browser)  # the settings session itself expired meanwhile
        listing = browser.get(f"{server.url}/settings")
        assert f"expired {week_expiry}" in listing.text
        assert f"revoke-{week_id}" not in FormReader(listing.text).ids
    names = [
        r["name"] for r in server.state.db.conn().execute("SELECT name FROM api_keys").fetchall()
    ]
    assert "bad" not in names


def test_keys_of_an_older_database_never_expire(tmp_path: Path) -> None:
    import sqlite3

    from jetraw.server.auth import check_api_key, list_api_keys, sha256_hex
    from jetraw.server.store import MIGRATIONS, connect

    path = tmp_path / "old.db"
    old = sqlite3.connect(path, isolation_level=None)
    old.row_factory = sqlite3.Row
    for step in MIGRATIONS[:3]:  # the schema before sessions and key expiry
        for statement in step.split(";"):
            if statement.strip():
                old.execute(statement)
    old.execute("PRAGMA user_version = 3")
    old.execute("INSERT INTO users VALUES ('u1', 'old@example.org', 'Old', NULL, 'x')")
    old.execute("INSERT INTO organisations VALUES ('o1', 'acme', 'x')")
    old.execute("INSERT INTO memberships VALUES ('u1', 'o1', 'member', 'x')")
    old.execute(
        "INSERT INTO api_keys VALUES ('k1', 'u1', 'o1', 'old key', ?, 'cret', 'x', NULL, NULL)",
        (sha256_hex("the-secret"),),
    )
    old.close()
    conn = connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert check_api_key(conn, "jrk_k1_the-secret", now=time.time() + 10**9) is not None
    assert [k["expires_at"] for k in list_api_keys(conn, "u1")] == [None]
    assert conn.execute("SELECT COUNT(*) FROM sessions").fetchone()[0] == 0
    conn.close()
