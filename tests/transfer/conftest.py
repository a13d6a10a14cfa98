"""Fixtures of the transfer tests: a moto S3 server on 127.0.0.1 and storage backends."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from jetraw._storage import LocalStorage, S3Storage, Storage

AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing-key-id",
    "AWS_SECRET_ACCESS_KEY": "testing-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    return AWS_ENV


@pytest.fixture
def boto3_client(moto_url: str, aws_env: dict[str, str]) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id=aws_env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=aws_env["AWS_SECRET_ACCESS_KEY"],
    )


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


@pytest.fixture(params=["local", "s3"])
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


@pytest.fixture(params=["local", "s3"])
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
