"""``jetraw.dask.upload``: the driver side. Plan, submit one task per batch, merge the outcomes."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from jetraw._transfer import LocalPath, TransferConfig, parse_remote
from jetraw.aio import (
    FileTransfer,
    JetrawError,
    LocalPathNotFoundError,
    UploadError,
    UploadResult,
)
from jetraw.dask._plan import PlannedFile, auto_files_per_task, batches, plan
from jetraw.dask._task import BatchOutcome, BatchSpec, ClientOptions, attempt_marker, run_batch

__all__ = ["upload"]

GiB = 1 << 30


def upload(
    src: LocalPath | Iterable[LocalPath],
    dest: str,
    *,
    dask_client: Any = None,
    server: str | None = None,
    organisation: str | None = None,
    profile: str | None = None,
    api_key: str | None = None,
    verify: bool | str = True,
    timeout: float = 30.0,
    retries: int = 3,
    overwrite: bool = False,
    skip_existing: bool = False,
    metadata: Mapping[str, str] | None = None,
    config: TransferConfig | None = None,
    files_per_task: int | None = None,
    bytes_per_task: int = GiB,
    task_retries: int = 2,
) -> UploadResult:
    """Upload a file, a directory tree or several files to ``dest``, spread over a Dask cluster.

    The files are planned here (the same remote paths as :func:`jetraw.upload`), cut into
    batches, and each batch runs as one task on a worker, which builds its own client from the
    options given here and uploads with the ordinary engine, within its own byte budget
    (``config``; one batch at a time per worker process). The workers read the local files
    themselves: they must see them at the same absolute paths (a shared filesystem; on a
    ``LocalCluster`` that is the same machine).

    A worker that dies loses nothing: Dask runs its batch again on another worker, and that
    attempt skips what the first one committed (same size and CRC-32C) and resumes a large file
    from its journal when it runs on the same machine; a file is visible only once complete.
    After ``distributed.scheduler.allowed-failures`` deaths (Dask's setting, 3 by default) the
    batch's files are reported failed. Running the same upload again with
    ``skip_existing=True`` skips what is there and uploads the rest.

    Args:
        src: A file, a directory (its tree, relative paths kept), or an iterable of paths.
        dest: ``/space/path``; a trailing ``/`` means "into that folder".
        dask_client: The ``distributed.Client``; the current one (``get_client()``) if ``None``.
        server: The state server's URL, for the workers' clients (else their own
            ``JETRAW_SERVER`` or profile).
        organisation: The organisation (else the workers' own configuration).
        profile: The profile the workers use.
        api_key: An API key. It travels pickled with the task graph to every worker (and sits
            in the scheduler's memory): prefer ``JETRAW_API_KEY`` or a profile on the workers.
        verify: TLS verification for the state server: ``True``, ``False`` or a CA bundle path
            (on the workers).
        timeout: Seconds for one request to the state server.
        retries: Retries of a failed state-server request (``AsyncClient(retries=)``).
        overwrite: Replace existing files (atomically).
        skip_existing: Skip files already there with the same size and CRC-32C.
        metadata: User metadata recorded with every file.
        config: Part sizes, concurrency and byte budget, of each worker.
        files_per_task: Files per batch (default: about four batches per worker, at most
            1,000 files each).
        bytes_per_task: Bytes per batch at most (a larger file goes alone).
        task_retries: Times Dask runs a batch again after it raised a transient error (the
            state server or storage unreachable); worker deaths are counted apart (above).

    Returns:
        The outcome of every file, in the planned order (one per source file).

    Raises:
        UploadError: Some files failed; ``error.result`` has every file's outcome.
        LocalPathNotFoundError: ``src`` does not exist (raised before anything is submitted).
        InvalidPathError: ``dest`` is malformed or escapes its space.
        AuthenticationError: The workers' credentials were refused (or they have none).
        SpaceNotFoundError: The space does not exist.
        StorageCredentialsError: A worker has no usable storage credentials.
        ValueError: No ``dask_client`` and no current Dask client.
    """
    ref = parse_remote(dest)
    files = plan(src, dest, ref)
    if dask_client is None:
        from distributed import get_client

        dask_client = get_client()
    per_task = files_per_task or auto_files_per_task(len(files), len(dask_client.nthreads()))
    options = ClientOptions(api_key, server, organisation, profile, verify, timeout, retries)
    run = f"jetraw-upload-{uuid.uuid4().hex[:12]}"
    cut = batches(files, per_task, max(1, bytes_per_task))
    specs = [
        BatchSpec(
            key=f"{run}-{n}",
            files=tuple((files[i].source, files[i].dest, files[i].literal) for i in indices),
            options=options,
            overwrite=overwrite,
            skip_existing=skip_existing,
            metadata=dict(metadata) if metadata else None,
            config=config,
        )
        for n, indices in enumerate(cut)
    ]
    outcomes = _run(dask_client, specs, task_retries)
    result = _merge(files, [(ix, outcomes[s.key]) for ix, s in zip(cut, specs, strict=True)])
    if result.failed:
        first = result.failed[0]
        raise UploadError(
            f"{len(result.failed)} of {len(result.files)} files failed to upload; first: "
            f"{first.local}: {first.error}",
            result=result,
        ) from first.error
    return result


def _run(client: Any, specs: list[BatchSpec], task_retries: int) -> dict[str, BatchOutcome]:
    """Submit every batch, collect each outcome as it arrives; stop at a fatal error."""
    from distributed import as_completed

    completed: Any = as_completed  # untyped in distributed

    futures = {
        client.submit(run_batch, spec, key=spec.key, pure=False, retries=task_retries): spec
        for spec in specs
    }
    outcomes: dict[str, BatchOutcome] = {}
    try:
        for future in completed(list(futures)):
            spec = futures.pop(future)
            outcome = _outcome(future, spec)
            future.release()  # its result is here: a worker lost now is not a recompute
            with contextlib.suppress(Exception):
                attempt_marker(spec.key, client).clear()
            if outcome.fatal is not None:
                raise outcome.fatal
            outcomes[spec.key] = outcome
    finally:
        if futures:  # a fatal error, or Ctrl-C: running batches finish, queued ones never start
            client.cancel(list(futures))
            for spec in futures.values():
                with contextlib.suppress(Exception):
                    attempt_marker(spec.key, client).clear()
    return outcomes


def _outcome(future: Any, spec: BatchSpec) -> BatchOutcome:
    """The batch's outcome; a task that failed for good fails its files with its error."""
    if future.status == "finished":
        outcome: BatchOutcome = future.result()
        return outcome
    if future.status == "cancelled":
        error: BaseException = JetrawError(f"The Dask task {spec.key} was cancelled.")
    else:
        exc = future.exception()
        if isinstance(exc, JetrawError):
            error = exc
        else:  # KilledWorker (its workers kept dying), or an error of the cluster itself
            error = JetrawError(
                f"The Dask task {spec.key} failed ({type(exc).__name__}: {exc}). Its files may "
                "have been committed or not; none is half-written: run the upload again with "
                "skip_existing=True."
            )
            error.__cause__ = exc
    return BatchOutcome([FileTransfer(Path(s), d, error=error) for s, d, _ in spec.files])


def _merge(
    files: list[PlannedFile], done_batches: list[tuple[list[int], BatchOutcome]]
) -> UploadResult:
    """One outcome per planned file, in the planned order, reported as the caller named it."""
    merged: list[FileTransfer | None] = [None] * len(files)
    for indices, outcome in done_batches:
        for index, done in zip(indices, outcome.files, strict=False):
            planned = files[index]
            merged[index] = FileTransfer(
                planned.local,
                planned.remote or done.remote,
                size=done.size,
                checksum=done.checksum,
                status=done.status,
                error=done.error,
                bytes_sent=done.bytes_sent,
                bytes_resumed=done.bytes_resumed,
            )
    out = []
    for index, planned in enumerate(files):
        found = merged[index]
        if found is None:
            error: BaseException
            if planned.missing:
                error = LocalPathNotFoundError(f"No such local file: {planned.local}")
            else:
                error = JetrawError(f"No outcome came back for {planned.local}.")
            found = FileTransfer(planned.local, planned.remote or planned.dest, error=error)
        out.append(found)
    return UploadResult(out)
