"""The config file and the secret stores when the OS misbehaves: unwritable or unreadable files,
a keyring that hangs, and a fork while another thread holds a store lock.

The tests run as root, where chmod does not stop writes: unwritable places are made with a path
through a regular file (mkdir fails with NotADirectoryError), a directory where a file should be,
or a failing ``os.fsync`` (a full disk) at the OS boundary.
"""

from __future__ import annotations

import errno
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backend
import pytest
from click.testing import CliRunner

from jetraw import _exceptions as exc
from jetraw._auth import _store
from jetraw._auth._store import FileStore, KeyringStore, MemoryStore, store_key
from jetraw._auth._tokens import TokenManager
from jetraw._config import Profile, config_path, load_config, save_profile
from jetraw._http import StateServerHTTP
from jetraw.aio import AsyncClient
from jetraw.cli import cli
from jetraw.testing import LocalPlatform

from ._mock import MockServer

SERVER = "http://jet.test"


@pytest.fixture
def config_under_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    directory = blocker / "jetraw"
    monkeypatch.setenv("JETRAW_CONFIG_DIR", str(directory))
    return directory


# -- 1. OS errors on the config file and the secret file ------------------------------------------


def test_unwritable_config_dir_is_a_configuration_error(config_under_a_file: Path) -> None:
    assert load_config() == {}  # nothing can be there: reading finds an empty config
    with pytest.raises(exc.ConfigurationError) as info:
        save_profile(Profile("default", SERVER, "acme", "ada@example.org"))
    message = str(info.value)
    assert str(config_under_a_file / "config.toml") in message
    assert "Not a directory" in message
    assert "JETRAW_CONFIG_DIR" in message
    assert isinstance(info.value.__cause__, NotADirectoryError)


def test_unwritable_secret_dir_is_a_configuration_error(config_under_a_file: Path) -> None:
    store = FileStore(config_under_a_file / "secrets")
    assert store.get("k") is None
    assert not store.delete("k")
    with pytest.raises(exc.ConfigurationError) as info:
        store.set("k", {"refresh_token": "jrt_secret_value"})
    message = str(info.value)
    assert str(config_under_a_file / "secrets") in message
    assert "JETRAW_TOKEN_STORAGE=keyring" in message
    assert "jrt_secret_value" not in message


