"""Login flows, config resolution and logout against httpx.MockTransport."""

from __future__ import annotations

import base64
import hashlib
import logging
import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from jetraw import _exceptions as exc
from jetraw._auth._store import MemoryStore
from jetraw._config import Profile, config_path, load_config, resolve, save_profile
from jetraw.aio import AsyncClient

from ._mock import ORG, USER, MockServer

pytestmark = pytest.mark.anyio
SERVER = "http://jet.test"


class LoginServer(MockServer):
    """Adds the authorization-code and device grants to the mock."""

    def __init__(self) -> None:
        super().__init__()
        self.challenge: str | None = None
        self.device_polls = 0
        self.device_outcome = "approve"
        self.pending_errors = ["authorization_pending", "authorization_pending"]

    def token(self, form: dict[str, str]) -> httpx.Response:
        grant = form.get("grant_type")
        if grant == "authorization_code":
            digest = hashlib.sha256(form["code_verifier"].encode()).digest()
            challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if form.get("code") != "the-code" or challenge != self.challenge:
                return httpx.Response(400, json={"error": "invalid_grant", "code": "invalid_grant"})
            self.refresh_tokens.add("jrt_login")
            return self._issue("jrt_login")
        if grant == "urn:ietf:params:oauth:grant-type:device_code":
            self.device_polls += 1
            if self.device_polls < 3:
                error = self.pending_errors[self.device_polls - 1]
                return httpx.Response(400, json={"error": error, "code": error})
            if self.device_outcome == "deny":
                return httpx.Response(400, json={"error": "access_denied", "code": "access_denied"})
            self.refresh_tokens.add("jrt_device")
            return self._issue("jrt_device")
        return super().token(form)

    def _issue(self, refresh: str) -> httpx.Response:
        self.valid_access.add("at_login")
        body = {
            "access_token": "at_login",
            "token_type": "Bearer",
            "expires_in": 600,
            "refresh_token": refresh,
            "organisation": ORG,
            "user": USER,
        }
        return httpx.Response(200, json=body)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/device_authorization":
            return httpx.Response(
                200,
                json={
                    "device_code": "dev-1",
                    "user_code": "ABCD-EFGH",
                    "verification_uri": f"{SERVER}/device",
                    "verification_uri_complete": f"{SERVER}/device?user_code=ABCD-EFGH",
                    "expires_in": 600,
                    "interval": 0,
                },
            )
        return super().__call__(request)


def fake_browser(server: LoginServer, log: list[Any]) -> Any:
    """An opener that behaves like a browser plus a stray favicon request and a forged callback."""

    def open_url(url: str) -> bool:
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        assert query["code_challenge_method"] == "S256"
        server.challenge = query["code_challenge"]
        redirect = query["redirect_uri"]
        assert redirect.startswith("http://127.0.0.1:")
        base = redirect.rsplit("/", 1)[0]
        with httpx.Client(trust_env=False) as http:
            log.append(http.get(f"{base}/favicon.ico").status_code)
            log.append(http.get(redirect, params={"code": "forged", "state": "nope"}).status_code)
            ok = http.get(redirect, params={"code": "the-code", "state": query["state"]})
            log.append(ok.status_code)
            log.append(ok.text)
        return True

    return open_url


async def test_browser_login_persists_profile_and_secret() -> None:
    server = LoginServer()
    log: list[Any] = []
    messages: list[str] = []
    async with AsyncClient(
        server=SERVER, transport=server.transport(), refresh_token_if_empty=False
    ) as c:
        ident = await c.authorize(opener=fake_browser(server, log), notify=messages.append)
        assert ident.email == USER["email"]
        assert c.auth_source == "profile:default"
    assert log[:3] == [404, 400, 200]
    assert "logged in" in log[3]
    assert "/oauth/authorize?" in messages[0]
    config = load_config()
    assert config["default_profile"] == "default"
    assert config["profiles"]["default"] == {
        "server": SERVER,
        "organisation": "acme",
        "user": USER["email"],
    }
    assert "jrt_login" not in config_path().read_text()
    blob = MemoryStore().get(f"{SERVER}|acme|{USER['email']}")
    assert blob is not None
    assert blob["refresh_token"] == "jrt_login"
    # The next client needs no arguments at all.
    async with AsyncClient(transport=server.transport()) as again:
        assert (await again.whoami()).email == USER["email"]
        assert again.auth_source == "profile:default"


async def test_browser_login_times_out_cleanly() -> None:
    server = LoginServer()
    async with AsyncClient(
        server=SERVER, transport=server.transport(), refresh_token_if_empty=False
    ) as c:
        with pytest.raises(exc.LoginError, match="Timed out"):
            await c.authorize(opener=lambda url: True, login_timeout=0.3, notify=lambda m: None)
    assert not config_path().exists()


async def test_browser_login_opener_failure_is_login_error() -> None:
    server = LoginServer()

    def broken(url: str) -> bool:
        raise OSError("no display")

    async with AsyncClient(
        server=SERVER, transport=server.transport(), refresh_token_if_empty=False
    ) as c:
        with pytest.raises(exc.LoginError, match="device"):
            await c.authorize(opener=broken, login_timeout=5, notify=lambda m: None)


async def test_device_login_polls_and_persists() -> None:
    server = LoginServer()
    messages: list[str] = []
    async with AsyncClient(
        server=SERVER, transport=server.transport(), refresh_token_if_empty=False
    ) as c:
        ident = await c.authorize_device(notify=messages.append)
    assert ident.email == USER["email"]
    assert "ABCD-EFGH" in messages[0]
    assert server.device_polls == 3


