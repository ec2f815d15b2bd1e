"""Go ``text/template`` as the docker v28 CLI runs it for ``--format``, plus docker's tables.

This module reproduces, byte for byte, what ``docker image inspect --format ...``,
``docker image ls --format ...`` and ``docker history --format ...`` print: the template
language of Go's ``text/template`` (Go 1.24, the toolchain docker 28 is built with), the
``fmt`` package's printing of values, the functions docker adds (``json``, ``split``,
``join``, ``title``, ``lower``, ``upper``, ``pad``, ``truncate``), docker's ``table``
directive and the fork of ``text/tabwriter`` that aligns docker's tables.

Supported template language: text and ``{{ }}`` actions with the ``{{-``/``-}}`` trim
markers, comments, pipelines, field chains, variables (``$``, ``:=``, ``=``), ``if``/``else
if``/``else``, ``range`` (lists, maps in sorted key order, integers, ``else``, ``break``,
``continue``), ``with``/``else with``, ``define``/``template``/``block``, parenthesised
pipelines, every literal but complex numbers, and the builtins ``and or not len index slice
eq ne lt le gt ge print printf println html js urlquery`` (``call`` is not provided).

The data model
--------------
Templates execute against Python values standing for Go values:

* ``str``, ``int``, ``float``, ``bool`` are Go ``string``, ``int``, ``float64``, ``bool``.
* A ``list`` (or tuple) is a Go slice: ``[]string`` when every element is a ``str``, else
  ``[]interface {}``; :class:`GoSlice` states the element type explicitly.
* A plain ``dict`` is a Go *map*: ``{{.}}`` prints ``map[k:v ...]`` in sorted key order,
  ``json`` sorts its keys, ``.Missing`` gives ``<no value>`` and ``index`` of a missing key
  gives the map's zero value: ``""`` when every value is a ``str`` (``map[string]string``,
  what docker's typed structs hold, e.g. ``Config.Labels``), else nil. :class:`GoMap`
  states the element type, the zero value and methods explicitly.
* A :class:`GoStruct` is a Go *struct*: it prints as ``{v1 v2}``, ``json`` keeps its key
  order (the struct's field order) and ``.Missing`` is an execution error, as in Go.
* An object with a ``template_fields()`` method is a pointer to a Go struct with methods,
  like docker's formatting contexts (``.Repository``, ``.Tag``, ``.Size`` of ``docker image
  ls``): ``template_fields()`` returns the fields and methods by name; callable values are
  methods, called with the template's arguments. ``json`` encodes such an object as docker's
  ``formatter.MarshalJSON`` does (a map of its argument-less fields, sorted), or as the
  object's ``template_json()`` when it has one.
* ``None`` is a nil ``interface {}`` (a JSON ``null`` decoded into ``map[string]interface {}``):
  printed directly it shows ``<no value>``, inside a list or map ``<nil>``. Typed nils print
  differently in Go, so :data:`NIL_POINTER` (``<nil>``), :data:`NIL_SLICE` (``[]``) and
  :data:`NIL_MAP` (``map[]``) stand for them.

Which representation docker uses
--------------------------------
``docker image inspect`` (``cli/command/inspect/inspector.go``) first executes the template
against the *typed* Go struct (``image.InspectResponse``): nested structs are structs,
``Config.Env`` is a ``[]string``, ``Config.Labels`` a ``map[string]string``. Only when that
execution fails (for instance a field the struct lacks) does it decode the raw JSON into
``map[string]interface {}`` (numbers as ``json.Number``) and execute again with
``missingkey=error``. Callers mirror the typed struct: :class:`GoStruct` for structs, plain
dicts for maps; :meth:`Template.execute_with_fallback` reproduces the whole two-step run,
typing the raw JSON as docker's decoder does (:func:`go_generic` with :class:`JSONNumber`).

Known differences from Go: complex constants and the ``call`` builtin are not supported;
pointers nested inside printed values (which Go prints as addresses) print as their
contents; the Go type names in some error messages are approximations.
"""

from __future__ import annotations

import inspect
import math
import struct as _struct
import unicodedata
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final, NoReturn, Protocol, runtime_checkable

from ocitool._go import json as _gojson
from ocitool.errors import OcitoolError

__all__ = [
    "ALIGN_RIGHT",
    "DEBUG",
    "DISCARD_EMPTY_COLUMNS",
    "DOCKER_FUNCS",
    "ESCAPE",
    "FILTER_HTML",
    "NIL_MAP",
    "NIL_POINTER",
    "NIL_SLICE",
    "NO_VALUE",
    "STRIP_ESCAPE",
    "TAB_INDENT",
    "GoMap",
    "GoNil",
    "GoSlice",
    "GoStruct",
    "JSONNumber",
    "TabWriter",
    "Template",
    "TemplateError",
    "TemplateObject",
    "docker_string_width",
    "go_format_value",
    "go_generic",
    "go_quote",
    "go_sprint",
    "go_sprintf",
    "go_sprintln",
    "is_table_format",
    "prepare_format",
    "render_table",
    "strip_table",
]


# ---------------------------------------------------------------------------------------
# Errors


class TemplateError(OcitoolError, ValueError):
    """A template failed to parse or to execute.

    ``str()`` is Go's error text, e.g. ``template: :1: unexpected "}" in operand`` or
    ``template: :1:2: executing "" at <.Foo>: map has no entry for key "Foo"``; docker
    prefixes it with ``template parsing error: ``. ``line`` is the 1-based line of the
    fault; ``column`` (execution errors only) is Go's 0-based byte offset within that line.
    ``output`` holds what execution had written before it failed (Go leaves it in the writer).
    """

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
        output: str = "",
    ) -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        self.output = output


class _CallError(Exception):
    """A function called by the template failed; becomes ``error calling NAME: ...``."""


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


# ---------------------------------------------------------------------------------------
# The Go value model


class _NoValue:
    """An invalid ``reflect.Value``: what a missing map key or an absent value evaluates to."""

    _instance: _NoValue | None = None

    def __new__(cls) -> _NoValue:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NO_VALUE"

    def __bool__(self) -> bool:
        return False


NO_VALUE: Final = _NoValue()
"""The result of evaluating something that has no value (Go's invalid ``reflect.Value``)."""

_MISSING: Final[Any] = object()  # no piped-in final argument (Go's missingVal)


class GoNil:
    """A typed Go nil: ``kind`` is ``"pointer"`` (prints ``<nil>``), ``"slice"`` (``[]``) or
    ``"map"`` (``map[]``). ``type_name`` is the Go type for messages and ``%T``; for a nil
    ``map[string]string`` (``GoNil("map", "map[string]string")``) ``index`` gives ``""``."""

    __slots__ = ("kind", "type_name")

    def __init__(self, kind: str, type_name: str | None = None) -> None:
        if kind not in ("pointer", "slice", "map"):
            raise ValueError(f"GoNil kind must be pointer, slice or map, not {kind!r}")
        self.kind = kind
        self.type_name = (
            type_name
            or {
                "pointer": "*struct {}",
                "slice": "[]interface {}",
                "map": "map[string]interface {}",
            }[kind]
        )

    def __repr__(self) -> str:
        return f"GoNil({self.kind!r}, {self.type_name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GoNil) and other.kind == self.kind

    def __hash__(self) -> int:
        return hash(("GoNil", self.kind))

    def __len__(self) -> int:
        return 0


NIL_POINTER: Final = GoNil("pointer")
NIL_SLICE: Final = GoNil("slice")
NIL_MAP: Final = GoNil("map")


