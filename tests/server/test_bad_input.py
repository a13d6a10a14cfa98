"""Bad input of every kind: each a 4xx problem+json with a specific code, never a 500, nothing
changed."""

from __future__ import annotations

import http.client
import json
import random
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from server_support import Api, assert_problem

from jetraw.testing import LocalPlatform


def _raw(
    platform: LocalPlatform, api: Api, method: str, path: str, body: bytes = b""
) -> httpx.Response:
    """Send a request line exactly as written (no client-side dot-segment normalisation)."""
    parts = urlsplit(platform.url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        headers = {"Authorization": api.http.headers["Authorization"]}
        if body:
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=body or None, headers=headers)
        raw = conn.getresponse()
        return httpx.Response(raw.status, headers=raw.getheaders(), content=raw.read())
    finally:
        conn.close()


@pytest.fixture
def unchanged(api: Api, space: dict[str, Any], platform: LocalPlatform) -> Iterator[None]:
    """After the test: nothing was written to the space and nothing errored internally."""
    before = platform.metrics().get('jetraw_http_responses_total{status="500"}', 0)
    yield
    assert api.list_all(space) == []
    pending = api.get("/uploads", params={"space": space["name"], "status": "pending"}).json()
    assert pending["items"] == []
    assert platform.metrics().get('jetraw_http_responses_total{status="500"}', 0) == before


BAD_PATHS = [
    "../x",
    "a/../../x",
    "./x",
    "a/./b",
    "a//b",
    "a/",
    "/abs",
    "a\\b",
    "nul\x00byte",
    "ctl\x01char",
    "del\x7fchar",
    "tab\tchar",
    "new\nline",
    "x" * 256,
    "/".join(["d" * 200] * 6),
    "",
    "..",
    ".",
    "lone\ud800surrogate",
]


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("path", BAD_PATHS)
def test_bad_paths_in_bodies(api: Api, space: dict[str, Any], path: str) -> None:
    name = space["name"]
    body = json.dumps({"path": path, "size": 1}).encode()
    r = api.post(
        f"/spaces/{name}/uploads", content=body, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400, r.text
    assert r.json()["code"] in ("invalid_path", "invalid_request")
    if "\ud800" not in path:
        assert_problem(r, 400, "invalid_path")
    r = api.post(
        f"/spaces/{name}/directories",
        content=json.dumps({"path": path}).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    "url_path",
    [
        "%2e%2e/x",
        "a/%2E%2E/x",
        "%2e/x",
        "a%2f%2e%2e%2fx",
        "a%00b",
        "a%01b",
        "a%5cb",
        "a//b",
        "%2Fabs",
        "a%0a",
        "%C0%AE%C0%AE/x",
    ],
)
def test_bad_paths_in_urls(api: Api, space: dict[str, Any], url_path: str) -> None:
    name = space["name"]
    for method in ("GET", "DELETE"):
        r = api.request(method, f"/spaces/{name}/files/{url_path}")
        assert 400 <= r.status_code < 500, (method, url_path, r.text)
        assert r.json()["code"] in ("invalid_path", "file_not_found"), r.text
    # Dot segments in the decoded path are always refused, never resolved.
    if "2e" in url_path.lower() or "%00" in url_path or "%01" in url_path:
        assert_problem(api.get(f"/spaces/{name}/files/{url_path}"), 400, "invalid_path")


@pytest.mark.usefixtures("unchanged")
def test_literal_dot_segments_are_refused(
    api: Api, space: dict[str, Any], platform: LocalPlatform
) -> None:
    api.put(space, "x", b"x")  # exists at the top: a traversal must not find it
    name = space["name"]
    for path in (f"/api/v1/spaces/{name}/files/a/../x", f"/api/v1/spaces/{name}/files/../x"):
        r = _raw(platform, api, "GET", path)
        assert_problem(r, 400, "invalid_path")
        r = _raw(platform, api, "DELETE", path)
        assert_problem(r, 400, "invalid_path")
    # `/space/../x` one level up leaves the space: no such route.
    r = _raw(platform, api, "GET", f"/api/v1/spaces/{name}/../x")
    assert 400 <= r.status_code < 500
    assert api.get(f"/spaces/{name}/files/x").status_code == 200
    api.delete(f"/spaces/{name}/files/x")


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    "body",
    [
        {"path": "f", "size": "3"},
        {"path": "f", "size": -1},
        {"path": "f", "size": 1.5},
        {"path": "f", "size": True},
        {"path": "f", "size": 10**30},
        {"path": "f", "size": None},
        {"path": 3, "size": 1},
        {"path": ["f"], "size": 1},
        {"path": "f", "size": 1, "overwrite": "yes"},
        {"path": "f", "size": 1, "metadata": ["x"]},
        {"path": "f", "size": 1, "metadata": {"k": 1}},
        {"path": "f", "size": 1, "metadata": {"k\ud800": "v"}},
        {"path": "f", "size": 1, "overwirte": True},
        {"size": 1},
        {"path": "f"},
        [],
        "string",
        None,
    ],
)
def test_wrong_types(api: Api, space: dict[str, Any], body: Any) -> None:
    r = api.post(
        f"/spaces/{space['name']}/uploads",
        content=json.dumps(body).encode(),  # ASCII escapes, so lone surrogates can be sent
        headers={"Content-Type": "application/json"},
    )
    problem = assert_problem(r, 400, "invalid_request")
    assert problem["errors"]
    assert all({"loc", "msg", "type"} == set(e) for e in problem["errors"])


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b'{"path": "f", "size": 1,}',
        b"\xff\xfe{}",
        b'{"path": "f", "size": NaN}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"path": "f", "size": 1} trailing',
    ],
)
def test_malformed_json(api: Api, space: dict[str, Any], raw: bytes) -> None:
    r = api.post(
        f"/spaces/{space['name']}/uploads",
        content=raw,
        headers={"Content-Type": "application/json"},
    )
    assert_problem(r, 400, "invalid_request")


