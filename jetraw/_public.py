"""How the public namespaces present what they re-export: under their own module name.

The implementation lives in private modules (``jetraw._exceptions``, ``jetraw._transfer``...);
the public namespaces (``jetraw``, ``jetraw.aio``) re-export it. :func:`set_public_module` makes
each re-exported class and function report the namespace a caller imports it from, so reprs,
tracebacks, pickles and ``help()`` say ``jetraw.LoginRequiredError``, never
``jetraw._exceptions.LoginRequiredError`` (trio's ``fixup_module_metadata`` does the same).

The rule: classes both facades share (exceptions, results, value types) report ``jetraw``; async
classes and functions report ``jetraw.aio``; the sync facade's classes and functions report
``jetraw``.

This module imports only :mod:`types` (loaded at interpreter start), so ``import jetraw`` stays
cheap.
"""

import types

__all__ = ["set_public_module"]


def set_public_module(module: str, namespace: dict[str, object], names: list[str]) -> None:
    """Make the classes and functions ``names`` of ``namespace`` report ``module``.

    Only jetraw's own objects are touched (their ``__module__`` starts with ``jetraw``); a name
    bound to anything else (a constant, a third-party object) is left alone.

    Args:
        module: The public module's name, e.g. ``"jetraw"``.
        namespace: Where the names are bound (the public module's ``globals()``).
        names: The names to fix (usually the module's ``__all__`` or part of it).
    """
    for name in names:
        obj = namespace[name]
        if not isinstance(obj, (type, types.FunctionType)):
            continue
        if obj.__module__.split(".")[0] in ("jetraw", "jetraw_sync"):
            obj.__module__ = module
