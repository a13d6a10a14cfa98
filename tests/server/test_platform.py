"""jetraw.testing.LocalPlatform: both modes, sync and async use, failure reporting, clean exit."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from jetraw.testing import LocalPlatform, parse_metrics


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_process_mode_starts_serves_and_exits_cleanly(database_url: str | None) -> None:
    platform = LocalPlatform()
    with platform:
        assert platform.url.startswith("http://127.0.0.1:")
        assert platform._proc is not None
        pid = platform._proc.pid
        assert pid != os.getpid()
        assert _alive(pid)
        workdir = platform.data_dir.parent
        # the state is in the SQLite file, or (only) in PostgreSQL
        assert (platform.data_dir / "jetraw.db").exists() is (database_url is None)
        assert oct((platform.data_dir / "bootstrap.json").stat().st_mode & 0o777) == "0o600"
        assert platform.api_key.startswith("jrk_")
        assert platform.organisation == "default"
        assert platform.space == "data"
        token = platform.access_token()
        me = httpx.get(
            platform.url + "/api/v1/me",
            headers={"Authorization": f"Bearer {token}"},
            trust_env=False,
        ).json()
        assert me["user"]["email"] == platform.admin_email
    assert not _alive(pid)  # terminated and reaped: no zombie
    assert not platform.running
    platform.close()
    assert not workdir.exists()
    with pytest.raises(RuntimeError, match="not running"):
        _ = platform.url


@pytest.mark.anyio
async def test_thread_mode_with_async_with() -> None:
    async with LocalPlatform(mode="thread") as platform:
        assert platform._thread is not None
        async with httpx.AsyncClient(base_url=platform.url, trust_env=False) as client:
            r = await client.get("/healthz")
            assert r.json() == {"status": "ok"}
        metrics = platform.metrics()
        assert metrics['jetraw_http_responses_total{status="200"}'] >= 1
    assert not platform.running
    platform.close()


def test_a_failed_start_shows_the_server_output(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    platform = LocalPlatform(data_dir=blocker / "data", startup_timeout=30)
    with pytest.raises((RuntimeError, OSError)):
        platform.start()
    platform.close()
    broken = LocalPlatform(password_hash_n=3)  # scrypt refuses N that is not a power of two
    with pytest.raises(RuntimeError, match="did not start") as info:
        broken.start()
    assert "Traceback" in str(info.value)
    assert not broken.running
    broken.close()


def test_given_data_dir_is_kept_and_restart_keeps_data(
    tmp_path: Path, database_url: str | None
) -> None:
    data = tmp_path / "data"
    with LocalPlatform(data_dir=data) as platform:
        key = platform.api_key
        first_url = platform.url
        platform.create_organisation("kept")
        platform.restart()
        assert platform.url != first_url or platform.running
        assert platform.api_key == key
        with pytest.raises(RuntimeError, match="organisation_exists"):
            platform.create_organisation("kept")
    platform.close()
    assert (data / "jetraw.db").exists() is (database_url is None)


def test_the_pytest_fixtures(
    jetraw_platform: LocalPlatform, jetraw_platform_factory: Callable[..., LocalPlatform]
) -> None:
    assert jetraw_platform.running
    fresh = jetraw_platform_factory(access_token_ttl=30, mode="thread")
    assert fresh.url != jetraw_platform.url
    r = httpx.post(
        fresh.url + "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": fresh.api_key, "client_id": "jetraw"},
        trust_env=False,
    )
    assert r.json()["expires_in"] == 30


def test_parse_metrics() -> None:
    text = (
        "# HELP a_total A.\n# TYPE a_total counter\na_total 3\n"
        'b_total{grant_type="refresh_token"} 2\nc{x="1",y="a b"} 1.5\n'
    )
    assert parse_metrics(text) == {
        "a_total": 3.0,
        'b_total{grant_type="refresh_token"}': 2.0,
        'c{x="1",y="a b"}': 1.5,
    }


def test_jetraw_server_command_bootstraps_once_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    import re
    import signal
    import subprocess
    import sys

    def serve() -> tuple[list[str], str]:
        err = open(tmp_path / "stderr", "w+")  # noqa: SIM115
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from jetraw.cli import main; main()",
                "server",
                "--data-dir",
                str(tmp_path / "d"),
                "--port",
                "0",
            ],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
        assert proc.stdout is not None
        lines: list[str] = []
        try:
            for line in proc.stdout:
                lines.append(line)
                if line.startswith("Serving "):
                    break
            match = re.match(r"Serving (http://127\.0\.0\.1:\d+) ", lines[-1])
            assert match, lines
            url = match.group(1)
            assert httpx.get(url + "/healthz", trust_env=False).json() == {"status": "ok"}
        finally:
            proc.send_signal(signal.SIGINT)
            # Ctrl-C: a graceful shutdown, then the CLI's "interrupted" exit code.
            assert proc.wait(30) == 130
            proc.stdout.close()
            err.seek(0)
            assert "Traceback" not in err.read()
            err.close()
        return lines, url

    first, url = serve()
    text = "".join(first)
    assert "admin@localhost" in text
    key = json_key = (tmp_path / "d" / "bootstrap.json").read_text()
    assert f"export JETRAW_SERVER={url} JETRAW_API_KEY=jrk_" in text
    assert '"api_key": "jrk_' in json_key
    second, _ = serve()
    assert "admin@localhost" not in "".join(second)  # bootstrapped once
    assert key == (tmp_path / "d" / "bootstrap.json").read_text()
