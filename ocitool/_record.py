"""Value classes, as :mod:`dataclasses` makes them, without generating code.

``@record`` is a drop-in for the subset of ``@dataclass`` the package uses: ``frozen``,
``slots``, ``eq``, ``order``, ``kw_only``, ``repr``, ``init``; :func:`field` with ``default``,
``default_factory``, ``init``, ``repr``, ``compare``, ``kw_only``; ``__post_init__``;
inheritance between records; ``ClassVar`` annotations skipped; :func:`replace` and :func:`fields`.
Type checkers see it as a dataclass (PEP 681 ``dataclass_transform``).

Why not ``dataclasses``: ``@dataclass`` compiles each class's ``__init__``, ``__eq__``,
``__repr__``, ``__hash__`` and frozen ``__setattr__`` with ``exec`` (0.2 to 0.7 ms a class) and
imports ``inspect`` (and with it ``ast``, ``dis``, ``tokenize``). A metadata command loads about
thirty value classes, and that was a quarter of its start-up (issue 11). Here the methods are
closures over a per-class field table, and comparisons go through :func:`operator.attrgetter`,
so making a class costs microseconds and instances compare and hash at C speed.

Contract differences from ``dataclasses``, none of which the package relies on: no ``InitVar``,
``KW_ONLY`` sentinel, ``unsafe_hash``, ``match_args=False`` or ``weakref_slot``; ``__init__``
takes ``*args, **kwargs`` (its signature is not introspectable); ``fields()`` returns
:class:`Field` objects of this module; ``asdict`` and ``astuple`` do not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any, ClassVar, Final, TypeVar, dataclass_transform, get_origin, overload

__all__ = ["MISSING", "Field", "FrozenInstanceError", "field", "fields", "record", "replace"]

T = TypeVar("T")


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final[Any] = _Missing()


class FrozenInstanceError(AttributeError):
    """Assigning to or deleting a field of a frozen record (as ``dataclasses``' error)."""


class Field:
    """One field of a record: its name and how ``__init__``, ``repr`` and comparisons treat it."""

    __slots__ = ("compare", "default", "default_factory", "hash", "init", "kw_only", "name", "repr")

    def __init__(
        self,
        default: Any,
        default_factory: Any,
        init: bool,
        repr: bool,
        compare: bool,
        kw_only: Any,
        hash: bool | None = None,
    ) -> None:
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.name = ""
        self.default = default
        self.default_factory = default_factory
        self.init = init
        self.repr = repr
        self.compare = compare
        self.kw_only = kw_only
        self.hash = compare if hash is None else hash

    def __repr__(self) -> str:
        return f"Field(name={self.name!r})"


def field(
    *,
    default: Any = MISSING,
    default_factory: Callable[[], Any] | Any = MISSING,
    init: bool = True,
    repr: bool = True,
    compare: bool = True,
    hash: bool | None = None,
    kw_only: bool | Any = MISSING,
) -> Any:
    """A field with options, as ``dataclasses.field`` (the subset above)."""
    return Field(default, default_factory, init, repr, compare, kw_only, hash)


def fields(obj: Any) -> tuple[Field, ...]:
    """The fields of a record class or instance, in ``__init__`` order of declaration."""
    try:
        return tuple(obj.__record_fields__)
    except AttributeError:
        raise TypeError(f"{obj!r} is not a record") from None


def replace(obj: T, /, **changes: Any) -> T:
    """A copy of ``obj`` with ``changes``, through ``__init__`` (so ``__post_init__`` runs)."""
    for f in fields(obj):
        if not f.init:
            if f.name in changes:
                raise ValueError(f"field {f.name} is declared with init=False, it cannot be replaced")
            continue
        if f.name not in changes:
            changes[f.name] = getattr(obj, f.name)
    return obj.__class__(**changes)


def _is_classvar(annotation: Any) -> bool:
    # annotations are strings under ``from __future__ import annotations``; both forms count
    if isinstance(annotation, str):
        return annotation.split("[", 1)[0].strip() in ("ClassVar", "typing.ClassVar")
    return annotation is ClassVar or get_origin(annotation) is ClassVar


def _collect(cls: type, kw_only: bool) -> list[Field]:
    by_name: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        for f in base.__dict__.get("__record_fields__", ()):
            by_name[f.name] = f
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():  # noqa: RUF063 - inspect is what this module avoids importing
        if _is_classvar(annotation):
            continue
        value = cls.__dict__.get(name, MISSING)
        if isinstance(value, Field):
            f = value
            if f.default is MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, f.default)
        else:
            f = Field(value, MISSING, True, True, True, MISSING)
        if f.kw_only is MISSING:
            f.kw_only = kw_only
        f.name = name
        by_name[name] = f  # a field redefined keeps its base's position, as in dataclasses
    result = list(by_name.values())
    seen_default = False
    for f in result:
        if not f.init or f.kw_only:
            continue
        if f.default is not MISSING or f.default_factory is not MISSING:
            seen_default = True
        elif seen_default:
            raise TypeError(f"non-default argument {f.name!r} follows default argument")
    return result


