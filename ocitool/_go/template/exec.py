"""The executor of Go's ``text/template`` (``exec.go``) and the :class:`Template` API.

A :class:`Template` is parsed once (:meth:`Template.parse`) and executed any number of times
against data in the value model of :mod:`ocitool._go.values` (:meth:`Template.execute`),
printing values as ``fmt``'s ``%v`` does after text/template's rules (:func:`go_format_value`).
Execution follows Go 1.24: method lookup before fields and map keys, ``missingkey`` options,
the variable scopes of ``if``/``with``/``range``, ``range`` over slices, maps (sorted keys) and
integers, ``break``/``continue``, ``template`` calls (at most 100,000 deep), argument type
checks, and Go's error messages with line and byte column
(``template: NAME:1:2: executing "NAME" at <.Foo>: ...``). Execution errors raise
:class:`~.parse.TemplateError` carrying the output written so far.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final, NoReturn, Self

from ocitool._go.fmt import sprint, sprint_indirect
from ocitool._go.strconv import quote
from ocitool._go.strings import to_bytes
from ocitool._go.template.funcs import (
    BUILTINS,
    CallError,
    Func,
    from_callable,
    indirect_interface,
    is_true,
    truth,
)
from ocitool._go.template.parse import (
    ActionNode,
    BoolNode,
    BranchNode,
    BreakNode,
    ChainNode,
    CommandNode,
    CommentNode,
    ContinueNode,
    DotNode,
    FieldNode,
    IdentifierNode,
    IfNode,
    ListNode,
    NilNode,
    Node,
    NumberNode,
    Parser,
    PipeNode,
    RangeNode,
    StringNode,
    TemplateError,
    TemplateNode,
    TextNode,
    VariableNode,
    WithNode,
)
from ocitool._go.values import (
    NIL_SLICE,
    NO_VALUE,
    GoMap,
    GoNil,
    GoStruct,
    elem_type,
    go_type,
    is_int,
    is_map,
    is_object,
    is_slice,
    map_zero,
    object_fields,
    sorted_items,
)

__all__ = ["Template", "go_format_value"]

_MISSING: Final[Any] = object()  # no piped-in final argument (Go's missingVal)


class _Break(Exception):
    """``{{break}}``: unwinds to the innermost ``range``."""


class _Continue(Exception):
    """``{{continue}}``: unwinds to the innermost ``range``'s next iteration."""


_MISSINGKEY_OPTIONS: Final = ("default", "invalid", "zero", "error")


