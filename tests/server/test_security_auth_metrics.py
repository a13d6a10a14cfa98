"""``/metrics`` is not public by default (issue 12, finding 4): it needs the admin token unless
``ServerSettings.metrics_public`` is set; ``LocalPlatform.metrics`` keeps working.
"""

from __future__ import annotations

from pathlib import Path

import httpx
from auth_support import running_server

from jetraw.server import ServerSettings
from jetraw.testing import LocalPlatform, parse_metrics

ADMIN = "metrics-admin-token-0123456789"


def test_metrics_need_the_admin_token_by_default(tmp_path: Path) -> None:
    assert ServerSettings(data_dir=tmp_path).metrics_public is False
    with running_server(tmp_path, admin_token=ADMIN, metrics_public=False) as server:
        url = f"{server.url}/metrics"
        for headers in (
            {},
            {"Authorization": "Bearer"},
            {"Authorization": "Bearer wrong"},
            {"Authorization": f"Basic {ADMIN}"},
            {"Authorization": f"Bearer {ADMIN}x"},
        ):
            refused = httpx.get(url, headers=headers)
            assert refused.status_code == 401, headers
            assert refused.json()["code"] == "unauthorized"
            assert "jetraw_" not in refused.text
            assert refused.headers["www-authenticate"].startswith("Bearer ")
        allowed = httpx.get(url, headers={"Authorization": f"Bearer {ADMIN}"})
        assert allowed.status_code == 200
        assert "# TYPE jetraw_http_responses_total counter" in allowed.text
        assert 'jetraw_http_responses_total{status="401"} 5' in allowed.text


def test_metrics_without_an_admin_token_are_closed(tmp_path: Path) -> None:
    with running_server(tmp_path, metrics_public=False) as server:
        assert httpx.get(f"{server.url}/metrics").status_code == 401
        no_admin = httpx.get(f"{server.url}/metrics", headers={"Authorization": "Bearer none"})
        assert no_admin.status_code == 401


def test_metrics_public_when_the_operator_says_so(tmp_path: Path) -> None:
    with running_server(tmp_path, metrics_public=True) as server:
        answer = httpx.get(f"{server.url}/metrics")
        assert answer.status_code == 200
        assert "jetraw_refresh_failures_total 0" in answer.text


def test_local_platform_metrics_helper_sends_the_admin_token() -> None:
    with LocalPlatform(mode="thread", cleanup_interval_seconds=0) as platform:
        assert httpx.get(platform.url + "/metrics", trust_env=False).status_code == 401
        samples = platform.metrics()
        assert samples['jetraw_http_responses_total{status="401"}'] == 1
        assert parse_metrics("a 1\n") == {"a": 1.0}
