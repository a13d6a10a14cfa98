"""Helpers of the sync-facade tests (a module of its own: conftest is not importable)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
GEN = ROOT / "scripts" / "gen_sync.py"


def generate_toy(out_root: Path) -> Path:
    """Run the generator on ``toy_aio`` into ``out_root/toy_sync``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT)])}
    subprocess.run(
        [sys.executable, str(GEN), "--source", "toy_aio", "--package", "toy_sync",
         "--output", str(out_root / "toy_sync")],
        check=True, capture_output=True, env=env, cwd=ROOT, timeout=60,
    )  # fmt: skip
    return out_root / "toy_sync"


def run_child(
    code: str, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter; returns the finished process (text output)."""
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=timeout,
        cwd=ROOT,
    )  # fmt: skip


AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing-key-id",
    "AWS_SECRET_ACCESS_KEY": "testing-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}
