"""What runs on a worker: one batch of files uploaded by a client of the worker's own.

A task gets plain, picklable values (:class:`ClientOptions`, :class:`BatchSpec`), takes the
worker process's :class:`~jetraw.aio.AsyncClient` for those options (built on first use, on the
process's loop thread: :mod:`._runtime`), uploads its files with the ordinary engine, and
returns plain :class:`~jetraw.FileTransfer` outcomes whose errors are known to survive pickling.

Idempotent when run again. Dask runs a task again when its worker dies (or its result is lost
with it) or when it raised; the files that the earlier attempt committed are then already there.
So every attempt but the first (told by a ``distributed.Event`` per task) uploads with
``skip_existing`` semantics: a file already there with the same size and CRC-32C is reported
``"uploaded"`` (by this run), not failed as existing; anything else is uploaded as asked. An
attempt that died mid-file left at most a pending upload (invisible, it expires) and, for a
multipart file, a resume journal that the next attempt on the same machine picks up.
"""

from __future__ import annotations

import asyncio
import dataclasses
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jetraw._transfer import TransferConfig
from jetraw.aio import (
    AsyncClient,
    AuthenticationError,
    ConfigurationError,
    FileTransfer,
    InvalidPathError,
    JetrawError,
    LocalPathNotFoundError,
    OrganisationNotFoundError,
    PermissionDeniedError,
    SpaceNotFoundError,
    StorageCredentialsError,
    UploadError,
)
from jetraw.dask._runtime import runtime

__all__ = [
    "BatchOutcome",
    "BatchSpec",
    "ClientOptions",
    "attempt_marker",
    "portable_error",
    "run_batch",
]

#: Errors that no retry can cure: the whole upload stops with them (as ``upload()`` raises
#: them before any file is tried).
FATAL = (
    AuthenticationError,
    PermissionDeniedError,
    ConfigurationError,
    InvalidPathError,
    OrganisationNotFoundError,
    SpaceNotFoundError,
    StorageCredentialsError,
)

#: Directories of one batch uploaded at once (each is one ``upload`` call on the same client,
#: sharing its byte budget and request limit).
_GROUPS_AT_ONCE = 8


@dataclasses.dataclass(frozen=True)
class ClientOptions:
    """How a worker builds its client: ``AsyncClient(api_key, **the rest)``.

    The API key is here only when the caller passed one: it then travels pickled with the task
    graph. Without it each worker resolves its own (``JETRAW_API_KEY``, its profile, keyring).
    """

    api_key: str | None = None
    server: str | None = None
    organisation: str | None = None
    profile: str | None = None
    verify: bool | str = True
    timeout: float = 30.0
    retries: int = 3

    def __repr__(self) -> str:
        key = "***" if self.api_key else None
        return (
            f"ClientOptions(api_key={key}, server={self.server!r}, "
            f"organisation={self.organisation!r}, profile={self.profile!r})"
        )

    def client(self) -> AsyncClient:
        return AsyncClient(
            self.api_key,
            server=self.server,
            organisation=self.organisation,
            profile=self.profile,
            verify=self.verify,
            timeout=self.timeout,
            retries=self.retries,
        )


@dataclasses.dataclass(frozen=True)
class BatchSpec:
    """One task's work.

    Attributes:
        key: The task's key (names its attempt marker).
        files: ``(source, dest, literal)`` per file: the absolute local path, the destination
            to pass to ``upload`` (a directory ending in ``/``, or as written if ``literal``).
        options: The client to build.
        overwrite: ``upload(overwrite=)``.
        skip_existing: ``upload(skip_existing=)``.
        metadata: ``upload(metadata=)``.
        config: ``upload(config=)``: the byte budget and concurrency of this worker.
    """

    key: str
    files: tuple[tuple[str, str, bool], ...]
    options: ClientOptions
    overwrite: bool = False
    skip_existing: bool = False
    metadata: Mapping[str, str] | None = None
    config: TransferConfig | None = None


@dataclasses.dataclass
class BatchOutcome:
    """What a task returns: one outcome per file of its batch, or the error that stops all.

    Attributes:
        files: In the batch's order (empty when ``fatal``).
        fatal: An error no retry cures (bad credentials, unknown space...).
        retried: Whether this was a later attempt of the task.
    """

    files: list[FileTransfer]
    fatal: BaseException | None = None
    retried: bool = False


