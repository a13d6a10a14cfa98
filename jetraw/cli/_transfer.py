"""`jetraw upload` and `jetraw download`: progress, per-file summaries, resume on Ctrl-C."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from jetraw.aio import (
    DownloadError,
    DownloadResult,
    FileTransfer,
    InsufficientStorageError,
    LocalPathExistsError,
    LocalWriteError,
    RemoteDirectory,
    RemotePathExistsError,
    TransferConfig,
    TransferResult,
    UploadError,
    UploadResult,
)
from jetraw.cli._common import (
    CommandError,
    SizeType,
    client_for,
    describe_error,
    emit_json,
    file_error_code,
    human_size,
    is_quiet,
    local_errors,
    printable,
    remote_path,
    run,
)

if TYPE_CHECKING:  # rich costs ~75 ms to import: only the transfer commands pay it
    from jetraw.cli._progress import TransferProgress

__all__ = ["download", "upload"]

_DEFAULTS = TransferConfig()


def _config(
    part_size: int | None, threshold: int | None, concurrency: int | None
) -> TransferConfig:
    return TransferConfig(
        part_size=part_size or _DEFAULTS.part_size,
        multipart_threshold=_DEFAULTS.multipart_threshold if threshold is None else threshold,
        max_concurrency=concurrency or _DEFAULTS.max_concurrency,
    )


def _bytes_sent(result: TransferResult) -> int:
    """Bytes really sent or received by this run (resumed parts and skipped files excluded)."""
    return sum(f.bytes_sent for f in result.files)


def _result_json(result: TransferResult, progress: TransferProgress) -> dict[str, Any]:
    return {
        "ok": result.ok,
        "files": [
            {
                "local": str(f.local),
                "remote": f.remote,
                "size": f.size,
                "checksum": f.checksum,
                "status": f.status,
                "error": None if f.error is None else describe_error(f.error),
                "error_type": None if f.error is None else type(f.error).__name__,
                "bytes_resumed": f.bytes_resumed,
            }
            for f in result.files
        ],
        "transferred": len(result.transferred),
        "skipped": len(result.skipped),
        "failed": len(result.failed),
        "bytes": result.bytes,
        "bytes_transferred": _bytes_sent(result),
        "resumed": sum(f.bytes_resumed > 0 for f in result.transferred),
        "bytes_resumed": sum(f.bytes_resumed for f in result.transferred),
        "seconds": round(progress.seconds, 3),
    }


def _finish(
    result: TransferResult, progress: TransferProgress, verb: str, as_json: bool, quiet: bool
) -> None:
    """Print the outcome; exit non-zero when files failed (7, or the lone file's own code)."""
    if as_json:
        emit_json(_result_json(result, progress))

    def route(f: FileTransfer) -> str:
        text = f"{f.local} -> {f.remote}" if verb == "Uploaded" else f"{f.remote} -> {f.local}"
        return printable(text)

    exists = [f for f in result.failed if _exists(f)]
    others = [f for f in result.failed if not _exists(f)]
    if len(result.files) == 1 and result.failed:
        # One file: one line, and the exit code of its own error (5 for "exists"...).
        failed = result.failed[0]
        why = _EXISTS_ONE if exists else describe_error(failed.error)
        click.echo(f"Error: {route(failed)}: {why}", err=True)
        raise SystemExit(file_error_code(failed.error))
    if not as_json and not quiet:
        secs = progress.seconds
        rate = human_size(int(_bytes_sent(result) / secs)) + "/s" if secs > 0 else "-"
        parts = [
            f"{verb} {len(result.transferred)} of {len(result.files)} "
            f"file{'' if len(result.files) == 1 else 's'} "
            f"({human_size(result.bytes)}) in {secs:.1f} s, {rate}"
        ]
        resumed = [f for f in result.transferred if f.bytes_resumed > 0]
        if resumed:
            stored = "stored" if verb == "Uploaded" else "downloaded"
            parts.append(
                f"resumed {len(resumed)} file{'' if len(resumed) == 1 else 's'}, "
                f"{human_size(sum(f.bytes_resumed for f in resumed))} already {stored}"
            )
        if result.skipped:
            parts.append(f"{len(result.skipped)} skipped (already there)")
        if result.failed:
            parts.append(f"{len(result.failed)} failed")
        click.echo(", ".join(parts) + ".", err=bool(result.failed))
    if result.failed:
        if exists:
            # One line for all of them, however many: a rerun into what exists is common.
            n = len(exists)
            click.echo(
                f"{n} file{'' if n == 1 else 's'} exist{'s' if n == 1 else ''} already; "
                "pass --skip-existing to keep them or --overwrite to replace them.",
                err=True,
            )
        for f in others:
            click.echo(f"Failed: {route(f)}: {describe_error(f.error)}", err=True)
        raise SystemExit(7)


_EXISTS_ONE = "exists already; pass --skip-existing to keep it or --overwrite to replace it."


def _exists(f: FileTransfer) -> bool:
    """Whether a file failed only because its destination exists (no --overwrite)."""
    return isinstance(f.error, (RemotePathExistsError, LocalPathExistsError)) and not (
        isinstance(f.error, LocalPathExistsError) and Path(f.local).is_dir()
    )


def _check_sources(sources: tuple[str, ...], recursive: bool) -> list[Path]:
    paths = []
    for src in sources:
        path = Path(src)
        if not path.exists():
            raise CommandError(f"No such local file or directory: {src}", 4)
        if path.is_dir() and not recursive:
            raise CommandError(f"{src} is a directory: use -r to upload its tree.", 2)
        if not path.is_dir() and not path.is_file():
            raise CommandError(f"Not a regular file or directory: {src}", 2)
        paths.append(path)
    return paths


def _interrupted(progress: TransferProgress, several: bool, flagged: bool) -> str:
    """The one line after Ctrl-C: what was kept, and how to resume or discard it."""
    kept = progress.kept
    if not kept:
        return "Interrupted. Files already uploaded stay; run the same command again for the rest."
    extra = (
        " (add --skip-existing to skip files already uploaded)" if several and not flagged else ""
    )
    what = f"{kept[0].remote}" if len(kept) == 1 else f"{len(kept)} large files"
    return (
        f"Interrupted. The upload of {what} is kept: run the same command again to resume it"
        f"{extra}; `jetraw uploads` lists it and `jetraw uploads abort ID` discards it."
    )


@click.command(short_help="Upload files (-r: directory trees) to /space/path.")
@click.argument("sources", metavar="SRC...", nargs=-1, required=True)
@click.argument("dest", metavar="DEST")
@click.option("-r", "--recursive", is_flag=True, help="Upload directories (their trees).")
@click.option("--overwrite", is_flag=True, help="Replace files that exist.")
@click.option(
    "--skip-existing", is_flag=True, help="Skip files already there with the same size and CRC."
)
@click.option("--fail-fast", is_flag=True, help="Stop at the first failed file.")
@click.option("--part-size", type=SizeType(), help="Multipart part size (e.g. 8MiB, 64M).")
@click.option(
    "--multipart-threshold", type=SizeType(), help="Files this large go in parts (default 32MiB)."
)
@click.option("--concurrency", type=click.IntRange(1, 1000), help="Requests in flight at once.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("-q", "--quiet", is_flag=True, help="No progress display and no summary.")
@click.pass_context
def upload(
    ctx: click.Context,
    sources: tuple[str, ...],
    dest: str,
    recursive: bool,
    overwrite: bool,
    skip_existing: bool,
    fail_fast: bool,
    part_size: int | None,
    multipart_threshold: int | None,
    concurrency: int | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Upload files (or, with -r, directory trees) to DEST, /space/path.

    One SRC directory puts its contents under DEST; a file goes to DEST, or into it when DEST
    ends with / or is a directory; several SRCs go into DEST by name. Ctrl-C keeps a large
    file's upload and running the same command again resumes it.
    """
    quiet = quiet or is_quiet(ctx)
    if overwrite and skip_existing:
        raise click.UsageError("--overwrite and --skip-existing exclude each other.")
    with local_errors():
        paths = _check_sources(sources, recursive)
    remote_path(dest)
    config = _config(part_size, multipart_threshold, concurrency)
    src: Any = paths[0] if len(paths) == 1 else paths
    from jetraw.cli._progress import TransferProgress

    progress = TransferProgress("Uploading", show=False if as_json or quiet else None)

    async def go() -> UploadResult:
        async with client_for(ctx) as client:
            return await client.upload(
                src,
                dest,
                overwrite=overwrite,
                skip_existing=skip_existing,
                fail_fast=fail_fast,
                config=config,
                on_cancel="keep",
                progress=progress,
            )

    try:
        with progress, local_errors():
            result = run(go)
    except UploadError as exc:
        if not isinstance(exc.result, UploadResult):
            raise
        if isinstance(exc.__cause__, InsufficientStorageError):
            # The space's storage is full: it takes no file at all; one line, not one per file.
            ok = sum(f.status != "failed" for f in exc.result.files)
            raise CommandError(
                f"{describe_error(exc.__cause__)} Stopped: {ok} of {len(exc.result.files)} "
                "files uploaded.",
                7,
            ) from exc
        result = exc.result
    except KeyboardInterrupt:
        if (ctx.obj or {}).get("debug"):
            raise
        click.echo(
            _interrupted(progress, len(paths) > 1 or paths[0].is_dir(), overwrite or skip_existing),
            err=True,
        )
        raise SystemExit(130) from None
    _finish(result, progress, "Uploaded", as_json, quiet)


@click.command(short_help="Download files (-r: directory trees) from /space/path.")
@click.argument("sources", metavar="SRC...", nargs=-1, required=True)
@click.argument("dest", metavar="DEST", type=click.Path())
@click.option("-r", "--recursive", is_flag=True, help="Download directories (their trees).")
@click.option("--overwrite", is_flag=True, help="Replace local files that exist.")
@click.option(
    "--skip-existing",
    is_flag=True,
    help="Skip local files already there with the same size and CRC.",
)
@click.option("--concurrency", type=click.IntRange(1, 1000), help="Requests in flight at once.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("-q", "--quiet", is_flag=True, help="No progress display and no summary.")
@click.pass_context
def download(
    ctx: click.Context,
    sources: tuple[str, ...],
    dest: str,
    recursive: bool,
    overwrite: bool,
    skip_existing: bool,
    concurrency: int | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Download files (or, with -r, directory trees) from /space/path to DEST.

    One SRC directory puts its contents under DEST; a file goes to DEST, or into it when DEST is
    a directory; several SRCs go into DEST (created if needed) by name. Every file's CRC-32C is
    checked; a file appears at DEST only whole, and an interrupted download resumes when rerun.
    """
    quiet = quiet or is_quiet(ctx)
    if overwrite and skip_existing:
        raise click.UsageError("--overwrite and --skip-existing exclude each other.")
    refs = [remote_path(s) for s in sources]
    config = _config(None, None, concurrency)
    from jetraw.cli._progress import TransferProgress

    progress = TransferProgress("Downloading", show=False if as_json or quiet else None)
    local = Path(dest)
    if len(sources) > 1:
        with local_errors():
            if local.exists() and not local.is_dir():
                raise CommandError(f"{dest} is not a directory (several sources go into it).", 2)
            local.mkdir(parents=True, exist_ok=True)

    async def go() -> DownloadResult:
        combined = DownloadResult()
        async with client_for(ctx) as client:
            entries = [await client.stat(s) for s in sources]
            for src, entry in zip(sources, entries, strict=True):
                if isinstance(entry, RemoteDirectory) and not recursive:
                    raise CommandError(f"{src} is a directory: use -r to download its tree.", 2)
            for src, ref, entry in zip(sources, refs, entries, strict=True):
                # As given: a trailing separator means "into that (new) directory".
                target: str | Path = dest
                if len(sources) > 1 and isinstance(entry, RemoteDirectory):
                    target = local / ref.name  # a space's root: the space's name
                elif len(sources) > 1:
                    target = f"{local}{os.sep}"
                progress.next_transfer()
                try:
                    got = await client.download(
                        src,
                        target,
                        overwrite=overwrite,
                        skip_existing=skip_existing,
                        config=config,
                        progress=progress,
                    )
                except DownloadError as exc:
                    if not isinstance(exc.result, DownloadResult):
                        raise
                    if isinstance(exc.__cause__, (LocalWriteError, InsufficientStorageError)):
                        # The destination takes no file at all: one line, not one per file.
                        done = combined.files + exc.result.files
                        ok = sum(f.status != "failed" for f in done)
                        raise CommandError(
                            f"{describe_error(exc.__cause__)} Stopped: {ok} of "
                            f"{len(done)} files downloaded.",
                            7,
                        ) from exc
                    got = exc.result
                combined.files += got.files
        return combined

    try:
        with progress, local_errors():
            result = run(go)
    except KeyboardInterrupt:
        if (ctx.obj or {}).get("debug"):
            raise
        click.echo(
            "Interrupted: nothing incomplete is at the destination; rerun to resume.", err=True
        )
        raise SystemExit(130) from None
    _finish(result, progress, "Downloaded", as_json, quiet)
