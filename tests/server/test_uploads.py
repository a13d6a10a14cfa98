"""The upload life cycle over real HTTP: create, write, complete, abort, batch, expiry, cleanup."""

from __future__ import annotations

import errno
import os
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import google_crc32c
import pytest
from server_support import Api, assert_problem, crc32c_hex

from jetraw._exceptions import StorageError
from jetraw._storage import LocalStorage
from jetraw._util import StagingLayout, StagingMeta
from jetraw.testing import LocalPlatform


def test_file_appears_only_at_complete(api: Api, space: dict[str, Any]) -> None:
    data = b"hello world"
    upload = api.create(space, "dir/hello.txt", len(data), metadata={"k": "v"})
    assert upload["status"] == "pending"
    assert upload["space"] == space["name"]
    assert upload["object_key"].startswith("objects/")
    assert upload["expires_at"] > upload["created_at"]
    api.write_object(space, upload["object_key"], data)
    assert_problem(api.get(f"/spaces/{space['name']}/files/dir/hello.txt"), 404, "file_not_found")

    r = api.complete(upload, data)
    assert r.status_code == 200, r.text
    file = r.json()
    assert file["path"] == "dir/hello.txt"
    assert file["size"] == len(data)
    assert file["checksum"]["crc32c"] == crc32c_hex(data)
    assert file["metadata"] == {"k": "v"}
    assert file["object_key"] == upload["object_key"]
    assert file["upload_id"] == upload["id"]
    assert file["garbage"] == []
    stat = api.get(f"/spaces/{space['name']}/files/dir/hello.txt").json()
    assert {k: stat[k] for k in ("size", "object_key", "checksum")} == {
        k: file[k] for k in ("size", "object_key", "checksum")
    }
    got = api.get(f"/uploads/{upload['id']}").json()
    assert got["status"] == "completed"
    assert got["file"]["object_key"] == upload["object_key"]


def test_complete_is_idempotent(api: Api, space: dict[str, Any], platform: LocalPlatform) -> None:
    before = platform.metrics()["jetraw_uploads_completed_total"]
    data = b"abc"
    upload = api.create(space, "same.bin", 3)
    api.write_object(space, upload["object_key"], data)
    first = api.complete(upload, data)
    second = api.complete(upload, data)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    # Counted once however many times it is retried.
    assert platform.metrics()["jetraw_uploads_completed_total"] == before + 1
    # A retry with another size is not the same completion.
    r = api.post(
        f"/uploads/{upload['id']}/complete", json={"size": 4, "checksum": {"crc32c": "00000000"}}
    )
    assert_problem(r, 409, "size_mismatch")


def test_overwrite_swaps_the_object_atomically(api: Api, space: dict[str, Any]) -> None:
    old = api.put(space, "f.txt", b"old")
    assert_problem(
        api.post(f"/spaces/{space['name']}/uploads", json={"path": "f.txt", "size": 3}),
        409,
        "file_exists",
    )
    upload = api.create(space, "f.txt", 3, overwrite=True)
    api.write_object(space, upload["object_key"], b"new")
    # Until complete, readers see the old object.
    assert api.get(f"/spaces/{space['name']}/files/f.txt").json()["object_key"] == old["object_key"]
    new = api.complete(upload, b"new").json()
    assert new["object_key"] != old["object_key"]
    assert new["created_at"] == old["created_at"]
    # Local storage: the server removes the replaced object itself, so the client has nothing to do.
    assert new["garbage"] == []
    stat = api.get(f"/spaces/{space['name']}/files/f.txt").json()
    assert stat["object_key"] == new["object_key"]


def test_overwrite_false_is_checked_again_at_complete(api: Api, space: dict[str, Any]) -> None:
    first = api.create(space, "race.txt", 1)
    second = api.create(space, "race.txt", 1)
    api.write_object(space, first["object_key"], b"1")
    api.write_object(space, second["object_key"], b"2")
    assert api.complete(first, b"1").status_code == 200
    body = assert_problem(api.complete(second, b"2"), 409, "file_exists")
    assert body["upload_id"] == second["id"]
    stat = api.get(f"/spaces/{space['name']}/files/race.txt").json()
    assert stat["object_key"] == first["object_key"]


