"""Refresh grants: rotation with a grace period and reuse detection, API keys, organisations,
revocation (RFC 7009), and concurrent use of one refresh token by several processes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from auth_support import AuthServer, OAuth2Client, User, pkce_pair, running_server, submit
from authlib.integrations.base_client.errors import OAuthError

from jetraw.testing import LocalPlatform

REDIRECT = "http://127.0.0.1:8912/cb"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[AuthServer]:
    with running_server(tmp_path) as srv:
        yield srv


def interactive_login(
    url: str, email: str, password: str, client: OAuth2Client, **extra: str
) -> dict[str, object]:
    verifier, _ = pkce_pair()
    authorize, _ = client.create_authorization_url(
        f"{url}/oauth/authorize", code_verifier=verifier, **extra
    )
    with httpx.Client() as browser:
        answer = submit(browser, browser.get(authorize), {"email": email, "password": password})
    assert answer.status_code == 302, answer.text
    return dict(
        client.fetch_token(
            f"{url}/oauth/token",
            authorization_response=answer.headers["location"],
            code_verifier=verifier,
        )
    )


def _login(server: AuthServer, user: User, **extra: str) -> tuple[OAuth2Client, dict[str, object]]:
    client = server.oauth_client(REDIRECT)
    return client, interactive_login(server.url, user.email, user.password, client, **extra)


def _refresh(server: AuthServer, token: str, **extra: str) -> httpx.Response:
    return httpx.post(
        server.token_url,
        data={
            "grant_type": "refresh_token",
            "refresh_token": token,
            "client_id": "jetraw",
            **extra,
        },
    )


def _api(server: AuthServer, access_token: object) -> int:
    answer = httpx.get(
        f"{server.url}/api/v1/api-keys", headers={"Authorization": f"Bearer {access_token}"}
    )
    return answer.status_code


def test_rotation_with_authlib(server: AuthServer) -> None:
    user = server.user("ann@example.org", "acme")
    client, first = _login(server, user)
    second = client.refresh_token(server.token_url, refresh_token=first["refresh_token"])
    assert second["refresh_token"] != first["refresh_token"]
    assert str(second["refresh_token"]).startswith("jrt_")
    assert second["access_token"] != first["access_token"]
    assert second["organisation"]["name"] == "acme"
    assert _api(server, second["access_token"]) == 200
    third = client.refresh_token(server.token_url, refresh_token=second["refresh_token"])
    assert third["refresh_token"] not in (first["refresh_token"], second["refresh_token"])
    metrics = httpx.get(f"{server.url}/metrics").text
    assert 'jetraw_token_grants_total{grant_type="refresh_token"} 2' in metrics


def test_grace_period_returns_the_same_successor(server: AuthServer) -> None:
    user = server.user("ben@example.org", "acme")
    _, first = _login(server, user)
    old = str(first["refresh_token"])
    a = _refresh(server, old).json()
    server.clock.advance(29)
    b = _refresh(server, old).json()  # the response to the first refresh was "lost"
    assert a["refresh_token"] == b["refresh_token"]
    assert a["access_token"] != b["access_token"]
    assert _api(server, b["access_token"]) == 200
    # The successor is a normal token: it rotates in turn.
    c = _refresh(server, a["refresh_token"]).json()
    assert c["refresh_token"] != a["refresh_token"]


def test_reuse_after_grace_revokes_the_whole_family(server: AuthServer) -> None:
    server.set("refresh_grace_seconds", 5.0)
    user = server.user("cat@example.org", "acme")
    _, first = _login(server, user)
    _, other_login = _login(server, user)  # another login of the same user: unaffected
    old = str(first["refresh_token"])
    successor = _refresh(server, old).json()
    assert _api(server, successor["access_token"]) == 200
    server.clock.advance(6)
    replay = _refresh(server, old)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert "revoked" in replay.json()["error_description"]
    # Everything descended from that login is dead at once ...
    assert _api(server, successor["access_token"]) == 401
    assert _api(server, first["access_token"]) == 401
    assert _refresh(server, successor["refresh_token"]).json()["error"] == "invalid_grant"
    # ... and nothing else is.
    assert _api(server, other_login["access_token"]) == 200
    assert _refresh(server, str(other_login["refresh_token"])).status_code == 200
    metrics = httpx.get(f"{server.url}/metrics").text
    assert "jetraw_refresh_failures_total 2" in metrics


def test_api_key_refresh_does_not_rotate(server: AuthServer) -> None:
    user = server.user("dan@example.org", "acme")
    key_json, key = server.api_key(user, "acme")
    assert key.startswith(f"jrk_{key_json['id']}_")
    raw = _refresh(server, key)
    assert raw.status_code == 200
    body = raw.json()
    assert "refresh_token" not in body
    assert body["token_type"] == "Bearer"
    assert body["organisation"]["name"] == "acme"
    assert body["user"]["email"] == user.email
    again = _refresh(server, key)  # non-rotating: the same key works again and again
    assert again.status_code == 200
    client = server.oauth_client()
    token = client.refresh_token(server.token_url, refresh_token=key)
    assert _api(server, token["access_token"]) == 200
    listed = httpx.get(
        f"{server.url}/api/v1/api-keys",
        headers={"Authorization": f"Bearer {body['access_token']}"},
    ).json()["items"]
    assert listed[0]["last_used_at"] is not None


def test_organisation_parameter(server: AuthServer) -> None:
    user = server.user("eve@example.org", "acme", "beta")
    server.organisation("gamma")
    _, key = server.api_key(user, "acme")
    beta = _refresh(server, key, organisation="beta").json()
    assert beta["organisation"]["name"] == "beta"
    me = httpx.get(
        f"{server.url}/api/v1/me", headers={"Authorization": f"Bearer {beta['access_token']}"}
    )
    assert me.json()["organisation"]["name"] == "beta"
    for other in ("gamma", "no-such-org"):
        refused = _refresh(server, key, organisation=other)
        assert refused.status_code == 400
        assert refused.json()["error"] == "invalid_grant"
        assert refused.json()["code"] == "not_a_member"
    # An interactive token is not consumed by a refused organisation.
    _, login = _login(server, user, organisation="acme")
    refused = _refresh(server, str(login["refresh_token"]), organisation="gamma")
    assert refused.json()["code"] == "not_a_member"
    moved = _refresh(server, str(login["refresh_token"]), organisation="beta").json()
    assert moved["organisation"]["name"] == "beta"


def test_removed_membership_ends_access_at_once(server: AuthServer) -> None:
    user = server.user("fox@example.org", "acme", "beta")
    _, key = server.api_key(user, "acme")
    token = _refresh(server, key, organisation="beta").json()["access_token"]
    assert _api(server, token) == 200
    server.remove_member(user, "beta")
    assert _api(server, token) == 401
    assert _refresh(server, key, organisation="beta").json()["code"] == "not_a_member"


def test_revocation_rfc7009(server: AuthServer) -> None:
    user = server.user("gil@example.org", "acme")
    client, login = _login(server, user)
    rotated = client.refresh_token(server.token_url, refresh_token=login["refresh_token"])
    answer = client.revoke_token(
        f"{server.url}/oauth/revoke",
        token=rotated["refresh_token"],
        token_type_hint="refresh_token",
    )
    assert answer.status_code == 200
    assert _api(server, rotated["access_token"]) == 401
    with pytest.raises(OAuthError) as info:
        client.refresh_token(server.token_url, refresh_token=rotated["refresh_token"])
    assert info.value.error == "invalid_grant"
    # Revoking again, or revoking nonsense, is still 200 (RFC 7009 §2.2).
    for junk in (rotated["refresh_token"], "jrt_nope_nope", "whatever", "jrk_\u00e9_x"):
        again = httpx.post(
            f"{server.url}/oauth/revoke", data={"token": junk, "client_id": "jetraw"}
        )
        assert again.status_code == 200
    missing = httpx.post(f"{server.url}/oauth/revoke", data={"client_id": "jetraw"})
    assert missing.status_code == 400
    assert missing.json()["error"] == "invalid_request"


def test_revoking_an_api_key(server: AuthServer) -> None:
    user = server.user("han@example.org", "acme")
    _, key = server.api_key(user, "acme")
    access = _refresh(server, key).json()["access_token"]
    assert _api(server, access) == 200
    # A wrong secret for a real key id revokes nothing.
    forged = key[: key.rindex("_") + 1] + "A" * 43
    assert httpx.post(f"{server.url}/oauth/revoke", data={"token": forged}).status_code == 200
    assert _api(server, access) == 200
    answer = httpx.post(
        f"{server.url}/oauth/revoke", data={"token": key, "token_type_hint": "refresh_token"}
    )
    assert answer.status_code == 200
    assert _api(server, access) == 401
    assert _refresh(server, key).json()["error"] == "invalid_grant"


_CLIENT_SCRIPT = """
import json, sys, time, urllib.request, urllib.parse, urllib.error
url, token, start = sys.argv[1], sys.argv[2], float(sys.argv[3])
body = urllib.parse.urlencode({"grant_type": "refresh_token", "refresh_token": token,
                               "client_id": "jetraw"}).encode()
