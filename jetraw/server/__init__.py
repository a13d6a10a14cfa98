"""The Jetraw reference platform: a real state server (accounts, spaces, files, uploads, OAuth).

Install with the ``server`` extra. Run it with ``jetraw server --data-dir DIR`` or
``python -m jetraw.server``; embed it in tests with :class:`jetraw.testing.LocalPlatform`.
"""

from __future__ import annotations

from jetraw.server._app import create_app
from jetraw.server._settings import ServerSettings

__all__ = ["ServerSettings", "create_app"]
