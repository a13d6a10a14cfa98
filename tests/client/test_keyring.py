"""The secret store against a real OS keyring (gnome-keyring over D-Bus), and the 0600-file
fallback where there is no keyring at all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import have_binary, require_system

ROOT = Path(__file__).resolve().parents[2]


def _clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBUS_", "XDG_"))}
    env.pop("JETRAW_TOKEN_STORAGE", None)
    env.pop("PYTHON_KEYRING_BACKEND", None)
    for name in ("data", "config", "cache", "run"):
        (tmp_path / name).mkdir(mode=0o700)
    env.update(
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        XDG_RUNTIME_DIR=str(tmp_path / "run"),
        HOME=str(tmp_path),
    )
    return env


@pytest.mark.system
@pytest.mark.timeout(180)
def test_secret_store_in_real_os_keyring(tmp_path: Path) -> None:
    require_system(
        "dbus-run-session and gnome-keyring",
        have_binary("dbus-run-session") and have_binary("gnome-keyring-daemon"),
    )
    env = _clean_env(tmp_path)
    env["KEYRING_INNER"] = "1"
    script = (
        "echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null; "
        'exec "$0" -m pytest -q -p no:cacheprovider -W error tests/client/_keyring_inner.py'
    )
    proc = subprocess.run(
        ["dbus-run-session", "--", "sh", "-c", script, sys.executable],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=170,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "4 passed" in output, output


_FALLBACK = """
import json, logging, os, stat
logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
from jetraw._auth._store import open_store
first = open_store()
second = open_store()
first.set("k", {"refresh_token": "jrt_file"})
path = first.describe("k")
mode = oct(os.stat(path).st_mode & 0o777)
value = second.get("k")
print(json.dumps({"name": first.name, "second": second.name, "mode": mode, "value": value}))
"""


def test_file_fallback_without_dbus(tmp_path: Path) -> None:
    env = _clean_env(tmp_path)
    env["JETRAW_CONFIG_DIR"] = str(tmp_path / "jetraw")
    proc = subprocess.run(
        [sys.executable, "-c", _FALLBACK],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result == {
        "name": "file",
        "second": "file",
        "mode": "0o600",
        "value": {"refresh_token": "jrt_file"},
    }
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("WARNING")]
    assert len(warnings) == 1, proc.stderr
    assert "No usable OS keyring" in warnings[0]
    assert "jrt_file" not in proc.stderr
