"""Issue 12, finding 4: one member's batches do not stall every organisation's writes.

A batch is processed in chunks of ``BATCH_CHUNK`` items per transaction, and a process's writers
take the database's write lock in arrival order, so a small write waits for at most one chunk of
each batch ahead of it. A batch holds at most ``MAX_BATCH`` (1,000) items.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from server_support import Api, assert_problem

from jetraw.server.store import connect, transaction
from jetraw.testing import LocalPlatform

ITEMS = 1000
BATCHES = 4
BOUND_SECONDS = 5.0


def _batch(space: dict[str, Any], tag: str, n: int = ITEMS) -> dict[str, Any]:
    items = [{"path": f"{tag}/d{i % 20}/f{i}.bin", "size": 1} for i in range(n)]
    return {"uploads": items}


def test_big_batches_leave_other_organisations_writing(
    platform: LocalPlatform, other_org: dict[str, Any]
) -> None:
    spaces = [platform.create_space(f"batch-{i}-{time.time_ns() % 10**9}") for i in range(BATCHES)]
    apis = [Api(platform) for _ in range(BATCHES)]
    other: Api = other_org["api"]
    small_space = other_org["space"]
    answers: list[Any] = [None] * BATCHES
    started = threading.Event()

    def run(i: int) -> None:
        started.set()
        # Several batches one after the other: the small writes below run while they do.
        answers[i] = [
            apis[i].post(
                f"/spaces/{spaces[i]['name']}/uploads/batch", json=_batch(spaces[i], f"b{i}-{k}")
            )
            for k in range(3)
        ]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(BATCHES)]
    try:
        for thread in threads:
            thread.start()
        started.wait()
        latencies = []
        n = 0
        while any(t.is_alive() for t in threads):
            begin = time.monotonic()
            r = other.post(
                f"/spaces/{small_space['name']}/uploads",
                json={"path": f"small-{time.time_ns()}-{n}.bin", "size": 1},
            )
            latencies.append(time.monotonic() - begin)
            assert r.status_code == 201, r.text
            n += 1
        for thread in threads:
            thread.join()
    finally:
        for api in apis:
            api.close()
    for r in (r for rs in answers for r in rs):
        assert r.status_code == 200, r.text
        results = r.json()["results"]
        assert len(results) == ITEMS
        assert all(item["error"] is None for item in results)
        paths = [item["upload"]["path"] for item in results]
        assert len(set(paths)) == ITEMS  # in request order, each item once
    assert latencies, "no small write ran while the batches did"
    assert max(latencies) < BOUND_SECONDS, f"a small write waited {max(latencies):.1f} s"


def test_a_batch_is_bounded(api: Api, space: dict[str, Any]) -> None:
    r = api.post(f"/spaces/{space['name']}/uploads/batch", json=_batch(space, "x", ITEMS + 1))
    assert_problem(r, 400, "invalid_request")
    assert api.get("/uploads", params={"space": space["name"]}).json()["items"] == []
    assert_problem(
        api.post("/uploads/batch-complete", json={"uploads": []}), 400, "invalid_request"
    )


def test_items_of_a_batch_fail_alone_across_chunks(api: Api, space: dict[str, Any]) -> None:
    """A bad item in the second chunk fails alone; the others of both chunks are created."""
    body = _batch(space, "c", 250)
    body["uploads"][150] = {"path": "c/bad//path", "size": 1}
    results = api.post(f"/spaces/{space['name']}/uploads/batch", json=body).json()["results"]
    assert [i for i, item in enumerate(results) if item["error"] is not None] == [150]
    assert results[150]["error"]["code"] == "invalid_path"


def test_writers_take_turns(tmp_path: Path) -> None:
    """A writer that commits and begins again at once (a batch in chunks) lets a waiting writer
    in after its current transaction, not after all of them (SQLite's busy handler alone would
    not: the waiter sleeps through every short gap)."""
    path = tmp_path / "jetraw.db"
    batch_conn, small_conn = connect(path), connect(path)
    order: list[str] = []
    first_begun = threading.Event()

    def batch() -> None:
        for i in range(10):
            with transaction(batch_conn):
                batch_conn.execute(
                    "INSERT INTO settings (key, value) VALUES (?, '0')", (f"chunk-{i}",)
                )
                order.append(f"chunk-{i}")
                first_begun.set()
                time.sleep(0.05)

    thread = threading.Thread(target=batch)
    thread.start()
    try:
        first_begun.wait(10)
        with transaction(small_conn):
            small_conn.execute("INSERT INTO settings (key, value) VALUES ('small', '0')")
            order.append("small")
    finally:
        thread.join()
        batch_conn.close()
        small_conn.close()
    assert order.index("small") <= 2, order
