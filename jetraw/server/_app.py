"""The ASGI application of the reference platform: :func:`create_app`.

Every answer goes through one envelope (:class:`_Envelope`, a plain ASGI middleware, so it also
wraps what Starlette's own error handling sends): it assigns the request id, limits the body size,
insists on JSON bodies for the JSON APIs, counts responses by status and turns any unexpected
exception into a ``500 internal_error`` problem that is logged and counted, never a traceback.
"""

from __future__ import annotations

import contextlib
import logging
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jetraw.server._db import Database
from jetraw.server._metrics import Metrics
from jetraw.server._problems import Problem
from jetraw.server._settings import ServerSettings
from jetraw.server._state import AppState

__all__ = ["PROBLEM_MEDIA_TYPE", "create_app", "problem_response", "request_id_of", "state_of"]

log = logging.getLogger("jetraw.server")

PROBLEM_MEDIA_TYPE = "application/problem+json"
_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_JSON_PREFIXES = ("/api/", "/admin/")
_STATUS_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def state_of(request: Request) -> AppState:
    """The :class:`AppState` of the application serving ``request``."""
    state: AppState = request.app.state.jetraw
    return state


def request_id_of(request: Request) -> str | None:
    """The id the envelope gave this request (echoed in `X-Request-ID` and problems)."""
    rid = request.scope.get("state", {}).get("request_id")
    return rid if isinstance(rid, str) else None


def problem_response(request: Request, problem: Problem) -> JSONResponse:
    """Render a :class:`Problem` as ``application/problem+json``."""
    return JSONResponse(
        problem.body(request_id_of(request)),
        status_code=problem.status,
        headers=problem.headers,
        media_type=PROBLEM_MEDIA_TYPE,
    )


class _BodyTooLarge(StarletteHTTPException):
    def __init__(self) -> None:
        super().__init__(413, "The request body is larger than the limit.")


class _Envelope:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, metrics: Metrics) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        sent = headers.get("x-request-id", "")
        request_id = sent if _REQUEST_ID_RE.fullmatch(sent) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [
                    *[
                        (k, v)
                        for k, v in message.get("headers", [])
                        if k.lower() != b"x-request-id"
                    ],
                    (b"x-request-id", request_id.encode()),
                ]
                self.metrics.inc("jetraw_http_responses_total", {"status": str(message["status"])})
            await send(message)

        early = self._refuse_early(scope, headers)
        if early is not None:
            await self._send_problem(send_wrapper, early, request_id)
            return

        received = 0

        async def receive_wrapper() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _BodyTooLarge()
            return message

        try:
            await self.app(scope, receive_wrapper, send_wrapper)
        except Exception:
            log.exception("unexpected error (request %s)", request_id)
            self.metrics.inc("jetraw_internal_errors_total")
            if started:
                raise  # too late for a problem answer; the server closes the connection
            problem = Problem(500, "internal_error", "An unexpected error occurred.")
            await self._send_problem(send_wrapper, problem, request_id)

    def _refuse_early(self, scope: Scope, headers: dict[str, str]) -> Problem | None:
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                return Problem(400, "invalid_request", "Malformed Content-Length.")
            if int(length) > self.max_body_bytes:
                return Problem(
                    413,
                    "payload_too_large",
                    f"The request body is larger than {self.max_body_bytes} bytes.",
                )
        method = scope["method"]
        path: str = scope["path"]
        has_body = (length is not None and int(length) > 0) or "transfer-encoding" in headers
        if method in ("POST", "PUT", "PATCH") and has_body and path.startswith(_JSON_PREFIXES):
            media = headers.get("content-type", "").split(";", 1)[0].strip().lower()
            if media != "application/json" and not media.endswith("+json"):
                return Problem(415, "unsupported_media_type", "Send the body as application/json.")
        return None

    @staticmethod
    async def _send_problem(send: Send, problem: Problem, request_id: str) -> None:
        response = JSONResponse(
            problem.body(request_id),
            status_code=problem.status,
            headers=problem.headers,
            media_type=PROBLEM_MEDIA_TYPE,
        )
        await response({"type": "http"}, _no_receive, send)


async def _no_receive() -> Message:  # pragma: no cover - responses never read
    return {"type": "http.disconnect"}


def _clean_errors(errors: Any) -> list[dict[str, Any]]:
    # Never echo the offending input: it may be a password or a key.
    cleaned: list[dict[str, Any]] = []
    for error in errors:
        cleaned.append(
            {
                "loc": [str(part) for part in error.get("loc", ())],
                "msg": str(error.get("msg", "")),
                "type": str(error.get("type", "")),
            }
        )
    return cleaned


