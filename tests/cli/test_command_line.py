"""The command line as people expect it: --version, --json schemas, --quiet, global --server,
help that is not cut short, and the warning of a login that is not kept."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

import jetraw as jetraw_package
from jetraw.cli._common import ENTRY_KEYS

from .conftest import Jetraw, one_error_line

SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


def test_version_is_the_package_version(jetraw: Jetraw) -> None:
    result = jetraw("--version")
    assert result.exit_code == 0
    assert result.stdout == f"jetraw {importlib.metadata.version('jetraw')}\n"
    assert result.stdout == f"jetraw {jetraw_package.__version__}\n"


def _check_keys(data: Any) -> None:
    """snake_case keys all the way down (metadata and storage are the user's own mappings)."""
    if isinstance(data, dict):
        for key, value in data.items():
            assert SNAKE.match(key), key
            if key not in ("metadata", "storage"):
                _check_keys(value)
    elif isinstance(data, list):
        for item in data:
            _check_keys(item)


def _iso(value: str | None) -> None:
    if value is not None:
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", value), value
        datetime.fromisoformat(value.replace("Z", "+00:00"))


def json_of(jetraw: Jetraw, *args: str) -> Any:
    result = jetraw(*args, "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)  # one document: json.loads refuses anything after it
    _check_keys(data)
    return data


def test_json_output_of_every_listing_and_status_command(jetraw: Jetraw, tmp_path: Path) -> None:
    space = jetraw.space
    (tmp_path / "a.raw").write_bytes(b"x" * 1000)
    up = jetraw("upload", str(tmp_path / "a.raw"), f"/{space}/dir/a.raw")
    assert up.exit_code == 0, up.stderr
    assert jetraw("mkdir", f"/{space}/empty").exit_code == 0
    # A pending upload, as an interrupted one leaves it.
    token = jetraw.platform.access_token()
    created = httpx.post(
        f"{jetraw.platform.url}/api/v1/spaces/{space}/uploads",
        json={"path": "pending.raw", "size": 5, "overwrite": False, "metadata": {}},
        headers={"Authorization": f"Bearer {token}"},
        trust_env=False,
    )
    assert created.status_code == 201, created.text

    spaces = json_of(jetraw, "spaces")
    assert isinstance(spaces, list)
    mine = [s for s in spaces if s["name"] == space]
    assert set(mine[0]) == {"id", "name", "storage"}

    roots = json_of(jetraw, "ls")
    assert {"path": f"/{space}/", "name": space, "type": "space"}.items() <= next(
        e for e in roots if e["name"] == space
    ).items()
    listing = json_of(jetraw, "ls", f"/{space}/")
    assert all(set(e) == set(ENTRY_KEYS) for e in listing)
    by_path = {e["path"]: e for e in listing}
    assert by_path[f"/{space}/dir"]["type"] == "directory"
    assert by_path[f"/{space}/dir"]["size"] is None
    assert by_path[f"/{space}/empty"]["type"] == "directory"
    deep = json_of(jetraw, "ls", "-R", f"/{space}/")
    files = [e for e in deep if e["type"] == "file"]
    assert [f["path"] for f in files] == [f"/{space}/dir/a.raw"]
    entry = files[0]
    assert entry["name"] == "a.raw"
    assert entry["size"] == 1000
    assert type(entry["size"]) is int
    assert re.fullmatch(r"[0-9a-f]{8}", entry["checksum"])
    _iso(entry["created_at"])
    _iso(entry["modified_at"])
    assert entry["metadata"] == {}

    stat = json_of(jetraw, "stat", f"/{space}/dir/a.raw")
    assert stat == entry
    assert json_of(jetraw, "stat", f"/{space}/dir")["type"] == "directory"

    pending = json_of(jetraw, "uploads", "--space", space)
    assert isinstance(pending, list)
    assert len(pending) == 1
    assert set(pending[0]) == {
        "id", "path", "size", "status", "multipart", "created_at", "expires_at",
        "parts_stored", "bytes_stored",
    }  # fmt: skip
    assert pending[0]["path"] == f"/{space}/pending.raw"
    assert pending[0]["size"] == 5
    _iso(pending[0]["created_at"])
    _iso(pending[0]["expires_at"])

    who = json_of(jetraw, "whoami")
    assert set(who) == {"server", "user", "organisation", "role", "auth_source"}
    assert who["user"]["email"] == jetraw.platform.admin_email

    status = json_of(jetraw, "auth", "status")
    assert set(status) == {
        "configured", "valid", "server", "profile", "organisation", "user", "auth_source",
        "stored_in", "env", "error",
    }  # fmt: skip
    assert status["valid"] is True
    assert status["error"] is None

    keys = json_of(jetraw, "api-keys", "list")
    bare = json_of(jetraw, "api-keys")  # the bare group lists, as `spaces` does
    assert [(k["id"], k["name"]) for k in bare] == [(k["id"], k["name"]) for k in keys]
    assert isinstance(keys, list)
    assert keys
    assert {
        "id",
        "name",
        "organisation",
        "hint",
        "created_at",
        "last_used_at",
        "revoked_at",
    } == set(keys[0])
    for key in keys:
        _iso(key["created_at"])


def test_missing_remote_paths_are_named_in_full(jetraw: Jetraw) -> None:
    for argv in (["ls"], ["stat"], ["cat"], ["rm"]):
        path = f"/{jetraw.space}/no/such/thing"
        result = jetraw(*argv, path)
        assert result.exit_code == 4
        assert f"'{path}'" in one_error_line(result.stderr)


def test_quiet_prints_no_progress_or_information(jetraw: Jetraw, tmp_path: Path) -> None:
    (tmp_path / "f.raw").write_bytes(b"data")
    dest = f"/{jetraw.space}/q/f.raw"
    loud = jetraw("upload", str(tmp_path / "f.raw"), dest)
    assert "Uploaded 1 of 1 file" in loud.stdout
    quiet = jetraw("--quiet", "upload", "--overwrite", str(tmp_path / "f.raw"), dest)
    assert quiet.exit_code == 0
    assert (quiet.stdout, quiet.stderr) == ("", "")
    assert jetraw("-q", "download", dest, str(tmp_path / "back.raw")).output == ""
    assert jetraw("uploads", "--space", jetraw.space).stdout == "No pending uploads.\n"
    assert jetraw("-q", "uploads", "--space", jetraw.space).output == ""
    # What was asked for is still printed; errors still go to stderr.
    assert jetraw("-q", "ls", f"/{jetraw.space}/q/").stdout == "f.raw\n"
    failed = jetraw("-q", "upload", str(tmp_path / "f.raw"), dest)
    assert failed.exit_code == 5
    assert "exists" in one_error_line(failed.stderr)
    assert failed.stdout == ""


def test_global_server_option(jetraw: Jetraw, monkeypatch: pytest.MonkeyPatch) -> None:
    url = jetraw.platform.url
    monkeypatch.delenv("JETRAW_SERVER")
    assert "JETRAW_SERVER" in one_error_line(jetraw("whoami").stderr)
    for argv in (["whoami", "--json"], ["ls", "--json"], ["auth", "status", "--json"]):
        result = jetraw("--server", url, *argv)
        assert result.exit_code == 0, result.stderr
        data = json.loads(result.stdout)
        if argv[0] == "whoami":
            assert data["server"] == url


def test_help_is_not_cut_short(jetraw: Jetraw) -> None:
    text = jetraw("--help").stdout
    commands = text.split("Commands:")[1].split("Exit codes")[0]
    assert "..." not in commands
    assert "completion" in commands
    for option in ("--server", "--profile", "--quiet", "--version"):
        assert option in text


def _login(env: dict[str, str], key: str, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jetraw.cli", "login", "--api-key", "--server", url],
        input=key + "\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_login_kept_in_memory_only_says_so(jetraw: Jetraw, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("JETRAW_API_KEY", "JETRAW_SERVER")}
    env["JETRAW_CONFIG_DIR"] = str(tmp_path / "config")
    env["JETRAW_TOKEN_STORAGE"] = "memory"
    url = jetraw.platform.url
    proc = _login(env, jetraw.platform.api_key, url)
    assert proc.returncode == 0, proc.stderr
    assert "Logged in as" in proc.stdout
    warning = proc.stderr.strip()
    assert warning.startswith("Warning: JETRAW_TOKEN_STORAGE=memory: the login was checked but not")
    assert "kept" in warning
    assert "JETRAW_API_KEY" in warning
    assert "keyring or file" in warning
    assert jetraw.platform.api_key not in proc.stderr
    # It is true: the next command is not logged in.
    after = subprocess.run(
        [sys.executable, "-m", "jetraw.cli", "whoami"], env=env, capture_output=True, text=True
    )
    assert after.returncode == 3

    env["JETRAW_TOKEN_STORAGE"] = "file"
    proc = _login(env, jetraw.platform.api_key, url)
    assert proc.returncode == 0, proc.stderr
    assert "Warning" not in proc.stderr


def test_spaces_create_help_documents_every_storage_field(jetraw: Jetraw) -> None:
    from jetraw.server.http._schemas import LocalStorageIn, S3StorageIn

    text = jetraw("spaces", "create", "--help").stdout
    for model in (LocalStorageIn, S3StorageIn):
        for field in model.model_fields:
            assert f'"{field}"' in text, field  # every field the server accepts is named
    assert '"local"' in text
    assert '"s3"' in text


def test_rm_help_names_the_grace_period_and_its_setting(jetraw: Jetraw) -> None:
    import dataclasses

    from jetraw.server._settings import ServerSettings

    text = " ".join(jetraw("rm", "--help").stdout.split())
    default = next(
        f.default for f in dataclasses.fields(ServerSettings) if f.name == "garbage_grace_seconds"
    )
    assert "grace period" in text
    assert "garbage_grace_seconds" in text
    assert f"{default:g} s by default" in text
    assert "--garbage-grace-seconds" in text
    server = subprocess.run(
        [sys.executable, "-m", "jetraw.server", "--help"], capture_output=True, text=True
    )
    assert "--garbage-grace-seconds" in server.stdout
