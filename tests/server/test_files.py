"""The file namespace over real HTTP: list (prefix, delimiter, cursor), stat, metadata, delete,
directories, move."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from server_support import Api, assert_problem


def _paths(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(i["path"], i["type"]) for i in items]


def test_listing_2500_files_with_pagination_and_delimiter(api: Api, space: dict[str, Any]) -> None:
    flat = [f"flat/{i:05d}.tif" for i in range(2500)]
    nested = [f"flat/sub{i}/x.tif" for i in range(3)] + ["other/y.tif", "top.tif"]
    api.put_many(space, flat + nested)
    name = space["name"]

    pages = []
    cursor = None
    while True:
        params: dict[str, Any] = {"prefix": "flat/", "delimiter": "/", "limit": 1000}
        if cursor:
            params["cursor"] = cursor
        page = api.get(f"/spaces/{name}/files", params=params).json()
        pages.append(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [len(p) for p in pages] == [1000, 1000, 503]
    listed = [item for page in pages for item in page]
    assert _paths(listed) == [(p, "file") for p in flat] + [
        (f"flat/sub{i}", "directory") for i in range(3)
    ]
    assert listed[0]["size"] == 1
    assert listed[0]["object_key"].startswith("objects/")

    top = api.get(f"/spaces/{name}/files", params={"delimiter": "/"}).json()
    assert _paths(top["items"]) == [
        ("flat", "directory"),
        ("other", "directory"),
        ("top.tif", "file"),
    ]
    assert top["next_cursor"] is None

    # Without a delimiter: every file under the prefix, in order, across pages of 999.
    everything = api.list_all(space, prefix="flat/", limit=999)
    assert [i["path"] for i in everything] == sorted(flat + nested[:3])

    # A page boundary right at a collapsed directory.
    small = api.get(f"/spaces/{name}/files", params={"delimiter": "/", "limit": 1}).json()
    assert _paths(small["items"]) == [("flat", "directory")]
    following = api.get(
        f"/spaces/{name}/files",
        params={"delimiter": "/", "limit": 1, "cursor": small["next_cursor"]},
    ).json()
    assert _paths(following["items"]) == [("other", "directory")]


def test_listing_order_is_bytewise_and_directories_sort_as_prefixes(
    api: Api, space: dict[str, Any]
) -> None:
    api.put_many(space, ["a/b.txt", "a/b/c.txt", "a/b-c", "a/é", "a/Z", "a/z"])
    api.post(f"/spaces/{space['name']}/directories", json={"path": "a/empty"})
    items = api.list_all(space, prefix="a/", delimiter="/")
    assert _paths(items) == [
        ("a/Z", "file"),
        ("a/b-c", "file"),
        ("a/b.txt", "file"),
        ("a/b", "directory"),
        ("a/empty", "directory"),
        ("a/z", "file"),
        ("a/é", "file"),
    ]
    flat = api.list_all(space, prefix="a/")
    assert ("a/empty", "directory") in _paths(flat)
    assert ("a/b/c.txt", "file") in _paths(flat)
    # Inside an explicit directory, the directory itself is not listed.
    assert api.list_all(space, prefix="a/empty/", delimiter="/") == []
    # A raw prefix matches parts of names.
    assert [i["path"] for i in api.list_all(space, prefix="a/b")] == [
        "a/b-c",
        "a/b.txt",
        "a/b/c.txt",
    ]


def test_stat(api: Api, space: dict[str, Any]) -> None:
    api.put(space, "d/e/f.txt", b"f")
    name = space["name"]
    assert api.get(f"/spaces/{name}/files/d/e/f.txt").json()["type"] == "file"
    assert api.get(f"/spaces/{name}/files/d").json() == {"path": "d", "type": "directory"}
    assert api.get(f"/spaces/{name}/files/d/e").json() == {"path": "d/e", "type": "directory"}
    assert_problem(api.get(f"/spaces/{name}/files/d/e/f"), 404, "file_not_found")
    assert_problem(api.get(f"/spaces/{name}/files/nope"), 404, "file_not_found")
    # URL-encoded names round-trip.
    api.put(space, "sp ace/ü #?.txt", b"u")
    r = api.get(f"/spaces/{name}/files/sp%20ace/%C3%BC%20%23%3F.txt")
    assert r.status_code == 200
    assert r.json()["path"] == "sp ace/ü #?.txt"


def test_unicode_is_normalised_to_nfc(api: Api, space: dict[str, Any]) -> None:
    decomposed = "cafe\u0301.txt"
    file = api.put(space, decomposed, b"c")
    assert file["path"] == "caf\u00e9.txt"
    assert api.get(f"/spaces/{space['name']}/files/{decomposed}").status_code == 200
    upload = api.post(f"/spaces/{space['name']}/uploads", json={"path": "caf\u00e9.txt", "size": 1})
    assert_problem(upload, 409, "file_exists")


def test_metadata(api: Api, space: dict[str, Any]) -> None:
    api.put(space, "m.txt", b"m", metadata={"a": "1"})
    name = space["name"]
    r = api.patch(f"/spaces/{name}/files/m.txt", json={"metadata": {"b": "2", "ü": "ö"}})
    assert r.status_code == 200, r.text
    assert r.json()["metadata"] == {"b": "2", "ü": "ö"}
    assert api.get(f"/spaces/{name}/files/m.txt").json()["metadata"] == {"b": "2", "ü": "ö"}
    for bad in (
        {"metadata": {f"k{i}": "v" for i in range(65)}},
        {"metadata": {"k" * 129: "v"}},
        {"metadata": {"k": "v" * 1025}},
        {"metadata": {"": "v"}},
        {"metadata": {"k": 1}},
        {"metadata": ["k"]},
        {},
    ):
        assert_problem(api.patch(f"/spaces/{name}/files/m.txt", json=bad), 400, "invalid_request")
    assert api.get(f"/spaces/{name}/files/m.txt").json()["metadata"] == {"b": "2", "ü": "ö"}
    assert_problem(
        api.patch(f"/spaces/{name}/files/none.txt", json={"metadata": {}}), 404, "file_not_found"
    )


def test_delete(api: Api, space: dict[str, Any]) -> None:
    name = space["name"]
    api.put_many(space, ["t/a", "t/b/c", "t/b/d", "keep"])
    assert_problem(api.delete(f"/spaces/{name}/files/t"), 409, "is_a_directory")
    r = api.delete(f"/spaces/{name}/files/t/a")
    assert r.status_code == 200
    assert r.json()["deleted"] == 1
    assert_problem(api.delete(f"/spaces/{name}/files/t/a"), 404, "file_not_found")
    r = api.delete(f"/spaces/{name}/files/t", params={"recursive": "true"})
    assert r.status_code == 200
    assert r.json()["deleted"] == 2
    assert [i["path"] for i in api.list_all(space)] == ["keep"]


def test_directories(api: Api, space: dict[str, Any]) -> None:
    name = space["name"]
    r = api.post(f"/spaces/{name}/directories", json={"path": "new/dir"})
    assert r.status_code == 201
    assert r.json() == {"path": "new/dir", "type": "directory"}
    assert api.get(f"/spaces/{name}/files/new/dir").json()["type"] == "directory"
    assert api.get(f"/spaces/{name}/files/new").json()["type"] == "directory"
    assert_problem(
        api.post(f"/spaces/{name}/directories", json={"path": "new/dir"}), 409, "file_exists"
    )
    again = api.post(f"/spaces/{name}/directories", json={"path": "new/dir", "exist_ok": True})
    assert again.status_code == 201
    # A file cannot be created where a directory is, nor below a file.
    assert_problem(
        api.post(f"/spaces/{name}/uploads", json={"path": "new/dir", "size": 1}),
        409,
        "is_a_directory",
    )
    api.put(space, "new/dir/f", b"f")
    assert_problem(
        api.post(f"/spaces/{name}/uploads", json={"path": "new/dir/f/g", "size": 1}),
        409,
        "not_a_directory",
    )
    assert_problem(
        api.post(f"/spaces/{name}/directories", json={"path": "new/dir/f/g"}),
        409,
        "not_a_directory",
    )
    assert_problem(api.delete(f"/spaces/{name}/directories/new/dir"), 409, "directory_not_empty")
    assert_problem(api.delete(f"/spaces/{name}/directories/new/dir/f"), 409, "not_a_directory")
    api.delete(f"/spaces/{name}/files/new/dir/f")
    # The explicit directory survives its last file, like a real one.
    assert api.get(f"/spaces/{name}/files/new/dir").json()["type"] == "directory"
    assert api.delete(f"/spaces/{name}/directories/new/dir").status_code == 204
    assert_problem(api.get(f"/spaces/{name}/files/new/dir"), 404, "file_not_found")
    assert_problem(api.delete(f"/spaces/{name}/directories/new/dir"), 404, "file_not_found")


def test_move_touches_no_bytes(api: Api, space: dict[str, Any]) -> None:
    name = space["name"]
    src = api.put(space, "a/src.txt", b"payload", metadata={"x": "y"})
    r = api.post(f"/spaces/{name}/move", json={"source": "a/src.txt", "destination": "b/dst.txt"})
    assert r.status_code == 200, r.text
    moved = r.json()
    assert moved["path"] == "b/dst.txt"
    assert moved["object_key"] == src["object_key"]
    assert moved["metadata"] == {"x": "y"}
    assert moved["garbage"] == []
    assert (Path(space["storage"]["root"]) / src["object_key"]).read_bytes() == b"payload"
    assert_problem(api.get(f"/spaces/{name}/files/a/src.txt"), 404, "file_not_found")

    other = api.put(space, "c.txt", b"c")
    body = {"source": "b/dst.txt", "destination": "c.txt"}
    assert_problem(api.post(f"/spaces/{name}/move", json=body), 409, "file_exists")
    r = api.post(f"/spaces/{name}/move", json={**body, "overwrite": True})
    assert r.status_code == 200
    assert r.json()["object_key"] == src["object_key"]
    assert api.get(f"/spaces/{name}/files/c.txt").json()["object_key"] != other["object_key"]
    assert_problem(
        api.post(f"/spaces/{name}/move", json={"source": "nope", "destination": "x"}),
        404,
        "file_not_found",
    )
    api.put(space, "dir/in.txt", b"i")
    assert_problem(
        api.post(f"/spaces/{name}/move", json={"source": "dir", "destination": "x"}),
        409,
        "is_a_directory",
    )
    assert_problem(
        api.post(f"/spaces/{name}/move", json={"source": "c.txt", "destination": "dir"}),
        409,
        "is_a_directory",
    )
    assert_problem(
        api.post(f"/spaces/{name}/move", json={"source": "c.txt", "destination": "../c"}),
        400,
        "invalid_path",
    )
