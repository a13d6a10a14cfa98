"""The file namespace of a space: stat, list, metadata, delete, directories, move.

Plain functions over a SQLite connection; the caller runs writes inside one transaction. Rows of
the ``files`` table are files (``path``) and explicit directories (``path/``, see ``_paths``).
Implicit directories are the prefixes of other rows.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Collection, Sequence
from typing import Any

from jetraw.server._problems import Problem
from jetraw.server.store._db import Connection, Row
from jetraw.server.store._paths import (
    ancestors,
    normalise_path,
    normalise_prefix,
    prefix_upper_bound,
)

__all__ = [
    "add_garbage",
    "check_destination",
    "check_destinations",
    "delete_path",
    "directory_json",
    "file_json",
    "list_entries",
    "make_directory",
    "move_file",
    "not_found",
    "remove_directory",
    "set_metadata",
    "stat_path",
]


def file_json(row: Row) -> dict[str, Any]:
    checksum: dict[str, Any] = {"crc32c": row["crc32c"]}
    if row["sha256"]:
        checksum["sha256"] = row["sha256"]
    return {
        "path": row["path"],
        "type": "file",
        "size": row["size"],
        "checksum": checksum,
        "metadata": json.loads(row["metadata"]),
        "object_key": row["object_key"],
        "created_at": row["created_at"],
        "modified_at": row["modified_at"],
        "upload_id": row["upload_id"],
    }


def directory_json(path: str) -> dict[str, Any]:
    return {"path": path.rstrip("/"), "type": "directory"}


def not_found(path: str) -> Problem:
    return Problem(404, "file_not_found", f"No file or directory {path!r}.")


def _row(conn: Connection, space_id: str, path: str) -> Row | None:
    row: Row | None = conn.execute(
        "SELECT * FROM files WHERE space_id = ? AND path = ?", (space_id, path)
    ).fetchone()
    return row


def _has_entries_under(conn: Connection, space_id: str, path: str) -> bool:
    """True if any row lies under ``path/`` (the explicit row ``path/`` itself included)."""
    low = path + "/"
    high = prefix_upper_bound(low)
    row = conn.execute(
        "SELECT 1 FROM files WHERE space_id = ? AND path >= ? AND path < ? LIMIT 1",
        (space_id, low, high),
    ).fetchone()
    return row is not None


def _is_directory(conn: Connection, space_id: str, path: str) -> bool:
    return _has_entries_under(conn, space_id, path)


def stat_path(conn: Connection, space_id: str, path: str) -> dict[str, Any]:
    """A ``File`` or ``Directory`` (explicit or implicit), or ``404 file_not_found``."""
    row = _row(conn, space_id, path)
    if row is not None:
        return file_json(row)
    if _is_directory(conn, space_id, path):
        return directory_json(path)
    raise not_found(path)


def check_destination(
    conn: Connection,
    space_id: str,
    path: str,
    *,
    overwrite: bool,
    space_name: str | None = None,
    not_files: set[tuple[str, str]] | None = None,
) -> Row | None:
    """Refuse a destination that cannot hold a new file; return the file it would replace.

    With ``space_name`` a conflict names the user's ``/space/path`` ("/data/a is a directory").
    ``not_files``: ``(space_id, path)`` pairs already found not to be files in this transaction
    (the files of a batch share their directories); filled in here. Whoever then writes a file
    row at such a path in the same transaction must remove it (as ``complete_upload`` does).
    """
    existing: Row | None = None

    def is_file(ancestor: str) -> bool:
        if not_files is not None and (space_id, ancestor) in not_files:
            return False
        found = _row(conn, space_id, ancestor) is not None
        if not found and not_files is not None:
            not_files.add((space_id, ancestor))
        return found

    def exists(p: str) -> bool:
        nonlocal existing
        existing = _row(conn, space_id, p)
        return existing is not None

    problem = _destination_problem(
        path,
        overwrite=overwrite,
        space_name=space_name,
        is_file=is_file,
        is_directory=lambda p: _is_directory(conn, space_id, p),
        exists=exists,
    )
    if problem is not None:
        raise problem
    return existing


def check_destinations(
    conn: Connection,
    space_id: str,
    items: Sequence[tuple[str, bool]],
    *,
    space_name: str | None = None,
) -> list[Problem | None]:
    """:func:`check_destination` of many ``(normalised path, overwrite)`` at once, in two queries.

    Each item is judged against the namespace as it is, so this is for creating uploads, which
    change no file (the same problems as one call per item, in the same order of precedence).
    """
    paths = {path for path, _ in items}
    files = _existing(conn, space_id, paths | {a for p in paths for a in ancestors(p)})
    directories = _with_entries_under(conn, space_id, paths)
    return [
        _destination_problem(
            path,
            overwrite=overwrite,
            space_name=space_name,
            is_file=files.__contains__,
            is_directory=directories.__contains__,
            exists=files.__contains__,
        )
        for path, overwrite in items
    ]


def _destination_problem(
    path: str,
    *,
    overwrite: bool,
    space_name: str | None,
    is_file: Callable[[str], bool],
    is_directory: Callable[[str], bool],
    exists: Callable[[str], bool],
) -> Problem | None:
    def shown(p: str) -> str:
        return f"/{space_name}/{p}" if space_name else repr(p)

    for ancestor in ancestors(path):
        if is_file(ancestor):
            return Problem(409, "not_a_directory", f"{shown(ancestor)} is a file, not a directory.")
    if is_directory(path):
        return Problem(
            409, "is_a_directory", f"{shown(path)} is a directory (a file cannot replace it)."
        )
    if exists(path) and not overwrite:
        return Problem(409, "file_exists", f"{path!r} exists (pass overwrite to replace it).")
    return None


#: Values per query of the set-based lookups (well below SQLite's and PostgreSQL's limits).
_PER_QUERY = 500


def _existing(conn: Connection, space_id: str, paths: Collection[str]) -> set[str]:
    """Which of ``paths`` are rows (files) of the space."""
    found: set[str] = set()
    ordered = sorted(paths)
    for start in range(0, len(ordered), _PER_QUERY):
        chunk = ordered[start : start + _PER_QUERY]
        marks = ", ".join(["?"] * len(chunk))
        rows = conn.execute(
            f"SELECT path FROM files WHERE space_id = ? AND path IN ({marks})",  # noqa: S608
            (space_id, *chunk),
        ).fetchall()
        found.update(row["path"] for row in rows)
    return found


def _with_entries_under(conn: Connection, space_id: str, paths: Collection[str]) -> set[str]:
    """Which of ``paths`` have a row under ``path/`` (directories, explicit or implicit)."""
    found: set[str] = set()
    ordered = sorted(paths)
    for start in range(0, len(ordered), _PER_QUERY):
        chunk = ordered[start : start + _PER_QUERY]
        values = ", ".join(["(?)"] * len(chunk))
        # path + "0" is prefix_upper_bound(path + "/"): "0" follows "/" in code point order.
        rows = conn.execute(
            f"WITH wanted(p) AS (VALUES {values}) SELECT p FROM wanted WHERE EXISTS ("  # noqa: S608
            "SELECT 1 FROM files WHERE space_id = ? AND path >= p || '/' AND path < p || '0')",
            (*chunk, space_id),
        ).fetchall()
        found.update(row["p"] for row in rows)
    return found


def add_garbage(
    conn: Connection,
    space_id: str,
    object_key: str,
    *,
    delete_after: float,
    storage_upload_id: str | None = None,
) -> None:
    conn.execute(
        "INSERT INTO garbage (space_id, object_key, storage_upload_id, delete_after) "
        "VALUES (?, ?, ?, ?) ON CONFLICT (space_id, object_key) DO NOTHING",
        (space_id, object_key, storage_upload_id, delete_after),
    )


# -- listing ---------------------------------------------------------------------------------


def _encode_cursor(key: str, inclusive: bool) -> str:
    raw = json.dumps({"k": key, "i": inclusive}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[str, bool]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        key, inclusive = data["k"], data["i"]
        if not isinstance(key, str) or not isinstance(inclusive, bool):
            raise TypeError
        key.encode("utf-8")
    except (ValueError, TypeError, KeyError, UnicodeError):
        raise Problem(400, "invalid_request", "The cursor is malformed.") from None
    return key, inclusive


def list_entries(
    conn: Connection,
    space_id: str,
    *,
    prefix: str,
    delimiter: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of entries under ``prefix`` (S3 ``ListObjectsV2`` semantics), and the next cursor.

    Rows are read in path order in batches; with a delimiter, a deeper row becomes one
    ``Directory`` entry and the scan seeks past everything under it.
    """
    prefix = normalise_prefix(prefix)
    if delimiter is not None and delimiter != "/":
        raise Problem(400, "invalid_request", "The only supported delimiter is '/'.")
    low, inclusive = prefix, True
    if cursor:
        low, inclusive = _decode_cursor(cursor)
        if low < prefix:
            low, inclusive = prefix, True
    high = prefix_upper_bound(prefix)
    items: list[dict[str, Any]] = []
    last_key: tuple[str, bool] | None = None
    batch = limit + 1
    while len(items) < limit:
        clauses = ["space_id = ?", "path >= ?" if inclusive else "path > ?"]
        params: list[Any] = [space_id, low]
        if high is not None:
            clauses.append("path < ?")
            params.append(high)
        rows = conn.execute(
            # S608: constant clauses, values bound as ?
            f"SELECT * FROM files WHERE {' AND '.join(clauses)} ORDER BY path LIMIT ?",  # noqa: S608
            (*params, batch),
        ).fetchall()
        if not rows:
            return items, None
        reseek = False
        for row in rows:
            path: str = row["path"]
            if path == prefix and row["type"] == "directory":
                low, inclusive = path, False  # a directory is not listed inside itself
                continue
            rest = path[len(prefix) :]
            cut = rest.find("/") if delimiter else -1
            if delimiter and cut != -1:
                directory = prefix + rest[:cut]
                items.append(directory_json(directory))
                skip = prefix_upper_bound(directory + "/")
                assert skip is not None
                low, inclusive = skip, True
                last_key = (skip, True)
                reseek = True
            elif row["type"] == "directory":
                items.append(directory_json(path))
                low, inclusive = path, False
                last_key = (path, False)
            else:
                items.append(file_json(row))
                low, inclusive = path, False
                last_key = (path, False)
            if len(items) >= limit or reseek:
                break
        if len(items) >= limit:
            break
        if not reseek and len(rows) < batch:
            return items, None
    # A full page: there is a next page only if some row remains.
    assert last_key is not None
    probe = ["space_id = ?", "path >= ?" if last_key[1] else "path > ?"]
    params = [space_id, last_key[0]]
    if high is not None:
        probe.append("path < ?")
        params.append(high)
    more = conn.execute(
        # S608: constant clauses, values bound as ?
        f"SELECT 1 FROM files WHERE {' AND '.join(probe)} LIMIT 1",  # noqa: S608
        params,
    ).fetchone()
    return items, (_encode_cursor(*last_key) if more else None)


