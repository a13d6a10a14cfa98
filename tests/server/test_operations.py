"""Operations: the readiness endpoint and the structured access log (no secrets in it)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest

from jetraw.server import ServerSettings, create_app
from jetraw.server.store import SCHEMA_VERSION
from jetraw.testing import LocalPlatform


def test_readyz_says_backend_schema_and_instance(
    platform: LocalPlatform, database_url: str | None
) -> None:
    r = httpx.get(platform.url + "/readyz", trust_env=False)
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    # the session platform has a schema of its own; the backend is what this variant runs on
    assert body["database"] == ("sqlite" if database_url is None else "postgresql")
    assert body["schema_version"] == body["expected_schema_version"] == SCHEMA_VERSION
    assert body["instance"]
    assert set(body) == {
        "status",
        "database",
        "schema_version",
        "expected_schema_version",
        "instance",
    }


@pytest.mark.anyio
async def test_readyz_is_503_when_the_database_is_gone(tmp_path: Path) -> None:
    settings = ServerSettings(data_dir=tmp_path, cleanup_interval_seconds=0)
    app = create_app(settings)
    state = app.state.jetraw
    conn = state.db.conn()
    conn.close()  # every later query on it fails
    state.db._local.conn = conn
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        # the handler runs in a worker thread with its own connection: break that one too
        state.db.conn = lambda: conn
        r = await client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["status"] == "unavailable"


@pytest.mark.anyio
async def test_access_log_is_one_json_line_per_request_without_secrets(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = ServerSettings(data_dir=tmp_path, cleanup_interval_seconds=0, instance_id="node-a-1")
    app = create_app(settings)
    secrets = ["Bearer-SECRET-1", "cookie-SECRET-2", "query-SECRET-3", "jrk_form-SECRET-4"]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        with caplog.at_level(logging.INFO, logger="jetraw.server.access"):
            await client.get("/healthz")
            await client.get(
                "/api/v1/me?access_token=query-SECRET-3",
                headers={
                    "Authorization": "Bearer Bearer-SECRET-1",
                    "Cookie": "jetraw_session=cookie-SECRET-2",
                },
            )
            await client.post(
                "/oauth/token",
                data={"grant_type": "refresh_token", "refresh_token": "jrk_form-SECRET-4"},
            )
    records = [r for r in caplog.records if r.name == "jetraw.server.access"]
    entries = [json.loads(r.getMessage()) for r in records]
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("GET", "/healthz", 200),
        ("GET", "/api/v1/me", 401),
        ("POST", "/oauth/token", 400),
    ]
    for entry in entries:
        assert entry["instance"] == "node-a-1"
        assert entry["duration_ms"] >= 0
        assert len(entry["request_id"]) == 32
        assert set(entry) == {
            "time",
            "instance",
            "request_id",
            "method",
            "path",
            "status",
            "duration_ms",
            "client",
        }
    text = "\n".join(r.getMessage() for r in records)
    for secret in secrets:
        assert secret not in text
