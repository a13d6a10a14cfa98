"""Helpers of the server tests: an authenticated protocol client and problem assertions.

A module with its own name (not ``conftest``): several test directories have a conftest.py, and
``from conftest import ...`` would pick whichever was imported last.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import google_crc32c
import httpx

from jetraw.testing import LocalPlatform


def crc32c_hex(data: bytes) -> str:
    return f"{google_crc32c.value(data):08x}"


class Api:
    """An httpx client on ``/api/v1`` with a valid access token, plus protocol helpers."""

    def __init__(self, platform: LocalPlatform, api_key: str | None = None) -> None:
        self.platform = platform
        token = platform.access_token(api_key)
        self.http = httpx.Client(
            base_url=platform.url + "/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=60.0,
            trust_env=False,
        )

    def close(self) -> None:
        self.http.close()

    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self.http.get(url, **kw)

    def post(self, url: str, **kw: Any) -> httpx.Response:
        return self.http.post(url, **kw)

    def patch(self, url: str, **kw: Any) -> httpx.Response:
        return self.http.patch(url, **kw)

    def delete(self, url: str, **kw: Any) -> httpx.Response:
        return self.http.delete(url, **kw)

    def request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        return self.http.request(method, url, **kw)

    # -- protocol helpers -------------------------------------------------------------------

    def write_object(self, space: dict[str, Any], object_key: str, data: bytes) -> Path:
        """What a client does between create and complete, for local storage."""
        target = Path(space["storage"]["root"]) / object_key
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return target

    def create(self, space: dict[str, Any], path: str, size: int, **body: Any) -> dict[str, Any]:
        r = self.post(f"/spaces/{space['name']}/uploads", json={"path": path, "size": size, **body})
        assert r.status_code == 201, r.text
        upload: dict[str, Any] = r.json()
        return upload

    def complete(self, upload: dict[str, Any], data: bytes) -> httpx.Response:
        return self.post(
            f"/uploads/{upload['id']}/complete",
            json={"size": len(data), "checksum": {"crc32c": crc32c_hex(data)}},
        )

    def put(self, space: dict[str, Any], path: str, data: bytes, **body: Any) -> dict[str, Any]:
        """Create, write and complete: the whole life cycle of one upload."""
        upload = self.create(space, path, len(data), **body)
        self.write_object(space, upload["object_key"], data)
        r = self.complete(upload, data)
        assert r.status_code == 200, r.text
        file: dict[str, Any] = r.json()
        return file

    def put_many(self, space: dict[str, Any], paths: list[str], data: bytes = b"x") -> None:
        """Batch create + batch complete, 1,000 at a time."""
        for start in range(0, len(paths), 1000):
            chunk = paths[start : start + 1000]
            r = self.post(
                f"/spaces/{space['name']}/uploads/batch",
                json={"uploads": [{"path": p, "size": len(data)} for p in chunk]},
            )
            assert r.status_code == 200, r.text
            uploads = [item["upload"] for item in r.json()["results"]]
            assert all(u is not None for u in uploads), r.text
            for upload in uploads:
                self.write_object(space, upload["object_key"], data)
            r = self.post(
                "/uploads/batch-complete",
                json={
                    "uploads": [
                        {"id": u["id"], "size": len(data), "checksum": {"crc32c": crc32c_hex(data)}}
                        for u in uploads
                    ]
                },
            )
            assert r.status_code == 200, r.text
            assert all(item["error"] is None for item in r.json()["results"]), r.text

    def list_all(self, space: dict[str, Any], **params: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            query = {**params, **({"cursor": cursor} if cursor else {})}
            r = self.get(f"/spaces/{space['name']}/files", params=query)
            assert r.status_code == 200, r.text
            page = r.json()
            items += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return items


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status and code."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert body["status"] == status
    assert body["request_id"] == response.headers["x-request-id"]
    assert {"type", "title", "detail"} <= set(body)
    return body