# -- changes ---------------------------------------------------------------------------------


def set_metadata(
    conn: Connection, space_id: str, path: str, metadata: dict[str, str], *, now: str
) -> dict[str, Any]:
    row = _row(conn, space_id, path)
    if row is None:
        if _is_directory(conn, space_id, path):
            raise Problem(409, "is_a_directory", f"{path!r} is a directory.")
        raise not_found(path)
    conn.execute(
        "UPDATE files SET metadata = ?, modified_at = ? WHERE space_id = ? AND path = ?",
        (json.dumps(metadata), now, space_id, path),
    )
    updated = _row(conn, space_id, path)
    assert updated is not None
    return file_json(updated)


def delete_path(
    conn: Connection,
    space_id: str,
    path: str,
    *,
    recursive: bool,
    delete_after: float,
) -> tuple[int, list[str]]:
    """Delete a file, or (``recursive``) a directory tree. Returns (entries, garbage keys)."""
    row = _row(conn, space_id, path)
    if row is not None:
        conn.execute("DELETE FROM files WHERE space_id = ? AND path = ?", (space_id, path))
        add_garbage(conn, space_id, row["object_key"], delete_after=delete_after)
        return 1, [row["object_key"]]
    if not _is_directory(conn, space_id, path):
        raise not_found(path)
    if not recursive:
        raise Problem(
            409,
            "is_a_directory",
            f"{path!r} is a directory: pass recursive=true, or remove an empty directory "
            "with DELETE /directories/{path}.",
        )
    low = path + "/"
    high = prefix_upper_bound(low)
    rows = conn.execute(
        "SELECT path, type, object_key FROM files WHERE space_id = ? AND path >= ? AND path < ?",
        (space_id, low, high),
    ).fetchall()
    conn.execute(
        "DELETE FROM files WHERE space_id = ? AND path >= ? AND path < ?", (space_id, low, high)
    )
    garbage = [r["object_key"] for r in rows if r["type"] == "file"]
    for key in garbage:
        add_garbage(conn, space_id, key, delete_after=delete_after)
    return len(rows), garbage


