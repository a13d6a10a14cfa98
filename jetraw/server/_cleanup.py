"""Cleanup: expire stale pending uploads and remove unreferenced objects after a grace period.

Runs periodically in every server process (SQLite serialises them; each step is idempotent) and
on demand (``POST /admin/v1/cleanup``, ``LocalPlatform.cleanup()``). Objects in local storage are
deleted here. The server holds no S3 credentials, so garbage in S3 spaces is only forgotten
after the grace period: the client was told about it (``garbage`` in the answers of complete,
move and delete) and removes it, and a bucket lifecycle rule catches stale multipart uploads.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import anyio
import anyio.to_thread

from jetraw.server._db import transaction
from jetraw.server._runtime import now, rfc3339
from jetraw.server._spaces import local_root
from jetraw.server._state import AppState

__all__ = ["periodic_cleanup", "run_cleanup"]

log = logging.getLogger("jetraw.server.cleanup")


def run_cleanup(state: AppState) -> dict[str, Any]:
    """One cleanup pass. Returns counts: ``expired_uploads``, ``deleted_objects``, ``forgotten``."""
    conn = state.db.conn()
    moment = now(state)
    grace = state.settings.garbage_grace_seconds
    with transaction(conn):
        expired = conn.execute(
            "SELECT id, space_id, object_key, storage_upload_id FROM uploads "
            "WHERE status = 'pending' AND expires_at <= ?",
            (rfc3339(moment),),
        ).fetchall()
        for row in expired:
            conn.execute("UPDATE uploads SET status = 'aborted' WHERE id = ?", (row["id"],))
            conn.execute(
                "INSERT INTO garbage (space_id, object_key, storage_upload_id, delete_after) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (space_id, object_key) DO NOTHING",
                (row["space_id"], row["object_key"], row["storage_upload_id"], moment + grace),
            )
    due = conn.execute(
        "SELECT g.space_id, g.object_key, s.storage, s.id, s.name FROM garbage g "
        "JOIN spaces s ON s.id = g.space_id WHERE g.delete_after <= ?",
        (moment,),
    ).fetchall()
    deleted = forgotten = 0
    for row in due:
        with transaction(conn):
            # An object still named by a file is never garbage (defensive: keys are unique).
            live = conn.execute(
                "SELECT 1 FROM files WHERE space_id = ? AND object_key = ?",
                (row["space_id"], row["object_key"]),
            ).fetchone()
            root = local_root(row)
            if live is None and root is not None:
                try:
                    os.unlink(root / row["object_key"])
                    deleted += 1
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    log.warning("cannot delete %s: %s", row["object_key"], exc.strerror)
                    continue
            elif live is None:
                forgotten += 1
            conn.execute(
                "DELETE FROM garbage WHERE space_id = ? AND object_key = ?",
                (row["space_id"], row["object_key"]),
            )
    return {"expired_uploads": len(expired), "deleted_objects": deleted, "forgotten": forgotten}


async def periodic_cleanup(state: AppState) -> None:
    """Run :func:`run_cleanup` every ``cleanup_interval_seconds`` until cancelled."""
    interval = state.settings.cleanup_interval_seconds
    if interval <= 0:
        return
    while True:
        await anyio.sleep(interval)
        try:
            await anyio.to_thread.run_sync(run_cleanup, state)
        except Exception:
            log.exception("cleanup failed")
