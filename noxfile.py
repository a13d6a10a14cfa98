"""Developer and CI sessions. Every session runs through `uv` against the committed `uv.lock`.

nox -s lint        ruff check + ruff format --check + lint-imports (the import contracts)
nox -s typecheck   mypy --strict on the package
nox -s generate    scripts/gen_sync.py --check (jetraw_sync/ is current)
nox -s tests       the full suite on 3.11, a smoke run on 3.10 and 3.13
nox -s docs        mkdocs build --strict (the site, into site/), then the site tests in tests/docs
nox -s wheel       build the wheel, install it in a clean venv, run a smoke test
nox -s quickstart  the README's main job on the embedded local platform
nox -s bench       benchmarks/ (uploads, then downloads; not part of the test run)
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile

import nox

nox.options.default_venv_backend = "none"
nox.options.error_on_missing_interpreters = True
nox.options.sessions = ["lint", "typecheck", "generate", "docs", "tests", "wheel"]

FULL = "3.11"
SMOKE = ("3.10", "3.13")
# What RESULTS.md is generated from (issue 9, target 7): 5 interleaved rounds, HTTP and HTTPS,
# every library's defaults, jetraw's sync facade beside its async API, the 8 GiB file in the
# first 2 rounds, jetraw's lone 50 GiB file between three runs of the 2 GiB file read cold (target
# 3 compares the two cold reads), py-spy profiles of jetraw per workload (~25 min).
BENCH_ARGS = (
    "--peers", "jetraw", "jetraw-sync", "lean-aiobotocore", "obstore", "boto3", "s3fs",
    "--modes", "defaults", "--workloads", "files", "2g", "8g", "small64k",
    "--https-workloads", "files", "2g", "8g", "small64k", "--big-runs", "2", "--runs", "5",
    "--https", "--profile", "--huge-gib", "50", "--cold-runs", "3", "--no-extras",
)  # fmt: skip
# What RESULTS-download.md (linked from RESULTS.md) is generated from, after the upload run:
# 3 interleaved rounds, HTTP and HTTPS, 200 files and one 2 GiB file, every download peer,
# py-spy profiles of jetraw beside the report (~10 min; the 8 GiB file, `--workloads files 2g
# 8g --big-runs 1`, writes 80 GiB to the disk and was left out of the pinned run).
DL_BENCH_ARGS = (
    "--runs", "3", "--https", "--profile", "--workloads", "files", "2g",
    "--out", "benchmarks/RESULTS-download.md",
)  # fmt: skip
# What RESULTS-small1m.md is generated from, last: 10,000 x 1 MiB (issue 9, target 2's second
# workload; 10 GiB per run, too long for every peer of the main run), 3 rounds, HTTP and HTTPS.
SMALL1M_BENCH_ARGS = (
    "--runs", "3", "--peers", "jetraw", "obstore", "jetraw-sync", "lean-aiobotocore",
    "--workloads", "small1m", "--https", "--https-workloads", "small1m", "--huge-gib", "0",
    "--cold-runs", "0", "--no-extras", "--modes", "defaults",
    "--out", "benchmarks/RESULTS-small1m.md",
)  # fmt: skip
# A quick cross-version check: the public API, the platform, the client and the sync facade.
SMOKE_TESTS = (
    "tests/test_public_api.py",
    "tests/server/test_app.py",
    "tests/server/test_uploads.py",
    "tests/client/test_e2e_seed.py",
    "tests/transfer/test_roundtrip.py",
    "tests/transfer/test_resume.py",
    "tests/sync/test_sync_seed.py",
    "tests/sync/test_sync_runtime.py",
)


def find_python(version: str) -> str:
    """An interpreter for `version`: on PATH if it runs, else a pyenv install."""
    candidates = [shutil.which(f"python{version}")]
    pyenv_root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates += sorted(glob.glob(f"{pyenv_root}/versions/{version}.*/bin/python{version}"))
    for exe in candidates:
        if exe and subprocess.run([exe, "-c", "pass"], capture_output=True).returncode == 0:
            return exe
    raise RuntimeError(f"no Python {version} found (PATH or {pyenv_root}/versions)")


def uv_run(session: nox.Session, version: str, *args: str, extra: str = "dev") -> None:
    """Run a command in the locked environment of `version` with the given extras (comma list)."""
    env = {"UV_PROJECT_ENVIRONMENT": os.path.abspath(f".nox/venv-{version}")}
    session.run(
        "uv",
        "run",
        "--frozen",
        *(f"--extra={name}" for name in extra.split(",")),
        "--python",
        find_python(version),
        *args,
        env=env,
        external=True,
    )


@nox.session
def lint(session: nox.Session) -> None:
    uv_run(session, FULL, "ruff", "check", ".")
    uv_run(session, FULL, "ruff", "format", "--check", ".")
    # The import contracts of pyproject.toml; the module rules (scripts/check_imports.py) are
    # checked by tests/test_architecture.py.
    uv_run(session, FULL, "lint-imports", "--no-cache")


@nox.session
def typecheck(session: nox.Session) -> None:
    uv_run(session, FULL, "mypy", "jetraw", "jetraw_sync")


@nox.session
def generate(session: nox.Session) -> None:
    args = session.posargs or ["--check"]
    uv_run(session, FULL, "python", "scripts/gen_sync.py", *args)


@nox.session
def tests(session: nox.Session) -> None:
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    uv_run(session, FULL, "python", "-m", "pytest", *(session.posargs or ["tests"]))
    if not session.posargs:
        for version in SMOKE:
            uv_run(session, version, "python", "-m", "pytest", *SMOKE_TESTS)


@nox.session
def docs(session: nox.Session) -> None:
    """The documentation site, warnings as errors; `tests` (after it) opens it in Chromium."""
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    uv_run(session, FULL, "mkdocs", "build", "--strict", "--site-dir", os.path.abspath("site"))


@nox.session
def wheel(session: nox.Session) -> None:
    out = tempfile.mkdtemp(prefix="jetraw-wheel-")
    session.run("uv", "build", "--wheel", "--out-dir", out, external=True)
    (whl,) = glob.glob(f"{out}/*.whl")
    venv = f"{out}/venv"
    session.run("uv", "venv", "-q", "--python", find_python(FULL), venv, external=True)
    session.run(
        "uv",
        "pip",
        "install",
        "-q",
        "--python",
        f"{venv}/bin/python",
        f"{whl}[server]",
        external=True,
    )
    script = os.path.abspath("scripts/smoke_wheel.py")
    session.chdir(out)  # so nothing imports the checkout instead of the installed wheel
    session.run(f"{venv}/bin/python", script, external=True)


@nox.session
def quickstart(session: nox.Session) -> None:
    uv_run(session, FULL, "python", "examples/quickstart.py", extra="server")


@nox.session
def bench(session: nox.Session) -> None:
    """The pinned runs behind benchmarks/RESULTS.md, RESULTS-download.md and RESULTS-small1m.md
    (and their plots and profiles): uploads, downloads, then 10,000 x 1 MiB. posargs replace the
    upload run's arguments (and skip the 1 MiB run), and those after a ``download`` word the
    download run's; without that word only uploads run (e.g.
    ``nox -s bench -- --quick --out /tmp/r/RESULTS.md download --scale 0.1 --runs 1 --out
    /tmp/r/RESULTS-download.md``)."""
    args, downloads = list(BENCH_ARGS), list(DL_BENCH_ARGS)
    small1m = list(SMALL1M_BENCH_ARGS)
    if session.posargs:
        args = list(session.posargs)
        cut = args.index("download") if "download" in args else len(args)
        args, downloads = args[:cut], args[cut + 1 :] if cut < len(args) else []
        small1m = []
    uv_run(session, FULL, "python", "-m", "benchmarks", *args, extra="dev,bench")
    if downloads:
        uv_run(session, FULL, "python", "-m", "benchmarks.download", *downloads, extra="dev,bench")
    if small1m:
        uv_run(session, FULL, "python", "-m", "benchmarks", *small1m, extra="dev,bench")