def make_directory(
    conn: Connection, space_id: str, path: str, *, exist_ok: bool, now: str
) -> dict[str, Any]:
    for ancestor in ancestors(path):
        if _row(conn, space_id, ancestor) is not None:
            raise Problem(409, "not_a_directory", f"{ancestor!r} is a file, not a directory.")
    if _row(conn, space_id, path) is not None:
        raise Problem(409, "file_exists", f"{path!r} exists and is a file.")
    if _is_directory(conn, space_id, path):
        if not exist_ok:
            raise Problem(409, "file_exists", f"The directory {path!r} exists.")
        return directory_json(path)
    conn.execute(
        "INSERT INTO files (space_id, path, type, metadata, created_at, modified_at) "
        "VALUES (?, ?, 'directory', '{}', ?, ?)",
        (space_id, path + "/", now, now),
    )
    return directory_json(path)


def remove_directory(conn: Connection, space_id: str, path: str) -> None:
    if _row(conn, space_id, path) is not None:
        raise Problem(409, "not_a_directory", f"{path!r} is a file.")
    low = path + "/"
    high = prefix_upper_bound(low)
    rows = conn.execute(
        "SELECT path FROM files WHERE space_id = ? AND path >= ? AND path < ? LIMIT 2",
        (space_id, low, high),
    ).fetchall()
    if not rows:
        raise not_found(path)
    if len(rows) > 1 or rows[0]["path"] != low:
        raise Problem(409, "directory_not_empty", f"The directory {path!r} is not empty.")
    conn.execute("DELETE FROM files WHERE space_id = ? AND path = ?", (space_id, low))


