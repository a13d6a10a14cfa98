"""Committing an upload on the state server, and undoing one, without losing a committed file.

A complete whose answer is lost (connection reset, timeout, a 5xx from a proxy) may or may not
have made the file visible. Deleting the stored object then could destroy a committed file, so an
ambiguous complete is looked up (``GET /uploads/{id}``) before it is retried, and an upload's
bytes are deleted only once the server has confirmed its abort.
"""

from __future__ import annotations

import random
from typing import Literal

import anyio

from jetraw import _files_api as api_
from jetraw._exceptions import (
    JetrawError,
    NotFoundError,
    RateLimitedError,
    UploadStateError,
)

__all__ = [
    "AbortOutcome",
    "abort_checked",
    "complete_checked",
    "complete_or_settle",
    "is_definitive",
    "upload_status",
]

#: What aborting an upload on the server found: "aborted" (nothing references its object, so
#: its bytes may go), "completed" (it was committed after all), "unknown" (keep everything).
AbortOutcome = Literal["aborted", "completed", "unknown"]


def is_definitive(exc: BaseException) -> bool:
    """Whether an error of a state-server call means it was refused, not maybe processed.

    A 4xx problem answer is definitive (except 429, whose retries may have crossed a processed
    request); a connection error, a timeout or a 5xx says nothing of what the server did.
    """
    if not isinstance(exc, JetrawError) or isinstance(exc, RateLimitedError):
        return False
    return exc.status_code is not None and 400 <= exc.status_code < 500


async def upload_status(api: api_.Requester, upload_id: str) -> str | None:
    """The upload's status, "gone" if the server has no such upload, None if unknown."""
    try:
        return (await api_.get_upload(api, upload_id)).status
    except NotFoundError:
        return "gone"
    except Exception:
        return None


async def complete_checked(
    api: api_.Requester,
    upload_id: str,
    size: int,
    crc32c: int,
    space: str,
    *,
    attempts: int = 4,
    rng: random.Random | None = None,
) -> api_.RemoteFile:
    """Complete an upload; an ambiguous failure is looked up before the complete is retried.

    Completing is idempotent: after a lost answer a second complete of a committed upload
    returns its file, and one of a still pending upload commits it. An upload found aborted (or
    expired) ends the retries with the error.

    Raises:
        JetrawError: A definitive refusal, or the last ambiguous error once ``attempts`` are
            spent (the upload may then be committed or not: the caller must not delete it).
    """
    rng = rng or random.Random()
    for attempt in range(attempts):
        try:
            return await api_.complete_upload(api, upload_id, size, crc32c, space)
        except Exception as exc:
            if is_definitive(exc) or attempt + 1 >= attempts:
                raise
            status = await upload_status(api, upload_id)
            if status in ("aborted", "gone"):
                raise
            if status == "completed":
                continue  # committed: the retried complete just fetches its file
        await anyio.sleep(rng.uniform(0, min(2.0, 0.2 * 2**attempt)))
    raise AssertionError("unreachable")  # pragma: no cover


async def abort_checked(api: api_.Requester, upload_id: str) -> AbortOutcome:
    """Abort an upload on the server and say what became of it (see :data:`AbortOutcome`)."""
    try:
        await api_.abort_upload(api, upload_id)
        return "aborted"
    except NotFoundError:
        return "aborted"
    except UploadStateError:
        pass  # completed (aborted ones answer 204): confirm below
    except Exception:
        pass
    status = await upload_status(api, upload_id)
    if status in ("aborted", "gone"):
        return "aborted"
    if status == "completed":
        return "completed"
    return "unknown"


async def complete_or_settle(
    api: api_.Requester, upload: api_.Upload, size: int, crc32c: int, space: str
) -> api_.RemoteFile:
    """:func:`complete_checked`; if no answer ever arrives, settle it by aborting the upload.

    An abort the server refuses because the upload is completed means the commit went through:
    the file (as far as the client knows it) is returned. Otherwise the error is raised; the
    upload is then aborted or in an unknown state, which the caller's abort handles.
    """
    try:
        return await complete_checked(api, upload.id, size, crc32c, space)
    except Exception as exc:
        if is_definitive(exc):
            raise
        with anyio.CancelScope(shield=True):
            outcome = await abort_checked(api, upload.id)
        if outcome != "completed":
            raise
    return api_.RemoteFile(
        space=space,
        path=upload.path,
        size=size,
        crc32c=crc32c,
        metadata={},
        object_key=upload.object_key,
    )