@pytest.mark.usefixtures("unchanged")
def test_oversized_and_non_json_bodies(api: Api, space: dict[str, Any]) -> None:
    url = f"/spaces/{space['name']}/uploads"
    big = b'{"path": "' + b"a" * (1024 * 1024) + b'", "size": 1}'
    assert_problem(
        api.post(url, content=big, headers={"Content-Type": "application/json"}),
        413,
        "payload_too_large",
    )

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit applies while reading
        yield b'{"path": "'
        for _ in range(20):
            yield b"a" * 65536
        yield b'", "size": 1}'

    assert_problem(
        api.post(url, content=chunks(), headers={"Content-Type": "application/json"}),
        413,
        "payload_too_large",
    )
    assert_problem(
        api.post(url, content=b"path=f&size=1", headers={"Content-Type": "text/plain"}),
        415,
        "unsupported_media_type",
    )
    assert_problem(api.post(url, data={"path": "f", "size": "1"}), 415, "unsupported_media_type")
    too_many = {"uploads": [{"path": f"f{i}", "size": 1} for i in range(1001)]}
    assert_problem(api.post(url + "/batch", json=too_many), 400, "invalid_request")


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 1001},
        {"limit": "abc"},
        {"cursor": "!!!"},
        {"cursor": "eyJrIjogMX0"},
        {"delimiter": "x"},
        {"prefix": "../"},
        {"prefix": "a\x00"},
    ],
)
def test_bad_listing_parameters(api: Api, space: dict[str, Any], params: dict[str, Any]) -> None:
    r = api.get(f"/spaces/{space['name']}/files", params=params)
    assert r.status_code == 400, r.text
    assert r.json()["code"] in ("invalid_request", "invalid_path")


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    "name", ["nope", "UPPER", "a b", "%00", "caf%C3%A9", "x" * 64, "%F0%9F%98%80"]
)
def test_unknown_or_impossible_space(api: Api, name: str) -> None:
    assert_problem(api.get(f"/spaces/{name}"), 404, "space_not_found")
    assert_problem(api.get(f"/spaces/{name}/files"), 404, "space_not_found")
    assert_problem(api.get(f"/spaces/{name}/files/a"), 404, "space_not_found")
    assert_problem(
        api.post(f"/spaces/{name}/uploads", json={"path": "a", "size": 1}), 404, "space_not_found"
    )


@pytest.mark.usefixtures("unchanged")
def test_another_organisations_space_and_uploads_are_not_found(
    api: Api, space: dict[str, Any], other_org: dict[str, Any]
) -> None:
    theirs = other_org["api"]
    their_space = other_org["space"]
    secret = theirs.put(their_space, "secret.txt", b"s")
    pending = theirs.create(their_space, "pending.txt", 1)
    name = their_space["name"]
    # Same name exists in our organisation? No: theirs is invisible and unguessable.
    assert_problem(api.get(f"/spaces/{name}"), 404, "space_not_found")
    assert_problem(api.get(f"/spaces/{name}/files/secret.txt"), 404, "space_not_found")
    assert_problem(api.delete(f"/spaces/{name}/files/secret.txt"), 404, "space_not_found")
    assert_problem(
        api.post(f"/spaces/{name}/uploads", json={"path": "x", "size": 1}), 404, "space_not_found"
    )
    assert_problem(api.get(f"/uploads/{pending['id']}"), 404, "upload_not_found")
    assert_problem(api.delete(f"/uploads/{pending['id']}"), 404, "upload_not_found")
    r = api.post(
        f"/uploads/{pending['id']}/complete", json={"size": 1, "checksum": {"crc32c": "00000000"}}
    )
    assert_problem(r, 404, "upload_not_found")
    assert theirs.get(f"/uploads/{pending['id']}").json()["status"] == "pending"
    assert (
        theirs.get(f"/spaces/{name}/files/secret.txt").json()["object_key"] == secret["object_key"]
    )
    assert all(s["name"] != name for s in api.get("/spaces").json()["items"])