class GoStruct(dict[str, Any]):
    """A Go struct: keys are the field names in declaration order.

    ``type_name`` names the type in error messages; fields listed in ``omitempty`` are left
    out of ``json`` output when empty (``false``, ``0``, ``""``, nil, empty list or map), as
    Go's ``json:",omitempty"`` tag does.
    """

    type_name: str
    omitempty: frozenset[str]
    json_names: Mapping[str, str]

    def __init__(
        self,
        fields: Mapping[str, Any] | Iterable[tuple[str, Any]] = (),
        /,
        *,
        type_name: str = "struct",
        omitempty: Iterable[str] = (),
        json_names: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(fields)
        self.type_name = type_name
        self.omitempty = frozenset(omitempty)
        # Field name -> JSON key, where a json tag renames the field (``ID`` -> ``"Id"``).
        self.json_names = dict(json_names or {})


_INFER: Final[Any] = object()


class GoMap(dict[Any, Any]):
    """A Go map with an explicit element type.

    ``elem_type`` is the Go element type name (``"string"``, ``"interface {}"``...); ``zero``
    is what ``index`` returns for a missing key (default: ``""`` for ``string`` elements,
    nil otherwise); ``methods`` are methods of the map's named type, looked up before keys
    as Go does (docker's table header context has a ``Label`` method).
    """

    elem_type: str
    zero: Any
    methods: dict[str, Callable[..., Any]]
    type_name: str | None

    def __init__(
        self,
        entries: Mapping[Any, Any] | Iterable[tuple[Any, Any]] = (),
        /,
        *,
        elem_type: str | None = None,
        zero: Any = _INFER,
        methods: Mapping[str, Callable[..., Any]] | None = None,
        type_name: str | None = None,
    ) -> None:
        super().__init__(entries)
        if elem_type is None:
            elem_type = "string" if all(isinstance(v, str) for v in self.values()) else "interface {}"
        self.elem_type = elem_type
        if zero is _INFER:
            zero = "" if elem_type == "string" else None
        self.zero = zero
        self.methods = dict(methods or {})
        self.type_name = type_name


class GoSlice(list[Any]):
    """A Go slice with an explicit element type name (``"string"``, ``"interface {}"``...)."""

    elem_type: str

    def __init__(self, items: Iterable[Any] = (), /, *, elem_type: str = "interface {}") -> None:
        super().__init__(items)
        self.elem_type = elem_type


@runtime_checkable
class TemplateObject(Protocol):
    """A pointer to a Go struct with methods, such as docker's formatting contexts."""

    def template_fields(self) -> Mapping[str, Any]:
        """Fields and methods by name; callable values are methods."""
        ...


class JSONNumber(str):
    """Go's ``json.Number``: a number kept as its JSON text, a Go ``string`` kind.

    It prints as its text, compares only with strings, and ``json`` writes it as a number.
    """


def _json_number(v: int | float) -> JSONNumber:
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e21:
        return JSONNumber(str(int(v)))
    return JSONNumber(repr(v) if isinstance(v, float) else str(v))


def go_generic(value: Any, *, use_number: bool = False) -> Any:
    """``value`` (decoded JSON) typed as Go's ``json.Unmarshal`` into ``interface {}`` types it.

    Objects become ``map[string]interface {}`` and arrays ``[]interface {}`` (element types
    are never inferred as ``string``); numbers are ``float64`` (Python ``float``), or
    :class:`JSONNumber` with ``use_number`` (a decoder's ``UseNumber()``, as docker's raw
    inspect fallback decodes).
    """
    if isinstance(value, Mapping):
        return GoMap(
            {k: go_generic(v, use_number=use_number) for k, v in value.items()}, elem_type="interface {}"
        )
    if isinstance(value, (list, tuple)):
        return GoSlice((go_generic(v, use_number=use_number) for v in value), elem_type="interface {}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _json_number(value) if use_number else float(value)
    return value


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_object(v: Any) -> bool:
    return hasattr(v, "template_fields") and callable(v.template_fields)


def _is_map(v: Any) -> bool:
    return isinstance(v, Mapping) and not isinstance(v, GoStruct)


def _is_slice(v: Any) -> bool:
    return isinstance(v, (list, tuple))


def _elem_type(v: Any) -> str:
    """Element type name of a slice or map."""
    if isinstance(v, (GoMap, GoSlice)):
        return v.elem_type
    values = v.values() if isinstance(v, Mapping) else v
    return "string" if all(isinstance(x, str) for x in values) else "interface {}"


def _map_zero(m: Any) -> Any:
    if isinstance(m, GoMap):
        return m.zero
    if isinstance(m, GoNil):
        return "" if m.type_name.endswith("]string") else None
    return "" if _elem_type(m) == "string" else None


def _go_type(v: Any) -> str:
    """The Go type name of a value, for messages and ``%T``."""
    if v is None:
        return "interface {}"
    if isinstance(v, JSONNumber):
        return "json.Number"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float64"
    if isinstance(v, str):
        return "string"
    if isinstance(v, GoNil):
        return v.type_name
    if isinstance(v, GoStruct):
        return v.type_name
    if isinstance(v, GoMap) and v.type_name:
        return v.type_name
    if isinstance(v, Mapping):
        return f"map[string]{_elem_type(v)}"
    if _is_slice(v):
        return f"[]{_elem_type(v)}"
    if _is_object(v):
        name = getattr(v, "template_type_name", None)
        return str(name) if name else "*" + type(v).__name__
    if callable(v):
        return "func"
    return type(v).__name__


def _object_fields(v: Any) -> Mapping[str, Any]:
    fields = v.template_fields()
    if not isinstance(fields, Mapping):
        raise TypeError(f"{type(v).__name__}.template_fields() must return a mapping")
    return fields


def _utf8(s: str) -> bytes:
    try:
        return s.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return s.encode("utf-8", "surrogatepass")


def _from_utf8(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


def _is_escaped_byte(ch: str) -> bool:
    """A surrogate standing for an undecodable byte (``surrogateescape``)."""
    return "\udc80" <= ch <= "\udcff"


# ---------------------------------------------------------------------------------------
# fmt: Go's value printing


def _go_is_print(ch: str) -> bool:
    # Go's unicode.IsPrint is letters, marks, numbers, punctuation, symbols and ASCII
    # space: exactly what Python's isprintable() accepts.
    return ch.isprintable() and not ("\ud800" <= ch <= "\udfff")


def _quote_with(s: str, quote: str, ascii_only: bool) -> str:
    out = [quote]
    for ch in s:
        if _is_escaped_byte(ch):
            out.append(f"\\x{ord(ch) - 0xDC00:02x}")
            continue
        if "\ud800" <= ch <= "\udfff":
            ch = "\ufffd"
        if ch == quote or ch == "\\":
            out.append("\\" + ch)
            continue
        if ascii_only:
            if ch < "\x80" and _go_is_print(ch):
                out.append(ch)
                continue
        elif _go_is_print(ch):
            out.append(ch)
            continue
        esc = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}
        if ch in esc:
            out.append(esc[ch])
        elif ch < " " or ch == "\x7f":
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append(quote)
    return "".join(out)


def go_quote(s: str, *, ascii_only: bool = False) -> str:
    """``strconv.Quote`` (or ``QuoteToASCII``): a double-quoted Go string literal."""
    return _quote_with(s, '"', ascii_only)


def _can_backquote(s: str) -> bool:
    for ch in s:
        if _is_escaped_byte(ch) or ch == "\ufeff":
            return False
        if (ch < " " and ch != "\t") or ch in "`\x7f":
            return False
    return True


def _shortest_digits(v: float) -> tuple[str, int]:
    """Shortest round-tripping decimal digits of ``abs(v)`` and the decimal point position."""
    if v == 0:
        return "", 0
    _, digits, exp = Decimal(repr(abs(v))).as_tuple()
    ds = "".join(map(str, digits))
    assert isinstance(exp, int)
    stripped = ds.rstrip("0")
    exp += len(ds) - len(stripped)
    ds = stripped.lstrip("0")
    return ds, len(ds) + exp


def _fmt_e(digits: str, dp: int, prec: int, echar: str) -> str:
    first = digits[0] if digits else "0"
    out = first
    if prec > 0:
        out += "." + digits[1 : 1 + prec].ljust(prec, "0")
    exp = dp - 1 if digits else 0
    sign = "-" if exp < 0 else "+"
    exp = abs(exp)
    return f"{out}{echar}{sign}{exp:02d}"


def _fmt_f(digits: str, dp: int, prec: int) -> str:
    out = digits[:dp].ljust(dp, "0") if dp > 0 else "0"
    if prec > 0:
        frac = []
        for i in range(1, prec + 1):
            j = dp + i - 1
            frac.append(digits[j] if 0 <= j < len(digits) else "0")
        out += "." + "".join(frac)
    return out


def _format_float(v: float, verb: str, prec: int) -> str:
    """``strconv.FormatFloat(v, verb, prec, 64)``: with a sign only when negative."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    neg = math.copysign(1.0, v) < 0
    a = abs(v)
    body: str
    if verb in "bxX":
        body = _format_float_bin(a, verb, prec)
    elif prec < 0:
        digits, dp = _shortest_digits(a)
        if verb in "eE":
            body = _fmt_e(digits, dp, len(digits) - 1, verb)
        elif verb in "fF":
            body = _fmt_f(digits, dp, max(len(digits) - dp, 0))
        else:
            exp = dp - 1 if digits else 0
            if exp < -4 or exp >= 6:
                body = _fmt_e(digits, dp, len(digits) - 1, "e" if verb == "g" else "E")
            else:
                body = _fmt_f(digits, dp, max(len(digits) - dp, 0))
    elif verb in "eE":
        body = f"{a:.{prec}{verb}}"
    elif verb in "fF":
        body = f"{a:.{prec}f}"
    else:
        body = f"{a:.{max(prec, 1)}{verb}}"
        if "e" in body or "E" in body:
            mant, _, ex = body.replace("E", "e").partition("e")
            body = mant + ("e" if verb == "g" else "E") + ex[0] + ex[1:].rjust(2, "0")
    return ("-" if neg else "") + body


def _format_float_bin(a: float, verb: str, prec: int) -> str:
    if verb == "b":
        bits = _struct.unpack(">Q", _struct.pack(">d", a))[0]
        mant = bits & ((1 << 52) - 1)
        exp = (bits >> 52) & 0x7FF
        if exp == 0:
            exp += 1
        else:
            mant |= 1 << 52
        exp += -1023 - 52
        return f"{mant}p{'+' if exp >= 0 else '-'}{abs(exp)}"
    if a == 0:
        mant_s, exp = "0", 0
    else:
        h = a.hex()  # 0x1.8000000000000p+1
        mant_part, _, exp_s = h[2:].partition("p")
        exp = int(exp_s)
        lead, _, frac = mant_part.partition(".")
        if lead == "0":  # subnormal: normalise so the leading digit is 1
            m = int(lead + frac, 16)
            shift = m.bit_length() - 1
            exp -= 52 - shift
            frac_bits = m - (1 << shift)
            frac = format(frac_bits << (52 - shift), "013x") if shift < 52 else ""
        if prec >= 0:
            m = int(frac.ljust(13, "0"), 16)
            keep = prec * 4
            if keep < 52:
                drop = 52 - keep
                q, r = divmod(m, 1 << drop)
                half = 1 << (drop - 1)
                if r > half or (r == half and q & 1):
                    q += 1
                if q >> keep:
                    q = 0
                    exp += 1
                frac = format(q, f"0{prec}x") if prec else ""
            else:
                frac = frac.ljust(13, "0").ljust(prec, "0")
        else:
            frac = frac.rstrip("0")
        mant_s = "1" + ("." + frac if frac else "")
    out = f"0x{mant_s}p{'+' if exp >= 0 else '-'}{abs(exp):02d}"
    return out.upper() if verb == "X" else out


class _Printer:
    """Go's ``fmt.pp``: one Sprint/Sprintf/Sprintln call's state."""

    def __init__(self) -> None:
        self.buf: list[str] = []
        self.clear_flags()
        self.reordered = False
        self.good_arg_num = True

    def clear_flags(self) -> None:
        self.plus = self.minus = self.sharp = self.space = self.zero = False
        self.plus_v = self.sharp_v = False
        self.wid = self.prec = 0
        self.wid_present = self.prec_present = False

    def text(self) -> str:
        return "".join(self.buf)

    # -- padding (fmt.fmt) --

    def write_padding(self, n: int) -> None:
        if n > 0:
            self.buf.append(("0" if self.zero and not self.minus else " ") * n)

    def pad(self, s: str) -> None:
        if not self.wid_present or self.wid == 0:
            self.buf.append(s)
            return
        width = self.wid - len(s)
        if not self.minus:
            self.write_padding(width)
            self.buf.append(s)
        else:
            self.buf.append(s)
            self.write_padding(width)

    def truncate(self, s: str) -> str:
        if self.prec_present:
            return s[: self.prec]
        return s

    # -- primitives --

    def fmt_bool(self, v: bool, verb: str) -> None:
        if verb in "tv":
            self.pad("true" if v else "false")
        else:
            self.bad_verb(verb, v)

    def fmt_integer(self, v: int, base: int, verb: str, upper: bool) -> None:
        negative = v < 0
        u = -v if negative else v
        prec = 0
        if self.prec_present:
            prec = self.prec
            if prec == 0 and u == 0:
                old = self.zero
                self.zero = False
                self.write_padding(self.wid)
                self.zero = old
                return
        elif self.zero and not self.minus and self.wid_present:
            prec = self.wid
            if negative or self.plus or self.space:
                prec -= 1
        if base == 10:
            digits = str(u)
        elif base == 16:
            digits = format(u, "X" if upper else "x")
        elif base == 8:
            digits = format(u, "o")
        else:
            digits = format(u, "b")
        if len(digits) < prec:
            digits = "0" * (prec - len(digits)) + digits
        if self.sharp:
            if base == 2:
                digits = "0b" + digits
            elif base == 8:
                if not digits.startswith("0"):
                    digits = "0" + digits
            elif base == 16:
                digits = ("0X" if upper else "0x") + digits
        if verb == "O":
            digits = "0o" + digits
        if negative:
            digits = "-" + digits
        elif self.plus:
            digits = "+" + digits
        elif self.space:
            digits = " " + digits
        old = self.zero
        self.zero = False
        self.pad(digits)
        self.zero = old

    def fmt_rune_char(self, v: int) -> str:
        if v < 0 or v > 0x10FFFF or 0xD800 <= v <= 0xDFFF:
            return "\ufffd"
        return chr(v)

    def fmt_int(self, v: int, verb: str) -> None:
        if verb in "vd":
            self.fmt_integer(v, 10, verb, False)
        elif verb == "b":
            self.fmt_integer(v, 2, verb, False)
        elif verb in "oO":
            self.fmt_integer(v, 8, verb, False)
        elif verb == "x":
            self.fmt_integer(v, 16, verb, False)
        elif verb == "X":
            self.fmt_integer(v, 16, verb, True)
        elif verb == "c":
            self.pad(self.fmt_rune_char(v))
        elif verb == "q":
            r = self.fmt_rune_char(v)
            self.pad(_quote_with(r, "'", self.plus))
        elif verb == "U":
            self.fmt_unicode(v)
        else:
            self.bad_verb(verb, v)

    def fmt_unicode(self, v: int) -> None:
        prec = 4
        if self.prec_present and self.prec > 4:
            prec = self.prec
        s = "U+" + format(v & 0xFFFFFFFFFFFFFFFF, "X").rjust(prec, "0")
        if self.sharp and 0 <= v <= 0x10FFFF and _go_is_print(self.fmt_rune_char(v)):
            s += " '" + chr(v) + "'"
        old = self.zero
        self.zero = False
        self.pad(s)
        self.zero = old

    def fmt_float(self, v: float, verb: str) -> None:
        if verb == "v":
            self.fmt_float_with(v, "g", -1)
        elif verb in "bgGxX":
            self.fmt_float_with(v, verb, -1)
        elif verb in "feEF":
            self.fmt_float_with(v, verb, 6)
        else:
            self.bad_verb(verb, v)

    def fmt_float_with(self, v: float, verb: str, prec: int) -> None:
        if self.prec_present:
            prec = self.prec
        num = _format_float(v, verb, prec)
        if num[0] not in "+-":
            num = "+" + num
        if self.space and num[0] == "+" and not self.plus:
            num = " " + num[1:]
        if num[1] in "IN":
            old = self.zero
            self.zero = False
            if num[1] == "N" and not self.space and not self.plus:
                num = num[1:]
            self.pad(num)
            self.zero = old
            return
        if self.sharp and verb != "b":
            num = self._sharp_float(num, verb, prec)
        if self.plus or num[0] != "+":
            if self.zero and not self.minus and self.wid_present and self.wid > len(num):
                self.buf.append(num[0])
                self.write_padding(self.wid - len(num))
                self.buf.append(num[1:])
                return
            self.pad(num)
            return
        self.pad(num[1:])

    @staticmethod
    def _sharp_float(num: str, verb: str, prec: int) -> str:
        # The '#' flag keeps a decimal point and, for %g, the trailing zeros.
        digits = 0
        if verb in "vgGx":
            digits = 6 if prec == -1 else prec
        tail = ""
        has_point = False
        saw_nonzero = False
        for i in range(1, len(num)):
            ch = num[i]
            if ch == ".":
                has_point = True
            elif ch in "pP" or (ch in "eE" and verb not in "xX"):
                num, tail = num[:i], num[i:]
                break
            else:
                if ch != "0":
                    saw_nonzero = True
                if saw_nonzero:
                    digits -= 1
        if not has_point:
            if len(num) == 2 and num[1] == "0":
                digits -= 1
            num += "."
        if digits > 0:
            num += "0" * digits
        return num + tail

    def fmt_string(self, v: str, verb: str) -> None:
        if verb == "v":
            if self.sharp_v:
                self.fmt_q(v)
            else:
                self.pad(self.truncate(v))
        elif verb == "s":
            self.pad(self.truncate(v))
        elif verb in "xX":
            self.fmt_sx(_utf8(v), verb == "X")
        elif verb == "q":
            self.fmt_q(v)
        else:
            self.bad_verb(verb, v)

    def fmt_q(self, s: str) -> None:
        s = self.truncate(s)
        if self.sharp and _can_backquote(s):
            self.pad("`" + s + "`")
        else:
            self.pad(_quote_with(s, '"', self.plus))

    def fmt_sx(self, b: bytes, upper: bool) -> None:
        length = len(b)
        if self.prec_present and self.prec < length:
            length = self.prec
        width = 2 * length
        if width > 0:
            if self.space:
                if self.sharp:
                    width *= 2
                width += length - 1
            elif self.sharp:
                width += 2
        else:
            if self.wid_present:
                self.write_padding(self.wid)
            return
        if self.wid_present and self.wid > width and not self.minus:
            self.write_padding(self.wid - width)
        prefix = "0X" if upper else "0x"
        out = []
        if self.sharp:
            out.append(prefix)
        for i in range(length):
            if self.space and i > 0:
                out.append(" ")
                if self.sharp:
                    out.append(prefix)
            h = format(b[i], "02x")
            out.append(h.upper() if upper else h)
        self.buf.append("".join(out))
        if self.wid_present and self.wid > width and self.minus:
            self.write_padding(self.wid - width)

    # -- errors --

    def bad_verb(self, verb: str, arg: Any = _MISSING) -> None:
        self.buf.append("%!" + verb + "(")
        if arg is _MISSING or arg is None or arg is NO_VALUE:
            self.buf.append("<nil>")
        else:
            self.buf.append(_go_type(arg) + "=")
            self.print_arg(arg, "v")
        self.buf.append(")")

    # -- values --

    def print_arg(self, arg: Any, verb: str) -> None:
        if arg is None:
            if verb in "Tv":
                self.pad("<nil>")
            else:
                self.bad_verb(verb)
            return
        if verb == "T":
            self.pad(self.truncate(_go_type(arg)))
            return
        if verb == "p":
            self.bad_verb(verb, arg)
            return
        self.print_value(arg, verb, 0)

    def print_value(self, v: Any, verb: str, depth: int) -> None:
        if v is NO_VALUE:
            if depth == 0:
                self.buf.append("<invalid reflect.Value>")
            elif verb == "v":
                self.buf.append("<nil>")
            else:
                self.bad_verb(verb)
            return
        if v is None:
            self.buf.append("interface {}(nil)" if self.sharp_v else "<nil>")
            return
        if isinstance(v, bool):
            self.fmt_bool(v, verb)
        elif isinstance(v, int):
            self.fmt_int(v, verb)
        elif isinstance(v, float):
            self.fmt_float(v, verb)
        elif isinstance(v, str):
            self.fmt_string(v, verb)
        elif isinstance(v, GoNil):
            self.print_nil(v, verb)
        elif isinstance(v, GoStruct):
            self.print_struct(v, _go_type(v), list(v.items()), verb, depth)
        elif isinstance(v, Mapping):
            self.print_map(v, verb, depth)
        elif _is_slice(v):
            if self.sharp_v:
                self.buf.append(_go_type(v) + "{")
                sep = ", "
            else:
                self.buf.append("[")
                sep = " "
            for i, item in enumerate(v):
                if i:
                    self.buf.append(sep)
                self.print_value(item, verb, depth + 1)
            self.buf.append("}" if self.sharp_v else "]")
        elif _is_object(v):
            fields = [(k, f) for k, f in _object_fields(v).items() if not callable(f)]
            if depth == 0:
                self.buf.append("&")
            self.print_struct(v, _go_type(v).lstrip("*"), fields, verb, depth + 1)
        elif callable(v):
            # A func prints as its address in Go, which no Python value reproduces.
            if verb == "v":
                self.pad("0x0")
            else:
                self.bad_verb(verb, v)
        else:
            # Anything else prints through its str(), as a fmt.Stringer would.
            self.fmt_string(str(v), verb if verb in "vsxXq" else "v")

    def print_nil(self, v: GoNil, verb: str) -> None:
        if v.kind == "pointer":
            if verb == "v":
                if self.sharp_v:
                    self.buf.append(f"({v.type_name})(nil)")
                else:
                    self.pad("<nil>")
            elif verb in "bodxX":
                self.fmt_int(0, verb)
            elif verb == "p":
                self.pad("0x0")
            else:
                self.bad_verb(verb, v)
        elif self.sharp_v:
            self.buf.append(v.type_name + "(nil)")
        else:
            self.buf.append("[]" if v.kind == "slice" else "map[]")

    def print_map(self, m: Mapping[Any, Any], verb: str, depth: int) -> None:
        if self.sharp_v:
            self.buf.append(_go_type(m) + "{")
        else:
            self.buf.append("map[")
        for i, (k, val) in enumerate(_sorted_items(m)):
            if i:
                self.buf.append(", " if self.sharp_v else " ")
            self.print_value(k, verb, depth + 1)
            self.buf.append(":")
            self.print_value(val, verb, depth + 1)
        self.buf.append("}" if self.sharp_v else "]")

    def print_struct(
        self, v: Any, type_name: str, fields: list[tuple[str, Any]], verb: str, depth: int
    ) -> None:
        if self.sharp_v:
            self.buf.append(type_name)
        self.buf.append("{")
        for i, (name, val) in enumerate(fields):
            if i:
                self.buf.append(", " if self.sharp_v else " ")
            if self.plus_v or self.sharp_v:
                self.buf.append(f"{name}:")
            self.print_value(val, verb, depth + 1)
        self.buf.append("}")

    # -- entry points --

    def do_print(self, args: Sequence[Any]) -> None:
        prev_string = False
        for i, arg in enumerate(args):
            is_string = isinstance(arg, str)
            if i > 0 and not is_string and not prev_string:
                self.buf.append(" ")
            self.print_arg(arg, "v")
            prev_string = is_string

    def do_println(self, args: Sequence[Any]) -> None:
        for i, arg in enumerate(args):
            if i > 0:
                self.buf.append(" ")
            self.print_arg(arg, "v")
        self.buf.append("\n")

    def do_printf(self, fmt: str, args: Sequence[Any]) -> None:
        end = len(fmt)
        arg_num = 0
        after_index = False
        self.reordered = False
        i = 0
        while i < end:
            self.good_arg_num = True
            lasti = i
            while i < end and fmt[i] != "%":
                i += 1
            if i > lasti:
                self.buf.append(fmt[lasti:i])
            if i >= end:
                break
            i += 1
            self.clear_flags()
            simple_done = False
            while i < end:
                c = fmt[i]
                if c == "#":
                    self.sharp = True
                elif c == "0":
                    self.zero = not self.minus
                elif c == "+":
                    self.plus = True
                elif c == "-":
                    self.minus = True
                    self.zero = False
                elif c == " ":
                    self.space = True
                else:
                    if "a" <= c <= "z" and arg_num < len(args):
                        if c == "v":
                            self.sharp_v, self.sharp = self.sharp, False
                            self.plus_v, self.plus = self.plus, False
                        self.print_arg(args[arg_num], c)
                        arg_num += 1
                        i += 1
                        simple_done = True
                    break
                i += 1
            if simple_done:
                continue

            arg_num, i, after_index = self._arg_number(arg_num, fmt, i, len(args))

            if i < end and fmt[i] == "*":
                i += 1
                self.wid, self.wid_present, arg_num = self._int_from_arg(args, arg_num)
                if not self.wid_present:
                    self.buf.append("%!(BADWIDTH)")
                if self.wid < 0:
                    self.wid = -self.wid
                    self.minus = True
                    self.zero = False
                after_index = False
            else:
                self.wid, self.wid_present, i = _parsenum(fmt, i, end)
                if after_index and self.wid_present:
                    self.good_arg_num = False

            if i + 1 < end and fmt[i] == ".":
                i += 1
                if after_index:
                    self.good_arg_num = False
                arg_num, i, after_index = self._arg_number(arg_num, fmt, i, len(args))
                if i < end and fmt[i] == "*":
                    i += 1
                    self.prec, self.prec_present, arg_num = self._int_from_arg(args, arg_num)
                    if self.prec < 0:
                        self.prec = 0
                        self.prec_present = False
                    if not self.prec_present:
                        self.buf.append("%!(BADPREC)")
                    after_index = False
                else:
                    self.prec, self.prec_present, i = _parsenum(fmt, i, end)
                    if not self.prec_present:
                        self.prec = 0
                        self.prec_present = True

            if not after_index:
                arg_num, i, after_index = self._arg_number(arg_num, fmt, i, len(args))

            if i >= end:
                self.buf.append("%!(NOVERB)")
                break

            verb = fmt[i]
            i += 1
            if verb == "%":
                self.buf.append("%")
            elif not self.good_arg_num:
                self.buf.append(f"%!{verb}(BADINDEX)")
            elif arg_num >= len(args):
                self.buf.append(f"%!{verb}(MISSING)")
            else:
                if verb == "v":
                    self.sharp_v, self.sharp = self.sharp, False
                    self.plus_v, self.plus = self.plus, False
                self.print_arg(args[arg_num], verb)
                arg_num += 1

        if not self.reordered and arg_num < len(args):
            self.clear_flags()
            self.buf.append("%!(EXTRA ")
            for j, arg in enumerate(args[arg_num:]):
                if j:
                    self.buf.append(", ")
                if arg is None:
                    self.buf.append("<nil>")
                else:
                    self.buf.append(_go_type(arg) + "=")
                    self.print_arg(arg, "v")
            self.buf.append(")")

    def _arg_number(self, arg_num: int, fmt: str, i: int, nargs: int) -> tuple[int, int, bool]:
        if len(fmt) <= i or fmt[i] != "[":
            return arg_num, i, False
        self.reordered = True
        index, wid, ok = _parse_arg_number(fmt[i:])
        if ok and 0 <= index < nargs:
            return index, i + wid, True
        self.good_arg_num = False
        return arg_num, i + wid, ok

    @staticmethod
    def _int_from_arg(args: Sequence[Any], arg_num: int) -> tuple[int, bool, int]:
        num, is_int, new = 0, False, arg_num
        if arg_num < len(args):
            a = args[arg_num]
            if _is_int(a):
                num, is_int = a, True
            new = arg_num + 1
            if num > 1_000_000 or num < -1_000_000:
                num, is_int = 0, False
        return num, is_int, new


def _parsenum(s: str, start: int, end: int) -> tuple[int, bool, int]:
    num, isnum, i = 0, False, start
    while i < end and "0" <= s[i] <= "9":
        if num > 1_000_000 or num < -1_000_000:
            return 0, False, end
        num = num * 10 + ord(s[i]) - 48
        isnum = True
        i += 1
    return num, isnum, i


def _parse_arg_number(fmt: str) -> tuple[int, int, bool]:
    if len(fmt) < 3:
        return 0, 1, False
    for i in range(1, len(fmt)):
        if fmt[i] == "]":
            width, ok, newi = _parsenum(fmt, 1, i)
            if not ok or newi != i:
                return 0, i + 1, False
            return width - 1, i + 1, True
    return 0, 1, False


def _sort_key(k: Any) -> tuple[int, Any]:
    # fmtsort: keys of one kind order naturally; strings compare as bytes.
    if k is None:
        return (0, 0)
    if isinstance(k, bool):
        return (1, k)
    if isinstance(k, (int, float)):
        return (2, k)
    if isinstance(k, str):
        return (3, _utf8(k))
    return (4, str(k))


def _sorted_items(m: Mapping[Any, Any]) -> list[tuple[Any, Any]]:
    return sorted(m.items(), key=lambda kv: _sort_key(kv[0]))


def go_sprint(*args: Any) -> str:
    """``fmt.Sprint``: operands printed with ``%v``, spaces between non-string operands."""
    p = _Printer()
    p.do_print(args)
    return p.text()


def go_sprintln(*args: Any) -> str:
    """``fmt.Sprintln``: operands printed with ``%v``, space separated, newline terminated."""
    p = _Printer()
    p.do_println(args)
    return p.text()


def go_sprintf(fmt: str, *args: Any) -> str:
    """``fmt.Sprintf`` with Go's verbs, flags, widths, precisions and error notations."""
    p = _Printer()
    p.do_printf(fmt, args)
    return p.text()


def _printable(v: Any) -> tuple[str, bool]:
    """text/template's printableValue followed by ``fmt.Fprint``."""
    if isinstance(v, GoNil) and v.kind == "pointer":
        return "<nil>", True
    if v is NO_VALUE or v is None:
        return "<no value>", True
    if _is_object(v):
        p = _Printer()
        fields = [(k, f) for k, f in _object_fields(v).items() if not callable(f)]
        p.print_struct(v, _go_type(v).lstrip("*"), fields, "v", 1)
        return p.text(), True
    if callable(v) and not isinstance(v, (Mapping, list, tuple)):
        return "", False
    return go_sprint(v), True


def go_format_value(v: Any) -> str:
    """What a template action prints for ``v``: Go's ``%v`` after text/template's rules.

    A missing value or nil interface prints ``<no value>``, a nil pointer ``<nil>``, a nil
    slice ``[]``, a nil map ``map[]``; lists print ``[a b]``, maps ``map[k:v]`` (sorted
    keys), structs ``{a b}`` and floats as Go's ``%v`` (``1e+06``).
    """
    s, ok = _printable(v)
    if not ok:
        raise TemplateError(f"can't print value of type {_go_type(v)}")
    return s


# ---------------------------------------------------------------------------------------
# Lexer


_ERROR, _BOOL, _CHAR, _CHAR_CONSTANT, _COMMENT, _COMPLEX, _ASSIGN, _DECLARE, _EOF = range(9)
(
    _FIELD,
    _IDENTIFIER,
    _LEFT_DELIM,
    _LEFT_PAREN,
    _NUMBER,
    _PIPE,
    _RAW_STRING,
    _RIGHT_DELIM,
    _RIGHT_PAREN,
    _SPACE,
    _STRING,
    _TEXT,
    _VARIABLE,
) = range(9, 22)
_KEYWORD = 30
_BLOCK, _BREAK, _CONTINUE, _DOT, _DEFINE, _ELSE, _END, _IF, _NIL, _RANGE, _TEMPLATE, _WITH = range(31, 43)

_KEYWORDS: Final = {
    ".": _DOT,
    "block": _BLOCK,
    "break": _BREAK,
    "continue": _CONTINUE,
    "define": _DEFINE,
    "else": _ELSE,
    "end": _END,
    "if": _IF,
    "range": _RANGE,
    "nil": _NIL,
    "template": _TEMPLATE,
    "with": _WITH,
}

_LEFT, _RIGHT = "{{", "}}"
_EOF_CH: Final = ""


class _Item:
    __slots__ = ("line", "pos", "typ", "val")

    def __init__(self, typ: int, pos: int, val: str, line: int) -> None:
        self.typ = typ
        self.pos = pos
        self.val = val
        self.line = line

    def __str__(self) -> str:
        if self.typ == _EOF:
            return "EOF"
        if self.typ == _ERROR:
            return self.val
        if self.typ > _KEYWORD:
            return f"<{self.val}>"
        if len(self.val) > 10:
            return go_quote(self.val[:10]) + "..."
        return go_quote(self.val)


def _is_space(r: str) -> bool:
    return r in (" ", "\t", "\r", "\n") and r != ""


def _is_alnum(r: str) -> bool:
    if r == "":
        return False
    if r == "_":
        return True
    cat = unicodedata.category(r)
    return cat.startswith("L") or cat == "Nd"


def _fmt_U(r: str) -> str:
    """Go's ``%#U`` of a rune."""
    s = f"U+{ord(r):04X}"
    if _go_is_print(r):
        s += f" '{r}'"
    return s


class _Lexer:
    """The text/template scanner: items are produced one at a time on request."""

    def __init__(self, text: str, break_ok: bool, continue_ok: bool) -> None:
        self.input = text
        self.pos = 0
        self.start = 0
        self.at_eof = False
        self.paren_depth = 0
        self.line = 1
        self.start_line = 1
        self.item = _Item(_EOF, 0, "EOF", 1)
        self.inside_action = False
        self.break_ok = break_ok
        self.continue_ok = continue_ok

    def next(self) -> str:
        if self.pos >= len(self.input):
            self.at_eof = True
            return _EOF_CH
        r = self.input[self.pos]
        self.pos += 1
        if r == "\n":
            self.line += 1
        return r

    def peek(self) -> str:
        r = self.next()
        self.backup()
        return r

    def backup(self) -> None:
        if not self.at_eof and self.pos > 0:
            self.pos -= 1
            if self.input[self.pos] == "\n":
                self.line -= 1

    def this_item(self, typ: int) -> _Item:
        item = _Item(typ, self.start, self.input[self.start : self.pos], self.start_line)
        self.start = self.pos
        self.start_line = self.line
        return item

    def emit(self, typ: int) -> None:
        self.item = self.this_item(typ)

    def ignore(self) -> None:
        self.line += self.input.count("\n", self.start, self.pos)
        self.start = self.pos
        self.start_line = self.line

    def accept(self, valid: str) -> bool:
        r = self.next()
        if r != _EOF_CH and r in valid:
            return True
        self.backup()
        return False

    def accept_run(self, valid: str) -> None:
        while True:
            r = self.next()
            if r == _EOF_CH or r not in valid:
                break
        self.backup()

    def errorf(self, msg: str) -> None:
        self.item = _Item(_ERROR, self.start, msg, self.start_line)
        self.start = 0
        self.pos = 0
        self.input = ""

    def next_item(self) -> _Item:
        self.item = _Item(_EOF, self.pos, "EOF", self.start_line)
        state: Callable[[], Any] | None = self.lex_inside_action if self.inside_action else self.lex_text
        while state is not None:
            state = state()
        return self.item

    # -- helpers --

    def has_left_trim(self, at: int) -> bool:
        s = self.input
        return at + 1 < len(s) and s[at] == "-" and _is_space(s[at + 1])

    def has_right_trim(self, at: int) -> bool:
        s = self.input
        return at + 1 < len(s) and _is_space(s[at]) and s[at + 1] == "-"

    def at_right_delim(self) -> tuple[bool, bool]:
        if self.has_right_trim(self.pos) and self.input.startswith(_RIGHT, self.pos + 2):
            return True, True
        if self.input.startswith(_RIGHT, self.pos):
            return True, False
        return False, False

    def at_terminator(self) -> bool:
        r = self.peek()
        if _is_space(r):
            return True
        if r in (_EOF_CH, ".", ",", "|", ":", ")", "("):
            return True
        return self.input.startswith(_RIGHT, self.pos)

    # -- states --

    def lex_text(self) -> Callable[[], Any] | None:
        x = self.input.find(_LEFT, self.pos)
        if x >= 0:
            if x > self.pos:
                self.pos = x
                trim = 0
                if self.has_left_trim(self.pos + len(_LEFT)):
                    text = self.input[self.start : self.pos]
                    trim = len(text) - len(text.rstrip(" \t\r\n"))
                self.pos -= trim
                self.line += self.input.count("\n", self.start, self.pos)
                item = self.this_item(_TEXT)
                self.pos += trim
                self.ignore()
                if item.val:
                    self.item = item
                    return None
            return self.lex_left_delim
        self.pos = len(self.input)
        if self.pos > self.start:
            self.line += self.input.count("\n", self.start, self.pos)
            self.emit(_TEXT)
            return None
        self.emit(_EOF)
        return None

    def lex_left_delim(self) -> Callable[[], Any] | None:
        self.pos += len(_LEFT)
        trim = self.has_left_trim(self.pos)
        after = 2 if trim else 0
        if self.input.startswith("/*", self.pos + after):
            self.pos += after
            self.ignore()
            return self.lex_comment
        item = self.this_item(_LEFT_DELIM)
        self.inside_action = True
        self.pos += after
        self.ignore()
        self.paren_depth = 0
        self.item = item
        return None

    def lex_comment(self) -> Callable[[], Any] | None:
        self.pos += 2
        x = self.input.find("*/", self.pos)
        if x < 0:
            self.errorf("unclosed comment")
            return None
        self.pos = x + 2
        delim, trim = self.at_right_delim()
        if not delim:
            self.errorf("comment ends before closing delimiter")
            return None
        self.line += self.input.count("\n", self.start, self.pos)
        self.this_item(_COMMENT)
        if trim:
            self.pos += 2
        self.pos += len(_RIGHT)
        if trim:
            rest = self.input[self.pos :]
            self.pos += len(rest) - len(rest.lstrip(" \t\r\n"))
        self.ignore()
        return self.lex_text

    def lex_right_delim(self) -> Callable[[], Any] | None:
        _, trim = self.at_right_delim()
        if trim:
            self.pos += 2
            self.ignore()
        self.pos += len(_RIGHT)
        item = self.this_item(_RIGHT_DELIM)
        if trim:
            rest = self.input[self.pos :]
            self.pos += len(rest) - len(rest.lstrip(" \t\r\n"))
            self.ignore()
        self.inside_action = False
        self.item = item
        return None

    def lex_inside_action(self) -> Callable[[], Any] | None:
        delim, _ = self.at_right_delim()
        if delim:
            if self.paren_depth == 0:
                return self.lex_right_delim
            self.errorf("unclosed left paren")
            return None
        r = self.next()
        if r == _EOF_CH:
            self.errorf("unclosed action")
            return None
        if _is_space(r):
            self.backup()
            return self.lex_space
        if r == "=":
            self.emit(_ASSIGN)
            return None
        if r == ":":
            if self.next() != "=":
                self.errorf("expected :=")
                return None
            self.emit(_DECLARE)
            return None
        if r == "|":
            self.emit(_PIPE)
            return None
        if r == '"':
            return self.lex_quote
        if r == "`":
            return self.lex_raw_quote
        if r == "$":
            return self.lex_variable
        if r == "'":
            return self.lex_char
        if r == "." and self.pos < len(self.input):
            nxt = self.input[self.pos]
            if nxt < "0" or nxt > "9":
                return self.lex_field
        if r in "+-." or "0" <= r <= "9":
            self.backup()
            return self.lex_number
        if _is_alnum(r):
            self.backup()
            return self.lex_identifier
        if r == "(":
            self.paren_depth += 1
            self.emit(_LEFT_PAREN)
            return None
        if r == ")":
            self.paren_depth -= 1
            if self.paren_depth < 0:
                self.errorf("unexpected right paren")
                return None
            self.emit(_RIGHT_PAREN)
            return None
        if r <= "\x7f" and _go_is_print(r):
            self.emit(_CHAR)
            return None
        self.errorf(f"unrecognized character in action: {_fmt_U(r)}")
        return None

    def lex_space(self) -> Callable[[], Any] | None:
        num = 0
        while _is_space(self.peek()):
            self.next()
            num += 1
        if self.has_right_trim(self.pos - 1) and self.input.startswith(_RIGHT, self.pos + 1):
            self.backup()
            if num == 1:
                return self.lex_right_delim
        self.emit(_SPACE)
        return None

    def lex_identifier(self) -> Callable[[], Any] | None:
        while True:
            r = self.next()
            if _is_alnum(r):
                continue
            self.backup()
            word = self.input[self.start : self.pos]
            if not self.at_terminator():
                self.errorf(f"bad character {_fmt_U(r)}")
                return None
            kw = _KEYWORDS.get(word, 0)
            if kw > _KEYWORD:
                if (kw == _BREAK and not self.break_ok) or (kw == _CONTINUE and not self.continue_ok):
                    self.emit(_IDENTIFIER)
                else:
                    self.emit(kw)
            elif word[0] == ".":
                self.emit(_FIELD)
            elif word in ("true", "false"):
                self.emit(_BOOL)
            else:
                self.emit(_IDENTIFIER)
            return None

    def lex_field(self) -> Callable[[], Any] | None:
        return self.lex_field_or_variable(_FIELD)

    def lex_variable(self) -> Callable[[], Any] | None:
        if self.at_terminator():
            self.emit(_VARIABLE)
            return None
        return self.lex_field_or_variable(_VARIABLE)

    def lex_field_or_variable(self, typ: int) -> Callable[[], Any] | None:
        if self.at_terminator():
            self.emit(_VARIABLE if typ == _VARIABLE else _DOT)
            return None
        r = ""
        while True:
            r = self.next()
            if not _is_alnum(r):
                self.backup()
                break
        if not self.at_terminator():
            self.errorf(f"bad character {_fmt_U(r)}")
            return None
        self.emit(typ)
        return None

    def lex_char(self) -> Callable[[], Any] | None:
        self._lex_escaped("'", "unterminated character constant", _CHAR_CONSTANT)
        return None

    def _lex_escaped(self, close: str, unterminated: str, typ: int) -> None:
        """A quoted item with backslash escapes, ending at ``close`` on the same line."""
        while True:
            r = self.next()
            if r == "\\":
                r2 = self.next()
                if r2 != _EOF_CH and r2 != "\n":
                    continue
                self.errorf(unterminated)
                return
            if r in (_EOF_CH, "\n"):
                self.errorf(unterminated)
                return
            if r == close:
                break
        self.emit(typ)

    def lex_number(self) -> Callable[[], Any] | None:
        if not self.scan_number():
            self.errorf(f"bad number syntax: {go_quote(self.input[self.start : self.pos])}")
            return None
        sign = self.peek()
        if sign in ("+", "-") and sign != _EOF_CH:
            if not self.scan_number() or self.input[self.pos - 1] != "i":
                self.errorf(f"bad number syntax: {go_quote(self.input[self.start : self.pos])}")
                return None
            self.emit(_COMPLEX)
            return None
        self.emit(_NUMBER)
        return None

    def scan_number(self) -> bool:
        self.accept("+-")
        digits = "0123456789_"
        if self.accept("0"):
            if self.accept("xX"):
                digits = "0123456789abcdefABCDEF_"
            elif self.accept("oO"):
                digits = "01234567_"
            elif self.accept("bB"):
                digits = "01_"
        self.accept_run(digits)
        if self.accept("."):
            self.accept_run(digits)
        if len(digits) == 11 and self.accept("eE"):
            self.accept("+-")
            self.accept_run("0123456789_")
        if len(digits) == 23 and self.accept("pP"):
            self.accept("+-")
            self.accept_run("0123456789_")
        self.accept("i")
        if _is_alnum(self.peek()):
            self.next()
            return False
        return True

    def lex_quote(self) -> Callable[[], Any] | None:
        self._lex_escaped('"', "unterminated quoted string", _STRING)
        return None

    def lex_raw_quote(self) -> Callable[[], Any] | None:
        while True:
            r = self.next()
            if r == _EOF_CH:
                self.errorf("unterminated raw quoted string")
                return None
            if r == "`":
                break
        self.emit(_RAW_STRING)
        return None


# ---------------------------------------------------------------------------------------
# Literals: strconv.Unquote and the number parsing of text/template/parse


class _SyntaxError(Exception):
    pass


_SIMPLE_ESCAPES: Final = {
    "a": 7,
    "b": 8,
    "f": 12,
    "n": 10,
    "r": 13,
    "t": 9,
    "v": 11,
    "\\": 92,
}


def _unquote_char(s: str, i: int, quote: str) -> tuple[bytes, int, int | None]:
    """Decode one (possibly escaped) character of a Go literal at ``s[i]``.

    Returns its UTF-8 bytes, the next index and its rune value (None for a raw byte escape).
    """
    c = s[i]
    if c == quote and quote in "'\"":
        raise _SyntaxError
    if c != "\\":
        b = _utf8(c)
        return b, i + 1, ord(c)
    if i + 1 >= len(s):
        raise _SyntaxError
    c = s[i + 1]
    i += 2
    if c in _SIMPLE_ESCAPES:
        v = _SIMPLE_ESCAPES[c]
        return bytes([v]), i, v
    if c in "xuU":
        n = {"x": 2, "u": 4, "U": 8}[c]
        hexs = s[i : i + n]
        if len(hexs) < n or any(h not in "0123456789abcdefABCDEF" for h in hexs):
            raise _SyntaxError
        v = int(hexs, 16)
        i += n
        if c == "x":
            if quote == "'":
                return _utf8(chr(v)), i, v
            return bytes([v]), i, None
        if v > 0x10FFFF or 0xD800 <= v <= 0xDFFF:
            raise _SyntaxError
        return chr(v).encode("utf-8"), i, v
    if "0" <= c <= "7":
        octs = s[i - 1 : i + 2]
        if len(octs) < 3 or any(o not in "01234567" for o in octs):
            raise _SyntaxError
        v = int(octs, 8)
        if v > 255:
            raise _SyntaxError
        i += 2
        if quote == "'":
            return _utf8(chr(v)), i, v
        return bytes([v]), i, None
    if c in "'\"":
        if c != quote:
            raise _SyntaxError
        return c.encode(), i, ord(c)
    raise _SyntaxError


def _unquote(lit: str) -> str:
    """``strconv.Unquote`` of a double-quoted or back-quoted literal."""
    if len(lit) < 2 or lit[0] != lit[-1]:
        raise _SyntaxError
    body = lit[1:-1]
    if lit[0] == "`":
        if "`" in body:
            raise _SyntaxError
        return body.replace("\r", "")
    if lit[0] != '"':
        raise _SyntaxError
    if "\n" in body:
        raise _SyntaxError
    out = bytearray()
    i = 0
    while i < len(body):
        b, i, _ = _unquote_char(body, i, '"')
        out += b
    return _from_utf8(bytes(out))


def _underscore_ok(s: str) -> bool:
    saw = "^"
    i = 0
    if s[:1] in ("+", "-"):
        s = s[1:]
    hexa = False
    if len(s) >= 2 and s[0] == "0" and s[1].lower() in "box":
        i = 2
        saw = "0"
        hexa = s[1].lower() == "x"
    while i < len(s):
        c = s[i]
        if "0" <= c <= "9" or (hexa and "a" <= c.lower() <= "f"):
            saw = "0"
        elif c == "_":
            if saw != "0":
                return False
            saw = "_"
        else:
            if saw == "_":
                return False
            saw = "!"
        i += 1
    return saw != "_"


def _parse_int(text: str, signed: bool) -> int | None:
    """``strconv.ParseInt``/``ParseUint`` with base 0; None when it fails."""
    s = text
    neg = False
    if signed and s[:1] in ("+", "-"):
        neg = s[0] == "-"
        s = s[1:]
    if not s:
        return None
    base = 10
    body = s
    if s[0] == "0" and len(s) > 1:
        p = s[1].lower()
        if p == "x":
            base, body = 16, s[2:]
        elif p == "o":
            base, body = 8, s[2:]
        elif p == "b":
            base, body = 2, s[2:]
        else:
            base, body = 8, s[1:]
    if "_" in s and not _underscore_ok(s):
        return None
    body = body.replace("_", "")
    if not body:
        return None
    valid = "0123456789abcdef"[:base]
    if any(c.lower() not in valid for c in body):
        return None
    v = int(body, base)
    if neg:
        v = -v
    if signed:
        return v if -(1 << 63) <= v < (1 << 63) else None
    return v if v < (1 << 64) else None


def _parse_float(text: str) -> float | None:
    s = text
    if "_" in s and not _underscore_ok(s):
        return None
    t = s.replace("_", "")
    body = t.lstrip("+-")
    try:
        if body[:2].lower() == "0x":
            if "p" not in body.lower():
                return None
            v = float.fromhex(t)
        else:
            if not body or any(c not in "0123456789.eE+-" for c in body):
                return None
            v = float(t)
    except (ValueError, OverflowError):
        return None
    if math.isinf(v):
        return None
    return v


# ---------------------------------------------------------------------------------------
# Parse tree


class _Node:
    __slots__ = ("line", "pos")

    def __init__(self, pos: int, line: int = 0) -> None:
        self.pos = pos
        self.line = line


class _ListNode(_Node):
    __slots__ = ("nodes",)

    def __init__(self, pos: int) -> None:
        super().__init__(pos)
        self.nodes: list[_Node] = []

    def __str__(self) -> str:
        return "".join(str(n) for n in self.nodes)


class _TextNode(_Node):
    __slots__ = ("text",)

    def __init__(self, pos: int, text: str) -> None:
        super().__init__(pos)
        self.text = text

    def __str__(self) -> str:
        return self.text


class _CommentNode(_Node):
    __slots__ = ("text",)

    def __init__(self, pos: int, text: str) -> None:
        super().__init__(pos)
        self.text = text

    def __str__(self) -> str:
        return "{{" + self.text + "}}"


class _PipeNode(_Node):
    __slots__ = ("cmds", "decl", "is_assign")

    def __init__(self, pos: int, line: int) -> None:
        super().__init__(pos, line)
        self.is_assign = False
        self.decl: list[_VariableNode] = []
        self.cmds: list[_CommandNode] = []

    def __str__(self) -> str:
        s = ""
        if self.decl:
            s = ", ".join(str(v) for v in self.decl) + (" = " if self.is_assign else " := ")
        return s + " | ".join(str(c) for c in self.cmds)


class _ActionNode(_Node):
    __slots__ = ("pipe",)

    def __init__(self, pos: int, line: int, pipe: _PipeNode) -> None:
        super().__init__(pos, line)
        self.pipe = pipe

    def __str__(self) -> str:
        return "{{" + str(self.pipe) + "}}"


class _CommandNode(_Node):
    __slots__ = ("args",)

    def __init__(self, pos: int) -> None:
        super().__init__(pos)
        self.args: list[_Node] = []

    def __str__(self) -> str:
        return " ".join("(" + str(a) + ")" if isinstance(a, _PipeNode) else str(a) for a in self.args)


class _IdentifierNode(_Node):
    __slots__ = ("ident",)

    def __init__(self, pos: int, ident: str) -> None:
        super().__init__(pos)
        self.ident = ident

    def __str__(self) -> str:
        return self.ident


class _VariableNode(_Node):
    __slots__ = ("ident",)

    def __init__(self, pos: int, ident: str) -> None:
        super().__init__(pos)
        self.ident = ident.split(".")

    def __str__(self) -> str:
        return ".".join(self.ident)


class _DotNode(_Node):
    __slots__ = ()

    def __str__(self) -> str:
        return "."


class _NilNode(_Node):
    __slots__ = ()

    def __str__(self) -> str:
        return "nil"


class _FieldNode(_Node):
    __slots__ = ("ident",)

    def __init__(self, pos: int, ident: str) -> None:
        super().__init__(pos)
        self.ident = ident[1:].split(".")

    def __str__(self) -> str:
        return "".join("." + i for i in self.ident)


class _ChainNode(_Node):
    __slots__ = ("field", "node")

    def __init__(self, pos: int, node: _Node) -> None:
        super().__init__(pos)
        self.node = node
        self.field: list[str] = []

    def __str__(self) -> str:
        s = "(" + str(self.node) + ")" if isinstance(self.node, _PipeNode) else str(self.node)
        return s + "".join("." + f for f in self.field)


class _BoolNode(_Node):
    __slots__ = ("value",)

    def __init__(self, pos: int, value: bool) -> None:
        super().__init__(pos)
        self.value = value

    def __str__(self) -> str:
        return "true" if self.value else "false"


class _NumberNode(_Node):
    __slots__ = ("float64", "int64", "is_float", "is_int", "is_uint", "text", "uint64")

    def __init__(self, pos: int, text: str) -> None:
        super().__init__(pos)
        self.text = text
        self.is_int = self.is_uint = self.is_float = False
        self.int64 = 0
        self.uint64 = 0
        self.float64 = 0.0

    def __str__(self) -> str:
        return self.text


class _StringNode(_Node):
    __slots__ = ("quoted", "text")

    def __init__(self, pos: int, quoted: str, text: str) -> None:
        super().__init__(pos)
        self.quoted = quoted
        self.text = text

    def __str__(self) -> str:
        return self.quoted


class _EndNode(_Node):
    __slots__ = ()

    def __str__(self) -> str:
        return "{{end}}"


class _ElseNode(_Node):
    __slots__ = ()

    def __str__(self) -> str:
        return "{{else}}"


class _BranchNode(_Node):
    __slots__ = ("else_list", "list", "pipe")
    keyword = ""

    def __init__(
        self, pos: int, line: int, pipe: _PipeNode, lst: _ListNode, else_list: _ListNode | None
    ) -> None:
        super().__init__(pos, line)
        self.pipe = pipe
        self.list = lst
        self.else_list = else_list

    def __str__(self) -> str:
        s = "{{" + self.keyword + " " + str(self.pipe) + "}}" + str(self.list)
        if self.else_list is not None:
            s += "{{else}}" + str(self.else_list)
        return s + "{{end}}"


class _IfNode(_BranchNode):
    __slots__ = ()
    keyword = "if"


class _RangeNode(_BranchNode):
    __slots__ = ()
    keyword = "range"


class _WithNode(_BranchNode):
    __slots__ = ()
    keyword = "with"


class _BreakNode(_Node):
    __slots__ = ()

    def __str__(self) -> str:
        return "{{break}}"


class _ContinueNode(_Node):
    __slots__ = ()

    def __str__(self) -> str:
        return "{{continue}}"


class _TemplateNode(_Node):
    __slots__ = ("name", "pipe")

    def __init__(self, pos: int, line: int, name: str, pipe: _PipeNode | None) -> None:
        super().__init__(pos, line)
        self.name = name
        self.pipe = pipe

    def __str__(self) -> str:
        if self.pipe is None:
            return "{{template " + go_quote(self.name) + "}}"
        return "{{template " + go_quote(self.name) + " " + str(self.pipe) + "}}"


_MAX_STACK_DEPTH: Final = 10000


def _is_empty_tree(n: _Node | None) -> bool:
    if n is None:
        return True
    if isinstance(n, _ListNode):
        return all(_is_empty_tree(c) for c in n.nodes)
    if isinstance(n, _TextNode):
        return not n.text.strip(" \t\n\v\f\r\x85\xa0")
    return isinstance(n, _CommentNode)


class _Parser:
    """text/template/parse's recursive-descent parser over a shared lexer."""

    def __init__(
        self,
        name: str,
        text: str,
        funcs: frozenset[str],
        trees: dict[str, _ListNode],
        lexer: _Lexer | None = None,
    ) -> None:
        self.name = name
        self.text = text
        self.funcs = funcs
        self.trees = trees
        self.lex = lexer or _Lexer(text, "break" not in funcs, "continue" not in funcs)
        self.token: list[_Item] = [_Item(_EOF, 0, "", 1)] * 3
        self.peek_count = 0
        self.vars: list[str] = ["$"]
        self.action_line = 0
        self.range_depth = 0
        self.stack_depth = 0
        self.root: _ListNode | None = None

    # -- token plumbing --

    def next(self) -> _Item:
        if self.peek_count > 0:
            self.peek_count -= 1
        else:
            self.token[0] = self.lex.next_item()
        return self.token[self.peek_count]

    def backup(self) -> None:
        self.peek_count += 1

    def backup2(self, t1: _Item) -> None:
        self.token[1] = t1
        self.peek_count = 2

    def backup3(self, t2: _Item, t1: _Item) -> None:
        self.token[1] = t1
        self.token[2] = t2
        self.peek_count = 3

    def peek(self) -> _Item:
        if self.peek_count > 0:
            return self.token[self.peek_count - 1]
        self.peek_count = 1
        self.token[0] = self.lex.next_item()
        return self.token[0]

    def next_non_space(self) -> _Item:
        while True:
            token = self.next()
            if token.typ != _SPACE:
                return token

    def peek_non_space(self) -> _Item:
        token = self.next_non_space()
        self.backup()
        return token

    # -- errors --

    def errorf(self, msg: str) -> NoReturn:
        line = self.token[0].line
        raise TemplateError(f"template: {self.name}:{line}: {msg}", line=line)

    def expect(self, expected: int, context: str) -> _Item:
        token = self.next_non_space()
        if token.typ != expected:
            self.unexpected(token, context)
        return token

    def expect_one_of(self, e1: int, e2: int, context: str) -> _Item:
        token = self.next_non_space()
        if token.typ not in (e1, e2):
            self.unexpected(token, context)
        return token

    def unexpected(self, token: _Item, context: str) -> NoReturn:
        if token.typ == _ERROR:
            extra = ""
            if self.action_line != 0 and self.action_line != token.line:
                extra = f" in action started at {self.name}:{self.action_line}"
                if token.val.endswith(" action"):
                    extra = extra[len(" in action") :]
            self.errorf(f"{token}{extra}")
        self.errorf(f"unexpected {token} in {context}")

    # -- grammar --

    def parse(self) -> _ListNode:
        root = _ListNode(self.peek().pos)
        self.root = root
        while self.peek().typ != _EOF:
            if self.peek().typ == _LEFT_DELIM:
                delim = self.next()
                if self.next_non_space().typ == _DEFINE:
                    sub = _Parser("definition", self.text, self.funcs, self.trees, self.lex)
                    sub.name = self.name
                    sub.parse_definition()
                    continue
                self.backup2(delim)
            n = self.text_or_action()
            if isinstance(n, (_EndNode, _ElseNode)):
                self.errorf(f"unexpected {n}")
            root.nodes.append(n)
        self.add(self.name, root)
        return root

    def add(self, name: str, root: _ListNode) -> None:
        existing = self.trees.get(name)
        if existing is None or _is_empty_tree(existing):
            self.trees[name] = root
            return
        if not _is_empty_tree(root):
            self.errorf(f"template: multiple definition of template {go_quote(name)}")

    def parse_definition(self) -> None:
        context = "define clause"
        name_item = self.expect_one_of(_STRING, _RAW_STRING, context)
        try:
            tree_name = _unquote(name_item.val)
        except _SyntaxError:
            self.errorf("invalid syntax")
        self.expect(_RIGHT_DELIM, context)
        lst, end = self.item_list()
        if not isinstance(end, _EndNode):
            self.errorf(f"unexpected {end} in {context}")
        self.add(tree_name, lst)

    def item_list(self) -> tuple[_ListNode, _Node]:
        lst = _ListNode(self.peek_non_space().pos)
        while self.peek_non_space().typ != _EOF:
            n = self.text_or_action()
            if isinstance(n, (_EndNode, _ElseNode)):
                return lst, n
            lst.nodes.append(n)
        self.errorf("unexpected EOF")

    def text_or_action(self) -> _Node:
        token = self.next_non_space()
        if token.typ == _TEXT:
            return _TextNode(token.pos, token.val)
        if token.typ == _LEFT_DELIM:
            self.action_line = token.line
            try:
                return self.action()
            finally:
                self.action_line = 0
        if token.typ == _COMMENT:
            return _CommentNode(token.pos, token.val)
        self.unexpected(token, "input")

    def action(self) -> _Node:
        token = self.next_non_space()
        typ = token.typ
        if typ == _BLOCK:
            return self.block_control()
        if typ == _BREAK:
            return self.break_control(token, "{{break}}", _BreakNode)
        if typ == _CONTINUE:
            return self.break_control(token, "{{continue}}", _ContinueNode)
        if typ == _ELSE:
            return self.else_control()
        if typ == _END:
            return _EndNode(self.expect(_RIGHT_DELIM, "end").pos)
        if typ == _IF:
            return _IfNode(*self.parse_control("if"))
        if typ == _RANGE:
            return _RangeNode(*self.parse_control("range"))
        if typ == _TEMPLATE:
            return self.template_control()
        if typ == _WITH:
            return _WithNode(*self.parse_control("with"))
        self.backup()
        token = self.peek()
        return _ActionNode(token.pos, token.line, self.pipeline("command", _RIGHT_DELIM))

    def break_control(self, start: _Item, what: str, cls: type[_Node]) -> _Node:
        token = self.next_non_space()
        if token.typ != _RIGHT_DELIM:
            self.unexpected(token, what)
        if self.range_depth == 0:
            self.errorf(f"{what} outside {{{{range}}}}")
        return cls(start.pos, start.line)

    def pipeline(self, context: str, end: int) -> _PipeNode:
        token = self.peek_non_space()
        pipe = _PipeNode(token.pos, token.line)
        while True:  # declarations
            v = self.peek_non_space()
            if v.typ != _VARIABLE:
                break
            self.next()
            token_after = self.peek()
            nxt = self.peek_non_space()
            if nxt.typ in (_ASSIGN, _DECLARE):
                pipe.is_assign = nxt.typ == _ASSIGN
                self.next_non_space()
                pipe.decl.append(_VariableNode(v.pos, v.val))
                self.vars.append(v.val)
            elif nxt.typ == _CHAR and nxt.val == ",":
                self.next_non_space()
                pipe.decl.append(_VariableNode(v.pos, v.val))
                self.vars.append(v.val)
                if context == "range" and len(pipe.decl) < 2:
                    if self.peek_non_space().typ in (_VARIABLE, _RIGHT_DELIM, _RIGHT_PAREN):
                        continue
                    self.errorf("range can only initialize variables")
                self.errorf(f"too many declarations in {context}")
            elif token_after.typ == _SPACE:
                self.backup3(v, token_after)
            else:
                self.backup2(v)
            break
        while True:
            token = self.next_non_space()
            if token.typ == end:
                self.check_pipeline(pipe, context)
                return pipe
            if token.typ in (
                _BOOL,
                _CHAR_CONSTANT,
                _COMPLEX,
                _DOT,
                _FIELD,
                _IDENTIFIER,
                _NUMBER,
                _NIL,
                _RAW_STRING,
                _STRING,
                _VARIABLE,
                _LEFT_PAREN,
            ):
                self.backup()
                pipe.cmds.append(self.command())
            else:
                self.unexpected(token, context)

    def check_pipeline(self, pipe: _PipeNode, context: str) -> None:
        if not pipe.cmds:
            self.errorf(f"missing value for {context}")
        for i, c in enumerate(pipe.cmds[1:]):
            if isinstance(c.args[0], (_BoolNode, _DotNode, _NilNode, _NumberNode, _StringNode)):
                self.errorf(f"non executable command in pipeline stage {i + 2}")

    def parse_control(self, context: str) -> tuple[int, int, _PipeNode, _ListNode, _ListNode | None]:
        saved = len(self.vars)
        try:
            pipe = self.pipeline(context, _RIGHT_DELIM)
            if context == "range":
                self.range_depth += 1
            lst, nxt = self.item_list()
            if context == "range":
                self.range_depth -= 1
            else_list: _ListNode | None = None
            if isinstance(nxt, _ElseNode):
                if context == "if" and self.peek().typ == _IF:
                    self.next()
                    else_list = _ListNode(nxt.pos)
                    else_list.nodes.append(_IfNode(*self.parse_control("if")))
                elif context == "with" and self.peek().typ == _WITH:
                    self.next()
                    else_list = _ListNode(nxt.pos)
                    else_list.nodes.append(_WithNode(*self.parse_control("with")))
                else:
                    else_list, nxt = self.item_list()
                    if not isinstance(nxt, _EndNode):
                        self.errorf(f"expected end; found {nxt}")
            return pipe.pos, pipe.line, pipe, lst, else_list
        finally:
            del self.vars[saved:]

    def else_control(self) -> _Node:
        peek = self.peek_non_space()
        if peek.typ in (_IF, _WITH):
            return _ElseNode(peek.pos, peek.line)
        token = self.expect(_RIGHT_DELIM, "else")
        return _ElseNode(token.pos, token.line)

    def template_name(self, token: _Item, context: str) -> str:
        if token.typ in (_STRING, _RAW_STRING):
            try:
                return _unquote(token.val)
            except _SyntaxError:
                self.errorf("invalid syntax")
        self.unexpected(token, context)

    def template_control(self) -> _Node:
        context = "template clause"
        token = self.next_non_space()
        name = self.template_name(token, context)
        pipe: _PipeNode | None = None
        if self.next_non_space().typ != _RIGHT_DELIM:
            self.backup()
            pipe = self.pipeline(context, _RIGHT_DELIM)
        return _TemplateNode(token.pos, token.line, name, pipe)

    def block_control(self) -> _Node:
        context = "block clause"
        token = self.next_non_space()
        name = self.template_name(token, context)
        pipe = self.pipeline(context, _RIGHT_DELIM)
        sub = _Parser(name, self.text, self.funcs, self.trees, self.lex)
        sub.name = self.name
        lst, end = sub.item_list()
        if not isinstance(end, _EndNode):
            self.errorf(f"unexpected {end} in {context}")
        sub.add(name, lst)
        return _TemplateNode(token.pos, token.line, name, pipe)

    def command(self) -> _CommandNode:
        cmd = _CommandNode(self.peek_non_space().pos)
        while True:
            self.peek_non_space()
            operand = self.operand()
            if operand is not None:
                cmd.args.append(operand)
            token = self.next()
            if token.typ == _SPACE:
                continue
            if token.typ in (_RIGHT_DELIM, _RIGHT_PAREN):
                self.backup()
            elif token.typ != _PIPE:
                self.unexpected(token, "operand")
            break
        if not cmd.args:
            self.errorf("empty command")
        return cmd

    def operand(self) -> _Node | None:
        node = self.term()
        if node is None:
            return None
        if self.peek().typ == _FIELD:
            chain = _ChainNode(self.peek().pos, node)
            while self.peek().typ == _FIELD:
                chain.field.append(self.next().val[1:])
            if isinstance(node, _FieldNode):
                return _FieldNode(chain.pos, str(chain))
            if isinstance(node, _VariableNode):
                return _VariableNode(chain.pos, str(chain))
            if isinstance(node, (_BoolNode, _StringNode, _NumberNode, _NilNode, _DotNode)):
                self.errorf(f"unexpected . after term {go_quote(str(node))}")
            return chain
        return node

    def term(self) -> _Node | None:
        token = self.next_non_space()
        typ = token.typ
        if typ == _IDENTIFIER:
            if token.val not in self.funcs:
                self.errorf(f"function {go_quote(token.val)} not defined")
            return _IdentifierNode(token.pos, token.val)
        if typ == _DOT:
            return _DotNode(token.pos)
        if typ == _NIL:
            return _NilNode(token.pos)
        if typ == _VARIABLE:
            return self.use_var(token.pos, token.val)
        if typ == _FIELD:
            return _FieldNode(token.pos, token.val)
        if typ == _BOOL:
            return _BoolNode(token.pos, token.val == "true")
        if typ in (_CHAR_CONSTANT, _COMPLEX, _NUMBER):
            return self.new_number(token)
        if typ == _LEFT_PAREN:
            if self.stack_depth >= _MAX_STACK_DEPTH:
                self.errorf("max expression depth exceeded")
            self.stack_depth += 1
            try:
                return self.pipeline("parenthesized pipeline", _RIGHT_PAREN)
            finally:
                self.stack_depth -= 1
        if typ in (_STRING, _RAW_STRING):
            try:
                s = _unquote(token.val)
            except _SyntaxError:
                self.errorf("invalid syntax")
            return _StringNode(token.pos, token.val, s)
        self.backup()
        return None

    def use_var(self, pos: int, name: str) -> _Node:
        v = _VariableNode(pos, name)
        if v.ident[0] in self.vars:
            return v
        self.errorf(f"undefined variable {go_quote(v.ident[0])}")

    def new_number(self, token: _Item) -> _NumberNode:
        text = token.val
        n = _NumberNode(token.pos, text)
        if token.typ == _CHAR_CONSTANT:
            body = text[1:]
            try:
                _, i, rune = _unquote_char(body, 0, "'")
            except (_SyntaxError, IndexError):
                self.errorf("invalid syntax")
            if body[i:] != "'" or rune is None:
                self.errorf(f"malformed character constant: {text}")
            n.int64 = n.uint64 = rune
            n.float64 = float(rune)
            n.is_int = n.is_uint = n.is_float = True
            return n
        if token.typ == _COMPLEX or text.endswith("i"):
            self.errorf(f"complex constant {text} is not supported")
        u = _parse_int(text, signed=False)
        if u is not None:
            n.is_uint, n.uint64 = True, u
        iv = _parse_int(text, signed=True)
        if iv is not None:
            n.is_int, n.int64 = True, iv
            if iv == 0:
                n.is_uint, n.uint64 = True, u if u is not None else 0
        if n.is_int:
            n.is_float, n.float64 = True, float(n.int64)
        elif n.is_uint:
            n.is_float, n.float64 = True, float(n.uint64)
        else:
            f = _parse_float(text)
            if f is not None:
                if not any(c in text for c in ".eEpP"):
                    self.errorf(f"integer overflow: {go_quote(text)}")
                n.is_float, n.float64 = True, f
                if f == int(f) and -(1 << 63) <= f < (1 << 63):
                    n.is_int, n.int64 = True, int(f)
                if f == int(f) and 0 <= f < (1 << 64):
                    n.is_uint, n.uint64 = True, int(f)
        if not (n.is_int or n.is_uint or n.is_float):
            self.errorf(f"illegal number syntax: {go_quote(text)}")
        return n


# ---------------------------------------------------------------------------------------
# Functions


class _Func:
    """A template function: parameter types are ``any``, ``value`` (reflect.Value),
    ``string``, ``int`` or ``[]string``; ``variadic`` is the type of trailing arguments."""

    __slots__ = ("builtin", "impl", "name", "params", "variadic")

    def __init__(
        self,
        name: str,
        impl: Callable[..., Any],
        params: tuple[str, ...],
        variadic: str | None = None,
        builtin: bool = False,
    ) -> None:
        self.name = name
        self.impl = impl
        self.params = params
        self.variadic = variadic
        self.builtin = builtin


def _from_callable(name: str, fn: Callable[..., Any]) -> _Func:
    """Wrap a caller's Python function or method: every parameter is ``interface {}``."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return _Func(name, fn, (), "any")
    params: list[str] = []
    variadic: str | None = None
    for p in sig.parameters.values():
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty:
            params.append("any")
        elif p.kind == p.VAR_POSITIONAL:
            variadic = "any"
    return _Func(name, fn, tuple(params), variadic)


def _indirect_interface(v: Any) -> Any:
    return NO_VALUE if v is None else v


def _is_true(v: Any) -> tuple[bool, bool]:
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
    if _is_object(v) or callable(v):
        return True, True
    return False, False


def _truth(v: Any) -> bool:
    return _is_true(_indirect_interface(v))[0]


def _index_arg(index: Any, cap: int) -> int:
    if index is NO_VALUE:
        raise _CallError("cannot index slice/array with nil")
    if not _is_int(index):
        raise _CallError(f"cannot index slice/array with type {_go_type(index)}")
    if index < 0 or index > cap:
        raise _CallError(f"index out of range: {index}")
    return int(index)


def _fn_index(item: Any, *indexes: Any) -> Any:
    item = _indirect_interface(item)
    if item is NO_VALUE:
        raise _CallError("index of untyped nil")
    for index in indexes:
        index = _indirect_interface(index)
        if item is None or (isinstance(item, GoNil) and item.kind == "pointer"):
            raise _CallError("index of nil pointer")
        if isinstance(item, str):
            b = _utf8(item)
            x = _index_arg(index, len(b))
            if x >= len(b):
                raise _CallError("reflect: string index out of range")
            item = b[x]
        elif _is_slice(item) or (isinstance(item, GoNil) and item.kind == "slice"):
            x = _index_arg(index, len(item))
            if x >= len(item):
                raise _CallError("reflect: slice index out of range")
            assert isinstance(item, (list, tuple))
            item = item[x]
        elif _is_map(item) or (isinstance(item, GoNil) and item.kind == "map"):
            if index is NO_VALUE:
                raise _CallError("value is nil; should be of type string")
            if not isinstance(index, str):
                raise _CallError(f"value has type {_go_type(index)}; should be string")
            item = _map_zero(item) if isinstance(item, GoNil) or index not in item else item[index]
        else:
            raise _CallError(f"can't index item of type {_go_type(item)}")
    return item


def _fn_slice(item: Any, *indexes: Any) -> Any:
    item = _indirect_interface(item)
    if item is NO_VALUE:
        raise _CallError("slice of untyped nil")
    if len(indexes) > 3:
        raise _CallError(f"too many slice indexes: {len(indexes)}")
    if isinstance(item, str):
        if len(indexes) == 3:
            raise _CallError("cannot 3-index slice a string")
        seq: Any = _utf8(item)
    elif _is_slice(item) or (isinstance(item, GoNil) and item.kind == "slice"):
        seq = item
    else:
        raise _CallError(f"can't slice item of type {_go_type(item)}")
    cap = len(seq)
    idx = [0, cap, 0]
    for i, index in enumerate(indexes):
        idx[i] = _index_arg(_indirect_interface(index), cap)
    if idx[0] > idx[1]:
        raise _CallError(f"invalid slice index: {idx[0]} > {idx[1]}")
    if len(indexes) == 3 and idx[1] > idx[2]:
        raise _CallError(f"invalid slice index: {idx[1]} > {idx[2]}")
    if isinstance(item, str):
        return _from_utf8(seq[idx[0] : idx[1]])
    if isinstance(item, GoNil):
        return item
    part = list(seq[idx[0] : idx[1]])
    if isinstance(item, GoSlice):
        return GoSlice(part, elem_type=item.elem_type)
    return part


def _fn_len(item: Any) -> int:
    if item is None or (isinstance(item, GoNil) and item.kind == "pointer"):
        raise _CallError("len of nil pointer")
    if item is NO_VALUE:
        raise _CallError("reflect: call of reflect.Value.Type on zero Value")
    if isinstance(item, str):
        return len(_utf8(item))
    if isinstance(item, (Mapping, list, tuple, GoNil)) and not isinstance(item, GoStruct):
        return len(item)
    raise _CallError(f"len of type {_go_type(item).lstrip('*') if _is_object(item) else _go_type(item)}")


def _fn_not(v: Any) -> bool:
    return not _truth(v)


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
    if _is_slice(v):
        return "slice"
    if _is_object(v):
        return "pointer"
    return "other"


def _is_nil(v: Any) -> bool:
    return v is NO_VALUE or v is None or isinstance(v, GoNil)


def _comparable(v: Any) -> bool:
    if isinstance(v, GoStruct):
        return all(_comparable(x) for x in v.values())
    return not (isinstance(v, (Mapping, list, tuple)))


def _fn_eq(arg1: Any, *arg2: Any) -> bool:
    arg1 = _indirect_interface(arg1)
    if not arg2:
        raise _CallError("missing argument for comparison")
    k1 = _basic_kind(arg1)
    for arg in arg2:
        arg = _indirect_interface(arg)
        k2 = _basic_kind(arg)
        truth = False
        if k1 != k2:
            if arg1 is not NO_VALUE and arg is not NO_VALUE:
                raise _CallError("incompatible types for comparison")
        elif k1:
            truth = _utf8(arg1) == _utf8(arg) if k1 == _BASIC_STRING else arg1 == arg
        else:
            kind1, kind2 = _reflect_kind(arg1), _reflect_kind(arg)
            if kind1 != kind2 and "invalid" not in (kind1, kind2):
                raise _CallError(
                    go_sprintf("non-comparable types %s: ", arg1)
                    + f"{_go_type(arg1)}, {_go_type(arg)}: {go_sprint(arg)}"
                )
            if _is_nil(arg1) or _is_nil(arg):
                truth = _is_nil(arg) == _is_nil(arg1)
            else:
                if not _comparable(arg):
                    raise _CallError(go_sprintf("non-comparable type %s: ", arg) + _go_type(arg))
                truth = arg1 is arg or (isinstance(arg1, GoStruct) and arg1 == arg)
        if truth:
            return True
    return False


def _fn_ne(a: Any, b: Any) -> bool:
    return not _fn_eq(a, b)


def _fn_lt(a: Any, b: Any) -> bool:
    a = _indirect_interface(a)
    b = _indirect_interface(b)
    k1 = _basic_kind(a)
    if not k1:
        raise _CallError("invalid type for comparison")
    k2 = _basic_kind(b)
    if not k2:
        raise _CallError("invalid type for comparison")
    if k1 != k2:
        raise _CallError("incompatible types for comparison")
    if k1 == _BASIC_BOOL:
        raise _CallError("invalid type for comparison")
    if k1 == _BASIC_STRING:
        return bool(_utf8(a) < _utf8(b))
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
    return go_sprint(*conv)


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
        elif c < "\x80" or _is_escaped_byte(c) or _go_is_print(c):
            out.append(c)
        else:
            out.append(f"\\u{ord(c):04X}")
    return "".join(out)


def _fn_urlquery(*args: Any) -> str:
    return urllib.parse.quote_plus(_utf8(_eval_args(args)), safe="")


def _fn_print(*args: Any) -> str:
    return go_sprint(*args)


def _fn_printf(fmt: str, *args: Any) -> str:
    return go_sprintf(fmt, *args)


def _fn_println(*args: Any) -> str:
    return go_sprintln(*args)


class _JSONFloat(float):
    """A float that ``_gojson`` writes as Go's ``encoding/json`` does.

    ``_gojson`` writes non-integral floats with ``repr()``; Go uses ``%f`` notation below
    1e21 and from 1e-6, else ``%e`` with a one-digit negative exponent (``1e-7``).
    """

    def __repr__(self) -> str:
        a = abs(self)
        verb = "e" if a != 0 and (a < 1e-6 or a >= 1e21) else "f"
        text = _format_float(float(self), verb, -1)
        if verb == "e" and len(text) >= 4 and text[-4:-1] in ("e-0",):
            text = text[:-2] + text[-1]
        return text


def _json_value(v: Any) -> Any:
    """A value for ``_gojson``: Go's ``encoding/json`` view of a template value."""
    if v is None or v is NO_VALUE or isinstance(v, GoNil):
        return None
    if isinstance(v, JSONNumber):
        try:
            return int(v)
        except ValueError:
            return _JSONFloat(v)
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            raise _CallError("json: unsupported value")
        return _JSONFloat(v)
    if isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, GoStruct):
        out: dict[str, Any] = {}
        for k, x in v.items():
            if k in v.omitempty and _json_empty(x):
                continue
            out[v.json_names.get(k, k)] = _json_value(x)
        return out
    if isinstance(v, Mapping):
        return {str(k): _json_value(x) for k, x in sorted(v.items(), key=lambda kv: _utf8(str(kv[0])))}
    if _is_slice(v):
        return [_json_value(x) for x in v]
    if _is_object(v):
        custom = getattr(v, "template_json", None)
        if callable(custom):
            return _json_value(custom())
        fields = {k: x for k, x in _object_fields(v).items() if not callable(x)}
        return _json_value(GoMap(fields))
    custom_json = getattr(v, "template_json", None)
    if callable(custom_json):  # a value with its own MarshalJSON (e.g. time.Time)
        return _json_value(custom_json())
    return str(v)


def _json_empty(v: Any) -> bool:
    if v is None or v is NO_VALUE or isinstance(v, GoNil):
        return True
    if isinstance(v, (bool, int, float)):
        return not v
    if isinstance(v, (str, Mapping, list, tuple)) and not isinstance(v, GoStruct):
        return len(v) == 0
    return False


def _fn_json(v: Any) -> str:
    # docker's json func: an Encoder with HTML escaping off, trailing newline trimmed;
    # an encoding error leaves the buffer empty.
    try:
        return _gojson.dumps(_json_value(v), escape_html=False).strip()
    except _CallError:
        return ""


def _go_map_runes(s: str, f: Callable[[str], str]) -> str:
    return "".join("\ufffd" if _is_escaped_byte(c) else f(c) for c in s)


def _simple_upper(c: str) -> str:
    u = c.upper()
    return u if len(u) == 1 else c


def _simple_lower(c: str) -> str:
    if c == "\u0130":
        return "i"
    low = c.lower()
    return low if len(low) == 1 else c


def _simple_title(c: str) -> str:
    t = c.title()
    if len(t) == 1:
        return t
    return _simple_upper(c)


def _fn_lower(s: str) -> str:
    if s.isascii():
        return s.lower()
    return _go_map_runes(s, _simple_lower)


def _fn_upper(s: str) -> str:
    if s.isascii():
        return s.upper()
    return _go_map_runes(s, _simple_upper)


def _is_separator(c: str) -> bool:
    if c <= "\x7f":
        return not (c.isascii() and (c.isalnum() or c == "_"))
    cat = unicodedata.category(c)
    if cat.startswith("L") or cat == "Nd":
        return False
    return c.isspace()


def _fn_title(s: str) -> str:
    out = []
    prev = " "
    for c in s:
        if _is_escaped_byte(c):
            c = "\ufffd"
        if _is_separator(prev):
            prev = c
            out.append(_simple_title(c))
        else:
            prev = c
            out.append(c)
    return "".join(out)


def _fn_split(s: str, sep: str) -> list[str]:
    if sep == "":
        return list(s)
    return s.split(sep)


def _fn_join(elems: Any, sep: str) -> str:
    if isinstance(elems, GoNil):
        return ""
    return sep.join(elems)


def _fn_pad(source: str, prefix: int, suffix: int) -> str:
    if source == "":
        return source
    if prefix < 0 or suffix < 0:
        raise _CallError("strings: negative Repeat count")
    return " " * prefix + source + " " * suffix


def _fn_truncate(source: str, length: int) -> str:
    b = _utf8(source)
    if len(b) < length:
        return source
    if length < 0:
        raise _CallError(f"runtime error: slice bounds out of range [:{length}]")
    return _from_utf8(b[:length])


def _unsupported_call(*args: Any) -> Any:
    raise _CallError("call is not supported")


_BUILTINS: Final = {
    f.name: f
    for f in (
        _Func("and", lambda *a: a[-1], ("value",), "value", True),
        _Func("or", lambda *a: a[-1], ("value",), "value", True),
        _Func("not", _fn_not, ("value",), None, True),
        _Func("len", _fn_len, ("value",), None, True),
        _Func("index", _fn_index, ("value",), "value", True),
        _Func("slice", _fn_slice, ("value",), "value", True),
        _Func("eq", _fn_eq, ("value",), "value", True),
        _Func("ne", _fn_ne, ("value", "value"), None, True),
        _Func("lt", _fn_lt, ("value", "value"), None, True),
        _Func("le", _fn_le, ("value", "value"), None, True),
        _Func("gt", _fn_gt, ("value", "value"), None, True),
        _Func("ge", _fn_ge, ("value", "value"), None, True),
        _Func("print", _fn_print, (), "any", True),
        _Func("printf", _fn_printf, ("string",), "any", True),
        _Func("println", _fn_println, (), "any", True),
        _Func("html", _fn_html, (), "any", True),
        _Func("js", _fn_js, (), "any", True),
        _Func("urlquery", _fn_urlquery, (), "any", True),
        _Func("call", _unsupported_call, ("value",), "value", True),
    )
}

_DOCKER_FUNCS: Final = {
    f.name: f
    for f in (
        _Func("json", _fn_json, ("any",)),
        _Func("split", _fn_split, ("string", "string")),
        _Func("join", _fn_join, ("[]string", "string")),
        _Func("title", _fn_title, ("string",)),
        _Func("lower", _fn_lower, ("string",)),
        _Func("upper", _fn_upper, ("string",)),
        _Func("pad", _fn_pad, ("string", "int", "int")),
        _Func("truncate", _fn_truncate, ("string", "int")),
    )
}

DOCKER_FUNCS: Final = tuple(_DOCKER_FUNCS)
"""The functions docker's ``templates.Parse`` adds to Go's builtins."""


def _identity(v: str, *_: Any) -> str:
    return v


# docker's templates.HeaderFunctions: the header row keeps column names intact.
_HEADER_FUNCS: Final = {
    f.name: f
    for f in (
        _Func("json", _identity, ("string",)),
        _Func("split", _identity, ("string", "string")),
        _Func("join", _identity, ("string", "string")),
        _Func("title", _identity, ("string",)),
        _Func("lower", _identity, ("string",)),
        _Func("upper", _identity, ("string",)),
        _Func("truncate", _identity, ("string", "int")),
    )
}


# ---------------------------------------------------------------------------------------
# Execution


_MISSINGKEY_OPTIONS: Final = ("default", "invalid", "zero", "error")


class _State:
    """One execution: output, variable stack and the node being evaluated (for errors)."""

    def __init__(
        self,
        tmpl: Template,
        funcs: Mapping[str, _Func],
        missingkey: str,
        depth: int = 0,
    ) -> None:
        self.tmpl = tmpl
        self.funcs = funcs
        self.missingkey = missingkey
        self.out: list[str] = []
        self.node: _Node | None = None
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

    def at(self, node: _Node) -> None:
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
        col = len(_utf8(before)) if nl < 0 else len(_utf8(before[nl + 1 :]))
        raise TemplateError(
            f"template: {name}:{line}:{col}: executing {go_quote(name)} at <{self.node}>: {msg}",
            line=line,
            column=col,
            output="".join(self.out),
        )

    # -- walking --

    def walk(self, dot: Any, node: _Node) -> None:
        self.at(node)
        if isinstance(node, _ActionNode):
            val = self.eval_pipeline(dot, node.pipe)
            if not node.pipe.decl:
                self.print_value(node, val)
        elif isinstance(node, _TextNode):
            self.out.append(node.text)
        elif isinstance(node, _ListNode):
            for n in node.nodes:
                self.walk(dot, n)
        elif isinstance(node, _IfNode):
            self.walk_if_or_with(False, dot, node)
        elif isinstance(node, _WithNode):
            self.walk_if_or_with(True, dot, node)
        elif isinstance(node, _RangeNode):
            self.walk_range(dot, node)
        elif isinstance(node, _BreakNode):
            raise _Break
        elif isinstance(node, _ContinueNode):
            raise _Continue
        elif isinstance(node, _TemplateNode):
            self.walk_template(dot, node)
        elif isinstance(node, _CommentNode):
            pass
        else:  # pragma: no cover - the parser makes no other nodes
            self.errorf(f"unknown node: {node}")

    def walk_if_or_with(self, is_with: bool, dot: Any, node: _BranchNode) -> None:
        mark = self.mark()
        try:
            val = self.eval_pipeline(dot, node.pipe)
            truth, ok = _is_true(_indirect_interface(val))
            if not ok:
                self.errorf(f"if/with can't use {go_sprint(val)}")
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

    def walk_range(self, dot: Any, r: _RangeNode) -> None:
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
                elem_static = _elem_type(val)
            if _is_int(val):
                if len(decl) > 1:
                    self.errorf(f"can't use {val} to iterate over more than one variable")
                for v in range(val):
                    ran = True
                    one_iteration(NO_VALUE, v)
            elif _is_slice(val) or (isinstance(val, GoNil) and val.kind == "slice"):
                for i, e in enumerate(list(val) if not isinstance(val, GoNil) else []):
                    ran = True
                    one_iteration(i, e)
            elif _is_map(val) or (isinstance(val, GoNil) and val.kind == "map"):
                items = [] if isinstance(val, GoNil) else _sorted_items(val)
                for k, e in items:
                    ran = True
                    one_iteration(k, e)
            elif val is NO_VALUE or val is None:
                pass
            else:
                self.errorf(f"range can't iterate over {go_sprint(val)}")
            if not ran and r.else_list is not None:
                self.walk(dot, r.else_list)
        except _Break:
            pass
        finally:
            self.pop(mark0)

    def walk_template(self, dot: Any, t: _TemplateNode) -> None:
        self.at(t)
        tree = self.tmpl.trees.get(t.name)
        if tree is None:
            self.errorf(f"template {go_quote(t.name)} not defined")
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

    def eval_pipeline(self, dot: Any, pipe: _PipeNode | None) -> Any:
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

    def not_a_function(self, args: list[_Node] | None, final: Any) -> None:
        if (args is not None and len(args) > 1) or final is not _MISSING:
            assert args is not None
            self.errorf(f"can't give argument to non-function {args[0]}")

    def eval_command(self, dot: Any, cmd: _CommandNode, final: Any) -> Any:
        first = cmd.args[0]
        if isinstance(first, _FieldNode):
            return self.eval_field_node(dot, first, cmd.args, final)
        if isinstance(first, _ChainNode):
            return self.eval_chain_node(dot, first, cmd.args, final)
        if isinstance(first, _IdentifierNode):
            return self.eval_function(dot, first, cmd, cmd.args, final)
        if isinstance(first, _PipeNode):
            self.not_a_function(cmd.args, final)
            return self.eval_pipeline(dot, first)
        if isinstance(first, _VariableNode):
            return self.eval_variable_node(dot, first, cmd.args, final)
        self.at(first)
        self.not_a_function(cmd.args, final)
        if isinstance(first, _BoolNode):
            return first.value
        if isinstance(first, _DotNode):
            return dot
        if isinstance(first, _NilNode):
            self.errorf("nil is not a command")
        if isinstance(first, _NumberNode):
            return self.ideal_constant(first)
        if isinstance(first, _StringNode):
            return first.text
        self.errorf(f"can't evaluate command {go_quote(str(first))}")

    def ideal_constant(self, c: _NumberNode) -> Any:
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

    def eval_field_node(self, dot: Any, field: _FieldNode, args: list[_Node] | None, final: Any) -> Any:
        self.at(field)
        return self.eval_field_chain(dot, dot, field, field.ident, args, final, self.dot_static)

    def eval_chain_node(self, dot: Any, chain: _ChainNode, args: list[_Node] | None, final: Any) -> Any:
        self.at(chain)
        if not chain.field:
            self.errorf("internal error: no fields in evalChainNode")
        if isinstance(chain.node, _NilNode):
            self.errorf(f"indirection through explicit nil in {chain}")
        pipe = self.eval_arg(dot, None, chain.node)
        return self.eval_field_chain(dot, pipe, chain, chain.field, args, final)

    def eval_variable_node(
        self, dot: Any, variable: _VariableNode, args: list[_Node] | None, final: Any
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
        node: _Node,
        ident: list[str],
        args: list[_Node] | None,
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
        node: _Node,
        args: list[_Node] | None,
        final: Any,
        receiver: Any,
        static: str | None,
    ) -> tuple[Any, str | None]:
        """Evaluate ``receiver.name``; returns the value and its static Go type, if known."""
        if receiver is NO_VALUE:
            if self.missingkey == "error":
                self.errorf(f"nil data; no entry for key {go_quote(name)}")
            return NO_VALUE, None
        typ = static or _go_type(receiver)
        if receiver is None:
            self.errorf(f"nil pointer evaluating {typ}.{name}")
        has_args = (args is not None and len(args) > 1) or final is not _MISSING
        # Methods come first, as reflect's MethodByName is tried before fields and keys.
        method: Any = None
        fields: Mapping[str, Any] | None = None
        if _is_object(receiver):
            fields = _object_fields(receiver)
            cand = fields.get(name, NO_VALUE)
            if cand is not NO_VALUE and callable(cand):
                method = cand
        elif isinstance(receiver, GoMap) and name in receiver.methods:
            method = receiver.methods[name]
        if method is not None:
            return self.eval_call(dot, _from_callable(name, method), node, name, args, final), None
        if fields is not None or isinstance(receiver, GoStruct):
            src = fields if fields is not None else receiver
            assert isinstance(src, Mapping)
            if name in src:
                if has_args:
                    self.errorf(f"{name} has arguments but cannot be invoked as function")
                return src[name], None
        elif _is_map(receiver) or (isinstance(receiver, GoNil) and receiver.kind == "map"):
            if has_args:
                self.errorf(f"{name} is not a method but has arguments")
            elem = "interface {}" if isinstance(receiver, GoNil) else _elem_type(receiver)
            if not isinstance(receiver, GoNil) and name in receiver:
                return receiver[name], elem
            if self.missingkey == "zero":
                return _map_zero(receiver), elem
            if self.missingkey == "error":
                self.errorf(f"map has no entry for key {go_quote(name)}")
            return NO_VALUE, None
        elif isinstance(receiver, GoNil) and receiver.kind == "pointer":
            self.errorf(f"nil pointer evaluating {typ}.{name}")
        self.errorf(f"can't evaluate field {name} in type {typ}")

    def eval_function(
        self,
        dot: Any,
        node: _IdentifierNode,
        cmd: _Node,
        args: list[_Node] | None,
        final: Any,
    ) -> Any:
        self.at(node)
        name = node.ident
        fn = self.funcs.get(name)
        if fn is None:
            self.errorf(f"{go_quote(name)} is not a defined function")
        return self.eval_call(dot, fn, cmd, name, args, final)

    def eval_call(
        self,
        dot: Any,
        fn: _Func,
        node: _Node,
        name: str,
        args: list[_Node] | None,
        final: Any,
    ) -> Any:
        argn: list[_Node] = list(args[1:]) if args is not None else []
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
                if _truth(v) == (name == "or"):
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
        except _CallError as e:
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
            ok = _is_int(value)
        elif typ == "[]string":
            ok = (isinstance(value, GoNil) and value.kind == "slice") or (
                _is_slice(value) and _elem_type(value) == "string"
            )
        if not ok:
            self.errorf(f"wrong type for value; expected {typ}; got {_go_type(value)}")
        return value

    def eval_arg(self, dot: Any, typ: str | None, n: _Node) -> Any:
        self.at(n)
        if isinstance(n, _DotNode):
            return self.validate_type(dot, typ)
        if isinstance(n, _NilNode):
            if typ in ("any", "value", "[]string"):
                return self.zero_of(typ)
            self.errorf(f"cannot assign nil to {typ}")
        if isinstance(n, _FieldNode):
            return self.validate_type(self.eval_field_node(dot, n, [n], _MISSING), typ)
        if isinstance(n, _VariableNode):
            return self.validate_type(self.eval_variable_node(dot, n, None, _MISSING), typ)
        if isinstance(n, _PipeNode):
            return self.validate_type(self.eval_pipeline(dot, n), typ)
        if isinstance(n, _IdentifierNode):
            return self.validate_type(self.eval_function(dot, n, n, None, _MISSING), typ)
        if isinstance(n, _ChainNode):
            return self.validate_type(self.eval_chain_node(dot, n, None, _MISSING), typ)
        if typ == "int":
            if isinstance(n, _NumberNode) and n.is_int:
                return n.int64
            self.errorf(f"expected integer; found {n}")
        if typ in ("any", "value"):
            return self.eval_empty_interface(dot, n)
        if typ == "string":
            if isinstance(n, _StringNode):
                return n.text
            self.errorf(f"expected string; found {n}")
        self.errorf(f"can't handle {n} for arg of type {typ}")

    def eval_empty_interface(self, dot: Any, n: _Node) -> Any:
        self.at(n)
        if isinstance(n, _BoolNode):
            return n.value
        if isinstance(n, _NumberNode):
            return self.ideal_constant(n)
        if isinstance(n, _StringNode):
            return n.text
        self.errorf(f"can't handle assignment of {n} to empty interface argument")

    def print_value(self, node: _Node, v: Any) -> None:
        self.at(node)
        s, ok = _printable(v)
        if not ok:
            self.errorf(f"can't print {node} of type {_go_type(v)}")
        self.out.append(s)


# ---------------------------------------------------------------------------------------
# Templates


class Template:
    """A parsed template. Build with :meth:`parse`, run with :meth:`execute`."""

    __slots__ = ("_funcs", "name", "root", "text", "trees")

    def __init__(
        self, name: str, text: str, root: _ListNode, trees: dict[str, _ListNode], funcs: dict[str, _Func]
    ) -> None:
        self.name = name
        self.text = text
        self.root = root
        self.trees = trees
        self._funcs = funcs

    @classmethod
    def parse(
        cls,
        text: str,
        *,
        name: str = "",
        funcs: Mapping[str, Callable[..., Any]] | None = None,
        docker_funcs: bool = True,
    ) -> Template:
        """Parse ``text`` as Go's ``template.New(name).Funcs(...).Parse(text)`` would.

        The functions available are Go's builtins, docker's (unless ``docker_funcs`` is
        false) and ``funcs`` (Python callables whose parameters all take any value).
        Raises :class:`TemplateError` with Go's message (``template: NAME:LINE: ...``).
        """
        table: dict[str, _Func] = dict(_BUILTINS)
        if docker_funcs:
            table.update(_DOCKER_FUNCS)
        for fname, fn in (funcs or {}).items():
            table[fname] = _from_callable(fname, fn)
        trees: dict[str, _ListNode] = {}
        parser = _Parser(name, text, frozenset(table), trees)
        root = parser.parse()
        return cls(name, text, trees.get(name, root), trees, table)

    def execute(
        self,
        data: Any,
        *,
        missingkey: str = "default",
        funcs: Mapping[str, Callable[..., Any]] | None = None,
    ) -> str:
        """Run the template with ``data`` as dot and return the text it writes.

        ``missingkey`` is Go's ``Option("missingkey=...")``: ``default``/``invalid`` (a
        missing map key is ``<no value>``), ``zero`` (the map's zero value) or ``error``.
        ``funcs`` replaces functions by name for this run (as ``tmpl.Funcs`` does).
        Raises :class:`TemplateError` on an execution error; ``output`` on the error holds
        what had been written.
        """
        if missingkey not in _MISSINGKEY_OPTIONS:
            raise ValueError(f"missingkey must be one of {', '.join(_MISSINGKEY_OPTIONS)}")
        table = self._funcs
        if funcs:
            table = {**table, **{n: _from_callable(n, f) for n, f in funcs.items()}}
        return self._run(data, table, missingkey)

    def execute_with_fallback(self, typed: Any, raw: Any) -> str:
        """Execute as ``docker image inspect`` does (``TemplateInspector.Inspect``).

        ``typed`` mirrors the Go struct; when executing against it fails, the template runs
        again with ``missingkey=error`` against ``raw``, the decoded JSON document, typed
        as docker's ``UseNumber`` decoder types it (see :func:`go_generic`). The error of
        that second run, if any, is raised; docker prints it after ``template parsing
        error: ``.
        """
        try:
            return self.execute(typed)
        except TemplateError:
            return self.execute(go_generic(raw, use_number=True), missingkey="error")

    def _run(self, data: Any, table: Mapping[str, _Func], missingkey: str) -> str:
        state = _State(self, table, "invalid" if missingkey == "default" else missingkey)
        state.push("$", data)
        state.walk(data, self.root)
        return "".join(state.out)


# ---------------------------------------------------------------------------------------
# docker's tabwriter (cli/command/formatter/tabwriter, a fork of text/tabwriter)


FILTER_HTML: Final = 1
STRIP_ESCAPE: Final = 2
ALIGN_RIGHT: Final = 4
DISCARD_EMPTY_COLUMNS: Final = 8
TAB_INDENT: Final = 16
DEBUG: Final = 32

ESCAPE: Final = "\udcff"
"""The escape character: byte 0xFF, as ``surrogateescape`` decodes it."""

_NONPRINT: Final = (
    (0x0000, 0x001F),
    (0x007F, 0x009F),
    (0x00AD, 0x00AD),
    (0x070F, 0x070F),
    (0x180B, 0x180E),
    (0x200B, 0x200F),
    (0x2028, 0x202E),
    (0x206A, 0x206F),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0xFFFE, 0xFFFF),
)