class _State:
    """One execution: output, variable stack and the node being evaluated (for errors)."""

    def __init__(
        self,
        tmpl: Template,
        funcs: Mapping[str, Func],
        missingkey: str,
        depth: int = 0,
    ) -> None:
        self.tmpl = tmpl
        self.funcs = funcs
        self.missingkey = missingkey
        self.out: list[str] = []
        self.node: Node | None = None
        self.vars: list[list[Any]] = []
        self.depth = depth
        # The static Go type of dot when it differs from its value's (an element of a
        # []interface {} ranged over is an interface {}), for error messages.
        self.dot_static: str | None = None

    # -- variables --

    def push(self, name: str, value: Any) -> None:
        self.vars.append([name, value])

    def mark(self) -> int:
        return len(self.vars)

    def pop(self, mark: int) -> None:
        del self.vars[mark:]

    def set_var(self, name: str, value: Any) -> None:
        for i in range(len(self.vars) - 1, -1, -1):
            if self.vars[i][0] == name:
                self.vars[i][1] = value
                return
        self.errorf(f"undefined variable: {name}")

    def set_top_var(self, n: int, value: Any) -> None:
        self.vars[len(self.vars) - n][1] = value

    def var_value(self, name: str) -> Any:
        for i in range(len(self.vars) - 1, -1, -1):
            if self.vars[i][0] == name:
                return self.vars[i][1]
        self.errorf(f"undefined variable: {name}")

    # -- errors --

    def at(self, node: Node) -> None:
        self.node = node

    def errorf(self, msg: str) -> NoReturn:
        name = self.tmpl.name
        if self.node is None:
            raise TemplateError(f"template: {name}: {msg}", output="".join(self.out))
        text = self.tmpl.text
        pos = self.node.pos
        before = text[:pos]
        nl = before.rfind("\n")
        line = 1 + before.count("\n")
        col = len(to_bytes(before)) if nl < 0 else len(to_bytes(before[nl + 1 :]))
        raise TemplateError(
            f"template: {name}:{line}:{col}: executing {quote(name)} at <{self.node}>: {msg}",
            line=line,
            column=col,
            output="".join(self.out),
        )

    # -- walking --

    def walk(self, dot: Any, node: Node) -> None:
        self.at(node)
        if isinstance(node, ActionNode):
            val = self.eval_pipeline(dot, node.pipe)
            if not node.pipe.decl:
                self.print_value(node, val)
        elif isinstance(node, TextNode):
            self.out.append(node.text)
        elif isinstance(node, ListNode):
            for n in node.nodes:
                self.walk(dot, n)
        elif isinstance(node, IfNode):
            self.walk_if_or_with(False, dot, node)
        elif isinstance(node, WithNode):
            self.walk_if_or_with(True, dot, node)
        elif isinstance(node, RangeNode):
            self.walk_range(dot, node)
        elif isinstance(node, BreakNode):
            raise _Break
        elif isinstance(node, ContinueNode):
            raise _Continue
        elif isinstance(node, TemplateNode):
            self.walk_template(dot, node)
        elif isinstance(node, CommentNode):
            pass
        else:  # pragma: no cover - the parser makes no other nodes
            self.errorf(f"unknown node: {node}")

    def walk_if_or_with(self, is_with: bool, dot: Any, node: BranchNode) -> None:
        mark = self.mark()
        try:
            val = self.eval_pipeline(dot, node.pipe)
            truth, ok = is_true(indirect_interface(val))
            if not ok:
                self.errorf(f"if/with can't use {sprint(val)}")
            if truth:
                if is_with:
                    saved, self.dot_static = self.dot_static, None
                    try:
                        self.walk(val, node.list)
                    finally:
                        self.dot_static = saved
                else:
                    self.walk(dot, node.list)
            elif node.else_list is not None:
                self.walk(dot, node.else_list)
        finally:
            self.pop(mark)

    def walk_range(self, dot: Any, r: RangeNode) -> None:
        self.at(r)
        mark0 = self.mark()
        try:
            val = self.eval_pipeline(dot, r.pipe)
            mark = self.mark()
            decl = r.pipe.decl

            def one_iteration(index: Any, elem: Any) -> None:
                if decl:
                    if r.pipe.is_assign:
                        self.set_var(decl[0].ident[0], index if len(decl) > 1 else elem)
                    else:
                        self.set_top_var(1, elem)
                if len(decl) > 1:
                    if r.pipe.is_assign:
                        self.set_var(decl[1].ident[0], elem)
                    else:
                        self.set_top_var(2, index)
                saved = self.dot_static
                self.dot_static = elem_static
                try:
                    self.walk(elem, r.list)
                except _Continue:
                    pass
                finally:
                    self.pop(mark)
                    self.dot_static = saved

            ran = False
            elem_static: str | None = None
            if isinstance(val, (list, tuple, Mapping)) and not isinstance(val, GoStruct):
                elem_static = elem_type(val)
            if is_int(val):
                if len(decl) > 1:
                    self.errorf(f"can't use {val} to iterate over more than one variable")
                for v in range(val):
                    ran = True
                    one_iteration(NO_VALUE, v)
            elif is_slice(val) or (isinstance(val, GoNil) and val.kind == "slice"):
                for i, e in enumerate(list(val) if not isinstance(val, GoNil) else []):
                    ran = True
                    one_iteration(i, e)
            elif is_map(val) or (isinstance(val, GoNil) and val.kind == "map"):
                items = [] if isinstance(val, GoNil) else sorted_items(val)
                for k, e in items:
                    ran = True
                    one_iteration(k, e)
            elif val is NO_VALUE or val is None:
                pass
            else:
                self.errorf(f"range can't iterate over {sprint(val)}")
            if not ran and r.else_list is not None:
                self.walk(dot, r.else_list)
        except _Break:
            pass
        finally:
            self.pop(mark0)

    def walk_template(self, dot: Any, t: TemplateNode) -> None:
        self.at(t)
        tree = self.tmpl.trees.get(t.name)
        if tree is None:
            self.errorf(f"template {quote(t.name)} not defined")
        if self.depth >= 100000:
            self.errorf("exceeded maximum template depth (100000)")
        dot = self.eval_pipeline(dot, t.pipe)
        saved_vars, saved_node, saved_static = self.vars, self.node, self.dot_static
        self.vars = [["$", dot]]
        self.dot_static = None
        self.depth += 1
        try:
            self.walk(dot, tree)
        finally:
            self.vars, self.node, self.dot_static = saved_vars, saved_node, saved_static
            self.depth -= 1

    # -- evaluation --

    def eval_pipeline(self, dot: Any, pipe: PipeNode | None) -> Any:
        if pipe is None:
            return NO_VALUE
        self.at(pipe)
        value: Any = _MISSING
        for cmd in pipe.cmds:
            value = self.eval_command(dot, cmd, value)
            # A nil interface {} result is "no value" from here on, as in Go.
            if value is None:
                value = NO_VALUE
        for var in pipe.decl:
            if pipe.is_assign:
                self.set_var(var.ident[0], value)
            else:
                self.push(var.ident[0], value)
        return value

    def not_a_function(self, args: list[Node] | None, final: Any) -> None:
        if (args is not None and len(args) > 1) or final is not _MISSING:
            assert args is not None
            self.errorf(f"can't give argument to non-function {args[0]}")

    def eval_command(self, dot: Any, cmd: CommandNode, final: Any) -> Any:
        first = cmd.args[0]
        if isinstance(first, FieldNode):
            return self.eval_field_node(dot, first, cmd.args, final)
        if isinstance(first, ChainNode):
            return self.eval_chain_node(dot, first, cmd.args, final)
        if isinstance(first, IdentifierNode):
            return self.eval_function(dot, first, cmd, cmd.args, final)
        if isinstance(first, PipeNode):
            self.not_a_function(cmd.args, final)
            return self.eval_pipeline(dot, first)
        if isinstance(first, VariableNode):
            return self.eval_variable_node(dot, first, cmd.args, final)
        self.at(first)
        self.not_a_function(cmd.args, final)
        if isinstance(first, BoolNode):
            return first.value
        if isinstance(first, DotNode):
            return dot
        if isinstance(first, NilNode):
            self.errorf("nil is not a command")
        if isinstance(first, NumberNode):
            return self.ideal_constant(first)
        if isinstance(first, StringNode):
            return first.text
        self.errorf(f"can't evaluate command {quote(str(first))}")

    def ideal_constant(self, c: NumberNode) -> Any:
        self.at(c)
        text = c.text
        is_hex_int = (
            len(text) > 2 and text[0] == "0" and text[1] in "xX" and not any(ch in text for ch in "pP")
        )
        if c.is_float and not is_hex_int and not text.startswith("'") and any(ch in text for ch in ".eEpP"):
            return c.float64
        if c.is_int:
            if not -(1 << 63) <= c.int64 < (1 << 63):
                self.errorf(f"{text} overflows int")
            return c.int64
        if c.is_uint:
            self.errorf(f"{text} overflows int")
        return NO_VALUE

    def eval_field_node(self, dot: Any, field: FieldNode, args: list[Node] | None, final: Any) -> Any:
        self.at(field)
        return self.eval_field_chain(dot, dot, field, field.ident, args, final, self.dot_static)

    def eval_chain_node(self, dot: Any, chain: ChainNode, args: list[Node] | None, final: Any) -> Any:
        self.at(chain)
        if not chain.field:
            self.errorf("internal error: no fields in evalChainNode")
        if isinstance(chain.node, NilNode):
            self.errorf(f"indirection through explicit nil in {chain}")
        pipe = self.eval_arg(dot, None, chain.node)
        return self.eval_field_chain(dot, pipe, chain, chain.field, args, final)

    def eval_variable_node(
        self, dot: Any, variable: VariableNode, args: list[Node] | None, final: Any
    ) -> Any:
        self.at(variable)
        value = self.var_value(variable.ident[0])
        if len(variable.ident) == 1:
            self.not_a_function(args, final)
            return value
        return self.eval_field_chain(dot, value, variable, variable.ident[1:], args, final)

    def eval_field_chain(
        self,
        dot: Any,
        receiver: Any,
        node: Node,
        ident: list[str],
        args: list[Node] | None,
        final: Any,
        static: str | None = None,
    ) -> Any:
        for name in ident[:-1]:
            receiver, static = self.eval_field(dot, name, node, None, _MISSING, receiver, static)
        return self.eval_field(dot, ident[-1], node, args, final, receiver, static)[0]

    def eval_field(
        self,
        dot: Any,
        name: str,
        node: Node,
        args: list[Node] | None,
        final: Any,
        receiver: Any,
        static: str | None,
    ) -> tuple[Any, str | None]:
        """Evaluate ``receiver.name``; returns the value and its static Go type, if known."""
        if receiver is NO_VALUE:
            if self.missingkey == "error":
                self.errorf(f"nil data; no entry for key {quote(name)}")
            return NO_VALUE, None
        typ = static or go_type(receiver)
        if receiver is None:
            self.errorf(f"nil pointer evaluating {typ}.{name}")
        has_args = (args is not None and len(args) > 1) or final is not _MISSING
        # Methods come first, as reflect's MethodByName is tried before fields and keys.
        method: Any = None
        fields: Mapping[str, Any] | None = None
        if is_object(receiver):
            fields = object_fields(receiver)
            cand = fields.get(name, NO_VALUE)
            if cand is not NO_VALUE and callable(cand):
                method = cand
        elif isinstance(receiver, GoMap) and name in receiver.methods:
            method = receiver.methods[name]
        if method is not None:
            return self.eval_call(dot, from_callable(method), node, name, args, final), None
        if fields is not None or isinstance(receiver, GoStruct):
            src = fields if fields is not None else receiver
            assert isinstance(src, Mapping)
            if name in src:
                if has_args:
                    self.errorf(f"{name} has arguments but cannot be invoked as function")
                return src[name], None
        elif is_map(receiver) or (isinstance(receiver, GoNil) and receiver.kind == "map"):
            if has_args:
                self.errorf(f"{name} is not a method but has arguments")
            elem = "interface {}" if isinstance(receiver, GoNil) else elem_type(receiver)
            if not isinstance(receiver, GoNil) and name in receiver:
                return receiver[name], elem
            if self.missingkey == "zero":
                return map_zero(receiver), elem
            if self.missingkey == "error":
                self.errorf(f"map has no entry for key {quote(name)}")
            return NO_VALUE, None
        elif isinstance(receiver, GoNil) and receiver.kind == "pointer":
            self.errorf(f"nil pointer evaluating {typ}.{name}")
        self.errorf(f"can't evaluate field {name} in type {typ}")

    def eval_function(
        self,
        dot: Any,
        node: IdentifierNode,
        cmd: Node,
        args: list[Node] | None,
        final: Any,
    ) -> Any:
        self.at(node)
        name = node.ident
        fn = self.funcs.get(name)
        if fn is None:
            self.errorf(f"{quote(name)} is not a defined function")
        return self.eval_call(dot, fn, cmd, name, args, final)

    def eval_call(
        self,
        dot: Any,
        fn: Func,
        node: Node,
        name: str,
        args: list[Node] | None,
        final: Any,
    ) -> Any:
        argn: list[Node] = list(args[1:]) if args is not None else []
        num_in = len(argn) + (0 if final is _MISSING else 1)
        num_fixed = len(argn)
        if fn.variadic is not None:
            num_fixed = len(fn.params)
            if num_in < num_fixed:
                self.errorf(
                    f"wrong number of args for {name}: want at least {len(fn.params)} got {len(argn)}"
                )
        elif num_in != len(fn.params):
            self.errorf(f"wrong number of args for {name}: want {len(fn.params)} got {num_in}")

        if fn.builtin and name in ("and", "or"):
            v: Any = NO_VALUE
            for a in argn:
                v = self.eval_arg(dot, "value", a)
                if truth(v) == (name == "or"):
                    return v
            if final is not _MISSING:
                v = self.validate_type(final, "value")
            return v

        argv: list[Any] = []
        i = 0
        while i < num_fixed and i < len(argn):
            argv.append(self.eval_arg(dot, fn.params[i], argn[i]))
            i += 1
        if fn.variadic is not None:
            while i < len(argn):
                argv.append(self.eval_arg(dot, fn.variadic, argn[i]))
                i += 1
        if final is not _MISSING:
            if fn.variadic is not None:
                t = fn.params[num_in - 1] if num_in - 1 < num_fixed else fn.variadic
            else:
                t = fn.params[-1]
            argv.append(self.validate_type(final, t))
        try:
            return fn.impl(*argv)
        except CallError as e:
            self.at(node)
            self.errorf(f"error calling {name}: {e}")
        except TemplateError:
            raise
        except Exception as e:  # a caller's function failed: Go reports its panic value
            self.at(node)
            self.errorf(f"error calling {name}: {e}")

    def zero_of(self, typ: str) -> Any:
        return {"any": None, "value": NO_VALUE, "[]string": NIL_SLICE}[typ]

    def validate_type(self, value: Any, typ: str | None) -> Any:
        if value is NO_VALUE:
            if typ is None:
                return NO_VALUE
            if typ in ("any", "value", "[]string"):
                return self.zero_of(typ)
            self.errorf(f"invalid value; expected {typ}")
        if typ is None or typ in ("any", "value"):
            return value
        ok = False
        if typ == "string":
            ok = isinstance(value, str)
        elif typ == "int":
            ok = is_int(value)
        elif typ == "[]string":
            ok = (isinstance(value, GoNil) and value.kind == "slice") or (
                is_slice(value) and elem_type(value) == "string"
            )
        if not ok:
            self.errorf(f"wrong type for value; expected {typ}; got {go_type(value)}")
        return value

    def eval_arg(self, dot: Any, typ: str | None, n: Node) -> Any:
        self.at(n)
        if isinstance(n, DotNode):
            return self.validate_type(dot, typ)
        if isinstance(n, NilNode):
            if typ in ("any", "value", "[]string"):
                return self.zero_of(typ)
            self.errorf(f"cannot assign nil to {typ}")
        if isinstance(n, FieldNode):
            return self.validate_type(self.eval_field_node(dot, n, [n], _MISSING), typ)
        if isinstance(n, VariableNode):
            return self.validate_type(self.eval_variable_node(dot, n, None, _MISSING), typ)
        if isinstance(n, PipeNode):
            return self.validate_type(self.eval_pipeline(dot, n), typ)
        if isinstance(n, IdentifierNode):
            return self.validate_type(self.eval_function(dot, n, n, None, _MISSING), typ)
        if isinstance(n, ChainNode):
            return self.validate_type(self.eval_chain_node(dot, n, None, _MISSING), typ)
        if typ == "int":
            if isinstance(n, NumberNode) and n.is_int:
                return n.int64
            self.errorf(f"expected integer; found {n}")
        if typ in ("any", "value"):
            return self.eval_empty_interface(dot, n)
        if typ == "string":
            if isinstance(n, StringNode):
                return n.text
            self.errorf(f"expected string; found {n}")
        self.errorf(f"can't handle {n} for arg of type {typ}")

    def eval_empty_interface(self, dot: Any, n: Node) -> Any:
        self.at(n)
        if isinstance(n, BoolNode):
            return n.value
        if isinstance(n, NumberNode):
            return self.ideal_constant(n)
        if isinstance(n, StringNode):
            return n.text
        self.errorf(f"can't handle assignment of {n} to empty interface argument")

    def print_value(self, node: Node, v: Any) -> None:
        self.at(node)
        s, ok = _printable(v)
        if not ok:
            self.errorf(f"can't print {node} of type {go_type(v)}")
        self.out.append(s)


