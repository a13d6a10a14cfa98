"""No secret leaks: the CLI at --debug/--debug-all and the SDK at DEBUG, through a whole session.

Known secrets (the platform's API key and admin password, an AWS secret key and session token)
are scanned for verbatim; the tokens the platform issues during the session (access tokens
``<base64url JSON>.<MAC>``, refresh tokens ``jrt_<id>_<secret>``) are scanned for by format,
since their values are minted inside the run. Outputs, logs, error messages and every file under
the test's HOME are scanned; only the secret store may hold a secret, 0600 in a 0700 dir.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.security.conftest import AWS_SECRET, AWS_SESSION_TOKEN

_TOKEN_FORMATS = re.compile(
    r"jr[kt]_[0-9a-f]+_[A-Za-z0-9_-]{20,}|eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{20,}"
)


def _secrets(platform: Any) -> list[str]:
    return [platform.api_key, platform.admin_password, AWS_SECRET, AWS_SESSION_TOKEN]


def _assert_clean(text: str, secrets: list[str], where: str) -> None:
    for secret in secrets:
        assert secret not in text, f"a secret leaked into {where}"
    found = _TOKEN_FORMATS.findall(text)
    assert not found, f"a platform token leaked into {where}: {found[0][:12]}…"


def _scan_files(home: Path, secrets: list[str], store: Path | None) -> None:
    for path in home.rglob("*"):
        if not path.is_file() or (store is not None and store in path.parents):
            continue
        _assert_clean(path.read_text(errors="replace"), secrets, str(path))


def _check_modes(store: Path) -> None:
    files = [p for p in store.rglob("*") if p.is_file()]
    assert files, "the file secret store holds nothing"
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700, path.parent


@pytest.mark.parametrize("umask", [0o022, 0o000])
@pytest.mark.parametrize("debug", ["--debug", "--debug-all"])
def test_cli_session_leaks_no_secret(
    jetraw_platform: Any,
    s3_space: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    debug: str,
    umask: int,
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    config = home / "config" / "jetraw"  # its parent is missing too: made 0700 as well
    env = {
        **os.environ,
        "HOME": str(home),
        "JETRAW_CONFIG_DIR": str(config),
        "JETRAW_TOKEN_STORAGE": "file",
    }
    env.pop("JETRAW_API_KEY", None)
    work = tmp_path / "work"
    work.mkdir()
    (work / "small.bin").write_bytes(b"s" * 1000)
    (work / "big.bin").write_bytes(os.urandom(6 << 20))
    secrets = _secrets(jetraw_platform)
    server = jetraw_platform.url
    dest = f"/{s3_space}/in/"
    steps: list[tuple[list[str], str | None, int | None]] = [
        (["login", "--server", server, "--api-key"], jetraw_platform.api_key + "\n", 0),
        (["upload", str(work / "small.bin"), dest], None, 0),
        (
            [
                "upload",
                "--multipart-threshold",
                "5MiB",
                "--part-size",
                "5MiB",
                str(work / "big.bin"),
                dest,
            ],
            None,
            0,
        ),
        (["ls", "-l", dest], None, 0),
        (["stat", f"{dest}big.bin"], None, 0),
        (["download", f"{dest}big.bin", str(work / "back.bin")], None, 0),
        (["stat", f"/{s3_space}/missing"], None, None),  # an error
        (["ls", "/no-such-space/"], None, None),  # an error
        (["logout"], None, 0),
    ]
    old = os.umask(umask)
    try:
        for args, stdin, code in steps:
            done = subprocess.run(
                [sys.executable, "-m", "jetraw.cli", debug, *args],
                env=env,
                input=stdin,
                capture_output=True,
                text=True,
                timeout=90,
            )
            if code is not None:
                assert done.returncode == code, (args, done.stderr[-2000:])
            else:
                assert done.returncode != 0, args
            _assert_clean(done.stdout, secrets, f"stdout of {args[0]}")
            _assert_clean(done.stderr, secrets, f"stderr of {args[0]}")
            if args[0] == "login":
                assert "DEBUG:jetraw" in done.stderr  # the debug log was on, and scanned
                _check_modes(config)
                assert stat.S_IMODE(config.parent.stat().st_mode) == 0o700
        # A wrong key: refused, and the key it was given is not echoed back.
        wrong = "jrk_0123456789abcdef_" + "W" * 43
        done = subprocess.run(
            [sys.executable, "-m", "jetraw.cli", debug, "whoami"],
            env={**env, "JETRAW_SERVER": server, "JETRAW_API_KEY": wrong},
            capture_output=True,
            text=True,
            timeout=90,
        )
        assert done.returncode != 0, done.stderr[-2000:]  # 3, or 1 with a --debug traceback
        _assert_clean(done.stdout + done.stderr, [*secrets, wrong], "whoami with a wrong key")
    finally:
        os.umask(old)
    assert (work / "back.bin").read_bytes() == (work / "big.bin").read_bytes()
    _scan_files(home, secrets, store=None)  # logged out: nothing may be left anywhere


def test_cli_debug_logs_jetraw_only_unless_all(jetraw_platform: Any, tmp_path: Path) -> None:
    env = {**os.environ, "JETRAW_SERVER": jetraw_platform.url}
    env["JETRAW_API_KEY"] = jetraw_platform.api_key

    def names(*flags: str, extra: dict[str, str] | None = None) -> set[str]:
        done = subprocess.run(
            [sys.executable, "-m", "jetraw.cli", *flags, "whoami"],
            env={**env, **(extra or {})},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return {m.split(":")[0] for m in re.findall(r"^DEBUG:([\w.]+)", done.stderr, re.M)}

    assert all(n == "jetraw" or n.startswith("jetraw.") for n in names("--debug"))
    every = names("--debug-all")
    assert any(n.split(".")[0] in ("httpx", "httpcore", "asyncio") for n in every), every
    by_env = names(extra={"JETRAW_DEBUG": "all"})
    assert any(n.split(".")[0] in ("httpx", "httpcore", "asyncio") for n in by_env), by_env


@pytest.mark.parametrize("kind", ["async", "sync"])
def test_sdk_at_debug_leaks_no_secret(
    jetraw_platform: Any,
    s3_space: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    kind: str,
) -> None:
    """The SDK with every logger at DEBUG (what `logging.basicConfig(level=DEBUG)` does)."""
    monkeypatch.setenv("JETRAW_TOKEN_STORAGE", "file")
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(6 << 20))
    small = tmp_path / "small.bin"
    small.write_bytes(b"x" * 100)
    dest = f"/{s3_space}/sdk-{kind}/"
    errors: list[str] = []
    from jetraw.aio import TransferConfig

    config = TransferConfig(multipart_threshold=5 << 20, part_size=5 << 20)
    caplog.set_level(logging.DEBUG)  # the root logger and so every library
    # botocore logs every signed request (session token, signature) at DEBUG: the S3 storage
    # puts jetraw.RedactingFilter on botocore's loggers, so every record is scanned below.
    if kind == "sync":
        import jetraw

        with jetraw.Client(server=jetraw_platform.url, refresh_token=jetraw_platform.api_key) as c:
            c.save_login()
            c.upload(small, dest)
            c.upload(src, dest, config=config)
            list(c.list_files(dest))
            c.download(f"{dest}big.bin", tmp_path / "back.bin")
            for bad in (f"/{s3_space}/missing", "/no-such-space/x"):
                try:
                    c.stat(bad)
                except Exception as exc:
                    errors += [str(exc), repr(exc)]
            c.logout()
    else:
        import anyio

        from jetraw.aio import AsyncClient

        async def go() -> None:
            async with AsyncClient(
                server=jetraw_platform.url, refresh_token=jetraw_platform.api_key
            ) as c:
                await c.save_login()
                await c.upload(small, dest)
                await c.upload(src, dest, config=config)
                [e async for e in c.list_files(dest)]
                await c.download(f"{dest}big.bin", tmp_path / "back.bin")
                for bad in (f"/{s3_space}/missing", "/no-such-space/x"):
                    try:
                        await c.stat(bad)
                    except Exception as exc:
                        errors.extend([str(exc), repr(exc)])
                await c.logout()

        anyio.run(go)
    assert len(errors) == 4
    secrets = _secrets(jetraw_platform)
    names = {r.name.split(".")[0] for r in caplog.records}
    assert {"jetraw", "botocore"} <= names, names  # both were logging, and are scanned
    every = "\n".join(r.getMessage() for r in caplog.records)
    assert "X-Amz-Security-Token" in every  # botocore did log its signed requests
    _assert_clean(every, secrets, "the log records, botocore's included")
    _assert_clean("\n".join(errors), secrets, "exception messages")
    # A client given `refresh_token=` keeps that argument's saved copy after `logout()` (see the
    # report): the secret store may hold it, 0600 in 0700; nothing else may.
    config = Path(os.environ["JETRAW_CONFIG_DIR"])
    store = config / "secrets"
    if store.exists():
        _check_modes(store)
    _scan_files(config.parent, secrets, store=store)