def test_complete_checks_the_stored_object(api: Api, space: dict[str, Any]) -> None:
    upload = api.create(space, "x.bin", 5)
    assert_problem(api.complete(upload, b"12345"), 409, "object_missing")
    api.write_object(space, upload["object_key"], b"123")
    assert_problem(api.complete(upload, b"12345"), 409, "size_mismatch")
    assert_problem(api.complete(upload, b"123"), 409, "size_mismatch")  # declared 5
    api.write_object(space, upload["object_key"], b"12345")
    assert api.complete(upload, b"12345").status_code == 200


def test_abort(api: Api, space: dict[str, Any], platform: LocalPlatform) -> None:
    before = platform.metrics()["jetraw_uploads_aborted_total"]
    upload = api.create(space, "gone.txt", 2)
    api.write_object(space, upload["object_key"], b"hi")
    assert api.delete(f"/uploads/{upload['id']}").status_code == 204
    assert api.delete(f"/uploads/{upload['id']}").status_code == 204  # idempotent
    assert platform.metrics()["jetraw_uploads_aborted_total"] == before + 1
    assert api.get(f"/uploads/{upload['id']}").json()["status"] == "aborted"
    assert_problem(api.complete(upload, b"hi"), 409, "upload_not_pending")
    assert_problem(api.get(f"/spaces/{space['name']}/files/gone.txt"), 404, "file_not_found")
    # Aborting a completed upload is refused; its file stays.
    done = api.create(space, "kept.txt", 1)
    api.write_object(space, done["object_key"], b"k")
    api.complete(done, b"k")
    assert_problem(api.delete(f"/uploads/{done['id']}"), 409, "upload_not_pending")
    assert api.get(f"/spaces/{space['name']}/files/kept.txt").status_code == 200


def test_storage_upload_id_and_listing(api: Api, space: dict[str, Any]) -> None:
    upload = api.create(space, "big.bin", 10, multipart=True)
    r = api.patch(f"/uploads/{upload['id']}", json={"storage_upload_id": "mpu-123"})
    assert r.status_code == 200, r.text
    assert r.json()["storage_upload_id"] == "mpu-123"
    pending = api.get("/uploads", params={"space": space["name"], "status": "pending"}).json()
    mine = [u for u in pending["items"] if u["id"] == upload["id"]]
    assert mine
    assert mine[0]["storage_upload_id"] == "mpu-123"
    assert mine[0]["multipart"] is True
    api.delete(f"/uploads/{upload['id']}")
    pending = api.get("/uploads", params={"space": space["name"], "status": "pending"}).json()
    assert all(u["id"] != upload["id"] for u in pending["items"])
    aborted = api.get("/uploads", params={"space": space["name"], "status": "aborted"}).json()
    assert [u["id"] for u in aborted["items"]] == [upload["id"]]
    assert_problem(
        api.patch(f"/uploads/{upload['id']}", json={"storage_upload_id": "x"}),
        409,
        "upload_not_pending",
    )


def test_batch_items_are_independent(api: Api, space: dict[str, Any]) -> None:
    api.put(space, "exists.txt", b"e")
    r = api.post(
        f"/spaces/{space['name']}/uploads/batch",
        json={
            "uploads": [
                {"path": "a.txt", "size": 1},
                {"path": "exists.txt", "size": 1},
                {"path": "../escape", "size": 1},
                {"path": "b.txt", "size": 2, "metadata": {"m": "1"}},
            ]
        },
    )
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [res["error"]["code"] if res["error"] else None for res in results] == [
        None,
        "file_exists",
        "invalid_path",
        None,
    ]
    a, b = results[0]["upload"], results[3]["upload"]
    api.write_object(space, a["object_key"], b"a")
    api.write_object(space, b["object_key"], b"bb")
    r = api.post(
        "/uploads/batch-complete",
        json={
            "uploads": [
                {"id": b["id"], "size": 2, "checksum": {"crc32c": crc32c_hex(b"bb")}},
                {"id": "nope", "size": 1, "checksum": {"crc32c": "00000000"}},
                {"id": a["id"], "size": 1, "checksum": {"crc32c": crc32c_hex(b"a")}},
                {"id": a["id"], "size": 1, "checksum": {"crc32c": crc32c_hex(b"a")}},
            ]
        },
    )
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert results[0]["file"]["path"] == "b.txt"
    assert results[0]["error"] is None
    assert results[1]["file"] is None
    assert results[1]["error"]["code"] == "upload_not_found"
    assert results[2]["file"]["path"] == "a.txt"
    assert results[3]["file"] == results[2]["file"]  # idempotent inside one batch too
    names = [f["path"] for f in api.list_all(space)]
    assert names == ["a.txt", "b.txt", "exists.txt"]


