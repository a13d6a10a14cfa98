"""Fixtures of the client tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jetraw._auth import _store


@pytest.fixture(autouse=True)
def _fresh_memory_store() -> Iterator[None]:
    # JETRAW_TOKEN_STORAGE=memory (the suite default) is process-wide: no test sees another's login.
    _store._MEMORY.clear()
    yield
    _store._MEMORY.clear()
