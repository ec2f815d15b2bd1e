"""The functions of Go's ``text/template`` (``funcs.go``) and how templates call functions.

:class:`Func` is a function's Go signature: parameter types are ``any`` (``interface {}``),
``value`` (a ``reflect.Value``, which may be no value), ``string``, ``int`` or ``[]string``;
the executor checks arguments against them with Go's messages. :func:`from_callable` types a
Python callable (every parameter ``any``). :data:`BUILTINS` are Go's predefined functions:
``and or not len index slice eq ne lt le gt ge print printf println html js urlquery`` with
Go's semantics and error texts (comparison of basic kinds only, byte-wise string order,
``index``/``slice`` on strings as bytes, maps, slices). A function reports failure by raising
:class:`CallError`, which execution turns into ``error calling NAME: ...``.
"""

from __future__ import annotations

import inspect
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from ocitool._go.fmt import sprint, sprintf, sprintln
from ocitool._go.strconv import is_print
from ocitool._go.strings import from_bytes, is_escaped_byte, to_bytes
from ocitool._go.values import (
    NO_VALUE,
    GoNil,
    GoSlice,
    GoStruct,
    go_type,
    is_int,
    is_map,
    is_object,
    is_slice,
    map_zero,
)

__all__ = ["BUILTINS", "CallError", "Func", "from_callable", "indirect_interface", "is_true", "truth"]


class CallError(Exception):
    """A function called by the template failed; becomes ``error calling NAME: ...``."""


class Func:
    """A template function and its Go signature: ``params`` are the types of the fixed
    parameters (``any``, ``value``, ``string``, ``int`` or ``[]string``), ``variadic`` the
    type of trailing arguments (None: not variadic). ``builtin`` marks Go's own ``and``/``or``,
    which evaluate their arguments lazily."""

    __slots__ = ("builtin", "impl", "params", "variadic")

    def __init__(
        self,
        impl: Callable[..., Any],
        params: tuple[str, ...] = (),
        variadic: str | None = None,
        *,
        builtin: bool = False,
    ) -> None:
        self.impl = impl
        self.params = params
        self.variadic = variadic
        self.builtin = builtin


def from_callable(fn: Callable[..., Any]) -> Func:
    """Wrap a caller's Python function or method: every parameter is ``interface {}``."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return Func(fn, (), "any")
    params: list[str] = []
    variadic: str | None = None
    for p in sig.parameters.values():
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty:
            params.append("any")
        elif p.kind == p.VAR_POSITIONAL:
            variadic = "any"
    return Func(fn, tuple(params), variadic)


def indirect_interface(v: Any) -> Any:
    """A nil ``interface {}`` (None) is no value, as Go's ``indirectInterface`` makes it."""
    return NO_VALUE if v is None else v


def is_true(v: Any) -> tuple[bool, bool]:
    """text/template's truth: the zero value of a type is false."""
    if v is NO_VALUE or v is None:
        return False, True
    if isinstance(v, bool):
        return v, True
    if isinstance(v, (int, float)):
        return v != 0, True
    if isinstance(v, GoNil):
        return False, True
    if isinstance(v, GoStruct):
        return True, True
    if isinstance(v, (str, Mapping, list, tuple)):
        return len(v) > 0, True
    if is_object(v) or callable(v):
        return True, True
    return False, False


def truth(v: Any) -> bool:
    """Whether ``v`` counts as true in ``if``, ``and``, ``or`` and ``not``."""
    return is_true(indirect_interface(v))[0]


def _index_arg(index: Any, cap: int) -> int:
    if index is NO_VALUE:
        raise CallError("cannot index slice/array with nil")
    if not is_int(index):
        raise CallError(f"cannot index slice/array with type {go_type(index)}")
    if index < 0 or index > cap:
        raise CallError(f"index out of range: {index}")
    return int(index)


def _fn_index(item: Any, *indexes: Any) -> Any:
    item = indirect_interface(item)
    if item is NO_VALUE:
        raise CallError("index of untyped nil")
    for index in indexes:
        index = indirect_interface(index)
        if item is None or (isinstance(item, GoNil) and item.kind == "pointer"):
            raise CallError("index of nil pointer")
        if isinstance(item, str):
            b = to_bytes(item)
            x = _index_arg(index, len(b))
            if x >= len(b):
                raise CallError("reflect: string index out of range")
            item = b[x]
        elif is_slice(item) or (isinstance(item, GoNil) and item.kind == "slice"):
            x = _index_arg(index, len(item))
            if x >= len(item):
                raise CallError("reflect: slice index out of range")
            assert isinstance(item, (list, tuple))
            item = item[x]
        elif is_map(item) or (isinstance(item, GoNil) and item.kind == "map"):
            if index is NO_VALUE:
                raise CallError("value is nil; should be of type string")
            if not isinstance(index, str):
                raise CallError(f"value has type {go_type(index)}; should be string")
            item = map_zero(item) if isinstance(item, GoNil) or index not in item else item[index]
        else:
            raise CallError(f"can't index item of type {go_type(item)}")
    return item


