"""`jetraw auth status` without a configured server: says so, and how to configure one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from jetraw.cli import cli


@pytest.mark.parametrize("api_key", [None, "jrk_not_checked"])
def test_auth_status_without_a_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, api_key: str | None
) -> None:
    monkeypatch.delenv("JETRAW_SERVER", raising=False)
    monkeypatch.delenv("JETRAW_PROFILE", raising=False)
    monkeypatch.setenv("JETRAW_CONFIG_DIR", str(tmp_path))
    monkeypatch.setenv("JETRAW_TOKEN_STORAGE", "memory")
    if api_key is None:
        monkeypatch.delenv("JETRAW_API_KEY", raising=False)
    else:
        monkeypatch.setenv("JETRAW_API_KEY", api_key)
    result = CliRunner().invoke(cli, ["auth", "status", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    status = json.loads(result.stdout)
    assert status["configured"] is False
    assert status["valid"] is False
    assert status["server"] is None
    assert status["error"].startswith("No Jetraw server configured")
    assert "JETRAW_SERVER" in status["error"]
    assert status["env"] == ([] if api_key is None else ["JETRAW_API_KEY"])
    assert status["auth_source"] == (None if api_key is None else "env:JETRAW_API_KEY")
    assert status["stored_in"] is None
    assert api_key is None or api_key not in result.output

    text = CliRunner().invoke(cli, ["auth", "status"], catch_exceptions=False)
    assert text.stdout.startswith("Not configured: No Jetraw server configured")
