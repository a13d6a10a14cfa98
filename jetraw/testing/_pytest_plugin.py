"""pytest plugin (entry point ``pytest11: jetraw``): fixtures running the reference platform.

- ``jetraw_platform``: one :class:`~jetraw.testing.LocalPlatform` for the whole session.
- ``jetraw_platform_factory``: call it with ``LocalPlatform`` keyword arguments to start a fresh
  platform; every platform it started is stopped after the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from jetraw.testing._platform import LocalPlatform

__all__ = ["jetraw_platform", "jetraw_platform_factory"]


@pytest.fixture(scope="session")
def jetraw_platform() -> Iterator[LocalPlatform]:
    """A reference platform shared by the session's tests (do not change its settings)."""
    platform = LocalPlatform()
    try:
        yield platform.start()
    finally:
        platform.close()


@pytest.fixture
def jetraw_platform_factory() -> Iterator[Callable[..., LocalPlatform]]:
    """Start fresh platforms: ``jetraw_platform_factory(access_token_ttl=5, mode="thread")``."""
    started: list[LocalPlatform] = []

    def factory(**options: Any) -> LocalPlatform:
        platform = LocalPlatform(**options)
        started.append(platform)
        return platform.start()

    yield factory
    for platform in reversed(started):
        platform.close()