def _allowed_methods(request: Request) -> list[str]:
    # Probe each method through the public route-matching API (routes may be nested routers).
    allowed = []
    for method in ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT"):
        probe = {**request.scope, "method": method}
        if any(route.matches(probe)[0] is Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return allowed


def _install_handlers(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return problem_response(request, exc)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = _clean_errors(exc.errors())
        if any(e["type"] == "json_invalid" for e in errors):
            detail = "The request body is not valid JSON."
        else:
            detail = "; ".join(
                f"{'.'.join(e['loc'][1:] or e['loc'])}: {e['msg']}" for e in errors[:5]
            )
        return problem_response(
            request, Problem(400, "invalid_request", detail or "Invalid request.", errors=errors)
        )

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = _STATUS_CODES.get(exc.status_code, "invalid_request")
        if exc.status_code >= 500:
            code = "internal_error"
        detail = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"No route {request.method} {request.url.path}."
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names only the methods of the first route matching the path.
            headers["Allow"] = ", ".join(_allowed_methods(request))
            detail = f"{request.method} is not allowed here; use {headers['Allow']}."
        return problem_response(request, Problem(exc.status_code, code, detail, headers=headers))

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)


def _ops_routes(app: FastAPI) -> None:
    @app.get("/healthz", tags=["operations"], summary="Liveness")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/metrics",
        tags=["operations"],
        summary="Prometheus counters",
        response_class=PlainTextResponse,
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    )
    def metrics(request: Request) -> PlainTextResponse:
        return PlainTextResponse(
            state_of(request).metrics.render(), media_type="text/plain; version=0.0.4"
        )


def _include_routers(app: FastAPI) -> None:
    # Imported here, not at the top: the routers import helpers (state_of, ...) from this module.
    from jetraw.server import _admin, _api_accounts, _api_files, _api_uploads
    from jetraw.server._apikeys import apikeys_router
    from jetraw.server._oauth import oauth_router
    from jetraw.server._pages import pages_router

    app.include_router(_api_accounts.router)
    app.include_router(_api_files.router)
    app.include_router(_api_uploads.router)
    app.include_router(_admin.router)
    app.include_router(oauth_router)
    app.include_router(pages_router)
    app.include_router(apikeys_router)


def _operation_id(route: APIRoute) -> str:
    # Readable, stable ids for client generators: "<tag>.<handler>", e.g. "files.stat_file".
    tag = str(route.tags[0]) if route.tags else "operations"
    return f"{tag}.{route.name}"


def _problem_schema_ref() -> dict[str, Any]:
    return {"$ref": "#/components/schemas/ProblemOut"}


def _install_openapi(app: FastAPI) -> None:
    """FastAPI's document, adjusted to what the server really answers.

    Validation errors are ``400 invalid_request`` problems (not FastAPI's 422), problems are
    ``application/problem+json``, and the Bearer schemes are declared.
    """
    from fastapi.openapi.utils import get_openapi

    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            openapi_version=app.openapi_version,
            summary=app.summary,
            description=app.description,
            routes=app.routes,
        )
        components = schema.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        from jetraw.server._schemas import ProblemOut

        if "ProblemOut" not in schemas:
            schemas["ProblemOut"] = ProblemOut.model_json_schema(
                ref_template="#/components/schemas/{model}"
            )
        components["securitySchemes"] = {
            "accessToken": {
                "type": "http",
                "scheme": "bearer",
                "description": "An access token from POST /oauth/token.",
            },
            "adminToken": {
                "type": "http",
                "scheme": "bearer",
                "description": "The server's admin token (reference platform only).",
            },
        }
        for path, item in schema.get("paths", {}).items():
            for operation in item.values():
                responses = operation.get("responses", {})
                if responses.pop("422", None) is not None and "400" not in responses:
                    responses["400"] = {
                        "description": "Invalid request",
                        "content": {"application/problem+json": {"schema": _problem_schema_ref()}},
                    }
                for status, response in responses.items():
                    content = response.get("content", {})
                    if status[0] in "45" and "application/problem+json" in content:
                        content.pop("application/json", None)
                        content["application/problem+json"] = {"schema": _problem_schema_ref()}
                if path.startswith("/api/"):
                    operation["security"] = [{"accessToken": []}]
                elif path.startswith("/admin/"):
                    operation["security"] = [{"adminToken": []}]
        app.openapi_schema = schema
        return schema

    app.openapi = build  # type: ignore[method-assign]


def create_app(settings: ServerSettings) -> FastAPI:
    """Build the reference platform's ASGI application for ``settings``.

    The database in ``settings.data_dir`` is created and migrated here; a periodic cleanup task
    runs while the application's lifespan is active.
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    state = AppState(settings=settings, db=Database(settings.database_path), metrics=Metrics())

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from jetraw.server._cleanup import periodic_cleanup

        async with anyio.create_task_group() as tg:
            tg.start_soon(periodic_cleanup, state)
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
        generate_unique_id_function=_operation_id,
    )
    app.state.jetraw = state
    _install_handlers(app)
    _ops_routes(app)
    _include_routers(app)
    _install_openapi(app)
    app.add_middleware(_Envelope, max_body_bytes=settings.max_body_bytes, metrics=state.metrics)
    return app