async def test_device_login_slows_down_when_told() -> None:
    from jetraw._auth._device import device_login
    from jetraw._http import StateServerHTTP

    server = LoginServer()
    server.pending_errors = ["authorization_pending", "slow_down"]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    http = StateServerHTTP(SERVER, transport=server.transport())
    tokens, refresh = await device_login(http, notify=lambda m: None, sleep=sleep)
    await http.aclose()
    assert refresh == "jrt_device"
    assert tokens.user is not None
    assert slept == [0.0, 0.0, 5.0]


async def test_device_login_denied() -> None:
    server = LoginServer()
    server.device_outcome = "deny"
    async with AsyncClient(
        server=SERVER, transport=server.transport(), refresh_token_if_empty=False
    ) as c:
        with pytest.raises(exc.LoginError, match="denied"):
            await c.authorize(device=True, notify=lambda m: None)


async def test_logout_revokes_removes_and_reports_env(monkeypatch: pytest.MonkeyPatch) -> None:
    server = LoginServer()
    async with AsyncClient(
        server=SERVER, transport=server.transport(), refresh_token_if_empty=False
    ) as c:
        await c.authorize_device(notify=lambda m: None)
    monkeypatch.setenv("JETRAW_API_KEY", "jrk_good")
    async with AsyncClient(transport=server.transport(), refresh_token_if_empty=False) as c:
        result = await c.logout()
    assert result.revoked
    assert any("secret" in r for r in result.removed)
    assert any("profile" in r for r in result.removed)
    assert result.still_logged_in_by == ("JETRAW_API_KEY",)
    revokes = [r for r in server.requests if r.url.path == "/oauth/revoke"]
    assert len(revokes) == 1
    assert b"jrt_device" in revokes[0].content
    assert MemoryStore().get(f"{SERVER}|acme|{USER['email']}") is None
    assert not load_config().get("profiles")


def test_resolution_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    save_profile(Profile("default", "https://a.example", "acme", "ada@x", aws_profile="lab"))
    save_profile(Profile("work", "https://b.example", "beta", "ada@x"), make_default=False)
    cfg = resolve(api_key=None, server=None, organisation=None, profile=None)
    assert (cfg.server, cfg.organisation, cfg.auth_source) == (
        "https://a.example",
        "acme",
        "profile:default",
    )
    assert cfg.aws_profile == "lab"
    monkeypatch.setenv("JETRAW_PROFILE", "work")
    cfg = resolve(api_key=None, server=None, organisation=None, profile=None)
    assert (cfg.server, cfg.auth_source) == ("https://b.example", "profile:work")
    monkeypatch.setenv("JETRAW_API_KEY", "jrk_env")
    monkeypatch.setenv("JETRAW_SERVER", "https://c.example/")
    cfg = resolve(api_key=None, server=None, organisation=None, profile=None)
    assert (cfg.server, cfg.auth_source, cfg.api_key) == (
        "https://c.example",
        "env:JETRAW_API_KEY",
        "jrk_env",
    )
    assert cfg.organisation is None  # an API key's own organisation, not the profile's
    monkeypatch.setenv("JETRAW_ORGANISATION", "gamma")
    cfg = resolve(api_key="jrk_arg", server="https://d.example", organisation=None, profile=None)
    assert (cfg.server, cfg.organisation, cfg.auth_source) == (
        "https://d.example",
        "gamma",
        "argument",
    )
    assert "jrk_arg" not in repr(cfg)
    with pytest.raises(exc.ConfigurationError, match="jetraw login --profile nope"):
        resolve(api_key=None, server=None, organisation=None, profile="nope")
    with pytest.raises(exc.ConfigurationError, match="https://"):
        resolve(api_key=None, server="jet.example", organisation=None, profile=None)


def test_config_file_is_private_and_bad_toml_is_clear() -> None:
    path = save_profile(Profile("default", "https://a.example"))
    assert path.stat().st_mode & 0o777 == 0o600
    assert Path(os.environ["JETRAW_CONFIG_DIR"]) == path.parent
    path.write_text("this is [not toml")
    with pytest.raises(exc.ConfigurationError, match="not valid TOML"):
        resolve(api_key=None, server=None, organisation=None, profile=None)


class RefusingRevokes(LoginServer):
    """Answers every revocation with a 400 problem."""

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/revoke":
            with self._lock:
                self.requests.append(request)
            return httpx.Response(400, json={"code": "invalid_request", "status": 400})
        return super().__call__(request)


async def test_login_again_revokes_the_replaced_login_best_effort(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = RefusingRevokes()
    key = f"{SERVER}|acme|{USER['email']}"
    save_profile(Profile("default", SERVER, "acme", USER["email"]))
    MemoryStore().set(key, {"kind": "refresh_token", "refresh_token": "jrt_old"})

    def revokes() -> list[bytes]:
        return [r.content for r in server.requests if r.url.path == "/oauth/revoke"]

    async def login() -> None:
        server.device_polls = 0
        async with AsyncClient(
            server=SERVER, transport=server.transport(), refresh_token_if_empty=False
        ) as c:
            await c.authorize_device(notify=lambda m: None)

    with caplog.at_level(logging.WARNING, logger="jetraw"):
        await login()  # the server refuses the revocation: the new login stands anyway
    assert len(revokes()) == 1
    assert b"jrt_old" in revokes()[0]
    assert MemoryStore().get(key)["refresh_token"] == "jrt_device"  # type: ignore[index]
    assert "Could not revoke the replaced login" in caplog.text
    assert "jrt_old" not in caplog.text
    # A stored API key is never revoked by a new login (it may be in use elsewhere).
    MemoryStore().set(key, {"kind": "api_key", "refresh_token": "jrk_good"})
    await login()
    assert len(revokes()) == 1
