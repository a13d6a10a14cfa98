"""Findings that cut across the matrix's rows, each shown once on its smallest reproduction."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from jetraw import StorageConnectionError, UploadError
from jetraw.aio import AsyncClient, TransferConfig
from jetraw.testing import LocalPlatform

from ._proxy import FaultProxy, Rule
from .conftest import S3Space

pytestmark = pytest.mark.anyio


async def _faulty_put(
    platform: LocalPlatform,
    make_space: Callable[..., S3Space],
    tmp_path: Path,
    fault: str,
    times: int | None,
) -> tuple[S3Space, Rule, BaseException | None]:
    space = make_space(platform)
    src = tmp_path / "f.bin"
    src.write_bytes(os.urandom(1000))
    config = TransferConfig(attempts=3)
    async with AsyncClient(platform.api_key, server=platform.url, timeout=1.0) as client:
        await client.upload(src, f"/{space.name}/warm.bin", config=config)  # a kept-alive pool
        rule = Rule(fault, "PUT", r"/objects/[0-9a-f]+$", times=times)
        space.proxy.add(rule)
        error: BaseException | None = None
        try:
            with anyio.fail_after(20):
                await client.upload(src, f"/{space.name}/f.bin", config=config)
        except UploadError as exc:
            error = exc
    return space, rule, error


async def test_storage_retries_are_logged(
    jetraw_platform: LocalPlatform,
    make_space: Callable[..., S3Space],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="jetraw")
    # S3's 503 SlowDown: aiohttp does not re-send it, our with_retries does.
    _, rule, error = await _faulty_put(jetraw_platform, make_space, tmp_path, "status_503", 1)
    assert error is None
    assert rule.fired == 1
    retries = [
        r
        for r in caplog.records
        if r.name.startswith("jetraw") and "retr" in r.getMessage().lower()
    ]
    assert retries, "... that left no log record"
    record = retries[0]
    assert record.name == "jetraw.transfer"
    assert record.levelno == logging.INFO
    message = record.getMessage()
    assert "attempt 1/3" in message
    assert "StorageError" in message
    assert "retry in" in message
    assert "http" not in message.lower()  # no URL (a presigned one is a credential)


async def test_storage_requests_per_request_are_at_most_the_documented_bound(
    jetraw_platform: LocalPlatform, make_space: Callable[..., S3Space], tmp_path: Path
) -> None:
    _, rule, error = await _faulty_put(
        jetraw_platform, make_space, tmp_path, "reset_before_body", None
    )
    assert isinstance(error, UploadError)
    assert isinstance(error.result.failed[0].error, StorageConnectionError)
    # The documented bound (TransferConfig.attempts, docs/transfers.md): a PUT goes at most
    # 2 x attempts times (aiohttp re-sends it once per attempt on a dropped kept-alive
    # connection); and every one of our attempts went out.
    assert 3 <= rule.fired <= 2 * 3, f"{rule.fired} PUTs for TransferConfig(attempts=3)"


async def test_proxy_is_transparent(
    jetraw_platform: LocalPlatform,
    make_proxy: Callable[..., FaultProxy],
    make_space: Callable[..., S3Space],
    tmp_path: Path,
) -> None:
    """Without rules the proxies change nothing: upload (small and multipart) and download."""
    mib = 1 << 20
    state = make_proxy(jetraw_platform.url)
    space = make_space(jetraw_platform)
    small, big = os.urandom(1000), os.urandom(6 * mib)
    (tmp_path / "small").write_bytes(small)
    (tmp_path / "big").write_bytes(big)
    cfg = TransferConfig(multipart_threshold=5 * mib, part_size=5 * mib)
    async with AsyncClient(jetraw_platform.api_key, server=state.url, timeout=2) as c:
        await c.upload(tmp_path / "small", f"/{space.name}/small")
        await c.upload(tmp_path / "big", f"/{space.name}/big", config=cfg)
        await c.download(f"/{space.name}/big", tmp_path / "back", config=cfg)
    assert (tmp_path / "back").read_bytes() == big
    assert space.read_object((await _stat(jetraw_platform, space, "small")).object_key) == small
    assert {s.fault for s in state.seen + space.proxy.seen} == {None}
    assert any("partNumber=" in s.target for s in space.proxy.seen)


async def _stat(platform: LocalPlatform, space: S3Space, name: str) -> object:
    async with AsyncClient(platform.api_key, server=platform.url) as c:
        return await c.stat(f"/{space.name}/{name}")


def test_tls_errors_are_connection_errors_and_cert_failures_are_not_retried() -> None:
    """Finding 2: a refused handshake is a retryable StorageConnectionError naming TLS; a
    certificate that does not verify (wrong CA) is not retried and says so."""
    import ssl

    import botocore.exceptions

    from jetraw._storage._s3 import translate_error

    refused = botocore.exceptions.SSLError(
        endpoint_url="https://s3.example", error=ssl.SSLError(1, "[SSL] record layer failure")
    )
    error = translate_error(refused, "writing 'k'")
    assert isinstance(error, StorageConnectionError)
    assert error.retryable
    assert "TLS" in str(error)
    wrong_ca = botocore.exceptions.SSLError(
        endpoint_url="https://s3.example",
        error=ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] unable to get"),
    )
    error = translate_error(wrong_ca, "writing 'k'")
    assert isinstance(error, StorageConnectionError)
    assert not error.retryable
    assert "certificate" in str(error)
    assert "Not retried" in str(error)
    for exc in (
        botocore.exceptions.EndpointConnectionError(endpoint_url="https://s3.example"),
        botocore.exceptions.ConnectionClosedError(endpoint_url="https://s3.example"),
        botocore.exceptions.ReadTimeoutError(endpoint_url="https://s3.example"),
        botocore.exceptions.ConnectTimeoutError(endpoint_url="https://s3.example"),
    ):
        error = translate_error(exc, "reading 'k'")
        assert isinstance(error, StorageConnectionError), exc
        assert error.retryable, exc
