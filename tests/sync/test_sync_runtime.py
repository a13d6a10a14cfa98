"""The sync runtime's promises (DESIGN §7), each against a real loop thread, process or signal.

The facade under test is the generated twin of the toy async API (``toy_sync``), so these tests
exercise the generated code and the runtime together.
"""

from __future__ import annotations

import asyncio
import gc
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import ModuleType

import pytest
from _synctools import ROOT, run_child

from jetraw import EventLoopError
from jetraw_sync import _loop, _runtime

FORK_WARNING = (
    r"ignore:This process \(pid=\d+\) is multi-threaded, use of fork\(\) may lead to deadlocks in "
    r"the child\.:DeprecationWarning"
)
NOISE = ("Unclosed", "Event loop is closed", "Task was destroyed", "Exception ignored", "Traceback")


def refuses(use: Callable[[], object]) -> bool:
    try:
        use()
    except EventLoopError as error:
        return "parent process" in str(error)
    return False


def loop_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "jetraw-sync-loop"]


def test_run_returns_the_result_and_raises_the_same_exception() -> None:
    async def add(a: int, b: int) -> int:
        await asyncio.sleep(0)
        return a + b

    async def fail() -> None:
        raise FileExistsError("exists")

    assert _runtime.run(add, 2, b=3) == 5
    with pytest.raises(FileExistsError, match="exists"):
        _runtime.run(fail)
    assert len(loop_threads()) == 1


def test_a_sync_call_from_the_loop_thread_raises_at_once(toy_sync: ModuleType) -> None:
    client = toy_sync.Client(refresh_token="k")

    async def misuse() -> str:
        return str(client.whoami())  # a sync call inside async code on our loop

    started = time.monotonic()
    with pytest.raises(EventLoopError, match="event-loop thread"):
        _runtime.run(misuse)

    async def misuse_iterator() -> None:
        toy_sync.JetrawPath("/s", client=client).iterdir()

    with pytest.raises(EventLoopError):
        _runtime.run(misuse_iterator)
    assert time.monotonic() - started < 2
    assert client.whoami() == "nobody"  # and the loop is still fine


def test_works_from_a_thread_running_its_own_loop(toy_sync: ModuleType) -> None:
    # Jupyter or an async web handler: a running loop in the calling thread.
    client = toy_sync.Client(refresh_token="k", organisation="lab")
    results: list[object] = []

    async def handler() -> None:
        path = toy_sync.JetrawPath("/space/f", client=client)
        path.write_bytes(b"abc")
        results.append(client.whoami())
        results.append(path.exists())
        results.append([str(p) for p in path.parent.iterdir()])

    def in_thread() -> None:
        try:
            asyncio.run(handler())
        except BaseException as error:  # reported below
            results.append(error)

    worker = threading.Thread(target=in_thread)
    worker.start()
    worker.join(20)
    assert results == ["lab", True, ["/space/f"]]
    asyncio.run(handler())  # the same from the main thread's own loop
    assert results[3:] == ["lab", True, ["/space/f"]]


def test_iterate_fetches_one_item_per_step_and_closes_the_async_generator() -> None:
    produced: list[int] = []
    closed: list[bool] = []

    async def numbers() -> AsyncIterator[int]:
        try:
            for i in range(100):
                produced.append(i)
                yield i
        finally:
            closed.append(True)

    iterator = _runtime.iterate(numbers)
    assert produced == []  # nothing before the first next()
    assert [next(iterator), next(iterator)] == [0, 1]
    assert produced == [0, 1]  # no prefetch
    iterator.close()
    assert closed == [True]

    iterator = _runtime.iterate_as(lambda i: i * 10, numbers)
    assert next(iterator) == 0
    assert next(iterator) == 10
    del iterator
    gc.collect()
    assert closed == [True, True]  # garbage collection closed it too

    assert list(_runtime.iterate(numbers))[-1] == 99
    assert closed == [True, True, True]

    # Dropped on the loop thread itself (it cannot block there): closed in the background.
    holder = [_runtime.iterate(numbers)]
    next(holder[0])

    async def drop() -> None:
        holder.clear()
        gc.collect()

    _runtime.run(drop)
    deadline = time.monotonic() + 5
    while len(closed) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert closed == [True, True, True, True]


