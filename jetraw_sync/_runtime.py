"""The event loop behind the sync facade (hand-written; the rest of ``jetraw_sync`` is generated).

One asyncio loop runs in a daemon thread per process, started on first use. Sync code hands it
coroutines and blocks until they finish:

- :func:`run` runs ``await fn(*args, **kwargs)`` on the loop and returns its result.
- :func:`call` runs a plain function on the loop (to create loop-bound objects there).
- :func:`iterate` turns an async iterator into a sync one, one item per step (no prefetch).
- :class:`SyncContextManager` turns an async context manager into a sync one.

What it guarantees, and why each point is here (the peers' known traps):

- A sync call from the loop thread itself raises :class:`~jetraw.EventLoopError` at once instead of
  deadlocking. A call from a thread that runs its *own* loop (Jupyter, an async web handler) works:
  the work runs on our loop thread while that thread blocks.
- Ctrl-C: the waiting thread polls with a short timeout (``Future.result()`` without a timeout can
  make Ctrl-C useless), and on :class:`KeyboardInterrupt` cancels the task, waits up to
  :data:`CANCEL_GRACE` seconds for its cleanup (aborting uploads) and re-raises. The task does not
  run on unattended, as it does behind anyio's portal.
- Fork: ``os.register_at_fork`` makes the child start a fresh loop lazily. Objects bound to the
  parent's loop (its loop, its clients) are kept referenced but never touched or closed in the
  child, so the parent's sockets stay intact. Our lock is taken around the fork, so no thread holds
  it in the child.
- Exit: an ``atexit`` hook closes the clients still open, on the loop if it is alive and with a
  timeout, then stops and closes the loop; it never starts a thread (that fails during interpreter
  shutdown on 3.12+), so there is no "Unclosed client session" or "Event loop is closed" noise.
- Thread safety: every coroutine runs on the one loop thread, so one ``Client`` may be shared by
  any number of threads.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import functools
import inspect
import os
import threading
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from types import TracebackType
from typing import Any, Generic, Protocol, TypeVar, cast

from jetraw._exceptions import EventLoopError

__all__ = [
    "CANCEL_GRACE",
    "EXIT_TIMEOUT",
    "POLL_INTERVAL",
    "ClientHandle",
    "DefaultClient",
    "SyncContextManager",
    "Wrapper",
    "abandon",
    "call",
    "client_config",
    "client_of",
    "close_later",
    "epoch",
    "in_loop_thread",
    "iterate",
    "iterate_as",
    "register_closeable",
    "restore",
    "run",
    "sync_repr",
    "unregister_closeable",
    "unwrap",
]

T = TypeVar("T")
U = TypeVar("U")
A = TypeVar("A")

#: How long a waiting thread sleeps between checks, so a signal is handled promptly everywhere.
POLL_INTERVAL = 0.1
#: How long Ctrl-C waits for the cancelled task's cleanup (aborts) before re-raising.
CANCEL_GRACE = 5.0
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


def _refuse_loop_thread(what: str) -> None:
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
    _refuse_loop_thread(what)
    runner = _get_loop_thread()
    job = _Call(fn)
    runner.loop.call_soon_threadsafe(job.start)
    try:
        _wait(job.done, None, runner)
    except BaseException:
        # Ctrl-C (or another exception raised by a signal handler) while waiting: cancel the task
        # and give its cleanup a bounded time to run before the exception propagates.
        with contextlib.suppress(RuntimeError):  # the loop may already be closed
            runner.loop.call_soon_threadsafe(job.cancel)
        with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl-C stops the waiting
            _wait(job.done, CANCEL_GRACE, runner)
        raise
    return job.result()


def run(fn: Callable[..., Awaitable[T]], /, *args: Any, **kwargs: Any) -> T:
    """Run ``await fn(*args, **kwargs)`` on the loop thread and return its result.

    ``fn`` itself is called on the loop thread, so objects it creates belong to that loop.

    Raises:
        EventLoopError: When called from the loop thread itself.
        KeyboardInterrupt: After cancelling the operation and waiting up to ``CANCEL_GRACE``
            seconds for its cleanup.
    """

    async def invoke() -> T:
        return await fn(*args, **kwargs)

    return _run_on_loop(invoke, getattr(fn, "__qualname__", "a jetraw sync function"))


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


class _Done:
    pass


_DONE = _Done()


async def _open_iterator(factory: Callable[[], Any]) -> Any:
    obj = factory()
    if not hasattr(obj, "__anext__") and not hasattr(obj, "__aiter__") and inspect.isawaitable(obj):
        obj = await obj
    return obj.__aiter__() if not hasattr(obj, "__anext__") else obj


async def _next_item(iterator: AsyncIterator[T]) -> T | _Done:
    # StopAsyncIteration must not escape a task; a sentinel marks the end instead.
    try:
        return await iterator.__anext__()
    except StopAsyncIteration:
        return _DONE


def _close_iterator(iterator: object) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is None:
        return
    if in_loop_thread() or _shut_down:
        # Garbage-collected on the loop thread, or at exit: we cannot block; close in the
        # background if the loop still runs.
        _schedule_aclose(iterator)
        return
    with contextlib.suppress(RuntimeError):
        run(aclose)


def iterate(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Iterator[Any]:
    """A sync iterator over the async iterator ``fn(*args, **kwargs)`` (called on the loop).

    ``fn`` may return an async iterator or iterable, or a coroutine resolving to one. Each
    ``next()`` fetches exactly one item; nothing is fetched ahead. Closing the sync iterator
    (``close()``, dropping it, garbage collection) closes the async generator, so its ``finally``
    blocks run.
    """
    _refuse_loop_thread("a jetraw sync iterator")
    return _iterate(functools.partial(fn, *args, **kwargs), None)


def iterate_as(
    convert: Callable[[Any], U], fn: Callable[..., Any], /, *args: Any, **kwargs: Any
) -> Iterator[U]:
    """Like :func:`iterate`, with ``convert`` applied to each item (in the calling thread)."""
    _refuse_loop_thread("a jetraw sync iterator")
    return _iterate(functools.partial(fn, *args, **kwargs), convert)


def _iterate(factory: Callable[[], Any], convert: Callable[[Any], Any] | None) -> Iterator[Any]:
    iterator: AsyncIterator[Any] = run(_open_iterator, factory)
    finished = False
    try:
        while True:
            try:
                item = run(_next_item, iterator)
            except BaseException:
                finished = True  # an exception out of __anext__ (or a cancel) ended the generator
                raise
            if isinstance(item, _Done):
                finished = True
                return
            yield item if convert is None else convert(item)
    finally:
        if not finished:
            _close_iterator(iterator)


class SyncContextManager(Generic[T]):
    """A sync context manager driving the async one ``fn(*args, **kwargs)`` on the loop thread.

    Args:
        convert: Applied to what ``__aenter__`` returns (wraps an async object in its sync twin),
            or ``None``.
        fn: Called on the loop thread, on entry, to make the async context manager.
    """

    def __init__(
        self,
        convert: Callable[[Any], T] | None,
        fn: Callable[..., Any],
        /,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        self._factory = functools.partial(fn, *args, **kwargs)
        self._convert = convert
        self._acm: Any = None

    def __enter__(self) -> T:
        acm = call(self._factory)
        value = run(acm.__aenter__)
        self._acm = acm
        return cast(T, value if self._convert is None else self._convert(value))

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        acm, self._acm = self._acm, None
        if acm is None:
            return None
        return cast("bool | None", run(acm.__aexit__, exc_type, exc, tb))


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
    _schedule_aclose(obj)


def _schedule_aclose(obj: object) -> None:
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


# -- support for the generated classes -------------------------------------------------------------

W = TypeVar("W", bound="Wrapper[Any]")


class Wrapper(Generic[A]):
    """Base of the generated sync classes: each wraps one async object (composition).

    ``_async`` is the async object; ``_client`` the sync client it was reached through (or
    ``None``), so derived objects (``path / "x"``, ``path.parent``) keep their client.
    """

    _async_obj: A | None
    _client: Any
    _epoch: int
    _state: Any  # what a client-bound object is rebuilt from after unpickling

    @classmethod
    def _wrap(cls: type[W], obj: Any, client: Any = None) -> W:
        self = cls.__new__(cls)
        self._async_obj = obj
        self._client = client
        self._epoch = _epoch
        return self

    @property
    def _async(self) -> A:
        obj = self._async_obj
        if obj is None or self._epoch != _epoch:
            obj = self._rebuild()
            self._async_obj, self._epoch = obj, _epoch
        return obj

    def _rebuild(self) -> A:
        """Make the async object again (after unpickling, or in a forked child)."""
        name = type(self).__name__
        if self._async_obj is None:
            raise TypeError(f"{name} cannot be rebuilt")
        # An open file and the like: its connections belong to the process that opened it.
        raise EventLoopError(
            f"This {name} was made in the parent process (before fork) and cannot be used in "
            "the child: open it again there."
        )

    def _io(self) -> A:
        """The async object to do I/O with (client-bound classes resolve the default client)."""
        return self._async

    def __reduce__(self) -> Any:
        raise TypeError(f"{type(self).__name__} objects cannot be pickled")


def client_of(value: Any) -> Any:
    """The sync client a wrapper was reached through (``None`` for anything else)."""
    return value._client if isinstance(value, Wrapper) else None


def restore(cls: type[W], state: Any, client: Any) -> W:
    """Unpickle a client-bound wrapper; its async object is made on first use."""
    self = cls.__new__(cls)
    self._async_obj = None
    self._client = client
    self._epoch = _epoch
    self._state = state
    return self


def unwrap(value: Any) -> Any:
    """The async object behind a sync wrapper; any other value unchanged (lists mapped)."""
    if isinstance(value, Wrapper):
        return value._async
    if isinstance(value, (list, tuple)) and any(isinstance(v, Wrapper) for v in value):
        return type(value)(unwrap(v) for v in value)
    return value


def sync_repr(obj: object) -> str:
    """``repr(obj)`` with the async class name replaced by its sync twin's."""
    text = repr(obj)
    name = type(obj).__name__
    if name.startswith("Async"):
        text = text.replace(name, name[len("Async") :], 1)
    return text


