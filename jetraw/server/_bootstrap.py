"""First run on an empty data dir: an admin user, organisation ``default``, space ``data`` (local
storage under the data dir) and an API key, written to ``<data dir>/bootstrap.json`` (0600).
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from jetraw.server._accounts import add_membership, create_organisation, create_user
from jetraw.server._db import transaction
from jetraw.server._runtime import now, rfc3339
from jetraw.server._security import create_api_key, hash_password
from jetraw.server._spaces import create_space
from jetraw.server._state import AppState

__all__ = ["BOOTSTRAP_FILE", "bootstrap", "describe", "read_bootstrap"]

BOOTSTRAP_FILE = "bootstrap.json"
ADMIN_EMAIL = "admin@localhost"
ORGANISATION = "default"
SPACE = "data"


def bootstrap(state: AppState) -> dict[str, Any] | None:
    """Create the first accounts if the database has no user; returns what was created.

    Safe when several processes start at once on one data dir: exactly one bootstraps.
    """
    conn = state.db.conn()
    if conn.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None:
        return None
    password = secrets.token_urlsafe(12)
    encoded = hash_password(password, n=state.settings.password_hash_n)
    stamp = rfc3339(now(state))
    with transaction(conn):
        if conn.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None:
            return None
        user = create_user(
            conn, email=ADMIN_EMAIL, name="Administrator", password_hash=encoded, now=stamp
        )
        org = create_organisation(conn, ORGANISATION, now=stamp)
        add_membership(conn, user_id=user["id"], organisation_id=org["id"], role="admin", now=stamp)
        space = create_space(
            conn,
            organisation_id=org["id"],
            name=SPACE,
            storage=None,
            settings=state.settings,
            now=stamp,
        )
    _, key = create_api_key(
        conn, user_id=user["id"], organisation_id=org["id"], name="bootstrap", now=now(state)
    )
    info = {
        "email": ADMIN_EMAIL,
        "password": password,
        "user_id": user["id"],
        "organisation": ORGANISATION,
        "space": space["name"],
        "storage_root": json.loads(space["storage"])["root"],
        "api_key": key,
    }
    _write_private(state.settings.data_dir / BOOTSTRAP_FILE, json.dumps(info, indent=2) + "\n")
    return info


def read_bootstrap(data_dir: Path) -> dict[str, Any]:
    """The credentials a first run wrote to ``<data dir>/bootstrap.json``."""
    data: dict[str, Any] = json.loads((data_dir / BOOTSTRAP_FILE).read_text("utf-8"))
    return data


def describe(info: dict[str, Any], url: str) -> str:
    """How to use a freshly bootstrapped platform, for a person."""
    return (
        f"Jetraw reference platform: first run, created\n"
        f"  server        {url}\n"
        f"  admin login   {info['email']} / {info['password']}\n"
        f"  organisation  {info['organisation']}\n"
        f"  space         /{info['space']}  (local storage: {info['storage_root']})\n"
        f"  API key       {info['api_key']}\n"
        f"These are also in bootstrap.json in the data dir (readable by you only). To use them:\n"
        f"  export JETRAW_SERVER={url} JETRAW_API_KEY={info['api_key']}\n"
        f"  jetraw whoami\n"
    )


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
