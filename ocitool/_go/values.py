"""Go values as Python values: the small reflection model ``fmt``, ``encoding/json`` and
``text/template`` share.

Python values stand for Go values:

* ``str``, ``int``, ``float``, ``bool`` are Go ``string``, ``int``, ``float64``, ``bool``;
  :class:`JSONNumber` is ``json.Number`` (a ``string`` kind).
* A ``list`` (or tuple) is a Go slice: ``[]string`` when every element is a ``str``, else
  ``[]interface {}``; :class:`GoSlice` states the element type explicitly.
* A plain ``dict`` is a Go *map*: ``map[string]string`` when every value is a ``str`` (its
  zero value ``""``), else ``map[string]interface {}`` (zero value nil). :class:`GoMap` states
  the element type, the zero value, methods and the type name explicitly.
* A :class:`GoStruct` is a Go *struct*: keys are the fields in declaration order.
* An object with a ``template_fields()`` method (:class:`TemplateObject`) is a pointer to a
  Go struct with methods: ``template_fields()`` returns the fields and methods by name;
  callable values are methods.
* ``None`` is a nil ``interface {}``; :data:`NIL_POINTER`, :data:`NIL_SLICE` and
  :data:`NIL_MAP` are typed nils, which Go prints differently; :data:`NO_VALUE` is an invalid
  ``reflect.Value`` (a missing map key).

Also here, as every user of the model needs them: Go type names (:func:`go_type`), the key
order of ``internal/fmtsort`` (:func:`sorted_items`), ``json.Unmarshal`` into ``interface {}``
(:func:`go_generic`) and the value ``json.Marshal`` encodes (:func:`json_value`). Pure; the
only errors raised are :class:`UnsupportedValueError` and ``TypeError`` for a malformed
:class:`TemplateObject`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, Protocol, runtime_checkable

from ocitool._go.strings import to_bytes

__all__ = [
    "NIL_MAP",
    "GoDuration",
    "NIL_POINTER",
    "NIL_SLICE",
    "NO_VALUE",
    "GoMap",
    "GoNil",
    "GoSlice",
    "GoStruct",
    "JSONNumber",
    "TemplateObject",
    "UnsupportedValueError",
    "elem_type",
    "go_generic",
    "go_type",
    "is_int",
    "is_map",
    "is_object",
    "is_slice",
    "json_value",
    "map_zero",
    "object_fields",
    "sorted_items",
]


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


def _fraction(value: int, digits: int) -> str:
    whole, frac = divmod(value, 10**digits)
    text = f"{frac:0{digits}d}".rstrip("0")
    return f"{whole}.{text}" if text else str(whole)


class GoDuration:
    """A Go ``time.Duration`` (nanoseconds): prints as ``Duration.String()`` (``1h2m3.5s``,
    ``30s``, ``1.5ms``, ``0s``), marshals as its integer, and is empty for ``omitempty`` when 0."""

    __slots__ = ("ns",)

    def __init__(self, ns: int) -> None:
        self.ns = ns

    def __str__(self) -> str:
        u = abs(self.ns)
        if u == 0:
            return "0s"
        if u < 1_000:
            text = f"{u}ns"
        elif u < 1_000_000:
            text = _fraction(u, 3) + "\u00b5s"
        elif u < 1_000_000_000:
            text = _fraction(u, 6) + "ms"
        else:
            seconds = u // 1_000_000_000
            text = _fraction(u % 60_000_000_000, 9) + "s"
            minutes = seconds // 60
            if minutes:
                text = f"{minutes % 60}m{text}"
                if minutes // 60:
                    text = f"{minutes // 60}h{text}"
        return "-" + text if self.ns < 0 else text

    def __repr__(self) -> str:
        return f"GoDuration({self.ns})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GoDuration) and other.ns == self.ns

    def __hash__(self) -> int:
        return hash(self.ns)

    def template_json(self) -> int:
        return self.ns


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
    """A pointer to a Go struct with methods, such as docker's formatting contexts.

    ``json`` encodes it as its ``template_json()`` when it has one (a ``MarshalJSON``
    method), else as a map of its fields (the argument-less, non-callable entries), sorted.
    """

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


def is_int(v: Any) -> bool:
    """A Go ``int`` (a Python ``int`` that is no ``bool``)."""
    return isinstance(v, int) and not isinstance(v, bool)


def is_object(v: Any) -> bool:
    """A :class:`TemplateObject` (a pointer to a struct with methods)."""
    return hasattr(v, "template_fields") and callable(v.template_fields)


def is_map(v: Any) -> bool:
    """A Go map (a mapping that is no :class:`GoStruct`); typed nil maps are not included."""
    return isinstance(v, Mapping) and not isinstance(v, GoStruct)


def is_slice(v: Any) -> bool:
    """A Go slice (a list or tuple); typed nil slices are not included."""
    return isinstance(v, (list, tuple))


def elem_type(v: Any) -> str:
    """Element type name of a slice or map."""
    if isinstance(v, (GoMap, GoSlice)):
        return v.elem_type
    values = v.values() if isinstance(v, Mapping) else v
    return "string" if all(isinstance(x, str) for x in values) else "interface {}"


def map_zero(m: Any) -> Any:
    """The zero value of a map's element type: what indexing a missing key gives."""
    if isinstance(m, GoMap):
        return m.zero
    if isinstance(m, GoNil):
        return "" if m.type_name.endswith("]string") else None
    return "" if elem_type(m) == "string" else None


