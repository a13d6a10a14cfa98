"""fsspec's own abstract test-suites, unmodified, on a local space and on an S3 (moto) space."""

from __future__ import annotations

from typing import Any

import pytest
from fsspec.tests import abstract


class JetrawFixtures(abstract.AbstractFixtures):  # type: ignore[misc]
    @pytest.fixture
    def fs(self, jfs: Any) -> Any:
        return jfs

    @pytest.fixture
    def fs_path(self, jroot: str) -> str:
        return jroot

    @pytest.fixture
    def fs_join(self) -> Any:
        return lambda *parts: "/".join(p.rstrip("/") for p in parts[:-1]) + "/" + parts[-1]


class TestJetrawCopy(abstract.AbstractCopyTests, JetrawFixtures):  # type: ignore[misc]
    pass


class TestJetrawGet(abstract.AbstractGetTests, JetrawFixtures):  # type: ignore[misc]
    pass


class TestJetrawPut(abstract.AbstractPutTests, JetrawFixtures):  # type: ignore[misc]
    pass


class TestJetrawPipe(abstract.AbstractPipeTests, JetrawFixtures):  # type: ignore[misc]
    pass


class TestJetrawOpen(abstract.AbstractOpenTests, JetrawFixtures):  # type: ignore[misc]
    pass
