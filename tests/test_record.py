"""``ocitool._record`` against the stdlib ``dataclasses`` it stands in for: the same class
definitions are made both ways and must behave alike (construction, errors, equality, hashing,
ordering, freezing, slots, inheritance, replace, pickling)."""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Callable
from typing import Any, ClassVar

import pytest

from ocitool import _record
from ocitool._record import FrozenInstanceError, field, record, replace

Maker = Callable[..., Any]
# (decorator, field, replace, the frozen error) of each implementation
IMPLS = {
    "dataclasses": (
        dataclasses.dataclass,
        dataclasses.field,
        dataclasses.replace,
        dataclasses.FrozenInstanceError,
    ),
    "record": (record, field, replace, FrozenInstanceError),
}


def _classes(impl: str) -> dict[str, type]:
    deco: Any
    deco, fld, _, _ = IMPLS[impl]

    @deco(frozen=True, slots=True, order=True)
    class Point:
        x: int
        y: int = 0
        label: str = fld(default="", compare=False)
        tags: tuple[str, ...] = ()
        origin: ClassVar[str] = "class"

    @deco
    class Mutable:
        items: list[int] = fld(default_factory=list)
        name: str = "m"

    @deco(frozen=True)
    class Base:
        a: int
        b: str = "b"

    @deco(frozen=True)
    class Child(Base):
        c: float = 1.5
        b: str = "override"

    @deco(kw_only=True, slots=True)
    class Keywords:
        first: int
        second: int = 2

    @deco(frozen=True, slots=True)
    class Derived:
        raw: str
        size: int = fld(init=False, default=0)
        extra: dict[str, int] = fld(default_factory=dict, hash=False)

        def __post_init__(self) -> None:
            object.__setattr__(self, "size", len(self.raw))

    @deco(frozen=True, eq=False)
    class Identity:
        v: int

    @deco(frozen=True)
    class Custom:
        v: int

        def __repr__(self) -> str:
            return "custom"

        def __eq__(self, other: object) -> bool:
            return isinstance(other, Custom) and abs(self.v - other.v) <= 1

        def __hash__(self) -> int:
            return 7

    return {c.__name__: c for c in (Point, Mutable, Base, Child, Keywords, Derived, Identity, Custom)}


BOTH = {name: _classes(name) for name in IMPLS}


def _outcome(fn: Callable[[], Any]) -> Any:
    """What a call gives, comparable across implementations: a value, or the exception's type."""
    try:
        return ("ok", fn())
    except Exception as e:
        return ("raises", type(e).__name__ if not isinstance(e, AttributeError) else "AttributeError")