def _rune_width(ch: str) -> int:
    o = ord(ch)
    if 0xD800 <= o <= 0xDFFF:
        return 1  # an undecodable byte: Go sees U+FFFD, one column
    if o < 0x20 or 0x7F <= o <= 0x9F or o == 0xAD:
        return 0
    if o < 0x300:
        return 1
    eaw = unicodedata.east_asian_width(ch)
    if eaw == "Na":
        return 1
    if any(lo <= o <= hi for lo, hi in _NONPRINT) or unicodedata.category(ch) in ("Mn", "Me"):
        return 0
    if eaw in ("W", "F"):
        return 2
    return 1


def _extends_cluster(prev: str, ch: str) -> bool:
    o = ord(ch)
    if unicodedata.category(ch) in ("Mn", "Me", "Mc"):
        return True
    if o == 0x200D or prev == "\u200d":
        return True
    return 0xFE00 <= o <= 0xFE0F or 0x1F3FB <= o <= 0x1F3FF or 0xE0020 <= o <= 0xE007F


def docker_string_width(s: str) -> int:
    """Display width of ``s`` as go-runewidth's ``StringWidth`` (docker's tabwriter) counts it.

    East Asian wide and fullwidth characters count two columns, combining marks and
    control characters none; a grapheme cluster counts as its first non-zero-width rune.
    """
    if s.isascii():
        return sum(1 for c in s if " " <= c < "\x7f")
    total = 0
    cluster_width = 0
    prev = ""
    for ch in s:
        if prev and _extends_cluster(prev, ch):
            if cluster_width == 0:
                cluster_width = _rune_width(ch)
        else:
            total += cluster_width
            cluster_width = _rune_width(ch)
        prev = ch
    return total + cluster_width


