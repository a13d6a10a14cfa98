"""Fixtures of the fsspec tests: a local space and an S3 (moto) space on the session's platform,
and a ``JetrawFileSystem`` on each."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from jetraw.testing import LocalPlatform
from tests.conftest import S3Endpoint
from tests.transfer.conftest import s3_descriptor

SPACE_KINDS = ("local", "s3")


@pytest.fixture(scope="session")
def fs_spaces(jetraw_platform: LocalPlatform, moto_server: S3Endpoint) -> dict[str, str]:
    """One space of each kind for the session: ``{"local": name, "s3": name}``."""
    bucket = f"fs-{uuid.uuid4().hex[:12]}"
    moto_server.boto3_client().create_bucket(Bucket=bucket)
    local = f"fs-local-{uuid.uuid4().hex[:8]}"
    s3 = f"fs-s3-{uuid.uuid4().hex[:8]}"
    jetraw_platform.create_space(local)
    jetraw_platform.create_space(s3, storage=s3_descriptor(moto_server.url, bucket))
    return {"local": local, "s3": s3}


@pytest.fixture(params=SPACE_KINDS)
def fs_space(
    request: pytest.FixtureRequest,
    fs_spaces: dict[str, str],
    moto_server: S3Endpoint,
    monkeypatch: pytest.MonkeyPatch,
) -> str:
    """The space under test (each test runs on a local and on an S3 space)."""
    for name, value in moto_server.env.items():
        monkeypatch.setenv(name, value)
    return fs_spaces[request.param]


@pytest.fixture
def jfs(jetraw_platform: LocalPlatform, fs_space: str) -> Iterator[Any]:
    """A synchronous ``JetrawFileSystem`` (a fresh instance, closed after the test)."""
    import fsspec

    fs = fsspec.filesystem(
        "jetraw",
        server=jetraw_platform.url,
        api_key=jetraw_platform.api_key,
        skip_instance_cache=True,
    )
    yield fs
    fs.close()


@pytest.fixture
def jroot(jfs: Any, fs_space: str) -> Iterator[str]:
    """A fresh directory (``space/t-...``) of the space under test, removed afterwards."""
    root = f"{fs_space}/t-{uuid.uuid4().hex[:10]}"
    yield root
    if jfs.exists(root):
        jfs.rm(root, recursive=True)
