"""The connection protocol both store backends satisfy (``sqlite3`` and :mod:`._pg`)."""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["Connection", "Cursor", "Row"]


class Row(Protocol):
    """A result row: ``row["name"]`` or ``row[0]`` (``sqlite3.Row`` and :class:`PgRow`)."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def keys(self) -> list[str]: ...


class Cursor(Protocol):
    """What :meth:`Connection.execute` returns."""

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    @property
    def rowcount(self) -> int: ...


class Connection(Protocol):
    """A database connection of the store: ``sqlite3.Connection`` or :class:`PgConnection`.

    SQL is written in SQLite's dialect (``?`` placeholders); the PostgreSQL connection
    translates it (:mod:`jetraw.server.store._sql`).
    """

    def execute(self, sql: str, parameters: Any = ..., /) -> Cursor: ...

    @property
    def in_transaction(self) -> bool: ...

    def close(self) -> None: ...
