# ruff: noqa: E501  (templates of generated lines are clearer unwrapped)
"""Annotations, docstrings and signatures rewritten for the sync side; values converted."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import importlib.util
import inspect
import re
import textwrap
from collections.abc import Iterator
from typing import TYPE_CHECKING

from _gensync.core import (
    LINE_LENGTH,
    TYPE_MODULES,
    GenError,
    Import,
    Output,
    Rule,
    SourceModule,
    class_def,
    names_in,
    rule,
    rules,
    use,
)

if TYPE_CHECKING:
    from _gensync.generator import Generator


class Annotations:
    """Rewrites annotations and default values for one output, importing what they name."""

    def __init__(
        self, gen: Generator, out: Output, mod: SourceModule, self_name: str | None = None
    ):
        self.gen = gen
        self.out = out
        self.mod = mod
        self.self_name = self_name

    def sync_class(self, async_name: str, runtime: bool) -> str:
        w = self.gen.wrapped.get(async_name)
        if w is None:
            imp = self.mod.resolve(async_name)
            assert imp is not None
            assert imp.name is not None
            cls = getattr(importlib.import_module(imp.module), imp.name)
            if not inspect.isclass(cls):
                raise GenError(f"{async_name} is not a class")
            w = self.gen.add_class(cls, exported=False, near=self.out)
        if w.output is not self.out:
            self.out.need(Import(w.output.module, w.sync_name, False), w.sync_name, runtime=runtime)
            if runtime:
                self.out.need(
                    Import(w.output.module, w.sync_name, False), w.sync_name, runtime=True
                )
        return w.sync_name

    def tag(self, node: ast.expr, async_name: str) -> None:
        """Remember which async class a rewritten annotation stands for (isinstance dispatch)."""
        imp = self.mod.resolve(async_name)
        assert imp is not None
        node._jetraw_async = async_name  # type: ignore[attr-defined]
        self.out.need(imp, async_name, runtime=True)  # unused ones are removed by ruff (F401)

    def context_manager_class(self, name: str) -> ast.expr:
        """A class that is an async context manager → ``AbstractContextManager[<__aenter__ type>]``."""
        imp = self.mod.resolve(name)
        assert imp is not None
        assert imp.name is not None
        cls = getattr(importlib.import_module(imp.module), imp.name)
        mod, node = class_def(cls)
        enter = next(
            (
                f
                for f in node.body
                if isinstance(f, ast.AsyncFunctionDef) and f.name == "__aenter__"
            ),
            None,
        )
        if enter is None:
            raise GenError(f"{name} has no async __aenter__")
        inner = Annotations(self.gen, self.out, mod).rewrite(enter.returns)
        self.out.need(
            Import("contextlib", "AbstractContextManager", True),
            "AbstractContextManager",
            runtime=False,
        )
        new = ast.Subscript(
            ast.Name("AbstractContextManager", ast.Load()), inner or ast.Name("Any"), ast.Load()
        )
        self.tag(new, name)
        return new

    def is_wrapped_name(self, name: str) -> bool:
        if name in self.gen.wrapped:
            return True
        if not re.fullmatch(r"Async[A-Z]\w*", name):
            return False
        try:
            imp = self.mod.resolve(name)
        except GenError:
            return False
        if imp is None or imp.name is None:
            return False
        obj = getattr(importlib.import_module(imp.module), imp.name, None)
        return (
            inspect.isclass(obj) and obj.__module__.split(".")[0] == self.gen.source.split(".")[0]
        )

    def rewrite(self, node: ast.expr | None) -> ast.expr | None:
        if node is None:
            return None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            node = ast.parse(node.value, mode="eval").body
        return _Rewriter(self).visit(node)  # type: ignore[no-any-return]

    def default(self, node: ast.expr) -> str:
        for name in {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}:
            imp = self.mod.resolve(name)
            if imp is not None:
                self.out.need(imp, name, runtime=True)
        return ast.unparse(node)


class _Rewriter(ast.NodeTransformer):
    def __init__(self, ann: Annotations) -> None:
        self.ann = ann

    def _type_rule(self, name: str) -> Rule | None:
        for r in rules("type"):
            if r.match == name:
                return r
        return None

    def visit_Subscript(self, node: ast.Subscript) -> ast.expr:
        base = node.value
        name = (
            base.id
            if isinstance(base, ast.Name)
            else base.attr
            if isinstance(base, ast.Attribute)
            else None
        )
        if name is not None:
            r = self._type_rule(name)
            if r is not None and r.becomes == "":
                use(r)
                inner = node.slice
                if isinstance(inner, ast.Tuple):  # Coroutine[Any, Any, T]
                    inner = inner.elts[-1]
                return self.visit(inner)  # type: ignore[no-any-return]
        node.value = self.visit(node.value)
        node.slice = self.visit(node.slice)
        return node

    def visit_Name(self, node: ast.Name) -> ast.expr:
        name = node.id
        if name in ("Self",) and self.ann.self_name:
            return ast.Name(self.ann.self_name, ast.Load())
        if self.ann.is_wrapped_name(name):
            new = ast.Name(self.ann.sync_class(name, runtime=False), ast.Load())
            self.ann.tag(new, name)
            return new
        cm = rule("cmclass", name)
        if cm is not None:
            use(cm)
            return self.ann.context_manager_class(name)
        r = self._type_rule(name)
        if r is not None and r.becomes:
            use(r)
            self.ann.out.need(
                Import(TYPE_MODULES[r.becomes], r.becomes, True), r.becomes, runtime=False
            )
            return ast.Name(r.becomes, ast.Load())
        if name.startswith("Async") and name not in ("AsyncClient",):
            imp = self.ann.mod.resolve(name)
            if imp is not None and imp.module.startswith(("typing", "collections")):
                raise GenError(f"no type rule for {name!r}")
        imp = self.ann.mod.resolve(name)
        if imp is not None:
            self.ann.out.need(imp, name, runtime=False)
        return node

    def visit_Attribute(self, node: ast.Attribute) -> ast.expr:
        root = node
        while isinstance(root, ast.Attribute):
            root = root.value  # type: ignore[assignment]
        if isinstance(root, ast.Name) and root.id in ("typing", "collections", "abc", "contextlib"):
            r = self._type_rule(node.attr)
            if r is not None and r.becomes:
                use(r)
                self.ann.out.need(
                    Import(TYPE_MODULES[r.becomes], r.becomes, True), r.becomes, runtime=False
                )
                return ast.Name(r.becomes, ast.Load())
        if isinstance(root, ast.Name):
            imp = self.ann.mod.resolve(root.id)
            if imp is not None:
                self.ann.out.need(imp, root.id, runtime=False)
        return node


def rewrite_doc(doc: str | None) -> str | None:
    if doc is None:
        return None
    for r in rules("doc"):
        new = re.sub(r.match, r.becomes, doc)
        if new != doc:
            use(r)
            doc = new
    for r in rules("class"):
        doc = re.sub(r"\b" + r.match.lstrip("^"), r.becomes, doc)
    return doc


def doc_literal(doc: str | None, indent: str) -> list[str]:
    if not doc:
        return []
    doc = inspect.cleandoc(doc).replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    lines: list[str] = []
    for n, line in enumerate(doc.splitlines()):
        # A substitution may lengthen a line past the limit: re-wrap just that line.
        lead = line[: len(line) - len(line.lstrip())]
        width = LINE_LENGTH - len(indent) - (6 if n == 0 else 0)  # the quotes
        if len(line) > width:
            lines += textwrap.wrap(
                line.lstrip(), width=width, initial_indent=lead, subsequent_indent=lead
            )
        else:
            lines.append(line)
    if len(lines) == 1:
        return [f'{indent}"""{lines[0]}"""']
    body = [f"{indent}{line}" if line else "" for line in lines[1:]]
    return [f'{indent}"""{lines[0]}', *body, f'{indent}"""']


# -- conversions ------------------------------------------------------------------------------------


class Conversions:
    """How values cross the facade: sync wrappers in, async objects out, and back."""

    def __init__(self, gen: Generator, out: Output) -> None:
        self.gen = gen
        self.out = out
        self.sync = {w.sync_name for w in gen.wrapped.values()} | {"AbstractContextManager"}

    def mentions(self, node: ast.expr | None) -> bool:
        if node is None:
            return False
        return bool(names_in(node) & self.sync) or any(
            hasattr(n, "_jetraw_async") for n in ast.walk(node)
        )

    def _sync_class(self, name: str) -> str:
        for w in self.gen.wrapped.values():
            if w.sync_name == name and w.output is not self.out:
                self.out.need(Import(w.output.module, name, False), name, runtime=True)
        return name

    def wrap(self, node: ast.expr | None, value: str, client: str) -> str:
        """An expression turning ``value`` (async) into what the sync annotation ``node`` says."""
        if node is None or not self.mentions(node):
            return value
        if isinstance(node, ast.Name):
            return f"{self._sync_class(node.id)}._wrap({value}, {client})"
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            parts = _union(node)
            rest = [p for p in parts if not (isinstance(p, ast.Constant) and p.value is None)]
            if len(rest) == 1 and len(parts) == 2:
                return f"None if {value} is None else {self.wrap(rest[0], value, client)}"
            # Several alternatives: dispatch on the async class each one stands for.
            tagged = [p for p in rest if hasattr(p, "_jetraw_async")]
            plain = [p for p in rest if not hasattr(p, "_jetraw_async")]
            if any(self.mentions(p) for p in plain):
                raise GenError(f"no conversion for a union of {ast.unparse(node)}")
            branches = [(self.wrap(p, value, client), p._jetraw_async) for p in tagged]
            tail = value if plain or len(parts) != len(rest) else branches.pop()[0]
            for expr, async_name in reversed(branches):
                tail = f"{expr} if isinstance({value}, {async_name}) else {tail}"
            return tail
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
            kind = node.value.id
            if kind == "AbstractContextManager" and hasattr(node, "_jetraw_async"):
                item = node.slice
                convert = (
                    f"lambda _x: {self.wrap(item, '_x', client)}" if self.mentions(item) else "None"
                )
                return f"_runtime.SyncContextManager({convert}, lambda: {value})"
            if kind in ("list", "Sequence", "tuple") and not isinstance(node.slice, ast.Tuple):
                return f"[{self.wrap(node.slice, '_x', client)} for _x in {value}]"
            if kind == "tuple" and isinstance(node.slice, ast.Tuple):
                elts = node.slice.elts
                if len(elts) == 2 and isinstance(elts[1], ast.Constant) and elts[1].value is ...:
                    return f"tuple({self.wrap(elts[0], '_x', client)} for _x in {value})"
                items = [self.wrap(e, f"{value}[{i}]", client) for i, e in enumerate(elts)]
                return f"({', '.join(items)},)" if len(items) == 1 else f"({', '.join(items)})"
        raise GenError(f"no conversion for a return value of type {ast.unparse(node)}")

    def converter(self, node: ast.expr | None, client: str) -> str | None:
        """A one-argument function converting items, or ``None`` when nothing needs converting."""
        if not self.mentions(node):
            return None
        return f"lambda _x: {self.wrap(node, '_x', client)}"

    def ret(self, node: ast.expr | None, value: str, client: str, indent: str) -> list[str]:
        """Body lines returning ``value`` converted (named first: a conversion may use it twice)."""
        if not self.mentions(node):
            return [f"{indent}return {value}"]
        if isinstance(node, ast.Name):
            return [f"{indent}return {self.wrap(node, value, client)}"]
        return [f"{indent}result = {value}", f"{indent}return {self.wrap(node, 'result', client)}"]

    def unwrap(self, node: ast.expr | None, value: str) -> str:
        if node is None or not self.mentions(node):
            return value
        if isinstance(node, ast.Name):
            return f"{value}._async"
        if isinstance(node, ast.BinOp):
            parts = _union(node)
            rest = [p for p in parts if not (isinstance(p, ast.Constant) and p.value is None)]
            if len(rest) == 1 and isinstance(rest[0], ast.Name) and len(parts) == 2:
                return f"None if {value} is None else {value}._async"
        return f"_runtime.unwrap({value})"


def _union(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _union(node.left) + _union(node.right)
    return [node]


def is_async_generator(fn: ast.AsyncFunctionDef | ast.FunctionDef) -> bool:
    def walk(node: ast.AST) -> Iterator[ast.AST]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                continue
            yield child
            yield from walk(child)

    return isinstance(fn, ast.AsyncFunctionDef) and any(
        isinstance(n, (ast.Yield, ast.YieldFrom)) for n in walk(fn)
    )


def decorator_names(fn: ast.AsyncFunctionDef | ast.FunctionDef) -> list[str]:
    out = []
    for d in fn.decorator_list:
        out.append(
            ast.unparse(d).split(".")[-1]
            if not isinstance(d, ast.Attribute) or d.attr not in ("setter", "deleter")
            else d.attr
        )
    return out


@dataclasses.dataclass
class Param:
    name: str
    kind: str  # posonly, pos, vararg, kwonly, varkw
    annotation: ast.expr | None  # already rewritten
    default: str | None


class Signature:
    """A function's parameters with annotations rewritten, and how to pass them on."""

    def __init__(
        self, fn: ast.AsyncFunctionDef | ast.FunctionDef, ann: Annotations, *, skip_first: bool
    ):
        a = fn.args
        self.params: list[Param] = []
        positional = [*a.posonlyargs, *a.args]
        defaults: list[ast.expr | None] = [None] * (len(positional) - len(a.defaults)) + list(
            a.defaults
        )
        for i, arg in enumerate(positional):
            kind = "posonly" if i < len(a.posonlyargs) else "pos"
            d = defaults[i]
            self.params.append(
                Param(
                    arg.arg,
                    kind,
                    ann.rewrite(arg.annotation),
                    None if d is None else ann.default(d),
                )
            )
        if a.vararg:
            self.params.append(
                Param(a.vararg.arg, "vararg", ann.rewrite(a.vararg.annotation), None)
            )
        for arg, d in zip(a.kwonlyargs, a.kw_defaults, strict=True):
            self.params.append(
                Param(
                    arg.arg,
                    "kwonly",
                    ann.rewrite(arg.annotation),
                    None if d is None else ann.default(d),
                )
            )
        if a.kwarg:
            self.params.append(Param(a.kwarg.arg, "varkw", ann.rewrite(a.kwarg.annotation), None))
        self.first = self.params.pop(0) if skip_first and self.params else None
        self.returns = ann.rewrite(fn.returns)

    def text(self, returns: ast.expr | str | None, first: str | None = None) -> str:
        parts: list[str] = []
        if first:
            parts.append(first)
        seen_posonly = False
        star_done = False
        for p in self.params:
            if p.kind == "posonly":
                seen_posonly = True
            elif seen_posonly:
                parts.append("/")
                seen_posonly = False
            ann = f": {ast.unparse(p.annotation)}" if p.annotation is not None else ""
            dflt = "" if p.default is None else (f" = {p.default}" if ann else f"={p.default}")
            if p.kind == "vararg":
                parts.append(f"*{p.name}{ann}")
                star_done = True
            elif p.kind == "varkw":
                parts.append(f"**{p.name}{ann}")
            elif p.kind == "kwonly":
                if not star_done:
                    parts.append("*")
                    star_done = True
                parts.append(f"{p.name}{ann}{dflt}")
            else:
                parts.append(f"{p.name}{ann}{dflt}")
        if seen_posonly:
            parts.append("/")
        ret = (
            returns
            if isinstance(returns, str)
            else (ast.unparse(returns) if returns is not None else None)
        )
        return f"({', '.join(parts)})" + (f" -> {ret}" if ret else "")

    def call_args(self, conv: Conversions, special: dict[str, str] | None = None) -> list[str]:
        out = []
        special = special or {}
        for p in self.params:
            value = special.get(p.name) or conv.unwrap(p.annotation, p.name)
            if p.kind in ("posonly", "pos"):
                out.append(value)
            elif p.kind == "vararg":
                out.append(
                    f"*{value}" if value == p.name else f"*[_runtime.unwrap(_a) for _a in {p.name}]"
                )
            elif p.kind == "kwonly":
                out.append(f"{p.name}={value}")
            else:
                out.append(f"**{p.name}")
        return out


def _subscript_name(node: ast.expr | str | None) -> str | None:
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        return node.value.id
    return None


def _subscript_arg(node: ast.expr | str | None) -> ast.expr | None:
    if isinstance(node, ast.Subscript):
        s = node.slice
        return s.elts[0] if isinstance(s, ast.Tuple) else s
    return None
