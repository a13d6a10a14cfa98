"""The root command group, its global options, and the one place errors become exit codes.

The command modules define their commands and know nothing of the root; this module imports
them and adds each to :data:`cli`, so the import graph runs one way (no module imports this one
back) and the set of commands is written down in one place.
"""

from __future__ import annotations

import os
from typing import Any

import click

from jetraw.aio import JetrawError
from jetraw.cli._auth import api_keys, auth, login, logout, spaces, whoami
from jetraw.cli._common import ENV_PROFILE, exit_code_for, printable
from jetraw.cli._files import cat, ls, mkdir, mv, rm, stat, uploads
from jetraw.cli._logging import configure_debug_logging
from jetraw.cli._server import server
from jetraw.cli._transfer import download, upload

__all__ = ["cli", "main"]

_EPILOG = (
    "Exit codes: 0 ok, 1 error, 2 usage or configuration, 3 authentication or permission, "
    "4 not found, 5 conflict (exists, not empty), 6 server or storage unreachable, "
    "7 some files of a transfer failed, 130 interrupted."
)


#: ``JETRAW_DEBUG=1`` is ``--debug``, ``JETRAW_DEBUG=all`` is ``--debug-all``.
ENV_DEBUG = "JETRAW_DEBUG"


def _debug_level(debug: bool, debug_all: bool) -> str | None:
    """``"all"``, ``"jetraw"`` or ``None`` from the options and the environment."""
    env = os.environ.get(ENV_DEBUG, "").strip().lower()
    if debug_all or env == "all":
        return "all"
    if debug or env in ("1", "true", "yes", "jetraw"):
        return "jetraw"
    return None


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        debug = _debug_level(bool(ctx.params.get("debug")), bool(ctx.params.get("debug_all")))
        try:
            return super().invoke(ctx)
        except JetrawError as exc:
            if debug:
                raise
            click.echo(f"Error: {printable(exc)}", err=True)
            ctx.exit(exit_code_for(exc))
        except KeyboardInterrupt:
            if debug:
                raise
            click.echo("Interrupted.", err=True)
            ctx.exit(130)


@click.group(cls=_Group, epilog=_EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--debug", is_flag=True, help="Show tracebacks and jetraw's debug logs ($JETRAW_DEBUG=1)."
)
@click.option(
    "--debug-all",
    is_flag=True,
    help="--debug, and every library's debug logs, credentials masked ($JETRAW_DEBUG=all).",
)
@click.option("--profile", envvar=ENV_PROFILE, default=None, help="Configuration profile.")
@click.version_option(package_name="jetraw")
@click.pass_context
def cli(ctx: click.Context, debug: bool, debug_all: bool, profile: str | None) -> None:
    """Jetraw: keep large scientific image data in spaces."""
    level = _debug_level(debug, debug_all)
    ctx.ensure_object(dict)
    ctx.obj["debug"] = level is not None
    ctx.obj["profile"] = profile
    if level is not None:
        # Never DEBUG for every library unasked: botocore would log the session token and the
        # request signatures. What is logged is redacted either way.
        configure_debug_logging(third_party=level == "all")


for _command in (
    # accounts (_auth)
    login,
    logout,
    whoami,
    auth,
    spaces,
    api_keys,
    # files (_files)
    ls,
    stat,
    cat,
    rm,
    mv,
    mkdir,
    uploads,
    # transfers (_transfer)
    upload,
    download,
    # the reference platform (_server)
    server,
):
    cli.add_command(_command)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="jetraw")
