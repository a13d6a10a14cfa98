"""Async iterators and async context managers, used from sync code through the loop thread."""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from types import TracebackType
from typing import Any, Generic, TypeVar, cast

from jetraw_sync._loop import (
    call,
    in_loop_thread,
    refuse_loop_thread,
    run,
    schedule_aclose,
    shutting_down,
    trim,
)

__all__ = ["SyncContextManager", "iterate", "iterate_as"]

T = TypeVar("T")
U = TypeVar("U")


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
    if in_loop_thread() or shutting_down():
        # Garbage-collected on the loop thread, or at exit: we cannot block; close in the
        # background if the loop still runs.
        schedule_aclose(iterator)
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
    refuse_loop_thread("a jetraw sync iterator")
    return _iterate(functools.partial(fn, *args, **kwargs), None)


def iterate_as(
    convert: Callable[[Any], U], fn: Callable[..., Any], /, *args: Any, **kwargs: Any
) -> Iterator[U]:
    """Like :func:`iterate`, with ``convert`` applied to each item (in the calling thread)."""
    refuse_loop_thread("a jetraw sync iterator")
    return _iterate(functools.partial(fn, *args, **kwargs), convert)


def _iterate(factory: Callable[[], Any], convert: Callable[[Any], Any] | None) -> Iterator[Any]:
    try:
        iterator: AsyncIterator[Any] = run(_open_iterator, factory)
    except BaseException as error:
        raise trim(error)  # noqa: B904 (same error, cause kept); one runtime frame (this generator's), then the core
    finished = False
    try:
        while True:
            try:
                item = run(_next_item, iterator)
            except BaseException as error:
                finished = True  # an exception out of __anext__ (or a cancel) ended the generator
                raise trim(error)  # noqa: B904 (same error, cause kept); one runtime frame (this generator's), then the core
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
        try:
            acm = call(self._factory)
            value = run(acm.__aenter__)
        except BaseException as error:
            raise trim(error)  # noqa: B904 (same error, cause kept); one runtime frame (this method's), then the core
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
        try:
            return cast("bool | None", run(acm.__aexit__, exc_type, exc, tb))
        except BaseException as error:
            raise trim(error)  # noqa: B904 (same error, cause kept); one runtime frame (this method's), then the core
