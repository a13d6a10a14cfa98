"""The root command group, its global options, and the one place errors become exit codes.

The command modules define their commands and know nothing of the root; this module imports
them and adds each to :data:`cli`, so the import graph runs one way (no module imports this one
back) and the set of commands is written down in one place.
"""

from __future__ import annotations

import importlib.metadata
import os
from typing import Any

import click

import jetraw
from jetraw.aio import JetrawError
from jetraw.cli._auth import auth, login, logout, whoami
from jetraw.cli._common import ENV_PROFILE, exit_code_for, printable
from jetraw.cli._completion import completion
from jetraw.cli._files import cat, ls, mkdir, mv, rm, stat, uploads
from jetraw.cli._logging import configure_debug_logging
from jetraw.cli._organisation import api_keys, spaces
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


def _version() -> str:
    """The installed distribution's version (``jetraw.__version__`` in a source tree)."""
    try:
        return importlib.metadata.version("jetraw")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - not installed
        return jetraw.__version__


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


@click.group(
    cls=_Group,
    epilog=_EPILOG,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--server",
    metavar="URL",
    default=None,
    help="The state server, for every command (else $JETRAW_SERVER, else the profile's).",
)
@click.option(
    "--profile", envvar=ENV_PROFILE, default=None, help="Configuration profile ($JETRAW_PROFILE)."
)
@click.option(
    "-q",
    "--quiet",
    is_flag=True,
    help="No progress bars and no informational lines; errors still go to stderr.",
)
@click.option(
    "--debug", is_flag=True, help="Show tracebacks and jetraw's debug logs ($JETRAW_DEBUG=1)."
)
@click.option(
    "--debug-all",
    is_flag=True,
    help="--debug, and every library's debug logs, credentials masked ($JETRAW_DEBUG=all).",
)
@click.version_option(
    version=_version(), prog_name="jetraw", message="%(prog)s %(version)s", help="Show the version."
)
@click.pass_context
def cli(
    ctx: click.Context,
    server: str | None,
    profile: str | None,
    quiet: bool,
    debug: bool,
    debug_all: bool,
) -> None:
    """Jetraw: keep large scientific image data in spaces."""
    level = _debug_level(debug, debug_all)
    ctx.ensure_object(dict)
    ctx.obj.update(debug=level is not None, profile=profile, server=server, quiet=quiet)
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
    # the organisation's (_organisation)
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
    # shell completion (_completion)
    completion,
):
    cli.add_command(_command)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="jetraw")
