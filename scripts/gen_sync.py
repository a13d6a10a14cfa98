#!/usr/bin/env python
# ruff: noqa: E501  (templates of generated lines are clearer unwrapped)
"""Generate the sync facade ``jetraw_sync`` from the async public API ``jetraw.aio``.

    python scripts/gen_sync.py            # rewrite jetraw_sync/ (not _runtime, _loop, _iterate)
    python scripts/gen_sync.py --check    # exit 1, with a diff, if the committed files differ,
                                          # a rule no longer applies, or a name has no mapping

What ``jetraw.aio.__all__`` exports decides what is generated:

- an async class ``AsyncX`` becomes a class ``X`` wrapping one (composition: ``self._async``), with
  every public method and property: same signature, defaults and docstring, annotations rewritten
  by the rules below, and a body that is one call into :mod:`jetraw_sync._runtime`. Async classes
  reached through those annotations (a file object returned by ``open``) are wrapped the same way.
- a module-level ``async def`` becomes a sync function; ``client=None`` means the sync default.
- ``get_default_client``/``set_default_client`` get the sync facade's own default.
- anything else (dataclasses, ``TransferConfig``, result types, exceptions) is re-exported as is.

Signatures and docstrings are read from the source files with :mod:`ast`; :mod:`inspect` only
finds where each exported name is defined. The output is formatted with ruff, so ``--check``
compares like with like. This file holds the rule table and the command line; the machinery is in
``scripts/_gensync/`` (``core``: rules, sources, outputs; ``rewrite``: annotations, docstrings,
conversions; ``generator``: what is exported; ``writers``: classes, methods, functions).
"""

from __future__ import annotations

import argparse
import difflib
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the _gensync package beside this file

from _gensync import core  # noqa: E402
from _gensync.core import (  # noqa: E402
    DEFAULT_PACKAGE,
    DEFAULT_SOURCE,
    STAMP,
    GenError,
    Rule,
)
from _gensync.generator import Generator  # noqa: E402

# The rules, in one table. Kinds:
#   class      an async class name (regex) → its sync twin's name
#   type       an annotation name → its sync form ("" unwraps: Awaitable[T] → T)
#   method     an async method name → its sync name
#   decorator  a decorator that changes the kind of the call
#   doc        a docstring substitution (regex)
#   client     the client class: owns its async client, pickles its config (never tokens)
#   construct  Client.__init__ runs this method of the async client when that argument is true
#   param      a parameter of this name typed with the client class: None → the sync default
#   default    the sync facade's own default-client getter/setter
#   rebuild    a client-bound class remade from str(obj) and its client (after fork or pickle)
#   handle     an exported class the API makes (an open file): wrapped, but no constructor
#   cmclass    a private async context manager class → AbstractContextManager[its __aenter__ type]
RULES: list[Rule] = [
    Rule("class", r"Async([A-Z]\w*)", r"\1", "AsyncX is wrapped by X"),
    Rule("type", "AsyncIterator", "Iterator", "async for → for"),
    Rule("method", "aclose", "close", "house rule: async close is aclose()"),
    Rule("method", "__aenter__", "__enter__", "async with → with"),
    Rule("method", "__aexit__", "__exit__", "async with → with"),
    Rule("method", "__aiter__", "__iter__", "async for → for (a text file's lines)"),
    Rule("method", "__anext__", "__next__", "async for → for: StopAsyncIteration → StopIteration"),
    Rule("doc", r"\basync with\b", "with", ""),
    Rule("doc", r"\basync for\b", "for", ""),
    Rule("doc", r"\bawait ", "", ""),
    Rule("doc", r"\bjetraw\.aio\b", "jetraw", ""),
    Rule("doc", r"\baclose\b", "close", ""),
    Rule("doc", r", but async\b", "", "'Like pathlib.Path.exists, but async'"),
    Rule("doc", r", but an async (iterator|context manager)\b", "", ""),
    Rule("doc", r"\basync (iterators?|context managers?)\b", r"\1", ""),
    Rule("doc", r"\bI/O methods are coroutines\b", "I/O methods block until done", ""),
    Rule("doc", r", async\.", ".", "'like pathlib.Path, async.'"),
    Rule("doc", r" \(asyncio\)", "", "the class docstring's '(asyncio)'"),
    Rule(
        "doc",
        r"A\s+client belongs to the event loop that first uses it\.",
        "A client may be shared by threads (and pickled for other processes).",
        "DESIGN §7: the sync client is not loop-bound",
    ),
    Rule("client", "AsyncClient", "Client", "DESIGN §3, §7"),
    Rule(
        "construct", "refresh_token_if_empty", "__aenter__", "DESIGN §3: a wrong key fails at once"
    ),
    Rule("param", "client", "get_default_client", "each facade has its own default"),
    Rule("default", "get_default_client", "DefaultClient.get", "each facade has its own default"),
    Rule("default", "set_default_client", "DefaultClient.set", "each facade has its own default"),
    Rule("rebuild", "AsyncJetrawPath", "str", "a path is its string plus its client"),
    Rule("handle", "AsyncJetrawReader", "", "made by JetrawPath.open('rb'): no constructor"),
    Rule("handle", "AsyncJetrawWriter", "", "made by JetrawPath.open('wb'): no constructor"),
    Rule("handle", "AsyncJetrawTextReader", "", "made by JetrawPath.open('r'): no constructor"),
    Rule("handle", "AsyncJetrawTextWriter", "", "made by JetrawPath.open('w'): no constructor"),
    Rule("cmclass", "_OpenReader", "AbstractContextManager", "open('rb') → with ... as reader"),
    Rule("cmclass", "OpenTextReader", "AbstractContextManager", "open('r') → with ... as reader"),
]


