"""`jetraw spaces [create]` and `jetraw api-keys list|create|revoke`: your organisation's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from jetraw.aio import ApiKey, ConfigurationError, Space
from jetraw.cli._common import client_for, emit_json, info, printable, run

__all__ = ["api_keys", "spaces"]


def _space_json(space: Space) -> dict[str, Any]:
    return {"id": space.id, "name": space.name, "storage": dict(space.storage)}


@click.group(invoke_without_command=True, short_help="List (or create) your spaces.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def spaces(ctx: click.Context, as_json: bool) -> None:
    """List the spaces of your organisation (or `spaces create NAME`)."""
    if ctx.invoked_subcommand is not None:
        return

    async def go() -> list[Space]:
        async with client_for(ctx) as client:
            return await client.list_spaces()

    items = run(go)
    if as_json:
        emit_json([_space_json(s) for s in items])
        return
    for space in items:
        click.echo(f"{printable(space.name)}\t{printable(space.storage.get('type', '?'))}")


@spaces.command("create")
@click.argument("name")
@click.option(
    "--storage",
    "storage_json",
    metavar="JSON",
    help="Where the bytes go (a JSON object; its fields below). Default: local storage.",
)
@click.option(
    "--access",
    type=click.Choice(["client", "granted"]),
    help="S3: each client's own AWS chain (default) or presigned URLs the server grants.",
)
@click.option(
    "--credentials-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help='--access granted: JSON {"access_key_id", "secret_access_key"[, "session_token"]}.',
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def spaces_create(
    ctx: click.Context,
    name: str,
    storage_json: str | None,
    access: str | None,
    credentials_file: Path | None,
    as_json: bool,
) -> None:
    """Create a space (organisation admins).

    \b
    --storage is one JSON object, of one of two types:
      {"type": "local", "root": "/abs/dir"}
          root: optional; a directory on the server (by default one in its
          data dir; one given must lie in the organisation's spaces directory).
      {"type": "s3", "bucket": "name", "prefix": "raw/", "region": "eu-west-1",
       "endpoint_url": "https://s3.example.org", "addressing_style": "path"}
          bucket: required (3-63 of a-z 0-9 . -); prefix: a key prefix in it
          (default none); region, endpoint_url (http(s)://, for any
          S3-compatible store; default AWS), addressing_style: auto (default),
          path or virtual. All optional but bucket. Clients use their own
          S3 credentials (the server holds none), unless --access granted.

    \b
    Example:
      jetraw spaces create raw --storage '{"type":"s3","bucket":"lab-raw"}'

    \b
    --access granted (descriptor fields "access": "granted" and
    "credentials"): the server holds the store's keys, read from
    --credentials-file (never a command-line argument, never shown again),
    and grants clients presigned URLs (docs/storage-access.md).
    """
    try:
        storage = json.loads(storage_json) if storage_json else None
    except ValueError as error:
        raise ConfigurationError(f"--storage is not valid JSON: {error}") from None
    if access is not None or credentials_file is not None:
        if not isinstance(storage, dict) or storage.get("type") != "s3":
            raise ConfigurationError("--access and --credentials-file need an s3 --storage.")
        storage["access"] = access or "granted"
    if credentials_file is not None and isinstance(storage, dict):
        try:
            storage["credentials"] = json.loads(credentials_file.read_text("utf-8"))
        except (OSError, ValueError) as error:
            # Only the error's kind: the file's text is secret.
            raise ConfigurationError(
                f"--credentials-file {credentials_file} unreadable ({type(error).__name__})."
            ) from None

    async def go() -> Space:
        async with client_for(ctx) as client:
            return await client.create_space(name, storage)

    space = run(go)
    if as_json:
        emit_json(_space_json(space))
    else:
        info(ctx, f"Created space {space.name}.")


def _key_json(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "organisation": key.organisation.name,
        "hint": key.hint,
        "created_at": key.created_at,
        "last_used_at": key.last_used_at,
        "revoked_at": key.revoked_at,
    }


@click.group(
    "api-keys", invoke_without_command=True, short_help="List (or create, revoke) your API keys."
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def api_keys(ctx: click.Context, as_json: bool) -> None:
    """List your API keys, as `api-keys list` does (or `api-keys create NAME`, `revoke ID`)."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(api_keys_list, as_json=as_json)


@api_keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def api_keys_list(ctx: click.Context, as_json: bool) -> None:
    """List your API keys (never their secrets)."""

    async def go() -> list[ApiKey]:
        async with client_for(ctx) as client:
            return await client.list_api_keys()

    keys = run(go)
    if as_json:
        emit_json([_key_json(k) for k in keys])
        return
    for k in keys:
        state = "revoked" if k.revoked_at else "active"
        fields = (k.id, k.name, k.organisation.name, f"…{k.hint}", state)
        click.echo("\t".join(printable(field) for field in fields))


@api_keys.command("create")
@click.argument("name")
@click.option("--organisation", help="The key's default organisation.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def api_keys_create(ctx: click.Context, name: str, organisation: str | None, as_json: bool) -> None:
    """Create an API key; its secret is shown once."""

    async def go() -> ApiKey:
        async with client_for(ctx) as client:
            return await client.create_api_key(name, organisation=organisation)

    key = run(go)
    if as_json:
        emit_json({**_key_json(key), "key": key.key})
    else:
        info(ctx, f"Created API key {key.id} ({key.name}). Copy it now, it is not shown again:")
        click.echo(printable(key.key or ""))


@api_keys.command("revoke")
@click.argument("key_id")
@click.pass_context
def api_keys_revoke(ctx: click.Context, key_id: str) -> None:
    """Revoke an API key by id."""

    async def go() -> None:
        async with client_for(ctx) as client:
            await client.revoke_api_key(key_id)

    run(go)
    info(ctx, f"Revoked API key {key_id}.")
