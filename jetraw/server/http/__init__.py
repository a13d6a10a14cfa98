"""The HTTP layer: FastAPI routers (one per resource), their dependencies, schemas and problems.

Each router module exposes ``router``; this package names them by resource for the composition
root (``jetraw.server._app``), which includes them. Handlers reach the application's
:class:`AppState` through :func:`state_of`, the caller through ``CallerDep`` (``_deps``), and
answer errors as RFC 9457 problems (``_problems``). The envelope middleware (``_envelope``) and
the OpenAPI adjustments (``_openapi``) are installed by the composition root too.
"""

from __future__ import annotations

from jetraw.server.http._accounts import router as accounts_router
from jetraw.server.http._admin import router as admin_router
from jetraw.server.http._apikeys import router as apikeys_router
from jetraw.server.http._envelope import Envelope
from jetraw.server.http._files import router as files_router
from jetraw.server.http._grants import router as grants_router
from jetraw.server.http._oauth import router as oauth_router
from jetraw.server.http._openapi import install_openapi, operation_id
from jetraw.server.http._operations import router as operations_router
from jetraw.server.http._pages import router as pages_router
from jetraw.server.http._problems import install_problem_handlers
from jetraw.server.http._settings_pages import router as settings_pages_router
from jetraw.server.http._spaces import router as spaces_router
from jetraw.server.http._state import AppState, app_state, state_of
from jetraw.server.http._uploads import router as uploads_router

__all__ = [
    "AppState",
    "Envelope",
    "accounts_router",
    "admin_router",
    "apikeys_router",
    "app_state",
    "files_router",
    "grants_router",
    "install_openapi",
    "install_problem_handlers",
    "oauth_router",
    "operation_id",
    "operations_router",
    "pages_router",
    "settings_pages_router",
    "spaces_router",
    "state_of",
    "uploads_router",
]