CALLS: dict[str, Callable[[dict[str, type], Any], Any]] = {
    "positional": lambda c, r: repr(c["Point"](1, 2, "p", ("t",))),
    "keywords": lambda c, r: repr(c["Point"](y=3, x=4)),
    "defaults": lambda c, r: repr(c["Point"](5)),
    "missing": lambda c, r: c["Point"](),
    "too many": lambda c, r: c["Point"](1, 2, "", (), 5),
    "unknown keyword": lambda c, r: c["Point"](1, z=2),
    "twice": lambda c, r: c["Point"](1, x=2),
    "eq ignores compare=False": lambda c, r: c["Point"](1, 2, "a") == c["Point"](1, 2, "b"),
    "eq other type": lambda c, r: c["Point"](1) == (1, 0, "", ()),
    "hash": lambda c, r: hash(c["Point"](1, 2, "a")) == hash(c["Point"](1, 2, "b")),
    "order": lambda c, r: sorted(
        repr(p) for p in sorted([c["Point"](2), c["Point"](1, 5), c["Point"](1, 3)])
    ),
    "order other type": lambda c, r: c["Point"](1) < 3,
    "frozen": lambda c, r: setattr(c["Point"](1), "x", 2),
    "frozen delete": lambda c, r: delattr(c["Point"](1), "x"),
    "slots": lambda c, r: (hasattr(c["Point"](1), "__dict__"), c["Point"].__slots__),
    "classvar": lambda c, r: (c["Point"].origin, "origin" in repr(c["Point"](1))),
    "match_args": lambda c, r: c["Point"].__match_args__,
    "factory": lambda c, r: c["Mutable"]().items is not c["Mutable"]().items,
    "mutable assign": lambda c, r: _assign(c["Mutable"]()),
    "unhashable": lambda c, r: hash(c["Mutable"]()),
    "inheritance": lambda c, r: repr(c["Child"](1)),
    "inheritance positional": lambda c, r: repr(c["Child"](1, "x", 2.5)),
    "kw_only": lambda c, r: c["Keywords"](1),
    "kw_only ok": lambda c, r: repr(c["Keywords"](first=1)),
    "kw_only missing": lambda c, r: c["Keywords"](second=1),
    "post_init and init=False": lambda c, r: repr(c["Derived"]("abc")),
    "init=False not positional": lambda c, r: repr(c["Derived"]("abc", {"k": 5})),
    "hash=False field": lambda c, r: hash(c["Derived"]("a", extra={"k": 1})) == hash(c["Derived"]("a")),
    "replace": lambda c, r: repr(r(c["Point"](1, 2), y=9)),
    "replace runs post_init": lambda c, r: repr(r(c["Derived"]("abc"), raw="abcdef")),
    "replace init=False": lambda c, r: r(c["Derived"]("abc"), size=1),
    "eq=False is identity": lambda c, r: c["Identity"](1) == c["Identity"](1),
    "eq=False hash is identity": lambda c, r: hash(c["Identity"](1)) == hash(c["Identity"](1)),
    "own methods win": lambda c, r: (
        repr(c["Custom"](1)),
        c["Custom"](1) == c["Custom"](2),
        hash(c["Custom"](5)),
    ),
    "pickle": lambda c, r: repr(pickle.loads(pickle.dumps(c["Point"](1, 2, "p")))),
}


def _assign(m: Any) -> str:
    m.name = "changed"
    return repr(m)


@pytest.mark.parametrize("call", CALLS)
def test_behaves_as_dataclasses(call: str) -> None:
    fn = CALLS[call]
    expected = _outcome(lambda: fn(BOTH["dataclasses"], dataclasses.replace))
    got = _outcome(lambda: fn(BOTH["record"], replace))
    assert got == expected


def test_frozen_error_is_an_attribute_error_of_its_own() -> None:
    point = BOTH["record"]["Point"](1)
    with pytest.raises(FrozenInstanceError, match="'x'"):
        point.x = 2
    assert issubclass(FrozenInstanceError, AttributeError)


def test_non_default_after_default_is_refused_at_class_creation() -> None:
    with pytest.raises(TypeError, match="'b' follows default"):

        @record
        class Bad:
            a: int = 0
            b: int  # type: ignore[misc]


def test_fields_and_their_options() -> None:
    names = [(f.name, f.init, f.compare) for f in _record.fields(BOTH["record"]["Derived"])]
    assert names == [("raw", True, True), ("size", False, True), ("extra", True, True)]
    with pytest.raises(TypeError, match="not a record"):
        _record.fields(object())
    with pytest.raises(ValueError, match="both default and default_factory"):
        field(default=1, default_factory=list)


def test_making_a_class_runs_no_generated_code(monkeypatch: pytest.MonkeyPatch) -> None:
    # the point of the module (issue 11): no exec/compile when a class is made
    import builtins

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("code generated")

    monkeypatch.setattr(builtins, "exec", refuse)
    monkeypatch.setattr(builtins, "compile", refuse)

    @record(frozen=True, slots=True, order=True)
    class Made:
        a: int
        b: str = "x"

    assert Made(1) < Made(2) and Made(1, "x") == Made(1)


def test_no_module_of_the_package_uses_dataclasses() -> None:
    # one home for value classes; a stray @dataclass brings the start-up cost back
    import ocitool

    root = __import__("pathlib").Path(ocitool.__file__).parent
    users = [
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if p.name != "_record.py"
        and ("import dataclasses" in (t := p.read_text()) or "from dataclasses" in t)
    ]
    assert users == []
