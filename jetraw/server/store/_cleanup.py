"""Cleanup: expire stale pending uploads and remove unreferenced objects after a grace period.

Runs periodically in every server process (the write lock serialises them, on SQLite and on
PostgreSQL, and each object is deleted and counted by the one pass that removes its row) and
on demand (``POST /admin/v1/cleanup``, ``LocalPlatform.cleanup()``). Objects in local storage are
deleted here, and so is the staging directory of a retired (expired or aborted) multipart upload
in a local space (it holds up to the whole file's bytes), found by the object key its
``meta.json`` records (or its ``.new-`` name tags), never by a client-reported id; every pass
also deletes what a crash left half-removed (``.gone-*``) in any local space. The server holds
no S3 credentials, so garbage in S3 spaces is only forgotten after the grace period: the client
was told about it (``garbage`` in the answers of complete, move and delete) and removes it, and
a bucket lifecycle rule catches stale multipart uploads.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from jetraw._util import StagingLayout
from jetraw.server._settings import ServerSettings
from jetraw.server.store._db import Database, rfc3339, transaction
from jetraw.server.store._grants import abort_multipart, delete_object
from jetraw.server.store._spaces import granted, local_root

__all__ = ["periodic_cleanup", "run_cleanup"]

log = logging.getLogger("jetraw.server.cleanup")


class _Staging:
    """The staging directories of the local spaces seen in one cleanup pass, found by object key.

    Only by the ``key`` in each ``meta.json`` under the upload's own space root, never by the
    storage upload id a client recorded (``PATCH /uploads/{id}``): that id is the client's word,
    and a directory found by it alone may be anyone's in-progress upload. Object keys are the
    server's (``objects/<uuid>``), so a matching ``meta.json`` is this upload's staging, also when
    the client crashed before recording an id. Each root is scanned once per pass, not once per
    object. The layout is the SDK's local storage's (:class:`jetraw._util.StagingLayout`).
    """

    def __init__(self) -> None:
        self._by_root: dict[Path, dict[str, list[Path]]] = {}

    def find(self, root: Path, object_key: str) -> list[Path]:
        index = self._by_root.get(root)
        if index is None:
            layout = StagingLayout(root)
            index = self._by_root[root] = {}
            for upload_id, meta in layout.iter_uploads():
                if meta is not None:
                    index.setdefault(meta.key, []).append(layout.upload_dir(upload_id))
        # Plus what a crash left while creating one (named by the key's tag, meta or not).
        return [*index.get(object_key, ()), *StagingLayout(root).new_dirs(object_key)]


def _remove_local(root: Path, object_key: str, staging: list[Path]) -> bool:
    """Delete an object's staging and bytes; True if the object file existed. Raises OSError."""
    layout = StagingLayout(root)
    for directory in staging:
        layout.retire(directory)
    try:
        os.unlink(root / object_key)
    except FileNotFoundError:
        return False
    return True


def _remove_granted(descriptor: dict[str, Any], row: Any) -> None:
    """Abort the multipart upload and delete the object of a space whose keys the server holds."""
    if row["storage_upload_id"]:
        abort_multipart(descriptor, row["object_key"], row["storage_upload_id"])
    delete_object(descriptor, row["object_key"])


def run_cleanup(db: Database, settings: ServerSettings) -> dict[str, Any]:
    """One cleanup pass. Returns counts: ``expired_uploads``, ``deleted_objects``, ``forgotten``."""
    conn = db.conn()
    moment = settings.clock()
    grace = settings.garbage_grace_seconds
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
        "SELECT g.space_id, g.object_key, g.storage_upload_id, s.storage, s.id, s.name "
        "FROM garbage g "
        "JOIN spaces s ON s.id = g.space_id WHERE g.delete_after <= ?",
        (moment,),
    ).fetchall()
    deleted = forgotten = 0
    staging = _Staging()
    for row in due:
        with transaction(conn):
            # Another process (instance) may have taken this one since the read above: under
            # the write lock, only the process that still finds the row deletes and counts it.
            if (
                conn.execute(
                    "SELECT 1 FROM garbage WHERE space_id = ? AND object_key = ?",
                    (row["space_id"], row["object_key"]),
                ).fetchone()
                is None
            ):
                continue
            # An object still named by a file is never garbage (defensive: keys are unique).
            live = conn.execute(
                "SELECT 1 FROM files WHERE space_id = ? AND object_key = ?",
                (row["space_id"], row["object_key"]),
            ).fetchone()
            root = local_root(row)
            if live is None and root is not None:
                try:
                    dirs = staging.find(root, row["object_key"])
                    deleted += _remove_local(root, row["object_key"], dirs)
                except OSError as exc:
                    log.warning("cannot delete %s: %s", row["object_key"], exc.strerror)
                    continue
            elif live is None and granted(json.loads(row["storage"])):
                try:
                    _remove_granted(json.loads(row["storage"]), row)
                except Exception as exc:
                    log.warning("cannot delete %s: %s", row["object_key"], type(exc).__name__)
                    continue
                deleted += 1
            elif live is None:
                forgotten += 1
            conn.execute(
                "DELETE FROM garbage WHERE space_id = ? AND object_key = ?",
                (row["space_id"], row["object_key"]),
            )
    swept = _sweep_local_spaces(conn)
    # Rate-limit windows (PostgreSQL) without a hit in the last minute count nothing any more.
    conn.execute("DELETE FROM rate_limits WHERE updated_at <= ?", (moment - 60.0,))
    return {
        "expired_uploads": len(expired),
        "deleted_objects": deleted,
        "forgotten": forgotten,
        "swept_staging": swept,
    }


def _sweep_local_spaces(conn: Any) -> int:
    """Delete the half-removed staging (``.gone-*``) a crash left in any local space."""
    swept = 0
    for row in conn.execute("SELECT storage FROM spaces").fetchall():
        root = local_root(row)
        if root is not None:
            swept += StagingLayout(root).sweep()
    return swept


async def periodic_cleanup(db: Database, settings: ServerSettings) -> None:
    """Run :func:`run_cleanup` every ``cleanup_interval_seconds`` until cancelled."""
    interval = settings.cleanup_interval_seconds
    if interval <= 0:
        return
    while True:
        await anyio.sleep(interval)
        try:
            await anyio.to_thread.run_sync(run_cleanup, db, settings)
        except Exception:
            log.exception("cleanup failed")
