"""The shell side: completion scripts, NO_COLOR on a terminal, and the exit-code contract."""

from __future__ import annotations

import os
import pty
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from jetraw.aio import (
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    InvalidPathError,
    JetrawError,
    NotFoundError,
    PermissionDeniedError,
    ServerConnectionError,
    StorageConnectionError,
    TransferError,
)
from jetraw.cli import cli
from jetraw.cli._common import exit_code_for

from .conftest import Jetraw, one_error_line
from .test_errors import free_port

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
BIN = Path(sys.executable).parent


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_the_script(shell: str) -> None:
    result = CliRunner().invoke(cli, ["completion", shell], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "_JETRAW_COMPLETE" in result.stdout
    assert f"{shell}_complete" in result.stdout
    assert len(result.stdout) > 200


def test_completion_of_an_unknown_shell_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["completion", "tcsh"])
    assert result.exit_code == 2


def _bash_complete(words: str, cword: int) -> list[str]:
    """Source `jetraw completion bash` in bash and run its completion function on ``words``."""
    if shutil.which("jetraw", path=str(BIN)) is None:
        pytest.skip("the jetraw console script is not installed next to this Python")
    script = (
        "source <(jetraw completion bash) && complete -p jetraw >/dev/null && "
        f"COMP_WORDS=({words}); COMP_CWORD={cword}; _jetraw_completion jetraw; "
        'printf "%s\\n" "${COMPREPLY[@]}"'
    )
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run(
        ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_bash_completion_completes_commands_and_options() -> None:
    assert set(_bash_complete("jetraw up", 1)) == {"upload", "uploads"}
    assert "completion" in _bash_complete("jetraw co", 1)
    assert "--recursive" in _bash_complete("jetraw upload --rec", 2)
    assert _bash_complete("jetraw completion ''", 2) == ["bash", "zsh", "fish"]


def test_the_source_variable_prints_the_same_script() -> None:
    direct = CliRunner().invoke(cli, ["completion", "bash"]).stdout
    proc = subprocess.run(
        [sys.executable, "-m", "jetraw.cli"],
        env={**os.environ, "_JETRAW_COMPLETE": "bash_source"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    # Run as a module the program's name is still jetraw (main() says so).
    assert proc.stdout.strip() == direct.strip()


def _upload_on_a_terminal(jetraw: Jetraw, tmp_path: Path, env: dict[str, str]) -> bytes:
    """`jetraw upload` with stdout and stderr on a pseudo-terminal: all it wrote there."""
    local = tmp_path / "tty.raw"
    local.write_bytes(os.urandom(1 << 20))
    main, child = pty.openpty()
    argv = [sys.executable, "-m", "jetraw.cli", "upload", "--overwrite", str(local)]
    inherited = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    full_env = {**inherited, "TERM": "xterm-256color", "COLUMNS": "100", **env}
    with subprocess.Popen(
        [*argv, f"/{jetraw.space}/tty.raw"], env=full_env, stdout=child, stderr=child
    ) as proc:
        os.close(child)
        out = b""
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO: the child closed its side
                break
            if not chunk:
                break
            out += chunk
        assert proc.wait(timeout=60) == 0, out
    os.close(main)
    return out


SGR = re.compile(rb"\x1b\[[0-9;]*m")


def test_no_color_on_a_terminal(jetraw: Jetraw, tmp_path: Path) -> None:
    coloured = _upload_on_a_terminal(jetraw, tmp_path, {})
    assert SGR.search(coloured), coloured  # the test sees colour where there is some
    plain = _upload_on_a_terminal(jetraw, tmp_path, {"NO_COLOR": "1"})
    assert b"Uploaded 1 of 1 file" in plain
    assert not SGR.search(plain), plain


def test_quiet_on_a_terminal_writes_no_escape_at_all(jetraw: Jetraw, tmp_path: Path) -> None:
    local = tmp_path / "q.raw"
    local.write_bytes(b"q" * 4096)
    main, child = pty.openpty()
    with subprocess.Popen(
        [sys.executable, "-m", "jetraw.cli", "-q", "upload", str(local), f"/{jetraw.space}/q"],
        stdout=child,
        stderr=child,
    ) as proc:
        os.close(child)
        out = b""
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        assert proc.wait(timeout=60) == 0, out
    os.close(main)
    assert out == b""


def test_exit_code_table_is_the_documented_one() -> None:
    text = DOCS.read_text(encoding="utf-8")
    table = dict(re.findall(r"^\| (\d+) \| ([^|]+?) \|", text, re.MULTILINE))
    assert set(table) == {"0", "1", "2", "3", "4", "5", "6", "7", "130"}
    examples: list[tuple[JetrawError, int]] = [
        (TransferError("x"), 7),
        (AuthenticationError("x"), 3),
        (PermissionDeniedError("x"), 3),
        (NotFoundError("x"), 4),
        (ConflictError("x"), 5),
        (ServerConnectionError("x"), 6),
        (StorageConnectionError("x"), 6),
        (ConfigurationError("x"), 2),
        (InvalidPathError("x"), 2),
        (JetrawError("x"), 1),
    ]
    for error, code in examples:
        assert exit_code_for(error) == code
        assert type(error).__name__ in table[str(code)], (type(error).__name__, code)
    epilog = CliRunner().invoke(cli, ["--help"]).stdout
    for code in table:
        assert f"{code} " in epilog


def test_a_few_exit_codes(jetraw: Jetraw, monkeypatch: pytest.MonkeyPatch) -> None:
    # 2: usage (unknown command) and configuration (a profile that does not exist).
    assert jetraw("no-such-command").exit_code == 2
    assert jetraw("--profile", "nope", "ls").exit_code == 2
    # 3: the server refuses the key.
    monkeypatch.setenv("JETRAW_API_KEY", "jrk_wrong")
    assert jetraw("whoami").exit_code == 3
    monkeypatch.setenv("JETRAW_API_KEY", jetraw.platform.api_key)
    # 4: not found.
    assert jetraw("stat", f"/{jetraw.space}/nothing").exit_code == 4
    # 6: nobody listens there (given with the global --server).
    down = jetraw("--server", f"http://127.0.0.1:{free_port()}", "whoami")
    assert down.exit_code == 6
    assert "reach" in one_error_line(down.stderr)
