"""Audit the locked dependencies for known vulnerabilities; fail only when a fix exists.

    uv run --frozen --extra dev python scripts/audit_deps.py [--all]

Exports ``uv.lock`` (every extra, the project itself left out) as pinned requirements, runs
``pip-audit`` on exactly those pins (no resolution, no pip, no virtualenv) against PyPI's JSON
vulnerability API, prints every finding, and exits 1 when any vulnerability has a fixed version
to move to (``uv lock --upgrade-package NAME``). A vulnerability without a fix is reported, not
failed on: nothing can be done about it by bumping the lock. ``--all`` fails on those too.
Exit 2: the audit did not run, or some package could not be looked up (a private package, a
mirror without PyPI's JSON API): not audited is never reported as clean.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["main"]

ROOT = Path(__file__).resolve().parent.parent


def _export(target: Path) -> None:
    subprocess.run(
        [
            "uv",
            "export",
            "--frozen",
            "--all-extras",
            "--format",
            "requirements-txt",
            "--no-emit-project",
            "--no-hashes",
            "--quiet",
            "--output-file",
            str(target),
        ],
        cwd=ROOT,
        check=True,
    )


def _audit(requirements: Path) -> dict[str, Any]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip_audit",
            "--requirement",
            str(requirements),
            "--no-deps",  # the export is the complete, pinned set: audit it as it is
            "--disable-pip",
            "--vulnerability-service",
            "pypi",
            "--format",
            "json",
            "--progress-spinner",
            "off",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,  # exit 1 just means "found something": the JSON says what
    )
    try:
        report: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError:
        sys.stderr.write(done.stderr or done.stdout)
        raise SystemExit(2) from None
    return report


def main(argv: list[str] | None = None) -> int:
    """Run the audit; return the exit code (0 clean, 1 fixable findings, 2 audit failed)."""
    fail_unfixed = "--all" in (sys.argv[1:] if argv is None else argv)
    with tempfile.TemporaryDirectory() as tmp:
        requirements = Path(tmp) / "requirements.txt"
        _export(requirements)
        report = _audit(requirements)
    dependencies = report.get("dependencies", [])
    fixable = unfixed = skipped = 0
    for dep in dependencies:
        if "skip_reason" in dep:
            skipped += 1
            print(f"not audited: {dep['name']} {dep.get('version', '')}: {dep['skip_reason']}")
        for vuln in dep.get("vulns", []):
            fixes = vuln.get("fix_versions") or []
            aliases = ", ".join(vuln.get("aliases") or [])
            if fixes:
                fixable += 1
                verdict = "fixed in " + ", ".join(fixes)
            else:
                unfixed += 1
                verdict = "no fix released"
            print(
                f"{dep['name']} {dep['version']}: {vuln['id']}"
                + (f" ({aliases})" if aliases else "")
                + f" - {verdict}"
            )
    print(
        f"{len(dependencies) - skipped} of {len(dependencies)} locked packages audited: "
        f"{fixable} fixable, {unfixed} without a fix."
    )
    if fixable or (fail_unfixed and unfixed):
        print("Bump them: uv lock --upgrade-package NAME", file=sys.stderr)
        return 1
    if skipped:
        # A package the service does not know (or a service that answers 404 for everything,
        # as a simple-index-only mirror does) was not checked: never report that as clean.
        print(f"{skipped} packages could not be audited.", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
