"""`jetraw completion bash|zsh|fish`: the shell completion script, from click's own."""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class

__all__ = ["COMPLETE_VAR", "completion"]

#: The variable click's completion scripts set when they call `jetraw` (``bash_complete``...);
#: ``_JETRAW_COMPLETE=bash_source jetraw`` prints the same script as `jetraw completion bash`.
COMPLETE_VAR = "_JETRAW_COMPLETE"

_SHELLS = ("bash", "zsh", "fish")


@click.command(short_help="Print the shell completion script (bash, zsh, fish).")
@click.argument("shell", type=click.Choice(_SHELLS))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the completion script for SHELL; install it with one line:

    \b
      bash:  eval "$(jetraw completion bash)"     in ~/.bashrc
      zsh:   eval "$(jetraw completion zsh)"      in ~/.zshrc
      fish:  jetraw completion fish > ~/.config/fish/completions/jetraw.fish
    """
    shell_class = get_completion_class(shell)
    assert shell_class is not None  # one of click's own shells
    root = ctx.find_root()
    script = shell_class(root.command, {}, "jetraw", COMPLETE_VAR).source()
    click.echo(script)
