"""`jetraw login/logout/whoami/auth status`, `jetraw spaces`, `jetraw api-keys`."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from jetraw.aio import (
    ApiKey,
    AsyncClient,
    ConfigurationError,
    Identity,
    JetrawError,
    LogoutResult,
    Space,
)
from jetraw.cli._common import ENV_API_KEY, ENV_SERVER, emit_json, printable, run

__all__ = ["api_keys", "auth", "login", "logout", "spaces", "whoami"]


def _profile(ctx: click.Context, explicit: str | None = None) -> str | None:
    return explicit or (ctx.obj or {}).get("profile")


def _read_api_key() -> str:
    # Never from argv (shell history, `ps`): a hidden prompt on a terminal, else one stdin line.
    if sys.stdin.isatty():
        key = str(click.prompt("API key", hide_input=True))
    else:
        key = sys.stdin.readline()
    key = key.strip()
    if not key:
        raise ConfigurationError("No API key given on standard input.")
    return key


def _identity_json(ident: Identity, client: AsyncClient) -> dict[str, Any]:
    return {
        "server": client.server,
        "user": {"id": ident.user.id, "email": ident.user.email, "name": ident.user.name},
        "organisation": {"id": ident.organisation.id, "name": ident.organisation.name},
        "role": ident.role,
        "auth_source": client.auth_source,
    }


@click.command()
@click.option("--api-key", "api_key", is_flag=True, help="Log in with an API key (prompt/stdin).")
@click.option("--device", is_flag=True, help="Device-code login (SSH, no local browser).")
@click.option("--server", envvar=ENV_SERVER, help="The state server URL.")
@click.option("--organisation", help="The organisation to act in.")
@click.option("--profile", "profile_opt", help="The profile to save the login in.")
@click.option("--no-browser", is_flag=True, help="Print the login URL; do not open a browser.")
@click.pass_context
def login(
    ctx: click.Context,
    api_key: bool,
    device: bool,
    server: str | None,
    organisation: str | None,
    profile_opt: str | None,
    no_browser: bool,
) -> None:
    """Log in and save the login as the default profile."""
    if api_key and device:
        raise click.UsageError("--api-key and --device exclude each other.")
    profile = _profile(ctx, profile_opt)
    key = _read_api_key() if api_key else None

    async def go() -> tuple[Identity, str]:
        if key is not None:
            # The key is checked (whoami) before it is saved as the profile's login.
            async with AsyncClient(
                key, server=server, organisation=organisation, profile=profile
            ) as client:
                return await client.save_login(), client.profile
        async with AsyncClient(
            server=server,
            organisation=organisation,
            profile=profile,
            refresh_token_if_empty=False,
        ) as client:
            opener = (lambda url: None) if no_browser else None
            ident = await client.authorize(device=device, opener=opener)
            return ident, client.profile

    ident, name = run(go)
    click.echo(
        printable(
            f"Logged in as {ident.user.email} in organisation {ident.organisation.name} "
            f"(profile {name!r})."
        )
    )


@click.command()
@click.pass_context
def logout(ctx: click.Context) -> None:
    """Revoke the saved login and delete every stored copy of it."""

    async def go() -> tuple[LogoutResult, str | None]:
        async with AsyncClient(profile=_profile(ctx), refresh_token_if_empty=False) as client:
            foreign = (await client.login_info()).unusable_reason
            return await client.logout(), foreign

    result, foreign = run(go)
    if result.removed or result.revoked:
        click.echo("Logged out" + (" (revoked on the server)." if result.revoked else "."))
        for item in result.removed:
            click.echo(printable(f"  removed {item}"))
    elif foreign is not None:
        # The saved login is another server's: left alone, and the user told why.
        click.echo(printable(f"Nothing logged out: {foreign}"))
    else:
        click.echo("No saved login to remove.")
    for name in result.still_logged_in_by:
        click.echo(f"Note: {name} is set and still logs you in; unset it to log out fully.")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def whoami(ctx: click.Context, as_json: bool) -> None:
    """Show the user and organisation of the current credentials."""

    async def go() -> dict[str, Any]:
        async with AsyncClient(profile=_profile(ctx)) as client:
            return _identity_json(await client.whoami(), client)

    data = run(go)
    if as_json:
        emit_json(data)
    else:
        click.echo(
            printable(
                f"{data['user']['email']} in organisation {data['organisation']['name']} "
                f"({data['role']}) on {data['server']} [credentials: {data['auth_source']}]"
            )
        )


@click.group()
def auth() -> None:
    """Inspect authentication."""


@auth.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def auth_status(ctx: click.Context, as_json: bool) -> None:
    """Which credentials are in force, where they come from, and whether they work."""

    async def go() -> dict[str, Any]:
        status: dict[str, Any] = {"env": [n for n in (ENV_API_KEY,) if os.environ.get(n)]}
        try:
            client = AsyncClient(profile=_profile(ctx), refresh_token_if_empty=False)
        except ConfigurationError as error:
            status.update(configured=False, error=str(error))
            return status
        async with client:
            info = await client.login_info()
            status.update(
                configured=info.server is not None,
                server=info.server,
                profile=info.profile,
                organisation=info.organisation,
                auth_source=info.auth_source,
            )
            if info.server is not None and info.auth_source is None:
                status["valid"] = False
                status["error"] = info.unusable_reason or "not logged in: run `jetraw login`"
                return status
            try:
                # With no server configured this fails at once, saying how to configure one.
                ident = await client.whoami()
            except JetrawError as error:
                status.update(valid=False, error=str(error))
                if info.server is None:
                    return status
            else:
                status.update(valid=True, user=ident.user.email)
                status["organisation"] = ident.organisation.name
            if info.stored_in is not None:
                status["stored_in"] = info.stored_in
        return status

    status = run(go)
    if as_json:
        emit_json(status)
        return
    if not status.get("configured"):
        click.echo(printable(f"Not configured: {status.get('error', 'no server')}"))
    else:
        click.echo(printable(f"Server:        {status['server']}"))
        click.echo(printable(f"Profile:       {status['profile']}"))
        click.echo(printable(f"Organisation:  {status.get('organisation')}"))
        click.echo(printable(f"Credentials:   {status.get('auth_source') or 'none'}"))
        if status.get("stored_in"):
            click.echo(printable(f"Stored in:     {status['stored_in']}"))
        if status.get("valid"):
            click.echo(printable(f"Logged in as:  {status['user']}"))
        else:
            click.echo(printable(f"Not usable:    {status.get('error')}"))
    for name in status["env"]:
        click.echo(f"Environment:   {name} is set")


def _space_json(space: Space) -> dict[str, Any]:
    return {"id": space.id, "name": space.name, "storage": dict(space.storage)}


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def spaces(ctx: click.Context, as_json: bool) -> None:
    """List the spaces of your organisation (or `spaces create NAME`)."""
    if ctx.invoked_subcommand is not None:
        return

    async def go() -> list[Space]:
        async with AsyncClient(profile=_profile(ctx)) as client:
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
    "--storage", "storage_json", help='Storage descriptor as JSON, e.g. \'{"type":"s3",...}\'.'
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def spaces_create(ctx: click.Context, name: str, storage_json: str | None, as_json: bool) -> None:
    """Create a space (organisation admins)."""
    try:
        storage = json.loads(storage_json) if storage_json else None
    except ValueError as error:
        raise ConfigurationError(f"--storage is not valid JSON: {error}") from None

    async def go() -> Space:
        async with AsyncClient(profile=_profile(ctx)) as client:
            return await client.create_space(name, storage)

    space = run(go)
    if as_json:
        emit_json(_space_json(space))
    else:
        click.echo(printable(f"Created space {space.name}."))


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


@click.group("api-keys")
def api_keys() -> None:
    """Manage your API keys."""


@api_keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def api_keys_list(ctx: click.Context, as_json: bool) -> None:
    """List your API keys (never their secrets)."""

    async def go() -> list[ApiKey]:
        async with AsyncClient(profile=_profile(ctx)) as client:
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
        async with AsyncClient(profile=_profile(ctx)) as client:
            return await client.create_api_key(name, organisation=organisation)

    key = run(go)
    if as_json:
        emit_json({**_key_json(key), "key": key.key})
    else:
        click.echo(
            printable(f"Created API key {key.id} ({key.name}). Copy it now, it is not shown again:")
        )
        click.echo(printable(key.key or ""))


@api_keys.command("revoke")
@click.argument("key_id")
@click.pass_context
def api_keys_revoke(ctx: click.Context, key_id: str) -> None:
    """Revoke an API key by id."""

    async def go() -> None:
        async with AsyncClient(profile=_profile(ctx)) as client:
            await client.revoke_api_key(key_id)

    run(go)
    click.echo(f"Revoked API key {key_id}.")
