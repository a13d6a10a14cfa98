"""The S3 backend honours the AWS way of naming a CA bundle (AWS_CA_BUNDLE), like boto3 does."""

from __future__ import annotations

import pytest

from jetraw._exceptions import StorageConnectionError
from jetraw._storage._s3 import S3Storage


async def _head_error(monkeypatch: pytest.MonkeyPatch, bundle: str | None) -> str:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    if bundle is not None:
        monkeypatch.setenv("AWS_CA_BUNDLE", bundle)
    # Port 9 (discard) on loopback: nothing listens, so only the TLS set-up can differ.
    storage = S3Storage(bucket="b", endpoint_url="https://127.0.0.1:9", region="us-east-1")
    try:
        with pytest.raises(StorageConnectionError) as caught:
            await storage.head("objects/x")
    finally:
        await storage.aclose()
    return str(caught.value)


@pytest.mark.anyio
async def test_aws_ca_bundle_is_used_for_storage(monkeypatch: pytest.MonkeyPatch) -> None:
    message = await _head_error(monkeypatch, "/nonexistent/jetraw-test-ca.pem")
    # botocore loads the named bundle before connecting: a missing file is what fails.
    assert "No such file" in message


@pytest.mark.anyio
async def test_without_aws_ca_bundle_the_default_store_is_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    message = await _head_error(monkeypatch, None)
    assert "No such file" not in message
