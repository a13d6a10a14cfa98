"""Claims of issue 12 that were refuted, kept refuted: every API route needs credentials, and
PKCE ``plain`` is refused at both ends of the code flow.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from auth_support import AuthServer, pkce_pair, running_server, submit

REDIRECT = "http://127.0.0.1:7777/cb"
#: Routes that are public by design: discovery, liveness and readiness, the OAuth token
#: endpoints (they authenticate by what is in the form) and the OpenAPI document itself.
_PUBLIC = {
    "/healthz",
    "/readyz",
    "/.well-known/oauth-authorization-server",
    "/oauth/token",
    "/oauth/device_authorization",
    "/oauth/revoke",
}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[AuthServer]:
    with running_server(tmp_path, admin_token="admin-secret-token", metrics_public=False) as srv:
        yield srv


def _operations(doc: dict[str, Any]) -> list[tuple[str, str]]:
    found = []
    for path, item in doc["paths"].items():
        for method in item:
            if method in ("get", "post", "put", "patch", "delete"):
                found.append((method.upper(), path))
    return found


def test_every_api_route_answers_401_without_credentials(server: AuthServer) -> None:
    doc = httpx.get(f"{server.url}/openapi.json").json()
    operations = _operations(doc)
    protected = [(m, p) for m, p in operations if p not in _PUBLIC]
    # The document really lists the API (a regression that empties it must not pass this test).
    assert sum(p.startswith("/api/v1/") for _, p in protected) >= 15
    assert sum(p.startswith("/admin/v1/") for _, p in protected) >= 5
    assert ("GET", "/metrics") in protected  # not public unless the operator says so
    assert {p for _, p in operations} - {p for _, p in protected} <= _PUBLIC
    headers_cases: list[dict[str, str]] = [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic YWRtaW46YWRtaW4="},
        {"Authorization": "Bearer not-a-token"},
    ]
    with httpx.Client(base_url=server.url) as http:
        for method, path in protected:
            url = re.sub(r"\{[^}]+\}", "x", path)
            for headers in headers_cases:
                answer = http.request(method, url, json={}, headers=headers)
                assert answer.status_code == 401, (method, path, headers, answer.text)
                assert answer.headers["content-type"] == "application/problem+json"
                assert answer.json()["code"] == "unauthorized"
                assert answer.headers["www-authenticate"].startswith("Bearer ")


def test_pkce_plain_is_refused_at_authorize_and_token(server: AuthServer) -> None:
    user = server.user("pkce@example.org", "acme")
    verifier, challenge = pkce_pair()
    query = {
        "response_type": "code",
        "client_id": "jetraw",
        "redirect_uri": REDIRECT,
        "state": "st",
    }
    # plain: the challenge is the verifier itself. Refused with a redirect, before any login.
    plain = httpx.get(
        f"{server.url}/oauth/authorize",
        params={**query, "code_challenge": verifier[:43], "code_challenge_method": "plain"},
    )
    assert plain.status_code == 302
    refused = parse_qs(urlsplit(plain.headers["location"]).query)
    assert refused["error"] == ["invalid_request"]
    assert refused["state"] == ["st"]
    assert "code" not in refused
    meta = httpx.get(f"{server.url}/.well-known/oauth-authorization-server").json()
    assert meta["code_challenge_methods_supported"] == ["S256"]
    # An S256 code redeemed with the challenge as a plain verifier (what someone who saw the
    # authorization request knows) is refused, and the code is consumed.
    with httpx.Client() as browser:
        page = browser.get(
            f"{server.url}/oauth/authorize",
            params={**query, "code_challenge": challenge, "code_challenge_method": "S256"},
        )
        answer = submit(browser, page, {"email": user.email, "password": user.password})
    assert answer.status_code == 302
    code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
    form = {
        "grant_type": "authorization_code",
        "client_id": "jetraw",
        "code": code,
        "redirect_uri": REDIRECT,
    }
    as_plain = httpx.post(server.token_url, data={**form, "code_verifier": challenge})
    assert (as_plain.status_code, as_plain.json()["error"]) == (400, "invalid_grant")
    extra = httpx.post(
        server.token_url,
        data={**form, "code_verifier": verifier, "code_challenge_method": "plain"},
    )
    assert (extra.status_code, extra.json()["error"]) == (400, "invalid_grant")  # single use
