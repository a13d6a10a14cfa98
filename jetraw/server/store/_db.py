"""Storage of the reference platform: connections, transactions, stored timestamps.

Two backends behind one :class:`Connection` protocol: SQLite (the default, a file in the data
dir) and PostgreSQL (``ServerSettings.database = "postgresql://..."``, :mod:`._pg`), so several
instances on several machines can share one database. Everything below about files and modes
is SQLite's; on PostgreSQL the schema version is the ``jetraw_schema`` table and the signing key
is a row of ``server_secrets`` (every instance must verify every other's tokens).

One database file per data dir, in WAL mode, so several server processes may share a data dir:
SQLite serialises writers (``busy_timeout``), and every multi-statement change runs in one
``BEGIN IMMEDIATE`` transaction (:func:`transaction`). The schema is in ``_migrations``.

The data dir holds what every token is derived from (``signing.key``) and every credential hash,
so it is kept private whatever the umask: the directory 0700, the database and its ``-wal`` and
``-shm`` files 0600 (SQLite gives the latter two the database file's mode), the key file 0600.
"""

from __future__ import annotations

import base64
import collections
import functools
import logging
import math
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from jetraw.server.store._keyfile import KEY_BYTES, KEY_FILE, read_key_file, write_key_file
from jetraw.server.store._migrations import MIGRATIONS, SCHEMA_VERSION
from jetraw.server.store._pg import IntegrityError, PgConnection, is_postgresql_url
from jetraw.server.store._protocols import Connection, Cursor, Row
from jetraw.server.store._sql import NOCASE_COLLATION, schema, split_statements

__all__ = [
    "SQLITE_RETURNING",
    "Connection",
    "Cursor",
    "Database",
    "IntegrityError",
    "Row",
    "atomic",
    "backend_of",
    "connect",
    "connect_postgresql",
    "data_dir_of",
    "has_returning",
    "rfc3339",
    "schema_version",
    "secure_data_dir",
    "signing_key",
    "transaction",
]

log = logging.getLogger("jetraw.server.store")

_PRIVATE_DIR = 0o700
_PRIVATE_FILE = 0o600


def backend_of(conn: Connection) -> str:
    """``"postgresql"`` or ``"sqlite"``."""
    return "postgresql" if isinstance(conn, PgConnection) else "sqlite"


#: Whether this Python's SQLite knows ``INSERT ... RETURNING`` (3.35, 2021; Debian 11 has 3.34).
SQLITE_RETURNING = sqlite3.sqlite_version_info >= (3, 35, 0)


def has_returning(conn: Connection) -> bool:
    """Whether ``INSERT ... RETURNING`` works here (PostgreSQL, or SQLite >= 3.35): else the
    caller selects the rows it wrote."""
    return isinstance(conn, PgConnection) or SQLITE_RETURNING


def rfc3339(timestamp: float) -> str:
    """``2026-11-28T14:00:00Z`` (to the second): fixed width, so the strings also sort by time."""
    return _rfc3339_second(math.floor(timestamp))


