# ruff: noqa: E501  (templates of generated lines are clearer unwrapped)
"""What jetraw.aio exports, and the generated modules it becomes."""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import inspect
import re
from typing import Any

from _gensync import writers
from _gensync.core import STAMP, GenError, Output, rule, rules, use

# -- classes ---------------------------------------------------------------------------------------


@dataclasses.dataclass
class Wrapped:
    """An async class and its generated sync twin."""

    cls: type
    sync_name: str
    output: Output
    exported: bool
    is_client: bool = False
    bound_param: str | None = None  # the constructor's client parameter


class Generator:
    def __init__(self, source: str, package: str) -> None:
        self.source = source
        self.package = package
        self.aio = importlib.import_module(source)
        self.wrapped: dict[str, Wrapped] = {}
        self.outputs: dict[str, Output] = {}
        self.reexports: list[tuple[str, str]] = []
        self.functions: list[tuple[str, Any]] = []
        self.defaults: list[tuple[str, Any]] = []
        self.client: Wrapped | None = None

    # naming

    def sync_class_name(self, name: str) -> str:
        for r in rules("class"):
            m = re.fullmatch(r.match, name)
            if m:
                use(r)
                return m.expand(r.becomes)
        raise GenError(f"no class rule maps {name!r}")

    def output(self, name: str, doc: str) -> Output:
        if name not in self.outputs:
            self.outputs[name] = Output(self.package, name, doc)
        return self.outputs[name]

    def add_class(self, cls: type, *, exported: bool, near: Output | None = None) -> Wrapped:
        if cls.__name__ in self.wrapped:
            return self.wrapped[cls.__name__]
        sync_name = self.sync_class_name(cls.__name__)
        if near is None:
            snake = re.sub(r"(?<!^)(?=[A-Z])", "_", sync_name).lower()
            near = self.output(
                f"_generated_{snake}", f"The sync ``{sync_name}`` (wraps ``{cls.__name__}``)."
            )
        w = Wrapped(cls, sync_name, near, exported)
        client_rule = rule("client", cls.__name__)
        if client_rule is not None:
            use(client_rule)
            w.is_client = True
            self.client = w
        self.wrapped[cls.__name__] = w
        return w

    # discovery

    def discover(self) -> None:
        names = list(getattr(self.aio, "__all__", []))
        if not names:
            raise GenError(f"{self.source} has no __all__")
        for name in names:
            obj = getattr(self.aio, name)
            if inspect.isclass(obj) and re.fullmatch(r"Async[A-Z]\w*", name):
                self.add_class(obj, exported=True)
            elif inspect.isclass(obj):
                self.reexports.append((name, name))
            elif rule("default", name) is not None:
                self.defaults.append((name, obj))
            elif inspect.iscoroutinefunction(obj) or inspect.isasyncgenfunction(obj):
                self.functions.append((name, obj))
            elif inspect.isfunction(obj):
                sig = inspect.signature(obj)
                if "Async" in str(sig):
                    raise GenError(
                        f"{self.source}.{name}: a sync function of async types has no mapping"
                    )
                self.reexports.append((name, name))
            elif name.startswith("Async"):
                raise GenError(f"{self.source}.{name}: no mapping for this async name")
            else:
                self.reexports.append((name, name))
        if self.client is None and (self.defaults or self.functions):
            raise GenError("no client class: the client rule matches no exported class")

    # generation

    def generate(self) -> dict[str, str]:
        self.discover()
        done: set[str] = set()
        while len(done) < len(self.wrapped):  # wrapping may discover more classes
            for name in list(self.wrapped):
                if name not in done:
                    done.add(name)
                    writers.ClassWriter(self, self.wrapped[name]).write()
        if self.defaults:
            assert self.client is not None
            for name, fn in self.defaults:
                writers.FunctionWriter(self, fn, self.client.output).write_default(name)
        if self.functions:
            out = self.output("_generated_functions", "The sync module-level functions.")
            for _, fn in self.functions:
                writers.FunctionWriter(self, fn, out).write()
        files = {f"{o.name}.py": o.render() for o in self.outputs.values()}
        files["__init__.py"] = self.render_init()
        return files

    def render_init(self) -> str:
        exported: list[tuple[str, str, str]] = []  # (public name, module, name there)
        for w in self.wrapped.values():
            if w.exported:
                exported.append((w.sync_name, w.output.module, w.sync_name))
        for name, _ in self.defaults:
            assert self.client is not None
            exported.append((name, self.client.output.module, name))
        for name, _ in self.functions:
            exported.append((name, f"{self.package}._generated_functions", name))
        for name, _ in self.reexports:
            exported.append((name, self.source, name))
        lines = [
            STAMP,
            f'"""The sync facade of ``{self.source.split(".")[0]}``, generated from ``{self.source}``.',
            "",
            "Every operation runs on one event-loop thread per process (:mod:`jetraw_sync._runtime`).",
            '"""',
            "",
        ]
        by_module: dict[str, list[str]] = {}
        for _, module, name in exported:
            by_module.setdefault(module, []).append(name)
        for module in sorted(by_module):
            lines.append(f"from {module} import {', '.join(sorted(by_module[module]))}")
        lines += ["", "__all__ = ["]
        lines += [f'    "{n}",' for n in sorted(p for p, _, _ in exported)]
        lines += ["]", ""]
        # No `from __future__ import annotations` (it would export `annotations`); `dir()` offers
        # the public names and the dunders, not the generated submodules.
        lines += [
            "",
            "def __dir__() -> list[str]:",
            "    # What `dir(jetraw_sync)` and IPython's completion offer.",
            '    return sorted({*__all__, *(n for n in globals() if n.startswith("__") and n.endswith("__"))})',
            "",
        ]
        return "\n".join(lines)
