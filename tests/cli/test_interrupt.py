"""Ctrl-C during `jetraw upload` keeps the upload; the same command again resumes it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from jetraw._config import config_dir
from jetraw._crc import crc32c, crc32c_hex

from .conftest import Jetraw, make_tree

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
    return interrupt_when(args, lambda: journaled_parts() >= parts, delay=0.3)


def interrupt_when(
    args: list[str], ready: Callable[[], bool], delay: float
) -> subprocess.CompletedProcess[str]:
    """Run the throttled `jetraw` and send it SIGINT once ``ready()``."""
    child = subprocess.Popen(
        [sys.executable, str(THROTTLED), str(delay), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not ready():
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "the transfer never got far enough"
            time.sleep(0.02)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    return subprocess.CompletedProcess(child.args, child.returncode, out, err)


def test_ctrl_c_keeps_the_upload_and_the_same_command_resumes(
    jetraw_any: Jetraw, tmp_path: Path
) -> None:
    jetraw = jetraw_any
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
    # The journaled parts were not sent again, and the result says how much was resumed.
    assert 0 < result["bytes_transferred"] <= size - kept * PART
    assert result["resumed"] == 1
    assert result["files"][0]["bytes_resumed"] >= kept * PART
    assert result["bytes_resumed"] + result["bytes_transferred"] == size

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
    assert journaled_parts() == 0  # and its local resume journal

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


def test_ctrl_c_in_a_tree_then_resume_with_skip_existing(jetraw: Jetraw, tmp_path: Path) -> None:
    files = {"a-small.txt": b"small file\n", "b-big.raw": os.urandom(4 * PART + 5)}
    make_tree(tmp_path / "tree", files)
    dest = f"/{jetraw.space}/tree/"
    args = upload_args(tmp_path / "tree", dest)
    args.insert(1, "-r")
    stopped = interrupt_after_parts(args, parts=2)
    assert stopped.returncode == 130, stopped.stderr
    hint = one_error_free_line(stopped.stderr)
    assert f"{dest}b-big.raw" in hint
    assert "--skip-existing" in hint

    rerun = jetraw.proc(*args, "--skip-existing")
    assert rerun.returncode == 0, rerun.stderr
    result = json.loads(rerun.stdout)
    status = {f["remote"].rsplit("/", 1)[1]: f["status"] for f in result["files"]}
    assert status == {"a-small.txt": "skipped", "b-big.raw": "uploaded"}
    assert result["bytes_transferred"] <= len(files["b-big.raw"]) - 2 * PART
    for name, content in files.items():
        assert jetraw.raw("cat", dest + name).stdout == content
    assert json.loads(jetraw("uploads", "--space", jetraw.space, "--json").stdout) == []


def test_ctrl_c_during_download_leaves_no_partial_file(jetraw: Jetraw, tmp_path: Path) -> None:
    data = os.urandom(4 * PART)
    (tmp_path / "src.raw").write_bytes(data)
    remote = f"/{jetraw.space}/dl.raw"
    assert jetraw("upload", str(tmp_path / "src.raw"), remote).exit_code == 0
    out = tmp_path / "out"
    out.mkdir()

    def writing() -> bool:
        return any(p.stat().st_size > 0 for p in out.iterdir())

    args = ["download", remote, str(out), "--concurrency", "1"]
    stopped = interrupt_when(args, writing, delay=0.05)
    assert stopped.returncode == 130, stopped.stderr
    assert one_error_free_line(stopped.stderr) == (
        "Interrupted: nothing incomplete is at the destination; rerun to resume."
    )
    assert list(out.iterdir()) == []
    done = jetraw.proc(*args)
    assert done.returncode == 0, done.stderr
    assert (out / "dl.raw").read_bytes() == data


def one_error_free_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def test_a_resumed_upload_says_how_much_was_already_stored(jetraw: Jetraw, tmp_path: Path) -> None:
    local = tmp_path / "r.raw"
    local.write_bytes(os.urandom(3 * PART))
    dest = f"/{jetraw.space}/resumed.raw"
    args = [a for a in upload_args(local, dest) if a != "--json"]
    assert interrupt_after_parts(args, 1).returncode == 130
    listed = jetraw("uploads", "--space", jetraw.space)
    assert listed.exit_code == 0, listed.stderr
    line = next(line for line in listed.stdout.splitlines() if dest in line)
    # What storage holds (a part may be stored before the throttled journal records it).
    found = re.search(r"  (\d+) parts?, (\d+)\.0 MiB stored  ", line)
    assert found, line
    parts = int(found.group(1))
    assert parts >= max(1, journaled_parts())
    assert int(found.group(2)) == parts * 5
    as_json = json.loads(jetraw("uploads", "--space", jetraw.space, "--json").stdout)
    [mine] = [u for u in as_json if u["path"] == dest]
    assert mine["parts_stored"] == parts
    assert mine["bytes_stored"] == parts * PART
    again = jetraw.proc(*args)
    assert again.returncode == 0, again.stderr
    assert f"resumed 1 file, {parts * 5}.0 MiB already stored" in again.stdout
