"""Secrets stay out of logs and error bodies; no input to the identity endpoints causes a 500."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from auth_support import AuthServer, FormReader, pkce_pair, running_server, submit

from jetraw.server.auth import Principal, hash_password, verify_password

REDIRECT = "http://127.0.0.1:7777/cb"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[AuthServer]:
    with running_server(tmp_path) as srv:
        yield srv


def test_password_hashing() -> None:
    encoded = hash_password("correct horse", n=2**4)
    assert encoded.startswith("scrypt$16$8$1$")
    assert "correct horse" not in encoded
    assert encoded != hash_password("correct horse", n=2**4)  # random salt
    assert verify_password("correct horse", encoded)
    assert not verify_password("correct horsf", encoded)
    for broken in ("", "scrypt$16$8$1$$", "bcrypt$x", "scrypt$3$8$1$AA$AA", "scrypt$" + "9" * 30):
        assert not verify_password("correct horse", broken)
    with pytest.raises(ValueError, match="power of two"):
        hash_password("x", n=1000)


def test_principal_repr_has_no_secret() -> None:
    principal = Principal("u1", "o1", "api_key", "k1")
    assert "jrk_" not in repr(principal)


def test_no_secret_in_logs_or_error_bodies(
    server: AuthServer, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    user = server.user("sec@example.org", "acme", password="pw-Very-Secret-123")
    _, key = server.api_key(user, "acme")
    secrets = [user.password, key, key.split("_", 2)[2]]
    bodies: list[str] = []

    def record(answer: httpx.Response) -> httpx.Response:
        if answer.status_code >= 300:
            bodies.append(answer.text)
        return answer

    client = server.oauth_client(REDIRECT)
    verifier, _ = pkce_pair()
    url, _ = client.create_authorization_url(
        f"{server.url}/oauth/authorize", code_verifier=verifier
    )
    with httpx.Client(event_hooks={"response": [lambda r: r.read()]}) as browser:
        page = browser.get(url)
        record(submit(browser, page, {"email": user.email, "password": "wrong" + user.password}))
        answer = submit(browser, page, {"email": user.email, "password": user.password})
    token = client.fetch_token(
        server.token_url, authorization_response=answer.headers["location"], code_verifier=verifier
    )
    refresh = str(token["refresh_token"])
    secrets += [refresh, str(token["access_token"])]
    rotated = httpx.post(
        server.token_url, data={"grant_type": "refresh_token", "refresh_token": refresh}
    ).json()
    secrets += [rotated["refresh_token"], rotated["access_token"]]
    api = f"{server.url}/api/v1/api-keys"
    # Secrets presented in the wrong places: every answer is an error that does not echo them.
    record(httpx.get(api, headers={"Authorization": f"Bearer {key}"}))
    record(httpx.get(api, headers={"Authorization": f"Bearer {refresh}"}))
    record(
        httpx.post(
            api,
            json={"name": key, "nope": refresh},
            headers={"Authorization": f"Bearer {rotated['access_token']}"},
        )
    )
    record(
        httpx.post(
            api,
            json={"name": 12, "organisation": key},
            headers={"Authorization": f"Bearer {rotated['access_token']}"},
        )
    )
    record(
        httpx.post(
            server.token_url,
            data={"grant_type": "refresh_token", "refresh_token": key, "organisation": "zzz"},
        )
    )
    record(
        httpx.post(
            server.token_url,
            data={
                "grant_type": "authorization_code",
                "client_id": "jetraw",
                "code": refresh,
                "redirect_uri": REDIRECT,
                "code_verifier": key,
            },
        )
    )
    record(httpx.post(server.token_url, data={"grant_type": key, "refresh_token": key}))
    record(httpx.post(server.token_url, json={"refresh_token": key}))
    httpx.post(f"{server.url}/oauth/revoke", data={"token": key})
    record(httpx.post(server.token_url, data={"grant_type": "refresh_token", "refresh_token": key}))
    server.clock.advance(31)  # past the grace period: a replay that revokes the login
    record(
        httpx.post(server.token_url, data={"grant_type": "refresh_token", "refresh_token": refresh})
    )
    assert len(bodies) == 11
    out, err = capfd.readouterr()
    # The server's own records (the client libraries log their requests at DEBUG, by design).
    server_records = [
        caplog.handler.format(r)
        for r in caplog.records
        if r.name.startswith(("jetraw.server", "uvicorn", "fastapi", "starlette"))
    ]
    logged = "\n".join(server_records) + out + err
    assert "POST /oauth/token" in logged  # the access log is really captured
    for secret in secrets:
        assert secret not in logged
        for body in bodies:
            assert secret not in body


_MALFORMED: list[tuple[str, str, dict[str, object]]] = [
    ("GET", "/oauth/authorize", {"params": {"client_id": "jetraw\x00", "redirect_uri": "\x00"}}),
    ("GET", "/oauth/authorize", {"params": {"client_id": "jetraw", "redirect_uri": "http://["}}),
    (
        "GET",
        "/oauth/authorize",
        {"params": {"client_id": "jetraw", "redirect_uri": "http://127.0.0.1:abc/"}},
    ),
    ("GET", "/oauth/authorize", {"params": {"client_id": "jetraw", "redirect_uri": "x" * 5000}}),
    (
        "GET",
        "/oauth/authorize",
        {"params": {"client_id": "jetraw", "redirect_uri": "http://127.0.0.1/\u00e9"}},
    ),
    (
        "POST",
        "/oauth/authorize",
        {"content": b"\xff\xfe", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
    ),
    ("POST", "/oauth/authorize", {"json": {"client_id": "jetraw"}}),
    ("POST", "/oauth/authorize", {"data": {f"f{i}": "x" for i in range(80)}}),
    (
        "POST",
        "/oauth/authorize",
        {
            "data": {
                "client_id": "jetraw",
                "redirect_uri": REDIRECT,
                "response_type": "code",
                "code_challenge": "a" * 43,
                "code_challenge_method": "S256",
                "login_ticket": "x.y",
                "csrf_token": "\u00e9",
            }
        },
    ),
    (
        "POST",
        "/oauth/token",
        {
            "data": {
                "grant_type": "authorization_code",
                "client_id": "jetraw",
                "code": "\x00",
                "redirect_uri": "\x00",
                "code_verifier": "\u00e9" * 50,
            }
        },
    ),
    (
        "POST",
        "/oauth/token",
        {"data": {"grant_type": "refresh_token", "refresh_token": "jrt_" + "a" * 5000}},
    ),
    (
        "POST",
        "/oauth/token",
        {
            "data": {
                "grant_type": "refresh_token",
                "refresh_token": "jrt_a_b",
                "organisation": "\x00",
            }
        },
    ),
    (
        "POST",
        "/oauth/token",
        {
            "data": {
                "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
                "client_id": "jetraw",
                "device_code": "\u2603",
            }
        },
    ),
    (
        "POST",
        "/oauth/token",
        {
            "content": b"a=%zz&b=%%",
            "headers": {"Content-Type": "application/x-www-form-urlencoded"},
        },
    ),
    (
        "POST",
        "/oauth/token",
        {"content": b"--x\r\n", "headers": {"Content-Type": "multipart/form-data; boundary=x"}},
    ),
    ("POST", "/oauth/token", {"data": {f"f{i}": "x" for i in range(80)}}),
    (
        "POST",
        "/oauth/device_authorization",
        {"data": {"client_id": "jetraw", "organisation": "\x00" * 10}},
    ),
    ("POST", "/oauth/revoke", {"data": {"token": "jrt_\x00_\x00"}}),
    (
        "POST",
        "/oauth/revoke",
        {"content": b"\x00\x01", "headers": {"Content-Type": "application/octet-stream"}},
    ),
    ("GET", "/device", {"params": {"user_code": "\x00" * 100}}),
    ("POST", "/device", {"data": {"user_code": "\u00e9" * 10, "csrf_token": "x"}}),
    ("POST", "/login", {"data": {"email": "\x00", "password": "x" * 5000}}),
    ("GET", "/settings", {"cookies": {"jetraw_session": "!!.??", "jetraw_csrf": "x" * 300}}),
    ("GET", "/settings", {"cookies": {"jetraw_session": "e30.AAAA"}}),
    ("POST", "/settings/api-keys/%00/revoke", {"data": {"csrf_token": "x"}}),
    ("DELETE", "/api/v1/api-keys/x", {"headers": {"Authorization": "Bearer a.b"}}),
    ("GET", "/api/v1/api-keys", {"headers": {"Authorization": "Bearer e30.e30"}}),
    ("GET", "/api/v1/api-keys", {"headers": {"Authorization": "Bearer ...."}}),
    ("GET", "/api/v1/api-keys", {"headers": {"Authorization": "Bearer " + "a" * 10000}}),
    ("PUT", "/oauth/token", {}),
]


def test_malformed_input_never_500(server: AuthServer) -> None:
    with httpx.Client(base_url=server.url) as http:
        for method, path, options in _MALFORMED:
            cookies = options.pop("cookies", None)
            if cookies:
                http.cookies.clear()
                for name, value in cookies.items():  # type: ignore[attr-defined]
                    http.cookies.set(name, value)
            answer = http.request(method, path, **options)  # type: ignore[arg-type]
            assert 400 <= answer.status_code < 500 or answer.status_code in (200, 302, 303), (
                method,
                path,
                answer.status_code,
                answer.text[:300],
            )
    metrics = httpx.get(f"{server.url}/metrics").text
    assert 'status="500"' not in metrics


def test_security_headers_on_pages(server: AuthServer) -> None:
    _, challenge = pkce_pair()
    page = httpx.get(
        f"{server.url}/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": "jetraw",
            "redirect_uri": REDIRECT,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": '"><script>alert(1)</script>',
        },
    )
    assert page.status_code == 200
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    assert "<script>" not in page.text
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert FormReader(page.text).forms["login-form"]["fields"]["state"] == (
        '"><script>alert(1)</script>'
    )
