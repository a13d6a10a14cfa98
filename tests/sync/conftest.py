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


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """An S3 endpoint (moto) on 127.0.0.1."""
    import socket

    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()
