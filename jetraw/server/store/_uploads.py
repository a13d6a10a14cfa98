"""The upload life cycle: create → (client writes storage) → complete | abort | expire.

A file row appears only in :func:`complete_upload`, inside the caller's transaction, so an
overwrite swaps the object atomically. Every function here works on one upload and never raises
after it has written: errors found late come back as a :class:`Problem` value, so a batch can
share one transaction.
"""

from __future__ import annotations

import dataclasses
import json
import os
import uuid
from collections.abc import Sequence
from typing import Any

from jetraw.server._problems import Problem
from jetraw.server.store._db import Connection, Row, has_returning, rfc3339
from jetraw.server.store._files import (
    add_garbage,
    check_destination,
    check_destinations,
    file_json,
)
from jetraw.server.store._grants import verify_object
from jetraw.server.store._paths import normalise_path
from jetraw.server.store._spaces import granted_storage, local_root

__all__ = [
    "BatchMemo",
    "NewUpload",
    "abort_upload",
    "complete_upload",
    "create_upload",
    "create_uploads",
    "find_upload",
    "upload_json",
]


@dataclasses.dataclass
class BatchMemo:
    """What the items of one batch may share within one transaction (never across two).

    The uploads of a batch of completes mostly share their space and their directories: each
    space row is read once, and each ancestor directory is checked once for being a file (a file
    committed in the batch at such a path is taken back out, so a later item still sees it).
    """

    spaces: dict[str, Row] = dataclasses.field(default_factory=dict)
    not_files: set[tuple[str, str]] = dataclasses.field(default_factory=set)


def upload_json(row: Row, space_name: str, file: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": row["id"],
        "space": space_name,
        "path": row["path"],
        "size": row["size"],
        "object_key": row["object_key"],
        "status": row["status"],
        "storage_upload_id": row["storage_upload_id"],
        "overwrite": bool(row["overwrite"]),
        "multipart": bool(row["multipart"]),
        "metadata": json.loads(row["metadata"]),
        "created_at": row["created_at"],
        "expires_at": row["expires_at"],
        "completed_at": row["completed_at"],
    }
    if file is not None:
        body["file"] = file
    return body


@dataclasses.dataclass(frozen=True)
class NewUpload:
    """One upload to create: what ``POST .../uploads`` (or an item of a batch) asks for."""

    path: str
    size: int | None
    overwrite: bool
    metadata: dict[str, str]
    multipart: bool


def create_upload(
    conn: Connection,
    *,
    space: Row,
    user_id: str,
    path: str,
    size: int | None,
    overwrite: bool,
    metadata: dict[str, str],
    multipart: bool,
    now: float,
    expiry_seconds: float,
) -> Row:
    """Register a pending upload; ``409`` at once if the destination cannot take the file.

    ``size`` is ``None`` for a streaming (multipart) upload: :func:`complete_upload` sets it.
    """
    item = NewUpload(path, size, overwrite, metadata, multipart)
    (answer,) = create_uploads(
        conn, space=space, user_id=user_id, items=[item], now=now, expiry_seconds=expiry_seconds
    )
    if isinstance(answer, Problem):
        raise answer
    return answer


def create_uploads(
    conn: Connection,
    *,
    space: Row,
    user_id: str,
    items: Sequence[NewUpload],
    now: float,
    expiry_seconds: float,
) -> list[Row | Problem]:
    """Register many pending uploads at once: each item's row, or the problem refusing it.

    Items are independent (one refused never stops another) and creating an upload changes no
    file, so the destinations are all checked against the namespace as it is: in two queries for
    the whole list, then one insert (a batch of 100 cost ~5 statements per item one by one).
    """
    answers: list[Row | Problem | None] = [None] * len(items)
    paths: list[tuple[int, str]] = []
    for i, item in enumerate(items):
        try:
            paths.append((i, normalise_path(item.path)))
        except Problem as exc:
            answers[i] = exc
    problems = check_destinations(
        conn, space["id"], [(p, items[i].overwrite) for i, p in paths], space_name=space["name"]
    )
    created, expires = rfc3339(now), rfc3339(now + expiry_seconds)
    values: list[tuple[int, tuple[Any, ...]]] = []
    for (i, path), problem in zip(paths, problems, strict=True):
        if problem is not None:
            answers[i] = problem
            continue
        item = items[i]
        values.append(
            (
                i,
                (
                    uuid.uuid4().hex,
                    space["id"],
                    user_id,
                    path,
                    item.size,
                    int(item.overwrite),
                    json.dumps(item.metadata),
                    int(item.multipart),
                    f"objects/{uuid.uuid4().hex}",
                    created,
                    expires,
                ),
            )
        )
    rows = _insert_uploads(conn, [v for _, v in values])
    for i, v in values:
        answers[i] = rows[v[0]]
    return [a for a in answers if a is not None]


