"""`jetraw ls/stat/cat/rm/mv/mkdir` and `jetraw uploads [abort]`."""

from __future__ import annotations

import contextlib
import os
import sys

import anyio
import anyio.to_thread
import click
import google_crc32c

from jetraw.aio import (
    AsyncClient,
    AsyncJetrawPath,
    IntegrityError,
    NotFoundError,
    RemoteDirectory,
    RemoteFile,
    RemotePathExistsError,
    Upload,
    UploadNotFoundError,
)
from jetraw.cli._common import (
    CommandError,
    client_for,
    emit_json,
    entry_json,
    full_path_errors,
    human_size,
    info,
    printable,
    remote_path,
    run,
    upload_json,
)

__all__ = ["cat", "ls", "mkdir", "mv", "rm", "stat", "uploads"]

_CHUNK = 4 << 20

Entry = RemoteFile | RemoteDirectory


def _long_line(entry: Entry, base: str, human: bool) -> str:
    """Size, modified time, CRC-32C and the name in the form plain ``ls`` prints."""
    name = _short_line(entry, base)
    if isinstance(entry, RemoteDirectory):
        return f"{'-':>12}  {'-':<20}  {'-':<8}  {name}"
    modified = (entry.modified_at or entry.created_at or "-")[:19].replace("T", " ")
    size = human_size(entry.size) if human else str(entry.size)
    return printable(f"{size:>12}  {modified:<20}  {entry.checksum or '-':<8}  {name}")


def _short_line(entry: Entry, base: str) -> str:
    """The path relative to the listed directory (a directory with a trailing ``/``)."""
    rel = (
        entry.path[len(base) :].lstrip("/") if base and entry.path.startswith(base) else entry.path
    )
    return printable(rel + "/" if isinstance(entry, RemoteDirectory) else rel)


@click.command(
    short_help="List a directory, or (no PATH) your spaces.",
    context_settings={"help_option_names": ["--help"]},  # -h is --human-readable, as in ls
)
@click.argument("path", required=False)
@click.option("-l", "long", is_flag=True, help="Show size, modified time and CRC-32C.")
@click.option(
    "-h", "--human-readable", "human", is_flag=True, help="With -l: sizes as 1.5 KiB, 3.2 GiB."
)
@click.option("-R", "--recursive", is_flag=True, help="List every file below PATH.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def ls(
    ctx: click.Context,
    path: str | None,
    long: bool,
    human: bool,
    recursive: bool,
    as_json: bool,
) -> None:
    """List a directory (/space[/path]); without PATH, the spaces you can use.

    Paths are printed relative to PATH (with -R too); -l adds the size (bytes, or with -h in
    KiB/MiB/GiB), the modified time and the CRC-32C. --json always gives sizes in bytes.
    """

    async def spaces() -> list[str]:
        async with client_for(ctx) as client:
            return [s.name for s in await client.list_spaces()]

    if path is None or path == "/":
        names = run(spaces)
        if as_json:
            emit_json([entry_json(n) for n in names])
        else:
            for name in names:
                click.echo(f"/{printable(name)}/")
        return

    remote_path(path)

    async def listing() -> tuple[Entry, list[Entry]]:
        async with client_for(ctx) as client:
            top: Entry = await client.stat(path)
            if isinstance(top, RemoteFile):
                return top, [top]
            target = f"/{top.space}/{top.path}" if top.path else f"/{top.space}"
            entries = [e async for e in client.list_files(target, recursive=recursive)]
            return top, entries

    with full_path_errors(path):
        top, entries = run(listing)
    if as_json:
        emit_json([entry_json(e) for e in entries])
        return
    base = top.path if isinstance(top, RemoteDirectory) else top.path.rpartition("/")[0]
    for entry in entries:
        click.echo(_long_line(entry, base, human) if long else _short_line(entry, base))


