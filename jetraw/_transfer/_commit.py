"""Committing an upload on the state server, and undoing one, without losing a committed file.

A complete whose answer is lost (connection reset, timeout, a 5xx from a proxy) may or may not
have made the file visible. Deleting the stored object then could destroy a committed file, so an
ambiguous complete is looked up (``GET /uploads/{id}``), and an upload's bytes are deleted only
once the server has confirmed its abort.

One layer owns the retries of a call: the state server's client retries the complete (it is
idempotent) ``AsyncClient(retries=) + 1`` times; nothing here repeats that budget, so a stalled
complete endpoint costs one round of timeouts per phase, not a product of nested retries.
"""

from __future__ import annotations

from typing import Literal

import anyio

from jetraw._api import RemoteFile, StateServerAPI, Upload
from jetraw._exceptions import (
    JetrawError,
    NotFoundError,
    RateLimitedError,
    UploadStateError,
)
from jetraw._util import Backoff

__all__ = [
    "COMMIT_BACKOFF",
    "AbortOutcome",
    "abort_checked",
    "complete_checked",
    "is_definitive",
    "upload_status",
]

#: What aborting an upload on the server found: "aborted" (nothing references its object, so
#: its bytes may go), "completed" (it was committed after all), "unknown" (keep everything).
AbortOutcome = Literal["aborted", "completed", "unknown"]


#: Between tries of a complete: a first window of 0.2 s, doubling up to 2 s.
COMMIT_BACKOFF = Backoff(base=0.2, cap=2.0)


def is_definitive(exc: BaseException) -> bool:
    """Whether an error of a state-server call means it was refused, not maybe processed.

    A 4xx problem answer is definitive (except 429, whose retries may have crossed a processed
    request); a connection error, a timeout or a 5xx says nothing of what the server did.
    """
    if not isinstance(exc, JetrawError) or isinstance(exc, RateLimitedError):
        return False
    return exc.status_code is not None and 400 <= exc.status_code < 500


async def upload_status(api: StateServerAPI, upload_id: str) -> str | None:
    """The upload's status, "gone" if the server has no such upload, None if unknown."""
    try:
        return (await api.get_upload(upload_id)).status
    except NotFoundError:
        return "gone"
    except Exception:
        return None


async def complete_checked(
    api: StateServerAPI,
    upload_id: str,
    size: int,
    crc32c: int,
    space: str,
    *,
    backoff: Backoff = COMMIT_BACKOFF,
    settle: Upload | None = None,
) -> RemoteFile:
    """Complete an upload; an ambiguous failure is looked up, not blindly repeated.

    The complete itself is retried by the state server's client (it is idempotent: after a
    lost answer a second complete of a committed upload returns its file). If it still fails
    ambiguously, one status lookup decides: committed, the file is fetched with one more
    complete; anything else (pending, aborted, unknown) raises the error.

    Args:
        settle: The upload (``upload_id``'s) to settle here if no answer ever arrives: it is
            aborted, and an abort the server refuses because the upload is completed means the
            commit went through: the file (as far as the client knows it) is returned. Without
            it the caller settles a failure (``UploadContext.finish_failed`` does, for files).

    Raises:
        JetrawError: A definitive refusal, or the ambiguous error (the upload may then be
            committed or not: the caller must not delete its bytes before aborting it).
    """
    try:
        return await _complete_looked_up(api, upload_id, size, crc32c, space, backoff)
    except Exception as exc:
        if settle is None or is_definitive(exc):
            raise
        with anyio.CancelScope(shield=True):
            outcome = await abort_checked(api, upload_id)
        if outcome != "completed":
            raise
    return RemoteFile(
        space=space,
        path=settle.path,
        size=size,
        crc32c=crc32c,
        metadata={},
        object_key=settle.object_key,
    )


async def _complete_looked_up(
    api: StateServerAPI,
    upload_id: str,
    size: int,
    crc32c: int,
    space: str,
    backoff: Backoff,
) -> RemoteFile:
    """One complete (the state server's client retries it); an ambiguous failure looked up once."""
    try:
        return await api.complete_upload(upload_id, size, crc32c, space)
    except Exception as exc:
        if is_definitive(exc):
            raise
        status = await upload_status(api, upload_id)
        if status != "completed":
            raise
    # Committed though its answer was lost: the complete of a completed upload returns its file.
    await anyio.sleep(backoff.delay(1))
    return await api.complete_upload(upload_id, size, crc32c, space)


async def abort_checked(api: StateServerAPI, upload_id: str) -> AbortOutcome:
    """Abort an upload on the server and say what became of it (see :data:`AbortOutcome`)."""
    try:
        await api.abort_upload(upload_id)
        return "aborted"
    except NotFoundError:
        return "aborted"
    except UploadStateError:
        pass  # completed (aborted ones answer 204): confirm below
    except Exception:  # noqa: S110 - any failure: the status lookup below decides
        pass
    status = await upload_status(api, upload_id)
    if status in ("aborted", "gone"):
        return "aborted"
    if status == "completed":
        return "completed"
    return "unknown"
