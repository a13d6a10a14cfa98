"""The admin API: off without a token, constant Bearer check, every operation over HTTP."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from server_support import Api, assert_problem

from jetraw.server import ServerSettings, create_app
from jetraw.testing import LocalPlatform


@pytest.mark.anyio
async def test_admin_api_is_absent_without_a_token(tmp_path: Path) -> None:
    app = create_app(ServerSettings(data_dir=tmp_path, cleanup_interval_seconds=0))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for token in ("", "anything"):
            r = await client.post(
                "/admin/v1/organisations",
                json={"name": "x"},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert_problem(r, 404, "not_found")


def test_admin_token_is_checked(platform: LocalPlatform) -> None:
    url = platform.url + "/admin/v1/organisations"
    for header in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}):
        r = httpx.post(url, json={"name": "intruders"}, headers=header, trust_env=False)
        assert_problem(r, 401, "unauthorized")
    # An API key or access token is not the admin token.
    r = httpx.post(
        url,
        json={"name": "intruders"},
        headers={"Authorization": f"Bearer {platform.access_token()}"},
        trust_env=False,
    )
    assert_problem(r, 401, "unauthorized")


def test_admin_operations(platform: LocalPlatform) -> None:
    org = platform.create_organisation("admin-ops")
    assert org["name"] == "admin-ops"
    with pytest.raises(RuntimeError, match="organisation_exists"):
        platform.create_organisation("admin-ops")
    with pytest.raises(RuntimeError, match="invalid_name"):
        platform.create_organisation("Bad Name")
    user = platform.create_user("ops@example.com", password="pw-123456")
    assert user.password == "pw-123456"
    assert "pw-123456" not in repr(user)
    with pytest.raises(RuntimeError, match="user_exists"):
        platform.create_user("OPS@example.com")
    with pytest.raises(RuntimeError, match="not_a_member"):
        platform.create_api_key(user, "admin-ops")
    platform.add_member(user.email, "admin-ops", role="member")
    key = platform.create_api_key(user, "admin-ops")
    assert key.startswith("jrk_")
    space = platform.create_space("ops-space", organisation="admin-ops")
    assert space["organisation"]["name"] == "admin-ops"
    api = Api(platform, key)
    try:
        assert api.get("/me").json()["role"] == "member"
        assert [s["name"] for s in api.get("/spaces").json()["items"]] == ["ops-space"]
    finally:
        api.close()
    platform.revoke_api_key(key)
    r = httpx.post(
        platform.url + "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": key, "client_id": "jetraw"},
        trust_env=False,
    )
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_grant"
    with pytest.raises(RuntimeError, match="api_key_not_found"):
        platform.revoke_api_key("nonexistent")
    with pytest.raises(RuntimeError, match="user_not_found"):
        platform.add_member("nobody@example.com", "admin-ops")
    with pytest.raises(RuntimeError, match="organisation_not_found"):
        platform.add_member(user, "no-such-org")


def test_runtime_settings(jetraw_platform_factory: object) -> None:
    assert callable(jetraw_platform_factory)
    platform: LocalPlatform = jetraw_platform_factory(mode="thread")
    r = httpx.post(
        platform.url + "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": platform.api_key,
            "client_id": "jetraw",
        },
        trust_env=False,
    )
    assert r.json()["expires_in"] == 600
    platform.set_access_token_ttl(42)
    r = httpx.post(
        platform.url + "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": platform.api_key,
            "client_id": "jetraw",
        },
        trust_env=False,
    )
    assert r.json()["expires_in"] == 42
    r = httpx.patch(
        platform.url + "/admin/v1/settings",
        json={"access_token_ttl": 0},
        headers={"Authorization": f"Bearer {platform._admin_token}"},
        trust_env=False,
    )
    assert_problem(r, 400, "invalid_request")
