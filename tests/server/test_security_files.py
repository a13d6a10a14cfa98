"""Issue 12, finding 1: the data dir is private whatever the umask, the signing key in its own file.

The database holds every credential hash and (before schema 4) the signing key every token is
derived from: a local user who could read ``jetraw.db`` could sign an access token for anyone.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import pwd
import shutil
import sqlite3
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from jetraw.server.auth import signing_key, verify_access_token
from jetraw.server.store import MIGRATIONS, SCHEMA_VERSION, connect
from jetraw.testing import LocalPlatform

#: The data dir's files (SQLite database, key file) and their migration: SQLite only.
pytestmark = pytest.mark.sqlite_only

PRIVATE = {
    ".": 0o700,
    "jetraw.db": 0o600,
    "jetraw.db-wal": 0o600,
    "jetraw.db-shm": 0o600,
    "signing.key": 0o600,
    "bootstrap.json": 0o600,
}


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def _exercise(platform: LocalPlatform) -> None:
    """Sign a token (the key exists) and write (the WAL has frames, -shm exists)."""
    token = platform.access_token()
    platform.create_space(f"perm-{os.urandom(3).hex()}")
    me = httpx.get(
        platform.url + "/api/v1/me", headers={"Authorization": f"Bearer {token}"}, trust_env=False
    )
    assert me.status_code == 200


@pytest.mark.parametrize("umask", [0o022, 0o000], indirect=True, ids=["umask022", "umask000"])
@pytest.mark.parametrize("mode", ["process", "thread"])
def test_data_dir_is_private_whatever_the_umask(tmp_path: Path, umask: int, mode: str) -> None:
    data_dir = tmp_path / "data"
    with LocalPlatform(mode=mode, data_dir=data_dir) as platform:  # type: ignore[arg-type]
        _exercise(platform)
        modes = {name: _mode(data_dir / name) for name in PRIVATE}
        # Nothing else at the top of the data dir is open to the group or others either.
        loose = {
            entry.name: oct(_mode(entry))
            for entry in data_dir.iterdir()
            if _mode(entry) & 0o077 and entry.name not in PRIVATE
        }
        stored = sqlite3.connect(data_dir / "jetraw.db").execute("SELECT key FROM settings")
        setting_names = {row[0] for row in stored}
    assert {k: oct(v) for k, v in modes.items()} == {k: oct(v) for k, v in PRIVATE.items()}
    assert loose == {}
    assert "access_token_signing_key" not in setting_names  # the key is not in the database


def test_an_existing_lax_data_dir_is_narrowed(tmp_path: Path) -> None:
    """A data dir made by an older version (0755, 0644 files) is made private on start."""
    data_dir = tmp_path / "data"
    with LocalPlatform(data_dir=data_dir) as platform:
        _exercise(platform)
    os.chmod(data_dir, 0o755)
    for name in ("jetraw.db", "jetraw.db-wal", "jetraw.db-shm", "signing.key"):
        if (data_dir / name).exists():
            os.chmod(data_dir / name, 0o644)
    with LocalPlatform(data_dir=data_dir) as platform:
        _exercise(platform)
        assert {name: oct(_mode(data_dir / name)) for name in PRIVATE} == {
            k: oct(v) for k, v in PRIVATE.items()
        }


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a command as another user")
def test_another_local_user_cannot_read_the_database_or_the_key() -> None:
    """The attack as tried: uid ``nobody`` copies the database to read the signing key."""
    try:
        nobody = pwd.getpwnam("nobody").pw_uid
    except KeyError:
        pytest.skip("no user nobody")
    cat = shutil.which("cat")
    assert cat is not None
    parent = Path(tempfile.mkdtemp(prefix="jetraw-sec-"))
    old = os.umask(0o022)
    try:
        os.chmod(parent, 0o755)  # like a home directory or /srv: traversable by every user
        data_dir = parent / "data"
        with LocalPlatform(data_dir=data_dir) as platform:
            _exercise(platform)
            for name in ("jetraw.db", "jetraw.db-wal", "signing.key", "bootstrap.json"):
                read = subprocess.run(
                    [cat, str(data_dir / name)], user=nobody, capture_output=True, check=False
                )
                assert read.returncode != 0, f"uid nobody could read {name}"
                assert b"Permission denied" in read.stderr
    finally:
        os.umask(old)
        shutil.rmtree(parent, ignore_errors=True)


def _legacy_database(data_dir: Path, key: bytes) -> None:
    """A data dir of schema version 3, whose signing key is a row of the settings table."""
    data_dir.mkdir()
    old = sqlite3.connect(data_dir / "jetraw.db", isolation_level=None)
    for step in MIGRATIONS[:3]:
        assert isinstance(step, str)
        for statement in step.split(";"):
            if statement.strip():
                old.execute(statement)
    encoded = base64.urlsafe_b64encode(key).decode().rstrip("=")
    old.execute(
        "INSERT INTO settings (key, value) VALUES ('access_token_signing_key', ?)",
        (json.dumps(encoded),),
    )
    old.execute("PRAGMA user_version = 3")
    old.close()


def _token_signed_with(key: bytes, now: float) -> str:
    """An access token as the previous version signed it (same derivation, same format)."""
    access = hmac.new(key, b"jetraw:access-token", hashlib.sha256).digest()
    claims = {"sub": "u", "org": "o", "ck": "api_key", "cid": "k", "exp": int(now) + 600}
    body = base64.urlsafe_b64encode(
        json.dumps(claims, separators=(",", ":"), sort_keys=True).encode()
    ).rstrip(b"=")
    mac = base64.urlsafe_b64encode(hmac.new(access, body, hashlib.sha256).digest()).rstrip(b"=")
    return f"{body.decode()}.{mac.decode()}"


def test_migration_moves_the_key_to_its_file_and_keeps_tokens_valid(tmp_path: Path) -> None:
    data_dir = tmp_path / "legacy"
    key = os.urandom(32)
    _legacy_database(data_dir, key)
    now = time.time()
    token = _token_signed_with(key, now)
    conn = connect(data_dir / "jetraw.db")
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        names = [row[0] for row in conn.execute("SELECT key FROM settings")]
        assert "access_token_signing_key" not in names
        assert _mode(data_dir / "signing.key") == 0o600
        assert signing_key(conn) == key
        claims = verify_access_token(conn, token, now=now)
        assert claims is not None
        assert claims.user_id == "u"
    finally:
        conn.close()
    # A second open (another process, a restart) finds the same key in the file.
    again = connect(data_dir / "jetraw.db")
    try:
        assert signing_key(again) == key
    finally:
        again.close()


def test_a_new_data_dir_makes_one_key_and_keeps_it(tmp_path: Path) -> None:
    conn = connect(tmp_path / "d" / "jetraw.db")
    try:
        first = signing_key(conn)
        assert len(first) == 32
        assert signing_key(conn) == first
        assert (tmp_path / "d" / "signing.key").read_text().strip()
    finally:
        conn.close()


def test_a_malformed_key_file_is_an_error_not_a_new_key(tmp_path: Path) -> None:
    conn = connect(tmp_path / "jetraw.db")
    try:
        (tmp_path / "signing.key").write_text("not a key\n")
        with pytest.raises(RuntimeError, match="signing key"):
            signing_key(conn)
        assert (tmp_path / "signing.key").read_text() == "not a key\n"
    finally:
        conn.close()
