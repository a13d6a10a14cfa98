"""httpx, imported without its command-line client.

``import httpx`` also imports ``httpx._main`` (its ``httpx`` command) whenever click, rich and
pygments are installed, and jetraw's own CLI installs all three: about 0.2 s of CPU in every
process that uses the SDK, for a command it never runs. The first import made through this module
finds a stand-in for ``httpx._main`` (whose ``main`` imports the real one when called), so httpx
binds the stand-in's ``main``; the stand-in leaves ``sys.modules`` at once, and a later
``import httpx._main`` gets the real module. Where httpx was imported before jetraw, nothing
changes.
"""

from __future__ import annotations

import sys
import types
from typing import Any

__all__ = ["httpx"]


def _main(*args: Any, **kwargs: Any) -> Any:  # httpx.main, for whoever calls it
    from httpx._main import main

    return main(*args, **kwargs)


def _import_httpx() -> None:
    if "httpx" in sys.modules:
        return
    stand_in = types.ModuleType("httpx._main", "jetraw's stand-in for httpx's CLI module")
    stand_in.main = _main  # type: ignore[attr-defined]
    sys.modules["httpx._main"] = stand_in
    try:
        import httpx  # noqa: F401
    finally:
        if sys.modules.get("httpx._main") is stand_in:
            del sys.modules["httpx._main"]


_import_httpx()

import httpx  # noqa: E402  (the import above made it; this binds the name for type checkers)
