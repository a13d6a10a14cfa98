"""The progress display: bars on a terminal, silence in a pipe; sizes on the command line."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from jetraw.cli._common import parse_size

from .conftest import Jetraw, make_tree

MiB = 1 << 20
THROTTLED = Path(__file__).with_name("_throttled_cli.py")


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_progress_bars_on_a_terminal(jetraw: Jetraw, tmp_path: Path) -> None:
    make_tree(tmp_path / "t", {f"f{i}.bin": os.urandom(6 * MiB) for i in range(3)})
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, str(THROTTLED), "0.2", "upload", "-r", str(tmp_path / "t"),
         f"/{jetraw.space}/t/", "--part-size", "5MiB", "--multipart-threshold", "5MiB",
         "--concurrency", "1"],
        stdout=subprocess.PIPE,
        stderr=slave,
        env={**os.environ, "COLUMNS": "140"},
    )  # fmt: skip
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert proc.wait(timeout=60) == 0
    assert proc.stdout is not None
    summary = proc.stdout.read().decode()
    proc.stdout.close()
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode(errors="replace"))
    assert "Uploading" in screen
    assert "3/3 files" in screen
    assert "18.0/18.0 MiB" in screen  # the finished total
    assert re.search(r"\d+(\.\d)? [KMG]iB/s", screen)  # the rate
    assert "f0.bin" in screen  # a file in flight
    assert "Traceback" not in screen
    assert summary.startswith("Uploaded 3 of 3 files (18.0 MiB)")


def test_no_progress_noise_in_a_pipe(jetraw: Jetraw, tmp_path: Path) -> None:
    make_tree(tmp_path / "t", {"a": b"1" * 1000, "b/c": b"2" * 2000})
    up = jetraw.proc("upload", "-r", str(tmp_path / "t"), f"/{jetraw.space}/t/")
    assert up.returncode == 0, up.stderr
    assert up.stderr == ""
    assert len(up.stdout.splitlines()) == 1
    assert up.stdout.startswith("Uploaded 2 of 2 files (2.9 KiB) in ")
    down = jetraw.proc("download", "-r", "-q", f"/{jetraw.space}/t", str(tmp_path / "o"))
    assert down.returncode == 0, down.stderr
    assert down.stdout == ""
    assert down.stderr == ""
    assert (tmp_path / "o" / "b" / "c").read_bytes() == b"2" * 2000


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("8MiB", 8 * MiB),
        ("64M", 64 * MiB),
        ("1G", 1 << 30),
        ("1GB", 1 << 30),
        ("1.5GiB", 3 << 29),
        ("512k", 512 << 10),
        ("5242880", 5 * MiB),
        ("100B", 100),
        ("2T", 2 << 40),
    ],
)
def test_sizes(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "M", "8X", "-1M", "8 MiBs", "1e3", "8iB"])
def test_bad_sizes(text: str) -> None:
    with pytest.raises(ValueError, match="not a size"):
        parse_size(text)


def test_the_bar_does_not_count_an_interrupted_file_as_done() -> None:
    """Fed the engine's own progress events as at Ctrl-C: a kept upload and a cancelled file."""
    import anyio

    from jetraw._transfer._results import FileTransfer, Progress
    from jetraw.cli._progress import TransferProgress

    bar = TransferProgress("Uploading", show=True)
    small = FileTransfer(Path("a"), "/s/a", 10, status="uploaded")
    big = FileTransfer(Path("b"), "/s/b", 10 * MiB)
    single = FileTransfer(Path("c"), "/s/c", 20)

    async def feed() -> None:
        engine = Progress(bar, 3, 10 * MiB + 30)
        for f in (small, big, single):
            await engine.emit("started", f)
        await engine.emit("done", small)
        big.error = anyio.get_cancelled_exc_class()()
        await engine.emit("kept", big)
        single.error = KeyboardInterrupt()
        await engine.emit("failed", single)

    with bar:
        anyio.run(feed)
        assert bar._progress is not None
        [total] = [t for t in bar._progress.tasks if not t.fields.get("file")]
        assert total.fields["files"] == "1/3 files"
    assert bar.kept == [big]
    assert bar.interrupted == [single]