def test_async_context_managers_become_sync_ones(toy_sync: ModuleType) -> None:
    client = toy_sync.Client(refresh_token="k")
    path = toy_sync.JetrawPath("/space/data", client=client)
    path.write_bytes(b"0123456789")
    with path.open("rb") as f:
        assert isinstance(f, toy_sync._generated_jetraw_path.Reader)
        assert f.read(4) == b"0123"
        assert f.read() == b"456789"
    assert f._async.closed
    with client as entered:
        assert entered is client
    with pytest.raises(Exception, match="closed"):
        client.whoami()


def test_one_client_is_safe_from_many_threads(toy_sync: ModuleType) -> None:
    client = toy_sync.Client(refresh_token="k")
    errors: list[BaseException] = []
    seen: list[int] = []

    def work(n: int) -> None:
        try:
            for i in range(40):
                path = toy_sync.JetrawPath(f"/s/t{n}/f{i}", client=client)
                assert path.write_bytes(b"x" * i) == i
                assert path.exists()
                assert path.stat().size == i
            seen.append(len(list(toy_sync.JetrawPath(f"/s/t{n}", client=client).iterdir())))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert seen == [40] * 16
    assert len(loop_threads()) == 1
    assert client._async._loop is _loop._loop_thread.loop  # type: ignore[union-attr]


def test_first_use_from_many_threads_creates_one_async_client(toy_sync: ModuleType) -> None:
    client = pickle.loads(pickle.dumps(toy_sync.Client(refresh_token="k")))
    made: list[object] = []
    barrier = threading.Barrier(8)

    def use() -> None:
        barrier.wait()
        made.append(client._async)

    threads = [threading.Thread(target=use) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert len(made) == 8
    assert len({id(m) for m in made}) == 1


CTRL_C_CHILD = """
import sys
from toy_sync import Client
client = Client(refresh_token="k")
print("ready", flush=True)
client.sleep(60, marker=sys.argv[1])
print("not interrupted", flush=True)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child is POSIX")
def test_ctrl_c_cancels_the_work_waits_for_its_cleanup_and_reraises(
    child_env: dict[str, str], tmp_path: Path
) -> None:
    marker = tmp_path / "cleanup-ran"
    proc = subprocess.Popen(
        [sys.executable, "-c", CTRL_C_CHILD, str(marker)],
        env=child_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.3)  # inside client.sleep by now
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
        elapsed = time.monotonic() - sent
    finally:
        proc.kill()
    assert elapsed < 3, f"Ctrl-C took {elapsed:.1f}s"
    assert "not interrupted" not in out
    assert err.rstrip().endswith("KeyboardInterrupt"), err
    assert proc.returncode != 0
    assert marker.read_text() == "cleaned up"  # the task was cancelled and its cleanup ran
    assert "Task was destroyed" not in err
    assert "Event loop is closed" not in err


SLOW_CLEANUP_CHILD = """
import asyncio, sys, threading, time
from jetraw_sync import _loop
_loop.CANCEL_GRACE = 0.5
from toy_sync import Client
client = Client(refresh_token="k")
client.sleep(0)  # the loop thread is up

def announce():  # "ready" only once the long sleep runs: a Ctrl-C before it is another test
    loop = _loop._loop_thread.loop
    while True:
        try:
            if any(not task.done() for task in asyncio.all_tasks(loop)):
                break
        except RuntimeError:  # the task set changed while it was read from this thread
            pass
        time.sleep(0.01)
    print("ready", flush=True)

threading.Thread(target=announce, daemon=True).start()
client.sleep(60, marker=sys.argv[1], cleanup_seconds=30)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child is POSIX")
def test_ctrl_c_waits_for_cleanup_at_most_the_grace_period(
    child_env: dict[str, str], tmp_path: Path
) -> None:
    marker = tmp_path / "never-written"
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_CLEANUP_CHILD, str(marker)],
        env=child_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.3)
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=15)
        elapsed = time.monotonic() - sent
    finally:
        proc.kill()
    assert 0.5 <= elapsed < 3, f"exit {elapsed:.1f}s after Ctrl-C (grace 0.5 s)"
    assert err.rstrip().endswith("KeyboardInterrupt"), err
    assert not marker.exists()  # the 30 s cleanup was cut short at exit
    for word in NOISE[:4]:
        assert word not in err


