"""Fixtures of the CLI tests: a fresh space on the session's platform, and ways to run `jetraw`."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from jetraw.cli import cli
from jetraw.testing import LocalPlatform


@dataclass
class Jetraw:
    """Runs `jetraw` commands as the platform's admin, against one fresh space."""

    platform: LocalPlatform
    space: str
    storage_root: Path

    def open_multipart_uploads(self) -> list[Path]:
        staging = self.storage_root / ".jetraw-multipart"
        return sorted(staging.iterdir()) if staging.is_dir() else []

    def __call__(self, *args: str, input: str | None = None) -> Result:
        """In-process, through click's runner (fast; stdout and stderr apart)."""
        return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)

    def proc(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """In a child process, as a user runs it (`python -m jetraw.cli`)."""
        return subprocess.run(
            [sys.executable, "-m", "jetraw.cli", *args],
            env={**os.environ, **(env or {})},
            capture_output=True,
            text=True,
            timeout=60,
        )

    def raw(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        """Like :meth:`proc`, with stdout as bytes (``jetraw cat``)."""
        return subprocess.run(
            [sys.executable, "-m", "jetraw.cli", *args], capture_output=True, timeout=60
        )


@pytest.fixture
def jetraw(jetraw_platform: LocalPlatform, monkeypatch: pytest.MonkeyPatch) -> Jetraw:
    monkeypatch.setenv("JETRAW_SERVER", jetraw_platform.url)
    monkeypatch.setenv("JETRAW_API_KEY", jetraw_platform.api_key)
    name = f"cli-{uuid.uuid4().hex[:10]}"
    info = jetraw_platform.create_space(name)
    return Jetraw(jetraw_platform, name, Path(info["storage"]["root"]))


def make_tree(root: Path, files: dict[str, bytes]) -> dict[str, bytes]:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


def one_error_line(stderr: str) -> str:
    """The single `Error: ...` line a failed command prints (and nothing else)."""
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("Error: "), stderr
    return lines[0]
