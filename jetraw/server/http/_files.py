"""``/api/v1/spaces/{space}/...``: list, stat, metadata, delete, directories, move."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query

from jetraw.server.http._deps import CallerDep
from jetraw.server.http._problems import problems
from jetraw.server.http._schemas import (
    DeleteOut,
    DirectoryIn,
    DirectoryOut,
    FileList,
    FileOut,
    MetadataIn,
    MoveIn,
)
from jetraw.server.store import (
    delete_path,
    granted,
    list_entries,
    local_root,
    make_directory,
    move_file,
    normalise_path,
    remove_directory,
    set_metadata,
    stat_path,
    transaction,
)

__all__ = ["client_garbage", "router"]

router = APIRouter(prefix="/api/v1/spaces/{space}", tags=["files"])


def client_garbage(space: Any, garbage: list[str]) -> list[str]:
    """The replaced objects the client must remove itself (the server cleans local storage,
    and S3 storage it holds the keys of)."""
    if local_root(space) is not None or granted(json.loads(space["storage"])):
        return []
    return garbage


@router.get(
    "/files",
    response_model=FileList,
    response_model_exclude_unset=True,
    responses=problems(400, 404),
    summary="List files and directories",
)
def list_files(
    space: str,
    caller: CallerDep,
    prefix: Annotated[str, Query(max_length=2048)] = "",
    delimiter: Annotated[str | None, Query(max_length=1)] = None,
    cursor: Annotated[str | None, Query(max_length=8192)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
) -> dict[str, Any]:
    conn = caller.conn
    conn.execute("BEGIN")  # one snapshot for the whole page
    try:
        row = caller.space(space)
        items, next_cursor = list_entries(
            conn,
            row["id"],
            prefix=prefix,
            delimiter=delimiter or None,
            cursor=cursor,
            limit=limit,
        )
    finally:
        conn.execute("COMMIT")
    return {"items": items, "next_cursor": next_cursor}


@router.get(
    "/files/{path:path}",
    response_model=FileOut | DirectoryOut,
    response_model_exclude_unset=True,
    responses=problems(400, 404),
    summary="Stat a file or directory",
)
def stat_file(space: str, path: str, caller: CallerDep) -> dict[str, Any]:
    path = normalise_path(path)
    return stat_path(caller.conn, caller.space(space)["id"], path)


@router.patch(
    "/files/{path:path}",
    response_model=FileOut,
    response_model_exclude_unset=True,
    responses=problems(400, 404, 409),
    summary="Replace a file's user metadata",
)
def patch_file(space: str, path: str, body: MetadataIn, caller: CallerDep) -> dict[str, Any]:
    path = normalise_path(path)
    with transaction(caller.conn) as conn:
        row = caller.space(space)
        return set_metadata(conn, row["id"], path, body.metadata, now=caller.stamp())


@router.delete(
    "/files/{path:path}",
    response_model=DeleteOut,
    response_model_exclude_unset=True,
    responses=problems(400, 404, 409),
    summary="Delete a file, or a directory tree with recursive=true",
)
def delete_file(
    space: str, path: str, caller: CallerDep, recursive: bool = False
) -> dict[str, Any]:
    path = normalise_path(path)
    with transaction(caller.conn) as conn:
        row = caller.space(space)
        count, garbage = delete_path(
            conn, row["id"], path, recursive=recursive, delete_after=caller.delete_after()
        )
    return {"deleted": count, "garbage": client_garbage(row, garbage)}


@router.post(
    "/directories",
    status_code=201,
    response_model=DirectoryOut,
    response_model_exclude_unset=True,
    responses=problems(400, 404, 409),
    summary="Create an explicit (empty) directory",
)
def post_directory(space: str, body: DirectoryIn, caller: CallerDep) -> dict[str, Any]:
    path = normalise_path(body.path)
    with transaction(caller.conn) as conn:
        row = caller.space(space)
        return make_directory(conn, row["id"], path, exist_ok=body.exist_ok, now=caller.stamp())


@router.delete(
    "/directories/{path:path}",
    status_code=204,
    responses=problems(400, 404, 409),
    summary="Remove an empty explicit directory",
)
def delete_directory(space: str, path: str, caller: CallerDep) -> None:
    path = normalise_path(path)
    with transaction(caller.conn) as conn:
        remove_directory(conn, caller.space(space)["id"], path)


@router.post(
    "/move",
    response_model=FileOut,
    response_model_exclude_unset=True,
    responses=problems(400, 404, 409),
    summary="Rename a file (no bytes move)",
)
def move(space: str, body: MoveIn, caller: CallerDep) -> dict[str, Any]:
    with transaction(caller.conn) as conn:
        row = caller.space(space)
        moved, garbage = move_file(
            conn,
            row["id"],
            body.source,
            body.destination,
            overwrite=body.overwrite,
            now=caller.stamp(),
            delete_after=caller.delete_after(),
        )
    return {**moved, "garbage": client_garbage(row, garbage)}
