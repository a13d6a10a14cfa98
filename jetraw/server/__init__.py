"""The Jetraw reference platform: a real state server (accounts, spaces, files, uploads, OAuth).

Install with the ``server`` extra. Run it with ``jetraw server --data-dir DIR`` or
``python -m jetraw.server``; embed it in tests with :class:`jetraw.testing.LocalPlatform`.

Inside, three layers, each importing only the ones below it: ``http`` (the FastAPI routers),
``auth`` (tokens, passwords, keys, grants, sessions) and ``store`` (the SQLite database). The
composition root ``_app`` builds the application from them. The names here are what the CLI and
:mod:`jetraw.testing` need to build, bootstrap and serve it.
"""

from __future__ import annotations

from jetraw.server._app import create_app
from jetraw.server._bootstrap import bootstrap
from jetraw.server._serve import (
    ENV_TRUSTED_PROXIES,
    READY_PREFIX,
    bind,
    configure_logging,
    run,
    trusted_proxies,
    url_for,
    uvicorn_config,
)
from jetraw.server._settings import ServerSettings

__all__ = [
    "ENV_TRUSTED_PROXIES",
    "READY_PREFIX",
    "ServerSettings",
    "bind",
    "bootstrap",
    "configure_logging",
    "create_app",
    "run",
    "trusted_proxies",
    "url_for",
    "uvicorn_config",
]
