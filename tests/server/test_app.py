"""The envelope every answer goes through: request ids, problems, metrics, health, limits."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
from server_support import assert_problem

from jetraw.server import ServerSettings, create_app
from jetraw.server._problems import Problem
from jetraw.testing import LocalPlatform


def test_request_id_is_echoed_or_made(platform: LocalPlatform) -> None:
    r = httpx.get(platform.url + "/healthz", headers={"X-Request-ID": "abc-123"}, trust_env=False)
    assert r.json() == {"status": "ok"}
    assert r.headers["x-request-id"] == "abc-123"
    for insane in ("a b", "x" * 200, "<script>", ""):
        r = httpx.get(platform.url + "/healthz", headers={"X-Request-ID": insane}, trust_env=False)
        assert r.headers["x-request-id"] != insane
        assert len(r.headers["x-request-id"]) == 32
    r = httpx.get(platform.url + "/nowhere", headers={"X-Request-ID": "rid-1"}, trust_env=False)
    assert assert_problem(r, 404, "not_found")["request_id"] == "rid-1"


def test_unknown_routes_and_methods(platform: LocalPlatform) -> None:
    assert_problem(httpx.get(platform.url + "/api/v1/nothing", trust_env=False), 404, "not_found")
    r = httpx.put(platform.url + "/healthz", trust_env=False)
    assert_problem(r, 405, "method_not_allowed")
    assert "GET" in r.headers["allow"]
    # The Allow header names every method of the path, though each is its own route.
    r = httpx.request("OPTIONS", platform.url + "/api/v1/uploads/some-id", trust_env=False)
    assert_problem(r, 405, "method_not_allowed")
    assert r.headers["allow"] == "DELETE, GET, PATCH"


def test_authentication_is_required(platform: LocalPlatform) -> None:
    for method, path in (
        ("GET", "/api/v1/me"),
        ("GET", "/api/v1/spaces"),
        ("GET", "/api/v1/spaces/data/files"),
        ("POST", "/api/v1/spaces/data/uploads"),
        ("GET", "/api/v1/uploads"),
    ):
        r = httpx.request(method, platform.url + path, json={}, trust_env=False)
        assert_problem(r, 401, "unauthorized")


def test_metrics_count_responses_by_status(platform: LocalPlatform) -> None:
    before = platform.metrics()
    httpx.get(platform.url + "/nowhere", trust_env=False)
    httpx.get(platform.url + "/healthz", trust_env=False)
    after = platform.metrics()
    key404 = 'jetraw_http_responses_total{status="404"}'
    key200 = 'jetraw_http_responses_total{status="200"}'
    assert after[key404] == before.get(key404, 0) + 1
    # +1 for /healthz and +1 for the first /metrics call, counted once it was answered.
    assert after[key200] == before.get(key200, 0) + 2
    for name in (
        "jetraw_uploads_created_total",
        "jetraw_uploads_completed_total",
        "jetraw_uploads_aborted_total",
        "jetraw_refresh_failures_total",
    ):
        assert name in after
    admin = {"Authorization": f"Bearer {platform._admin_token}"}
    text = httpx.get(platform.url + "/metrics", headers=admin, trust_env=False)
    assert text.headers["content-type"].startswith("text/plain")
    assert "# TYPE jetraw_http_responses_total counter" in text.text


@pytest.mark.anyio
async def test_unexpected_errors_are_a_counted_500_problem(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(
        ServerSettings(data_dir=tmp_path, cleanup_interval_seconds=0, metrics_public=True)
    )

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret detail that must not leak")

    @app.get("/teapot")
    def teapot() -> None:
        raise Problem(418, "teapot", "short and stout", extra_field=1)

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        with caplog.at_level(logging.ERROR, logger="jetraw.server"):
            r = await client.get("/boom")
        body = assert_problem(r, 500, "internal_error")
        assert "secret" not in r.text
        assert any(body["request_id"] in rec.getMessage() for rec in caplog.records)
        r = await client.get("/teapot")
        assert assert_problem(r, 418, "teapot")["extra_field"] == 1
        metrics = (await client.get("/metrics")).text
    assert 'jetraw_http_responses_total{status="500"} 1' in metrics
    assert "jetraw_internal_errors_total 1" in metrics