def test_a_batch_sees_the_files_it_commits_as_it_goes(api: Api, space: dict[str, Any]) -> None:
    """Items of one batch share directory checks: a file committed early in the batch is then
    a file, not a directory, for the items after it (and at create, a file is never a parent)."""
    api.put(space, "f", b"f")
    r = api.post(
        f"/spaces/{space['name']}/uploads/batch",
        json={
            "uploads": [
                {"path": "d/x", "size": 1},
                {"path": "f/y", "size": 1},
                {"path": "d", "size": 1},
                {"path": "d/z", "size": 1},
                {"path": "f/y/z", "size": 1},
            ]
        },
    )
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    codes = [res["error"]["code"] if res["error"] else None for res in results]
    # "d" may be created (no file or directory there yet); "f" is a file.
    assert codes == [None, "not_a_directory", None, None, "not_a_directory"]
    x, d, z = results[0]["upload"], results[2]["upload"], results[3]["upload"]
    for upload in (x, d, z):
        api.write_object(space, upload["object_key"], b"a")
    ok = {"size": 1, "checksum": {"crc32c": crc32c_hex(b"a")}}
    r = api.post(
        "/uploads/batch-complete",
        json={"uploads": [{"id": u["id"], **ok} for u in (x, d, z)]},
    )
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert results[0]["error"] is None  # d/x: "d" is a directory from now on
    assert results[1]["error"]["code"] == "is_a_directory"  # so "d" cannot be a file
    assert results[2]["error"] is None
    assert [f["path"] for f in api.list_all(space)] == ["d/x", "d/z", "f"]
    # The other order: "e" committed first, then "e/x" of the same batch must be refused.
    r = api.post(
        f"/spaces/{space['name']}/uploads/batch",
        json={"uploads": [{"path": "e", "size": 1}, {"path": "e/x", "size": 1}]},
    )
    e, ex = (res["upload"] for res in r.json()["results"])
    for upload in (e, ex):
        api.write_object(space, upload["object_key"], b"a")
    r = api.post(
        "/uploads/batch-complete",
        json={"uploads": [{"id": u["id"], **ok} for u in (e, ex)]},
    )
    results = r.json()["results"]
    assert results[0]["error"] is None
    assert results[1]["error"]["code"] == "not_a_directory"
    assert [f["path"] for f in api.list_all(space)] == ["d/x", "d/z", "e", "f"]


def test_batch_limits(api: Api, space: dict[str, Any]) -> None:
    too_many = {"uploads": [{"path": f"f{i}", "size": 1} for i in range(1001)]}
    assert_problem(
        api.post(f"/spaces/{space['name']}/uploads/batch", json=too_many), 400, "invalid_request"
    )
    assert_problem(
        api.post(f"/spaces/{space['name']}/uploads/batch", json={"uploads": []}),
        400,
        "invalid_request",
    )
    assert api.list_all(space) == []


def test_expired_uploads(jetraw_platform_factory: Callable[..., LocalPlatform]) -> None:
    platform = jetraw_platform_factory(
        upload_expiry_days=1.5 / 86400, garbage_grace_seconds=0, cleanup_interval_seconds=0
    )
    api = Api(platform)
    try:
        space = api.get(f"/spaces/{platform.space}").json()
        late = api.create(space, "late.bin", 1)
        swept = api.create(space, "swept.bin", 1)
        path = api.write_object(space, swept["object_key"], b"s")
        api.write_object(space, late["object_key"], b"l")
        time.sleep(2.1)
        # Completing after expiry is refused, and the upload is retired.
        assert_problem(api.complete(late, b"l"), 409, "upload_not_pending")
        assert api.get(f"/uploads/{late['id']}").json()["status"] == "aborted"
        result = platform.cleanup()
        assert result["expired_uploads"] == 1  # `swept`; `late` was retired at complete
        assert api.get(f"/uploads/{swept['id']}").json()["status"] == "aborted"
        assert not path.exists()  # grace 0: its object is deleted at once
        assert api.list_all(space) == []
    finally:
        api.close()


