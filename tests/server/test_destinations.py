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
