"""The envelope every answer goes through (a plain ASGI middleware, so it also wraps what
Starlette's own error handling sends): it assigns the request id, limits the body size, insists on
JSON bodies for the JSON APIs, counts responses by status and turns any unexpected exception into
a ``500 internal_error`` problem that is logged and counted, never a traceback.

It also writes the access log: one JSON object per request on the logger
``jetraw.server.access`` (level INFO): ``time``, ``instance``, ``request_id``, ``method``,
``path`` (never the query string, which may hold codes or tokens), ``status``, ``duration_ms``
and ``client`` (the peer address). No header is ever logged: no token, key, cookie or
Authorization value can reach it.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any

from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jetraw.server._problems import Problem
from jetraw.server.http._metrics import Metrics
from jetraw.server.http._problems import PROBLEM_MEDIA_TYPE

__all__ = ["Envelope"]

log = logging.getLogger("jetraw.server")
access_log = logging.getLogger("jetraw.server.access")

_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_JSON_PREFIXES = ("/api/", "/admin/")


class _BodyTooLarge(StarletteHTTPException):
    def __init__(self) -> None:
        super().__init__(413, "The request body is larger than the limit.")


class Envelope:
    """Wrap an ASGI app in the envelope (see the module docstring)."""

    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, metrics: Metrics, instance: str = ""
    ) -> None:
        self.app = app
        self.instance = instance
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
        began = time.monotonic()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal started, status
            if message["type"] == "http.response.start":
                started = True
                status = int(message["status"])
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

        try:
            await self._serve(scope, receive, send_wrapper, headers, request_id, lambda: started)
        finally:
            if access_log.isEnabledFor(logging.INFO):
                self._log_access(scope, request_id, status, time.monotonic() - began)

    def _log_access(self, scope: Scope, request_id: str, status: int, seconds: float) -> None:
        client = scope.get("client")
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "instance": self.instance,
            "request_id": request_id,
            "method": scope.get("method", ""),
            "path": scope.get("path", ""),  # the query string is never logged
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "client": client[0] if client else None,
        }
        access_log.info(json.dumps(entry, separators=(",", ":")))

    async def _serve(
        self,
        scope: Scope,
        receive: Receive,
        send_wrapper: Send,
        headers: dict[str, str],
        request_id: str,
        started: Any,
    ) -> None:
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
            if started():
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
