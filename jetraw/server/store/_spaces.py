"""Spaces and their storage descriptors."""

from __future__ import annotations

import functools
import json
import os
import re
import sqlite3
import unicodedata
import uuid
from pathlib import Path
from typing import Any

from jetraw.server._problems import Problem
from jetraw.server._settings import ServerSettings
from jetraw.server.store._accounts import NAME_RE, validate_name
from jetraw.server.store._db import Connection, Row
from jetraw.server.store._roots import check_local_root, default_local_root, make_root

__all__ = [
    "create_space",
    "find_space",
    "granted",
    "granted_storage",
    "local_root",
    "public_storage",
    "space_json",
    "validate_storage",
]

_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]")
_ADDRESSING = ("auto", "path", "virtual")
_KEY_FIELDS = ("access_key_id", "secret_access_key")


def _bad(detail: str) -> Problem:
    return Problem(400, "invalid_request", f"Invalid storage descriptor: {detail}")


def _opt_text(value: Any, field: str, limit: int = 1024) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise _bad(f"{field} must be a string of at most {limit} characters.")
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in value):
        raise _bad(f"{field} contains control characters.")
    return value


def validate_storage(
    storage: dict[str, Any] | None, *, settings: ServerSettings, organisation_id: str, name: str
) -> dict[str, Any]:
    """The canonical descriptor: every field present, defaults filled in.

    ``local``: ``root`` absolute (default ``<spaces base>/<organisation id>/<name>``; who may
    put it where is :func:`jetraw.server.store._roots.check_local_root`'s). ``s3``: ``bucket``
    required; ``prefix`` is ``""`` or ends with ``/`` (the object's key is ``prefix +
    object_key``); ``region``, ``endpoint_url`` optional; ``addressing_style`` auto|path|virtual.
    """
    storage = {"type": "local"} if storage is None else storage
    kind = storage.get("type")
    if kind == "local":
        unknown = set(storage) - {"type", "root"}
        if unknown:
            raise _bad(f"unknown fields {sorted(unknown)} for type local.")
        root = _opt_text(storage.get("root"), "root", 4096)
        if root is None:
            root = str(default_local_root(settings, organisation_id, name))
        if not os.path.isabs(root):
            raise _bad("root must be an absolute path.")
        return {"type": "local", "root": os.path.normpath(root)}
    if kind == "s3":
        unknown = set(storage) - {
            "type",
            "bucket",
            "prefix",
            "region",
            "endpoint_url",
            "addressing_style",
            "access",
            "credentials",
        }
        if unknown:
            raise _bad(f"unknown fields {sorted(unknown)} for type s3.")
        bucket = storage.get("bucket")
        if not isinstance(bucket, str) or not _BUCKET_RE.fullmatch(bucket):
            raise _bad("bucket is required: 3-63 lowercase letters, digits, '.' and '-'.")
        prefix = _opt_text(storage.get("prefix"), "prefix") or ""
        prefix = prefix.lstrip("/")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        if "//" in prefix or any(seg in (".", "..") for seg in prefix.split("/")):
            raise _bad("prefix has an empty, '.' or '..' segment.")
        endpoint = _opt_text(storage.get("endpoint_url"), "endpoint_url")
        if endpoint is not None and not re.match(r"https?://[^/\s]+", endpoint):
            raise _bad("endpoint_url must be an http:// or https:// URL.")
        style = storage.get("addressing_style") or "auto"
        if style not in _ADDRESSING:
            raise _bad("addressing_style is auto, path or virtual.")
        descriptor: dict[str, Any] = {
            "type": "s3",
            "bucket": bucket,
            "prefix": prefix,
            "region": _opt_text(storage.get("region"), "region", 64),
            "endpoint_url": endpoint,
            "addressing_style": style,
        }
        access = storage.get("access") or "client"
        if access not in ("client", "granted"):
            raise _bad("access is client or granted.")
        credentials = storage.get("credentials")
        if access == "granted":  # the key is left out for the default, the client's own chain
            descriptor["access"] = "granted"
            descriptor["credentials"] = _credentials(credentials)
        elif credentials is not None:
            raise _bad("credentials are only kept for access 'granted'.")
        return descriptor
    raise _bad("type must be 'local' or 's3'.")


