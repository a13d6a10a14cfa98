"""Named profiles: `jetraw login --profile NAME` creates one, and each is used by name."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

from jetraw.cli import cli
from jetraw.server import ServerSettings
from jetraw.testing import LocalPlatform


@pytest.fixture
def login_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No JETRAW_* credentials or server; logins kept in 0600 files in a fresh config dir."""
    for name in ("JETRAW_SERVER", "JETRAW_API_KEY", "JETRAW_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JETRAW_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("JETRAW_TOKEN_STORAGE", "file")
    return tmp_path / "config"


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def whoami(*args: str) -> dict[str, object]:
    result = run(*args, "whoami", "--json")
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


def second_organisation(platform: LocalPlatform) -> tuple[str, str]:
    """A new organisation with the admin as member, and an API key issued in it."""
    name = f"lab-{uuid.uuid4().hex[:8]}"
    platform.create_organisation(name)
    platform.add_member(platform.admin_user_id, name, role="admin")
    return name, platform.create_api_key(organisation=name, name="lab")


def test_login_creates_two_named_profiles_and_each_is_used(
    jetraw_platform: LocalPlatform, login_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = jetraw_platform
    lab_org, lab_key = second_organisation(platform)
    url = platform.url

    first = run("login", "--api-key", "--server", url, "--profile", "main", input=platform.api_key)
    assert first.exit_code == 0, first.output
    assert "(profile 'main')" in first.stdout
    # The second profile, named by JETRAW_PROFILE this time.
    monkeypatch.setenv("JETRAW_PROFILE", "lab")
    second = run("login", "--api-key", "--server", url, input=lab_key)
    assert second.exit_code == 0, second.output
    assert "(profile 'lab')" in second.stdout
    monkeypatch.delenv("JETRAW_PROFILE")

    config = (login_env / "config.toml").read_text()
    assert "[profiles.main]" in config
    assert "[profiles.lab]" in config
    assert platform.api_key not in config
    assert lab_key not in config

    main = whoami("--profile", "main")
    assert main["auth_source"] == "profile:main"
    assert main["organisation"]["name"] == platform.organisation  # type: ignore[index]
    lab = whoami("--profile", "lab")
    assert lab["auth_source"] == "profile:lab"
    assert lab["organisation"]["name"] == lab_org  # type: ignore[index]
    monkeypatch.setenv("JETRAW_PROFILE", "main")
    assert whoami()["auth_source"] == "profile:main"
    # The last login is the default profile.
    monkeypatch.delenv("JETRAW_PROFILE")
    assert whoami()["auth_source"] == "profile:lab"

    # Logging out of one profile leaves the other logged in.
    out = run("--profile", "lab", "logout")
    assert out.exit_code == 0, out.output
    assert whoami("--profile", "main")["auth_source"] == "profile:main"


def test_a_missing_profile_without_a_server_is_still_an_error(login_env: Path) -> None:
    result = run("--profile", "typo", "whoami")
    assert result.exit_code == 2
    assert "No profile 'typo'" in result.stderr
    assert "jetraw login --profile typo --server URL" in result.stderr
    result = run("login", "--api-key", "--profile", "typo", input="jrk_never_sent\n")
    assert result.exit_code == 2
    assert "--server" in result.stderr


class _Form(HTMLParser):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}
        self._inside = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("id") == "login-form":
            self._inside, self.action = True, a.get("action", "")
        elif tag == "input" and self._inside and a.get("name"):
            self.fields[a["name"]] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._inside = False


def test_device_login_creates_a_named_profile(
    jetraw_platform: LocalPlatform, login_env: Path
) -> None:
    platform = jetraw_platform
    user = platform.create_user(f"device-{uuid.uuid4().hex[:8]}@example.org")
    platform.add_member(user)  # of one organisation: the form asks for no choice
    platform.set_device_poll_interval(1)
    proc: subprocess.Popen[str] | None = None
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jetraw.cli", "login", "--device", "--server", platform.url,
             "--profile", "remote"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        assert proc.stderr is not None
        text = proc.stderr.readline() + proc.stderr.readline()
        match = re.search(r"\(or open (\S+)\)", text)
        assert match, text
        with httpx.Client(trust_env=False, timeout=30) as http:
            page = http.get(match.group(1))
            form = _Form(page.text)
            values = {
                **form.fields,
                "email": user.email,
                "password": user.password,
                "action": "approve",
            }
            answer = http.post(page.url.join(form.action), data=values)
            assert 'id="approved"' in answer.text
        out, err = proc.communicate(timeout=60)
    finally:
        if proc is not None and proc.returncode is None:  # failed before communicate()
            proc.kill()
            proc.communicate()
        # The shared platform's settings are everybody's: put the configured default back.
        default = ServerSettings.__dataclass_fields__["device_poll_interval"].default
        platform.set_device_poll_interval(int(default))  # type: ignore[arg-type]
    assert proc.returncode == 0, err
    assert "(profile 'remote')" in out
    remote = whoami("--profile", "remote")
    assert remote["auth_source"] == "profile:remote"
    assert remote["user"]["email"] == user.email  # type: ignore[index]


def test_keyring_fallback_warning_is_shown_once_per_config_dir(
    jetraw_platform: LocalPlatform, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JETRAW_")}
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"  # no usable keyring

    def jetraw(config: str, *args: str, key: str | None = None) -> str:
        proc = subprocess.run(
            [sys.executable, "-m", "jetraw.cli", *args],
            env={**env, "JETRAW_CONFIG_DIR": str(tmp_path / config)},
            input=key,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stderr

    login = ("login", "--api-key", "--server", jetraw_platform.url)
    first = jetraw("one", *login, key=jetraw_platform.api_key)
    assert first.count("No usable OS keyring") == 1, first
    assert "shown once for this config directory" in first
    assert jetraw("one", "whoami") == ""
    assert jetraw("one", *login, key=jetraw_platform.api_key) == ""
    # Another config directory (another place for the secrets): told again.
    assert "No usable OS keyring" in jetraw("two", *login, key=jetraw_platform.api_key)