def go_type(v: Any) -> str:
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
        return f"map[string]{elem_type(v)}"
    if is_slice(v):
        return f"[]{elem_type(v)}"
    if is_object(v):
        name = getattr(v, "template_type_name", None)
        return str(name) if name else "*" + type(v).__name__
    if callable(v):
        return "func"
    return type(v).__name__


def object_fields(v: Any) -> Mapping[str, Any]:
    """A :class:`TemplateObject`'s fields and methods; ``TypeError`` if not a mapping."""
    fields = v.template_fields()
    if not isinstance(fields, Mapping):
        raise TypeError(f"{type(v).__name__}.template_fields() must return a mapping")
    return fields


def _sort_key(k: Any) -> tuple[int, Any]:
    # fmtsort: keys of one kind order naturally; strings compare as bytes.
    if k is None:
        return (0, 0)
    if isinstance(k, bool):
        return (1, k)
    if isinstance(k, (int, float)):
        return (2, k)
    if isinstance(k, str):
        return (3, to_bytes(k))
    return (4, str(k))


def sorted_items(m: Mapping[Any, Any]) -> list[tuple[Any, Any]]:
    """A map's entries in ``internal/fmtsort`` order, as ``fmt`` prints and ``range`` visits."""
    return sorted(m.items(), key=lambda kv: _sort_key(kv[0]))


class UnsupportedValueError(ValueError):
    """Go's ``json.UnsupportedValueError``: a NaN or infinite float."""


def json_value(v: Any) -> Any:
    """A value for :func:`ocitool._go.json.dumps`: Go's ``encoding/json`` view of ``v``.

    Nils are ``null``, :class:`JSONNumber` a number, structs keep their field order (minus
    empty ``omitempty`` fields, keys renamed by ``json_names``), maps are sorted by key bytes,
    objects encode as their ``template_json()`` or their fields. Raises
    :class:`UnsupportedValueError` for a NaN or infinity.
    """
    if v is None or v is NO_VALUE or isinstance(v, GoNil):
        return None
    if isinstance(v, JSONNumber):
        try:
            return int(v)
        except ValueError:
            return float(v)
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            raise UnsupportedValueError("json: unsupported value")
        return v
    if isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, GoStruct):
        out: dict[str, Any] = {}
        for k, x in v.items():
            if k in v.omitempty and _json_empty(x):
                continue
            out[v.json_names.get(k, k)] = json_value(x)
        return out
    if isinstance(v, Mapping):
        return {str(k): json_value(x) for k, x in sorted(v.items(), key=lambda kv: to_bytes(str(kv[0])))}
    if is_slice(v):
        return [json_value(x) for x in v]
    if is_object(v):
        custom = getattr(v, "template_json", None)
        if callable(custom):
            return json_value(custom())
        fields = {k: x for k, x in object_fields(v).items() if not callable(x)}
        return json_value(GoMap(fields))
    custom_json = getattr(v, "template_json", None)
    if callable(custom_json):  # a value with its own MarshalJSON (e.g. time.Time)
        return json_value(custom_json())
    return str(v)


def _json_empty(v: Any) -> bool:
    if v is None or v is NO_VALUE or isinstance(v, GoNil):
        return True
    if isinstance(v, GoDuration):
        return v.ns == 0
    if isinstance(v, (bool, int, float)):
        return not v
    if isinstance(v, (str, Mapping, list, tuple)) and not isinstance(v, GoStruct):
        return len(v) == 0
    return False
