"""``jetraw server``: run the reference platform (needs the ``server`` extra)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import click

__all__ = ["server"]


@click.command("server")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Database, bootstrap.json and local storage live here (created if missing).",
)
@click.option(
    "--database",
    default=None,
    envvar="JETRAW_SERVER_DATABASE",
    metavar="URL",
    help="postgresql://user@host:port/db (the postgresql extra), shared by several instances. "
    "Default: $JETRAW_SERVER_DATABASE, else SQLite in DATA_DIR.",
)
@click.option(
    "--base-url",
    default=None,
    metavar="URL",
    help="The public URL behind a TLS proxy (token issuer, device-login link). "
    "Default: the bound address.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", type=int, default=8765, show_default=True, help="0: any free port.")
@click.option(
    "--admin-token-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="File holding a secret that enables the admin API (/admin/v1).",
)
@click.option("--log-level", default="info", show_default=True)
@click.option(
    "--trusted-proxy",
    "proxies",
    multiple=True,
    metavar="ADDRESS",
    help="Believe X-Forwarded-For from this reverse proxy's address or network (repeat). "
    "Default: $JETRAW_SERVER_TRUSTED_PROXIES (comma-separated), else none.",
)
@click.option(
    "--local-spaces-root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Base of the local spaces organisation admins create (default DATA_DIR/spaces).",
)
def server(
    data_dir: Path,
    database: str | None,
    base_url: str | None,
    host: str,
    port: int,
    admin_token_file: Path | None,
    log_level: str,
    proxies: tuple[str, ...],
    local_spaces_root: Path | None,
) -> None:
    """Run the Jetraw reference platform (state server) on DATA_DIR.

    The first run on an empty data dir creates an admin user, the organisation `default`, the
    space `data` (local storage under the data dir) and an API key, and prints them.
    """
    try:
        from jetraw.server import (
            READY_PREFIX,
            ServerSettings,
            configure_logging,
            run,
            trusted_proxies,
        )
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise click.ClickException(
            f"the server extra is not installed ({exc.name}): pip install 'jetraw[server]'"
        ) from None
    configure_logging(log_level)
    token = admin_token_file.read_text("utf-8").strip() or None if admin_token_file else None
    try:
        trusted = trusted_proxies(proxies)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--trusted-proxy") from None
    if database and not database.startswith(("postgresql://", "postgres://")):
        raise click.BadParameter(
            "a postgresql:// URL (omit it for SQLite)", param_hint="--database"
        )
    settings = ServerSettings(
        data_dir=data_dir.resolve(),
        database=database or None,
        base_url=base_url.rstrip("/") if base_url else None,
        admin_token=token,
        trusted_proxies=trusted,
        local_spaces_root=local_spaces_root.resolve() if local_spaces_root else None,
    )
    if host not in ("127.0.0.1", "::1", "localhost"):
        click.echo(f"Warning: listening on {host}, reachable from other machines.", err=True)

    def announce(message: str) -> None:
        if message.startswith(READY_PREFIX):
            url = json.loads(message[len(READY_PREFIX) :])["url"]
            message = f"Serving {url} (data dir {settings.data_dir}); Ctrl-C stops."
        click.echo(message)

    try:
        run(settings, host=host, port=port, announce=announce, log_level=log_level)
    except (sqlite3.OperationalError, RuntimeError) as exc:
        raise click.ClickException(f"cannot open the database: {exc}") from None
