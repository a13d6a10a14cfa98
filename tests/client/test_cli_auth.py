"""`jetraw login/logout/whoami/auth status/spaces/api-keys` end to end against LocalPlatform."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from jetraw.cli import cli
from jetraw.testing import LocalPlatform

from ._people import _submit, form_opener, unique_email


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def config_text() -> str:
    directory = Path(os.environ["JETRAW_CONFIG_DIR"])
    return "".join(p.read_text() for p in directory.rglob("*") if p.is_file())


def test_login_with_api_key_from_stdin_then_commands(
    runner: CliRunner, jetraw_platform: LocalPlatform
) -> None:
    platform = jetraw_platform
    key = platform.create_api_key(name="cli")
    result = runner.invoke(cli, ["login", "--api-key", "--server", platform.url], input=key + "\n")
    assert result.exit_code == 0, result.output
    assert f"Logged in as {platform.admin_email}" in result.output
    assert key not in result.output
    assert key not in config_text()

    result = runner.invoke(cli, ["whoami", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["user"]["email"] == platform.admin_email
    assert data["auth_source"] == "profile:default"

    result = runner.invoke(cli, ["auth", "status", "--json"])
    status = json.loads(result.output)
    assert status["valid"] is True
    assert status["server"] == platform.url
    assert status["auth_source"] == "profile:default"
    assert status["stored_in"] == "process memory"

    name = f"cli-{os.getpid()}"
    result = runner.invoke(cli, ["spaces", "create", name])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["spaces", "--json"])
    names = [s["name"] for s in json.loads(result.output)]
    assert {platform.space, name} <= set(names)

    result = runner.invoke(cli, ["api-keys", "create", "automation", "--json"])
    created = json.loads(result.output)
    assert created["key"].startswith("jrk_")
    result = runner.invoke(cli, ["api-keys", "list", "--json"])
    listed = {k["id"]: k for k in json.loads(result.output)}
    assert created["id"] in listed
    assert "key" not in listed[created["id"]]
    assert created["key"] not in result.output
    result = runner.invoke(cli, ["api-keys", "revoke", created["id"]])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["api-keys", "list", "--json"])
    assert {k["id"]: k for k in json.loads(result.output)}[created["id"]]["revoked_at"]

    result = runner.invoke(cli, ["logout"])
    assert result.exit_code == 0, result.output
    assert "removed" in result.output
    result = runner.invoke(cli, ["whoami"])
    assert result.exit_code == 2
    assert "JETRAW_SERVER" in result.output


def test_logout_reports_env_var_that_still_logs_in(
    runner: CliRunner, jetraw_platform: LocalPlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = jetraw_platform
    result = runner.invoke(
        cli, ["login", "--api-key", "--server", platform.url], input=platform.api_key
    )
    assert result.exit_code == 0, result.output
    monkeypatch.setenv("JETRAW_API_KEY", platform.api_key)
    result = runner.invoke(cli, ["auth", "status"])
    assert "env:JETRAW_API_KEY" in result.output
    assert platform.api_key not in result.output
    result = runner.invoke(cli, ["logout"])
    assert result.exit_code == 0, result.output
    assert "JETRAW_API_KEY is set and still logs you in" in result.output


def test_status_and_logout_name_a_saved_login_for_another_server(
    runner: CliRunner, jetraw_platform: LocalPlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """JETRAW_SERVER pointing elsewhere than the saved login: said so, not "not logged in"."""
    platform = jetraw_platform
    result = runner.invoke(
        cli, ["login", "--api-key", "--server", platform.url], input=platform.api_key
    )
    assert result.exit_code == 0, result.output
    other = "http://127.0.0.1:9"  # never contacted: the saved login is not offered to it
    monkeypatch.setenv("JETRAW_SERVER", other)
    expected = (
        f"the saved login (profile 'default') is for {platform.url}; "
        f"JETRAW_SERVER points to {other}"
    )
    result = runner.invoke(cli, ["auth", "status", "--json"])
    status = json.loads(result.output)
    assert status["valid"] is False
    assert expected in status["error"]
    assert "not logged in" not in status["error"]
    result = runner.invoke(cli, ["auth", "status"])
    assert expected in result.output
    result = runner.invoke(cli, ["logout"])
    assert result.exit_code == 0, result.output
    assert expected in result.output
    assert "No saved login" not in result.output
    # The other server's login was left alone: without the variable it still works.
    monkeypatch.delenv("JETRAW_SERVER")
    result = runner.invoke(cli, ["whoami", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["auth_source"] == "profile:default"


def test_errors_are_one_line_with_exit_codes(
    runner: CliRunner, jetraw_platform: LocalPlatform
) -> None:
    result = runner.invoke(cli, ["whoami"])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert result.output.startswith("Error: No Jetraw server configured")

    result = runner.invoke(
        cli, ["login", "--api-key", "--server", jetraw_platform.url], input="jrk_nope_secret\n"
    )
    assert result.exit_code == 3
    assert result.output.count("\n") == 1
    assert "jrk_nope_secret" not in result.output
    assert "API key was rejected" in result.output

    result = runner.invoke(cli, ["--profile", "missing", "whoami"])
    assert result.exit_code == 2
    assert "jetraw login --profile missing" in result.output


def _login_process(*args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, JETRAW_TOKEN_STORAGE="file")
    return subprocess.Popen(
        [sys.executable, "-c", "from jetraw.cli import main; main()", "login", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _whoami_in_new_process() -> dict[str, object]:
    env = dict(os.environ, JETRAW_TOKEN_STORAGE="file")
    proc = subprocess.run(
        [sys.executable, "-c", "from jetraw.cli import main; main()", "whoami", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout)
    return result


def test_cli_browser_login(jetraw_platform: LocalPlatform) -> None:
    user = jetraw_platform.create_user(unique_email("cli-browser"))
    jetraw_platform.add_member(user)
    proc = _login_process("--no-browser", "--server", jetraw_platform.url)
    assert proc.stderr is not None
    proc.stderr.readline()
    url = proc.stderr.readline().strip()
    assert url.startswith(f"{jetraw_platform.url}/oauth/authorize?")
    form_opener(user.email, user.password)(url)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert f"Logged in as {user.email}" in out
    assert _whoami_in_new_process()["auth_source"] == "profile:default"


def test_cli_device_login(fast_device_polls: LocalPlatform) -> None:
    jetraw_platform = fast_device_polls
    user = jetraw_platform.create_user(unique_email("cli-device"))
    jetraw_platform.add_member(user)
    proc = _login_process("--device", "--server", jetraw_platform.url)
    assert proc.stderr is not None
    first = proc.stderr.readline()
    second = proc.stderr.readline()
    assert "enter the code" in first
    complete = second.strip().removeprefix("(or open ").removesuffix(")")
    with httpx.Client(trust_env=False, timeout=30) as http:
        page = http.get(complete)
        values = {"email": user.email, "password": user.password, "action": "approve"}
        assert 'id="approved"' in _submit(http, page, values).text
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert f"Logged in as {user.email}" in out
    who = _whoami_in_new_process()
    assert who["user"] == {"id": user.id, "email": user.email, "name": user.name}


_CLI = (sys.executable, "-c", "from jetraw.cli import main; main()")


def _headless_env(tmp_path: Path) -> dict[str, str]:
    """No browser to be found: no display, no BROWSER, a PATH without any browser on it."""
    env = dict(os.environ, JETRAW_TOKEN_STORAGE="file", PATH=str(tmp_path))
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER"):
        env.pop(name, None)
    return env


def test_cli_login_on_a_headless_machine_says_what_to_do_at_once(
    jetraw_platform: LocalPlatform, tmp_path: Path
) -> None:
    proc = subprocess.run(
        [*_CLI, "login", "--server", jetraw_platform.url],
        env=_headless_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=30,  # it must not wait for a browser login that cannot happen
    )
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("Error: No web browser found on this machine"), lines[0]
    assert "jetraw login --device" in lines[0]
    assert "jetraw login --no-browser" in lines[0]


def test_cli_login_no_browser_names_the_loopback_url_and_the_alternatives(
    jetraw_platform: LocalPlatform, tmp_path: Path
) -> None:
    from urllib.parse import parse_qs, urlsplit

    proc = subprocess.Popen(
        [*_CLI, "login", "--no-browser", "--server", jetraw_platform.url],
        env=_headless_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        url = proc.stderr.readline().strip()
        where = proc.stderr.readline()
    finally:
        proc.kill()
        proc.communicate(timeout=30)
    assert first.startswith(f"To log in to {jetraw_platform.url}, open this URL"), first
    assert "Opening a browser" not in first
    assert url.startswith(f"{jetraw_platform.url}/oauth/authorize?")
    redirect = parse_qs(urlsplit(url).query)["redirect_uri"][0]
    port = urlsplit(redirect).port
    assert redirect == f"http://127.0.0.1:{port}/callback"
    assert f"The login returns to {redirect}" in where
    assert f"ssh -L {port}:127.0.0.1:{port}" in where
    assert "jetraw login --device" in where
