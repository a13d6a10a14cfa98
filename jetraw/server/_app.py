"""The composition root of the reference platform: :func:`create_app`.

It opens the :class:`~jetraw.server.http.AppState` (database, run-time settings, counters, rate
limiter), includes one router per resource, installs the problem handlers and the OpenAPI
adjustments, and wraps everything in the envelope (request ids, body limits, 500s). The layers
below never import this module: ``http`` (routers) -> ``auth`` -> ``store``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import anyio
from fastapi import FastAPI

from jetraw.server._settings import ServerSettings
from jetraw.server.http import (
    AppState,
    Envelope,
    accounts_router,
    admin_router,
    apikeys_router,
    files_router,
    grants_router,
    install_openapi,
    install_problem_handlers,
    oauth_router,
    operation_id,
    operations_router,
    pages_router,
    settings_pages_router,
    spaces_router,
    uploads_router,
)
from jetraw.server.store import periodic_cleanup

__all__ = ["create_app"]


def create_app(settings: ServerSettings) -> FastAPI:
    """Build the reference platform's ASGI application for ``settings``.

    The database in ``settings.data_dir`` is created and migrated here; a periodic cleanup task
    runs while the application's lifespan is active.
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    state = AppState.open(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with anyio.create_task_group() as tg:
            tg.start_soon(periodic_cleanup, state.db, state.settings)
            yield
            tg.cancel_scope.cancel()

    app = FastAPI(
        title="Jetraw state server",
        version="1",
        summary="Accounts, spaces, the file namespace, uploads and tokens of a Jetraw platform.",
        description="The protocol is described in prose in docs/protocol.md.",
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
    )
    app.state.jetraw = state
    install_problem_handlers(app)
    # The order of the routes is the order of the paths in the OpenAPI document.
    for router in (
        operations_router,
        accounts_router,
        spaces_router,
        files_router,
        uploads_router,
        grants_router,
        admin_router,
        oauth_router,
        settings_pages_router,
        pages_router,
        apikeys_router,
    ):
        app.include_router(router)
    install_openapi(app)
    app.add_middleware(
        Envelope,
        max_body_bytes=settings.max_body_bytes,
        metrics=state.metrics,
        instance=settings.instance_id,
    )
    return app
