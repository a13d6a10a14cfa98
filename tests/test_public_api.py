"""Every public namespace declares `__all__`: sorted, resolvable, and complete."""

from __future__ import annotations

import importlib
import inspect
import types

import pytest

PUBLIC_MODULES = [
    "jetraw",
    "jetraw.aio",
    "jetraw.cli",
    "jetraw.server",
    "jetraw.testing",
    "jetraw_sync",
]


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_all_is_sorted_and_resolvable(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert exported == sorted(exported), f"{name}.__all__ is not sorted"
    assert len(exported) == len(set(exported)), f"{name}.__all__ has duplicates"
    for attr in exported:
        assert getattr(module, attr, None) is not None, f"{name}.{attr} does not resolve"


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_all_is_complete(name: str) -> None:
    module = importlib.import_module(name)
    missing = []
    for attr, value in vars(module).items():
        if attr.startswith("_") or isinstance(value, types.ModuleType):
            continue
        is_api = inspect.isclass(value) or inspect.isfunction(value)
        if is_api and attr not in module.__all__:
            missing.append(attr)
    assert not missing, f"public names missing from {name}.__all__: {missing}"


def test_private_modules_are_private() -> None:
    import pkgutil

    import jetraw

    public = {"aio", "testing", "cli", "server"}
    for info in pkgutil.iter_modules(jetraw.__path__):
        assert info.name.startswith("_") or info.name in public, info.name


def test_exceptions_subclass_the_builtins_callers_catch() -> None:
    import jetraw

    assert issubclass(jetraw.RemotePathNotFoundError, FileNotFoundError)
    assert issubclass(jetraw.RemotePathExistsError, FileExistsError)
    assert issubclass(jetraw.ConfigurationError, ValueError)
    assert issubclass(jetraw.AuthenticationError, PermissionError)
    assert issubclass(jetraw.ServerConnectionError, ConnectionError)
    assert issubclass(jetraw.StorageError, OSError)
    for name in jetraw._exceptions.__all__:
        cls = getattr(jetraw, name)
        assert issubclass(cls, jetraw.JetrawError)
        assert cls.__doc__, f"{name} has no docstring saying when it is raised"
