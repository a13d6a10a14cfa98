"""Every snippet of the user guide (seed_authentication.rst, a copy of the seed) runs as written,
with the sync facade, end to end against the reference platform over real sockets.

Each snippet runs in a fresh interpreter, exactly as extracted from the document, followed by a
few lines that check what it did. The snippets name no server (there is no public one):
``JETRAW_SERVER`` supplies it, as a user of a self-hosted platform would set it once. The browser
snippet calls ``c.authorize()`` with no arguments, so the "browser" is the standard ``BROWSER``
variable pointing at a script that fills in the platform's real login form over HTTP.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _synctools import AWS_ENV, HERE, ROOT

from jetraw import InvalidCredentialsError
from jetraw.testing import LocalPlatform

SEED = HERE / "seed_authentication.rst"
NOISE = ("Unclosed", "Event loop is closed", "Task was destroyed", "Exception ignored", "Traceback")
DEST_SPACE = "destination-space"


def snippets() -> list[str]:
    """The ``.. code-block:: python`` blocks of the document, dedented, in order."""
    blocks: list[str] = []
    lines = SEED.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() == ".. code-block:: python":
            i += 1
            block: list[str] = []
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith("    ")):
                block.append(lines[i][4:])
                i += 1
            blocks.append("\n".join(block).strip() + "\n")
        else:
            i += 1
    return blocks


def snippet(containing: str) -> str:
    found = [s for s in snippets() if containing in s]
    assert len(found) == 1, f"expected one snippet with {containing!r}"
    return found[0]


@pytest.fixture
def platform(jetraw_platform: LocalPlatform) -> LocalPlatform:
    # The session's platform may have it from an earlier test (then: 409, ignored); the snippets
    # below fail clearly if it is missing.
    with contextlib.suppress(RuntimeError):
        jetraw_platform.create_space(DEST_SPACE)
    return jetraw_platform


@pytest.fixture
def env(platform: LocalPlatform, tmp_path: Path) -> dict[str, str]:
    """A user's environment: the server, a config dir, a file secret store (shared by processes)."""
    return {
        **os.environ,
        "JETRAW_SERVER": platform.url,
        "JETRAW_CONFIG_DIR": str(tmp_path / "config"),
        "JETRAW_TOKEN_STORAGE": "file",
        "PYTHONUNBUFFERED": "1",
    }


