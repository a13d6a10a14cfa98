"""``/api/v1``: uploads — create (one or a batch), record a storage upload id, complete, abort."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Query, Request

from jetraw._util import StagingLayout
from jetraw.server._problems import Problem
from jetraw.server.http._deps import Caller, CallerDep
from jetraw.server.http._files import client_garbage
from jetraw.server.http._problems import problems, request_id_of
from jetraw.server.http._schemas import (
    BatchCompleteIn,
    BatchCompleteOut,
    BatchCreateIn,
    BatchCreateOut,
    CompleteIn,
    FileOut,
    UploadIn,
    UploadList,
    UploadOut,
    UploadPatchIn,
)
from jetraw.server.store import (
    BatchMemo,
    Connection,
    NewUpload,
    Row,
    abort_upload,
    complete_upload,
    create_upload,
    create_uploads,
    file_json,
    find_space,
    find_upload,
    local_root,
    transaction,
    upload_json,
)

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["uploads"])

#: Items of a batch per transaction. Items are independent, so a batch need not be atomic, and
#: SQLite has one write lock for every organisation: a 1,000-item batch in one transaction held
#: it for seconds, and a few in parallel stalled everyone's writes for tens of seconds.
BATCH_CHUNK = 100

_T = TypeVar("_T")


def _chunks(items: Sequence[_T]) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), BATCH_CHUNK):
        yield items[start : start + BATCH_CHUNK]


def _create(caller: Caller, conn: Connection, space: Row, body: UploadIn) -> Any:
    expiry = caller.state.settings.upload_expiry_days * 86400.0
    row = create_upload(
        conn,
        space=space,
        user_id=caller.user_id,
        path=body.path,
        size=body.size,
        overwrite=body.overwrite,
        metadata=body.metadata,
        multipart=body.multipart,
        now=caller.now(),
        expiry_seconds=expiry,
    )
    return upload_json(row, space["name"])


@router.post(
    "/spaces/{space}/uploads",
    status_code=201,
    response_model=UploadOut,
    response_model_exclude_unset=True,
    responses=problems(400, 404, 409),
    summary="Start an upload",
)
def post_upload(space: str, body: UploadIn, caller: CallerDep) -> dict[str, Any]:
    with transaction(caller.conn) as conn:
        result = _create(caller, conn, caller.space(space), body)
    caller.state.metrics.inc("jetraw_uploads_created_total")
    return dict(result)


@router.post(
    "/spaces/{space}/uploads/batch",
    response_model=BatchCreateOut,
    response_model_exclude_unset=True,
    responses=problems(400, 404),
    summary="Start up to 1,000 uploads; each item succeeds or fails on its own",
)
def post_upload_batch(
    space: str, body: BatchCreateIn, caller: CallerDep, request: Request
) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    created = 0
    row = caller.space(space)
    expiry = caller.state.settings.upload_expiry_days * 86400.0
    for chunk in _chunks(body.uploads):
        items = [NewUpload(i.path, i.size, i.overwrite, i.metadata, i.multipart) for i in chunk]
        with transaction(caller.conn) as conn:
            answers = create_uploads(
                conn,
                space=row,
                user_id=caller.user_id,
                items=items,
                now=caller.now(),
                expiry_seconds=expiry,
            )
        for answer in answers:
            if isinstance(answer, Problem):
                results.append({"upload": None, "error": answer.body(request_id_of(request))})
            else:
                results.append({"upload": upload_json(answer, row["name"]), "error": None})
                created += 1
    caller.state.metrics.inc("jetraw_uploads_created_total", value=created)
    return {"results": results}


def _complete(
    caller: Caller,
    conn: Connection,
    upload_id: str,
    body: CompleteIn,
    memo: BatchMemo | None = None,
) -> tuple[dict[str, Any] | None, Problem | None, bool]:
    try:
        upload, space = find_upload(
            conn,
            upload_id,
            user_id=caller.user_id,
            organisation_id=caller.organisation_id,
            memo=memo,
        )
    except Problem as exc:
        return None, exc, False
    file, problem, newly = complete_upload(
        conn,
        upload,
        space,
        size=body.size,
        checksum=body.checksum.model_dump(),
        now=caller.now(),
        delete_after=caller.delete_after(),
        memo=memo,
    )
    if file is not None:
        file["garbage"] = client_garbage(space, file["garbage"])
    return file, problem, newly


@router.post(
    "/uploads/{upload_id}/complete",
    response_model=FileOut,
    response_model_exclude_unset=True,
    responses=problems(400, 404, 409),
    summary="Complete an upload: the file appears (idempotent)",
)
def post_complete(upload_id: str, body: CompleteIn, caller: CallerDep) -> dict[str, Any]:
    with transaction(caller.conn) as conn:
        file, problem, newly = _complete(caller, conn, upload_id, body)
    if problem is not None:
        raise problem
    if newly:
        caller.state.metrics.inc("jetraw_uploads_completed_total")
    assert file is not None
    return file


@router.post(
    "/uploads/batch-complete",
    response_model=BatchCompleteOut,
    response_model_exclude_unset=True,
    responses=problems(400),
    summary="Complete up to 1,000 uploads; each item succeeds or fails on its own",
)
def post_batch_complete(
    body: BatchCompleteIn, caller: CallerDep, request: Request
) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    completed = 0
    for chunk in _chunks(body.uploads):
        with transaction(caller.conn) as conn:
            memo = BatchMemo()  # one per transaction
            for item in chunk:
                file, problem, newly = _complete(caller, conn, item.id, item, memo)
                completed += newly
                error = None if problem is None else problem.body(request_id_of(request))
                results.append({"file": file, "error": error})
    caller.state.metrics.inc("jetraw_uploads_completed_total", value=completed)
    return {"results": results}


@router.delete(
    "/uploads/{upload_id}",
    status_code=204,
    responses=problems(404, 409),
    summary="Abort an upload (idempotent)",
)
def delete_upload(upload_id: str, caller: CallerDep) -> None:
    with transaction(caller.conn) as conn:
        upload, _ = find_upload(
            conn, upload_id, user_id=caller.user_id, organisation_id=caller.organisation_id
        )
        aborted = abort_upload(conn, upload, delete_after=caller.delete_after())
    if aborted:
        caller.state.metrics.inc("jetraw_uploads_aborted_total")


@router.patch(
    "/uploads/{upload_id}",
    response_model=UploadOut,
    response_model_exclude_unset=True,
    responses=problems(400, 404, 409),
    summary="Record the storage's multipart upload id",
)
def patch_upload(upload_id: str, body: UploadPatchIn, caller: CallerDep) -> dict[str, Any]:
    with transaction(caller.conn) as conn:
        upload, space = find_upload(
            conn, upload_id, user_id=caller.user_id, organisation_id=caller.organisation_id
        )
        if upload["status"] != "pending":
            raise Problem(409, "upload_not_pending", "The upload is not pending.")
        sid = body.storage_upload_id
        if sid is not None and local_root(space) is not None and not StagingLayout.is_valid_id(sid):
            # Recorded for listing only (cleanup finds staging by its meta.json key, never by
            # this id), but a local space's id is one path segment: refuse anything else.
            raise Problem(
                400, "invalid_request", "A local storage upload id is a single path segment."
            )
        conn.execute(
            "UPDATE uploads SET storage_upload_id = ? WHERE id = ?",
            (body.storage_upload_id, upload_id),
        )
        row = conn.execute("SELECT * FROM uploads WHERE id = ?", (upload_id,)).fetchone()
        return upload_json(row, space["name"])


def _with_file(conn: Connection, row: Row, space_name: str) -> dict[str, Any]:
    file = None
    if row["status"] == "completed":
        found = conn.execute(
            "SELECT * FROM files WHERE space_id = ? AND upload_id = ?", (row["space_id"], row["id"])
        ).fetchone()
        file = None if found is None else file_json(found)
    return upload_json(row, space_name, file)


@router.get(
    "/uploads",
    response_model=UploadList,
    response_model_exclude_unset=True,
    responses=problems(400, 404),
    summary="The caller's uploads",
)
def list_uploads(
    caller: CallerDep,
    space: str | None = None,
    status: Literal["pending", "completed", "aborted"] | None = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
) -> dict[str, Any]:
    conn = caller.conn
    clauses = ["u.user_id = ?", "s.organisation_id = ?"]
    params: list[Any] = [caller.user_id, caller.organisation_id]
    if space is not None:
        clauses.append("u.space_id = ?")
        params.append(find_space(conn, caller.organisation_id, space)["id"])
    if status is not None:
        clauses.append("u.status = ?")
        params.append(status)
    rows = conn.execute(
        # S608: constant clauses, values bound as ?
        "SELECT u.*, s.name AS space_name FROM uploads u JOIN spaces s ON s.id = u.space_id "  # noqa: S608
        f"WHERE {' AND '.join(clauses)} ORDER BY u.created_at, u.id LIMIT ?",
        (*params, limit),
    ).fetchall()
    return {"items": [_with_file(conn, row, row["space_name"]) for row in rows]}


@router.get(
    "/uploads/{upload_id}",
    response_model=UploadOut,
    response_model_exclude_unset=True,
    responses=problems(404),
    summary="One upload",
)
def get_upload(upload_id: str, caller: CallerDep) -> dict[str, Any]:
    conn = caller.conn
    upload, space = find_upload(
        conn, upload_id, user_id=caller.user_id, organisation_id=caller.organisation_id
    )
    return _with_file(conn, upload, space["name"])
