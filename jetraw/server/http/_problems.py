"""Problem details (RFC 9457) over HTTP: rendering, the exception handlers, OpenAPI responses.

Handlers raise :class:`jetraw.server._problems.Problem`; the handlers installed here answer it,
FastAPI's validation errors and Starlette's HTTP errors alike as ``application/problem+json``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from jetraw.server._problems import Problem
from jetraw.server.http._schemas import CONTROL_CHARACTER, ProblemOut

__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "install_problem_handlers",
    "problem_response",
    "problems",
    "request_id_of",
]

PROBLEM_MEDIA_TYPE = "application/problem+json"
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
_DESCRIPTIONS = {
    400: "Invalid request, path or name",
    401: "Missing, expired or revoked access token",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict",
    413: "Body too large",
    415: "Body is not JSON",
    422: "A string contains a control character (code control_character)",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for problem+json answers with these statuses (401 always)."""
    return {
        status: {
            "model": ProblemOut,
            "description": _DESCRIPTIONS.get(status, "Problem"),
            "content": {"application/problem+json": {}},
        }
        for status in sorted({401, *statuses})
    }


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


def install_problem_handlers(app: FastAPI) -> None:
    """Answer problems, validation errors and HTTP errors of ``app`` as problem+json."""

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
        if any(e["type"] == CONTROL_CHARACTER for e in errors):
            # Its own status and code: a client can tell "escape what you send" from a typo.
            status, code = 422, CONTROL_CHARACTER
        else:
            status, code = 400, "invalid_request"
        return problem_response(
            request, Problem(status, code, detail or "Invalid request.", errors=errors)
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
