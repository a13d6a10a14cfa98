"""What a process imports before its first transfer, and the start-up benchmark itself.

Not timed (a benchmark is never a timed test): these check *which* libraries are loaded, the
cause of the start-up cost that ``benchmarks/startup.py`` measures. A client that only talks to
the state server must not pay for the S3 stack (botocore, aiobotocore, aiohttp), rich, click or
httpx's own command-line client.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.startup import CASES, COMMANDS, measure, report
from jetraw.testing import LocalPlatform

ROOT = Path(__file__).resolve().parents[2]
HEAVY = (
    "botocore",
    "aiobotocore",
    "aiohttp",
    "rich",
    "click",
    "pygments",
    "httpx._main",
    "fsspec",
    "dask",
    # Imported on first use since the start-up work of issue 9 target 5:
    "filelock",  # a stored login's cross-process lock (an API key needs none)
    "jetraw._auth._browser",  # the interactive login's web page
    "jetraw._auth._device",
    "tomllib",  # only when a config file exists (none here)
)
# The transfer engine: a client that lists (or only logs in) needs none of it.
ENGINE = (
    "jetraw._transfer._session",
    "jetraw._transfer._upload",
    "jetraw._transfer._download",
    "jetraw._transfer._stream",
    "jetraw._transfer._context",
    "jetraw._transfer._plan",
    "jetraw._storage._local",
    "uuid",  # the local backend's and the journals' (not the state server's)
)

CHILD = """
import atexit, json, sys
heavy = {heavy!r}
atexit.register(lambda: print(json.dumps([m for m in heavy if m in sys.modules]), file=sys.stderr))
{code}
"""


@pytest.fixture(scope="module")
def platform() -> Iterator[LocalPlatform]:
    with LocalPlatform() as p:
        yield p


@pytest.fixture(scope="module")
def env(platform: LocalPlatform, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return {
        **os.environ,
        "JETRAW_CONFIG_DIR": str(tmp_path_factory.mktemp("config")),  # no config file
        "JETRAW_SERVER": platform.url,
        "JETRAW_API_KEY": platform.api_key,
        "JETRAW_TOKEN_STORAGE": "memory",
        "AWS_EC2_METADATA_DISABLED": "true",
        "NO_COLOR": "1",
    }


def loaded(code: str, env: dict[str, str], heavy: tuple[str, ...] = HEAVY) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD.format(heavy=heavy, code=code)],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    found: list[str] = json.loads(proc.stderr.strip().splitlines()[-1])
    return found


def test_a_sync_client_loads_no_s3_stack_and_no_cli(env: dict[str, str]) -> None:
    code = "import jetraw\nc = jetraw.Client()\nprint(c.whoami())\nc.close()"
    assert loaded(code, env) == []


def test_a_sync_client_that_lists_loads_no_transfer_engine_and_no_ca_bundle(
    env: dict[str, str], platform: LocalPlatform
) -> None:
    code = (
        "import jetraw\nc = jetraw.Client()\n"
        f"print(list(c.list_files('/{platform.space}')))\n"
        "pool = c._handle.get()._login.http()._client._transport._pool\n"
        "assert not pool._ssl_context.ca_loaded  # an http:// server: certifi never read\n"
        "c.close()"
    )
    assert loaded(code, env, HEAVY + ENGINE) == []


def test_the_first_transfer_loads_the_engine(env: dict[str, str], platform: LocalPlatform) -> None:
    code = (
        "import jetraw\nc = jetraw.Client()\n"
        f"c.upload({str(Path(__file__))!r}, '/{platform.space}/startup/e.py', overwrite=True)\n"
        "c.close()"
    )
    assert loaded(code, env, ENGINE) == list(ENGINE)


def test_listing_a_local_space_loads_no_s3_stack(
    env: dict[str, str], platform: LocalPlatform
) -> None:
    code = (
        "import jetraw.aio, asyncio\n"
        "async def go():\n"
        "    async with jetraw.aio.AsyncClient() as c:\n"
        f"        await c.upload({str(Path(__file__))!r}, '/{platform.space}/startup/x.py')\n"
        f"        print([f async for f in c.list_files('/{platform.space}/startup')])\n"
        "asyncio.run(go())"
    )
    assert loaded(code, env) == []


def test_the_cli_listing_loads_no_s3_stack_and_no_rich(
    env: dict[str, str], platform: LocalPlatform
) -> None:
    code = (
        "import sys\nfrom jetraw.cli import main\n"
        f"sys.argv = ['jetraw', 'ls', '/{platform.space}']\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code"
    )
    assert loaded(code, env) == ["click"]  # the CLI is click; nothing else heavy


def test_httpx_main_still_works_when_asked_for(env: dict[str, str]) -> None:
    code = "import jetraw.aio, httpx\nimport httpx._main\nassert httpx._main.main.name == 'main'"
    assert "httpx._main" in loaded(code, env)


def test_the_start_up_benchmark_measures_every_case(
    env: dict[str, str], platform: LocalPlatform
) -> None:
    samples = measure(1, env, platform.api_key, platform.space)
    assert set(COMMANDS) <= set(samples)
    assert "import jetraw + Client(refresh_token=...)" in samples
    for name in CASES:
        if name in samples:
            assert len(samples[name].code_cpu) == 1
            assert samples[name].modules > 0
    table = report(samples, 1)
    assert table.count("\n|") == len(samples) + 2  # header, separator, a row per case