@functools.lru_cache(maxsize=256)
def _rfc3339_second(second: int) -> str:
    # A batch stamps hundreds of rows with the same second or two (3-4 % of its CPU formatted).
    moment = datetime.fromtimestamp(second, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _chmod(path: Path, mode: int) -> None:
    try:
        if os.stat(path).st_mode & 0o7777 != mode:
            os.chmod(path, mode)
    except FileNotFoundError:
        pass
    except PermissionError:  # not ours (an operator's directory): say so, keep serving
        log.warning("cannot make %s mode %o: it stays %o", path, mode, os.stat(path).st_mode)


def secure_data_dir(database: Path) -> None:
    """Make the data dir of ``database`` private: dir 0700, database (+ -wal, -shm) 0600.

    Creates the directory and an empty database file with those modes if missing (an empty file
    is a new database to SQLite, and SQLite creates ``-wal``/``-shm`` with the database's mode),
    and narrows what an older version or a lax umask left wider.
    """
    directory = database.parent
    directory.mkdir(mode=_PRIVATE_DIR, parents=True, exist_ok=True)
    _chmod(directory, _PRIVATE_DIR)
    fd = os.open(database, os.O_RDWR | os.O_CREAT, _PRIVATE_FILE)
    os.close(fd)
    for suffix in ("", "-wal", "-shm", "-journal"):
        _chmod(database.with_name(database.name + suffix), _PRIVATE_FILE)
    _chmod(directory / KEY_FILE, _PRIVATE_FILE)


_BUSY_SECONDS = 30.0


class _WriteQueue:
    """First come, first served among one process's writers to one database.

    SQLite's busy handler is not fair: a writer that commits and at once begins again (a batch
    in chunks) wins over writers asleep in their back-off, so they could wait for the whole
    batch. Here the lock is handed to the longest waiter, so a small write waits for at most
    one transaction of each writer ahead of it. (Across processes SQLite alone decides.)
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._held = False
        self._waiters: collections.deque[threading.Event] = collections.deque()

    def acquire(self, timeout: float) -> bool:
        with self._mutex:
            if not self._held and not self._waiters:
                self._held = True
                return True
            turn = threading.Event()
            self._waiters.append(turn)
        if turn.wait(timeout):
            return True
        with self._mutex:
            if turn.is_set():  # handed over just as the wait timed out
                return True
            self._waiters.remove(turn)
            return False

    def release(self) -> None:
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().set()  # stays held: ownership passes to the waiter
            else:
                self._held = False


_queues: dict[Path, _WriteQueue] = {}
_queues_lock = threading.Lock()


def _queue_for(path: Path) -> _WriteQueue:
    key = Path(os.path.realpath(path))
    with _queues_lock:
        queue = _queues.get(key)
        if queue is None:
            queue = _queues[key] = _WriteQueue()
        return queue


class _Connection(sqlite3.Connection):
    """A connection that knows its database's :class:`_WriteQueue`."""

    write_queue: _WriteQueue | None = None


def connect(path: str | Path) -> sqlite3.Connection:
    """Open the database in WAL mode and bring its schema up to date."""
    path = Path(path)
    secure_data_dir(path)
    conn = sqlite3.connect(
        str(path),
        timeout=_BUSY_SECONDS,
        isolation_level=None,
        check_same_thread=False,
        factory=_Connection,
    )
    conn.write_queue = _queue_for(path)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {int(_BUSY_SECONDS * 1000)}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = NORMAL")
    _migrate(conn, path.parent)
    return conn


def _migrate(conn: Connection, data_dir: Path | None) -> None:
    postgresql = isinstance(conn, PgConnection)
    with transaction(conn):
        if postgresql:
            version = _pg_version(conn)
        else:
            (version,) = conn.execute("PRAGMA user_version").fetchone()
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"database schema version {version} is newer than this server ({SCHEMA_VERSION})"
            )
        if postgresql and version < SCHEMA_VERSION:  # what COLLATE NOCASE becomes
            conn.execute(
                f"CREATE COLLATION IF NOT EXISTS {NOCASE_COLLATION} "
                "(provider = icu, locale = 'und-u-ks-level2', deterministic = false)"
            )
        for step in MIGRATIONS[version:]:
            if callable(step):
                if data_dir is not None:  # file steps (the legacy key) are SQLite's only
                    step(conn, data_dir)
                continue
            for statement in split_statements(step):
                conn.execute(schema(statement) if postgresql else statement)
        if postgresql:
            conn.execute("UPDATE jetraw_schema SET version = ?", (SCHEMA_VERSION,))
        else:
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _pg_version(conn: Connection) -> int:
    """The schema version on PostgreSQL (the ``jetraw_schema`` table, made on first use)."""
    conn.execute("CREATE TABLE IF NOT EXISTS jetraw_schema (version BIGINT NOT NULL)")
    row = conn.execute("SELECT version FROM jetraw_schema").fetchone()
    if row is None:
        conn.execute("INSERT INTO jetraw_schema (version) VALUES (0)")
        return 0
    return int(row[0])


def schema_version(conn: Connection) -> int:
    """The schema version the database is at (health checks)."""
    if isinstance(conn, PgConnection):
        row = conn.execute("SELECT version FROM jetraw_schema").fetchone()
        return 0 if row is None else int(row[0])
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    return int(version)


def connect_postgresql(url: str) -> PgConnection:
    """Open a PostgreSQL connection and bring the schema up to date (under the write lock)."""
    conn = PgConnection(url)
    try:
        _migrate(conn, None)
    except BaseException:
        conn.close()
        raise
    return conn


