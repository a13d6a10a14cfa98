"""Ctrl-C during `jetraw upload` keeps the upload; the same command again resumes it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jetraw._config import config_dir
from jetraw._crc import crc32c, crc32c_hex

from .conftest import Jetraw

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child is POSIX")

MiB = 1 << 20
PART = 5 * MiB
THROTTLED = Path(__file__).with_name("_throttled_cli.py")


def upload_args(local: Path, dest: str) -> list[str]:
    return [
        "upload", str(local), dest, "--json",
        "--part-size", "5MiB", "--multipart-threshold", "5MiB", "--concurrency", "1",
    ]  # fmt: skip


def journaled_parts() -> int:
    directory = config_dir() / "uploads"
    best = 0
    for entry in directory.glob("*.json") if directory.is_dir() else []:
        try:
            best = max(best, len(json.loads(entry.read_text())["parts"]))
        except (ValueError, KeyError, OSError):
            continue
    return best


def interrupt_after_parts(args: list[str], parts: int) -> subprocess.CompletedProcess[str]:
    """Run the throttled `jetraw` (0.3 s per part) and send SIGINT once ``parts`` are journaled."""
    child = subprocess.Popen(
        [sys.executable, str(THROTTLED), "0.3", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while journaled_parts() < parts:
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "the upload never journaled its parts"
            time.sleep(0.02)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    return subprocess.CompletedProcess(child.args, child.returncode, out, err)


def test_ctrl_c_keeps_the_upload_and_the_same_command_resumes(
    jetraw: Jetraw, tmp_path: Path
) -> None:
    size = 8 * PART + 1234
    data = os.urandom(size)
    local = tmp_path / "stack.raw"
    local.write_bytes(data)
    dest = f"/{jetraw.space}/big/stack.raw"
    args = upload_args(local, dest)

    stopped = interrupt_after_parts(args, parts=2)
    assert stopped.returncode == 130, stopped.stderr
    assert "Traceback" not in stopped.stderr
    lines = stopped.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "run the same command again to resume" in lines[0]
    assert dest in lines[0]
    assert stopped.stdout == ""

    pending = jetraw("uploads", "--space", jetraw.space, "--json")
    assert pending.exit_code == 0, pending.stderr
    mine = [u for u in json.loads(pending.stdout) if u["path"] == dest]
    assert len(mine) == 1
    assert mine[0]["size"] == size
    assert mine[0]["multipart"] is True
    assert mine[0]["status"] == "pending"
    assert jetraw("stat", dest).exit_code == 4  # nothing visible yet
    kept = journaled_parts()
    assert kept >= 2

    again = jetraw.proc(*args)
    assert again.returncode == 0, again.stderr
    result = json.loads(again.stdout)
    assert result["ok"] is True
    assert result["files"][0]["status"] == "uploaded"
    assert result["files"][0]["checksum"] == crc32c_hex(crc32c(data))
    assert result["bytes"] == size
    # The journaled parts were not sent again.
    assert 0 < result["bytes_transferred"] <= size - kept * PART

    assert jetraw.raw("cat", dest).stdout == data
    assert json.loads(jetraw("uploads", "--space", jetraw.space, "--json").stdout) == []
    assert journaled_parts() == 0
    assert jetraw.open_multipart_uploads() == []


def test_aborting_a_kept_upload_then_uploading_starts_afresh(
    jetraw: Jetraw, tmp_path: Path
) -> None:
    size = 5 * PART
    data = os.urandom(size)
    local = tmp_path / "stack.raw"
    local.write_bytes(data)
    dest = f"/{jetraw.space}/aborted.raw"
    args = upload_args(local, dest)
    assert interrupt_after_parts(args, parts=1).returncode == 130
    assert len(jetraw.open_multipart_uploads()) == 1

    ids = [
        u["id"]
        for u in json.loads(jetraw("uploads", "--space", jetraw.space, "--json").stdout)
        if u["path"] == dest
    ]
    assert len(ids) == 1
    text = jetraw("uploads")
    assert ids[0] in text.stdout
    assert dest in text.stdout
    aborted = jetraw("uploads", "abort", ids[0])
    assert aborted.exit_code == 0, aborted.stderr
    assert "Aborted 1 upload." in aborted.stdout
    assert json.loads(jetraw("uploads", "--space", jetraw.space, "--json").stdout) == []
    assert jetraw.open_multipart_uploads() == []  # its stored parts are gone too

    fresh = jetraw.proc(*args)
    assert fresh.returncode == 0, fresh.stderr
    assert json.loads(fresh.stdout)["bytes_transferred"] == size  # nothing left to resume
    assert jetraw.raw("cat", dest).stdout == data
    assert journaled_parts() == 0


def test_abort_all(jetraw: Jetraw, tmp_path: Path) -> None:
    local = tmp_path / "one.raw"
    local.write_bytes(os.urandom(3 * PART))
    assert (
        interrupt_after_parts(upload_args(local, f"/{jetraw.space}/one.raw"), 1).returncode == 130
    )
    pending = json.loads(jetraw("uploads", "--space", jetraw.space, "--json").stdout)
    result = jetraw("uploads", "abort", "--all", "--space", jetraw.space, "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"aborted": [u["id"] for u in pending]}
    assert len(pending) == 1
    assert json.loads(jetraw("uploads", "--space", jetraw.space, "--json").stdout) == []
