"""The runtime behind the sync facade (hand-written, with ``_loop`` and ``_iterate``; the rest of
``jetraw_sync`` is generated): what the generated code calls, and what it guarantees.

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
  ``jetraw_sync._loop.CANCEL_GRACE`` seconds for its cleanup (aborting uploads) and re-raises.
  The task does not run on unattended, as it does behind anyio's portal.
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

import weakref
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar, cast

from jetraw._exceptions import EventLoopError
from jetraw_sync._iterate import SyncContextManager, iterate, iterate_as
from jetraw_sync._loop import (
    abandon,
    call,
    close_later,
    epoch,
    in_loop_thread,
    process_lock,
    register_closeable,
    run,
    trim,
    unregister_closeable,
)

__all__ = [
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
    "trim",
    "unregister_closeable",
    "unwrap",
]

A = TypeVar("A")


class _Closeable(Protocol):
    async def aclose(self) -> None: ...


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
        self._epoch = epoch()
        return self

    @property
    def _async(self) -> A:
        obj = self._async_obj
        if obj is None or self._epoch != epoch():
            obj = self._rebuild()
            self._async_obj, self._epoch = obj, epoch()
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
    self._epoch = epoch()
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
        self._epoch = epoch()
        if create:
            self._adopt(factory(**kwargs))

    def _adopt(self, obj: A) -> A:
        self._obj, self._epoch = obj, epoch()
        register_closeable(cast(_Closeable, obj))
        owner = self._owner()
        if owner is not None:
            weakref.finalize(owner, close_later, obj).atexit = False
        return obj

    def peek(self) -> A | None:
        """The async client of this process if it exists (never creates one)."""
        return self._obj if self._epoch == epoch() else None

    def get(self) -> A:
        """The async client of this process, created (on the loop thread) if needed."""
        obj = self._obj
        if obj is not None and self._epoch == epoch():
            return obj
        return call(self._recreate)

    def _recreate(self) -> A:  # on the loop thread, which serialises concurrent first uses
        if self._obj is not None:
            if self._epoch == epoch():
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
        with process_lock():
            if self._value is None:
                self._value = new
                return new
            current = self._value
        new.close()  # another thread made one first
        return current
