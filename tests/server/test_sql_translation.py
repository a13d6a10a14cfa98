"""The SQLite-to-PostgreSQL translation of the store's SQL (pure text functions).

One run is enough (they do not touch a database), hence ``sqlite_only``: no PostgreSQL variant.
"""

from __future__ import annotations

import pytest

from jetraw.server.store._sql import schema, split_statements, statement

pytestmark = pytest.mark.sqlite_only


def test_placeholders_outside_literals_only() -> None:
    assert statement("SELECT * FROM t WHERE a = ? AND b = '?' AND c LIKE 'x%'") == (
        "SELECT * FROM t WHERE a = %s AND b = '?' AND c LIKE 'x%%'"
    )
    assert statement('SELECT "odd?name" FROM t WHERE a % 2 = ?') == (
        'SELECT "odd?name" FROM t WHERE a %% 2 = %s'
    )
    assert statement("SELECT 1 -- why?\nFROM t") == "SELECT 1 -- why?\nFROM t"


def test_insert_or_ignore_and_or_replace() -> None:
    assert statement("INSERT OR IGNORE INTO garbage (space_id, object_key) VALUES (?, ?)") == (
        "INSERT INTO garbage (space_id, object_key) VALUES (%s, %s) ON CONFLICT DO NOTHING"
    )
    assert statement("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)") == (
        "INSERT INTO settings (key, value) VALUES (%s, %s) "
        "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
    )
    assert statement("insert or ignore into users (id) values (?) returning id") == (
        "INSERT INTO users (id) values (%s) ON CONFLICT DO NOTHING returning id"
    )
    with pytest.raises(ValueError, match="primary key is unknown"):
        statement("INSERT OR REPLACE INTO nowhere (a) VALUES (?)")


def test_ddl_types_collations_and_rowid() -> None:
    ddl = schema(
        "CREATE TABLE t (id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE COLLATE NOCASE, "
        "n INTEGER, at REAL, note TEXT DEFAULT 'INTEGER TEXT')"
    )
    assert 'id TEXT COLLATE "C" PRIMARY KEY' in ddl
    assert "email TEXT NOT NULL UNIQUE COLLATE jetraw_nocase" in ddl
    assert "n BIGINT" in ddl
    assert "at DOUBLE PRECISION" in ddl
    assert "DEFAULT 'INTEGER TEXT'" in ddl  # literals untouched
    assert ddl.rstrip().endswith("rowid BIGSERIAL\n)")
    no_rowid = schema("CREATE TABLE f (a TEXT, PRIMARY KEY (a)) WITHOUT ROWID")
    assert "ROWID" not in no_rowid.upper().replace("ROWID BIGSERIAL", "")
    assert "rowid" not in no_rowid
    assert (
        schema("ALTER TABLE t ADD COLUMN x REAL") == "ALTER TABLE t ADD COLUMN x DOUBLE PRECISION"
    )


def test_split_statements_keeps_semicolons_in_literals() -> None:
    script = (
        "CREATE TABLE a (x TEXT DEFAULT ';'); -- a comment; still\nINSERT INTO a VALUES ('b;c');"
    )
    assert split_statements(script) == [
        "CREATE TABLE a (x TEXT DEFAULT ';')",
        "INSERT INTO a VALUES ('b;c')",
    ]