def run_snippet(code: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True, text=True, timeout=90
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for word in NOISE:
        assert word not in result.stderr, result.stderr
    return result


def test_the_document_has_the_five_snippets_we_run() -> None:
    found = snippets()
    assert len(found) == 5
    assert (
        found[0] == 'from jetraw import Client\nclient = Client(refresh_token="<your_api_key>")\n'
    )
    assert (
        found[1]
        == "from jetraw import Client\nc = Client(refresh_token_if_empty=False)\nc.authorize()\n"
    )
    assert found[2] == "from jetraw import Client\nclient = Client()\n"
    assert found[3].endswith("set_default_client(client)\n")
    assert found[4].startswith("from jetraw import Client, upload, JetrawPath\n")


def test_snippet_api_key(platform: LocalPlatform, env: dict[str, str], tmp_path: Path) -> None:
    code = snippet('refresh_token="<your_api_key>"').replace("<your_api_key>", platform.api_key)
    code += "print(client.whoami().email, client.auth_source)\n"
    result = run_snippet(code, env, tmp_path)
    assert result.stdout.split() == [platform.admin_email, "argument"]
    assert result.stderr == ""  # the client was never closed: the exit is still silent
    assert not (tmp_path / "config").exists()  # an API-key client writes nothing


def test_a_wrong_api_key_fails_at_construction(
    platform: LocalPlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jetraw import Client

    monkeypatch.setenv("JETRAW_SERVER", platform.url)
    started = time.monotonic()
    with pytest.raises(InvalidCredentialsError) as caught:
        Client(refresh_token="jrk_wrong_key_0123456789")
    assert "jrk_wrong_key_0123456789" not in str(caught.value)
    assert time.monotonic() - started < 10
    unchecked = Client(refresh_token="jrk_wrong_key_0123456789", refresh_token_if_empty=False)
    assert "jrk_wrong" not in repr(unchecked)
    unchecked.close()


BROWSER = """#!{python}
import os, sys
sys.path.insert(0, {people!r})
from _people import form_opener
form_opener(os.environ["SEED_EMAIL"], os.environ["SEED_PASSWORD"])(sys.argv[1])
"""


def test_snippet_browser_login_then_the_config_file_snippets(
    platform: LocalPlatform, env: dict[str, str], tmp_path: Path
) -> None:
    user = platform.create_user(f"seed-sync-{time.time_ns()}@example.org")
    platform.add_member(user)
    browser = tmp_path / "browser"
    browser.write_text(BROWSER.format(python=sys.executable, people=str(ROOT / "tests" / "client")))
    browser.chmod(0o755)
    login_env = {**env, "BROWSER": str(browser), "SEED_EMAIL": user.email}
    login_env["SEED_PASSWORD"] = user.password

    code = snippet("c.authorize()") + "print('whoami', c.whoami().email)\n"
    result = run_snippet(code, login_env, tmp_path)
    assert f"whoami {user.email}" in result.stdout
    assert platform.url in result.stderr  # the login URL is shown to the person
    assert user.password not in result.stdout + result.stderr
    assert (tmp_path / "config" / "config.toml").exists()

    # "If you previously logged in using Client.authorize() ... without any arguments."
    code = (
        snippet("from jetraw import Client\nclient = Client()")
        + "print(client.whoami().email, client.auth_source)\n"
    )
    result = run_snippet(code, env, tmp_path)
    assert result.stdout.split() == [user.email, "profile:default"]
    assert result.stderr == ""

    code = snippet("set_default_client(client)") + (
        "import jetraw\n"
        "assert jetraw.get_default_client() is client\n"
        "print(jetraw.get_default_client().whoami().email)\n"
    )
    assert run_snippet(code, env, tmp_path).stdout.split() == [user.email]

    (tmp_path / "local-file").write_bytes(b"seed snippet bytes")
    code = snippet('upload("local-file"') + (
        "print(file.read_bytes().decode(), file.client is client, file.stat().size)\n"
    )
    result = run_snippet(code, env, tmp_path)
    assert result.stdout.split() == ["seed", "snippet", "bytes", "True", "18"]
    assert result.stderr == ""


def test_client_from_a_profile_written_by_an_api_key_login(
    platform: LocalPlatform, env: dict[str, str], tmp_path: Path
) -> None:
    # `jetraw login --api-key` (the console script beside this interpreter) reads the key on stdin.
    login = subprocess.run(
        [str(Path(sys.executable).with_name("jetraw")), "login", "--api-key"],
        input=platform.api_key + "\n", env=env, cwd=tmp_path, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert login.returncode == 0, login.stderr
    code = snippet("from jetraw import Client\nclient = Client()") + (
        "print(client.whoami().email, client.auth_source)\n"
        "import os, pickle\n"
        "data = pickle.dumps(client)\n"
        "assert os.environ['SEED_KEY'].encode() not in data  # the stored login does not travel\n"
        "clone = pickle.loads(data)\n"
        "print(clone.whoami().email, clone.auth_source)  # it uses this process's own login\n"
    )
    result = run_snippet(code, {**env, "SEED_KEY": platform.api_key}, tmp_path)
    assert result.stdout.split() == [platform.admin_email, "profile:default"] * 2


def test_real_client_and_path_pickle_without_implicit_secrets(
    platform: LocalPlatform, env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jetraw import Client, JetrawPath

    explicit = Client(refresh_token=platform.api_key, server=platform.url)
    assert platform.api_key.encode() in pickle.dumps(explicit)
    explicit.close()

    monkeypatch.setenv("JETRAW_SERVER", platform.url)
    monkeypatch.setenv("JETRAW_API_KEY", platform.api_key)
    client = Client()
    path = JetrawPath(f"/{platform.space}/pickled-{time.time_ns()}.bin", client=client)
    path.write_bytes(b"pickled bytes")
    data = pickle.dumps(path)
    assert platform.api_key.encode() not in data  # from the environment: it does not travel
    assert re.search(rb"127\.0\.0\.1", data)  # the server does

    code = (
        "import pickle, sys\n"
        "path = pickle.loads(bytes.fromhex(sys.argv[1]))\n"
        "print(path.read_bytes().decode(), path.client.organisation)\n"
    )
    child_env = {k: v for k, v in env.items() if k != "JETRAW_SERVER"}  # from the pickle
    child_env["JETRAW_API_KEY"] = platform.api_key  # the worker's own credentials
    result = subprocess.run(
        [sys.executable, "-c", code, data.hex()],
        env=child_env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["pickled", "bytes", platform.organisation]
    assert result.stderr == ""
    client.close()


FORK_WARNING = (
    r"ignore:This process \(pid=\d+\) is multi-threaded, use of fork\(\) may lead to deadlocks in "
    r"the child\.:DeprecationWarning"
)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX")
@pytest.mark.filterwarnings(FORK_WARNING)
def test_real_client_after_fork(platform: LocalPlatform) -> None:
    from jetraw import Client, JetrawPath

    client = Client(refresh_token=platform.api_key, server=platform.url)
    path = JetrawPath(f"/{platform.space}/forked-{time.time_ns()}.bin", client=client)
    path.write_bytes(b"written before fork")
    assert path.read_bytes() == b"written before fork"  # the parent's pool has a live connection
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            ok = path.read_bytes() == b"written before fork" and client.whoami().email
            (path.parent / (path.name + ".child")).write_bytes(b"from the child")
            code = 0 if ok else 3
        except BaseException:
            code = 2
        finally:
            os._exit(code)
    deadline = time.monotonic() + 60
    while not (done := os.waitpid(pid, os.WNOHANG))[0]:
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung")
        time.sleep(0.02)
    assert os.waitstatus_to_exitcode(done[1]) == 0
    # The parent's connections and loop were left alone by the child.
    assert path.read_bytes() == b"written before fork"
    assert (path.parent / (path.name + ".child")).read_bytes() == b"from the child"
    client.close()


S3_CHILD = """
import sys
from jetraw import Client, JetrawPath, upload
client = Client(refresh_token=sys.argv[1])
space = sys.argv[2]
upload(sys.argv[3], f"/{space}/", client=client)
path = JetrawPath(f"/{space}/big.bin", client=client)
with path.open("rb") as f:
    head = f.read(5)
listing = path.parent.iterdir()
first = next(listing)  # left unfinished on purpose
with (path.parent / "w.bin").open("wb") as w:
    w.write(b"written")
print(head.decode(), path.stat().size, first.name, (path.parent / "w.bin").read_bytes().decode())
"""


def test_clean_exit_after_s3_transfers(
    platform: LocalPlatform, env: dict[str, str], tmp_path: Path, moto_url: str
) -> None:
    # aiobotocore's aiohttp sessions complain loudly when collected unclosed: the exit hook
    # must close them on the live loop, without starting threads.
    import boto3

    bucket = f"sync-exit-{time.time_ns()}"
    boto3.client("s3", endpoint_url=moto_url, **_boto_credentials(AWS_ENV)).create_bucket(
        Bucket=bucket
    )
    space = f"s3exit{time.time_ns()}"
    platform.create_space(
        space,
        storage={
            "type": "s3", "bucket": bucket, "prefix": "p", "region": "us-east-1",
            "endpoint_url": moto_url, "addressing_style": "path",
        },
    )  # fmt: skip
    local = tmp_path / "big.bin"
    local.write_bytes(b"hello" + bytes(3 * 1024 * 1024))
    child_env = {**env, **AWS_ENV}
    result = subprocess.run(
        [sys.executable, "-c", S3_CHILD, platform.api_key, space, str(local)],
        env=child_env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["hello", str(5 + 3 * 1024 * 1024), "big.bin", "written"]
    assert result.stderr == ""


def _boto_credentials(env: dict[str, str]) -> dict[str, str]:
    return {
        "region_name": env["AWS_DEFAULT_REGION"],
        "aws_access_key_id": env["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"],
    }


CTRL_C_UPLOAD_CHILD = """
import sys
from jetraw import Client, TransferConfig, upload

started = False
def progress(event):
    global started
    if event.kind == "bytes" and event.bytes_done and not started:
        started = True
        print("sending", flush=True)

client = Client(refresh_token=sys.argv[1])
config = TransferConfig(multipart_threshold=5 * 2**20, part_size=5 * 2**20, max_concurrency=2)
upload(sys.argv[3], f"/{sys.argv[2]}/", client=client, config=config, progress=progress)
print("finished", flush=True)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child is POSIX")
def test_ctrl_c_during_a_real_upload_aborts_it(
    platform: LocalPlatform, env: dict[str, str], tmp_path: Path, moto_url: str
) -> None:
    import signal

    import boto3

    from jetraw import Client

    s3 = boto3.client("s3", endpoint_url=moto_url, **_boto_credentials(AWS_ENV))
    bucket = f"sync-ctrl-c-{time.time_ns()}"
    s3.create_bucket(Bucket=bucket)
    space = f"ctrlc{time.time_ns()}"
    platform.create_space(
        space,
        storage={
            "type": "s3", "bucket": bucket, "prefix": "p", "region": "us-east-1",
            "endpoint_url": moto_url, "addressing_style": "path",
        },
    )  # fmt: skip
    local = tmp_path / "large.bin"
    local.write_bytes(os.urandom(1024) * (200 * 1024))  # 200 MiB: far from done when interrupted
    proc = subprocess.Popen(
        [sys.executable, "-c", CTRL_C_UPLOAD_CHILD, platform.api_key, space, str(local)],
        env={**env, **AWS_ENV}, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "sending"
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        elapsed = time.monotonic() - sent
    finally:
        proc.kill()
    assert "finished" not in out
    assert err.rstrip().endswith("KeyboardInterrupt"), err
    assert elapsed < 7, f"exit took {elapsed:.1f}s after Ctrl-C"
    # The cancellation reached the engine and its cleanup ran before the process exited: no
    # multipart upload left in the bucket, no pending upload on the server.
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    with Client(refresh_token=platform.api_key, server=platform.url) as client:
        assert client.list_pending_uploads(space) == []


FORK_S3_CHILD = """
import os, sys, warnings
warnings.filterwarnings(
    "ignore", r"This process \\(pid=\\d+\\) is multi-threaded, use of fork\\(\\) may lead to "
    r"deadlocks in the child\\.", DeprecationWarning,
)
from jetraw import Client, JetrawPath
client = Client(refresh_token=sys.argv[1])
path = JetrawPath(f"/{sys.argv[2]}/a.bin", client=client)
path.write_bytes(b"parent")  # the parent now holds open S3 (aiohttp) and HTTP connections
pid = os.fork()
if pid == 0:
    (path.parent / "child.bin").write_bytes(b"child")
    print("child", path.read_bytes().decode(), flush=True)
    sys.exit(0)  # a normal exit: atexit runs in the child too
_, status = os.waitpid(pid, 0)
print("parent", path.read_bytes().decode(), (path.parent / "child.bin").read_bytes().decode(),
      os.waitstatus_to_exitcode(status), flush=True)
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX")
def test_fork_with_s3_connections_open_is_silent_in_both_processes(
    platform: LocalPlatform, env: dict[str, str], tmp_path: Path, moto_url: str
) -> None:
    import boto3

    bucket = f"sync-fork-{time.time_ns()}"
    boto3.client("s3", endpoint_url=moto_url, **_boto_credentials(AWS_ENV)).create_bucket(
        Bucket=bucket
    )
    space = f"fork{time.time_ns()}"
    platform.create_space(
        space,
        storage={
            "type": "s3", "bucket": bucket, "prefix": "p", "region": "us-east-1",
            "endpoint_url": moto_url, "addressing_style": "path",
        },
    )  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-c", FORK_S3_CHILD, platform.api_key, space],
        env={**env, **AWS_ENV}, cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["child parent", "parent parent child 0"]
    assert result.stderr == ""  # no "Unclosed client session" for the parent's inherited session
