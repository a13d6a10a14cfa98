"""Pieces both sides of jetraw share: the SDK core and the reference server import these.

Nothing here imports another jetraw module apart from ``jetraw._util`` itself, so every layer may
depend on it (the import contracts in ``pyproject.toml`` enforce that).
"""

from jetraw._util._atomic import atomic_write, fsync_dir, write_all
from jetraw._util._backoff import Backoff
from jetraw._util._redact import RedactingFilter, protect_library_loggers, redact
from jetraw._util._staging import STAGING_DIR, StagingLayout, StagingMeta

__all__ = [
    "STAGING_DIR",
    "Backoff",
    "RedactingFilter",
    "StagingLayout",
    "StagingMeta",
    "atomic_write",
    "fsync_dir",
    "protect_library_loggers",
    "redact",
    "write_all",
]
