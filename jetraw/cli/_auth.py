"""`jetraw login/logout/whoami/auth status`."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from jetraw.aio import AsyncClient, ConfigurationError, Identity, JetrawError, LogoutResult
from jetraw.cli._common import (
    ENV_API_KEY,
    ENV_SERVER,
    ENV_TOKEN_STORAGE,
    client_for,
    emit_json,
    info,
    printable,
    run,
    warn,
)

__all__ = ["auth", "login", "logout", "whoami"]


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


def _kept_in_memory_only() -> bool:
    """Whether logins go to process memory (``JETRAW_TOKEN_STORAGE=memory``): lost at exit."""
    return os.environ.get(ENV_TOKEN_STORAGE, "").strip().lower() == "memory"


def _not_kept_warning(profile: str) -> str:
    return (
        f"{ENV_TOKEN_STORAGE}=memory: the login was checked but not kept. It ends with this "
        f"command; the next `jetraw` command is not logged in (profile {profile!r} has no "
        f"stored login). To stay logged in, unset {ENV_TOKEN_STORAGE} (the OS keyring, else a "
        f"0600 file in the config directory) or set it to keyring or file, and log in again; "
        f"or give every command the key in {ENV_API_KEY}."
    )


@click.command(short_help="Log in (browser, --device or --api-key) and save it.")
@click.option("--api-key", "api_key", is_flag=True, help="Log in with an API key (prompt/stdin).")
@click.option("--device", is_flag=True, help="Device-code login (SSH, no local browser).")
@click.option("--server", envvar=ENV_SERVER, help="The state server URL ($JETRAW_SERVER).")
@click.option("--organisation", help="The organisation to act in.")
@click.option("--profile", "profile_opt", help="The profile to save the login in (created).")
@click.option(
    "--no-browser",
    is_flag=True,
    help="Print the login URL (for a browser here or forwarding the port); open none.",
)
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
    """Log in and save the login in a profile (created if new), made the default one."""
    if api_key and device:
        raise click.UsageError("--api-key and --device exclude each other.")
    options: dict[str, Any] = {"organisation": organisation}
    if profile_opt:
        options["profile"] = profile_opt
    if server:
        options["server"] = server
    key = _read_api_key() if api_key else None

    async def go() -> tuple[Identity, str]:
        if key is not None:
            # The key is checked (whoami) before it is saved as the profile's login.
            async with client_for(ctx, refresh_token=key, **options) as client:
                return await client.save_login(), client.profile
        async with client_for(ctx, refresh_token_if_empty=False, **options) as client:
            opener = (lambda url: None) if no_browser else None
            ident = await client.authorize(device=device, opener=opener)
            return ident, client.profile

    ident, name = run(go)
    info(
        ctx,
        f"Logged in as {ident.user.email} in organisation {ident.organisation.name} "
        f"(profile {name!r}).",
    )
    if _kept_in_memory_only():
        warn(_not_kept_warning(name))


@click.command()
@click.pass_context
def logout(ctx: click.Context) -> None:
    """Revoke the saved login and delete every stored copy of it."""

    async def go() -> tuple[LogoutResult, str | None]:
        async with client_for(ctx, refresh_token_if_empty=False) as client:
            foreign = (await client.login_info()).unusable_reason
            return await client.logout(), foreign

    result, foreign = run(go)
    if result.removed or result.revoked:
        info(ctx, "Logged out" + (" (revoked on the server)." if result.revoked else "."))
        for item in result.removed:
            info(ctx, f"  removed {item}")
    elif foreign is not None:
        # The saved login is another server's: left alone, and the user told why.
        info(ctx, f"Nothing logged out: {foreign}")
    else:
        info(ctx, "No saved login to remove.")
    for name in result.still_logged_in_by:
        # Not informational: the user is still logged in, which they did not ask for.
        click.echo(f"Note: {name} is set and still logs you in; unset it to log out fully.")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def whoami(ctx: click.Context, as_json: bool) -> None:
    """Show the user and organisation of the current credentials."""

    async def go() -> dict[str, Any]:
        async with client_for(ctx) as client:
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


#: The keys of `jetraw auth status --json`, in docs/cli.md.
_STATUS_KEYS = (
    "configured",
    "valid",
    "server",
    "profile",
    "organisation",
    "user",
    "auth_source",
    "stored_in",
    "env",
    "error",
)
_ENV = (ENV_API_KEY,)


@click.group()
def auth() -> None:
    """Inspect authentication."""


@auth.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def auth_status(ctx: click.Context, as_json: bool) -> None:
    """Which credentials are in force, where they come from, and whether they work."""

    async def go() -> dict[str, Any]:
        # Every key always there (null when unknown): the documented schema of --json.
        status: dict[str, Any] = dict.fromkeys(_STATUS_KEYS)
        status.update(configured=False, valid=False, env=[n for n in _ENV if os.environ.get(n)])
        try:
            client = client_for(ctx, refresh_token_if_empty=False)
        except ConfigurationError as error:
            status["error"] = str(error)
            return status
        async with client:
            login = await client.login_info()
            status.update(
                configured=login.server is not None,
                server=login.server,
                profile=login.profile,
                organisation=login.organisation,
                auth_source=login.auth_source,
            )
            if login.server is not None and login.auth_source is None:
                status["error"] = login.unusable_reason or "not logged in: run `jetraw login`"
                return status
            try:
                # With no server configured this fails at once, saying how to configure one.
                ident = await client.whoami()
            except JetrawError as error:
                status["error"] = str(error)
                if login.server is None:
                    return status
            else:
                status.update(valid=True, user=ident.user.email)
                status["organisation"] = ident.organisation.name
            status["stored_in"] = login.stored_in
        return status

    status = run(go)
    if as_json:
        emit_json(status)
        return
    if not status["configured"]:
        click.echo(printable(f"Not configured: {status['error'] or 'no server'}"))
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