#: Rows per INSERT: 11 values each, within the 999 parameters of SQLite before 3.32.
_INSERT_ROWS = 90


def _insert_uploads(conn: Connection, values: Sequence[tuple[Any, ...]]) -> dict[str, Row]:
    """Insert pending uploads (one multi-row INSERT per 90); their rows by id."""
    rows: dict[str, Row] = {}
    returning = has_returning(conn)
    for start in range(0, len(values), _INSERT_ROWS):
        chunk = values[start : start + _INSERT_ROWS]
        marks = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)"] * len(chunk))
        cursor = conn.execute(
            "INSERT INTO uploads (id, space_id, user_id, path, size, overwrite, metadata, "  # noqa: S608
            f"multipart, object_key, status, created_at, expires_at) VALUES {marks}"
            + (" RETURNING *" if returning else ""),
            [value for row in chunk for value in row],
        )
        if not returning:
            ids = [row[0] for row in chunk]
            cursor = conn.execute(
                f"SELECT * FROM uploads WHERE id IN ({', '.join(['?'] * len(ids))})",  # noqa: S608
                ids,
            )
        rows.update((row["id"], row) for row in cursor.fetchall())
    return rows


def find_upload(
    conn: Connection,
    upload_id: str,
    *,
    user_id: str,
    organisation_id: str,
    memo: BatchMemo | None = None,
) -> tuple[Row, Row]:
    """The caller's upload and its space, or ``404 upload_not_found``."""
    row = conn.execute(
        "SELECT u.* FROM uploads u JOIN spaces s ON s.id = u.space_id "
        "WHERE u.id = ? AND u.user_id = ? AND s.organisation_id = ?",
        (upload_id, user_id, organisation_id),
    ).fetchone()
    if row is None:
        raise Problem(404, "upload_not_found", "No such upload.")
    space: Row | None = None if memo is None else memo.spaces.get(row["space_id"])
    if space is None:
        space = conn.execute("SELECT * FROM spaces WHERE id = ?", (row["space_id"],)).fetchone()
        assert space is not None  # uploads.space_id references spaces.id
        if memo is not None:
            memo.spaces[row["space_id"]] = space
    return row, space


def _expired(upload: Row, now: float) -> bool:
    return bool(upload["status"] == "pending" and upload["expires_at"] <= rfc3339(now))


def _retire(conn: Connection, upload: Row, *, delete_after: float) -> None:
    conn.execute("UPDATE uploads SET status = 'aborted' WHERE id = ?", (upload["id"],))
    add_garbage(
        conn,
        upload["space_id"],
        upload["object_key"],
        delete_after=delete_after,
        storage_upload_id=upload["storage_upload_id"],
    )


def _not_pending(upload: Row) -> Problem:
    return Problem(
        409,
        "upload_not_pending",
        f"The upload {upload['id']} was aborted or has expired.",
        upload_id=upload["id"],
    )


def _verify_local_object(space: Row, upload: Row, size: int) -> Problem | None:
    root = local_root(space)
    if root is None:
        return None  # the server holds no S3 credentials to look
    try:
        actual = os.stat(root / upload["object_key"]).st_size
    except OSError:
        return Problem(
            409,
            "object_missing",
            f"Nothing was written to {upload['object_key']!r} in the space's storage.",
            upload_id=upload["id"],
        )
    if actual != size:
        return Problem(
            409,
            "size_mismatch",
            f"The stored object has {actual} bytes, not {size}.",
            upload_id=upload["id"],
        )
    return None


