"""The architecture rules of issue 8: the module rules (``scripts/check_imports.py``) and the
import contracts of ``pyproject.toml`` (import-linter's ``lint-imports``)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent

#: Contracts known broken until the other branches of issue 8 are merged.
BROKEN_CONTRACTS: dict[str, str] = {}


def _checker() -> ModuleType:
    path = ROOT / "scripts" / "check_imports.py"
    spec = importlib.util.spec_from_file_location("check_imports", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("check_imports", module)  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _run_checker(*files: Path) -> tuple[int, list[str]]:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts/check_imports.py"), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert not proc.stderr, proc.stderr
    return proc.returncode, proc.stdout.splitlines()


def test_every_module_follows_the_module_rules() -> None:
    status, offenders = _run_checker()
    assert offenders == []
    assert status == 0


def test_checker_finds_each_kind_of_offence(tmp_path: Path) -> None:
    import ast

    checker = _checker()
    known = {
        "jetraw.a": checker.Module(
            "jetraw.a", tmp_path / "a.py", ast.parse(""), 1, ["public"], True
        ),
    }
    source = (
        "from jetraw.a import _private\n"
        "from jetraw.a import unlisted\n"
        "from jetraw.a import public\n"
        "def f():\n"
        "    from jetraw.a import _hidden_in_a_function\n"
    )
    path = tmp_path / "b.py"
    path.write_text(source + "\n" * 500)
    module = checker.Module(
        "jetraw.b", path, ast.parse(source), 505, *checker.read_all(ast.parse(source))
    )
    messages = [message for _, message in checker.offences(module, known)]
    assert messages == [
        "imports the private name _private from jetraw.a",
        "no __all__",
        "imports unlisted from jetraw.a, not in its __all__",
        "imports the private name _hidden_in_a_function from jetraw.a",
        "505 lines of code (at most 500)",
    ]


def _contracts() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return [c["id"] for c in config["tool"]["importlinter"]["contracts"]]


@pytest.mark.parametrize(
    "contract",
    [
        pytest.param(c, marks=pytest.mark.xfail(strict=True, reason=BROKEN_CONTRACTS[c]))
        if c in BROKEN_CONTRACTS
        else c
        for c in _contracts()
    ],
)
def test_import_contract_is_kept(contract: str) -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run(
        [str(lint_imports), "--no-cache", "--contract", contract],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_checker_counts_code_not_docstrings_but_caps_the_whole(tmp_path: Path) -> None:
    import ast

    checker = _checker()
    doc = '"""' + "\n" * 300 + '"""\n'
    text = f"{doc}__all__ = []\n" + "x = 1\n" * 290

    def module(source: str) -> object:
        return checker.Module(
            "jetraw.m", tmp_path / "m.py", ast.parse(source), len(source.splitlines()), [], True
        )

    assert checker.offences(module(text), {}) == []  # 592 lines, 292 of them code
    over = text + "y = 2\n" * 10
    assert [m for _, m in checker.offences(module(over), {})] == ["602 lines (at most 600)"]
    code = "__all__ = []\n" + "x = 1\n" * 500
    assert [m for _, m in checker.offences(module(code), {})] == ["501 lines of code (at most 500)"]
