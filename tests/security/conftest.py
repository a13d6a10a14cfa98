"""Fixtures of the security tests: a moto S3 space whose AWS credentials are known secrets."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

#: Known secrets: none of them may show up anywhere but the secret store.
AWS_KEY_ID = "AKIAJETRAWSECSCAN01"
AWS_SECRET = "wJalrXUtnFEMIsecretScanK7MDENGbPxRfiCYzz"
AWS_SESSION_TOKEN = "FwoGZXIvYXdzSessionTokenSecretScan0123456789abcdefXYZ"


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def aws_secrets(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = {
        "AWS_ACCESS_KEY_ID": AWS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
        "AWS_SESSION_TOKEN": AWS_SESSION_TOKEN,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def s3_space(jetraw_platform: Any, moto_url: str, aws_secrets: dict[str, str]) -> str:
    import boto3

    bucket = f"sec-{uuid.uuid4().hex[:12]}"
    boto3.client(
        "s3",
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id=AWS_KEY_ID,
        aws_secret_access_key=AWS_SECRET,
        aws_session_token=AWS_SESSION_TOKEN,
    ).create_bucket(Bucket=bucket)
    name = f"sec-{uuid.uuid4().hex[:10]}"
    jetraw_platform.create_space(
        name,
        storage={
            "type": "s3",
            "bucket": bucket,
            "prefix": "data",
            "region": "us-east-1",
            "endpoint_url": moto_url,
            "addressing_style": "path",
        },
    )
    return name
