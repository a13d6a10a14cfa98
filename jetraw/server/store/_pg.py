"""The PostgreSQL backend of the store: a psycopg 3 connection that behaves like the SQLite one.

:class:`PgConnection` satisfies :class:`jetraw.server.store.Connection` as ``sqlite3`` does:
``execute`` takes the store's SQLite-style SQL (translated by :mod:`._sql`), rows are indexed by
name and position, ``in_transaction`` says whether a transaction is open.

Transactions keep SQLite's guarantees. SQLite's ``BEGIN IMMEDIATE`` serialises writers; here it
is ``BEGIN`` followed by ``pg_advisory_xact_lock`` on one key per schema, so writers of every
instance on the database take turns exactly as SQLite's writers do, each reads the latest
committed state after taking the lock (READ COMMITTED, every statement a new snapshot), and the
lock goes with the commit or rollback. Every read-modify-write path of the store (upload
complete, refresh-token rotation and reuse detection, device-code approval and polling, API-key
use, cleanup) runs in such a transaction, so none needs its own locking. A plain ``BEGIN`` (a
read-only page: one snapshot) is ``REPEATABLE READ``. Outside a transaction every statement
commits on its own (autocommit), as with ``sqlite3`` in ``isolation_level=None``.

A statement that fails inside a transaction would abort the whole transaction on PostgreSQL,
while SQLite lets the caller catch the error and go on; so each write inside a transaction runs
under a savepoint (sent with the statement in one round trip), and an ``IntegrityError`` leaves
the transaction usable, as on SQLite.
Errors are SQLite's: :class:`IntegrityError` subclasses ``sqlite3.IntegrityError``, a lock not
had within the timeout is ``sqlite3.OperationalError("database is locked")``.
"""

from __future__ import annotations

import contextlib
import sqlite3
import zlib
from collections.abc import Iterator, Sequence
from typing import Any

from jetraw.server.store._protocols import Cursor
from jetraw.server.store._sql import statement

__all__ = ["IntegrityError", "PgConnection", "PgRow", "is_postgresql_url"]

#: Seconds a writer waits for the write lock (as SQLite's ``busy_timeout``).
LOCK_SECONDS = 30.0


def is_postgresql_url(url: str) -> bool:
    """Whether ``url`` names a PostgreSQL database (``postgresql://`` or ``postgres://``)."""
    return url.startswith(("postgresql://", "postgres://"))


class IntegrityError(sqlite3.IntegrityError):
    """A constraint violation on PostgreSQL (caught where the store catches SQLite's)."""


class PgRow:
    """A result row indexed by column name or position, like ``sqlite3.Row``."""

    __slots__ = ("_index", "_names", "_values")

    def __init__(self, names: list[str], index: dict[str, int], values: Sequence[Any]) -> None:
        self._names = names
        self._index = index
        self._values = values

    def __getitem__(self, key: int | str) -> Any:
        if isinstance(key, str):
            return self._values[self._index[key]]
        return self._values[key]

    def keys(self) -> list[str]:
        return list(self._names)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PgRow):
            return self._names == other._names and list(self._values) == list(other._values)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"PgRow({dict(zip(self._names, self._values, strict=False))!r})"


def _row_factory(cursor: Any) -> Any:
    names = [column.name for column in cursor.description or ()]
    index = {name: i for i, name in enumerate(names)}

    def make(values: Sequence[Any]) -> PgRow:
        return PgRow(names, index, values)

    return make


def _param(value: Any) -> Any:
    # SQLite keeps booleans as integers; the columns are BIGINT here too.
    if isinstance(value, bool):
        return int(value)
    # PostgreSQL text cannot hold NUL. The server refuses control characters in what it stores,
    # so only a lookup (a key id from a URL, say) can carry one: it must find nothing, as on
    # SQLite, not fail; U+FFFD matches nothing stored either.
    if isinstance(value, str) and "\x00" in value:
        return value.replace("\x00", "\ufffd")
    return value