def test_cleanup_deletes_replaced_and_deleted_objects_after_grace(
    api: Api, space: dict[str, Any], platform: LocalPlatform
) -> None:
    root = Path(space["storage"]["root"])
    old = api.put(space, "a.txt", b"old")
    new = api.put(space, "a.txt", b"new", overwrite=True)
    other = api.put(space, "d/b.txt", b"b")
    r = api.delete(f"/spaces/{space['name']}/files/d", params={"recursive": "true"})
    assert r.status_code == 200
    assert r.json() == {"deleted": 1, "garbage": []}
    platform.cleanup()  # the session platform has a zero grace period
    assert not (root / old["object_key"]).exists()
    assert not (root / other["object_key"]).exists()
    assert (root / new["object_key"]).read_bytes() == b"new"


def test_s3_space_reports_garbage_to_the_client(api: Api, platform: LocalPlatform) -> None:
    space = platform.create_space(
        "s3-garbage", storage={"type": "s3", "bucket": "bucket-1", "prefix": "p"}
    )
    assert space["storage"]["prefix"] == "p/"
    first = api.create(space, "k.bin", 1)
    # The server cannot look into S3: complete trusts the client's size and checksum.
    assert api.complete(first, b"1").status_code == 200
    second = api.create(space, "k.bin", 1, overwrite=True)
    replaced = api.complete(second, b"2").json()
    assert replaced["garbage"] == [first["object_key"]]
    deleted = api.delete(f"/spaces/{space['name']}/files/k.bin").json()
    assert deleted == {"deleted": 1, "garbage": [second["object_key"]]}


def test_integral_json_numbers_are_integers(api: Api, space: dict[str, Any]) -> None:
    # JSON Schema counts 3.0 as an integer, so the server does too (3.5 and "3" stay errors).
    r = api.post(f"/spaces/{space['name']}/uploads", json={"path": "three", "size": 3.0})
    assert r.status_code == 201, r.text
    assert r.json()["size"] == 3
    api.delete(f"/uploads/{r.json()['id']}")


def _stage_multipart(root: Path, object_key: str, data: bytes) -> str:
    """What a client does for a multipart upload to a local space: start it, write one part."""
    storage = LocalStorage(root)

    async def stage() -> str:
        sid = await storage.create_multipart(object_key, part_size=len(data))
        await storage.upload_part(
            object_key, sid, 1, memoryview(data), crc32c=google_crc32c.value(data)
        )
        return sid

    return anyio.run(stage)


def test_cleanup_removes_the_staging_of_expired_and_aborted_uploads(
    jetraw_platform_factory: Callable[..., LocalPlatform],
) -> None:
    # Expiry is stored to the second: 3 s leaves a clear margin on both sides of the checks.
    platform = jetraw_platform_factory(
        upload_expiry_days=3 / 86400, garbage_grace_seconds=0, cleanup_interval_seconds=0
    )
    api = Api(platform)
    try:
        space = api.get(f"/spaces/{platform.space}").json()
        root = Path(space["storage"]["root"])
        staging = root / ".jetraw-multipart"
        data = b"p" * 4096
        started = time.monotonic()
        expired, aborted, unreported, kept = (
            api.create(space, f"{name}.bin", len(data), multipart=True)
            for name in ("expired", "aborted", "unreported", "kept")
        )
        sids = {}
        for upload in (expired, aborted, unreported, kept):
            sids[upload["id"]] = _stage_multipart(root, upload["object_key"], data)
        for upload in (expired, aborted, kept):
            r = api.patch(
                f"/uploads/{upload['id']}", json={"storage_upload_id": sids[upload["id"]]}
            )
            assert r.status_code == 200, r.text
        # `unreported`: the client crashed before telling the server its storage upload id.
        assert sorted(p.name for p in staging.iterdir()) == sorted(sids.values())
        # A stray object at an expired upload's key goes too.
        stray = api.write_object(space, expired["object_key"], b"partial")

        assert api.delete(f"/uploads/{aborted['id']}").status_code == 204
        assert platform.cleanup()["expired_uploads"] == 0
        assert not (staging / sids[aborted["id"]]).exists()
        pending = {sids[u["id"]] for u in (expired, unreported, kept)}
        assert {p.name for p in staging.iterdir()} == pending  # still pending: untouched
        assert stray.exists()

        time.sleep(max(0.0, 4.1 - (time.monotonic() - started)))
        fresh = api.create(space, "fresh.bin", len(data), multipart=True)
        fresh_sid = _stage_multipart(root, fresh["object_key"], data)
        result = platform.cleanup()
        assert result["expired_uploads"] == 3
        assert result["deleted_objects"] == 1  # the stray object
        assert not stray.exists()
        assert [p.name for p in staging.iterdir()] == [fresh_sid]
        for upload in (expired, unreported, kept):
            assert api.get(f"/uploads/{upload['id']}").json()["status"] == "aborted"
        assert api.get(f"/uploads/{fresh['id']}").json()["status"] == "pending"
    finally:
        api.close()


