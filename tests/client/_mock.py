"""A small in-memory stand-in for the state server's token and account endpoints (unit tests)."""

from __future__ import annotations

import itertools
import json
import threading
from typing import Any
from urllib.parse import parse_qs

import httpx

ORG = {"id": "o1", "name": "acme"}
USER = {"id": "u1", "email": "ada@example.org", "name": "Ada"}


class MockServer:
    """Issues access tokens for one API key (``jrk_good``) and rotating ``jrt_*`` tokens."""

    def __init__(self, ttl: float = 600) -> None:
        self.ttl = ttl
        self.grants: list[dict[str, str]] = []
        self.requests: list[httpx.Request] = []
        self.valid_access: set[str] = set()
        self.refresh_tokens = {"jrt_1"}
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self.fail_next: list[httpx.Response] = []

    def token(self, form: dict[str, str]) -> httpx.Response:
        self.grants.append(form)
        if form.get("organisation") == "other":
            return httpx.Response(
                400, json={"error": "invalid_grant", "code": "not_a_member", "status": 400}
            )
        refresh = form.get("refresh_token", "")
        n = next(self._counter)
        body: dict[str, Any] = {
            "access_token": f"at_{n}",
            "token_type": "Bearer",
            "expires_in": self.ttl,
            "organisation": ORG,
            "user": USER,
        }
        if refresh == "jrk_good":
            pass
        elif refresh in self.refresh_tokens:
            self.refresh_tokens.discard(refresh)
            body["refresh_token"] = f"jrt_{n + 100}"
            self.refresh_tokens.add(body["refresh_token"])
        else:
            return httpx.Response(
                400,
                json={"error": "invalid_grant", "code": "invalid_grant", "status": 400},
                headers={"x-request-id": "req-grant"},
            )
        self.valid_access.add(body["access_token"])
        return httpx.Response(200, json=body)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append(request)
            if self.fail_next:
                return self.fail_next.pop(0)
            if request.url.path == "/oauth/token":
                form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
                return self.token(form)
            if request.url.path == "/oauth/revoke":
                return httpx.Response(200, json={})
            auth = request.headers.get("authorization", "")
            if auth.removeprefix("Bearer ") not in self.valid_access:
                return httpx.Response(
                    401, json={"code": "unauthorized", "status": 401, "detail": "bad token"}
                )
            if request.url.path == "/api/v1/me":
                return httpx.Response(
                    200,
                    json={"user": USER, "organisation": ORG, "role": "admin", "memberships": []},
                )
            if request.url.path == "/api/v1/spaces" and request.method == "POST":
                body = json.loads(request.content)
                return httpx.Response(
                    201,
                    json={
                        "id": "s1",
                        "name": body["name"],
                        "organisation": ORG,
                        "storage": {"type": "local", "root": "/r"},
                        "created_at": "x",
                    },
                )
            return httpx.Response(
                404,
                json={"code": "space_not_found", "status": 404, "detail": "No space."},
                headers={"x-request-id": "req-404"},
            )

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def token_grants(self) -> int:
        return sum(1 for r in self.requests if r.url.path == "/oauth/token")
