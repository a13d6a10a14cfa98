"""Start-up cost: what a process pays before its first transfer (issue 9, target 5).

Each case runs in a fresh interpreter, the cases interleaved round by round; the report gives the
median and the range over the rounds. Two figures per case:

- **code CPU**: ``time.process_time()`` around the case's own lines inside the child (the imports
  and the client; for jetraw's sync ``Client`` that includes its API-key exchange with a local
  platform, which is what ``Client(refresh_token=...)`` does), interpreter start-up excluded;
- **process**: wall time and CPU (user + system, from ``wait4``) of the whole child, interpreter
  included; the command-line cases are measured this way only.

Run it (a ``LocalPlatform`` is started on 127.0.0.1 for the cases that need a server)::

    uv run --frozen --extra dev --extra bench python -m benchmarks.startup --rounds 9

Peers (boto3, obstore, s3fs) are measured where installed (the ``bench`` extra): their client
objects make no request at construction, so their figure is the import and the client set-up.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CASES", "main", "measure"]

_TIMED = """
import json, sys, time
t0 = time.process_time()
{code}
t1 = time.process_time()
print(json.dumps({{"cpu": t1 - t0, "modules": len(sys.modules)}}))
"""

S3_ARGS = "endpoint_url='http://127.0.0.1:9', region_name='us-east-1'"

# name -> (code run in the child, module that must be importable, target in s of code CPU)
CASES: dict[str, tuple[str, str | None, float | None]] = {
    "import jetraw": ("import jetraw", None, None),
    "import jetraw + Client(refresh_token=...)": (
        "import jetraw\nclient = jetraw.Client(refresh_token=sys.argv[1])",
        None,
        0.12,
    ),
    "the same, as a user's install has it (no trio)": (
        # The dev environment has trio (selenium's dependency), which httpcore imports whenever
        # it is installed; jetraw does not depend on it. Hidden here as if not installed.
        "sys.modules['trio'] = None\n"
        "import jetraw\nclient = jetraw.Client(refresh_token=sys.argv[1])",
        None,
        0.12,
    ),
    "import jetraw.aio + AsyncClient(...) (no request)": (
        "import jetraw.aio\nclient = jetraw.aio.AsyncClient(refresh_token=sys.argv[1])",
        None,
        None,
    ),
    "peer: import boto3 + boto3.client('s3')": (
        f"import boto3\nclient = boto3.client('s3', {S3_ARGS})",
        "boto3",
        None,
    ),
    "peer: import obstore + S3Store(...)": (
        "from obstore.store import S3Store\n"
        "store = S3Store('b', endpoint='http://127.0.0.1:9', region='us-east-1',"
        " skip_signature=True)",
        "obstore",
        None,
    ),
    "peer: import s3fs + S3FileSystem(...)": (
        "import s3fs\nfs = s3fs.S3FileSystem(anon=True,"
        " client_kwargs={'endpoint_url': 'http://127.0.0.1:9'})",
        "s3fs",
        None,
    ),
}

# name -> (argv after the `jetraw` executable, target in s of wall time)
COMMANDS: dict[str, tuple[list[str], float]] = {
    "jetraw --help": (["--help"], 0.25),
    "jetraw ls /<space>": (["ls", "/{space}"], 0.4),
}


@dataclass
class Samples:
    """The measurements of one case over the rounds."""

    code_cpu: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    modules: int = 0


def _run(argv: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run ``argv``; return its wall time, its CPU (user + system) and its stdout."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the child is reaped: its rusage is in
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[:3]} failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.stdout.decode()


def measure(rounds: int, env: dict[str, str], api_key: str, space: str) -> dict[str, Samples]:
    """Run every available case ``rounds`` times, interleaved; return the samples per case."""
    jetraw_exe = shutil.which("jetraw", path=str(Path(sys.executable).parent)) or "jetraw"
    runs: list[tuple[str, list[str], bool]] = [
        ("python -c pass", [sys.executable, "-c", "pass"], False)
    ]
    for name, (code, needs, _) in CASES.items():
        if needs is None or importlib.util.find_spec(needs) is not None:
            runs.append((name, [sys.executable, "-c", _TIMED.format(code=code), api_key], True))
    for name, (args, _) in COMMANDS.items():
        runs.append((name, [jetraw_exe, *(a.format(space=space) for a in args)], False))
    samples = {name: Samples() for name, _, _ in runs}
    for _name, argv, _ in runs:  # warm-up, not counted: writes the bytecode caches
        _run(argv, env)
    for _ in range(rounds):
        for name, argv, timed in runs:
            wall, cpu, out = _run(argv, env)
            s = samples[name]
            s.wall.append(wall)
            s.cpu.append(cpu)
            if timed:
                report = json.loads(out.strip().splitlines()[-1])
                s.code_cpu.append(report["cpu"])
                s.modules = report["modules"]
    return samples


def _fmt(values: list[float]) -> str:
    if not values:
        return "–"
    return f"{statistics.median(values):.3f} ({min(values):.3f}–{max(values):.3f})"


def report(samples: dict[str, Samples], rounds: int) -> str:
    """The results as a Markdown table."""
    targets: dict[str, str] = {n: f"code CPU ≤ {t} s" for n, (_, _, t) in CASES.items() if t}
    targets.update({n: f"wall ≤ {t} s" for n, (_, t) in COMMANDS.items()})
    lines = [
        f"Medians of {rounds} interleaved rounds (range in brackets), seconds; Python "
        f"{sys.version.split()[0]}, {os.cpu_count()} cores.",
        "",
        "| case | code CPU | process wall | process CPU | modules | target |",
        "|---|---|---|---|---|---|",
    ]
    for name, s in samples.items():
        target = targets.get(name, "")
        if target:
            value = statistics.median(s.code_cpu if "CPU" in target else s.wall)
            limit = float(target.split("≤ ")[1].split()[0])
            target += " — met" if value <= limit else f" — **not met** ({value / limit:.1f}×)"
        modules = str(s.modules) if s.modules else "–"
        cells = [name, _fmt(s.code_cpu), _fmt(s.wall), _fmt(s.cpu), modules, target]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--out", type=Path, help="also write the table to this file")
    args = parser.parse_args(argv)

    from jetraw.testing import LocalPlatform

    with LocalPlatform() as platform:
        env = {
            **os.environ,
            "JETRAW_SERVER": platform.url,
            "JETRAW_API_KEY": platform.api_key,
            "JETRAW_TOKEN_STORAGE": "memory",
            "AWS_EC2_METADATA_DISABLED": "true",
            "NO_COLOR": "1",
        }
        # A user's installation has its bytecode compiled (pip does it, the first import
        # writes it); without the caches every run would compile every module again.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        samples = measure(args.rounds, env, platform.api_key, platform.space)
    table = report(samples, args.rounds)
    print(table)
    if args.out:
        args.out.write_text(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
