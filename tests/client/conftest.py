"""Fixtures of the client tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jetraw._auth import _store
from jetraw.server import ServerSettings
from jetraw.testing import LocalPlatform


@pytest.fixture(autouse=True)
def _fresh_memory_store() -> Iterator[None]:
    # JETRAW_TOKEN_STORAGE=memory (the suite default) is process-wide: no test sees another's login.
    _store._MEMORY.clear()
    yield
    _store._MEMORY.clear()


@pytest.fixture
def fast_device_polls(jetraw_platform: LocalPlatform) -> Iterator[LocalPlatform]:
    """The shared platform with a 1 s device poll interval (instead of 5 s) for one test."""
    jetraw_platform.set_device_poll_interval(1)
    try:
        yield jetraw_platform
    finally:
        # The shared platform's settings are everybody's: put the configured default back.
        default = ServerSettings.__dataclass_fields__["device_poll_interval"].default
        jetraw_platform.set_device_poll_interval(int(default))  # type: ignore[arg-type]
