"""How the public namespaces present what they re-export: under their own module name.

The implementation lives in private modules (``jetraw._exceptions``, ``jetraw._transfer``...);
the public namespaces (``jetraw``, ``jetraw.aio``, ``jetraw.testing``) re-export it.
:func:`set_public_module` makes each re-exported class and function report the namespace a caller
imports it from, so reprs, tracebacks, pickles and ``help()`` say ``jetraw.LoginRequiredError``,
never ``jetraw._exceptions.LoginRequiredError`` (trio's ``fixup_module_metadata`` does the same).

The rule: classes both facades share (exceptions, results, value types) report ``jetraw``; async
classes and functions report ``jetraw.aio``; the sync facade's classes and functions report
``jetraw``.

This module imports only :mod:`types` and :mod:`typing` (loaded before any jetraw module), so
``import jetraw`` stays cheap.
"""

import types
import typing

__all__ = ["set_public_module"]


def set_public_module(module: str, namespace: dict[str, object], names: list[str]) -> None:
    """Make the classes and functions ``names`` of ``namespace`` report ``module``.

    Only jetraw's own objects are touched (their ``__module__`` starts with ``jetraw``); a name
    bound to anything else (a constant, a third-party object) is left alone. A class's string
    annotations are resolved first, in the module that defines it: :func:`typing.get_type_hints`
    (and pydantic, cattrs... built on it) looks names up in ``sys.modules[cls.__module__]``,
    which after the move is the public namespace, where ``FileTransfer`` or ``Mapping`` may not
    be bound.

    Args:
        module: The public module's name, e.g. ``"jetraw"``.
        namespace: Where the names are bound (the public module's ``globals()``).
        names: The names to fix (usually the module's ``__all__`` or part of it).
    """
    for name in names:
        obj = namespace[name]
        if not isinstance(obj, (type, types.FunctionType)):
            continue
        if obj.__module__.split(".")[0] not in ("jetraw", "jetraw_sync"):
            continue
        if isinstance(obj, type) and obj.__module__ != module:
            _resolve_annotations(obj)
        obj.__module__ = module


def _resolve_annotations(cls: type) -> None:
    # The class's own annotations; `inspect.get_annotations` would cost `import jetraw` ~5 ms.
    own = cls.__dict__.get("__annotations__")  # noqa: RUF063
    if not own or not any(isinstance(v, str) for v in own.values()):
        return
    try:
        hints = typing.get_type_hints(cls, include_extras=True)
    except Exception:
        return  # unresolvable where it is defined too: left as it was
    cls.__annotations__ = {key: hints.get(key, value) for key, value in own.items()}
