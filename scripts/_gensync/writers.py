# ruff: noqa: E501  (templates of generated lines are clearer unwrapped)
"""The sync classes, methods and functions, written as code."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from _gensync.core import (
    PASSTHROUGH_DUNDERS,
    RUNTIME,
    SKIPPED,
    GenError,
    Import,
    Output,
    SourceModule,
    class_def,
    defining_module,
    names_in,
    rule,
    rules,
    source_module,
    use,
)
from _gensync.rewrite import (
    Annotations,
    Conversions,
    Signature,
    _subscript_arg,
    _subscript_name,
    decorator_names,
    doc_literal,
    is_async_generator,
    rewrite_doc,
)

if TYPE_CHECKING:
    from _gensync.generator import Generator, Wrapped


class ClassWriter:
    def __init__(self, gen: Generator, w: Wrapped) -> None:
        self.gen = gen
        self.w = w
        self.out = w.output
        self.mod, self.node = class_def(w.cls)
        self.ann = Annotations(gen, self.out, self.mod, self_name=w.sync_name)
        self.lines: list[str] = []

    @property
    def conv(self) -> Conversions:
        return Conversions(self.gen, self.out)

    def members(self) -> list[tuple[SourceModule, list[ast.FunctionDef | ast.AsyncFunctionDef]]]:
        seen: dict[str, tuple[SourceModule, list[ast.FunctionDef | ast.AsyncFunctionDef]]] = {}
        order: list[str] = []
        for klass in self.w.cls.__mro__:
            if klass is object or klass.__module__ in ("builtins", "typing", "abc"):
                continue
            mod, node = class_def(klass)
            local: dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]] = {}
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    local.setdefault(item.name, []).append(item)
            for name, defs in local.items():
                if name not in seen:
                    seen[name] = (mod, defs)
                    order.append(name)
        return [seen[n] for n in order]

    def write(self) -> None:
        w = self.w
        self.out.imports.add((RUNTIME.rpartition(".")[0], "_runtime", None))
        self.out.need(
            Import(defining_module(w.cls), w.cls.__name__, False), w.cls.__name__, runtime=True
        )
        doc = rewrite_doc(ast.get_docstring(self.node, clean=False))
        self.lines.append(f"class {w.sync_name}(_runtime.Wrapper[{w.cls.__name__}]):")
        self.lines += doc_literal(doc, "    ")
        if w.is_client:
            self.write_client_init()
        else:
            self.write_init()
        for mod, defs in self.members():
            name = defs[0].name
            if name in SKIPPED or (name.startswith("_") and not self.mapped_dunder(name)):
                continue
            MethodWriter(self, mod, defs).write()
        self.write_attributes()
        self.out.chunks.append("\n".join(self.lines))
        self.out.defines.add(w.sync_name)

    def mapped_dunder(self, name: str) -> bool:
        return name in PASSTHROUGH_DUNDERS or rule("method", name) is not None

    def init_def(self) -> tuple[SourceModule, ast.FunctionDef] | None:
        for klass in self.w.cls.__mro__:
            if klass is object:
                return None
            mod, node = class_def(klass)
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                    return mod, item
        return None

    def write_client_init(self) -> None:
        found = self.init_def()
        assert found is not None, "the client class needs an __init__"
        mod, fn = found
        ann = Annotations(self.gen, self.out, mod, self_name=self.w.sync_name)
        sig = Signature(fn, ann, skip_first=True)
        construct = rules("construct")
        step = None
        for r in construct:
            if any(p.name == r.match for p in sig.params):
                use(r)
                step = r
        acls = self.w.cls.__name__
        kwargs = ", ".join(
            f'"{p.name}": {p.name}' for p in sig.params if p.kind in ("pos", "kwonly", "posonly")
        )
        L = self.lines
        L.append("")
        L.append(f"    def __init__{sig.text('None', 'self')}:")
        L += doc_literal(rewrite_doc(ast.get_docstring(fn, clean=False)), "        ")
        L.append(f"        self._init_kwargs: dict[str, Any] = {{{kwargs}}}")
        L.append(
            f"        self._handle = _runtime.ClientHandle(self, {acls}, self._init_kwargs, create=True)"
        )
        L.append("        self._client = self")
        L.append("        self._epoch = _runtime.epoch()")
        if step is not None:
            L.append(f"        if {step.match}:")
            L.append(
                "            # Obtain a token now (on the loop thread), so that a wrong key fails here."
            )
            L += _guarded(
                [f"            _runtime.run(self._handle.get().{step.becomes})"], " " * 12
            )
        self.out.need(Import("typing", "Any", False), "Any", runtime=True)
        L += [
            "",
            "    @property",
            f"    def _async(self) -> {acls}:",
            "        return self._handle.get()",
            "",
            "    @classmethod",
            f"    def _wrap(cls, obj: Any, client: Any = None) -> {self.w.sync_name}:",
            f"        if isinstance(client, {self.w.sync_name}) and client._handle.peek() is obj:",
            "            return client",
            f'        raise TypeError("this {acls} belongs to no {self.w.sync_name}")',
            "",
            "    @classmethod",
            f"    def _from_config(cls, config: dict[str, Any]) -> {self.w.sync_name}:",
            "        self = cls.__new__(cls)",
            "        self._init_kwargs = config",
            f"        self._handle = _runtime.ClientHandle(self, {acls}, config, create=False)",
            "        self._client = self",
            "        self._epoch = _runtime.epoch()",
            "        return self",
            "",
            "    def __reduce__(self) -> Any:",
            "        # Configuration only: an API key only if passed explicitly, never a stored token.",
            "        config = _runtime.client_config(self._init_kwargs, self._handle.peek())",
            f"        return ({self.w.sync_name}._from_config, (config,))",
        ]

    def write_init(self) -> None:
        found = self.init_def()
        if found is None or not self.w.exported:
            return
        handle = rule("handle", self.w.cls.__name__)
        if handle is not None:
            use(handle)  # made by the API (open()), never by the user: no constructor
            return
        mod, fn = found
        ann = Annotations(self.gen, self.out, mod, self_name=self.w.sync_name)
        sig = Signature(fn, ann, skip_first=True)
        client = self.gen.client
        acls = self.w.cls.__name__
        L = self.lines
        L.append("")
        L.append(f"    def __init__{sig.text('None', 'self')}:")
        L += doc_literal(rewrite_doc(ast.get_docstring(fn, clean=False)), "        ")
        special: dict[str, str] = {}
        bound = None
        default_getter = ""
        for p in sig.params:
            r = rule("param", p.name)
            if client is not None and r is not None and client.sync_name in names_in(p.annotation):
                use(r)
                bound, default_getter = p.name, r.becomes
                self.need_default_getter(r.becomes)
                # Like the async class: no client means the default client *at I/O time*, so
                # pure operations work offline; a path given as first segment lends its client.
                first = next((q for q in sig.params if q.kind != "kwonly"), None)
                inherit = "None"
                if first is not None and first.kind == "vararg":
                    inherit = f"_runtime.client_of({first.name}[0]) if {first.name} else None"
                elif first is not None and first.kind in ("pos", "posonly"):
                    inherit = f"_runtime.client_of({first.name})"
                L.append(f"        self._client = {p.name} if {p.name} is not None else {inherit}")
                special[p.name] = "None if self._client is None else self._client._async"
        if bound is None:
            L.append("        self._client = None")
        args = ", ".join(sig.call_args(self.conv, special))
        L.append(f"        self._async_obj = {acls}({args})")
        L.append("        self._epoch = _runtime.epoch()")
        if bound is not None:
            self.w.bound_param = bound
            r = rule("rebuild", acls)
            if r is None:
                raise GenError(f"{acls} is bound to a client but has no rebuild rule")
            use(r)
            assert client is not None
            L += [
                "",
                f"    def _rebuild(self) -> {acls}:",
                "        obj = self._async_obj",
                f"        state = self._state if obj is None else {r.becomes}(obj)",
                "        client = None if self._client is None else self._client._async",
                f"        return {acls}(state, {bound}=client)",
                "",
                f"    def _io(self) -> {acls}:",
                "        if self._client is not None:",
                "            return self._async",
                f"        return {acls}({r.becomes}(self._async), {bound}={default_getter}()._async)",
                "",
                "    def __reduce__(self) -> Any:",
                "        # The path and its client's configuration (or None: the default where unpickled).",
                f"        return (_runtime.restore, ({self.w.sync_name}, {r.becomes}(self._async), self._client))",
            ]
            self.out.need(Import("typing", "Any", False), "Any", runtime=True)

    def need_default_getter(self, name: str) -> None:
        client = self.gen.client
        assert client is not None
        if client.output is not self.out:
            self.out.need(Import(client.output.module, name, False), name, runtime=True)

    def write_attributes(self) -> None:
        """Public instance attributes set in ``__init__`` (``self.x: T = ...``) as read-only properties."""
        found = self.init_def()
        if found is None:
            return
        mod, fn = found
        params = {a.arg: a.annotation for a in [*fn.args.args, *fn.args.kwonlyargs]}
        existing = {d[0].name for _, d in self.members()}
        ann = Annotations(self.gen, self.out, mod, self_name=self.w.sync_name)
        for stmt in ast.walk(fn):
            target: ast.expr | None = None
            annotation: ast.expr | None = None
            if isinstance(stmt, ast.AnnAssign):
                target, annotation = stmt.target, stmt.annotation
            elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
                target = stmt.targets[0]
            if not (
                isinstance(target, ast.Attribute)
                and isinstance(target.value, ast.Name)
                and target.value.id == "self"
            ):
                continue
            name = target.attr
            if name.startswith("_") or name in existing:
                continue
            if (
                annotation is None
                and isinstance(stmt, ast.Assign)
                and isinstance(stmt.value, ast.Name)
            ):
                annotation = params.get(stmt.value.id)
            if annotation is None:
                continue
            existing.add(name)
            sync_ann = ann.rewrite(annotation)
            self.lines += [
                "",
                "    @property",
                f"    def {name}(self) -> {ast.unparse(sync_ann) if sync_ann is not None else 'Any'}:",
                *self.conv.ret(sync_ann, f"self._async.{name}", "self._client", " " * 8),
            ]


class MethodWriter:
    def __init__(
        self, cw: ClassWriter, mod: SourceModule, defs: list[ast.FunctionDef | ast.AsyncFunctionDef]
    ) -> None:
        self.cw = cw
        self.mod = mod
        self.defs = defs
        self.ann = Annotations(cw.gen, cw.out, mod, self_name=cw.w.sync_name)

    def write(self) -> None:
        getters = [
            d
            for d in self.defs
            if "property" in decorator_names(d) or "cached_property" in decorator_names(d)
        ]
        setters = [d for d in self.defs if "setter" in decorator_names(d)]
        overloads = [d for d in self.defs if "overload" in decorator_names(d)]
        impls = [
            d for d in self.defs if d not in getters and d not in setters and d not in overloads
        ]
        if getters:
            self.write_property(getters[0], setters[0] if setters else None)
            return
        for d in overloads:
            self.write_method(d, overload=True)
        if impls:
            self.write_method(impls[-1], overload=False)

    def write_property(
        self,
        getter: ast.FunctionDef | ast.AsyncFunctionDef,
        setter: ast.FunctionDef | ast.AsyncFunctionDef | None,
    ) -> None:
        L = self.cw.lines
        name = getter.name
        ret = self.ann.rewrite(getter.returns)
        L += [
            "",
            "    @property",
            f"    def {name}(self) -> {ast.unparse(ret) if ret is not None else 'Any'}:",
        ]
        L += doc_literal(rewrite_doc(ast.get_docstring(getter, clean=False)), "        ")
        client = self.cw.gen.client
        if (
            ret is not None
            and self.cw.w.bound_param is not None
            and client is not None
            and ast.unparse(ret) == client.sync_name
        ):
            self.client_getter(ret)
        else:
            L += self.cw.conv.ret(ret, f"self._async.{name}", "self._client", " " * 8)
        if setter is not None:
            sig = Signature(setter, self.ann, skip_first=True)
            p = sig.params[0]
            L += ["", f"    @{name}.setter", f"    def {name}{sig.text('None', 'self')}:"]
            L.append(f"        self._async.{name} = {self.cw.conv.unwrap(p.annotation, p.name)}")

    def write_method(self, fn: ast.FunctionDef | ast.AsyncFunctionDef, *, overload: bool) -> None:
        cw = self.cw
        decorators = decorator_names(fn)
        is_static = "staticmethod" in decorators
        is_class = "classmethod" in decorators
        known = {"staticmethod", "classmethod", "overload", "abstractmethod"}
        cm = [r for r in rules("decorator") if r.match in decorators]
        unknown = [d for d in decorators if d not in known and not any(r.match == d for r in cm)]
        if unknown:
            raise GenError(f"{cw.w.cls.__name__}.{fn.name}: no rule for decorator(s) {unknown}")
        sync_name = fn.name
        r = rule("method", fn.name)
        if r is not None:
            use(r)
            sync_name = r.becomes
        sig = Signature(fn, self.ann, skip_first=not is_static)
        returns = sig.returns
        kind = "direct"
        if cm:
            for x in cm:
                use(x)
            kind = "cm"
            returns = self.cm_type(returns)
        elif is_async_generator(fn):
            kind = "iter"
        elif isinstance(fn, ast.AsyncFunctionDef):
            kind = "run"
        if kind in ("direct", "run") and _subscript_name(returns) in ("Iterator", "Iterable"):
            kind = "iter"  # a def (or coroutine) returning an async iterator
        if kind in ("direct", "run") and _subscript_name(returns) == "AbstractContextManager":
            kind = "cm"
        L = cw.lines
        L.append("")
        if overload:
            cw.out.need(Import("typing", "overload", False), "overload", runtime=True)
            L.append("    @overload")
        if is_static:
            L.append("    @staticmethod")
        if is_class:
            L.append("    @classmethod")
        first = None if is_static else ("cls" if is_class else "self")
        L.append(f"    def {sync_name}{sig.text(returns, first)}:")
        doc = doc_literal(rewrite_doc(ast.get_docstring(fn, clean=False)), "        ")
        if overload:
            L[-1] += " ..."
            return
        L += doc
        io = kind != "direct" or self.returns_handle(returns)
        if is_static or is_class:
            target = cw.w.cls.__name__
        else:
            # I/O goes through _io(): a client-bound object without a client resolves the sync
            # default client there, in the calling thread (never on the loop thread).
            target = "self._io()" if io else "self._async"
        if any("overload" in decorator_names(d) for d in self.defs):
            # The implementation's signature is wider than each async overload: mypy checks the
            # overloads themselves, and the call is the same one.
            cw.out.need(Import("typing", "cast", False), "cast", runtime=True)
            cw.out.need(Import("typing", "Any", False), "Any", runtime=True)
            target = f"cast(Any, {target})"
        client = "None" if (is_static or is_class) else "self._client"
        args = sig.call_args(cw.conv)
        call_args = ", ".join([f"{target}.{fn.name}", *args])
        direct = f"{target}.{fn.name}({', '.join(args)})"
        item = _subscript_arg(returns)
        fast = getattr(cw.w.cls, "__sync_fast_paths__", {}).get(fn.name)
        if fast is not None and kind == "run" and not (is_static or is_class):
            # A sync method of the async class that answers from what it holds already (no
            # I/O), or None: called on the caller's thread, it saves the hop to the loop.
            L.append(f"        ready = {target}.{fast}({', '.join(args)})")
            L.append("        if ready is not None:")
            L.append("            return ready")
        if (
            fn.name == "__aenter__"
            and returns is not None
            and ast.unparse(returns) == cw.w.sync_name
        ):
            L += _guarded([f"        _runtime.run({call_args})"], " " * 8)
            L.append("        return self")
        elif fn.name == "__aiter__" and returns is not None:
            if ast.unparse(returns) != cw.w.sync_name:
                raise GenError(f"{cw.w.cls.__name__}.__aiter__ must return the object itself")
            L.append("        return self")
        elif fn.name == "__anext__":
            L.append("        try:")
            L += cw.conv.ret(returns, f"_runtime.run({call_args})", client, " " * 12)
            L.append("        except StopAsyncIteration:")
            L.append("            raise StopIteration from None")
        elif kind == "run":
            L += _guarded(
                cw.conv.ret(returns, f"_runtime.run({call_args})", client, " " * 8), " " * 8
            )
        elif kind == "iter":
            convert = cw.conv.converter(item, client)
            if convert is None:
                L.append(f"        return _runtime.iterate({call_args})")
            else:
                L.append(f"        return _runtime.iterate_as({convert}, {call_args})")
        elif kind == "cm":
            convert = cw.conv.converter(item, client) or "None"
            L.append(f"        return _runtime.SyncContextManager({convert}, {call_args})")
        elif (
            fn.name not in PASSTHROUGH_DUNDERS
            and returns is not None
            and cw.w.bound_param is not None
            and cw.gen.client is not None
            and ast.unparse(returns) == cw.gen.client.sync_name
        ):
            self.client_getter(returns)
        else:
            if fn.name == "__repr__":
                L.append("        return _runtime.sync_repr(self._async)")
            elif fn.name in ("__eq__", "__ne__") or (
                fn.name in PASSTHROUGH_DUNDERS
                and any(
                    p.annotation is not None and ast.unparse(p.annotation) in ("object", "Any")
                    for p in sig.params
                )
            ):
                uargs = ", ".join(f"_runtime.unwrap({p.name})" for p in sig.params)
                L += cw.conv.ret(returns, f"{target}.{fn.name}({uargs})", client, " " * 8)
            else:
                L += cw.conv.ret(returns, direct, client, " " * 8)

    def returns_handle(self, returns: ast.expr | str | None) -> bool:
        """Whether a sync method returns an object doing I/O later (an open file, a context manager)."""
        if not isinstance(returns, ast.expr):
            return False
        handles = {r.match for r in [*rules("handle"), *rules("cmclass")]}
        return any(getattr(n, "_jetraw_async", None) in handles for n in ast.walk(returns))

    def client_getter(self, returns: ast.expr) -> None:
        """A client-bound object's client: its own, else the sync default (never the async one)."""
        client = self.cw.gen.client
        assert client is not None
        r = rule("param", self.cw.w.bound_param or "")
        assert r is not None
        self.cw.need_default_getter(r.becomes)
        self.cw.lines.append(
            f"        return self._client if self._client is not None else {r.becomes}()"
        )

    def cm_type(self, returns: ast.expr | None) -> ast.expr:
        # @asynccontextmanager on `-> AsyncIterator[T]` (rewritten to Iterator[T]) → AbstractContextManager[T]
        item = _subscript_arg(returns)
        self.cw.out.need(
            Import("contextlib", "AbstractContextManager", True),
            "AbstractContextManager",
            runtime=False,
        )
        return ast.Subscript(
            ast.Name("AbstractContextManager", ast.Load()),
            item or ast.Name("Any", ast.Load()),
            ast.Load(),
        )