def test_tokens_revoked_or_malformed(platform: LocalPlatform, space: dict[str, Any]) -> None:
    key = platform.create_api_key()
    client = Api(platform, key)
    try:
        assert client.get(f"/spaces/{space['name']}").status_code == 200
        platform.revoke_api_key(key)
        assert_problem(client.get(f"/spaces/{space['name']}"), 401, "unauthorized")
    finally:
        client.close()
    url = platform.url + f"/api/v1/spaces/{space['name']}/files"
    headers: list[bytes] = [b"", b"Bearer", b"Bearer x.y", b"Basic abc", b"Bearer " + b"a" * 5000]
    headers.append("Bearer é".encode())
    for header in headers:
        r = httpx.get(url, headers={"Authorization": header} if header else {}, trust_env=False)
        assert_problem(r, 401, "unauthorized")
        assert r.headers["www-authenticate"].startswith("Bearer")


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(12 if depth < 3 else 8)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 1, 2**31, 2**63, -(2**64), 10**40])
    if kind == 3:
        return rng.choice([0.5, -1e308, 1e308, 3.0])
    if kind in (4, 5, 6, 7):
        return rng.choice(WEIRD_STRINGS) + rng.choice(["", "x", "/y", "é"])
    if kind in (8, 9):
        return [_random_value(rng, depth + 1) for _ in range(rng.randrange(3))]
    return {
        rng.choice(WEIRD_STRINGS): _random_value(rng, depth + 1) for _ in range(rng.randrange(3))
    }


WEIRD_STRINGS = [
    "",
    "a",
    "data",
    "..",
    "../..",
    "%2e%2e",
    "a/../b",
    "\x00",
    "\x1f",
    "\\",
    "\u202e",
    "\ufeff",
    "\U0001f600",
    "\ud800",
    "e\u0301",
    "x" * 300,
    "/",
    "//",
    "null",
    "true",
    "jrk_x_y",
    "local",
    "s3",
    "admin",
]


def _random_segment(rng: random.Random) -> str:
    from urllib.parse import quote

    value = rng.choice(WEIRD_STRINGS).replace("\ud800", "?")
    return quote(value, safe="") or "x"


def test_fuzz_every_operation_never_answers_500(
    jetraw_platform_factory: Any,
) -> None:
    platform: LocalPlatform = jetraw_platform_factory()
    doc = httpx.get(platform.url + "/openapi.json", trust_env=False).json()
    token = platform.access_token()
    admin = platform._admin_token
    rng = random.Random(20261128)
    sent = 0
    with httpx.Client(base_url=platform.url, trust_env=False, timeout=30) as http:
        for path, item in doc["paths"].items():
            if not path.startswith(("/api/", "/admin/")) or path == "/admin/v1/settings":
                continue
            for method, operation in item.items():
                schema_ref = (
                    operation.get("requestBody", {})
                    .get("content", {})
                    .get("application/json", {})
                    .get("schema", {})
                    .get("$ref", "")
                )
                props = list(
                    doc["components"]["schemas"]
                    .get(schema_ref.rsplit("/", 1)[-1], {})
                    .get("properties", {})
                )
                auth = admin if path.startswith("/admin/") else token
                for _ in range(25):
                    url = path
                    for name in ("space", "path", "upload_id", "key_id"):
                        url = url.replace("{" + name + "}", _random_segment(rng))
                    body: Any = {p: _random_value(rng) for p in props if rng.random() < 0.8}
                    if rng.random() < 0.15:
                        body = _random_value(rng)
                    params = {
                        p: _random_value(rng) for p in ("prefix", "cursor", "limit", "status")
                    }
                    params = {
                        k: v if isinstance(v, str) and "\ud800" not in v else json.dumps(v)
                        for k, v in params.items()
                        if rng.random() < 0.3
                    }
                    r = http.request(
                        method.upper(),
                        url,
                        params=params,
                        content=json.dumps(body).encode(),
                        headers={
                            "Authorization": f"Bearer {auth}",
                            "Content-Type": "application/json",
                        },
                    )
                    sent += 1
                    assert r.status_code < 500, (method, url, body, r.text)
                    if r.status_code >= 400:
                        assert r.headers["content-type"] == "application/problem+json", r.text
                        assert r.json()["code"]
    assert sent > 500
    assert 'jetraw_http_responses_total{status="500"}' not in platform.metrics()