INTERRUPTED_WAITS_CHILD = """
import signal, time
from jetraw_sync import _loop

armed = False

def interrupt(*_):
    global armed
    if armed:  # one Ctrl-C per wait, and none while a fresh flag is being made
        armed = False
        raise KeyboardInterrupt

signal.signal(signal.SIGALRM, interrupt)
interrupted = other = 0
signal.setitimer(signal.ITIMER_REAL, 0.0003, 0.0003)
end = time.monotonic() + 2
while time.monotonic() < end:
    flag = _loop._DoneFlag()  # never set: each wait ends by timeout or by Ctrl-C
    armed = True
    try:
        while True:
            flag.wait(0.00001)
    except KeyboardInterrupt:
        interrupted += 1
    except BaseException as error:
        other += 1
        last = repr(error)
signal.setitimer(signal.ITIMER_REAL, 0)
print(interrupted, other, last if other else "")
"""


@pytest.mark.skipif(sys.platform == "win32", reason="setitimer is POSIX")
def test_ctrl_c_at_any_instant_of_a_wait_is_a_keyboard_interrupt(child_env: dict[str, str]) -> None:
    # Thousands of Ctrl-Cs at arbitrary points of the waiting thread's poll. With a
    # threading.Event, a few in every thousand land inside Condition.wait's lock bookkeeping and
    # surface as "RuntimeError: release unlocked lock" (seen in CI on Python 3.10).
    done = run_child(INTERRUPTED_WAITS_CHILD, child_env, timeout=30)
    assert done.returncode == 0, done.stderr
    interrupted, other, last = [*done.stdout.split(maxsplit=2), ""][:3]
    assert int(interrupted) > 1000
    assert int(other) == 0, last


def test_a_done_flag_set_on_another_thread_wakes_every_waiter() -> None:
    flag = _loop._DoneFlag()
    assert not flag.wait(0.01)
    threading.Timer(0.05, flag.set).start()
    assert flag.wait(5)
    assert flag.is_set()
    assert flag.wait(0)
    assert flag.wait(0)  # a wait leaves the flag free for the next waiter
    flag.set()  # a second set is harmless
    assert flag.wait(0)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX")
@pytest.mark.filterwarnings(FORK_WARNING)
def test_fork_child_uses_a_fresh_loop_and_the_parent_is_unaffected(toy_sync: ModuleType) -> None:
    client = toy_sync.Client(refresh_token="k", organisation="lab")
    path = toy_sync.JetrawPath("/space/forked", client=client)
    path.write_bytes(b"before fork")
    reader = path.open("rb").__enter__()
    parent_async = client._async
    parent_path_async = path._async
    parent_loop = _loop._loop_thread
    pid = os.fork()
    if pid == 0:  # the child: report through the exit code only
        code = 1
        try:
            ok = (
                client.whoami() == "lab"
                and path.exists()
                and [str(p) for p in path.parent.iterdir()] == ["/space/forked"]
                and client._async is not parent_async  # a new async client, on a new loop
                and path._async is not parent_path_async
                and _loop._loop_thread is not parent_loop
                and not parent_async.closed  # the parent's was dropped, not closed
                and refuses(lambda: reader.read(1))  # an open file is the parent's
            )
            code = 0 if ok else 3
        except BaseException:
            code = 2
        finally:
            os._exit(code)
    deadline = time.monotonic() + 30
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung")
        time.sleep(0.02)
    assert os.waitstatus_to_exitcode(status) == 0
    # The parent goes on with the same async client on the same loop.
    assert client._async is parent_async
    assert _loop._loop_thread is parent_loop
    assert client.whoami() == "lab"
    assert path.exists()
    assert reader.read(6) == b"before"  # the parent's open file still works


