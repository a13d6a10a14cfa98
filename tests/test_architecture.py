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

#: The modules whose rules this branch keeps (the CLI, the public namespaces).
OWNED = sorted(
    [
        *(ROOT / "jetraw" / "cli").glob("*.py"),
        ROOT / "jetraw" / "__init__.py",
        ROOT / "jetraw" / "aio.py",
        ROOT / "jetraw" / "_public.py",
        ROOT / "jetraw" / "testing" / "__init__.py",
    ]
)
#: Owned modules with an offence another branch removes, and why it is still there.
PENDING: dict[str, str] = {}
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


def test_owned_modules_follow_the_module_rules() -> None:
    files = [f for f in OWNED if str(f.relative_to(ROOT)) not in PENDING]
    status, offenders = _run_checker(*files)
    assert offenders == []
    assert status == 0


@pytest.mark.xfail(strict=True, reason="the client and server branches of issue 8 fix the rest")
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
        "505 lines (at most 500)",
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