def _fn_slice(item: Any, *indexes: Any) -> Any:
    item = indirect_interface(item)
    if item is NO_VALUE:
        raise CallError("slice of untyped nil")
    if len(indexes) > 3:
        raise CallError(f"too many slice indexes: {len(indexes)}")
    if isinstance(item, str):
        if len(indexes) == 3:
            raise CallError("cannot 3-index slice a string")
        seq: Any = to_bytes(item)
    elif is_slice(item) or (isinstance(item, GoNil) and item.kind == "slice"):
        seq = item
    else:
        raise CallError(f"can't slice item of type {go_type(item)}")
    cap = len(seq)
    idx = [0, cap, 0]
    for i, index in enumerate(indexes):
        idx[i] = _index_arg(indirect_interface(index), cap)
    if idx[0] > idx[1]:
        raise CallError(f"invalid slice index: {idx[0]} > {idx[1]}")
    if len(indexes) == 3 and idx[1] > idx[2]:
        raise CallError(f"invalid slice index: {idx[1]} > {idx[2]}")
    if isinstance(item, str):
        return from_bytes(seq[idx[0] : idx[1]])
    if isinstance(item, GoNil):
        return item
    part = list(seq[idx[0] : idx[1]])
    if isinstance(item, GoSlice):
        return GoSlice(part, elem_type=item.elem_type)
    return part


def _fn_len(item: Any) -> int:
    if item is None or (isinstance(item, GoNil) and item.kind == "pointer"):
        raise CallError("len of nil pointer")
    if item is NO_VALUE:
        raise CallError("reflect: call of reflect.Value.Type on zero Value")
    if isinstance(item, str):
        return len(to_bytes(item))
    if isinstance(item, (Mapping, list, tuple, GoNil)) and not isinstance(item, GoStruct):
        return len(item)
    raise CallError(f"len of type {go_type(item).lstrip('*') if is_object(item) else go_type(item)}")


def _fn_not(v: Any) -> bool:
    return not truth(v)


_BASIC_BOOL, _BASIC_INT, _BASIC_FLOAT, _BASIC_STRING = 1, 2, 3, 4


def _basic_kind(v: Any) -> int:
    if isinstance(v, bool):
        return _BASIC_BOOL
    if isinstance(v, int):
        return _BASIC_INT
    if isinstance(v, float):
        return _BASIC_FLOAT
    if isinstance(v, str):
        return _BASIC_STRING
    return 0


def _reflect_kind(v: Any) -> str:
    if v is NO_VALUE:
        return "invalid"
    if isinstance(v, GoNil):
        return v.kind
    if isinstance(v, GoStruct):
        return "struct"
    if isinstance(v, Mapping):
        return "map"
    if is_slice(v):
        return "slice"
    if is_object(v):
        return "pointer"
    return "other"


def _is_nil(v: Any) -> bool:
    return v is NO_VALUE or v is None or isinstance(v, GoNil)


def _comparable(v: Any) -> bool:
    if isinstance(v, GoStruct):
        return all(_comparable(x) for x in v.values())
    return not (isinstance(v, (Mapping, list, tuple)))


def _fn_eq(arg1: Any, *arg2: Any) -> bool:
    arg1 = indirect_interface(arg1)
    if not arg2:
        raise CallError("missing argument for comparison")
    k1 = _basic_kind(arg1)
    for arg in arg2:
        arg = indirect_interface(arg)
        k2 = _basic_kind(arg)
        truth = False
        if k1 != k2:
            if arg1 is not NO_VALUE and arg is not NO_VALUE:
                raise CallError("incompatible types for comparison")
        elif k1:
            truth = to_bytes(arg1) == to_bytes(arg) if k1 == _BASIC_STRING else arg1 == arg
        else:
            kind1, kind2 = _reflect_kind(arg1), _reflect_kind(arg)
            if kind1 != kind2 and "invalid" not in (kind1, kind2):
                raise CallError(
                    sprintf("non-comparable types %s: ", arg1)
                    + f"{go_type(arg1)}, {go_type(arg)}: {sprint(arg)}"
                )
            if _is_nil(arg1) or _is_nil(arg):
                truth = _is_nil(arg) == _is_nil(arg1)
            else:
                if not _comparable(arg):
                    raise CallError(sprintf("non-comparable type %s: ", arg) + go_type(arg))
                truth = arg1 is arg or (isinstance(arg1, GoStruct) and arg1 == arg)
        if truth:
            return True
    return False