# -- formatting, writing, checking ------------------------------------------------------------------


def ruff(code: str, filename: str) -> str:
    fixed = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--fix", "--select", "I,F401", "--stdin-filename", filename, "-"],
        input=code, capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip
    if fixed.returncode not in (0, 1) or not fixed.stdout:
        raise GenError(f"ruff check failed on {filename}:\n{fixed.stderr}\n{code}")
    formatted = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--stdin-filename", filename, "-"],
        input=fixed.stdout, capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip
    if formatted.returncode != 0:
        raise GenError(f"ruff format failed on {filename}:\n{formatted.stderr}\n{fixed.stdout}")
    return formatted.stdout


def build(source: str, package: str, out_dir: Path) -> dict[Path, str]:
    gen = Generator(source, package)
    files = gen.generate()
    # Format as if in the repository (its ruff settings), wherever the files are written.
    home = ROOT / package.replace(".", "/")
    return {out_dir / name: ruff(code, str(home / name)) for name, code in sorted(files.items())}


def leftovers() -> list[Rule]:
    return [r for r in RULES if r.used == 0]


def stale_files(out_dir: Path, expected: dict[Path, str]) -> list[Path]:
    return [
        p for p in sorted(out_dir.glob("*.py"))
        if p not in expected and p.read_text(encoding="utf-8").startswith(STAMP)
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the output would change")
    parser.add_argument("--source", default=DEFAULT_SOURCE, help="the async API module")
    parser.add_argument("--package", default=DEFAULT_PACKAGE, help="the generated package's name")
    parser.add_argument("--output", type=Path, default=None, help="the package directory")
    args = parser.parse_args(argv)
    out_dir = (args.output or ROOT / args.package.replace(".", "/")).resolve()
    sys.path.insert(0, str(ROOT))
    core.TABLE = RULES
    for r in RULES:
        r.used = 0
    core.MODULES.clear()
    try:
        expected = build(args.source, args.package, out_dir)
    except GenError as error:
        print(f"gen_sync: {error}", file=sys.stderr)
        return 1
    status = 0
    if args.source == DEFAULT_SOURCE and leftovers():
        status = 1
        print("gen_sync: these rules applied to nothing (remove them):", file=sys.stderr)
        for r in leftovers():
            print(f"  {r.kind:10} {r.match!r} → {r.becomes!r}", file=sys.stderr)
    stale = stale_files(out_dir, expected) if out_dir.is_dir() else []
    if args.check:
        drift = False
        for path, text in expected.items():
            current = path.read_text(encoding="utf-8") if path.exists() else ""
            if current != text:
                drift = True
                rel = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
                sys.stdout.writelines(
                    difflib.unified_diff(
                        current.splitlines(keepends=True),
                        text.splitlines(keepends=True),
                        f"{rel} (committed)",
                        f"{rel} (generated)",
                    )
                )
        for path in stale:
            drift = True
            print(f"gen_sync: {path} is generated but no longer produced", file=sys.stderr)
        if drift:
            status = 1
            print(
                "gen_sync: the sync facade is out of date: run `python scripts/gen_sync.py`",
                file=sys.stderr,
            )
        return status
    out_dir.mkdir(parents=True, exist_ok=True)
    for path, text in expected.items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    for path in stale:
        path.unlink()
        print(f"removed {path}")
    return status


if __name__ == "__main__":
    sys.exit(main())
