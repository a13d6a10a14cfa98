"""Shared fixtures of the server tests: one real platform (child process, 127.0.0.1) per session
and backend, an authenticated httpx client, a fresh space per test.

Every test runs on both database backends (``[sqlite]`` and ``[postgresql]``), except those
marked ``sqlite_only`` (they open the SQLite file itself). The PostgreSQL variants need
``JETRAW_TEST_POSTGRESQL_URL`` (``scripts/postgresql/start.sh``); without it they skip, and fail
under ``JETRAW_REQUIRE_SYSTEM_TESTS=1``. Each PostgreSQL test gets a fresh schema, handed to
every server the test starts through ``$JETRAW_SERVER_DATABASE``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pg_support import POSTGRESQL_URL, PgCluster
from server_support import Api

from jetraw.testing import LocalPlatform

BACKENDS = ("sqlite", "postgresql")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: inspects the SQLite file; not on PostgreSQL")
    config.addinivalue_line("markers", "postgresql_only: several instances on one PostgreSQL")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        params: tuple[str, ...] = BACKENDS
        if metafunc.definition.get_closest_marker("sqlite_only") is not None:
            params = ("sqlite",)
        elif metafunc.definition.get_closest_marker("postgresql_only") is not None:
            params = ("postgresql",)
        metafunc.parametrize("backend", params, indirect=True, scope="session")


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest) -> Iterator[PgCluster | None]:
    """``None`` for SQLite; for PostgreSQL the session's database on the test cluster."""
    if request.param == "sqlite":
        yield None
        return
    if not POSTGRESQL_URL:
        from tests.conftest import require_system

        require_system("PostgreSQL (JETRAW_TEST_POSTGRESQL_URL)", False)
    cluster = PgCluster(POSTGRESQL_URL)
    yield cluster
    cluster.close()


@pytest.fixture(autouse=True)
def database_url(
    backend: PgCluster | None, _isolated_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> str | None:
    """The test's own PostgreSQL schema (the default of every server it starts), or ``None``."""
    if backend is None:
        return None
    url = backend.new_schema()
    monkeypatch.setenv("JETRAW_SERVER_DATABASE", url)
    return url


@pytest.fixture(scope="session")
def platform(backend: PgCluster | None) -> Iterator[LocalPlatform]:
    """The session's reference platform (child process). Tests make their own spaces."""
    database = None if backend is None else backend.new_schema()
    with LocalPlatform(
        garbage_grace_seconds=0, cleanup_interval_seconds=0, database=database
    ) as running:
        yield running


@pytest.fixture(scope="session")
def session_api(platform: LocalPlatform) -> Iterator[Api]:
    api = Api(platform)
    yield api
    api.close()


@pytest.fixture
def api(session_api: Api) -> Api:
    return session_api


@pytest.fixture
def space(platform: LocalPlatform) -> dict[str, Any]:
    """A fresh local space of the default organisation."""
    return platform.create_space(f"t-{secrets.token_hex(6)}")


@pytest.fixture
def other_org(platform: LocalPlatform) -> Iterator[dict[str, Any]]:
    """Another organisation with its own admin, API client and space."""
    name = f"org-{secrets.token_hex(4)}"
    org = platform.create_organisation(name)
    user = platform.create_user(f"{name}@example.com")
    platform.add_member(user, name, role="admin")
    key = platform.create_api_key(user, name)
    space = platform.create_space("shared-name", organisation=name)
    client = Api(platform, key)
    yield {"org": org, "user": user, "key": key, "space": space, "api": client}
    client.close()
