"""mkdocs hooks: generate the reference pages from the code at build time (nothing hand-copied).

- ``reference/cli.md``: every command of the click group ``jetraw.cli``: usage, help, options;
- ``reference/configuration.md``: every environment variable (``jetraw._util._env.ENV_VARS``), the
  config file's keys (``jetraw._config.Profile``) and the precedence;
- ``reference/exceptions-tree.md``: the exception hierarchy of ``jetraw._exceptions``;
- ``benchmarks.md``: ``benchmarks/RESULTS.md``; ``benchmarks-download.md``:
  ``benchmarks/RESULTS-download.md``.

The docstrings use Sphinx roles (``:class:`~jetraw.X```); :func:`on_page_content` renders them as
code (the leading ``~`` shortens the name, as in Sphinx).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import click
from mkdocs.structure.files import File, Files


def _cli_page() -> str:
    from jetraw.cli import cli as root

    lines = ["# Command-line reference", ""]
    lines += ["Generated from the click commands of `jetraw.cli`.", ""]

    def walk(cmd: click.Command, path: list[str], parent: click.Context | None) -> None:
        ctx = click.Context(cmd, info_name=path[-1], parent=parent)
        name = " ".join(path)
        lines.extend([f"## `{name}`", "", "```text", cmd.get_usage(ctx), "```", ""])
        if cmd.help:
            lines.extend([click.unstyle(cmd.help).strip(), ""])
        rows = []
        for param in cmd.get_params(ctx):
            record = param.get_help_record(ctx)
            if record:
                text = record[1].replace("|", "\\|")
                rows.append(f"| `{record[0]}` | {text} |")
        if rows:
            lines.extend(["| Option | Meaning |", "|---|---|", *rows, ""])
        if isinstance(cmd, click.Group):
            for sub in cmd.list_commands(ctx):
                child = cmd.get_command(ctx, sub)
                if child is not None and not child.hidden:
                    walk(child, [*path, sub], ctx)

    walk(root, ["jetraw"], None)
    return "\n".join(lines) + "\n"


def _config_page() -> str:
    from jetraw._config import Profile
    from jetraw._util._env import ENV_VARS, NOT_ENV_VARS

    out = [
        "# Configuration reference",
        "",
        "Generated from `jetraw._util._env.ENV_VARS` (the registry every reader takes its names "
        "from) and `jetraw._config.Profile`.",
        "",
        "## Precedence",
        "",
        "For each setting: **argument** "
        "(`Client(refresh_token=..., server=..., organisation=...)`, "
        "`--server`, `--profile`) → **environment** → **profile** (the one written by the last "
        "login). `client.auth_source` says which one gave the credential.",
        "",
        "## Environment variables",
        "",
        "| Variable | Read by | Meaning | Values | Default | Precedence |",
        "|---|---|---|---|---|---|",
    ]
    for var in ENV_VARS:
        out.append(
            f"| `{var.name}` | {var.read_by} | {var.meaning} | {var.values} | {var.default} "
            f"| {var.precedence or '-'} |"
        )
    out += ["", "Not environment variables, though spelled `JETRAW_...`:", ""]
    out += [f"- `{name}`: {why}" for name, why in NOT_ENV_VARS.items()]
    out += [
        "",
        "## Files",
        "",
        "- `<config dir>/config.toml`: the profiles (never a secret). Top-level key "
        "`default_profile`; one `[profiles.NAME]` table per profile.",
        "- the refresh token of a login: the OS keyring, or `<config dir>/secrets/` (0600) where "
        "no keyring works, or nowhere (`JETRAW_TOKEN_STORAGE=memory`).",
        "",
        "## Keys of a `[profiles.NAME]` table",
        "",
        "| Key | Required |",
        "|---|---|",
    ]
    for field in dataclasses.fields(Profile):
        if field.name == "name":
            continue
        required = field.default is dataclasses.MISSING
        out.append(f"| `{field.name}` | {'yes' if required else 'no'} |")
    return "\n".join(out) + "\n"


def _exceptions_page() -> str:
    import jetraw._exceptions as exc

    classes = [getattr(exc, n) for n in exc.__all__ if isinstance(getattr(exc, n), type)]
    out = ["# Exception tree", "", "Generated from `jetraw._exceptions`.", "", "```text"]

    def walk(cls: type, depth: int) -> None:
        bases = [b.__name__ for b in cls.__bases__ if b not in classes and b is not object]
        extra = f"  ({', '.join(bases)})" if bases and depth else ""
        out.append("    " * depth + cls.__name__ + extra)
        for sub in sorted((c for c in classes if cls in c.__bases__), key=lambda c: c.__name__):
            walk(sub, depth + 1)

    walk(exc.JetrawError, 0)
    out += ["```", ""]
    out += ["Each class, its meaning and what to do: [Troubleshooting](../troubleshooting.md)."]
    return "\n".join(out) + "\n"


def _benchmarks_page() -> str:
    from pathlib import Path

    results = Path(__file__).resolve().parent.parent / "benchmarks" / "RESULTS.md"
    body = results.read_text(encoding="utf-8").split("\n", 1)[1]
    # The downloads report is a page of its own; other Markdown files beside RESULTS.md are
    # named instead (not site pages).
    body = body.replace("](RESULTS-download.md)", "](benchmarks-download.md)")
    body = re.sub(r"(?<!!)\[([^\]]*)\]\(([^)/:]+\.md)\)", r"\1 (`benchmarks/\2`)", body)
    return (
        "# Benchmarks\n\nIncluded at build time from `benchmarks/RESULTS.md` (regenerate with "
        "`nox -s bench`, which also draws the plots).\n" + body
    )


def _benchmarks_download_page() -> str:
    from pathlib import Path

    results = Path(__file__).resolve().parent.parent / "benchmarks" / "RESULTS-download.md"
    head = "# Benchmarks: downloads\n\n"
    if not results.is_file():
        return head + "Not generated yet: `nox -s bench` writes `benchmarks/RESULTS-download.md`.\n"
    body = results.read_text(encoding="utf-8").split("\n", 1)[1]
    body = re.sub(r"(?<!!)\[([^\]]*)\]\(([^)/:]+\.md)\)", r"\1 (`benchmarks/\2`)", body)
    return (
        head + "Included at build time from `benchmarks/RESULTS-download.md` (regenerate with "
        "`nox -s bench`).\n" + body
    )


def _benchmark_plots() -> list[Any]:
    """The plots and profiles RESULTS.md and RESULTS-download.md link to (``](name.png)``,
    ``](name.txt)``), beside them."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "benchmarks"
    names: list[str] = []
    for report in ("RESULTS.md", "RESULTS-download.md"):
        if (root / report).is_file():
            text = (root / report).read_text(encoding="utf-8")
            names += re.findall(r"\]\(([^)/:]+\.(?:png|txt))\)", text)
    return [root / n for n in dict.fromkeys(names) if (root / n).is_file()]


def on_files(files: Files, config: Any) -> Files:
    for uri, make in (
        ("reference/cli.md", _cli_page),
        ("reference/configuration.md", _config_page),
        ("reference/exceptions-tree.md", _exceptions_page),
        ("benchmarks.md", _benchmarks_page),
        ("benchmarks-download.md", _benchmarks_download_page),
    ):
        files.append(File.generated(config, uri, content=make()))
    for plot in _benchmark_plots():
        files.append(File.generated(config, plot.name, abs_src_path=str(plot)))
    return files


_ROLE = re.compile(r":(?:class|func|meth|attr|mod|data|exc|obj):<code>(~?)([^<]*)</code>")


def _role(match: re.Match[str]) -> str:
    name = match[2].rsplit(".", 1)[-1] if match[1] else match[2]
    return f"<code>{name}</code>"


def on_page_content(html: str, **kwargs: Any) -> str:
    return _ROLE.sub(_role, html)