def _fn_ne(a: Any, b: Any) -> bool:
    return not _fn_eq(a, b)


def _fn_lt(a: Any, b: Any) -> bool:
    a = indirect_interface(a)
    b = indirect_interface(b)
    k1 = _basic_kind(a)
    if not k1:
        raise CallError("invalid type for comparison")
    k2 = _basic_kind(b)
    if not k2:
        raise CallError("invalid type for comparison")
    if k1 != k2:
        raise CallError("incompatible types for comparison")
    if k1 == _BASIC_BOOL:
        raise CallError("invalid type for comparison")
    if k1 == _BASIC_STRING:
        return bool(to_bytes(a) < to_bytes(b))
    return bool(a < b)


def _fn_le(a: Any, b: Any) -> bool:
    return _fn_lt(a, b) or _fn_eq(a, b)


def _fn_gt(a: Any, b: Any) -> bool:
    return not _fn_le(a, b)


def _fn_ge(a: Any, b: Any) -> bool:
    return not _fn_lt(a, b)


def _eval_args(args: Sequence[Any]) -> str:
    """html/js/urlquery's argument printing: Sprint after printableValue."""
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    conv: list[Any] = []
    for a in args:
        if a is None:
            conv.append("<no value>")
        elif isinstance(a, GoNil) and a.kind == "pointer":
            conv.append(a)
        else:
            conv.append(a)
    return sprint(*conv)


_HTML_ESC: Final = {"\0": "\ufffd", '"': "&#34;", "'": "&#39;", "&": "&amp;", "<": "&lt;", ">": "&gt;"}


def _fn_html(*args: Any) -> str:
    s = _eval_args(args)
    return "".join(_HTML_ESC.get(c, c) for c in s)


_JS_ESC: Final = {
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
    "<": "\\u003C",
    ">": "\\u003E",
    "&": "\\u0026",
    "=": "\\u003D",
}


def _fn_js(*args: Any) -> str:
    s = _eval_args(args)
    out = []
    for c in s:
        if c in _JS_ESC:
            out.append(_JS_ESC[c])
        elif c < " ":
            out.append(f"\\u{ord(c):04X}")
        elif c < "\x80" or is_escaped_byte(c) or is_print(c):
            out.append(c)
        else:
            out.append(f"\\u{ord(c):04X}")
    return "".join(out)


def _fn_urlquery(*args: Any) -> str:
    return urllib.parse.quote_plus(to_bytes(_eval_args(args)), safe="")


def _fn_print(*args: Any) -> str:
    return sprint(*args)


def _fn_printf(fmt: str, *args: Any) -> str:
    return sprintf(fmt, *args)


def _fn_println(*args: Any) -> str:
    return sprintln(*args)


def _unsupported_call(*args: Any) -> Any:
    raise CallError("call is not supported")


BUILTINS: Final[Mapping[str, Func]] = {
    "and": Func(lambda *a: a[-1], ("value",), "value", builtin=True),
    "or": Func(lambda *a: a[-1], ("value",), "value", builtin=True),
    "not": Func(_fn_not, ("value",), None, builtin=True),
    "len": Func(_fn_len, ("value",), None, builtin=True),
    "index": Func(_fn_index, ("value",), "value", builtin=True),
    "slice": Func(_fn_slice, ("value",), "value", builtin=True),
    "eq": Func(_fn_eq, ("value",), "value", builtin=True),
    "ne": Func(_fn_ne, ("value", "value"), None, builtin=True),
    "lt": Func(_fn_lt, ("value", "value"), None, builtin=True),
    "le": Func(_fn_le, ("value", "value"), None, builtin=True),
    "gt": Func(_fn_gt, ("value", "value"), None, builtin=True),
    "ge": Func(_fn_ge, ("value", "value"), None, builtin=True),
    "print": Func(_fn_print, (), "any", builtin=True),
    "printf": Func(_fn_printf, ("string",), "any", builtin=True),
    "println": Func(_fn_println, (), "any", builtin=True),
    "html": Func(_fn_html, (), "any", builtin=True),
    "js": Func(_fn_js, (), "any", builtin=True),
    "urlquery": Func(_fn_urlquery, (), "any", builtin=True),
    "call": Func(_unsupported_call, ("value",), "value", builtin=True),
}
"""Go's predefined template functions (``call`` is refused: it cannot call Go funcs)."""
