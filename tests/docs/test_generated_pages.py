"""The generated reference pages (scripts/docs_hooks.py) cover every command, variable and key."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path
from types import ModuleType

import click

from jetraw._config import Profile
from jetraw._util._env import ENV_VARS
from jetraw.cli import cli

ROOT = Path(__file__).resolve().parents[2]


def _hooks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "scripts" / "docs_hooks.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _commands(group: click.Group, prefix: str) -> list[str]:
    ctx = click.Context(group)
    out = []
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        if cmd is None or cmd.hidden:
            continue
        out.append(f"{prefix} {name}")
        if isinstance(cmd, click.Group):
            out += _commands(cmd, f"{prefix} {name}")
    return out


def test_cli_reference_has_every_command_and_option() -> None:
    page = _hooks()._cli_page()
    commands = _commands(cli, "jetraw")
    assert len(commands) >= 15, commands
    for command in commands:
        assert f"## `{command}`" in page, command
    assert "`--json`" in page
    assert "`--server TEXT`" in page or "`--server URL`" in page


def test_configuration_reference_has_every_variable_and_key() -> None:
    page = _hooks()._config_page()
    for var in ENV_VARS:
        assert f"| `{var.name}` |" in page, var.name
    for field in dataclasses.fields(Profile):
        if field.name != "name":
            assert f"| `{field.name}` |" in page, field.name


def test_exception_tree_has_every_exception() -> None:
    import jetraw._exceptions as exc

    page = _hooks()._exceptions_page()
    for name in exc.__all__:
        if isinstance(getattr(exc, name), type):
            assert name in page, name


def test_roles_rendered_as_code() -> None:
    html = "see :class:<code>~jetraw.LocalPathExistsError</code> and :meth:<code>close</code>"
    assert _hooks().on_page_content(html) == (
        "see <code>LocalPathExistsError</code> and <code>close</code>"
    )
