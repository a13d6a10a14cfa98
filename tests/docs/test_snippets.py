"""Every ```python block of README.md and docs/**/*.md runs, as written, against a LocalPlatform.

A block that cannot run has the line ``<!-- not-run: <reason> -->`` directly above it (a reason is
required). Every other block is executed in its own Python process, in a fresh directory holding
``frames/`` (three small files), with ``JETRAW_SERVER`` and ``JETRAW_API_KEY`` of a LocalPlatform
in the environment (as ``jetraw server`` prints them to export), a private ``JETRAW_CONFIG_DIR``
and ``JETRAW_TOKEN_STORAGE=memory``; the platform's space is called ``data``, as on a first
``jetraw server`` run. The blocks of one file share one platform, in page order. A block that
raises (or exits non-zero) fails its test.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from jetraw.testing import LocalPlatform

ROOT = Path(__file__).resolve().parents[2]
NOT_RUN = re.compile(r"^<!--\s*not-run:\s*(?P<reason>.*?)\s*-->$")
FENCE = re.compile(r"^```(?P<lang>[\w+-]*)\s*$")


def markdown_files() -> list[Path]:
    docs = sorted(p for p in (ROOT / "docs").rglob("*.md") if "_build" not in p.parts)
    return [ROOT / "README.md", *docs]


def python_blocks(path: Path) -> Iterator[tuple[int, str, str | None]]:
    """(line, code, not-run reason or None) of each ```python block of `path`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i].strip())
        if not match or not match["lang"]:
            i += 1
            continue
        start, lang = i, match["lang"]
        i += 1
        body: list[str] = []
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i])
            i += 1
        i += 1
        if lang not in ("python", "py"):
            continue
        previous = lines[start - 1].strip() if start else ""
        marker = NOT_RUN.match(previous)
        yield start + 1, "\n".join(body) + "\n", (marker["reason"] if marker else None)


BLOCKS = [
    pytest.param(path, line, code, reason, id=f"{path.relative_to(ROOT)}:{line}")
    for path in markdown_files()
    for line, code, reason in python_blocks(path)
]


@pytest.fixture(scope="module")
def platforms() -> Iterator[dict[Path, LocalPlatform]]:
    """One LocalPlatform per Markdown file: the blocks of a page share it, in page order."""
    started: dict[Path, LocalPlatform] = {}
    try:
        yield started
    finally:
        for p in started.values():
            p.close()


@pytest.fixture
def platform(platforms: dict[Path, LocalPlatform], path: Path) -> LocalPlatform:
    if path not in platforms:
        platforms[path] = LocalPlatform().start()
        assert platforms[path].space == "data"  # the name the README and the pages use
    return platforms[path]


def test_blocks_are_collected() -> None:
    runnable = [b for b in BLOCKS if b.values[3] is None]
    assert len(BLOCKS) >= 10, BLOCKS
    assert len(runnable) >= 8, runnable


@pytest.mark.timeout(180)
@pytest.mark.parametrize(("path", "line", "code", "reason"), BLOCKS)
def test_block_runs(
    path: Path, line: int, code: str, reason: str | None, platform: LocalPlatform, tmp_path: Path
) -> None:
    if reason is not None:
        assert reason, f"{path}:{line}: a not-run marker needs a reason"
        pytest.skip(f"not-run: {reason}")
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(3):
        (frames / f"frame_{i:04d}.raw").write_bytes(os.urandom(1000 + i))
    (tmp_path / "config").mkdir()
    env = {
        **os.environ,
        "JETRAW_SERVER": platform.url,
        "JETRAW_API_KEY": platform.api_key,
        "JETRAW_CONFIG_DIR": str(tmp_path / "config"),
        "JETRAW_TOKEN_STORAGE": "memory",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    env.pop("JETRAW_PROFILE", None)
    script = tmp_path / "snippet.py"
    script.write_text(code, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=170,
        check=False,
    )
    assert proc.returncode == 0, (
        f"{path.relative_to(ROOT)}:{line} failed (exit {proc.returncode}):\n"
        f"{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    )