def test_a_retried_complete_repeats_the_garbage(api: Api, platform: LocalPlatform) -> None:
    space = platform.create_space(
        "s3-garbage-retry", storage={"type": "s3", "bucket": "bucket-1", "prefix": "p"}
    )
    first = api.create(space, "k.bin", 1)
    assert api.complete(first, b"1").status_code == 200
    second = api.create(space, "k.bin", 1, overwrite=True)
    answer = api.complete(second, b"2").json()
    assert answer["garbage"] == [first["object_key"]]
    # The first answer was lost: the retry is the client's only word of the replaced object.
    retried = api.complete(second, b"2").json()
    assert retried == answer
    # Still so once the file itself has been replaced again (the other replay branch).
    third = api.create(space, "k.bin", 1, overwrite=True)
    assert api.complete(third, b"3").json()["garbage"] == [second["object_key"]]
    late = api.complete(second, b"2").json()
    assert late["garbage"] == [first["object_key"]]
    assert late["object_key"] == second["object_key"]
    # An upload that replaced nothing still answers [] on a retry.
    assert api.complete(first, b"1").json()["garbage"] == []


def test_schema_2_database_gains_the_replaced_keys(tmp_path: Path) -> None:
    import sqlite3

    from jetraw.server.store import MIGRATIONS, SCHEMA_VERSION, connect

    path = tmp_path / "v2.sqlite3"
    old = sqlite3.connect(path)
    for step in MIGRATIONS[:2]:
        for statement in step.split(";"):
            if statement.strip():
                old.execute(statement)
    old.execute("INSERT INTO users VALUES ('u1', 'a@b.c', 'A', NULL, 't')")
    old.execute("INSERT INTO organisations VALUES ('o1', 'org', 't')")
    old.execute("INSERT INTO spaces VALUES ('s1', 'o1', 'sp', '{}', 't')")
    old.execute(
        "INSERT INTO uploads VALUES ('up1', 's1', 'u1', 'p', 7, 0, '{}', 1, 'objects/k', "
        "'completed', NULL, 'c', 'e', 'd')"
    )
    old.execute("PRAGMA user_version = 2")
    old.commit()
    old.close()

    conn = connect(path)
    try:
        assert SCHEMA_VERSION >= 3
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        row = conn.execute("SELECT * FROM uploads WHERE id = 'up1'").fetchone()
        assert (row["status"], row["replaced"]) == ("completed", "[]")
    finally:
        conn.close()


def test_cleanup_removes_what_a_crash_left_while_creating_a_staging(
    jetraw_platform_factory: Callable[..., LocalPlatform],
) -> None:
    """A client killed inside ``create_multipart`` (its thread between ``mkdir`` and the meta)
    leaves only ``.new-<key tag>-<id>``: never an id directory without a ``meta.json``, and the
    name alone is enough for the cleanup to find it by the aborted upload's object key."""
    platform = jetraw_platform_factory(garbage_grace_seconds=0, cleanup_interval_seconds=0)
    api = Api(platform)
    try:
        space = api.get(f"/spaces/{platform.space}").json()
        root = Path(space["storage"]["root"])
        layout = StagingLayout(root)
        crashed, other = (api.create(space, f"{n}.bin", 10, multipart=True) for n in "ab")
        bare = layout.new_dir(uuid.uuid4().hex, crashed["object_key"])
        bare.mkdir(parents=True)  # killed right after the mkdir
        with_meta = layout.new_dir(uuid.uuid4().hex, crashed["object_key"])
        (with_meta / "parts").mkdir(parents=True)
        layout.write_meta(with_meta, StagingMeta(crashed["object_key"], 10))  # before the rename
        untouched = layout.new_dir(uuid.uuid4().hex, other["object_key"])
        untouched.mkdir()
        assert layout.new_dirs(crashed["object_key"]) == sorted([bare, with_meta])

        assert api.delete(f"/uploads/{crashed['id']}").status_code == 204
        platform.cleanup()
        assert sorted(layout.base.iterdir()) == [untouched]  # the other key's: still pending
    finally:
        api.close()


