"""Operations: ``/healthz`` and ``/metrics`` (this process's counters, Prometheus text format).

``/metrics`` tells how busy the platform is and how often logins fail, so it is not public
unless ``ServerSettings.metrics_public`` says so: otherwise it needs the admin token as a Bearer
token (``jetraw.testing.LocalPlatform.metrics`` sends it).
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from jetraw.server._problems import Problem
from jetraw.server.http._problems import problems
from jetraw.server.http._state import state_of

__all__ = ["router"]

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


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