@click.command(short_help="Show a file's size, checksum, times and metadata.")
@click.argument("path")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def stat(ctx: click.Context, path: str, as_json: bool) -> None:
    """Show a file's size, checksum, times and metadata (or that PATH is a directory)."""
    ref = remote_path(path)

    async def fetch() -> Entry:
        async with client_for(ctx) as client:
            if not ref.path_in_space:
                await client.get_space(ref.space)  # a space's root: the space must exist
            return await client.stat(path)

    with full_path_errors(path):
        entry = run(fetch)
    data = entry_json(entry)
    if as_json:
        emit_json(data)
        return
    click.echo(f"Path:      {printable(data['path'])}")
    click.echo(f"Type:      {printable(data['type'])}")
    if isinstance(entry, RemoteFile):
        click.echo(f"Size:      {entry.size} ({human_size(entry.size)})")
        click.echo(f"CRC-32C:   {printable(entry.checksum or '-')}")
        if entry.sha256:
            click.echo(f"SHA-256:   {printable(entry.sha256)}")
        click.echo(f"Created:   {printable(entry.created_at or '-')}")
        click.echo(f"Modified:  {printable(entry.modified_at or '-')}")
        for key, value in sorted(entry.metadata.items()):
            click.echo(f"Metadata:  {printable(key)}={printable(value)}")


@click.command(short_help="Write a file's bytes to stdout (CRC-32C checked).")
@click.argument("path")
@click.pass_context
def cat(ctx: click.Context, path: str) -> None:
    """Write a file's bytes to standard output (its CRC-32C is checked at the end)."""
    remote_path(path)
    out = sys.stdout.buffer

    async def stream() -> None:
        async with client_for(ctx) as client:
            value = 0
            # No read-ahead: every read is one ranged request of _CHUNK bytes.
            try:
                async with AsyncJetrawPath(path, client=client).open("rb", buffer_size=1) as f:
                    expected = f.file.crc32c
                    while chunk := await f.read(_CHUNK):
                        value = int(google_crc32c.extend(value, chunk))  # CRC-32C, as recorded
                        await anyio.to_thread.run_sync(out.write, chunk)
            except IsADirectoryError:
                raise CommandError(f"{path} is a directory.", 2) from None
            await anyio.to_thread.run_sync(out.flush)
            if expected is not None and value != expected:
                raise IntegrityError(f"{path}: the bytes read do not match the recorded checksum.")

    try:
        with full_path_errors(path):
            run(stream)
    except BrokenPipeError:
        # `jetraw cat big | head`: the reader left; that is not an error of ours.
        _silence_stdout()


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


