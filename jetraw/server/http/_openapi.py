"""The OpenAPI document of the reference platform: FastAPI's, adjusted to what is answered."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from jetraw.server.http._schemas import ProblemOut

__all__ = ["install_openapi", "operation_id"]


def operation_id(route: APIRoute) -> str:
    """Readable, stable ids for client generators: ``<tag>.<handler>``, e.g. ``files.stat_file``."""
    tag = str(route.tags[0]) if route.tags else "operations"
    return f"{tag}.{route.name}"


def _problem_schema_ref() -> dict[str, Any]:
    return {"$ref": "#/components/schemas/ProblemOut"}


def _problem(description: str) -> dict[str, Any]:
    content = {"application/problem+json": {"schema": _problem_schema_ref()}}
    return {"description": description, "content": content}


def install_openapi(app: FastAPI) -> None:
    """FastAPI's document, adjusted to what the server really answers.

    Validation errors are ``400 invalid_request`` problems (not FastAPI's 422), problems are
    ``application/problem+json``, and the Bearer schemes are declared.
    """

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
                if responses.pop("422", None) is not None:
                    # FastAPI's 422 is our 400 invalid_request, plus 422 control_character for
                    # a string that people will read (names, metadata) with a control character.
                    responses.setdefault("400", _problem("Invalid request"))
                    responses["422"] = _problem(
                        "A string contains a control character (code control_character)"
                    )
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