def _credentials(value: Any) -> dict[str, str | None]:
    """The store's keys of a granted space (never echoed in an error)."""
    if not isinstance(value, dict) or not all(
        isinstance(value.get(k), str) and value.get(k) for k in _KEY_FIELDS
    ):
        raise _bad("access 'granted' needs credentials.access_key_id and .secret_access_key.")
    token = value.get("session_token")
    if token is not None and not isinstance(token, str):
        raise _bad("credentials.session_token must be a string.")
    return {
        "access_key_id": value[_KEY_FIELDS[0]],
        "secret_access_key": value[_KEY_FIELDS[1]],
        "session_token": token,
    }


def public_storage(descriptor: dict[str, Any]) -> dict[str, Any]:
    """A descriptor as any caller may see it: the stored credentials left out."""
    return {k: v for k, v in descriptor.items() if k != "credentials"}


def granted(descriptor: dict[str, Any]) -> bool:
    """Whether the server holds the storage's keys and grants access (docs/storage-access.md)."""
    return descriptor.get("type") == "s3" and descriptor.get("access") == "granted"


def space_json(row: Row, organisation: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "organisation": organisation,
        "storage": public_storage(json.loads(row["storage"])),
        "created_at": row["created_at"],
    }


def create_space(
    conn: Connection,
    *,
    organisation_id: str,
    name: str,
    storage: dict[str, Any] | None,
    settings: ServerSettings,
    now: str,
    operator: bool = False,
) -> Row:
    """Create a space (and, for local storage, its root directory).

    Args:
        operator: The platform's operator asks (admin API, bootstrap): a local root may be
            anywhere outside the data dir's private files. Otherwise (an organisation admin) it
            is omitted or inside the organisation's directory under the spaces base.
    """
    validate_name(name, "space name")
    space_id = uuid.uuid4().hex
    descriptor = validate_storage(
        storage, settings=settings, organisation_id=organisation_id, name=name
    )
    exists = conn.execute(
        "SELECT 1 FROM spaces WHERE organisation_id = ? AND name = ?", (organisation_id, name)
    ).fetchone()
    if exists is not None:
        raise Problem(409, "space_exists", f"A space named {name!r} exists.")
    if descriptor["type"] == "local":
        descriptor["root"] = check_local_root(
            conn,
            descriptor["root"],
            settings=settings,
            organisation_id=organisation_id,
            operator=operator,
        )
        try:
            make_root(Path(descriptor["root"]), settings)
        except OSError as exc:
            raise _bad(f"cannot create the root directory ({exc.strerror}).") from None
    try:
        conn.execute(
            "INSERT INTO spaces (id, organisation_id, name, storage, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (space_id, organisation_id, name, json.dumps(descriptor), now),
        )
    except sqlite3.IntegrityError:
        raise Problem(409, "space_exists", f"A space named {name!r} exists.") from None
    row: Row = conn.execute("SELECT * FROM spaces WHERE id = ?", (space_id,)).fetchone()
    return row


def find_space(conn: Connection, organisation_id: str, name: str) -> Row:
    """The organisation's space called ``name``, or ``404 space_not_found``."""
    row: Row | None = None
    if NAME_RE.fullmatch(name):
        row = conn.execute(
            "SELECT * FROM spaces WHERE organisation_id = ? AND name = ?",
            (organisation_id, name),
        ).fetchone()
    if row is None:
        shown = name if NAME_RE.fullmatch(name) else "(invalid name)"
        raise Problem(404, "space_not_found", f"No space {shown!r} in this organisation.")
    return row


def local_root(space: Row) -> Path | None:
    """The root directory of a local space, ``None`` for other storage."""
    return _local_root_of(space["storage"])


@functools.lru_cache(maxsize=256)
def _local_root_of(storage: str) -> Path | None:
    # Keyed by the descriptor's text: asked once per item of a batch, parsed once.
    descriptor = json.loads(storage)
    if descriptor.get("type") == "local":
        return Path(descriptor["root"])
    return None


def granted_storage(storage: str) -> dict[str, Any] | None:
    """The descriptor of a space's storage (its ``storage`` column) if access is granted."""
    return json.loads(storage) if _is_granted(storage) else None


@functools.lru_cache(maxsize=256)
def _is_granted(storage: str) -> bool:
    return granted(json.loads(storage))
