"""First run on an empty data dir: an admin user, organisation ``default``, space ``data`` (local
storage under the spaces base, ``<data dir>/spaces`` by default) and an API key, written to
``<data dir>/bootstrap.json`` (0600).
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from jetraw._util import atomic_write
from jetraw.server.auth import create_api_key, hash_password
from jetraw.server.http import app_state
from jetraw.server.store import (
    add_membership,
    create_organisation,
    create_space,
    create_user,
    rfc3339,
    transaction,
)

__all__ = [
    "ADMIN_EMAIL",
    "BOOTSTRAP_FILE",
    "ORGANISATION",
    "SPACE",
    "bootstrap",
    "describe",
    "read_bootstrap",
]

BOOTSTRAP_FILE = "bootstrap.json"
ADMIN_EMAIL = "admin@localhost"
ORGANISATION = "default"
SPACE = "data"


def bootstrap(app: FastAPI) -> dict[str, Any] | None:
    """Create the first accounts if the database of ``app`` has no user.

    Safe when several processes start at once on one data dir: exactly one bootstraps.

    Args:
        app: An application made by :func:`jetraw.server.create_app`.

    Returns:
        What was created (also written to ``<data dir>/bootstrap.json``, mode 0600), or ``None``
        if the data dir already had users.
    """
    state = app_state(app)
    conn = state.db.conn()
    if conn.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None:
        return None
    password = secrets.token_urlsafe(12)
    encoded = hash_password(password, n=state.settings.password_hash_n)
    stamp = rfc3339(state.now())
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
            operator=True,
        )
    _, key = create_api_key(
        conn, user_id=user["id"], organisation_id=org["id"], name="bootstrap", now=state.now()
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
    # Readable by the owner only: it holds the admin password and an API key.
    atomic_write(state.settings.data_dir / BOOTSTRAP_FILE, json.dumps(info, indent=2) + "\n")
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