CLEAN_EXIT_CHILD = """
import atexit
state = {}
def report():  # registered before jetraw_sync, so it runs after the runtime's exit hook
    print("closed at exit:", state["async"].closed, flush=True)
atexit.register(report)
from toy_sync import Client, JetrawPath, set_default_client
client = Client(refresh_token="k")
state["async"] = client._async
path = JetrawPath("/s/a", client=client)
path.write_bytes(b"x")
(path.parent / "b").write_bytes(b"y")
unfinished = path.parent.iterdir()
next(unfinished)
set_default_client(client)
print("done", flush=True)
"""


def test_clean_exit_prints_nothing_and_closes_open_clients(child_env: dict[str, str]) -> None:
    result = run_child(CLEAN_EXIT_CHILD, child_env)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.splitlines() == ["done", "closed at exit: True"]


def test_exit_without_ever_starting_the_loop_starts_no_thread(child_env: dict[str, str]) -> None:
    code = (
        "import threading, atexit\n"
        "atexit.register(lambda: print(sorted(t.name for t in threading.enumerate())))\n"
        "from toy_sync import Client\n"
        "Client(refresh_token_if_empty=False)\n"
    )
    result = run_child(code, child_env)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.strip() == "['MainThread']"


def test_client_and_path_pickle_their_configuration_only(
    toy_sync: ModuleType, child_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    explicit = toy_sync.Client(refresh_token="explicit-key-123", server="toy://p", organisation="o")
    data = pickle.dumps(explicit)
    assert b"explicit-key-123" in data  # passed by the user: it travels
    clone = pickle.loads(data)
    assert clone._handle.peek() is None  # no async client until used
    assert clone.server == "toy://p"
    assert clone.whoami() == "o"

    monkeypatch.setenv("TOY_API_KEY", "env-key-456")
    from_env = toy_sync.Client(server="toy://p")
    assert b"env-key-456" not in pickle.dumps(from_env)  # implicit secrets never travel

    path = toy_sync.JetrawPath("/space/pickled", client=explicit)
    path.write_bytes(b"data")
    copy = pickle.loads(pickle.dumps(path))
    assert copy == path
    assert str(copy) == "/space/pickled"
    assert copy.exists()
    assert copy.client.server == "toy://p"

    code = (
        "import pickle, sys\n"
        "path = pickle.loads(bytes.fromhex(sys.argv[1]))\n"
        "print(repr(path), path.client.whoami(), path.client.server)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, pickle.dumps(path).hex()],
        env=child_env, capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["JetrawPath('/space/pickled')", "o", "toy://p"]

    reader_holder = path.open("rb")
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(reader_holder)


def test_a_collected_client_is_closed_in_the_background(toy_sync: ModuleType) -> None:
    client = toy_sync.Client(refresh_token="k")
    inner = client._async
    assert client.whoami() == "nobody"
    del client
    gc.collect()
    deadline = time.monotonic() + 5
    while not inner.closed and time.monotonic() < deadline:
        time.sleep(0.01)
    assert inner.closed
    assert id(inner) not in _loop._closeables


def test_the_default_client_is_made_once_under_contention(toy_sync: ModuleType) -> None:
    toy_sync.set_default_client(None)
    got: list[object] = []
    barrier = threading.Barrier(8)

    def get() -> None:
        barrier.wait()
        got.append(toy_sync.get_default_client())

    threads = [threading.Thread(target=get) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert len(got) == 8
    assert len({id(c) for c in got}) == 1
    import toy_aio

    assert toy_aio.get_default_client() is not got[0]._async  # type: ignore[attr-defined]
