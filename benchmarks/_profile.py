"""A py-spy profile of one jetraw run, summarized for the engine's owner (``--profile``)."""

from __future__ import annotations

import collections
import os
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["py_spy", "summarize_raw"]


def py_spy() -> str | None:
    """The py-spy binary (beside this interpreter, or on PATH), if installed."""
    beside = Path(sys.executable).with_name("py-spy")
    if beside.exists():
        return str(beside)
    return shutil.which("py-spy")


def record(binary: str, argv: list[str], out: Path, env: dict[str, str], cwd: Path) -> str:
    """Run ``argv`` under py-spy (100 Hz, all threads, native frames off); returns its stdout."""
    cmd = [binary, "record", "-r", "100", "-f", "raw", "-o", str(out), "--nonblocking", "--"]
    proc = subprocess.run(
        cmd + argv, capture_output=True, text=True, env=env, cwd=cwd, timeout=1800
    )
    if proc.returncode != 0 or not out.exists():
        raise RuntimeError(f"py-spy failed: {proc.stderr.strip()[-300:]}")
    return proc.stdout


def summarize_raw(raw: Path, top: int = 25) -> str:
    """Self and inclusive shares of the hottest frames of a py-spy ``raw`` (collapsed) file.

    Only samples of the upload itself (the peer's ``run`` and worker threads) are kept. py-spy
    samples wall-clock time of threads it considers active; a thread blocked in a C call that
    releases the GIL without being recognised as idle still counts.
    """
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text("utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        if "<locals>.run (" not in stack and "Thread._bootstrap" not in stack:
            continue  # interpreter start, imports, client setup: not the upload
        n = int(count)
        total += n
        frames = stack.split(";")
        own[frames[-1] or "(native/unknown)"] += n
        for frame in set(frames):
            inclusive[frame] += n
    if not total:
        return "no samples of the upload\n"
    lines = [f"samples: {total}", "", "self:"]
    lines += [f"  {100 * n / total:5.1f}%  {f[:140]}" for f, n in own.most_common(top)]
    lines += ["", "inclusive (excluding the entry frames):"]
    skip = ("<module>", "_run_code", "_run_module_as_main", "Thread._bootstrap", "main (")
    shown = [(f, n) for f, n in inclusive.most_common(top * 3) if not f.startswith(skip)]
    lines += [f"  {100 * n / total:5.1f}%  {f[:140]}" for f, n in shown[:top]]
    return "\n".join(lines) + "\n"


def profile_env(env: dict[str, str]) -> dict[str, str]:
    return {**env, "PYTHONUNBUFFERED": "1", "PATH": os.environ.get("PATH", "")}