class _ClientLike(Protocol):
    def close(self) -> None: ...


C = TypeVar("C", bound=_ClientLike)


class ClientHandle(Generic[A]):
    """The async client behind a sync ``Client``: one per process, made again after fork/pickle.

    Registered for closing at exit; closed in the background when its owner is collected.
    """

    def __init__(
        self, owner: object, factory: Callable[..., A], kwargs: dict[str, Any], *, create: bool
    ) -> None:
        self._owner = weakref.ref(owner)
        self._factory = factory
        self._kwargs = kwargs
        self._obj: A | None = None
        self._epoch = _epoch
        if create:
            self._adopt(factory(**kwargs))

    def _adopt(self, obj: A) -> A:
        self._obj, self._epoch = obj, _epoch
        register_closeable(cast(_Closeable, obj))
        owner = self._owner()
        if owner is not None:
            weakref.finalize(owner, close_later, obj).atexit = False
        return obj

    def peek(self) -> A | None:
        """The async client of this process if it exists (never creates one)."""
        return self._obj if self._epoch == _epoch else None

    def get(self) -> A:
        """The async client of this process, created (on the loop thread) if needed."""
        obj = self._obj
        if obj is not None and self._epoch == _epoch:
            return obj
        return call(self._recreate)

    def _recreate(self) -> A:  # on the loop thread, which serialises concurrent first uses
        if self._obj is not None:
            if self._epoch == _epoch:
                return self._obj
            abandon(self._obj)  # the parent's: its sockets are not ours to close
        return self._adopt(self._factory(**self._kwargs))


