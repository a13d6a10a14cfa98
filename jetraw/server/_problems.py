"""RFC 9457 problem details: the one way the reference platform reports an error.

A leaf every layer may raise from (the store refuses a bad name with one, the routers a missing
token); ``jetraw.server.http`` renders it as ``application/problem+json``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PROBLEM_BASE", "Problem", "problem_body"]

PROBLEM_BASE = "https://jetraw.dev/problems/"


class Problem(Exception):
    """Raise anywhere in a handler to answer with ``application/problem+json``."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.title = title or code.replace("_", " ").capitalize()
        self.headers = headers or {}
        self.extra = extra

    def body(self, request_id: str | None) -> dict[str, Any]:
        return problem_body(
            self.status,
            self.code,
            self.detail,
            title=self.title,
            request_id=request_id,
            **self.extra,
        )


def problem_body(
    status: int,
    code: str,
    detail: str,
    *,
    title: str | None = None,
    request_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + code.replace("_", "-"),
        "title": title or code.replace("_", " ").capitalize(),
        "status": status,
        "detail": detail,
        "code": code,
        "request_id": request_id,
    }
    body.update(extra)
    return body
