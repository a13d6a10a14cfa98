#!/usr/bin/env python
"""Check the module rules of issue 8 on ``jetraw/`` by reading the source (no import).

    python scripts/check_imports.py              # every module of jetraw/
    python scripts/check_imports.py FILE...      # report on these files only

Each module of ``jetraw/``:

- declares ``__all__``, a literal list or tuple of names;
- imports no private name (leading ``_``) from another module: ``from jetraw._auth import
  _login`` reaches into another module's insides (``from jetraw._auth._login import x`` with
  ``x`` public is fine: the module is private to the package, the name is its interface);
- imports from a module of ``jetraw`` or ``jetraw_sync`` only names in that module's ``__all__``;
- has at most 500 lines of code (docstrings not counted: a facade's public docstrings are
  its reference documentation, and ``jetraw_sync`` is generated from them), and never more
  than 600 lines in all.

Imports inside functions and ``if TYPE_CHECKING:`` blocks count too. Offenders are printed as
``path:line: message``; the exit status is 1 if there are any. ``import-linter`` (``lint-imports``)
checks the other half: which module may import which.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("jetraw", "jetraw_sync")  # whose modules' __all__ is known
CHECKED = "jetraw"  # whose modules are checked
MAX_LINES = 500  # of code, docstrings excluded
MAX_TOTAL = 600  # in all


@dataclasses.dataclass
class Module:
    name: str
    path: Path
    tree: ast.Module
    lines: int
    exports: list[str] | None  # None: no __all__
    literal: bool  # __all__ is a literal list/tuple of strings


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def read_all(tree: ast.Module) -> tuple[list[str] | None, bool]:
    exports: list[str] | None = None
    literal = True
    for node in tree.body:
        target: ast.expr | None = None
        value: ast.expr | None = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            target, value = node.target, node.value
        if not (isinstance(target, ast.Name) and target.id == "__all__") or value is None:
            continue
        names: list[str] = []
        if isinstance(value, (ast.List, ast.Tuple)) and all(
            isinstance(e, ast.Constant) and isinstance(e.value, str) for e in value.elts
        ):
            names = [e.value for e in value.elts if isinstance(e, ast.Constant)]
        else:
            literal = False
        exports = [*(exports or []), *names] if isinstance(node, ast.AugAssign) else names
    return exports, literal


def load(path: Path) -> Module:
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text, filename=str(path))
    exports, literal = read_all(tree)
    return Module(module_name(path), path, tree, len(text.splitlines()), exports, literal)


def docstring_lines(tree: ast.Module) -> int:
    """How many lines the docstrings of the module, its classes and functions take."""
    total = 0
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                total += (first.end_lineno or first.lineno) - first.lineno + 1
    return total


def imported_from(node: ast.ImportFrom, module: Module) -> str:
    if not node.level:
        return node.module or ""
    package = module.name if module.path.name == "__init__.py" else module.name.rpartition(".")[0]
    return importlib.util.resolve_name("." * node.level + (node.module or ""), package)


def offences(module: Module, known: dict[str, Module]) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    if module.exports is None:
        found.append((1, "no __all__"))
    elif not module.literal:
        found.append((1, "__all__ is not a literal list of names"))
    code = module.lines - docstring_lines(module.tree)
    if code > MAX_LINES:
        found.append((module.lines, f"{code} lines of code (at most {MAX_LINES})"))
    if module.lines > MAX_TOTAL:
        found.append((module.lines, f"{module.lines} lines (at most {MAX_TOTAL})"))
    for node in ast.walk(module.tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        source = imported_from(node, module)
        if source == "__future__" or source == module.name:
            continue
        target = known.get(source)
        for alias in node.names:
            name = alias.name
            if name == "*":
                if target is not None and target.exports is None:
                    found.append((node.lineno, f"`from {source} import *` but it has no __all__"))
                continue
            if name.startswith("_"):
                found.append((node.lineno, f"imports the private name {name} from {source}"))
            elif target is not None and target.exports is not None and name not in target.exports:
                found.append((node.lineno, f"imports {name} from {source}, not in its __all__"))
    return sorted(found)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, help="report on these files only")
    args = parser.parse_args(argv)
    known: dict[str, Module] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            mod = load(path)
            known[mod.name] = mod
    wanted = {p.resolve() for p in args.files}
    status = 0
    for mod in known.values():
        if mod.name.split(".")[0] != CHECKED or (wanted and mod.path not in wanted):
            continue
        for line, message in offences(mod, known):
            print(f"{mod.path.relative_to(ROOT)}:{line}: {message}")
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
