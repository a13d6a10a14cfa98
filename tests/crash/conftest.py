"""Fixtures of the crash tests: the transfer tests' platform, spaces and moto, a child driver.

Kill points are drawn from ``random.Random(seed)``; the seed is in each test's id
(``seed=...``) and ``JETRAW_CRASH_SEED`` replaces the default to explore other points.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.transfer.conftest import (  # noqa: F401 - fixtures, registered by being imported
    SpaceUnderTest,
    aws_env,
    boto3_client,
    bucket,
    client,
    moto_url,
    pytest_generate_tests,
    s3_endpoint,
    space,
)

CHILD = Path(__file__).with_name("_child.py")
SEED = int(os.environ.get("JETRAW_CRASH_SEED", "20261204"))


@dataclass
class ChildRun:
    """How a child run ended: killed at event ``events`` (or finished), having stored
    ``stored`` bytes (storage writes that returned; downloads: bytes received)."""

    killed: bool
    events: int
    stored: int


def run_child(spec: dict[str, Any], timeout: float = 90.0) -> ChildRun:
    """Run ``_child.py``; SIGKILL it when it reaches ``spec["kill_at"]``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen(
        [sys.executable, str(CHILD), json.dumps(spec)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    assert child.stdout is not None
    last = ["E", "0", "0"]
    deadline = time.monotonic() + timeout
    try:
        for line in child.stdout:
            words = line.split()
            if not words:
                continue
            last = words
            if words[0] == "KILL":
                os.kill(child.pid, signal.SIGKILL)
                break
            if words[0] == "DONE":
                break
            assert time.monotonic() < deadline, "the child ran too long"
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        stderr = child.stderr.read() if child.stderr else ""
        child.stdout.close()
        if child.stderr:
            child.stderr.close()
    if last[0] == "KILL":
        assert child.returncode == -signal.SIGKILL, stderr
        return ChildRun(True, int(last[1]), int(last[2]))
    assert last[0] == "DONE", stderr[-3000:]
    assert child.returncode == 0, stderr[-3000:]
    return ChildRun(False, int(last[1]), int(last[2]))


def mount_tmpfs(directory: Path, size: str) -> bool:
    """Mount a tmpfs of ``size`` on ``directory``; whether it could."""
    directory.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return False
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Any]:
    """``tmpfs(path, size)`` mounts a small tmpfs (skipped without root, failed in CI)."""
    from tests.conftest import require_system

    mounted: list[Path] = []

    def mount(directory: Path, size: str = "2m") -> Path:
        require_system("mounting a tmpfs (root)", mount_tmpfs(directory, size))
        mounted.append(directory)
        return directory

    yield mount
    for directory in reversed(mounted):
        subprocess.run(["umount", "-l", str(directory)], check=False)


def fill(directory: Path) -> None:
    """Fill a file system to its last byte."""
    fd = os.open(directory / "filler", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for block in (1 << 16, 1):
            data = b"\0" * block
            while True:
                try:
                    os.write(fd, data)
                except OSError:
                    break
    finally:
        os.close(fd)
