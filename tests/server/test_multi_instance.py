"""Several server processes on one PostgreSQL database serve one organisation consistently.

Three real servers (``python -m jetraw.server``, uvicorn) share a data dir (the local storage)
and a PostgreSQL schema, with no balancer in front: concurrent clients alternate between their
URLs. Upload commits are neither lost nor doubled, a refresh-token family is never split and a
reuse revokes it everywhere, a device code approved on one instance is redeemed on another,
the rate limit is one limit for all instances, and two cleanups at once delete each object once.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from auth_support import FormReader, submit
from pg_support import store_connection
from server_support import Api, crc32c_hex

from jetraw.testing import LocalPlatform

pytestmark = pytest.mark.postgresql_only

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def _start_all(platforms: list[LocalPlatform]) -> None:
    with ThreadPoolExecutor(max_workers=len(platforms)) as pool:
        list(pool.map(lambda p: p.start(), platforms))


@pytest.fixture
def instances(tmp_path: Path, database_url: str) -> Iterator[list[LocalPlatform]]:
    """Three instances on one data dir and one PostgreSQL schema."""
    platforms = [
        LocalPlatform(
            data_dir=tmp_path / "data",
            database=database_url,
            garbage_grace_seconds=0,
            cleanup_interval_seconds=0,
            refresh_grace_seconds=0,
        )
        for _ in range(3)
    ]
    _start_all(platforms)
    try:
        yield platforms
    finally:
        for platform in platforms:
            platform.close()


def _token(url: str, **form: str) -> httpx.Response:
    return httpx.post(f"{url}/oauth/token", data={"client_id": "jetraw", **form}, trust_env=False)


def test_one_bootstrap_and_tokens_valid_on_every_instance(instances: list[LocalPlatform]) -> None:
    assert len({p.api_key for p in instances}) == 1
    assert len({p.url for p in instances}) == 3
    token = instances[0].access_token()  # signed by the key in the database: all verify it
    for platform in instances:
        me = httpx.get(
            f"{platform.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"}
        ).json()
        assert me["user"]["email"] == platform.admin_email
    instance_ids = set()
    for platform in instances:
        info = [k for k in platform.metrics() if k.startswith("jetraw_instance_info{")]
        assert len(info) == 1
        instance_ids.add(info[0])
    assert len(instance_ids) == 3  # each instance names itself in its metrics


def test_concurrent_commits_are_neither_lost_nor_doubled(
    instances: list[LocalPlatform], database_url: str
) -> None:
    apis = [Api(p) for p in instances]
    try:
        space = apis[0].get("/spaces/data").json()
        contested = [f"contested/{i}" for i in range(3)]
        jobs = 60

        def work(n: int) -> tuple[str, str, bytes]:
            path = contested[n % 3] if n % 2 else f"distinct/{n}"
            data = f"{path}:{n}".encode()
            upload = apis[n % 3].create(space, path, len(data), overwrite=True)
            apis[n % 3].write_object(space, upload["object_key"], data)
            first = apis[(n + 1) % 3].complete(upload, data)
            again = apis[(n + 2) % 3].complete(upload, data)  # a retry on another instance
            assert first.status_code == 200, first.text
            assert again.status_code == 200, again.text
            assert again.json()["object_key"] == first.json()["object_key"]
            return path, upload["id"], data

        with ThreadPoolExecutor(max_workers=9) as pool:
            done = list(pool.map(work, range(jobs)))

        listed = {f["path"]: f for f in apis[2].list_all(space) if f["type"] == "file"}
        distinct = {p for p, _, _ in done if p.startswith("distinct/")}
        assert set(listed) == distinct | set(contested)
        root = Path(space["storage"]["root"])
        for path in contested:
            candidates = {d for p, _, d in done if p == path}
            assert (root / listed[path]["object_key"]).read_bytes() in candidates
        db = store_connection(Path(), database_url)
        try:
            statuses = dict(
                db.execute("SELECT status, count(*) FROM uploads GROUP BY status").fetchall()
            )
            assert statuses == {"completed": jobs}
            # each replaced version became garbage exactly once: completes on a path minus one
            replaced = sum(c - 1 for p, c in Counter(p for p, _, _ in done).items())
            (garbage,) = db.execute("SELECT count(*) FROM garbage").fetchone()
            assert garbage == replaced
        finally:
            db.close()
    finally:
        for api in apis:
            api.close()


def _device_login(instances: list[LocalPlatform]) -> dict[str, Any]:
    """Start on instance 0, approve on instance 1's page, redeem on instance 2."""
    start = httpx.post(
        f"{instances[0].url}/oauth/device_authorization", data={"client_id": "jetraw"}
    ).json()
    with httpx.Client() as browser:
        page = browser.get(f"{instances[1].url}/device", params={"user_code": start["user_code"]})
        assert "user_code" in FormReader(page.text).ids
        answer = submit(
            browser,
            page,
            {
                "email": instances[1].admin_email,
                "password": instances[1].admin_password,
                "action": "approve",
            },
        )
        assert answer.status_code == 200, answer.text
    token = _token(instances[2].url, grant_type=DEVICE_GRANT, device_code=start["device_code"])
    assert token.status_code == 200, token.text
    body: dict[str, Any] = token.json()
    assert body["refresh_token"]
    # the code was used on instance 2: no instance hands out a second login for it
    replay = _token(instances[0].url, grant_type=DEVICE_GRANT, device_code=start["device_code"])
    assert "access_token" not in replay.json()
    return body


