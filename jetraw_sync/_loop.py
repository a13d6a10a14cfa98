"""The event-loop thread behind the sync facade: running coroutines on it, and its lifetime.

One asyncio loop runs in a daemon thread per process, started on first use (:func:`run`,
:func:`call`); the clients the facade makes are closed at exit, and a forked child starts a fresh
loop. :mod:`jetraw_sync._runtime` states the guarantees and is what the generated code uses.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import os
import threading
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Generic, Protocol, TypeVar, cast

from jetraw._exceptions import EventLoopError

__all__ = [
    "CANCEL_GRACE",
    "EXIT_TIMEOUT",
    "POLL_INTERVAL",
    "abandon",
    "call",
    "close_later",
    "epoch",
    "in_loop_thread",
    "process_lock",
    "refuse_loop_thread",
    "register_closeable",
    "run",
    "schedule_aclose",
    "shutting_down",
    "trim",
    "unregister_closeable",
]

T = TypeVar("T")
U = TypeVar("U")
A = TypeVar("A")
E = TypeVar("E", bound=BaseException)

#: How long a waiting thread sleeps between checks, so a signal is handled promptly everywhere.
POLL_INTERVAL = 0.1
#: How long Ctrl-C waits for the cancelled task's cleanup (aborts) before re-raising. Set it
#: here (``jetraw_sync._loop.CANCEL_GRACE``): it is read at each use.
CANCEL_GRACE = 5.0
#: The runtime's own source files: their frames are cut from the tracebacks the facade raises.
_RUNTIME_FILES = frozenset(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), name)
    for name in ("_loop.py", "_iterate.py", "_runtime.py")
)
#: How long interpreter exit waits for open clients to close, and for the loop thread to stop.
EXIT_TIMEOUT = 5.0


class _Closeable(Protocol):
    async def aclose(self) -> None: ...


class _LoopThread:
    """An event loop running forever in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._main, name="jetraw-sync-loop", daemon=True)
        started = threading.Event()
        self.loop.call_soon(started.set)
        self.thread.start()
        started.wait()
        self.ident = self.thread.ident

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
        finally:
            try:
                self._cancel_leftovers()
                self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            finally:
                self.loop.close()

    def _cancel_leftovers(self) -> None:
        tasks = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            self.loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))

    def alive(self) -> bool:
        return self.thread.is_alive() and self.loop.is_running()


# Process-wide state. `_lock` guards creating the loop thread only; it is never held while waiting
# for a coroutine, and `_before_fork` takes it so that no thread holds it in a forked child.
_lock = threading.Lock()
_loop_thread: _LoopThread | None = None
_epoch = 0
_shut_down = False
# Async clients made by this process's facade, closed at exit (and when their sync owner is
# garbage-collected). Strong references: an unclosed client must not be collected silently.
_closeables: dict[int, _Closeable] = {}
# Objects inherited across fork: bound to the parent's loop and sockets, so the child must neither
# use nor close them, and not let the garbage collector finalise them either.
_inherited: list[object] = []
# Tasks scheduled by `close_later`, referenced until done (the loop keeps only weak references).
_background: set[asyncio.Task[None]] = set()


def epoch() -> int:
    """A number that changes in a forked child: objects of an older epoch belong to the parent."""
    return _epoch


def shutting_down() -> bool:
    """Whether interpreter exit has begun closing the facade's clients."""
    return _shut_down


def process_lock() -> threading.Lock:
    """The process-wide lock that a fork never leaves held in the child (for short sections)."""
    return _lock


def in_loop_thread() -> bool:
    """Whether the current thread is the facade's loop thread."""
    current = _loop_thread
    return current is not None and current.ident == threading.get_ident()


def _get_loop_thread() -> _LoopThread:
    global _loop_thread
    current = _loop_thread
    if current is not None and current.alive():
        return current
    with _lock:
        if _shut_down:
            raise RuntimeError(
                "jetraw's sync runtime has shut down (the interpreter is exiting); "
                "use jetraw.aio from your own event loop instead"
            )
        if _loop_thread is None or not _loop_thread.alive():
            _loop_thread = _LoopThread()
        return _loop_thread


def refuse_loop_thread(what: str) -> None:
    if in_loop_thread():
        raise EventLoopError(
            f"{what} was called from jetraw's own event-loop thread, where it would deadlock; "
            "inside async code use jetraw.aio (await the async API) instead of jetraw's sync API"
        )


