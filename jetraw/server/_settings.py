"""Settings of the reference platform. Every limit a test may need to change is here."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["ServerSettings"]


@dataclasses.dataclass
class ServerSettings:
    """Settings of one reference-platform instance.

    ``access_token_ttl`` and the rate limits can also be changed at run time through the admin
    API (they are persisted in the ``settings`` table, so every process on a data dir agrees).
    """

    data_dir: Path
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
    #: scrypt cost parameter N (a power of two). 2**14 in production, 2**4 in tests.
    password_hash_n: int = 2**14
    #: requests per minute per client address on login/token/device endpoints; 0 = unlimited.
    rate_limit_per_minute: int = 60
    max_body_bytes: int = 1024 * 1024
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
        return self.data_dir / "jetraw.db"

    @property
    def storage_dir(self) -> Path:
        return self.data_dir / "storage"
