"""Settings of the reference platform. Every limit a test may need to change is here."""

from __future__ import annotations

import dataclasses
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

from jetraw._util._env import ENV_SERVER_DATABASE

__all__ = ["ENV_DATABASE", "ServerSettings"]

#: Environment variable with the default of :attr:`ServerSettings.database`.
ENV_DATABASE = ENV_SERVER_DATABASE


def _database_from_env() -> str | None:
    return os.environ.get(ENV_DATABASE) or None


def _instance_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclasses.dataclass
class ServerSettings:
    """Settings of one reference-platform instance.

    ``access_token_ttl`` and the rate limits can also be changed at run time through the admin
    API (they are persisted in the ``settings`` table, so every process on a data dir agrees).
    """

    data_dir: Path
    #: The database: ``None`` is SQLite in ``<data dir>/jetraw.db``; a URL
    #: ``postgresql://user@host:port/db`` is PostgreSQL (the ``postgresql`` extra), which several
    #: instances (on several machines) may share. Default: ``$JETRAW_SERVER_DATABASE``.
    database: str | None = dataclasses.field(default_factory=_database_from_env)
    #: Names this instance in metrics and access logs (default ``<hostname>-<pid>``).
    instance_id: str = dataclasses.field(default_factory=_instance_id)
    #: Public base URL (``issuer``); filled in from the bound host/port when ``None``.
    base_url: str | None = None
    access_token_ttl: int = 600
    refresh_grace_seconds: float = 30.0
    auth_code_ttl: int = 60
    device_code_ttl: int = 600
    device_poll_interval: int = 5
    upload_expiry_days: float = 7.0
    garbage_grace_seconds: float = 300.0
    #: seconds between cleanup passes (expire uploads, delete garbage); 0 = never on its own.
    cleanup_interval_seconds: float = 60.0
    #: Lifetime (seconds) of the presigned URLs the server grants on spaces with
    #: ``access: "granted"`` storage (docs/storage-access.md).
    grant_ttl_seconds: float = 900.0
    #: scrypt cost parameter N (a power of two). 2**14 in production, 2**4 in tests.
    password_hash_n: int = 2**14
    #: requests per minute per client address on login/token/device endpoints; 0 = unlimited.
    rate_limit_per_minute: int = 60
    #: Addresses or networks (``10.0.0.0/8``) of reverse proxies whose ``X-Forwarded-For`` and
    #: ``X-Forwarded-Proto`` are believed. Empty (default): none, the client address is the TCP
    #: peer's, so a caller cannot pick the address the rate limit counts.
    trusted_proxies: tuple[str, ...] = ()
    max_body_bytes: int = 1024 * 1024
    #: Base directory of the local spaces organisation admins create: a root they omit is
    #: ``<base>/<organisation id>/<space name>``, one they give must lie inside
    #: ``<base>/<organisation id>/``. ``None``: ``<data dir>/spaces``. The operator (admin API,
    #: bootstrap) may put a root anywhere outside the data dir's private files.
    local_spaces_root: Path | None = None
    #: Secret for the admin API (``/admin/v1``) used by ``jetraw.testing.LocalPlatform``;
    #: ``None`` disables the admin API.
    admin_token: str | None = None
    #: Lifetime (seconds) of an API key created without ``expires_in``/``expires_at`` on
    #: ``/api/v1/api-keys`` or the settings page; ``None`` = keys never expire.
    api_key_default_ttl: int | None = None
    #: Serve ``/metrics`` to anyone; when ``False`` it needs the admin token as a Bearer token.
    metrics_public: bool = False
    clock: Callable[[], float] = time.time

    @property
    def database_path(self) -> Path:
        """The SQLite file (used when :attr:`database` is ``None``)."""
        return self.data_dir / "jetraw.db"

    @property
    def database_location(self) -> str | Path:
        """What :class:`jetraw.server.store.Database` opens: the URL or the SQLite file."""
        return self.database if self.database else self.database_path

    @property
    def spaces_root(self) -> Path:
        """The base directory of local spaces (:attr:`local_spaces_root` or its default)."""
        return (
            self.data_dir / "spaces" if self.local_spaces_root is None else self.local_spaces_root
        )