class Template:
    """A parsed template. Build with :meth:`parse`, run with :meth:`execute`.

    ``name`` and ``text`` are the template's; ``trees`` holds it and every template it
    defines, by name; ``funcs`` is the function table it was parsed with.
    """

    __slots__ = ("funcs", "name", "root", "text", "trees")

    def __init__(
        self, name: str, text: str, root: ListNode, trees: dict[str, ListNode], funcs: Mapping[str, Func]
    ) -> None:
        self.name = name
        self.text = text
        self.root = root
        self.trees = trees
        self.funcs = funcs

    @classmethod
    def parse(
        cls,
        text: str,
        *,
        name: str = "",
        funcs: Mapping[str, Callable[..., Any] | Func] | None = None,
    ) -> Self:
        """Parse ``text`` as Go's ``template.New(name).Funcs(funcs).Parse(text)`` would.

        The functions available are Go's builtins and ``funcs``, which may replace them:
        a :class:`Func` keeps its Go signature, a plain Python callable takes any values.
        Raises :class:`TemplateError` with Go's message (``template: NAME:LINE: ...``).
        """
        table: dict[str, Func] = dict(BUILTINS)
        table.update(_func_table(funcs))
        trees: dict[str, ListNode] = {}
        parser = Parser(name, text, frozenset(table), trees)
        root = parser.parse()
        return cls(name, text, trees.get(name, root), trees, table)

    def execute(
        self,
        data: Any,
        *,
        missingkey: str = "default",
        funcs: Mapping[str, Callable[..., Any] | Func] | None = None,
    ) -> str:
        """Run the template with ``data`` as dot and return the text it writes.

        ``missingkey`` is Go's ``Option("missingkey=...")``: ``default``/``invalid`` (a
        missing map key is ``<no value>``), ``zero`` (the map's zero value) or ``error``;
        anything else raises ``ValueError``. ``funcs`` replaces functions by name for this
        run (as ``tmpl.Funcs`` does). Raises :class:`TemplateError` on an execution error;
        ``output`` on the error holds what had been written.
        """
        if missingkey not in _MISSINGKEY_OPTIONS:
            raise ValueError(f"missingkey must be one of {', '.join(_MISSINGKEY_OPTIONS)}")
        table = self.funcs
        if funcs:
            table = {**table, **_func_table(funcs)}
        state = _State(self, table, "invalid" if missingkey == "default" else missingkey)
        state.push("$", data)
        state.walk(data, self.root)
        return "".join(state.out)


def _func_table(funcs: Mapping[str, Callable[..., Any] | Func] | None) -> dict[str, Func]:
    return {n: f if isinstance(f, Func) else from_callable(f) for n, f in (funcs or {}).items()}


def _printable(v: Any) -> tuple[str, bool]:
    """text/template's printableValue followed by ``fmt.Fprint``."""
    if isinstance(v, GoNil) and v.kind == "pointer":
        return "<nil>", True
    if v is NO_VALUE or v is None:
        return "<no value>", True
    if is_object(v):
        return sprint_indirect(v), True
    if callable(v) and not isinstance(v, (Mapping, list, tuple)):
        return "", False
    return sprint(v), True


def go_format_value(v: Any) -> str:
    """What a template action prints for ``v``: Go's ``%v`` after text/template's rules.

    A missing value or nil interface prints ``<no value>``, a nil pointer ``<nil>``, a nil
    slice ``[]``, a nil map ``map[]``; lists print ``[a b]``, maps ``map[k:v]`` (sorted
    keys), structs ``{a b}`` and floats as Go's ``%v`` (``1e+06``).
    """
    s, ok = _printable(v)
    if not ok:
        raise TemplateError(f"can't print value of type {go_type(v)}")
    return s
