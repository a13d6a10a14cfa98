"""The one SQL dialect of the store, as PostgreSQL reads it.

The store's statements are written for SQLite (``?`` placeholders, ``INSERT OR IGNORE``,
SQLite's column types in the migrations). :func:`statement` rewrites a query for PostgreSQL,
:func:`schema` a migration's DDL. Both are pure text functions, cached, and know string literals,
quoted identifiers and comments, so a ``?`` or a type name inside a literal is left alone.

What is translated (and so may be written in the SQLite style anywhere in the store):

* ``?`` placeholders become ``%s`` (and a literal ``%`` becomes ``%%``);
* ``INSERT OR IGNORE INTO`` becomes ``INSERT INTO ... ON CONFLICT DO NOTHING``;
* ``INSERT OR REPLACE INTO t (a, ...)`` becomes an upsert on ``t``'s primary key
  (:data:`PRIMARY_KEYS`; a table missing there is a ``ValueError``, never a silent insert);
* in DDL: a last ``rowid BIGSERIAL`` column (SQLite's implicit rowid), ``INTEGER`` ->
  ``BIGINT``, ``REAL`` -> ``DOUBLE PRECISION``, ``TEXT`` ->
  ``TEXT COLLATE "C"`` (byte order, as SQLite compares: the path range scans rely on it),
  ``COLLATE NOCASE`` -> a case-insensitive ICU collation, ``WITHOUT ROWID`` dropped.
"""

from __future__ import annotations

import functools
import re

__all__ = ["NOCASE_COLLATION", "PRIMARY_KEYS", "schema", "split_statements", "statement"]

#: The case-insensitive collation :func:`schema` uses for ``COLLATE NOCASE`` (made by migration).
NOCASE_COLLATION = "jetraw_nocase"

#: Primary keys of the tables an ``INSERT OR REPLACE`` may name.
PRIMARY_KEYS: dict[str, tuple[str, ...]] = {
    "users": ("id",),
    "organisations": ("id",),
    "memberships": ("user_id", "organisation_id"),
    "spaces": ("id",),
    "api_keys": ("id",),
    "token_families": ("id",),
    "refresh_tokens": ("id",),
    "auth_codes": ("code_hash",),
    "device_codes": ("device_code_hash",),
    "files": ("space_id", "path"),
    "uploads": ("id",),
    "garbage": ("space_id", "object_key"),
    "settings": ("key",),
    "sessions": ("id_hash",),
    "rate_limits": ("bucket",),
    "server_secrets": ("name",),
}

# A literal, a quoted identifier or a comment (kept whole), or one other character.
_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/|.", re.DOTALL)
_OR_IGNORE = re.compile(r"^\s*INSERT\s+OR\s+IGNORE\s+INTO\b", re.IGNORECASE)
_OR_REPLACE = re.compile(
    r"^\s*INSERT\s+OR\s+REPLACE\s+INTO\s+(\w+)\s*\(([^)]*)\)", re.IGNORECASE | re.DOTALL
)
_TYPES = [
    (re.compile(r"\bCOLLATE\s+NOCASE\b", re.IGNORECASE), f"COLLATE {NOCASE_COLLATION}"),
    (re.compile(r"\bWITHOUT\s+ROWID\b", re.IGNORECASE), ""),
    (re.compile(r"\bINTEGER\b", re.IGNORECASE), "BIGINT"),
    (re.compile(r"\bREAL\b", re.IGNORECASE), "DOUBLE PRECISION"),
    (re.compile(r"\bTEXT\b(?![^,()]*\bCOLLATE\b)", re.IGNORECASE), 'TEXT COLLATE "C"'),
]


def _tokens(sql: str) -> list[str]:
    return [m.group(0) for m in _TOKENS.finditer(sql)]


@functools.lru_cache(maxsize=4096)
def statement(sql: str) -> str:
    """``sql`` (SQLite style) as PostgreSQL runs it through psycopg (``%s`` placeholders).

    Raises:
        ValueError: An ``INSERT OR REPLACE`` into a table whose key is not in
            :data:`PRIMARY_KEYS`.
    """
    suffix = ""
    if _OR_IGNORE.match(sql):
        sql = _OR_IGNORE.sub("INSERT INTO", sql, count=1)
        suffix = " ON CONFLICT DO NOTHING"
    else:
        match = _OR_REPLACE.match(sql)
        if match is not None:
            table = match.group(1).lower()
            if table not in PRIMARY_KEYS:
                raise ValueError(f"INSERT OR REPLACE into {table!r}: its primary key is unknown")
            key = PRIMARY_KEYS[table]
            columns = [c.strip() for c in match.group(2).split(",") if c.strip()]
            others = [c for c in columns if c.lower() not in key]
            action = (
                "DO UPDATE SET " + ", ".join(f"{c} = EXCLUDED.{c}" for c in others)
                if others
                else "DO NOTHING"
            )
            sql = re.sub(r"\bOR\s+REPLACE\s+", "", sql, count=1, flags=re.IGNORECASE)
            suffix = f" ON CONFLICT ({', '.join(key)}) {action}"
    out: list[str] = []
    for piece in _tokens(sql):
        if piece == "?":
            out.append("%s")
        elif piece == "%":
            out.append("%%")
        elif len(piece) > 1 and piece[0] == "'":
            out.append(piece.replace("%", "%%"))
        else:
            out.append(piece)
    text = "".join(out).rstrip().rstrip(";")
    if suffix:
        returning = re.search(r"\sRETURNING\s", text, re.IGNORECASE)
        if returning is not None:  # ON CONFLICT goes before RETURNING
            text = text[: returning.start()] + suffix + text[returning.start() :]
        else:
            text += suffix
    return text


def split_statements(script: str) -> list[str]:
    """The statements of a migration script, split on ``;`` outside literals, comments dropped."""
    statements: list[str] = []
    current: list[str] = []
    for piece in _tokens(script):
        if piece.startswith("--") or (piece.startswith("/*") and len(piece) > 1):
            continue
        if piece == ";":
            statements.append("".join(current))
            current = []
        else:
            current.append(piece)
    statements.append("".join(current))
    return [s.strip() for s in statements if s.strip()]


_CREATE_TABLE = re.compile(r"^(\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?\w+\s*\()", re.I)
_NO_ROWID = re.compile(r"\bWITHOUT\s+ROWID\b", re.IGNORECASE)


@functools.lru_cache(maxsize=256)
def schema(ddl: str) -> str:
    """One DDL statement of a migration (SQLite types) for PostgreSQL.

    A table SQLite gives a ``rowid`` (insertion order, which a query may sort by) gets a
    ``rowid BIGSERIAL`` column, last (an ``INSERT ... SELECT`` of the other columns fills it).
    """
    if _CREATE_TABLE.match(ddl) and not _NO_ROWID.search(ddl):
        ddl = ddl.rstrip()
        ddl = ddl[:-1].rstrip() + ",\n    rowid BIGSERIAL\n)" if ddl.endswith(")") else ddl
    out = _tokens(ddl)
    # Types are words outside literals: rewrite word runs only, literals pass untouched.
    pieces: list[str] = []
    buffer: list[str] = []
    for token in out:
        if len(token) > 1 and token[0] in "'\"":
            pieces.append(_retype("".join(buffer)))
            buffer = []
            pieces.append(token)
        else:
            buffer.append(token)
    pieces.append(_retype("".join(buffer)))
    return "".join(pieces)


def _retype(text: str) -> str:
    for pattern, replacement in _TYPES:
        text = pattern.sub(replacement, text)
    return text
