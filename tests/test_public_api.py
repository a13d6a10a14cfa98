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
    "jetraw.dask",
    "jetraw.fs",
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

    public = {"aio", "testing", "cli", "server", "fs", "dask"}
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


# -- the two facades: the same names, each object under its public module ------------------------


def _sync_name(name: str) -> str:
    """``AsyncClient`` -> ``Client``: the sync twin's name of a ``jetraw.aio`` name."""
    return name[len("Async") :] if name.startswith("Async") and name[5:6].isupper() else name


def test_facades_export_the_same_names() -> None:
    import jetraw
    import jetraw.aio
    import jetraw_sync

    sync_names = [n for n in jetraw.__all__ if n != "__version__"]
    assert sorted(_sync_name(n) for n in jetraw.aio.__all__) == sync_names
    assert list(jetraw_sync.__all__) == sync_names


def test_facades_export_every_exception_and_value_type() -> None:
    import jetraw
    import jetraw._exceptions
    import jetraw.aio

    values = {
        "ApiKey",
        "DownloadResult",
        "FileTransfer",
        "Identity",
        "LoginInfo",
        "LogoutResult",
        "Membership",
        "Organisation",
        "ProgressEvent",
        "RemoteDirectory",
        "RemoteFile",
        "Space",
        "TransferConfig",
        "TransferResult",
        "Upload",
        "UploadResult",
        "User",
    }
    for module in (jetraw, jetraw.aio):
        missing = (values | set(jetraw._exceptions.__all__)) - set(module.__all__)
        assert not missing, f"{module.__name__} lacks {sorted(missing)}"
    for name in values | set(jetraw._exceptions.__all__):
        assert getattr(jetraw, name) is getattr(jetraw.aio, name), name


def test_every_public_object_reports_its_public_module() -> None:
    import jetraw
    import jetraw.aio

    wrong = []
    for name in jetraw.__all__:
        obj = getattr(jetraw, name)
        if name != "__version__" and obj.__module__ != "jetraw":
            wrong.append(f"jetraw.{name}: {obj.__module__}")
    for name in jetraw.aio.__all__:
        obj = getattr(jetraw.aio, name)
        # The async classes and functions are jetraw.aio's own; what both facades share is jetraw's.
        own = name.startswith("Async") or not inspect.isclass(obj)
        expected = "jetraw.aio" if own else "jetraw"
        if obj.__module__ != expected:
            wrong.append(f"jetraw.aio.{name}: {obj.__module__} (expected {expected})")
    import jetraw.testing

    for name in jetraw.testing.__all__:
        if getattr(jetraw.testing, name).__module__ != "jetraw.testing":
            wrong.append(f"jetraw.testing.{name}: {getattr(jetraw.testing, name).__module__}")
    assert not wrong, wrong
    assert repr(jetraw.LoginRequiredError("x")) == "LoginRequiredError('x')"
    assert str(jetraw.LoginRequiredError) == "<class 'jetraw.LoginRequiredError'>"
    assert str(jetraw.aio.AsyncClient) == "<class 'jetraw.aio.AsyncClient'>"


def test_public_objects_pickle_by_their_public_name() -> None:
    import pickle

    import jetraw
    import jetraw.aio

    classes = (jetraw.LoginRequiredError, jetraw.RemoteFile, jetraw.Client, jetraw.aio.AsyncClient)
    for obj in classes:
        assert pickle.loads(pickle.dumps(obj)) is obj
    error = pickle.loads(pickle.dumps(jetraw.SpaceNotFoundError("no space")))
    assert type(error) is jetraw.SpaceNotFoundError
    assert str(error) == "no space"
    config = jetraw.TransferConfig(max_concurrency=3)
    assert pickle.loads(pickle.dumps(config)) == config


def test_dir_lists_the_public_names_loaded_or_not() -> None:
    import subprocess
    import sys

    code = (
        "import jetraw, sys\n"
        "public = [n for n in dir(jetraw) if not (n.startswith('__') and n.endswith('__'))]\n"
        "assert public == sorted(n for n in jetraw.__all__ if n[0] != '_'), dir(jetraw)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in"
        " ('jetraw', 'jetraw_sync', 'httpx', 'anyio', 'aiobotocore')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    # `import jetraw` loads the exception tree only: no httpx, no sync runtime.
    assert out.strip() == "['jetraw', 'jetraw._exceptions', 'jetraw._public']"


def test_dir_hides_implementation_names() -> None:
    import jetraw

    for name in ("annotations", "TYPE_CHECKING", "typing"):
        assert name not in dir(jetraw)
        assert name not in jetraw.__all__


def test_type_hints_of_public_classes_resolve_under_their_public_module() -> None:
    """`typing.get_type_hints` (pydantic, cattrs...) still works after `__module__` moved."""
    import dataclasses
    import typing

    import jetraw
    import jetraw.aio

    checked = 0
    for name in jetraw.aio.__all__:
        obj = getattr(jetraw.aio, name)
        if inspect.isclass(obj) and dataclasses.is_dataclass(obj):
            hints = typing.get_type_hints(obj)
            assert set(hints) >= {f.name for f in dataclasses.fields(obj)}, name
            checked += 1
    assert checked >= 15
    hints = typing.get_type_hints(jetraw.UploadResult)
    assert hints["files"] == list[jetraw.FileTransfer]


@pytest.mark.parametrize("name", ["AsyncClient", "AsyncJetrawPath"])
def test_async_classes_moved_from_jetraw_to_aio_still_import_with_a_warning(name: str) -> None:
    import jetraw.aio

    with pytest.warns(DeprecationWarning, match=f"jetraw.{name} is deprecated"):
        moved = getattr(jetraw, name)
    assert moved is getattr(jetraw.aio, name)
    assert name not in jetraw.__all__
    assert name not in dir(jetraw)


@pytest.mark.parametrize("name", ["jetraw", "jetraw.aio", "jetraw_sync"])
def test_dir_offers_exactly_the_public_names_and_dunders(name: str) -> None:
    # dir() is what IPython completes: Client, JetrawPath, upload... even before the lazy
    # `jetraw` loads them, and no `annotations`, `TYPE_CHECKING` or helper modules.
    module = importlib.import_module(name)
    listed = dir(module)
    assert listed == sorted(listed)
    public = [n for n in listed if not (n.startswith("__") and n.endswith("__"))]
    assert sorted(public) == sorted(n for n in module.__all__ if not n.startswith("__"))
    for leaked in ("annotations", "TYPE_CHECKING", "_typing", "_runtime", "_set_public_module"):
        assert leaked not in listed
        assert not hasattr(module, leaked) or leaked.startswith("_"), leaked
    if name != "jetraw.aio":
        assert {"Client", "JetrawPath", "upload", "download"} <= set(listed)