class _Cell:
    __slots__ = ("htab", "size", "width")

    def __init__(self, size: int = 0, width: int = 0, htab: bool = False) -> None:
        self.size = size
        self.width = width
        self.htab = htab


class TabWriter:
    """A port of docker's ``tabwriter.Writer`` (Go's ``text/tabwriter`` with display widths).

    Text written is split into cells at ``\\t``, ``\\v``, ``\\n`` and ``\\f``; tab-terminated
    cells of adjacent lines form columns padded to a common width (at least ``minwidth``,
    each cell's width plus ``padding``). Text after a line's last tab is no column cell and
    is written as is. ``width`` measures a cell (default :func:`docker_string_width`; pass
    ``len`` for upstream Go's rune count). Output accumulates until :meth:`getvalue`, or
    goes to ``output`` when given. Call :meth:`flush` after the last write.
    """

    def __init__(
        self,
        minwidth: int = 0,
        tabwidth: int = 8,
        padding: int = 1,
        padchar: str = " ",
        flags: int = 0,
        *,
        width: Callable[[str], int] | None = None,
        output: Callable[[str], object] | None = None,
    ) -> None:
        if minwidth < 0 or tabwidth < 0 or padding < 0:
            raise ValueError("negative minwidth, tabwidth, or padding")
        if len(padchar) != 1:
            raise ValueError("padchar must be one character")
        self.minwidth = minwidth
        self.tabwidth = tabwidth
        self.padding = padding
        self.padchar = padchar
        if padchar == "\t":
            flags &= ~ALIGN_RIGHT
        self.flags = flags
        self._width = width or docker_string_width
        self._chunks: list[str] = []
        self._output = output or self._chunks.append
        self._reset()

    @classmethod
    def docker(cls, **kwargs: Any) -> TabWriter:
        """The writer docker's tables use: ``NewWriter(out, 10, 1, 3, ' ', 0)``."""
        return cls(10, 1, 3, " ", 0, **kwargs)

    def _reset(self) -> None:
        self._buf = ""
        self._pos = 0
        self._cell = _Cell()
        self._end_char = ""
        self._lines: list[list[_Cell]] = [[]]
        self._widths: list[int] = []

    def getvalue(self) -> str:
        """Everything written to the internal output so far."""
        return "".join(self._chunks)

    def _write_padding(self, textw: int, cellw: int, use_tabs: bool) -> None:
        if self.padchar == "\t" or use_tabs:
            if self.tabwidth == 0:
                return
            cellw = (cellw + self.tabwidth - 1) // self.tabwidth * self.tabwidth
            n = cellw - textw
            if n < 0:
                raise RuntimeError("internal error")
            self._output("\t" * ((n + self.tabwidth - 1) // self.tabwidth))
            return
        if cellw - textw > 0:
            self._output(self.padchar * (cellw - textw))

    def _write_lines(self, pos: int, line0: int, line1: int) -> int:
        for i in range(line0, line1):
            line = self._lines[i]
            use_tabs = bool(self.flags & TAB_INDENT)
            for j, c in enumerate(line):
                if j > 0 and self.flags & DEBUG:
                    self._output("|")
                if c.size == 0:
                    if j < len(self._widths):
                        self._write_padding(c.width, self._widths[j], use_tabs)
                else:
                    use_tabs = False
                    if not self.flags & ALIGN_RIGHT:
                        self._output(self._buf[pos : pos + c.size])
                        pos += c.size
                        if j < len(self._widths):
                            self._write_padding(c.width, self._widths[j], False)
                    else:
                        if j < len(self._widths):
                            self._write_padding(c.width, self._widths[j], False)
                        self._output(self._buf[pos : pos + c.size])
                        pos += c.size
            if i + 1 == len(self._lines):
                self._output(self._buf[pos : pos + self._cell.size])
                pos += self._cell.size
            else:
                self._output("\n")
        return pos

    def _format(self, pos0: int, line0: int, line1: int) -> int:
        pos = pos0
        column = len(self._widths)
        this = line0
        while this < line1:
            line = self._lines[this]
            if column >= len(line) - 1:
                this += 1
                continue
            pos = self._write_lines(pos, line0, this)
            line0 = this
            width = self.minwidth
            discardable = True
            while this < line1:
                line = self._lines[this]
                if column >= len(line) - 1:
                    break
                c = line[column]
                width = max(width, c.width + self.padding)
                if c.width > 0 or c.htab:
                    discardable = False
                this += 1
            if discardable and self.flags & DISCARD_EMPTY_COLUMNS:
                width = 0
            self._widths.append(width)
            pos = self._format(pos, line0, this)
            self._widths.pop()
            line0 = this
        return self._write_lines(pos, line0, line1)

    def _append(self, text: str) -> None:
        self._buf += text
        self._cell.size += len(text)

    def _update_width(self) -> None:
        self._cell.width += self._width(self._buf[self._pos :])
        self._pos = len(self._buf)

    def _start_escape(self, ch: str) -> None:
        self._end_char = {ESCAPE: ESCAPE, "<": ">", "&": ";"}[ch]

    def _end_escape(self) -> None:
        if self._end_char == ESCAPE:
            self._update_width()
            if not self.flags & STRIP_ESCAPE:
                self._cell.width -= 2
        elif self._end_char == ";":
            self._cell.width += 1
        self._pos = len(self._buf)
        self._end_char = ""

    def _terminate_cell(self, htab: bool) -> int:
        self._cell.htab = htab
        line = self._lines[-1]
        line.append(self._cell)
        self._cell = _Cell()
        return len(line)

    def flush(self) -> None:
        """Format and output everything buffered; the writer can be reused after."""
        if self._cell.size > 0:
            if self._end_char:
                self._end_escape()
            self._terminate_cell(False)
        self._format(0, 0, len(self._lines))
        self._reset()

    def write(self, text: str) -> None:
        """Buffer ``text``; complete blocks of lines are output as soon as they are known."""
        n = 0
        for i, ch in enumerate(text):
            if not self._end_char:
                if ch in "\t\v\n\f":
                    self._append(text[n:i])
                    self._update_width()
                    n = i + 1
                    ncells = self._terminate_cell(ch == "\t")
                    if ch in "\n\f":
                        self._lines.append([])
                        if ch == "\f" or ncells == 1:
                            self.flush()
                            if ch == "\f" and self.flags & DEBUG:
                                self._output("---\n")
                elif ch == ESCAPE:
                    self._append(text[n:i])
                    self._update_width()
                    n = i
                    if self.flags & STRIP_ESCAPE:
                        n += 1
                    self._start_escape(ESCAPE)
                elif ch in "<&" and self.flags & FILTER_HTML:
                    self._append(text[n:i])
                    self._update_width()
                    n = i
                    self._start_escape(ch)
            elif ch == self._end_char:
                j = i + 1
                if ch == ESCAPE and self.flags & STRIP_ESCAPE:
                    j = i
                self._append(text[n:j])
                n = i + 1
                self._end_escape()
        self._append(text[n:])


# ---------------------------------------------------------------------------------------
# docker's formatter.Context: table and custom formats


def is_table_format(fmt: str) -> bool:
    """Whether docker treats ``fmt`` as a table format (it starts with ``table``)."""
    return fmt.startswith("table")


def strip_table(fmt: str) -> str:
    """``fmt`` without docker's ``table`` directive and the spaces around the rest."""
    if is_table_format(fmt):
        fmt = fmt[len("table") :]
    return fmt.strip(" ")


def prepare_format(fmt: str) -> str:
    """The template text docker parses for ``--format fmt`` (``Context.preFormat``).

    Drops a ``table`` prefix, turns the format ``json`` into ``{{json .}}``, trims spaces and
    replaces the two-character sequences ``\\t`` and ``\\n`` with a tab and a newline.
    """
    if not is_table_format(fmt) and fmt == "json":
        fmt = "{{json .}}"
    return strip_table(fmt).replace("\\t", "\t").replace("\\n", "\n")


def _header_label(name: str) -> str:
    last = name.split(".")[-1]
    return last.replace("-", " ").replace("_", " ")


def render_table(
    fmt: str,
    rows: Iterable[Any],
    headers: Mapping[str, str],
    *,
    funcs: Mapping[str, Callable[..., Any]] | None = None,
) -> str:
    """Render ``rows`` with ``--format fmt`` exactly as docker's ``formatter.Context.Write``.

    Each row executes the template and ends with a newline. For a table format the header
    row comes first: the same template executed against a map of ``headers`` (field name
    to column title, with a ``Label`` method) using docker's header functions (``json``,
    ``upper``... return their argument); a header error is ignored, keeping the text
    written before it. Header and rows then go through :meth:`TabWriter.docker`.
    Raises :class:`TemplateError` when the format does not parse or a row fails.
    """
    text = prepare_format(fmt)
    tmpl = Template.parse(text, funcs=funcs)
    body: list[str] = []
    for row in rows:
        body.append(tmpl.execute(row))
        body.append("\n")
    if not is_table_format(fmt):
        return "".join(body)
    header_ctx = GoMap(
        headers, elem_type="string", methods={"Label": _header_label}, type_name="formatter.SubHeaderContext"
    )
    table = {**tmpl._funcs, **_HEADER_FUNCS}
    try:
        header = tmpl._run(header_ctx, table, "default")
    except TemplateError as e:
        header = e.output
    tw = TabWriter.docker()
    tw.write(header)
    tw.write("\n")
    tw.write("".join(body))
    tw.flush()
    return tw.getvalue()
