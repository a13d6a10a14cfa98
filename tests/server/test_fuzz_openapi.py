"""The state server under schemathesis: every operation of the committed OpenAPI document
(``docs/openapi.json``, which ``test_openapi.py`` keeps equal to the served one), fed generated
requests with an authenticated user (and the operator's admin token on ``/admin`` and
``/metrics``). No answer may be a 5xx, and every answer must match the document: a documented
status code, a documented content type, a body that conforms to the schema.

``JETRAW_FUZZ_EXAMPLES`` bounds the examples per operation (25 by default: CI runs the whole
document in about a minute); ``JETRAW_FUZZ_SEED`` picks another seed (default fixed, so a
failure in CI reproduces with the same command).
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from auth_support import AuthServer, running_server
from hypothesis import HealthCheck, seed, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = int(os.environ.get("JETRAW_FUZZ_EXAMPLES", "25"))
SEED = int(os.environ.get("JETRAW_FUZZ_SEED", "20261205"))
ADMIN_TOKEN = secrets.token_urlsafe(24)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
#: What a fuzzed ``PATCH /admin/v1/settings`` is undone to, so later operations keep a live
#: token and no rate limit.
SETTINGS = {
    "access_token_ttl": 3600,
    "rate_limit_per_minute": 0,
    "refresh_grace_seconds": 30.0,
    "device_poll_interval": 1,
}

schema = schemathesis.openapi.from_dict(json.loads((ROOT / "docs/openapi.json").read_bytes()))


class Target:
    """The running server, a user's access token, and real names to aim some cases at."""

    def __init__(self, server: AuthServer, sandbox: Path) -> None:
        self.server = server
        self.sandbox = sandbox
        user = server.user("fuzz@example.org", "acme")
        server.add_member(user, "acme", role="admin")
        _, key = server.api_key(user, "acme")
        token = httpx.post(
            server.token_url,
            data={"grant_type": "refresh_token", "refresh_token": key, "client_id": "jetraw"},
        )
        token.raise_for_status()
        self.user_headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        self.admin_headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        space = httpx.post(
            f"{server.url}/api/v1/spaces",
            json={"name": "fuzz"},
            headers=self.user_headers,
        )
        assert space.status_code == 201, space.text
        self.space = "fuzz"
        self._turn = itertools.count()

    def headers_for(self, path: str) -> dict[str, str]:
        admin = path.startswith("/admin/") or path == "/metrics"
        return self.admin_headers if admin else self.user_headers

    def aim(self, case: Any) -> None:
        """Every other case names the real space: past the 404, into the operation itself.

        The operator may root a local space anywhere the server can write (by design): its
        fuzzed roots are moved into the sandbox, so a generated ``/0`` is not created at ``/``.
        """
        parameters = case.path_parameters
        if parameters and "space" in parameters and next(self._turn) % 2:
            parameters["space"] = self.space
        storage = case.body.get("storage") if isinstance(case.body, dict) else None
        if case.path == "/admin/v1/spaces" and isinstance(storage, dict) and "root" in storage:
            storage["root"] = str(self.sandbox / secrets.token_hex(4))

    def reset_settings(self) -> None:
        answer = httpx.patch(
            f"{self.server.url}/admin/v1/settings", json=SETTINGS, headers=self.admin_headers
        )
        assert answer.status_code == 200, answer.text


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    data_dir = tmp_path_factory.mktemp("fuzz")
    with running_server(
        data_dir,
        admin_token=ADMIN_TOKEN,
        metrics_public=False,
        access_token_ttl=3600,
    ) as server:
        yield Target(server, data_dir / "operator-roots")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@seed(SEED)
def test_every_operation_answers_within_its_schema(case: Any, target: Target) -> None:
    target.aim(case)
    try:
        response = case.call(
            base_url=target.server.url, headers=target.headers_for(case.path), timeout=10
        )
        case.validate_response(response, checks=CHECKS)
    finally:
        if case.path == "/admin/v1/settings":
            target.reset_settings()
