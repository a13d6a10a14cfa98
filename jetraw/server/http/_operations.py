"""Operations: ``/healthz`` (liveness), ``/readyz`` (the database answers, at which schema version)
and ``/metrics`` (this process's counters, Prometheus text format).

``/readyz`` is cheap (one query on the worker thread's connection), unauthenticated and says
nothing secret: the backend's name, the schema version, this instance's id. ``503`` with
``status: "unavailable"`` when the database does not answer (the reason is logged, not sent).

``/metrics`` tells how busy the platform is and how often logins fail, so it is not public
unless ``ServerSettings.metrics_public`` says so: otherwise it needs the admin token as a Bearer
token (``jetraw.testing.LocalPlatform.metrics`` sends it).
"""

from __future__ import annotations

import hmac
import logging
import sqlite3
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from jetraw.server._problems import Problem
from jetraw.server.http._problems import problems
from jetraw.server.http._state import state_of
from jetraw.server.store import SCHEMA_VERSION, schema_version

__all__ = ["router"]

router = APIRouter(tags=["operations"])

log = logging.getLogger("jetraw.server")


@router.get("/healthz", summary="Liveness")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: the database answers (backend, schema version, instance)",
    responses={503: {"description": "The database does not answer."}},
)
async def readyz(request: Request) -> JSONResponse:
    state = state_of(request)
    body: dict[str, Any] = {
        "status": "ok",
        "database": state.db.backend,
        "schema_version": None,
        "expected_schema_version": SCHEMA_VERSION,
        "instance": state.settings.instance_id,
    }
    try:
        version = await anyio.to_thread.run_sync(lambda: schema_version(state.db.conn()))
    except (sqlite3.Error, OSError, RuntimeError) as exc:
        log.warning("readiness check failed: %s", str(exc).splitlines()[0] if str(exc) else exc)
        return JSONResponse({**body, "status": "unavailable"}, status_code=503)
    body["schema_version"] = version
    if version != SCHEMA_VERSION:
        body["status"] = "unavailable"
        return JSONResponse(body, status_code=503)
    return JSONResponse(body)


def _may_read_metrics(request: Request) -> bool:
    settings = state_of(request).settings
    if settings.metrics_public:
        return True
    expected = settings.admin_token
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if not expected or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(token.strip().encode("utf-8", "replace"), expected.encode("utf-8"))


@router.get(
    "/metrics",
    summary="Prometheus counters (the admin token as Bearer, unless the server makes it public)",
    response_class=PlainTextResponse,
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
        **problems(),
    },
)
def metrics(request: Request) -> PlainTextResponse:
    if not _may_read_metrics(request):
        raise Problem(
            401,
            "unauthorized",
            "/metrics needs the admin token (Authorization: Bearer ...).",
            headers={"WWW-Authenticate": 'Bearer realm="jetraw-metrics"'},
        )
    return PlainTextResponse(
        state_of(request).metrics.render(), media_type="text/plain; version=0.0.4"
    )
