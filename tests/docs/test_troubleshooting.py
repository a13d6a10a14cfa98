"""The troubleshooting page names every exported exception, and the config registry is complete."""

from __future__ import annotations

import re
from pathlib import Path

import jetraw
import jetraw._exceptions as exceptions
from jetraw._util._env import ENV_VARS, NOT_ENV_VARS

ROOT = Path(__file__).resolve().parents[2]


def test_every_exception_is_on_the_troubleshooting_page() -> None:
    page = (ROOT / "docs" / "troubleshooting.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `(\w+)` \|", page, flags=re.MULTILINE))
    exported = {
        name
        for name in exceptions.__all__
        if isinstance(getattr(exceptions, name), type)
        and issubclass(getattr(exceptions, name), BaseException)
    }
    assert exported, "no exceptions found"
    assert exported <= set(jetraw.__all__)
    assert exported - rows == set(), "missing from docs/troubleshooting.md"


def test_every_jetraw_env_name_in_the_package_is_registered() -> None:
    names: set[str] = set()
    for path in (ROOT / "jetraw").rglob("*.py"):
        names |= set(re.findall(r"(?<![A-Za-z0-9])_?JETRAW_[A-Z][A-Z0-9_]*", path.read_text()))
    registered = {v.name for v in ENV_VARS} | set(NOT_ENV_VARS)
    assert "JETRAW_API_KEY" in names
    assert names - registered == set(), "add these to jetraw/_util/_env.py ENV_VARS"
