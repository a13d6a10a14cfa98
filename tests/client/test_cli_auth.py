"""`jetraw login/logout/whoami/auth status/spaces/api-keys` end to end against LocalPlatform."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from jetraw.cli import cli
from jetraw.testing import LocalPlatform


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
