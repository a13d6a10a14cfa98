"""Fixtures of the sync-facade tests: the toy async API and its generated sync twin."""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from _synctools import HERE, ROOT, generate_toy


@pytest.fixture(scope="session")
def toy_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("toy")
    generate_toy(root)
    return root


@pytest.fixture
def toy_sync(toy_root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The generated ``toy_sync`` package, importable (and its toy store emptied)."""
    monkeypatch.syspath_prepend(str(toy_root))
    monkeypatch.syspath_prepend(str(HERE))
    module = importlib.import_module("toy_sync")
    import toy_aio._client

    toy_aio._client.STORES.clear()
    yield module
    module.set_default_client(None)
    toy_aio.set_default_client(None)


@pytest.fixture
def child_env(toy_root: Path) -> dict[str, str]:
    """The environment of a child Python that can import jetraw, toy_aio and toy_sync."""
    path = os.pathsep.join([str(ROOT), str(HERE), str(toy_root)])
    return {**os.environ, "PYTHONPATH": path, "PYTHONUNBUFFERED": "1"}