def test_full_disk_keeps_the_old_config_and_leaves_no_temp_file() -> None:
    save_profile(Profile("default", SERVER, "acme", "ada@example.org"))
    before = config_path().read_bytes()

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "fsync", full)
        with pytest.raises(exc.ConfigurationError, match="No space left on device") as info:
            save_profile(Profile("other", SERVER, "acme", "bob@example.org"))
        assert str(config_path()) in str(info.value)
        with pytest.raises(exc.ConfigurationError, match="No space left on device"):
            FileStore(config_path().parent / "secrets").set("k", {"refresh_token": "jrt_x"})
    assert config_path().read_bytes() == before
    leftovers = [p.name for p in config_path().parent.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []


def test_unreadable_config_and_secret_files_are_configuration_errors() -> None:
    config_path().mkdir(parents=True)  # a directory where the file should be: EISDIR on read
    with pytest.raises(exc.ConfigurationError, match="Cannot read the config file") as info:
        load_config()
    assert str(config_path()) in str(info.value)
    with pytest.raises(exc.ConfigurationError, match="Cannot read the config file"):
        AsyncClient("jrk_good", server=SERVER)
    store = FileStore(config_path().parent / "secrets")
    Path(store.describe("k")).mkdir(parents=True)
    with pytest.raises(exc.ConfigurationError, match="Cannot read the secret file"):
        store.get("k")
    with pytest.raises(exc.ConfigurationError, match="Cannot delete the secret file"):
        store.delete("k")


@pytest.mark.anyio
async def test_unusable_lock_dir_is_a_configuration_error() -> None:
    save_profile(Profile("default", SERVER, "acme", "ada@example.org"))
    MemoryStore().set(store_key(SERVER, "acme", "ada@example.org"), {"refresh_token": "jrt_1"})
    (config_path().parent / "locks").write_text("a file where the lock directory goes")
    with pytest.raises(exc.ConfigurationError, match="Cannot create the lock file"):
        async with AsyncClient(transport=MockServer().transport()):
            pass


def test_cli_login_into_an_unwritable_config_dir_is_one_line(
    config_under_a_file: Path, monkeypatch: pytest.MonkeyPatch, jetraw_platform: LocalPlatform
) -> None:
    platform = jetraw_platform
    monkeypatch.setenv("JETRAW_TOKEN_STORAGE", "file")
    result = CliRunner().invoke(
        cli, ["login", "--api-key", "--server", platform.url], input=platform.api_key + "\n"
    )
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert "Traceback" not in result.output
    assert str(config_under_a_file / "secrets") in result.output
    assert platform.api_key not in result.output


# -- 2. A keyring that hangs after the probe ------------------------------------------------------


class HangingKeyring(keyring.backend.KeyringBackend):
    """A keyring backend whose every call blocks until released (a locked Secret Service)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.calls: list[str] = []

    def _hang(self, what: str) -> None:
        self.calls.append(what)
        self.release.wait(20)

    def get_password(self, service: str, username: str) -> str | None:
        self._hang("get")
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        self._hang("set")

    def delete_password(self, service: str, username: str) -> None:
        self._hang("delete")


@pytest.fixture
def hanging_keyring() -> Iterator[HangingKeyring]:
    previous = keyring.get_keyring()
    backend = HangingKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        backend.release.set()
        keyring.set_keyring(previous)


def test_every_keyring_call_times_out(hanging_keyring: HangingKeyring) -> None:
    store = KeyringStore(timeout=0.3)
    calls = (
        lambda: store.get("k"),
        lambda: store.set("k", {"refresh_token": "jrt_secret_value"}),
        lambda: store.delete("k"),
    )
    for call in calls:
        started = time.monotonic()
        with pytest.raises(exc.ConfigurationError, match=r"did not answer within 0\.3s") as info:
            call()
        assert time.monotonic() - started < 2
        assert "JETRAW_TOKEN_STORAGE=file" in str(info.value)
        assert "jrt_secret_value" not in str(info.value)
    assert hanging_keyring.calls == ["get", "set", "delete"]


@pytest.mark.anyio
async def test_refresh_with_a_hanging_keyring_fails_instead_of_stalling(
    hanging_keyring: HangingKeyring,
) -> None:
    mock = MockServer()
    http = StateServerHTTP(SERVER, transport=mock.transport())
    tm = TokenManager(
        http,
        "jrt_1",
        rotating=True,
        store=KeyringStore(timeout=0.3),
        store_key=store_key(SERVER, "acme", "ada@example.org"),
        lock_path=Path(os.environ["JETRAW_CONFIG_DIR"]) / "hang.lock",
    )
    started = time.monotonic()
    try:
        with pytest.raises(exc.ConfigurationError, match="JETRAW_TOKEN_STORAGE=file"):
            await tm.access_token()
    finally:
        await http.aclose()
    assert time.monotonic() - started < 3
    assert mock.token_grants() == 0  # nothing rotated that could not be stored


# -- 3. Fork while another thread holds a store lock ----------------------------------------------


def _wait_child(pid: int, timeout: float) -> int | None:
    """The child's exit status, or ``None`` (child killed) if it has not exited in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    return None


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX only")
@pytest.mark.filterwarnings(
    # Python 3.12+ warns about any fork with threads; forking with one is this test's subject.
    r"ignore:This process \(pid=\d+\) is multi-threaded, use of fork\(\) may lead to "
    r"deadlocks in the child\.:DeprecationWarning"
)
def test_forked_child_can_use_the_stores_while_a_parent_thread_held_their_locks() -> None:
    MemoryStore().set("before", {"refresh_token": "jrt_parent"})
    held = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with _store._MEMORY_LOCK, _store._probe_lock:
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    assert held.wait(5)
    try:
        pid = os.fork()
        if pid == 0:  # the child: report through the exit status only, never return to pytest
            code = 1
            try:
                store = MemoryStore()
                store.set("child", {"refresh_token": "jrt_child"})
                ok = store.get("child") == {"refresh_token": "jrt_child"}
                ok = ok and store.get("before") == {"refresh_token": "jrt_parent"}
                ok = ok and _store._probe_lock.acquire(timeout=5)
                code = 0 if ok else 3
            finally:
                os._exit(code)
        status = _wait_child(pid, timeout=15)
    finally:
        release.set()
        holder.join(5)
    assert status == 0, "the child deadlocked on an inherited lock" if status is None else status
    assert MemoryStore().get("child") is None  # the child's memory is its own