def client_config(kwargs: dict[str, Any], obj: Any) -> dict[str, Any]:
    """What a pickled ``Client`` carries: its configuration, never an implicit secret.

    The arguments the user passed (an API key only if passed explicitly), completed with the
    server and organisation in force, and the profile whose stored login it used, so that another
    process connects to the same place with its own credentials.

    Raises:
        TypeError: For a client with a custom transport (it cannot travel).
    """
    config = dict(kwargs)
    if config.pop("transport", None) is not None:
        raise TypeError("a Client with a custom transport cannot be pickled")
    if obj is not None:
        for key in ("server", "organisation"):
            if config.get(key) is None:
                config[key] = getattr(obj, key, None)
        source = getattr(obj, "auth_source", None)
        profile = config.get("profile")
        if profile is None and isinstance(source, str) and source.startswith("profile:"):
            config["profile"] = source[len("profile:") :]
    return config


class DefaultClient(Generic[C]):
    """The default client of the sync facade (separate from ``jetraw.aio``'s)."""

    def __init__(self, factory: Callable[[], C]) -> None:
        self._factory = factory
        self._value: C | None = None

    def set(self, client: C | None) -> None:
        self._value = client

    def get(self) -> C:
        current = self._value
        if current is not None:
            return current
        new = self._factory()  # no lock held: this may talk to the server
        with _lock:
            if self._value is None:
                self._value = new
                return new
            current = self._value
        new.close()  # another thread made one first
        return current


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