def _make_init(fields_: list[Field], has_post_init: bool) -> Callable[..., None]:
    setter = object.__setattr__
    positional = tuple(f for f in fields_ if f.init and not f.kw_only)
    keyword = tuple(f for f in fields_ if f.init and f.kw_only)
    init_names = frozenset(f.name for f in fields_ if f.init)
    later = tuple(
        f for f in fields_ if not f.init and (f.default is not MISSING or f.default_factory is not MISSING)
    )
    # (name, default, factory) triples: the loop below is the whole of __init__
    pos_spec = tuple((f.name, f.default, f.default_factory) for f in positional)
    kw_spec = tuple((f.name, f.default, f.default_factory) for f in keyword)
    later_spec = tuple((f.name, f.default, f.default_factory) for f in later)
    n_pos = len(pos_spec)

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if len(args) > n_pos:
            raise TypeError(
                f"{type(self).__name__}() takes {n_pos} positional arguments but {len(args)} were given"
            )
        if kwargs and not init_names.issuperset(kwargs):
            unknown = sorted(set(kwargs) - init_names)[0]
            raise TypeError(f"{type(self).__name__}() got an unexpected keyword argument {unknown!r}")
        n_args = len(args)
        for i, (name, default, factory) in enumerate(pos_spec):
            if i < n_args:
                if name in kwargs:
                    raise TypeError(f"{type(self).__name__}() got multiple values for argument {name!r}")
                setter(self, name, args[i])
            else:
                setter(self, name, kwargs[name] if name in kwargs else _absent(self, name, default, factory))
        for name, default, factory in kw_spec:
            setter(self, name, kwargs[name] if name in kwargs else _absent(self, name, default, factory))
        for name, default, factory in later_spec:
            setter(self, name, default if default is not MISSING else factory())
        if has_post_init:
            self.__post_init__()

    return __init__


def _absent(obj: Any, name: str, default: Any, factory: Any) -> Any:
    """The value of a field ``__init__`` was not given: its default, or a new one, or an error."""
    if default is not MISSING:
        return default
    if factory is not MISSING:
        return factory()
    raise TypeError(f"{type(obj).__name__}() missing required argument: {name!r}")


