"""``POST /api/v1/spaces/{space}/grants``: presigned storage requests for granted spaces.

One call signs up to 1,000 requests (the client batches the parts and files it has in flight),
each checked on its own: writes only on the caller's pending uploads, reads on the space's files.
The answer is never logged (the URLs are bearer credentials until they expire).
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from pydantic import Field

from jetraw.server._problems import Problem
from jetraw.server.http._deps import CallerDep
from jetraw.server.http._problems import problems, request_id_of
from jetraw.server.http._schemas import InModel, OutModel, Text
from jetraw.server.store import authorise, granted, presign

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["uploads"])

Operation = Literal[
    "put",
    "create_multipart",
    "upload_part",
    "list_parts",
    "complete_multipart",
    "abort_multipart",
    "delete",
    "head",
    "get",
]


_ON_MULTIPART = ("upload_part", "list_parts", "complete_multipart", "abort_multipart")


class GrantRequestIn(InModel):
    op: Operation
    key: Annotated[Text, Field(min_length=1, max_length=1024)]
    upload_id: Annotated[Text | None, Field(max_length=1024)] = None
    part_number: Annotated[int | None, Field(ge=1, le=10000)] = None
    part_number_marker: Annotated[int | None, Field(ge=0, le=10000)] = None
    crc32c: Annotated[int | None, Field(ge=0, lt=2**32)] = None


class GrantsIn(InModel):
    requests: Annotated[list[GrantRequestIn], Field(min_length=1, max_length=1000)]


class GrantOut(OutModel):
    method: str
    url: str
    headers: dict[str, str]


class GrantResultOut(OutModel):
    grant: GrantOut | None
    error: dict[str, Any] | None


class GrantsOut(OutModel):
    expires_at: float
    results: list[GrantResultOut]


@router.post(
    "/spaces/{space}/grants",
    response_model=GrantsOut,
    responses=problems(400, 403, 404),
    summary="Presigned storage requests on a space with granted access (up to 1,000)",
)
def post_grants(space: str, body: GrantsIn, caller: CallerDep, request: Request) -> dict[str, Any]:
    row = caller.space(space)
    descriptor = json.loads(row["storage"])
    if not granted(descriptor):
        raise Problem(
            400, "access_not_granted", "This space uses the client's own storage credentials."
        )
    ttl = caller.state.settings.grant_ttl_seconds
    expires_at = time.time() + max(1, int(ttl))
    results: list[dict[str, Any]] = []
    for item in body.requests:
        op = item.model_dump()
        problem: Problem | None
        needs_upload = op["op"] in _ON_MULTIPART
        if (needs_upload and not op["upload_id"]) or (
            op["op"] == "upload_part" and not op["part_number"]
        ):
            problem = Problem(400, "invalid_request", f"{op['op']} needs upload_id, part_number.")
        else:
            problem = authorise(caller.conn, row, caller.user_id, op)
        if problem is not None:
            results.append({"grant": None, "error": problem.body(request_id_of(request))})
        else:
            results.append({"grant": presign(descriptor, op, ttl), "error": None})
    return {"expires_at": expires_at, "results": results}
