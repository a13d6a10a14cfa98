"""Data survive a restart; two server processes on one data dir do not corrupt it."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pg_support import store_connection
from server_support import Api, crc32c_hex

from jetraw.testing import LocalPlatform


def test_data_survive_a_restart(tmp_path: Path) -> None:
    with LocalPlatform(data_dir=tmp_path / "data") as platform:
        api = Api(platform)
        space = api.get("/spaces/data").json()
        file = api.put(space, "kept/file.txt", b"persistent", metadata={"a": "b"})
        api.post("/spaces/data/directories", json={"path": "empty"})
        pending = api.create(space, "pending.bin", 5)
        api.close()
        platform.restart()
        api = Api(platform)  # the same API key works after the restart
        try:
            assert api.get("/spaces/data/files/kept/file.txt").json() == {
                k: v for k, v in file.items() if k != "garbage"
            }
            assert api.get("/spaces/data/files/empty").json()["type"] == "directory"
            assert api.get(f"/uploads/{pending['id']}").json()["status"] == "pending"
            api.write_object(space, pending["object_key"], b"12345")
            assert api.complete(pending, b"12345").status_code == 200
        finally:
            api.close()
    platform.close()


def test_two_processes_on_one_data_dir(tmp_path: Path, database_url: str | None) -> None:
    data = tmp_path / "data"
    options: dict[str, Any] = {"data_dir": data, "garbage_grace_seconds": 0}
    with LocalPlatform(**options) as one, LocalPlatform(**options) as two:
        assert one.url != two.url
        assert one._proc is not None
        assert two._proc is not None
        assert one._proc.pid != two._proc.pid
        assert one.api_key == two.api_key  # one bootstrap for the data dir
        apis = [Api(one), Api(two)]
        space = apis[0].get("/spaces/data").json()
        contested = [f"contested/{i}" for i in range(5)]
        written: dict[str, set[bytes]] = {p: set() for p in contested}

        def work(n: int) -> None:
            api = apis[n % 2]
            rng = random.Random(n)
            if n % 3 == 0:
                # Many writers replacing the same few files through both processes.
                path = rng.choice(contested)
                data = f"{path}:{n}".encode()
                written[path].add(data)
                api.put(space, path, data, overwrite=True)
            elif n % 3 == 1:
                api.put(space, f"unique/{n}", f"u{n}".encode())
            else:
                paths = [f"batch/{n}/{i}" for i in range(20)]
                api.put_many(space, paths, data=f"b{n}".encode())

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(work, range(90)))

        # Both processes see the same namespace.
        listings = [api.list_all(space) for api in apis]
        assert listings[0] == listings[1]
        files = {f["path"]: f for f in listings[0]}
        assert len(files) == 5 + 30 + 30 * 20
        root = Path(space["storage"]["root"])
        for path, file in files.items():
            content = (root / file["object_key"]).read_bytes()
            assert file["size"] == len(content)
            assert file["checksum"]["crc32c"] == crc32c_hex(content)
            if path in written:
                assert content in written[path]
        # Exactly the replaced objects are garbage, never a live one.
        one.cleanup()
        two.cleanup()
        live = {f["object_key"] for f in files.values()}
        on_disk = {f"objects/{p.name}" for p in (root / "objects").iterdir()}
        assert on_disk == live
        for api in apis:
            api.close()

    db = store_connection(data, database_url)
    try:
        if database_url is None:
            assert tuple(db.execute("PRAGMA integrity_check").fetchone()) == ("ok",)
        statuses = dict(
            db.execute("SELECT status, count(*) FROM uploads GROUP BY status").fetchall()
        )
        assert statuses == {"completed": 30 + 30 + 30 * 20}
        dangling: list[Any] = db.execute(
            "SELECT f.path FROM files f LEFT JOIN uploads u ON u.id = f.upload_id "
            "WHERE f.type = 'file' AND (u.id IS NULL OR u.status != 'completed')"
        ).fetchall()
        assert dangling == []
    finally:
        db.close()
    one.close()
    two.close()


def test_two_processes_starting_at_once_on_an_empty_data_dir(
    tmp_path: Path, database_url: str | None
) -> None:
    data = tmp_path / "data"
    platforms = [LocalPlatform(data_dir=data) for _ in range(3)]
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(lambda p: p.start(), platforms))
    try:
        assert len({p.api_key for p in platforms}) == 1
        for platform in platforms:
            api = Api(platform)
            try:
                assert api.get("/me").json()["user"]["email"] == "admin@localhost"
            finally:
                api.close()
    finally:
        for platform in platforms:
            platform.close()
    db = store_connection(data, database_url)
    try:
        for table in ("users", "organisations", "spaces", "api_keys"):
            assert db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 1  # noqa: S608
    finally:
        db.close()