time.sleep(max(0.0, start - time.time()))
try:
    with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=60) as r:
        print(json.dumps({"status": r.status, "body": json.load(r)}))
except urllib.error.HTTPError as e:
    print(json.dumps({"status": e.code, "body": json.load(e)}))
"""


@pytest.mark.slow
def test_eight_processes_refresh_the_same_token_at_once(tmp_path: Path) -> None:
    """Two server processes on one data dir; eight client processes present one token at once."""
    data_dir = tmp_path / "data"
    with LocalPlatform(data_dir=data_dir) as first, LocalPlatform(data_dir=data_dir) as second:
        with OAuth2Client(
            client_id="jetraw",
            token_endpoint_auth_method="none",
            code_challenge_method="S256",
            redirect_uri=REDIRECT,
        ) as client:
            login = interactive_login(first.url, first.admin_email, first.admin_password, client)
        token = str(login["refresh_token"])
        start = time.time() + 1.5
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    _CLIENT_SCRIPT,
                    f"{(first, second)[i % 2].url}/oauth/token",
                    token,
                    str(start),
                ],
                stdout=subprocess.PIPE,
            )
            for i in range(8)
        ]
        results = [json.loads(p.communicate(timeout=60)[0]) for p in procs]
        assert [r["status"] for r in results] == [200] * 8, results
        successors = {r["body"]["refresh_token"] for r in results}
        assert len(successors) == 1
        assert successors != {token}
        for r in results:
            assert _status(first.url, r["body"]["access_token"]) == 200
            assert _status(second.url, r["body"]["access_token"]) == 200


def _status(url: str, access_token: str) -> int:
    return httpx.get(
        f"{url}/api/v1/me", headers={"Authorization": f"Bearer {access_token}"}
    ).status_code