class FunctionWriter:
    def __init__(self, gen: Generator, fn: Any, out: Output) -> None:
        self.gen = gen
        self.fn = fn
        self.out = out
        self.mod = source_module(defining_module(fn))
        node = self.mod.toplevel.get(fn.__name__)
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            raise GenError(f"{self.mod.name}.{fn.__name__} not found in {self.mod.path}")
        self.node = node
        self.ann = Annotations(gen, out, self.mod)

    @property
    def conv(self) -> Conversions:
        return Conversions(self.gen, self.out)

    def write_default(self, name: str) -> None:
        r = rule("default", name)
        assert r is not None
        assert self.gen.client is not None
        use(r)
        client = self.gen.client.sync_name
        sig = Signature(self.node, self.ann, skip_first=False)
        L = [f"def {name}{sig.text(sig.returns)}:"]
        L += doc_literal(rewrite_doc(ast.get_docstring(self.node, clean=False)), "    ")
        method = r.becomes.rpartition(".")[2]
        args = ", ".join(p.name for p in sig.params)
        L.append(f"    {'return ' if method == 'get' else ''}_DEFAULT.{method}({args})")
        if "_DEFAULT" not in self.out.defines:
            self.out.defines.add("_DEFAULT")
            self.out.chunks.append(
                "# The sync facade's own default, separate from the async one: an AsyncClient belongs\n"
                "# to one event loop.\n"
                f"_DEFAULT: _runtime.DefaultClient[{client}] = _runtime.DefaultClient({client})"
            )
        self.out.chunks.append("\n".join(L))

    def write(self) -> None:
        fn = self.node
        name = fn.name
        sig = Signature(fn, self.ann, skip_first=False)
        client = self.gen.client
        L = [f"def {name}{sig.text(sig.returns)}:"]
        L += doc_literal(rewrite_doc(ast.get_docstring(fn, clean=False)), "    ")
        special: dict[str, str] = {}
        client_expr = "None"
        for p in sig.params:
            r = rule("param", p.name)
            if r is not None and client is not None and client.sync_name in names_in(p.annotation):
                use(r)
                if client.output is not self.out:
                    self.out.need(
                        Import(client.output.module, r.becomes, False), r.becomes, runtime=True
                    )
                    self.out.need(
                        Import(client.output.module, client.sync_name, False),
                        client.sync_name,
                        runtime=True,
                    )
                L.append(f"    {p.name} = {p.name} if {p.name} is not None else {r.becomes}()")
                special[p.name] = f"{p.name}._async"
                client_expr = p.name
        self.out.imports.add((RUNTIME.rpartition(".")[0], "_runtime", None))
        alias = f"_async_{name}"
        self.out.imports.add((fn_module(self.fn), name, alias))
        args = sig.call_args(self.conv, special)
        if is_async_generator(fn):
            convert = self.conv.converter(_subscript_arg(sig.returns), client_expr)
            call = ", ".join([alias, *args])
            if convert is None:
                L.append(f"    return _runtime.iterate({call})")
            else:
                L.append(f"    return _runtime.iterate_as({convert}, {call})")
        else:
            call = f"_runtime.run({', '.join([alias, *args])})"
            L += _guarded(self.conv.ret(sig.returns, call, client_expr, " " * 4), " " * 4)
        self.out.chunks.append("\n".join(L))


def _guarded(lines: list[str], indent: str) -> list[str]:
    """``lines`` (a call of ``_runtime.run``) re-raising its error from this frame.

    The error is raised again here with the sync runtime's frames cut, so a traceback shows the
    user's line, this one facade line, then jetraw's core (``_runtime.trim``).
    """
    return [
        f"{indent}try:",
        *(f"    {line}" for line in lines),
        f"{indent}except BaseException as error:",
        f"{indent}    raise _runtime.trim(error)  # noqa: B904 (the same error: cause kept)",
    ]


def fn_module(fn: Any) -> str:
    return defining_module(fn)
