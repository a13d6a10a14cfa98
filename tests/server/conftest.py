"""Shared fixtures of the server tests: one real platform (child process, 127.0.0.1) per session,
an authenticated httpx client, a fresh space per test.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from server_support import Api

from jetraw.testing import LocalPlatform


@pytest.fixture(scope="session")
def platform() -> Iterator[LocalPlatform]:
    """The session's reference platform (child process). Tests make their own spaces."""
    with LocalPlatform(garbage_grace_seconds=0, cleanup_interval_seconds=0) as running:
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
