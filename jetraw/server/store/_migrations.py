"""The versioned schema of the reference platform's database: one migration per version.

:func:`jetraw.server.store.connect` applies the entries a database has not seen yet, in order,
and records the version in ``PRAGMA user_version`` (on PostgreSQL: the ``jetraw_schema`` table;
the SQL is translated by :func:`jetraw.server.store._sql.schema`). An entry is SQL, or a
function of the connection and the data dir for a step SQL cannot do (all in the migration's one
transaction; SQLite only: a PostgreSQL database has no data dir and skips those).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from jetraw.server.store._keyfile import move_legacy_key

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "Migration"]

#: SQL statements separated by ``;``, or ``step(conn, data_dir)``.
Migration = str | Callable[[Any, Path], None]

# Each entry migrates from version i to i + 1. Never edit a released entry: append a new one.
MIGRATIONS: list[Migration] = [
    """
    CREATE TABLE users (
        id TEXT PRIMARY KEY,
        email TEXT NOT NULL UNIQUE COLLATE NOCASE,
        name TEXT NOT NULL,
        password_hash TEXT,
        created_at TEXT NOT NULL
    );
    CREATE TABLE organisations (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL
    );
    CREATE TABLE memberships (
        user_id TEXT NOT NULL REFERENCES users(id),
        organisation_id TEXT NOT NULL REFERENCES organisations(id),
        role TEXT NOT NULL CHECK (role IN ('admin', 'member')),
        created_at TEXT NOT NULL,
        PRIMARY KEY (user_id, organisation_id)
    );
    CREATE TABLE spaces (
        id TEXT PRIMARY KEY,
        organisation_id TEXT NOT NULL REFERENCES organisations(id),
        name TEXT NOT NULL,
        storage TEXT NOT NULL,              -- JSON storage descriptor
        created_at TEXT NOT NULL,
        UNIQUE (organisation_id, name)
    );
    CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id),
        organisation_id TEXT NOT NULL REFERENCES organisations(id),
        name TEXT NOT NULL,
        secret_hash TEXT NOT NULL,          -- sha256 hex of the secret part
        hint TEXT NOT NULL,
        created_at TEXT NOT NULL,
        last_used_at TEXT,
        revoked_at TEXT
    );
    CREATE TABLE token_families (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id),
        organisation_id TEXT NOT NULL REFERENCES organisations(id),
        created_at TEXT NOT NULL,
        revoked_at TEXT
    );
    CREATE TABLE refresh_tokens (
        id TEXT PRIMARY KEY,
        family_id TEXT NOT NULL REFERENCES token_families(id),
        secret_hash TEXT NOT NULL,
        created_at TEXT NOT NULL,
        rotated_at REAL,                    -- unix time the token was used (and replaced)
        replaced_by TEXT                    -- id of the token issued in exchange
    );
    CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);
    CREATE TABLE auth_codes (
        code_hash TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        organisation_id TEXT NOT NULL,
        client_id TEXT NOT NULL,
        redirect_uri TEXT NOT NULL,
        code_challenge TEXT NOT NULL,
        expires_at REAL NOT NULL,
        used_at REAL
    );
    CREATE TABLE device_codes (
        device_code_hash TEXT PRIMARY KEY,
        user_code TEXT NOT NULL UNIQUE,
        client_id TEXT NOT NULL,
        organisation_name TEXT,
        user_id TEXT,
        organisation_id TEXT,
        status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'used')),
        expires_at REAL NOT NULL,
        interval INTEGER NOT NULL,
        last_poll_at REAL
    );
    CREATE TABLE files (
        space_id TEXT NOT NULL REFERENCES spaces(id),
        path TEXT NOT NULL,
        type TEXT NOT NULL CHECK (type IN ('file', 'directory')),
        size INTEGER,
        crc32c TEXT,
        sha256 TEXT,
        metadata TEXT NOT NULL DEFAULT '{}',
        object_key TEXT,
        upload_id TEXT,
        created_at TEXT NOT NULL,
        modified_at TEXT NOT NULL,
        PRIMARY KEY (space_id, path)
    ) WITHOUT ROWID;
    CREATE TABLE uploads (
        id TEXT PRIMARY KEY,
        space_id TEXT NOT NULL REFERENCES spaces(id),
        user_id TEXT NOT NULL REFERENCES users(id),
        path TEXT NOT NULL,
        size INTEGER NOT NULL,
        overwrite INTEGER NOT NULL,
        metadata TEXT NOT NULL DEFAULT '{}',
        multipart INTEGER NOT NULL,
        object_key TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'completed', 'aborted')),
        storage_upload_id TEXT,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        completed_at TEXT
    );
    CREATE INDEX uploads_user_status ON uploads(user_id, status);
    CREATE TABLE garbage (
        space_id TEXT NOT NULL,
        object_key TEXT NOT NULL,
        storage_upload_id TEXT,
        delete_after REAL NOT NULL,
        PRIMARY KEY (space_id, object_key)
    );
    CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL                 -- JSON
    );
    """,
    # 2: an upload's size may be unknown (NULL) until complete: streaming multipart writes.
    """
    CREATE TABLE uploads_v2 (
        id TEXT PRIMARY KEY,
        space_id TEXT NOT NULL REFERENCES spaces(id),
        user_id TEXT NOT NULL REFERENCES users(id),
        path TEXT NOT NULL,
        size INTEGER,
        overwrite INTEGER NOT NULL,
        metadata TEXT NOT NULL DEFAULT '{}',
        multipart INTEGER NOT NULL,
        object_key TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'completed', 'aborted')),
        storage_upload_id TEXT,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        completed_at TEXT
    );
    INSERT INTO uploads_v2 SELECT id, space_id, user_id, path, size, overwrite, metadata,
        multipart, object_key, status, storage_upload_id, created_at, expires_at, completed_at
        FROM uploads;
    DROP TABLE uploads;
    ALTER TABLE uploads_v2 RENAME TO uploads;
    CREATE INDEX uploads_user_status ON uploads(user_id, status);
    """,
    # 3: the object keys a completed upload replaced (JSON list), so a retried complete whose
    # first answer was lost still tells the client what to remove from S3.
    """
    ALTER TABLE uploads ADD COLUMN replaced TEXT NOT NULL DEFAULT '[]';
    """,
    # 4: the signing key leaves the database for its own 0600 file, <data dir>/signing.key: a
    # copy of the database (or of its WAL) must not be enough to forge tokens.
    move_legacy_key,
    # 5: settings-page sessions recorded on the server, so logging out ends one for good and a
    # password change ends them all (password_fp: a hash of the password hash it was made with).
    """
    CREATE TABLE sessions (
        id_hash TEXT PRIMARY KEY,           -- sha256 hex of the id in the signed cookie
        user_id TEXT NOT NULL REFERENCES users(id),
        password_fp TEXT NOT NULL,
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL
    );
    CREATE INDEX sessions_user ON sessions(user_id);
    """,
    # 6: an API key may expire (unix time; NULL = never).
    """
    ALTER TABLE api_keys ADD COLUMN expires_at REAL;
    """,
    # 7: when a device code was redeemed, so a poll retried after its answer was lost gets the
    # same login again within the refresh grace period (instead of invalid_grant).
    """
    ALTER TABLE device_codes ADD COLUMN used_at REAL;
    """,
    # 8: what several instances on one PostgreSQL database share: the signing key (SQLite keeps
    # it in <data dir>/signing.key, so there this table stays empty) and the rate-limit windows
    # (one row per endpoint group and client address: the times of its hits in the window).
    """
    CREATE TABLE server_secrets (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE rate_limits (
        bucket TEXT PRIMARY KEY,            -- endpoint group, space, client address
        hits TEXT NOT NULL,                 -- JSON list of unix times, oldest first
        updated_at REAL NOT NULL
    );
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)
