"""The OpenAPI document: served at /openapi.json, equal to the committed docs/openapi.json."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx

from jetraw.testing import LocalPlatform

ROOT = Path(__file__).resolve().parents[2]


def test_served_document_equals_the_committed_one(platform: LocalPlatform) -> None:
    served = httpx.get(platform.url + "/openapi.json", trust_env=False).json()
    committed = json.loads((ROOT / "docs" / "openapi.json").read_text("utf-8"))
    assert served == committed, "docs/openapi.json is stale: run python scripts/export_openapi.py"


def test_export_script_check_mode() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "export_openapi.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_document_describes_what_the_server_answers() -> None:
    doc = json.loads((ROOT / "docs" / "openapi.json").read_text("utf-8"))
    assert doc["openapi"].startswith("3.1")
    schemas = doc["components"]["schemas"]
    for name in ("FileOut", "DirectoryOut", "UploadOut", "SpaceOut", "ProblemOut", "MeOut"):
        assert name in schemas
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            # Validation errors are 400 problems; 422 only ever means a control character.
            if "422" in responses:
                assert "control_character" in responses["422"]["description"], (method, path)
                assert "400" in responses, (method, path)
            for status, response in responses.items():
                if status.startswith(("4", "5")) and "content" in response:
                    # OAuth errors are application/json (RFC 6749 §5.2), with the problem fields.
                    media = "application/json" if path.startswith("/oauth/") else None
                    expected_media = media or "application/problem+json"
                    assert expected_media in response["content"], (method, path)
                    if media:
                        ref = response["content"][media]["schema"]["$ref"]
                        assert ref.endswith("/OAuthErrorOut"), (method, path)
            if path.startswith("/api/v1/"):
                assert operation["security"] == [{"accessToken": []}]
                assert "401" in responses
    expected = {
        ("get", "/api/v1/spaces/{space}/files"),
        ("get", "/api/v1/spaces/{space}/files/{path}"),
        ("post", "/api/v1/spaces/{space}/uploads/batch"),
        ("post", "/api/v1/uploads/batch-complete"),
        ("post", "/api/v1/uploads/{upload_id}/complete"),
        ("post", "/api/v1/spaces/{space}/move"),
    }
    present = {(m, p) for p, item in doc["paths"].items() for m in item}
    assert expected <= present