def complete_upload(
    conn: Connection,
    upload: Row,
    space: Row,
    *,
    size: int,
    checksum: dict[str, Any],
    now: float,
    delete_after: float,
    memo: BatchMemo | None = None,
) -> tuple[dict[str, Any] | None, Problem | None, bool]:
    """Make the uploaded object the file at the upload's path.

    Returns ``(file, None, newly_completed)`` or ``(None, problem, False)``. The file carries
    ``garbage``: the object key it replaced, if any (recorded, so a retried complete repeats it).
    """
    if upload["size"] is not None and upload["size"] != size:
        return None, _size_mismatch(upload, size), False
    if upload["status"] == "completed":
        row = conn.execute(
            "SELECT * FROM files WHERE space_id = ? AND upload_id = ?",
            (upload["space_id"], upload["id"]),
        ).fetchone()
        # The same garbage as the first answer: if that answer was lost, this is the client's
        # only word of the object it replaced.
        replaced: list[str] = json.loads(upload["replaced"])
        if row is not None:
            return {**file_json(row), "garbage": replaced}, None, False
        # The file was replaced or deleted since; the answer is still the file this upload made.
        return (
            {
                "path": upload["path"],
                "type": "file",
                "size": upload["size"],
                "checksum": {k: v for k, v in checksum.items() if v is not None},
                "metadata": json.loads(upload["metadata"]),
                "object_key": upload["object_key"],
                "created_at": upload["completed_at"],
                "modified_at": upload["completed_at"],
                "upload_id": upload["id"],
                "garbage": replaced,
            },
            None,
            False,
        )
    if upload["status"] != "pending":
        return None, _not_pending(upload), False
    if _expired(upload, now):
        _retire(conn, upload, delete_after=delete_after)
        return None, _not_pending(upload), False
    problem = _verify_local_object(space, upload, size)
    descriptor = None if problem is not None else granted_storage(space["storage"])
    if descriptor is not None:
        # A single PUT's stored CRC-32C is the object's; a multipart object's is compared by the
        # store itself at CompleteMultipartUpload (moto keeps a different value there).
        crc = None if upload["multipart"] else int(checksum["crc32c"], 16)
        problem = verify_object(descriptor, upload["object_key"], size, crc)
        if problem is not None:
            problem.extra["upload_id"] = upload["id"]
    if problem is not None:
        return None, problem, False
    try:
        existing = check_destination(
            conn,
            space["id"],
            upload["path"],
            overwrite=bool(upload["overwrite"]),
            space_name=space["name"],
            not_files=None if memo is None else memo.not_files,
        )
    except Problem as exc:
        exc.extra["upload_id"] = upload["id"]
        return None, exc, False
    stamp = rfc3339(now)
    garbage: list[str] = []
    created_at = stamp
    if existing is not None:
        created_at = existing["created_at"]
        if existing["object_key"] != upload["object_key"]:
            add_garbage(conn, space["id"], existing["object_key"], delete_after=delete_after)
            garbage.append(existing["object_key"])
    if memo is not None:
        memo.not_files.discard((space["id"], upload["path"]))  # it is a file from now on
    returning = has_returning(conn)
    row = conn.execute(
        "INSERT INTO files (space_id, path, type, size, crc32c, sha256, metadata, object_key, "  # noqa: S608
        "upload_id, created_at, modified_at) VALUES (?, ?, 'file', ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (space_id, path) DO UPDATE SET size = excluded.size, "
        "crc32c = excluded.crc32c, sha256 = excluded.sha256, metadata = excluded.metadata, "
        "object_key = excluded.object_key, upload_id = excluded.upload_id, "
        "modified_at = excluded.modified_at" + (" RETURNING *" if returning else ""),
        (
            space["id"],
            upload["path"],
            size,
            checksum["crc32c"],
            checksum.get("sha256"),
            upload["metadata"],
            upload["object_key"],
            upload["id"],
            created_at,
            stamp,
        ),
    ).fetchone()
    if not returning:
        row = conn.execute(
            "SELECT * FROM files WHERE space_id = ? AND path = ?", (space["id"], upload["path"])
        ).fetchone()
    conn.execute(
        "UPDATE uploads SET status = 'completed', completed_at = ?, size = ?, replaced = ? "
        "WHERE id = ?",
        (stamp, size, json.dumps(garbage), upload["id"]),
    )
    return {**file_json(row), "garbage": garbage}, None, True


def _size_mismatch(upload: Row, size: int) -> Problem:
    return Problem(
        409,
        "size_mismatch",
        f"The upload was declared with {upload['size']} bytes, not {size}.",
        upload_id=upload["id"],
    )


def abort_upload(conn: Connection, upload: Row, *, delete_after: float) -> bool:
    """Abort a pending upload (idempotent for aborted ones). Returns True if it was pending."""
    if upload["status"] == "aborted":
        return False
    if upload["status"] == "completed":
        raise Problem(409, "upload_not_pending", "The upload is completed.", upload_id=upload["id"])
    _retire(conn, upload, delete_after=delete_after)
    return True
