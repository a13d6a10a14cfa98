"""The data dir's signing key file, ``signing.key``, and its move out of the database.

Every access token, session cookie, login ticket and CSRF key is derived from this one key, so it
lives in its own file, mode 0600 in the 0700 data dir, written with
:func:`jetraw._util.atomic_write` (a reader sees no key or the whole key). Before schema
version 4 it was a row of the ``settings`` table; :func:`move_legacy_key` (migration 4) writes
that key to the file and deletes the row, so the tokens of an existing data dir stay valid.
Nothing here imports the rest of the store.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import sqlite3
import threading
from pathlib import Path

from jetraw._util import atomic_write

__all__ = ["KEY_BYTES", "KEY_FILE", "move_legacy_key", "read_key_file", "write_key_file"]

KEY_FILE = "signing.key"
KEY_BYTES = 32
_LEGACY_SETTING = "access_token_signing_key"

# path -> ((st_dev, st_ino, st_mtime_ns), key): the key is read once per file, not per request;
# the stat still notices a data dir that was deleted and created again at the same path.
_cache: dict[Path, tuple[tuple[int, int, int], bytes]] = {}
_cache_lock = threading.Lock()


def _decode(text: str) -> bytes:
    text = text.strip()
    key = base64.urlsafe_b64decode(text.encode("ascii") + b"=" * (-len(text) % 4))
    if len(key) < KEY_BYTES:
        raise ValueError("too short")
    return key


def read_key_file(path: Path) -> bytes | None:
    """The key in ``path``; ``None`` if there is no such file.

    Raises:
        RuntimeError: The file exists but holds no valid key (never silently replaced: that
            would invalidate every token).
    """
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    stamp = (stat.st_dev, stat.st_ino, stat.st_mtime_ns)
    with _cache_lock:
        cached = _cache.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    try:
        key = _decode(path.read_text("ascii"))
    except (OSError, UnicodeError, ValueError, binascii.Error) as exc:
        raise RuntimeError(f"the signing key file {path} is unreadable or malformed") from exc
    with _cache_lock:
        _cache[path] = (stamp, key)
    return key


def write_key_file(path: Path, key: bytes) -> None:
    """Write ``key`` to ``path`` atomically and durably, mode 0600 (parent 0700 if created)."""
    text = base64.urlsafe_b64encode(key).decode("ascii").rstrip("=") + "\n"
    atomic_write(path, text, mode=0o600, parent_mode=0o700)


def move_legacy_key(conn: sqlite3.Connection, data_dir: Path) -> None:
    """Migration 4: move a key kept in the ``settings`` table to ``<data dir>/signing.key``.

    Runs inside the migration's transaction: if the commit fails, the row is still there and the
    next start writes the same key again.
    """
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (_LEGACY_SETTING,)).fetchone()
    if row is None:
        return
    write_key_file(data_dir / KEY_FILE, _decode(str(json.loads(row[0]))))
    conn.execute("DELETE FROM settings WHERE key = ?", (_LEGACY_SETTING,))