def test_device_code_approved_on_one_instance_and_polled_on_another(
    instances: list[LocalPlatform],
) -> None:
    login = _device_login(instances)
    me = httpx.get(
        f"{instances[0].url}/api/v1/me",
        headers={"Authorization": f"Bearer {login['access_token']}"},
    )
    assert me.json()["user"]["email"] == instances[0].admin_email


def test_refresh_rotation_race_never_splits_a_family(instances: list[LocalPlatform]) -> None:
    refresh = _device_login(instances)["refresh_token"]
    urls = itertools.cycle([p.url for p in instances])
    targets = [next(urls) for _ in range(12)]

    def present(url: str) -> httpx.Response:
        return _token(url, grant_type="refresh_token", refresh_token=refresh)

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(present, targets))
    issued = {a.json()["refresh_token"] for a in answers if a.status_code == 200}
    assert len(issued) == 1, issued  # one successor at most, whichever instance won
    refused = [a for a in answers if a.status_code != 200]
    assert refused, "a reused refresh token must be refused"
    assert all(a.json()["error"] == "invalid_grant" for a in refused)
    # the reuse revoked the whole family, on every instance: the successor is dead too
    (successor,) = issued
    for platform in instances:
        again = _token(platform.url, grant_type="refresh_token", refresh_token=successor)
        assert again.status_code == 400, again.text
        assert again.json()["error"] == "invalid_grant"


def test_rate_limit_is_shared_by_all_instances(tmp_path: Path, database_url: str) -> None:
    limit = 9
    platforms = [
        LocalPlatform(
            data_dir=tmp_path / "data",
            database=database_url,
            rate_limit_per_minute=limit,
            cleanup_interval_seconds=0,
        )
        for _ in range(3)
    ]
    _start_all(platforms)
    try:
        urls = [p.url for p in platforms] * 8

        def hit(url: str) -> int:
            return httpx.post(
                f"{url}/oauth/device_authorization", data={"client_id": "jetraw"}
            ).status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            codes = Counter(pool.map(hit, urls))
        assert codes == {200: limit, 429: len(urls) - limit}  # not 3 x the limit
    finally:
        for platform in platforms:
            platform.close()


def test_two_cleanups_at_once_delete_each_object_once(
    instances: list[LocalPlatform], database_url: str
) -> None:
    api = Api(instances[0])
    try:
        space = api.get("/spaces/data").json()
        root = Path(space["storage"]["root"])
        replaced: list[str] = []
        for n in range(20):
            data = f"v{n}".encode()
            upload = api.create(space, "again.txt", len(data), overwrite=True)
            api.write_object(space, upload["object_key"], data)
            answer = api.complete(upload, data)
            assert answer.status_code == 200, answer.text
            replaced.append(upload["object_key"])
        current = replaced.pop()  # the last version is the file; 19 versions are garbage
        for n in range(10):  # abandoned uploads whose objects an abort makes garbage
            data = b"x"
            upload = api.create(space, f"abandoned/{n}", 1)
            api.write_object(space, upload["object_key"], data)
            assert api.delete(f"/uploads/{upload['id']}").status_code == 204
            replaced.append(upload["object_key"])
        assert all((root / key).exists() for key in replaced)

        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(lambda p: p.cleanup(), [instances[1], instances[2]] * 2))
        assert sum(r["deleted_objects"] for r in results) == len(replaced)
        assert sum(r["forgotten"] for r in results) == 0
        assert not any((root / key).exists() for key in replaced)
        assert (root / current).exists()
        db = store_connection(Path(), database_url)
        try:
            assert db.execute("SELECT count(*) FROM garbage").fetchone()[0] == 0
        finally:
            db.close()
        checksum = crc32c_hex(b"v19")
        assert api.get("/spaces/data/files/again.txt").json()["checksum"]["crc32c"] == checksum
    finally:
        api.close()