def test_a_created_staging_is_complete_under_its_id(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    sid = anyio.run(partial(storage.create_multipart, "objects/k", part_size=5))
    layout = StagingLayout(tmp_path)
    assert [p.name for p in layout.base.iterdir()] == [sid]  # nothing aside
    assert layout.read_meta(sid) == StagingMeta("objects/k", 5)
    assert layout.data_path(sid).is_file()
    assert layout.parts_dir(sid).is_dir()


def _staged_one_part(storage: LocalStorage, key: str, data: bytes) -> tuple[str, list[Any]]:
    async def go() -> tuple[str, list[Any]]:
        sid = await storage.create_multipart(key, part_size=len(data))
        part = await storage.upload_part(
            key, sid, 1, memoryview(data), crc32c=google_crc32c.value(data)
        )
        return sid, [part]

    return anyio.run(go)


def test_a_complete_stopped_after_moving_the_bytes_finishes_on_the_next_try(
    tmp_path: Path,
) -> None:
    """Killed between ``os.replace(data, object)`` and removing the staging: the staging (meta,
    parts, no data) is still under its id; completing again finishes the job, not an error."""
    storage, layout, data = LocalStorage(tmp_path), StagingLayout(tmp_path), b"0123456789"
    sid, parts = _staged_one_part(storage, "objects/k", data)
    (tmp_path / "objects").mkdir()
    os.replace(layout.data_path(sid), tmp_path / "objects" / "k")  # the step that was done
    complete = partial(
        storage.complete_multipart, "objects/k", sid, parts, crc32c=google_crc32c.value(data)
    )
    anyio.run(complete)
    assert (tmp_path / "objects" / "k").read_bytes() == data
    assert list(layout.base.iterdir()) == []


def test_a_staging_vanishes_from_under_its_id_at_once_and_cleanup_sweeps_the_rest(
    jetraw_platform_factory: Callable[..., LocalPlatform], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Removing a staging (complete, abort, cleanup) renames it to ``.gone-<id>`` first: a crash
    in the middle of deleting it (here: the delete fails) leaves nothing under the id, where a
    resumed upload would take a half-deleted staging for a live one, and the next cleanup pass
    deletes the ``.gone-`` leftover in any local space."""
    platform = jetraw_platform_factory(garbage_grace_seconds=0, cleanup_interval_seconds=0)
    api = Api(platform)
    try:
        space = api.get(f"/spaces/{platform.space}").json()
        root = Path(space["storage"]["root"])
        storage, layout = LocalStorage(root), StagingLayout(root)
        upload = api.create(space, "a.bin", 10, multipart=True)
        sid, _ = _staged_one_part(storage, upload["object_key"], b"0123456789")

        def killed(path: Any, *args: Any, **kwargs: Any) -> None:
            raise OSError(errno.EIO, "killed mid-delete")

        with monkeypatch.context() as patched:
            patched.setattr("jetraw._util._staging.shutil.rmtree", killed)
            with pytest.raises(StorageError):
                anyio.run(partial(storage.abort_multipart, upload["object_key"], sid))
        assert [p.name for p in layout.base.iterdir()] == [f".gone-{sid}"]
        with pytest.raises(StorageError) as info:
            anyio.run(partial(storage.list_parts, upload["object_key"], sid))
        assert info.value.code == "NoSuchUpload"
        assert platform.cleanup()["swept_staging"] == 1
        assert list(layout.base.iterdir()) == []
    finally:
        api.close()
