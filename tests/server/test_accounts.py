"""``/api/v1/me``, organisations and spaces over real HTTP."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from server_support import Api, assert_problem

from jetraw.testing import LocalPlatform


def test_me_and_organisations(api: Api, platform: LocalPlatform) -> None:
    me = api.get("/me").json()
    assert me["user"]["email"] == platform.admin_email
    assert me["organisation"]["name"] == platform.organisation
    assert me["role"] == "admin"
    assert {"organisation": me["organisation"], "role": "admin"} in me["memberships"]
    orgs = api.get("/organisations").json()["items"]
    assert {"id": me["organisation"]["id"], "name": "default", "role": "admin"} in orgs


def test_member_of_two_organisations(platform: LocalPlatform) -> None:
    platform.create_organisation("second-org")
    user = platform.create_user("two@example.com", name="Two Orgs")
    platform.add_member(user, platform.organisation, role="member")
    platform.add_member(user, "second-org", role="admin")
    api = Api(platform, platform.create_api_key(user, "second-org"))
    try:
        me = api.get("/me").json()
        assert me["user"] == {"id": user.id, "email": "two@example.com", "name": "Two Orgs"}
        assert me["organisation"]["name"] == "second-org"
        assert me["role"] == "admin"
        assert [(m["organisation"]["name"], m["role"]) for m in me["memberships"]] == [
            ("default", "member"),
            ("second-org", "admin"),
        ]
        # Admin of second-org: may create a space there.
        r = api.post("/spaces", json={"name": "mine"})
        assert r.status_code == 201, r.text
        assert r.json()["organisation"]["name"] == "second-org"
    finally:
        api.close()
    # A member (not admin) of default may not.
    member = Api(platform, platform.create_api_key(user, platform.organisation))
    try:
        assert_problem(member.post("/spaces", json={"name": "nope"}), 403, "forbidden")
        assert member.get("/spaces/data").status_code == 200
    finally:
        member.close()


def test_spaces_create_list_get(api: Api, platform: LocalPlatform) -> None:
    r = api.post("/spaces", json={"name": "alpha"})
    assert r.status_code == 201, r.text
    space = r.json()
    assert space["name"] == "alpha"
    assert space["storage"]["type"] == "local"
    root = Path(space["storage"]["root"])
    assert root.is_dir()
    assert root.is_relative_to(platform.data_dir)
    assert api.get("/spaces/alpha").json() == space
    names = [s["name"] for s in api.get("/spaces").json()["items"]]
    assert names == sorted(names)
    assert {"alpha", "data"} <= set(names)
    assert_problem(api.post("/spaces", json={"name": "alpha"}), 409, "space_exists")


def test_storage_descriptors(api: Api, platform: LocalPlatform, tmp_path: Path) -> None:
    # A local root outside the spaces base is the operator's to set (admin API), not a tenant's
    # (issue 12: tests/server/test_security_spaces.py).
    root = tmp_path / "somewhere" / "deep"
    space = platform.create_space("local-root", storage={"type": "local", "root": str(root)})
    assert space["storage"] == {"type": "local", "root": str(root)}
    assert root.is_dir()
    s3 = {
        "type": "s3",
        "bucket": "my-bucket",
        "prefix": "/raw/data",
        "region": "eu-west-1",
        "endpoint_url": "http://127.0.0.1:9000",
        "addressing_style": "path",
    }
    r = api.post("/spaces", json={"name": "s3-full", "storage": s3})
    assert r.status_code == 201, r.text
    assert r.json()["storage"] == {**s3, "prefix": "raw/data/"}
    r = api.post("/spaces", json={"name": "s3-min", "storage": {"type": "s3", "bucket": "b-1"}})
    assert r.json()["storage"] == {
        "type": "s3",
        "bucket": "b-1",
        "prefix": "",
        "region": None,
        "endpoint_url": None,
        "addressing_style": "auto",
    }


@pytest.mark.parametrize(
    "storage",
    [
        {"type": "local", "root": "relative/path"},
        {"type": "local", "root": 3},
        {"type": "local", "root": "/tmp/x", "bucket": "b"},
        {"type": "s3"},
        {"type": "s3", "bucket": "UPPER"},
        {"type": "s3", "bucket": "b"},
        {"type": "s3", "bucket": "ok-bucket", "addressing_style": "weird"},
        {"type": "s3", "bucket": "ok-bucket", "endpoint_url": "ftp://x"},
        {"type": "s3", "bucket": "ok-bucket", "prefix": "a/../b"},
        {"type": "s3", "bucket": "ok-bucket", "region": "\x00"},
        {"type": "gcs", "bucket": "b"},
        {},
    ],
)
def test_bad_storage_descriptors(api: Api, storage: dict[str, Any]) -> None:
    before = api.get("/spaces").json()
    assert_problem(
        api.post("/spaces", json={"name": "bad-storage", "storage": storage}),
        400,
        "invalid_request",
    )
    assert api.get("/spaces").json() == before


@pytest.mark.parametrize(
    "name", ["", "UPPER", "-lead", "a_b", "a b", "é", "a" * 64, "a/b", "a\x00"]
)
def test_bad_space_names(api: Api, name: str) -> None:
    assert_problem(api.post("/spaces", json={"name": name}), 400, "invalid_name")


def test_local_root_that_cannot_be_created(api: Api, platform: LocalPlatform) -> None:
    # Inside the organisation's own directory under the spaces base, where a tenant may ask.
    org_dir = platform.data_dir / "spaces" / api.get("/me").json()["organisation"]["id"]
    org_dir.mkdir(parents=True, exist_ok=True)
    blocker = org_dir / "file"
    blocker.write_text("x")
    r = api.post(
        "/spaces",
        json={"name": "blocked", "storage": {"type": "local", "root": str(blocker / "sub")}},
    )
    assert_problem(r, 400, "invalid_request")
    assert_problem(api.get("/spaces/blocked"), 404, "space_not_found")
    assert os.path.isfile(blocker)