@click.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("-r", "--recursive", is_flag=True, help="Delete directories and their trees.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def rm(ctx: click.Context, paths: tuple[str, ...], recursive: bool, as_json: bool) -> None:
    """Delete files (and, with -r, directory trees).

    A deleted file is gone from listings at once, but its bytes are kept in storage for a grace
    period (the server setting garbage_grace_seconds, 300 s by default; `python -m
    jetraw.server --garbage-grace-seconds`) so that a reader that opened it just before still
    gets them; then the server's cleanup deletes them (local spaces), or the client does at its
    next upload or delete in that space (S3 spaces: the server holds no S3 credentials).
    Nothing can be restored with jetraw in the meantime.
    """
    refs = [remote_path(p) for p in paths]
    for path, ref in zip(paths, refs, strict=True):
        if not ref.path_in_space:
            raise CommandError(f"{path} is a space's root: delete what is inside it instead.", 2)

    async def delete() -> None:
        async with client_for(ctx) as client:
            for path in paths:
                with full_path_errors(path):
                    entry = await client.stat(path)
                if isinstance(entry, RemoteDirectory):
                    if not recursive:
                        raise CommandError(f"{path} is a directory: use -r to delete it.", 2)
                    await _delete_tree(client, entry)
                else:
                    await client.delete(path)

    run(delete)
    if as_json:
        emit_json({"deleted": list(paths)})


async def _delete_tree(client: AsyncClient, entry: RemoteDirectory) -> None:
    target = f"/{entry.space}/{entry.path}"
    # Files (and explicit directories) below, then the directory itself if it is explicit.
    with contextlib.suppress(NotFoundError):
        await client.delete(target, recursive=True)
    with contextlib.suppress(NotFoundError):
        await client.rmdir(target)


@click.command(short_help="Rename or move a file within its space.")
@click.argument("src")
@click.argument("dest")
@click.option("--overwrite", is_flag=True, help="Replace DEST if it exists.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def mv(ctx: click.Context, src: str, dest: str, overwrite: bool, as_json: bool) -> None:
    """Rename a file within its space (no bytes move); DEST ending in / is a folder."""
    remote_path(src)
    remote_path(dest)

    async def move() -> RemoteFile:
        async with client_for(ctx) as client:
            try:
                return await client.move(src, dest, overwrite=overwrite)
            except RemotePathExistsError as exc:
                if overwrite:
                    raise
                # The server's words name its API field: say what the command takes.
                raise CommandError(
                    f"{dest} exists already; pass --overwrite to replace it.", 5
                ) from exc

    moved = run(move)
    if as_json:
        emit_json(entry_json(moved))


@click.command(short_help="Create an (explicit, empty) directory.")
@click.argument("path")
@click.option("-p", "--parents", is_flag=True, help="No error if it exists.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def mkdir(ctx: click.Context, path: str, parents: bool, as_json: bool) -> None:
    """Create an (explicit, empty) directory; parents always exist implicitly."""
    ref = remote_path(path)
    if not ref.path_in_space:
        raise CommandError(
            f"{path} is a space's root; spaces are made by `jetraw spaces create`.", 2
        )

    async def make() -> None:
        async with client_for(ctx) as client:
            await client.mkdir(path, exist_ok=parents)

    run(make)
    if as_json:
        emit_json({"path": f"/{ref.space}/{ref.path_in_space}", "type": "directory"})


#: How many kept uploads ``jetraw uploads`` counts the stored parts of at once.
_PARTS_CONCURRENCY = 8


@click.group(
    invoke_without_command=True, short_help="List pending uploads (`uploads abort ID` removes)."
)
@click.option("--space", help="Only the uploads of this space.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def uploads(ctx: click.Context, space: str | None, as_json: bool) -> None:
    """List your pending (interrupted or running) uploads; `uploads abort ID...` removes them."""
    if ctx.invoked_subcommand is not None:
        return

    async def pending() -> list[tuple[Upload, tuple[int, int] | None]]:
        async with client_for(ctx) as client:
            found = await client.list_pending_uploads(space)
            held: list[tuple[int, int] | None] = [None] * len(found)
            limit = anyio.CapacityLimiter(_PARTS_CONCURRENCY)

            async def count(i: int) -> None:  # one storage listing per kept upload, 8 at a time
                async with limit:
                    held[i] = await client.stored_parts(found[i])

            async with anyio.create_task_group() as tg:
                for i in range(len(found)):
                    tg.start_soon(count, i)
            return list(zip(found, held, strict=True))

    items = run(pending)
    if as_json:
        emit_json(
            [
                {
                    **upload_json(u),
                    "parts_stored": None if held is None else held[0],
                    "bytes_stored": None if held is None else held[1],
                }
                for u, held in items
            ]
        )
        return
    if not items:
        info(ctx, "No pending uploads.")
        return
    for u, held in items:
        expires = (u.expires_at or "-")[:19].replace("T", " ")
        kept = "-" if held is None else f"{held[0]} part{'' if held[0] == 1 else 's'}, "
        kept += "" if held is None else f"{human_size(held[1])} stored"
        click.echo(
            printable(f"{u.id}  {u.size:>12}  {kept}  expires {expires}  /{u.space}/{u.path}")
        )


@uploads.command("abort")
@click.argument("ids", nargs=-1)
@click.option("--all", "abort_all", is_flag=True, help="Abort every pending upload.")
@click.option("--space", help="With --all: only the uploads of this space.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def uploads_abort(
    ctx: click.Context, ids: tuple[str, ...], abort_all: bool, space: str | None, as_json: bool
) -> None:
    """Abort pending uploads by id (or --all) and remove their stored parts."""
    if bool(ids) == abort_all:
        raise click.UsageError("Give upload ids or --all (not both).")

    async def abort() -> list[str]:
        async with client_for(ctx) as client:
            targets = list(ids)
            if abort_all:
                targets = [u.id for u in await client.list_pending_uploads(space)]
            for upload_id in targets:
                try:
                    await client.abort_upload(upload_id)
                except UploadNotFoundError:
                    raise CommandError(f"No such upload: {upload_id}", 4) from None
            return targets

    done = run(abort)
    if as_json:
        emit_json({"aborted": done})
        return
    info(ctx, f"Aborted {len(done)} upload{'s' if len(done) != 1 else ''}.")