def _key(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """A C-speed getter of the compared fields as a tuple (attrgetter of one name is no tuple)."""
    if not names:
        return lambda _obj: ()
    if len(names) == 1:
        one = attrgetter(names[0])
        return lambda obj: (one(obj),)
    return attrgetter(*names)


def _add(cls: type, name: str, value: Any) -> None:
    # as dataclasses: a method the class body defines itself wins
    if name not in cls.__dict__:
        setattr(cls, name, value)


def _process(
    cls: type[T], *, init: bool, repr: bool, eq: bool, order: bool, frozen: bool, slots: bool, kw_only: bool
) -> type[T]:
    fields_ = _collect(cls, kw_only)
    cls.__record_fields__ = tuple(fields_)  # type: ignore[attr-defined]
    if init:
        _add(cls, "__init__", _make_init(fields_, hasattr(cls, "__post_init__")))
    if repr:
        shown = tuple(f.name for f in fields_ if f.repr)

        def __repr__(self: Any) -> str:
            inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in shown)
            return f"{type(self).__qualname__}({inner})"

        _add(cls, "__repr__", __repr__)
    key = _key(tuple(f.name for f in fields_ if f.compare))
    if eq:

        def __eq__(self: Any, other: Any) -> Any:
            if other.__class__ is not self.__class__:
                return NotImplemented
            return self is other or key(self) == key(other)

        _add(cls, "__eq__", __eq__)
        if "__hash__" not in cls.__dict__ or cls.__dict__["__hash__"] is None:
            if frozen:
                hashed = _key(tuple(f.name for f in fields_ if f.hash))
                cls.__hash__ = lambda self: hash(hashed(self))  # type: ignore[method-assign]
            else:
                cls.__hash__ = None  # type: ignore[assignment]
    if order:
        for name, compare in (
            ("__lt__", lambda a, b: a < b),
            ("__le__", lambda a, b: a <= b),
            ("__gt__", lambda a, b: a > b),
            ("__ge__", lambda a, b: a >= b),
        ):
            _add(cls, name, _ordering(key, compare))
    if frozen:
        _add(cls, "__setattr__", _frozen_setattr)
        _add(cls, "__delattr__", _frozen_delattr)
    _add(cls, "__match_args__", tuple(f.name for f in fields_ if f.init and not f.kw_only))
    if slots:
        return _with_slots(cls, fields_, frozen)
    return cls


def _ordering(key: Callable[[Any], Any], compare: Callable[[Any, Any], bool]) -> Callable[[Any, Any], Any]:
    def method(self: Any, other: Any) -> Any:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return compare(key(self), key(other))

    return method


def _frozen_setattr(self: Any, name: str, value: Any) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self: Any, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def _with_slots(cls: type[T], fields_: list[Field], frozen: bool) -> type[T]:
    """The class made again with ``__slots__`` for its own fields (slots can't be added later)."""
    inherited = {name for base in cls.__mro__[1:-1] for name in getattr(base, "__slots__", ())}
    own = tuple(f.name for f in fields_ if f.name not in inherited)
    namespace = dict(cls.__dict__)
    for name in own:
        namespace.pop(name, None)  # a default lives in the field table, not as a class attribute
    namespace.pop("__dict__", None)
    namespace.pop("__weakref__", None)
    namespace["__slots__"] = own
    if frozen and "__getstate__" not in namespace:
        # pickling a frozen, slotted instance can't go through __setattr__
        names = tuple(f.name for f in fields_)
        namespace["__getstate__"] = lambda self: [getattr(self, n) for n in names]
        namespace["__setstate__"] = _setstate(names)
    metaclass: Any = type(cls)
    made: type[T] = metaclass(cls.__name__, cls.__bases__, namespace)
    made.__qualname__ = cls.__qualname__
    return made


def _setstate(names: tuple[str, ...]) -> Callable[[Any, list[Any]], None]:
    def __setstate__(self: Any, state: list[Any]) -> None:
        for name, value in zip(names, state, strict=True):
            object.__setattr__(self, name, value)

    return __setstate__


@overload
def record(cls: type[T], /) -> type[T]: ...


@overload
def record(
    *,
    init: bool = True,
    repr: bool = True,
    eq: bool = True,
    order: bool = False,
    frozen: bool = False,
    slots: bool = False,
    kw_only: bool = False,
) -> Callable[[type[T]], type[T]]: ...


@dataclass_transform(field_specifiers=(field, Field))
def record(
    cls: type[T] | None = None,
    /,
    *,
    init: bool = True,
    repr: bool = True,
    eq: bool = True,
    order: bool = False,
    frozen: bool = False,
    slots: bool = False,
    kw_only: bool = False,
) -> type[T] | Callable[[type[T]], type[T]]:
    """Make ``cls`` a record: ``@dataclass`` with the same arguments, see the module docstring."""

    def wrap(c: type[T]) -> type[T]:
        return _process(
            c, init=init, repr=repr, eq=eq, order=order, frozen=frozen, slots=slots, kw_only=kw_only
        )

    return wrap if cls is None else wrap(cls)
