"""`jetraw login/logout/whoami/auth status`, `jetraw spaces`, `jetraw api-keys`."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from jetraw._client import AsyncClient
from jetraw._config import ENV_API_KEY, ENV_SERVER, NO_SERVER_MESSAGE
from jetraw._exceptions import ConfigurationError, JetrawError
from jetraw._models import ApiKey, Identity, Space
from jetraw.cli._common import run as run_async
from jetraw.cli._main import cli

T = TypeVar("T")


def _run(fn: Callable[[], Awaitable[T]]) -> T:
    # The shared runner turns 3.10's CancelledError-on-Ctrl-C into KeyboardInterrupt (exit 130).
    return run_async(fn)


async def _foreign_login(client: AsyncClient) -> str | None:
    """Why the saved login is not in use when it belongs to another server than this one."""
    return (await client.login_info()).unusable_reason


def _profile(ctx: click.Context, explicit: str | None = None) -> str | None:
    return explicit or (ctx.obj or {}).get("profile")


def _emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True))


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


@cli.command()
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

    async def run() -> tuple[Identity, str]:
        if key is not None:
            return await _login_api_key(key, server, organisation, profile)
        async with AsyncClient(
            server=server,
            organisation=organisation,
            profile=profile,
            refresh_token_if_empty=False,
        ) as client:
            opener = (lambda url: None) if no_browser else None
            ident = await client.authorize(device=device, opener=opener)
            return ident, client.profile

    ident, name = _run(run)
    click.echo(
        f"Logged in as {ident.user.email} in organisation {ident.organisation.name} "
        f"(profile {name!r})."
    )


async def _login_api_key(
    key: str, server: str | None, organisation: str | None, profile: str | None
) -> tuple[Identity, str]:
    async with AsyncClient(
        key, server=server, organisation=organisation, profile=profile
    ) as client:
        return await client.save_login(), client.profile


@cli.command()
@click.pass_context
def logout(ctx: click.Context) -> None:
    """Revoke the saved login and delete every stored copy of it."""

    async def run() -> tuple[Any, str | None]:
        async with AsyncClient(profile=_profile(ctx), refresh_token_if_empty=False) as client:
            foreign = await _foreign_login(client)
            return await client.logout(), foreign

    result, foreign = _run(run)
    if result.removed or result.revoked:
        click.echo("Logged out" + (" (revoked on the server)." if result.revoked else "."))
        for item in result.removed:
            click.echo(f"  removed {item}")
    elif foreign is not None:
        # The saved login is another server's: left alone, and the user told why.
        click.echo(f"Nothing logged out: {foreign}")
    else:
        click.echo("No saved login to remove.")
    for name in result.still_logged_in_by:
        click.echo(f"Note: {name} is set and still logs you in; unset it to log out fully.")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def whoami(ctx: click.Context, as_json: bool) -> None:
    """Show the user and organisation of the current credentials."""

    async def run() -> dict[str, Any]:
        async with AsyncClient(profile=_profile(ctx)) as client:
            return _identity_json(await client.whoami(), client)

    data = _run(run)
    if as_json:
        _emit_json(data)
    else:
        click.echo(
            f"{data['user']['email']} in organisation {data['organisation']['name']} "
            f"({data['role']}) on {data['server']} [credentials: {data['auth_source']}]"
        )


@cli.group()
def auth() -> None:
    """Inspect authentication."""


@auth.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def auth_status(ctx: click.Context, as_json: bool) -> None:
    """Which credentials are in force, where they come from, and whether they work."""

    async def run() -> dict[str, Any]:
        status: dict[str, Any] = {"env": [n for n in (ENV_API_KEY,) if os.environ.get(n)]}
        try:
            client = AsyncClient(profile=_profile(ctx), refresh_token_if_empty=False)
        except ConfigurationError as error:
            status.update(configured=False, error=str(error))
            return status
        async with client:
            status.update(
                configured=client.server is not None,
                server=client.server,
                profile=client.profile,
                organisation=client.organisation,
                auth_source=client.auth_source,
            )
            if client.server is None or client.auth_source is None:
                status["valid"] = False
                status["error"] = (
                    NO_SERVER_MESSAGE
                    if client.server is None
                    else await _foreign_login(client) or "not logged in: run `jetraw login`"
                )
                return status
            try:
                ident = await client.whoami()
            except JetrawError as error:
                status.update(valid=False, error=str(error))
            else:
                status.update(valid=True, user=ident.user.email)
                status["organisation"] = ident.organisation.name
            stored_in = (await client.login_info()).stored_in
            if stored_in is not None:
                status["stored_in"] = stored_in
        return status

    status = _run(run)
    if as_json:
        _emit_json(status)
        return
    if not status.get("configured"):
        click.echo(f"Not configured: {status.get('error', 'no server')}")
    else:
        click.echo(f"Server:        {status['server']}")
        click.echo(f"Profile:       {status['profile']}")
        click.echo(f"Organisation:  {status.get('organisation')}")
        click.echo(f"Credentials:   {status.get('auth_source') or 'none'}")
        if status.get("stored_in"):
            click.echo(f"Stored in:     {status['stored_in']}")
        if status.get("valid"):
            click.echo(f"Logged in as:  {status['user']}")
        else:
            click.echo(f"Not usable:    {status.get('error')}")
    for name in status["env"]:
        click.echo(f"Environment:   {name} is set")


def _space_json(space: Space) -> dict[str, Any]:
    return {"id": space.id, "name": space.name, "storage": dict(space.storage)}


@cli.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def spaces(ctx: click.Context, as_json: bool) -> None:
    """List the spaces of your organisation (or `spaces create NAME`)."""
    if ctx.invoked_subcommand is not None:
        return

    async def run() -> list[Space]:
        async with AsyncClient(profile=_profile(ctx)) as client:
            return await client.list_spaces()

    items = _run(run)
    if as_json:
        _emit_json([_space_json(s) for s in items])
        return
    for space in items:
        click.echo(f"{space.name}\t{space.storage.get('type', '?')}")


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

    async def run() -> Space:
        async with AsyncClient(profile=_profile(ctx)) as client:
            return await client.create_space(name, storage)

    space = _run(run)
    if as_json:
        _emit_json(_space_json(space))
    else:
        click.echo(f"Created space {space.name}.")


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


@cli.group("api-keys")
def api_keys() -> None:
    """Manage your API keys."""


@api_keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def api_keys_list(ctx: click.Context, as_json: bool) -> None:
    """List your API keys (never their secrets)."""

    async def run() -> list[ApiKey]:
        async with AsyncClient(profile=_profile(ctx)) as client:
            return await client.list_api_keys()

    keys = _run(run)
    if as_json:
        _emit_json([_key_json(k) for k in keys])
        return
    for k in keys:
        state = "revoked" if k.revoked_at else "active"
        click.echo(f"{k.id}\t{k.name}\t{k.organisation.name}\t…{k.hint}\t{state}")


@api_keys.command("create")
@click.argument("name")
@click.option("--organisation", help="The key's default organisation.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def api_keys_create(ctx: click.Context, name: str, organisation: str | None, as_json: bool) -> None:
    """Create an API key; its secret is shown once."""

    async def run() -> ApiKey:
        async with AsyncClient(profile=_profile(ctx)) as client:
            return await client.create_api_key(name, organisation=organisation)

    key = _run(run)
    if as_json:
        _emit_json({**_key_json(key), "key": key.key})
    else:
        click.echo(f"Created API key {key.id} ({key.name}). Copy it now, it is not shown again:")
        click.echo(key.key or "")


@api_keys.command("revoke")
@click.argument("key_id")
@click.pass_context
def api_keys_revoke(ctx: click.Context, key_id: str) -> None:
    """Revoke an API key by id."""

    async def run() -> None:
        async with AsyncClient(profile=_profile(ctx)) as client:
            await client.revoke_api_key(key_id)

    _run(run)
    click.echo(f"Revoked API key {key_id}.")