@contextmanager
def transaction(conn: Connection) -> Iterator[Connection]:
    """Run a block in one ``BEGIN IMMEDIATE`` transaction (writers serialise across processes).

    On PostgreSQL: ``BEGIN`` plus the schema's advisory write lock (:mod:`._pg`), the same
    guarantee across every instance on the database.

    Within a process, writers take turns in arrival order (:class:`_WriteQueue`).

    Raises:
        sqlite3.OperationalError: ``database is locked`` after 30 s of waiting.
    """
    queue = None if conn.in_transaction else getattr(conn, "write_queue", None)
    if queue is not None and not queue.acquire(_BUSY_SECONDS):
        raise sqlite3.OperationalError("database is locked")
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")
    finally:
        if queue is not None:
            queue.release()


@contextmanager
def atomic(conn: Connection) -> Iterator[Connection]:
    """A ``BEGIN IMMEDIATE`` transaction, or a savepoint when the caller already holds one."""
    if not conn.in_transaction:
        with transaction(conn):
            yield conn
        return
    name = f"jetraw_{secrets.token_hex(4)}"
    conn.execute(f"SAVEPOINT {name}")
    try:
        yield conn
    except BaseException:
        conn.execute(f"ROLLBACK TO {name}")
        conn.execute(f"RELEASE {name}")
        raise
    conn.execute(f"RELEASE {name}")


def data_dir_of(conn: Connection) -> Path:
    """The directory of the database file ``conn`` has open (the data dir)."""
    for row in conn.execute("PRAGMA database_list").fetchall():
        if row[1] == "main" and row[2]:
            return Path(row[2]).parent
    raise RuntimeError("the connection has no database file")


def signing_key(conn: Connection) -> bytes:
    """The data dir's signing key, from ``<data dir>/signing.key`` (0600), made on first use.

    The database's write lock serialises the first use across processes on one data dir, so
    exactly one key is ever made: a second process finds the first one's file under the lock.

    On PostgreSQL the key is the ``server_secrets`` row ``signing_key``, shared by every
    instance on the database (made once under the write lock).

    Raises:
        RuntimeError: The key file exists but is malformed (never silently replaced).
    """
    if isinstance(conn, PgConnection):
        return _pg_signing_key(conn)
    path = data_dir_of(conn) / KEY_FILE
    key = read_key_file(path)
    if key is not None:
        return key
    with atomic(conn):
        key = read_key_file(path)
        if key is None:
            key = secrets.token_bytes(KEY_BYTES)
            write_key_file(path, key)
    return key


def _pg_signing_key(conn: PgConnection) -> bytes:
    if conn.signing_key is not None:
        return conn.signing_key
    row = conn.execute("SELECT value FROM server_secrets WHERE name = 'signing_key'").fetchone()
    if row is None:
        with atomic(conn):
            text = base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")
            conn.execute(
                "INSERT INTO server_secrets (name, value) VALUES ('signing_key', ?) "
                "ON CONFLICT (name) DO NOTHING",
                (text,),
            )
            row = conn.execute(
                "SELECT value FROM server_secrets WHERE name = 'signing_key'"
            ).fetchone()
    key = base64.urlsafe_b64decode(str(row[0]).encode("ascii"))
    if len(key) < KEY_BYTES:
        raise RuntimeError("the signing key in server_secrets is malformed")
    conn.signing_key = key
    return key


class Database:
    """One connection per thread to the store: SQLite file ``path`` or a PostgreSQL ``url``."""

    def __init__(self, path: str | Path) -> None:
        self.url = str(path) if is_postgresql_url(str(path)) else None
        self.path = Path(path) if self.url is None else None
        self.backend = "sqlite" if self.url is None else "postgresql"
        self._local = threading.local()
        self._open().close()  # create and migrate once, up front

    def _open(self) -> Connection:
        if self.url is not None:
            return connect_postgresql(self.url)
        assert self.path is not None
        return connect(self.path)

    def conn(self) -> Connection:
        conn: Connection | None = getattr(self._local, "conn", None)
        if isinstance(conn, PgConnection) and conn.broken:  # PostgreSQL restarted: reconnect
            conn.close()
            conn = None
        if conn is None:
            conn = self._open()
            self._local.conn = conn
        return conn
