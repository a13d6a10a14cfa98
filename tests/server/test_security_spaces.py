"""Issue 12, finding 3: an organisation admin does not control where a local space's root is.

Through ``POST /api/v1/spaces`` a local root is omitted (the server picks
``<spaces base>/<org id>/<name>``) or lies inside the caller's own ``<spaces base>/<org id>/``;
the operator (admin API) may put it elsewhere, but never over the data dir or another space.
Cleanup deletes only staging whose ``meta.json`` names the upload's own object key.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from pathlib import Path
from typing import Any

import anyio
import google_crc32c
import pytest
from pg_support import store_connection
from server_support import Api, assert_problem

from jetraw._storage import LocalStorage
from jetraw.testing import LocalPlatform


def _name() -> str:
    return f"s-{secrets.token_hex(5)}"


def _org_dir(api: Api, platform: LocalPlatform) -> Path:
    return platform.data_dir / "spaces" / api.get("/me").json()["organisation"]["id"]


def _refused(api: Api, root: Path | str, status: int = 400) -> None:
    """A tenant asking for ``root`` gets a 4xx, no space, and nothing on disk."""
    existed = os.path.lexists(root)
    name = _name()
    r = api.post("/spaces", json={"name": name, "storage": {"type": "local", "root": str(root)}})
    assert r.status_code == status, r.text
    assert_problem(api.get(f"/spaces/{name}"), 404, "space_not_found")
    assert os.path.lexists(root) == existed


def test_omitted_root_is_the_servers_choice(api: Api, platform: LocalPlatform) -> None:
    name = _name()
    r = api.post("/spaces", json={"name": name, "storage": {"type": "local"}})
    assert r.status_code == 201, r.text
    root = Path(r.json()["storage"]["root"])
    assert root == _org_dir(api, platform) / name
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert stat.S_IMODE(root.parent.stat().st_mode) == 0o700


def test_tenant_cannot_place_a_root_outside_its_directory(
    api: Api, platform: LocalPlatform, tmp_path: Path, other_org: dict[str, Any]
) -> None:
    data_dir = platform.data_dir
    _refused(api, tmp_path / "anywhere" / "deep")  # anywhere the server can write
    _refused(api, "/")
    _refused(api, "/etc/jetraw-space")
    _refused(api, data_dir)  # the server's own data dir ...
    _refused(api, data_dir / "evil")  # ... or next to its database and key
    _refused(api, data_dir / "spaces")  # the spaces base itself
    _refused(api, _org_dir(api, platform))  # its own directory (would hold every space)
    other_root = Path(other_org["space"]["storage"]["root"])
    _refused(api, other_root)  # another organisation's root ...
    _refused(api, other_root / "inside")  # ... or inside it
    _refused(api, other_root.parent / "new-space")  # ... or in its directory
    _refused(api, f"{_org_dir(api, platform)}/../{other_root.parent.name}/x")  # '..' tricks


def test_tenant_cannot_escape_through_a_symlink(
    api: Api, platform: LocalPlatform, tmp_path: Path
) -> None:
    org_dir = _org_dir(api, platform)
    org_dir.mkdir(parents=True, exist_ok=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    link = org_dir / f"link-{secrets.token_hex(3)}"
    link.symlink_to(outside)
    try:
        _refused(api, link / "x")
        assert list(outside.iterdir()) == []
    finally:
        link.unlink()


def test_tenant_root_inside_its_directory_and_no_overlap(api: Api, platform: LocalPlatform) -> None:
    root = _org_dir(api, platform) / f"explicit-{secrets.token_hex(3)}" / "deep"
    name = _name()
    r = api.post("/spaces", json={"name": name, "storage": {"type": "local", "root": str(root)}})
    assert r.status_code == 201, r.text
    assert r.json()["storage"]["root"] == str(root)
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert stat.S_IMODE(root.parent.stat().st_mode) == 0o700
    _refused(api, root, 409)  # the same root again
    _refused(api, root / "sub", 409)  # inside it
    _refused(api, root.parent, 409)  # around it


def test_operator_may_choose_but_not_over_the_data_dir_or_another_space(
    api: Api, platform: LocalPlatform, tmp_path: Path, space: dict[str, Any]
) -> None:
    root = tmp_path / "operator-root"
    made = platform.create_space(_name(), storage={"type": "local", "root": str(root)})
    assert made["storage"]["root"] == str(root)
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    for bad in (platform.data_dir, platform.data_dir.parent, "/", platform.data_dir / "x"):
        with pytest.raises(RuntimeError, match="400"):
            platform.create_space(_name(), storage={"type": "local", "root": str(bad)})
    assert not (platform.data_dir / "x").exists()
    for bad in (root, root / "in", Path(space["storage"]["root"])):
        with pytest.raises(RuntimeError, match="409"):
            platform.create_space(_name(), storage={"type": "local", "root": str(bad)})
    assert not (root / "in").exists()


def test_a_local_storage_upload_id_is_one_segment(api: Api, space: dict[str, Any]) -> None:
    upload = api.create(space, "f.bin", 3, multipart=True)
    for bad in ("../x", "a/b", ".hidden", "a\\b"):
        r = api.patch(f"/uploads/{upload['id']}", json={"storage_upload_id": bad})
        assert_problem(r, 400, "invalid_request")
    assert api.patch(f"/uploads/{upload['id']}", json={"storage_upload_id": "ok-1"}).is_success
    api.delete(f"/uploads/{upload['id']}")


def _stage(root: Path, object_key: str) -> str:
    storage = LocalStorage(root)
    data = b"s" * 1024

    async def stage() -> str:
        sid = await storage.create_multipart(object_key, part_size=len(data))
        await storage.upload_part(
            object_key, sid, 1, memoryview(data), crc32c=google_crc32c.value(data)
        )
        return sid

    return anyio.run(stage)


def test_cleanup_never_deletes_staging_found_only_by_a_client_id(
    api: Api, platform: LocalPlatform, other_org: dict[str, Any]
) -> None:
    """The attack as tried: B's space shares A's root (a row made before roots were checked),
    B records A's staging id on its own upload, aborts it, and waits for cleanup."""
    victim = platform.create_space(_name())
    victim_root = Path(victim["storage"]["root"])
    pending = api.create(victim, "big.bin", 1024, multipart=True)
    victim_sid = _stage(victim_root, pending["object_key"])
    assert api.patch(f"/uploads/{pending['id']}", json={"storage_upload_id": victim_sid}).is_success

    attacker: Api = other_org["api"]
    shared = attacker.post("/spaces", json={"name": _name()}).json()
    db = store_connection(platform.data_dir, platform.database)
    db.execute(
        "UPDATE spaces SET storage = ? WHERE id = ?",
        (json.dumps({"type": "local", "root": str(victim_root)}), shared["id"]),
    )
    db.close()
    upload = attacker.create(shared, "x.bin", 1024, multipart=True)
    r = attacker.patch(f"/uploads/{upload['id']}", json={"storage_upload_id": victim_sid})
    assert r.is_success, r.text
    assert attacker.delete(f"/uploads/{upload['id']}").status_code == 204
    platform.cleanup()  # the session platform has no grace period
    staging = victim_root / ".jetraw-multipart" / victim_sid
    assert (staging / "meta.json").exists(), "cleanup deleted another organisation's staging"
    assert (staging / "data").exists()
    # The victim's own abort still removes it (found by its meta.json key).
    assert api.delete(f"/uploads/{pending['id']}").status_code == 204
    platform.cleanup()
    assert not staging.exists()
