"""The root command group, global options, and the one place errors become exit codes."""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from jetraw._exceptions import (
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    InvalidPathError,
    JetrawError,
    NotFoundError,
    PermissionDeniedError,
    ServerConnectionError,
    StorageConnectionError,
    TransferError,
)

__all__ = ["EXIT_CODES", "cli", "main"]

#: Exit codes that mean something to scripts (documented in ``jetraw --help``).
EXIT_CODES: list[tuple[type[BaseException], int]] = [
    (TransferError, 7),
    (AuthenticationError, 3),
    (PermissionDeniedError, 3),
    (NotFoundError, 4),
    (ConflictError, 5),
    (ServerConnectionError, 6),
    (StorageConnectionError, 6),
    (ConfigurationError, 2),
    (InvalidPathError, 2),
    (JetrawError, 1),
]

_EPILOG = (
    "Exit codes: 0 ok, 1 error, 2 usage or configuration, 3 authentication or permission, "
    "4 not found, 5 conflict (exists, not empty), 6 server or storage unreachable, "
    "7 some files of a transfer failed, 130 interrupted."
)


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        debug = bool(ctx.params.get("debug"))
        try:
            return super().invoke(ctx)
        except JetrawError as exc:
            if debug:
                raise
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(exit_code_for(exc))
        except KeyboardInterrupt:
            if debug:
                raise
            click.echo("Interrupted.", err=True)
            ctx.exit(130)


def exit_code_for(exc: BaseException) -> int:
    for kind, code in EXIT_CODES:
        if isinstance(exc, kind):
            return code
    return 1


@click.group(cls=_Group, epilog=_EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.option("--profile", envvar="JETRAW_PROFILE", default=None, help="Configuration profile.")
@click.version_option(package_name="jetraw")
@click.pass_context
def cli(ctx: click.Context, debug: bool, profile: str | None) -> None:
    """Jetraw: keep large scientific image data in spaces."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    ctx.obj["profile"] = profile
    if debug:
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)


def _register() -> None:
    # Each command module adds its commands to `cli` on import.
    from jetraw.cli import _auth, _files, _server, _transfer  # noqa: F401


_register()


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="jetraw")