def move_file(
    conn: Connection,
    space_id: str,
    source: str,
    destination: str,
    *,
    overwrite: bool,
    now: str,
    delete_after: float,
) -> tuple[dict[str, Any], list[str]]:
    """Rename a file (no bytes move). Returns the moved file and the replaced object, if any."""
    source = normalise_path(source)
    destination = normalise_path(destination)
    row = _row(conn, space_id, source)
    if row is None:
        if _is_directory(conn, space_id, source):
            raise Problem(409, "is_a_directory", f"{source!r} is a directory; move moves files.")
        raise not_found(source)
    if source == destination:
        return file_json(row), []
    if destination.startswith(source + "/"):
        raise Problem(409, "not_a_directory", f"{source!r} is a file, not a directory.")
    existing = check_destination(conn, space_id, destination, overwrite=overwrite)
    garbage: list[str] = []
    if existing is not None:
        conn.execute("DELETE FROM files WHERE space_id = ? AND path = ?", (space_id, destination))
        add_garbage(conn, space_id, existing["object_key"], delete_after=delete_after)
        garbage.append(existing["object_key"])
    conn.execute(
        "UPDATE files SET path = ?, modified_at = ? WHERE space_id = ? AND path = ?",
        (destination, now, space_id, source),
    )
    moved = _row(conn, space_id, destination)
    assert moved is not None
    return file_json(moved), garbage
