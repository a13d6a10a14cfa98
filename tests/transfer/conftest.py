"""Fixtures of the transfer tests: S3 servers on 127.0.0.1 (moto, Ceph RGW) and storage backends."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from jetraw._storage import LocalStorage, S3Storage, Storage
from tests.conftest import RgwServers, S3Endpoint
from tests.conftest import free_port as free_port  # the transfer tests import it from here

# The S3 servers a test can run on (the test ids). Every test that uses S3 runs on moto; the
# modules named here run on Ceph RGW too, over HTTP and over HTTPS (see
# docs/storage-compatibility.md): the storage contract, round trips, resume after a kill,
# failures and download checks.
S3_BACKENDS = ("moto", "rgw", "rgw-https")
ON_RGW = {
    "test_storage_contract",
    "test_roundtrip",
    "test_resume",
    "test_failures",
    "test_download_checks",
}
# Tests that cannot run on some server, and why.
NOT_ON = {
    # The dropping proxy forwards plain TCP and serves http:// itself.
    "test_dropped_connections_abort_the_upload": {"rgw-https"},
}


def s3_backends_for(metafunc: pytest.Metafunc) -> list[str]:
    if metafunc.module.__name__.rsplit(".", 1)[-1] not in ON_RGW:
        return ["moto"]
    excluded = NOT_ON.get(metafunc.function.__name__, set())
    return [name for name in S3_BACKENDS if name not in excluded]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run S3 tests once per S3 server; ``storage``/``space`` once locally and once per server."""
    names = metafunc.fixturenames
    backends = s3_backends_for(metafunc)
    kind = next((n for n in ("storage", "space") if n in names), None)
    if kind is not None:
        metafunc.parametrize(
            (kind, "s3_endpoint"),
            [("local", "moto")] + [("s3", name) for name in backends],
            ids=["local", *backends],
            indirect=True,
        )
    elif "s3_endpoint" in names and len(backends) > 1:
        metafunc.parametrize("s3_endpoint", backends, indirect=True)


@pytest.fixture
def s3_endpoint(request: pytest.FixtureRequest, moto_server: S3Endpoint) -> S3Endpoint:
    """The S3 server under test: moto, or Ceph RGW where the test is parametrized for it."""
    name = getattr(request, "param", "moto")
    if name == "moto":
        return moto_server
    servers: RgwServers = request.getfixturevalue("rgw_servers")
    return servers.endpoint(name)


@pytest.fixture
def moto_url(s3_endpoint: S3Endpoint) -> str:
    """The URL of the S3 server under test (moto unless the test runs on RGW too)."""
    return s3_endpoint.url


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, s3_endpoint: S3Endpoint) -> dict[str, str]:
    """Keys (and for HTTPS the CA, as AWS_CA_BUNDLE) of the server under test, in os.environ."""
    for name, value in s3_endpoint.env.items():
        monkeypatch.setenv(name, value)
    return s3_endpoint.env


@pytest.fixture
def boto3_client(s3_endpoint: S3Endpoint, aws_env: dict[str, str]) -> Any:
    return s3_endpoint.boto3_client()


@pytest.fixture
def bucket(boto3_client: Any) -> str:
    name = f"test-{uuid.uuid4().hex[:16]}"
    boto3_client.create_bucket(Bucket=name)
    return name


def s3_descriptor(moto_url: str, bucket: str, prefix: str = "space-data") -> dict[str, Any]:
    return {
        "type": "s3",
        "bucket": bucket,
        "prefix": prefix,
        "region": "us-east-1",
        "endpoint_url": moto_url,
        "addressing_style": "path",
    }


@pytest.fixture
async def storage(
    request: pytest.FixtureRequest, tmp_path: Path, moto_url: str, aws_env: dict[str, str]
) -> AsyncIterator[Storage]:
    backend: Storage
    if request.param == "local":
        root = tmp_path / "storage-root"
        root.mkdir()
        backend = LocalStorage(root)
    else:
        bucket_name = request.getfixturevalue("bucket")
        backend = S3Storage(
            bucket=bucket_name,
            prefix="space-data",
            region="us-east-1",
            endpoint_url=moto_url,
            addressing_style="path",
        )
    try:
        yield backend
    finally:
        await backend.aclose()


# -- end to end: the reference platform ------------------------------------------------------


class SpaceUnderTest:
    """A fresh space on the session's platform, and an independent reader of its storage."""

    def __init__(self, name: str, kind: str, info: dict[str, Any], s3: Any = None) -> None:
        self.name = name
        self.kind = kind
        self.storage = info["storage"]
        self.s3 = s3

    def read_object(self, object_key: str) -> bytes:
        if self.kind == "s3":
            key = (self.storage.get("prefix") or "") + object_key
            return bytes(self.s3.get_object(Bucket=self.storage["bucket"], Key=key)["Body"].read())
        return (Path(self.storage["root"]) / object_key).read_bytes()

    def write_object(self, object_key: str, data: bytes) -> None:
        """Replace an object's bytes behind the platform's back (to test integrity checks)."""
        if self.kind == "s3":
            key = (self.storage.get("prefix") or "") + object_key
            self.s3.put_object(Bucket=self.storage["bucket"], Key=key, Body=data)
        else:
            (Path(self.storage["root"]) / object_key).write_bytes(data)

    def open_multipart_uploads(self) -> list[Any]:
        if self.kind == "s3":
            answer = self.s3.list_multipart_uploads(Bucket=self.storage["bucket"])
            return list(answer.get("Uploads", []))
        staging = Path(self.storage["root"]) / ".jetraw-multipart"
        return sorted(staging.iterdir()) if staging.is_dir() else []


@pytest.fixture
def space(
    request: pytest.FixtureRequest, jetraw_platform: Any, moto_url: str, aws_env: dict[str, str]
) -> SpaceUnderTest:
    name = f"t-{uuid.uuid4().hex[:12]}"
    if request.param == "s3":
        s3 = request.getfixturevalue("boto3_client")
        bucket_name = request.getfixturevalue("bucket")
        info = jetraw_platform.create_space(name, storage=s3_descriptor(moto_url, bucket_name))
        return SpaceUnderTest(name, "s3", info, s3)
    info = jetraw_platform.create_space(name)
    return SpaceUnderTest(name, "local", info)


@pytest.fixture
async def client(jetraw_platform: Any) -> AsyncIterator[Any]:
    from jetraw.aio import AsyncClient

    async with AsyncClient(jetraw_platform.api_key, server=jetraw_platform.url) as c:
        yield c
