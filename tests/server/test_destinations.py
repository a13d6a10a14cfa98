"""The set-based destination check of a batch of creates equals one check per item.

:func:`check_destinations` answers a whole chunk of a batch in two queries; it must refuse
exactly what :func:`check_destination` refuses, item by item, with the same problem, for any
namespace (files, explicit directories, nested paths) and any mix of ``overwrite``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jetraw.server._problems import Problem
from jetraw.server.store import check_destination, check_destinations, connect

# The SQL is the same on PostgreSQL, where the batch endpoints' tests run it; this checks the
# logic against the one-by-one version on many generated namespaces.
pytestmark = pytest.mark.sqlite_only

SPACE = "space-1"
_segment = st.sampled_from(["a", "b", "a0", "a-", "ab", "é"])
_path = st.lists(_segment, min_size=1, max_size=3).map("/".join)


@pytest.fixture(scope="module")
def conn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    db = connect(Path(tmp_path_factory.mktemp("destinations")) / "jetraw.db")
    db.execute("PRAGMA foreign_keys = OFF")  # rows of a space that exists only here
    yield db
    db.close()


def _one(conn: Any, path: str, overwrite: bool) -> tuple[str, str] | None:
    try:
        check_destination(conn, SPACE, path, overwrite=overwrite, space_name="data")
    except Problem as exc:
        return exc.code, exc.detail
    return None


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    files=st.sets(_path, max_size=6),
    directories=st.sets(_path, max_size=2),
    items=st.lists(st.tuples(_path, st.booleans()), min_size=1, max_size=8),
)
def test_a_batch_is_refused_exactly_as_one_by_one(
    conn: Any, files: set[str], directories: set[str], items: list[tuple[str, bool]]
) -> None:
    conn.execute("DELETE FROM files")
    stamp = "2026-12-08T00:00:00Z"
    for path in files:
        conn.execute(
            "INSERT INTO files (space_id, path, type, created_at, modified_at) "
            "VALUES (?, ?, 'file', ?, ?)",
            (SPACE, path, stamp, stamp),
        )
    for path in directories - files:
        conn.execute(
            "INSERT INTO files (space_id, path, type, created_at, modified_at) "
            "VALUES (?, ?, 'directory', ?, ?)",
            (SPACE, path + "/", stamp, stamp),
        )
    batch = check_destinations(conn, SPACE, items, space_name="data")
    got = [None if p is None else (p.code, p.detail) for p in batch]
    assert got == [_one(conn, path, overwrite) for path, overwrite in items]


class _OldSqlite:
    """A connection that refuses what SQLite 3.34 does not know."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def execute(self, sql: str, parameters: Any = ()) -> Any:
        if "RETURNING" in sql.upper():
            raise AssertionError(f"RETURNING sent to an SQLite without it: {sql[:60]}")
        return self._conn.execute(sql, parameters)


@pytest.mark.parametrize("returning", [True, False], ids=["returning", "sqlite-before-3.35"])
def test_creates_and_completes_without_insert_returning(
    conn: Any, returning: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite before 3.35 has no ``INSERT ... RETURNING``: the rows written are selected instead,
    with the same answers (Debian 11's Python has SQLite 3.34)."""
    from jetraw.server.store import NewUpload, _db, complete_upload, create_uploads

    monkeypatch.setattr(_db, "SQLITE_RETURNING", returning)
    if not returning:
        conn = _OldSqlite(conn)
    conn.execute("DELETE FROM files")
    conn.execute("DELETE FROM uploads")
    space = {"id": SPACE, "name": "data", "storage": '{"type": "s3", "bucket": "b"}'}
    items = [NewUpload(f"d/f{i}", 1, False, {"k": str(i)}, False) for i in range(95)]
    items.append(NewUpload("d", 1, False, {}, False))  # refused: "d" holds the others
    conn.execute(
        "INSERT INTO files (space_id, path, type, created_at, modified_at) "
        "VALUES (?, 'd/x', 'file', 'z', 'z')",
        (SPACE,),
    )
    answers = create_uploads(
        conn, space=space, user_id="u", items=items, now=1_700_000_000.0, expiry_seconds=60.0
    )
    assert isinstance(answers[-1], Problem)
    assert answers[-1].code == "is_a_directory"
    rows = answers[:-1]
    assert [r["path"] for r in rows] == [f"d/f{i}" for i in range(95)]  # 90 + 5: two INSERTs
    assert all(
        r["status"] == "pending" and r["metadata"] == f'{{"k": "{i}"}}' for i, r in enumerate(rows)
    )
    file, problem, newly = complete_upload(
        conn,
        rows[3],
        space,
        size=1,
        checksum={"crc32c": "00000001"},
        now=1_700_000_001.0,
        delete_after=0.0,
    )
    assert problem is None
    assert newly
    assert file is not None
    assert file["path"] == "d/f3"
    assert file["upload_id"] == rows[3]["id"]
    assert file["metadata"] == {"k": "3"}
    assert file["garbage"] == []
