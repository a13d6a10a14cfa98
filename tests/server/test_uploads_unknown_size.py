"""Uploads of unknown size (``"size": null``, multipart only): complete sets the size.

Only the ``api``/``space``/``platform`` fixtures are used (no helper module), so this file does not
depend on how the shared helpers are organised.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import google_crc32c
import httpx


def _crc(data: bytes) -> str:
    return f"{google_crc32c.value(data):08x}"


def _problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    return body


def _create(api: Any, space: dict[str, Any], body: dict[str, Any]) -> httpx.Response:
    response: httpx.Response = api.post(f"/spaces/{space['name']}/uploads", json=body)
    return response


def _complete(api: Any, upload_id: str, size: int, crc: str) -> httpx.Response:
    response: httpx.Response = api.post(
        f"/uploads/{upload_id}/complete", json={"size": size, "checksum": {"crc32c": crc}}
    )
    return response


def test_null_size_multipart_then_complete_sets_the_size(api: Any, space: dict[str, Any]) -> None:
    data = b"streamed bytes " * 1000
    r = _create(api, space, {"path": "s/stream.bin", "size": None, "multipart": True})
    assert r.status_code == 201, r.text
    upload = r.json()
    assert upload["size"] is None
    assert upload["multipart"] is True
    assert upload["status"] == "pending"
    assert api.get(f"/uploads/{upload['id']}").json()["size"] is None
    pending = api.get("/uploads", params={"space": space["name"], "status": "pending"}).json()
    assert [u["size"] for u in pending["items"] if u["id"] == upload["id"]] == [None]

    api.write_object(space, upload["object_key"], data)
    r = _complete(api, upload["id"], len(data), _crc(data))
    assert r.status_code == 200, r.text
    file = r.json()
    assert file["size"] == len(data)
    assert file["checksum"]["crc32c"] == _crc(data)
    stat = api.get(f"/spaces/{space['name']}/files/s/stream.bin").json()
    assert stat["size"] == len(data)
    done = api.get(f"/uploads/{upload['id']}").json()
    assert done["status"] == "completed"
    assert done["size"] == len(data)
    # Completing again is idempotent; the size is now fixed, so another one is a mismatch.
    again = _complete(api, upload["id"], len(data), _crc(data))
    assert again.status_code == 200, again.text
    assert again.json() == file
    _problem(_complete(api, upload["id"], len(data) + 1, _crc(data)), 409, "size_mismatch")


def test_null_size_is_still_checked_against_the_stored_object(
    api: Any, space: dict[str, Any]
) -> None:
    r = _create(api, space, {"path": "checked.bin", "size": None, "multipart": True})
    assert r.status_code == 201, r.text
    upload = r.json()
    _problem(_complete(api, upload["id"], 3, _crc(b"abc")), 409, "object_missing")
    target: Path = api.write_object(space, upload["object_key"], b"abcd")
    assert target.stat().st_size == 4
    _problem(_complete(api, upload["id"], 3, _crc(b"abc")), 409, "size_mismatch")
    # Still pending and unsized after the refusals; the right size completes it.
    assert api.get(f"/uploads/{upload['id']}").json()["size"] is None
    r = _complete(api, upload["id"], 4, _crc(b"abcd"))
    assert r.status_code == 200, r.text
    assert r.json()["size"] == 4


def test_zero_byte_stream(api: Any, space: dict[str, Any]) -> None:
    r = _create(api, space, {"path": "empty.bin", "size": None, "multipart": True})
    upload = r.json()
    api.write_object(space, upload["object_key"], b"")
    r = _complete(api, upload["id"], 0, _crc(b""))
    assert r.status_code == 200, r.text
    assert r.json()["size"] == 0


def test_null_size_needs_multipart(api: Any, space: dict[str, Any]) -> None:
    body = _problem(_create(api, space, {"path": "x.bin", "size": None}), 400, "invalid_request")
    assert "multipart" in body["detail"]
    _problem(
        _create(api, space, {"path": "x.bin", "size": None, "multipart": False}),
        400,
        "invalid_request",
    )
    # The field is still required: null must be said, not implied.
    _problem(_create(api, space, {"path": "x.bin", "multipart": True}), 400, "invalid_request")
    # Only null is new: the other rules on size stand.
    _problem(
        _create(api, space, {"path": "x.bin", "size": -1, "multipart": True}),
        400,
        "invalid_request",
    )
    _problem(
        _create(api, space, {"path": "x.bin", "size": "5", "multipart": True}),
        400,
        "invalid_request",
    )
    # A complete must always name the size.
    r = _create(api, space, {"path": "y.bin", "size": None, "multipart": True})
    upload_id = r.json()["id"]
    _problem(
        api.post(
            f"/uploads/{upload_id}/complete",
            json={"size": None, "checksum": {"crc32c": _crc(b"")}},
        ),
        400,
        "invalid_request",
    )
    _problem(api.get(f"/spaces/{space['name']}/files/x.bin"), 404, "file_not_found")


def test_batch_create_items_with_null_size(api: Any, space: dict[str, Any]) -> None:
    ok = api.post(
        f"/spaces/{space['name']}/uploads/batch",
        json={"uploads": [{"path": "b1.bin", "size": None, "multipart": True}]},
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["results"][0]["upload"]["size"] is None
    bad = api.post(
        f"/spaces/{space['name']}/uploads/batch",
        json={
            "uploads": [
                {"path": "b2.bin", "size": 1},
                {"path": "b3.bin", "size": None},
            ]
        },
    )
    _problem(bad, 400, "invalid_request")


def test_null_size_upload_aborts(api: Any, space: dict[str, Any]) -> None:
    upload = _create(api, space, {"path": "gone.bin", "size": None, "multipart": True}).json()
    assert api.delete(f"/uploads/{upload['id']}").status_code == 204
    got = api.get(f"/uploads/{upload['id']}").json()
    assert got["status"] == "aborted"
    assert got["size"] is None
    _problem(_complete(api, upload["id"], 0, _crc(b"")), 409, "upload_not_pending")


def test_schema_1_database_migrates_with_its_uploads(tmp_path: Path) -> None:
    import sqlite3

    from jetraw.server.store import MIGRATIONS, SCHEMA_VERSION, connect

    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    for statement in MIGRATIONS[0].split(";"):
        if statement.strip():
            old.execute(statement)
    old.execute("INSERT INTO users VALUES ('u1', 'a@b.c', 'A', NULL, 't')")
    old.execute("INSERT INTO organisations VALUES ('o1', 'org', 't')")
    old.execute("INSERT INTO spaces VALUES ('s1', 'o1', 'sp', '{}', 't')")
    old.execute(
        "INSERT INTO uploads VALUES ('up1', 's1', 'u1', 'p', 7, 0, '{}', 1, 'objects/k', "
        "'pending', 'mp', 'c', 'e', NULL)"
    )
    old.execute("PRAGMA user_version = 1")
    old.commit()
    old.close()

    conn = connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        row = conn.execute("SELECT * FROM uploads WHERE id = 'up1'").fetchone()
        assert (row["size"], row["storage_upload_id"], row["object_key"]) == (7, "mp", "objects/k")
        conn.execute("UPDATE uploads SET size = NULL WHERE id = 'up1'")
        indexes = {r[1] for r in conn.execute("PRAGMA index_list(uploads)")}
        assert "uploads_user_status" in indexes
    finally:
        conn.close()
