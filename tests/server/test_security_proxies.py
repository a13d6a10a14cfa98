"""Issue 12, finding 2: ``X-Forwarded-For`` is believed only from configured proxies.

uvicorn's defaults believe the header from any loopback peer, so a caller on the server's host (or
behind any local proxy) could write a new address into every request and never meet the login
and token rate limits. Over real HTTP, through every way the platform is served.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from jetraw.server import READY_PREFIX, ServerSettings, create_app, trusted_proxies, uvicorn_config
from jetraw.testing import LocalPlatform

LIMIT = 5
WRONG_KEY = {"grant_type": "refresh_token", "refresh_token": "jrk_x_y", "client_id": "jetraw"}


def _token_statuses(url: str, forwarded: list[str]) -> list[int]:
    with httpx.Client(trust_env=False) as http:
        return [
            http.post(
                f"{url}/oauth/token", data=WRONG_KEY, headers={"X-Forwarded-For": f}
            ).status_code
            for f in forwarded
        ]


def _login_statuses(url: str, forwarded: list[str]) -> list[int]:
    with httpx.Client(trust_env=False) as http:
        return [
            http.post(
                f"{url}/login",
                data={"email": "admin@localhost", "password": "wrong"},
                headers={"X-Forwarded-For": f},
            ).status_code
            for f in forwarded
        ]


def _spoofed(n: int, base: str) -> list[str]:
    return [f"{base}.{i}.{i % 250 + 1}" for i in range(n)]


@pytest.mark.parametrize("mode", ["process", "thread"])
def test_spoofed_forwarded_for_does_not_reset_the_limit(mode: str) -> None:
    with LocalPlatform(mode=mode, rate_limit_per_minute=LIMIT) as platform:  # type: ignore[arg-type]
        tokens = _token_statuses(platform.url, _spoofed(LIMIT + 3, "10"))
        logins = _login_statuses(platform.url, _spoofed(LIMIT + 3, "11"))
    assert 429 not in tokens[:LIMIT]
    assert tokens[LIMIT:] == [429, 429, 429]
    assert 429 not in logins[:LIMIT]
    assert logins[LIMIT:] == [429, 429, 429]


@contextmanager
def _served(args: list[str], data_dir: Path, env: dict[str, str]) -> Iterator[str]:
    """``python -m <args>`` on a free port; yields its URL once it serves."""
    log = data_dir.parent / f"server-{os.urandom(4).hex()}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", *args],
            stdout=out,
            stderr=out,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
        )
    try:
        deadline = time.monotonic() + 60
        url = None
        while url is None:
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            for line in log.read_text().splitlines():
                if line.startswith(READY_PREFIX):
                    url = json.loads(line[len(READY_PREFIX) :])["url"]
                elif line.startswith("Serving http"):  # jetraw server's words for it
                    url = line.split()[1]
            time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(20)


def _server_args(data_dir: Path, *extra: str) -> list[str]:
    return [
        "jetraw.server",
        "--data-dir",
        str(data_dir),
        "--port",
        "0",
        "--password-hash-n",
        "16",
        "--rate-limit-per-minute",
        str(LIMIT),
        *extra,
    ]


def _check_trusted(url: str) -> None:
    # Through a trusted proxy each client address has its own window ...
    assert 429 not in _token_statuses(url, _spoofed(LIMIT + 3, "10"))
    # ... and one address is still limited.
    assert _token_statuses(url, ["192.0.2.7"] * (LIMIT + 1))[-1] == 429
    assert 429 not in _login_statuses(url, _spoofed(LIMIT + 3, "11"))
    assert _login_statuses(url, ["192.0.2.8"] * (LIMIT + 1))[-1] == 429


def test_a_configured_proxy_is_believed(tmp_path: Path) -> None:
    args = _server_args(tmp_path / "data", "--trusted-proxy", "127.0.0.1")
    with _served(args, tmp_path / "data", {}) as url:
        _check_trusted(url)


def test_the_proxy_may_come_from_the_environment(tmp_path: Path) -> None:
    env = {"JETRAW_SERVER_TRUSTED_PROXIES": "192.0.2.0/24, 127.0.0.1"}
    with _served(_server_args(tmp_path / "data"), tmp_path / "data", env) as url:
        _check_trusted(url)


def test_jetraw_server_command_is_untrusting_by_default(tmp_path: Path) -> None:
    """``jetraw server`` (the CLI) serves through the same configuration."""
    data_dir = tmp_path / "data"
    args = ["jetraw.cli", "server", "--data-dir", str(data_dir), "--port", "0"]
    env = {"FORWARDED_ALLOW_IPS": "*"}  # uvicorn's own variable must not matter either
    with _served(args, data_dir, env) as url:
        # The CLI uses the default limit (60 per minute).
        statuses = _token_statuses(url, _spoofed(61, "10"))
    assert 429 not in statuses[:60]
    assert statuses[60] == 429


def test_jetraw_server_command_takes_trusted_proxies(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    args = ["jetraw.cli", "server", "--data-dir", str(data_dir), "--port", "0"]
    with _served([*args, "--trusted-proxy", "127.0.0.1"], data_dir, {}) as url:
        assert 429 not in _token_statuses(url, _spoofed(70, "10"))


def test_uvicorn_config(tmp_path: Path) -> None:
    app = create_app(ServerSettings(data_dir=tmp_path))
    config = uvicorn_config(app, ServerSettings(data_dir=tmp_path))
    assert config.proxy_headers is False
    trusted = uvicorn_config(app, ServerSettings(data_dir=tmp_path, trusted_proxies=("10.0.0.1",)))
    assert trusted.proxy_headers is True
    assert trusted.forwarded_allow_ips == ["10.0.0.1"]


def test_trusted_proxies_parsing() -> None:
    assert trusted_proxies(None, {}) == ()
    assert trusted_proxies(["10.0.0.1", "10.1.0.0/16,::1"], {}) == (
        "10.0.0.1",
        "10.1.0.0/16",
        "::1",
    )
    assert trusted_proxies([], {"JETRAW_SERVER_TRUSTED_PROXIES": " 127.0.0.1 , "}) == ("127.0.0.1",)
    assert trusted_proxies(["*"], {}) == ("*",)
    with pytest.raises(ValueError, match="not an IP"):
        trusted_proxies(["proxy.example.org"], {})