class PgConnection:
    """One psycopg connection in autocommit mode, speaking the store's SQLite-style SQL."""

    def __init__(self, url: str) -> None:
        try:
            import psycopg  # the optional extra: imported only when a PostgreSQL URL is used
        except ImportError:
            raise RuntimeError(
                "PostgreSQL needs the postgresql extra: pip install 'jetraw[postgresql]'"
            ) from None

        self._psycopg = psycopg
        try:
            self._conn = psycopg.connect(
                url,
                autocommit=True,
                row_factory=_row_factory,
                cursor_factory=psycopg.ClientCursor,
                connect_timeout=10,
                application_name="jetraw-server",
            )
        except psycopg.Error as exc:
            raise sqlite3.OperationalError(
                f"cannot connect to PostgreSQL: {_reason(exc)}"
            ) from None
        schema = self._conn.execute("SELECT current_schema()").fetchone()
        self.schema: str = "public" if schema is None or schema[0] is None else str(schema[0])
        # One write lock per schema (a database may hold several independent stores).
        self._lock_key = zlib.crc32(f"jetraw:{self.schema}".encode()) - 2**31
        self._savepoints = 0
        #: The shared signing key, once read (see ``_db.signing_key``).
        self.signing_key: bytes | None = None

    @property
    def in_transaction(self) -> bool:
        status = self._conn.info.transaction_status
        return bool(status != self._psycopg.pq.TransactionStatus.IDLE)

    def close(self) -> None:
        self._conn.close()

    @property
    def broken(self) -> bool:
        """The connection is closed or lost (a server restart): open a new one."""
        return bool(self._conn.closed or self._conn.broken)

    def __del__(self) -> None:  # a thread's connection goes with the thread: close, quietly
        conn = getattr(self, "_conn", None)
        if conn is not None and not conn.closed:
            with contextlib.suppress(Exception):  # interpreter shutdown: nothing to report to
                conn.close()

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Cursor:
        """Run one statement; returns the cursor (``fetchone``, ``fetchall``, ``rowcount``)."""
        verb = sql.strip().rstrip(";").strip().upper()
        if verb in ("BEGIN IMMEDIATE", "BEGIN EXCLUSIVE"):  # one round trip
            try:
                return self._run(
                    f"BEGIN; SET LOCAL lock_timeout = '{int(LOCK_SECONDS * 1000)}ms'; "
                    "SELECT pg_advisory_xact_lock(%s)",
                    (self._lock_key,),
                )
            except BaseException:
                if self.in_transaction:  # the lock was not had: leave no transaction open
                    self._run("ROLLBACK", ())
                raise
        if verb in ("BEGIN", "BEGIN DEFERRED", "BEGIN TRANSACTION"):
            return self._run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", ())
        text = statement(sql)
        params = tuple(_param(p) for p in parameters)
        if self.in_transaction and verb.startswith(("INSERT", "UPDATE", "DELETE")):
            self._savepoints += 1
            name = f"jetraw_stmt_{self._savepoints}"
            # SAVEPOINT, the statement and RELEASE in one round trip (a simple query); the
            # cursor is moved on to the statement's own result.
            try:
                cursor: Any = self._run(
                    f"SAVEPOINT {name}; {text}; RELEASE SAVEPOINT {name}", params
                )
            except BaseException:
                if self.in_transaction:
                    self._run(f"ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}", ())
                raise
            cursor.nextset()
            result: Cursor = cursor
            return result
        return self._run(text, params)

    def _run(self, sql: str, params: tuple[Any, ...]) -> Cursor:
        errors = self._psycopg.errors
        try:
            cursor: Cursor = self._conn.execute(sql, params)
            return cursor
        except self._psycopg.IntegrityError as exc:
            raise IntegrityError(_reason(exc)) from None
        except (errors.LockNotAvailable, errors.QueryCanceled, errors.DeadlockDetected):
            raise sqlite3.OperationalError("database is locked") from None
        except self._psycopg.OperationalError as exc:
            raise sqlite3.OperationalError(f"PostgreSQL: {_reason(exc)}") from None


def _reason(exc: BaseException) -> str:
    """The first line of a driver error (no query text, no parameters: those may be secrets)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