def portable_error(exc: BaseException) -> BaseException:
    """``exc`` if it survives a pickle round trip, else a :class:`JetrawError` naming it.

    jetraw's own errors pickle (their fields come back); a third party's may not (a required
    keyword argument, a socket inside), and one such error must not fail the whole task.
    """
    try:
        back = pickle.loads(pickle.dumps(exc))  # noqa: S301 - our own bytes, just made
    except Exception:
        back = None
    if isinstance(back, BaseException):
        return exc
    return JetrawError(f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}")


def attempt_marker(key: str, client: Any = None) -> Any:
    """The ``distributed.Event`` set by the first attempt of the task ``key``."""
    from distributed import Event

    event: Any = Event  # untyped in distributed
    return event(f"{key}-started", client=client)


def _first_attempt(key: str) -> bool:
    """Whether this is the task's first attempt (and mark it as started).

    Outside a cluster, or if the scheduler cannot be asked, assume a later attempt: reporting
    an identical file already there as uploaded is harmless; failing one that an earlier
    attempt of this very upload committed would not be.
    """
    try:
        marker = attempt_marker(key)
        if marker.is_set():
            return False
        marker.set()
        return True
    except Exception:
        return False


def run_batch(spec: BatchSpec) -> BatchOutcome:
    """The task: upload the batch with the worker process's client for ``spec.options``."""
    first = _first_attempt(spec.key)
    try:
        outcome = runtime.run(spec.options, lambda c: _upload(c, spec, retry=not first))
    except FATAL as exc:  # entering the client: a wrong key, no server configured...
        outcome = BatchOutcome([], fatal=exc)
    if outcome.fatal is not None:
        runtime.drop(spec.options)
    outcome.retried = not first
    for file in outcome.files:
        if file.error is not None:
            file.error = portable_error(file.error)
    if outcome.fatal is not None:
        outcome.fatal = portable_error(outcome.fatal)
    return outcome


async def _upload(client: AsyncClient, spec: BatchSpec, *, retry: bool) -> BatchOutcome:
    # One upload call per destination directory; a file sent as written has a call of its own.
    groups: dict[tuple[str, int], list[int]] = {}
    for index, (_, dest, literal) in enumerate(spec.files):
        groups.setdefault((dest, index if literal else -1), []).append(index)
    results: list[FileTransfer | None] = [None] * len(spec.files)
    errors: list[BaseException] = []
    limit = asyncio.Semaphore(_GROUPS_AT_ONCE)

    async def one(indices: list[int], literal: bool) -> None:
        async with limit:
            try:
                files = await _group(client, spec, indices, literal=literal, retry=retry)
            except Exception as exc:  # settled below, for the whole batch
                errors.append(exc)
                return
            for index, file in zip(indices, files, strict=True):
                results[index] = file

    await asyncio.gather(*(one(ix, alone >= 0) for (_, alone), ix in groups.items()))
    fatal = next((e for e in errors if isinstance(e, FATAL)), None)
    if fatal is not None:
        return BatchOutcome([], fatal=fatal)
    if errors:
        # Transient (the state server or storage unreachable...): Dask runs the task again.
        raise errors[0]
    return BatchOutcome([f for f in results if f is not None])


async def _group(
    client: AsyncClient, spec: BatchSpec, indices: list[int], *, literal: bool, retry: bool
) -> list[FileTransfer]:
    """Upload the files of one destination directory (or the one file sent as written)."""
    dest = spec.files[indices[0]][1]
    src: str | list[str] = (
        spec.files[indices[0]][0] if literal else [spec.files[i][0] for i in indices]
    )
    # A later attempt finds what the earlier one committed: skip it rather than fail it.
    skip = spec.skip_existing or retry
    try:
        result = await client.upload(
            src,
            dest,
            overwrite=spec.overwrite,
            skip_existing=skip,
            metadata=spec.metadata,
            config=spec.config,
        )
        files = result.files
    except UploadError as exc:
        files = exc.result.files
    except LocalPathNotFoundError as exc:
        if not literal:
            raise
        files = [FileTransfer(Path(spec.files[indices[0]][0]), dest, error=exc)]
    if retry and not spec.skip_existing:
        for file in files:
            if file.status == "skipped":
                file.status = "uploaded"  # by this upload's earlier attempt
    return files
