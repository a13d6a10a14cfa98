"""PostgreSQL for the server tests: one database per test session, one schema per test.

``JETRAW_TEST_POSTGRESQL_URL`` (set by ``scripts/postgresql/start.sh`` and ``.ci/run``) names a
database a superuser may connect to. A session creates its own database ``jetraw_t_<hex>`` there
and drops it at the end; each test gets a fresh schema in it (``CREATE SCHEMA`` costs about a
millisecond), selected through the URL's ``options=-csearch_path=...``.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

#: Read at import: the test environment fixture clears every JETRAW_* variable per test.
POSTGRESQL_URL = os.environ.get("JETRAW_TEST_POSTGRESQL_URL", "")

__all__ = ["POSTGRESQL_URL", "PgCluster", "store_connection", "with_database", "with_schema"]


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + database))


def with_schema(url: str, schema: str) -> str:
    parts = urlsplit(url)
    query = (
        (parts.query + "&" if parts.query else "")
        + "options="
        + quote(f"-csearch_path={schema}", safe="")
    )
    return urlunsplit(parts._replace(query=query))


class PgCluster:
    """A private database on the test cluster, and fresh schemas in it."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.admin_url = url
        self.database = f"jetraw_t_{secrets.token_hex(4)}"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {self.database}")
        self.url = with_database(url, self.database)

    def new_schema(self) -> str:
        """A ``postgresql://`` URL of a new, empty schema."""
        import psycopg

        name = f"t_{secrets.token_hex(6)}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {name}")
        return with_schema(self.url, name)

    def close(self) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")


def store_connection(data_dir: Path, database_url: str | None) -> Any:
    """A connection to a platform's store for checks: its SQLite file, or its PostgreSQL schema
    (SQLite-style SQL works on both; rows index by position and by name)."""
    if database_url is None:
        return sqlite3.connect(data_dir / "jetraw.db", timeout=30, isolation_level=None)
    from jetraw.server.store._pg import PgConnection

    return PgConnection(database_url)