class _DoneFlag:
    """A one-shot flag set by the loop thread and waited on by the calling thread.

    Not a :class:`threading.Event`: on Python 3.10 a Ctrl-C landing inside ``Condition.wait``'s
    Python-level lock bookkeeping makes ``Event.wait`` raise ``RuntimeError: release unlocked lock``
    instead of :class:`KeyboardInterrupt`. Here a wait is one C-level ``Lock.acquire(timeout=...)``,
    which a signal either interrupts before the lock is taken or not at all.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()  # held until set(); set() may run on another thread
        self._set = False

    def set(self) -> None:
        if not self._set:
            self._set = True
            self._lock.release()

    def is_set(self) -> bool:
        return self._set

    def wait(self, timeout: float) -> bool:
        if self._set:
            return True
        if self._lock.acquire(timeout=timeout):
            self._lock.release()  # leave it free for any other waiter
            return True
        return False


class _Call(Generic[T]):
    """One coroutine running on the loop on behalf of a waiting thread."""

    def __init__(self, fn: Callable[[], Awaitable[T]]) -> None:
        self._fn = fn
        self.done = _DoneFlag()
        self._result: Any = None
        self._error: BaseException | None = None
        self._task: asyncio.Task[None] | None = None
        self._cancelled = False

    def start(self) -> None:  # on the loop thread
        if self._cancelled:
            self._error = concurrent.futures.CancelledError("the operation was cancelled")
            self.done.set()
            return
        self._task = asyncio.ensure_future(self._main())

    async def _main(self) -> None:
        try:
            self._result = await self._fn()
        except asyncio.CancelledError:
            self._error = concurrent.futures.CancelledError("the operation was cancelled")
        except BaseException as exc:
            # Everything goes to the caller: KeyboardInterrupt or SystemExit escaping a task would
            # stop the loop thread and strand every waiting caller.
            self._error = exc
        finally:
            self.done.set()

    def cancel(self) -> None:  # on the loop thread
        self._cancelled = True
        if self._task is not None:
            self._task.cancel()

    def result(self) -> T:
        error, self._error = self._error, None
        if error is not None:
            try:
                raise error
            finally:
                del error  # no reference cycle through the traceback
        return cast(T, self._result)

    def take_error(self) -> BaseException | None:
        """The operation's exception (once), its traceback cut to the frames of jetraw's core."""
        error, self._error = self._error, None
        if error is not None:
            error.__traceback__ = _core_frames(error.__traceback__)
        return error


#: The whole facade's directory: ``trim`` cuts every leading frame from it (generated or runtime).
_FACADE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def trim(error: E) -> E:
    """``error`` with the facade's leading frames cut from its traceback, to be raised again.

    The generated code calls ``raise _runtime.trim(error)`` in the method the user called: the
    re-raise adds that one frame back, so a traceback reads the user's line, the facade's line,
    then jetraw's core. The cause, context and type (with its public ``__module__``) are untouched.
    """
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith(_FACADE_DIR):
        tb = tb.tb_next
    return error.with_traceback(tb)


def _core_frames(tb: TracebackType | None) -> TracebackType | None:
    """``tb`` without its leading frames of the sync runtime (the loop thread's task plumbing)."""
    while tb is not None and tb.tb_frame.f_code.co_filename in _RUNTIME_FILES:
        tb = tb.tb_next
    return tb


def _wait(done: _DoneFlag, timeout: float | None, runner: _LoopThread) -> bool:
    # Poll: a bounded wait returns to the interpreter regularly, so signals are handled promptly on
    # every platform (an unbounded `Future.result()` can hold Ctrl-C off indefinitely).
    deadline = None if timeout is None else time.monotonic() + timeout
    step = POLL_INTERVAL if timeout is None else min(POLL_INTERVAL, timeout)
    while not done.wait(step):
        if not runner.thread.is_alive():
            raise RuntimeError("jetraw's sync event-loop thread has stopped")
        if deadline is not None:
            step = min(POLL_INTERVAL, deadline - time.monotonic())
            if step <= 0:
                return False
    return True


def _run_on_loop(fn: Callable[[], Awaitable[T]], what: str) -> T:
    job = _start_and_wait(fn, what)
    return job.result()


def _start_and_wait(fn: Callable[[], Awaitable[T]], what: str) -> _Call[T]:
    """Run ``fn()`` on the loop and wait for it; the finished job holds its result or error."""
    refuse_loop_thread(what)
    runner = _get_loop_thread()
    job = _Call(fn)
    try:  # a Ctrl-C right after scheduling still cancels the job: start() sees it cancelled
        runner.loop.call_soon_threadsafe(job.start)
        _wait(job.done, None, runner)
    except BaseException:
        # Ctrl-C (or another exception raised by a signal handler) while waiting: cancel the task
        # and give its cleanup a bounded time to run before the exception propagates.
        try:
            runner.loop.call_soon_threadsafe(job.cancel)
        except RuntimeError:  # the loop is closed (shutdown): nothing will run the job's cleanup
            pass
        else:
            with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl-C stops the waiting
                _wait(job.done, CANCEL_GRACE, runner)
        raise
    return job


def run(fn: Callable[..., Awaitable[T]], /, *args: Any, **kwargs: Any) -> T:
    """Run ``await fn(*args, **kwargs)`` on the loop thread and return its result.

    ``fn`` itself is called on the loop thread, so objects it creates belong to that loop.

    Raises:
        EventLoopError: When called from the loop thread itself.
        KeyboardInterrupt: After cancelling the operation and waiting up to ``CANCEL_GRACE``
            seconds for its cleanup.
    """

    __tracebackhide__ = True  # IPython and pytest leave this frame out of tracebacks

    async def invoke() -> T:
        return await fn(*args, **kwargs)

    job = _start_and_wait(invoke, getattr(fn, "__qualname__", "a jetraw sync function"))
    error = job.take_error()
    if error is None:
        return cast(T, job._result)
    # Raised here, with the traceback cut: the user's line, the facade's line, this one, then the
    # core's frames; not the six frames of plumbing between the waiting thread and the task.
    try:
        raise error
    finally:
        del error, job  # no reference cycle through the traceback


def call(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run the plain function ``fn(*args, **kwargs)`` on the loop thread and return its result.

    Used to create loop-bound objects on the loop, and to serialise lazy initialisation without a
    lock (the loop runs one callback at a time). On the loop thread it simply calls ``fn``.
    """
    if in_loop_thread():
        return fn(*args, **kwargs)

    async def invoke() -> T:
        return fn(*args, **kwargs)

    return _run_on_loop(invoke, getattr(fn, "__qualname__", "a jetraw sync function"))


def register_closeable(obj: _Closeable) -> None:
    """Have ``obj.aclose()`` run at interpreter exit unless it is unregistered first."""
    _closeables[id(obj)] = obj


def unregister_closeable(obj: object) -> None:
    """Forget ``obj`` (it was closed by its owner)."""
    _closeables.pop(id(obj), None)


def abandon(obj: object) -> None:
    """Keep ``obj`` referenced forever, never used or closed (it belongs to the parent process)."""
    _inherited.append(obj)


def close_later(obj: object) -> None:
    """Schedule ``obj.aclose()`` on the loop without waiting (safe from any thread, the loop's too).

    Used when a sync owner is garbage-collected. If the loop is not running, nothing is scheduled;
    the exit hook closes what is still registered.
    """
    if _closeables.get(id(obj)) is not obj:
        return  # closed by its owner already, or inherited from a parent process
    schedule_aclose(obj)


def schedule_aclose(obj: object) -> None:
    runner = _loop_thread
    aclose = getattr(obj, "aclose", None)
    if runner is None or not runner.alive() or aclose is None:
        unregister_closeable(obj)  # never used on a loop: nothing to close
        return

    def start() -> None:
        async def close() -> None:
            try:
                await aclose()
            # S110: a failing close of an abandoned object has no one to report to
            except Exception:  # noqa: S110
                pass
            finally:
                unregister_closeable(obj)

        task = runner.loop.create_task(close())
        _background.add(task)
        task.add_done_callback(_background.discard)

    with contextlib.suppress(RuntimeError):  # the loop closed in between
        runner.loop.call_soon_threadsafe(start)


async def _close_all(objs: list[_Closeable]) -> None:
    async def close(obj: _Closeable) -> None:
        with contextlib.suppress(Exception):
            await obj.aclose()

    pending = [asyncio.ensure_future(close(o)) for o in objs]
    if pending:
        await asyncio.wait(pending, timeout=EXIT_TIMEOUT)
    if _background:
        await asyncio.wait(list(_background), timeout=EXIT_TIMEOUT)


def _shutdown() -> None:
    """At interpreter exit: close open clients on the loop if it is alive, then stop it."""
    global _shut_down
    with _lock:
        _shut_down = True
        runner = _loop_thread
    objs = list(_closeables.values())
    _closeables.clear()
    if runner is None or not runner.alive():
        return  # never started, or already gone: nothing can be closed without starting a thread
    if objs or _background:
        job = _Call(lambda: _close_all(objs))
        with contextlib.suppress(RuntimeError):
            runner.loop.call_soon_threadsafe(job.start)
            with contextlib.suppress(KeyboardInterrupt):
                _wait(job.done, EXIT_TIMEOUT + 1, runner)
    with contextlib.suppress(RuntimeError):
        runner.loop.call_soon_threadsafe(runner.loop.stop)
    runner.thread.join(EXIT_TIMEOUT)


def _ignore_inherited(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    pass


def _before_fork() -> None:
    _lock.acquire()


def _after_fork_in_parent() -> None:
    _lock.release()


def _after_fork_in_child() -> None:
    global _lock, _loop_thread, _epoch, _closeables, _background
    # The parent's loop thread does not exist here; its loop, its clients and their sockets belong
    # to the parent. Keep them referenced (a finaliser could close shared sockets) and start afresh.
    _inherited.extend([_loop_thread, _closeables, _background])
    if _loop_thread is not None:
        # Whatever the parent's objects report when collected here ("Unclosed client session")
        # is about the parent's resources, which the parent closes: not ours to report.
        _loop_thread.loop.set_exception_handler(_ignore_inherited)
    _loop_thread = None
    _closeables = {}
    _background = set()
    _epoch += 1
    _lock = threading.Lock()


atexit.register(_shutdown)
if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(
        before=_before_fork,
        after_in_parent=_after_fork_in_parent,
        after_in_child=_after_fork_in_child,
    )
