"""Persisting a login: the profile (no secrets) plus the secret store entry, and removing both."""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["lock_path"]


def lock_path(directory: Path, key: str) -> Path:
    """The cross-process lock file of one login (server, organisation, user)."""
    locks = directory / "locks"
    locks.mkdir(parents=True, exist_ok=True, mode=0o700)
    return locks / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".lock")
