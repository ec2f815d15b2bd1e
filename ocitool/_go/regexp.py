"""Go's ``regexp``: RE2 syntax, matched in linear time.

Python's ``re`` backtracks, so a pattern such as ``^[^/]*a[^/]*a[^/]*a...b$`` takes exponential
time on a name without ``b``; Go's engine never does. :func:`compile` parses Go's syntax
(``regexp/syntax`` with the Perl flags ``regexp.Compile`` uses) into a Thompson automaton that
:meth:`Regexp.match_string` runs as a lazily built DFA: time linear in the text, memory bounded.

Supported as Go defines them: literals and escapes (``\\a \\f \\t \\n \\r \\v``, octal ``\\123``,
``\\x7f``, ``\\x{10FFFF}``, ``\\Q...\\E``, escaped punctuation), ``.``, classes ``[...]``/``[^...]``
with ranges, POSIX ``[:alpha:]``/``[:^alpha:]`` and the ASCII Perl classes ``\\d \\s \\w``
(and negations), Unicode general categories ``\\pL``/``\\p{Lu}``/``\\PL``, groups ``(...)``,
``(?:...)``, ``(?P<n>...)``, ``(?<n>...)``, flags ``(?imsU-imsU)`` and ``(?i:...)``, alternation,
``* + ? {n} {n,} {n,m}`` (lazy forms too; counts up to 1000; a brace that opens no repeat is a
literal), ``^ $ \\A \\z \\b \\B``. Case folding is Python's one-rune lower/upper mapping, plus
the few orbits Go adds (``k K \\u212a``, ``s S \\u017f``...). Unicode scripts (``\\p{Greek}``) are
refused. Errors are :class:`RegexpSyntaxError`.
"""

from __future__ import annotations

import bisect
import unicodedata
from collections.abc import Callable
from typing import Final

from ocitool._record import record

__all__ = ["MAX_STATES", "Regexp", "RegexpSyntaxError", "compile"]

MAX_STATES: Final = 100_000
"""The largest automaton compiled (Go refuses oversized programs too)."""

_MAX_REPEAT: Final = 1000
_CACHE_LIMIT: Final = 20_000
_WORD: Final = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_PERL: Final = {
    "d": ((0x30, 0x39),),
    "s": ((0x09, 0x0A), (0x0C, 0x0D), (0x20, 0x20)),
    "w": ((0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)),
}
_POSIX: Final = {
    "alnum": ((0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)),
    "alpha": ((0x41, 0x5A), (0x61, 0x7A)),
    "ascii": ((0x00, 0x7F),),
    "blank": ((0x09, 0x09), (0x20, 0x20)),
    "cntrl": ((0x00, 0x1F), (0x7F, 0x7F)),
    "digit": ((0x30, 0x39),),
    "graph": ((0x21, 0x7E),),
    "lower": ((0x61, 0x7A),),
    "print": ((0x20, 0x7E),),
    "punct": ((0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)),
    "space": ((0x09, 0x0D), (0x20, 0x20)),
    "upper": ((0x41, 0x5A),),
    "word": ((0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)),
    "xdigit": ((0x30, 0x39), (0x41, 0x46), (0x61, 0x66)),
}
_ORBITS: Final = (
    "kK\u212a",
    "sS\u017f",
    "\u00b5\u039c\u03bc",
    "\u00c5\u00e5\u212b",
    "\u03b8\u0398\u03d1\u03f4",
)
_ESCAPES: Final = {"a": 7, "f": 12, "t": 9, "n": 10, "r": 13, "v": 11}


class RegexpSyntaxError(ValueError):
    """``regexp.Compile`` refused the expression."""

    def __init__(self, reason: str, expr: str) -> None:
        super().__init__(f"error parsing regexp: {reason}: `{expr}`")
        self.reason = reason


def _fold(c: str) -> set[str]:
    out = {c, c.lower() if len(c.lower()) == 1 else c, c.upper() if len(c.upper()) == 1 else c}
    for orbit in _ORBITS:
        if c in orbit:
            out.update(orbit)
    return out


@record(frozen=True, slots=True)
class _Set:
    """A set of code points: sorted disjoint ranges, maybe negated, maybe case-folded, plus
    Unicode categories."""

    ranges: tuple[tuple[int, int], ...]
    negated: bool = False
    fold: bool = False
    categories: tuple[str, ...] = ()
    not_categories: tuple[str, ...] = ()

    def _has(self, c: str) -> bool:
        o = ord(c)
        i = bisect.bisect_right(self.ranges, (o, 0x110000)) - 1
        if i >= 0 and self.ranges[i][0] <= o <= self.ranges[i][1]:
            return True
        if self.categories or self.not_categories:
            cat = unicodedata.category(c)
            if any(cat.startswith(x) for x in self.categories):
                return True
            if any(not cat.startswith(x) for x in self.not_categories):
                return True
        return False

    def __call__(self, c: str) -> bool:
        hit = self._has(c) or (self.fold and any(self._has(f) for f in _fold(c) - {c}))
        return hit != self.negated


def _normalize(ranges: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return tuple(out)


@record(frozen=True, slots=True)
class _Char:
    pred: _Set


@record(frozen=True, slots=True)
class _Cat:
    items: tuple[_Node, ...]


@record(frozen=True, slots=True)
class _Alt:
    branches: tuple[_Node, ...]


@record(frozen=True, slots=True)
class _Rep:
    node: _Node
    lo: int
    hi: int  # -1: unbounded


@record(frozen=True, slots=True)
class _Assert:
    kind: str  # bot eot bol eol wb nwb


_Node = _Char | _Cat | _Alt | _Rep | _Assert


@record
class _Flags:
    i: bool = False
    m: bool = False
    s: bool = False


class _Parser:
    def __init__(self, expr: str) -> None:
        self.expr = expr
        self.pos = 0

    def error(self, reason: str) -> RegexpSyntaxError:
        return RegexpSyntaxError(reason, self.expr)

    def peek(self, k: int = 0) -> str:
        i = self.pos + k
        return self.expr[i] if i < len(self.expr) else ""

    def parse(self) -> _Node:
        node = self.alternation(_Flags())
        if self.pos < len(self.expr):
            raise self.error("unexpected )")
        return node

    def alternation(self, flags: _Flags) -> _Node:
        branches = [self.sequence(flags)]
        while self.peek() == "|":
            self.pos += 1
            branches.append(self.sequence(flags))
        return branches[0] if len(branches) == 1 else _Alt(tuple(branches))

    def sequence(self, flags: _Flags) -> _Node:
        items: list[_Node] = []
        while self.pos < len(self.expr) and self.peek() not in "|)":
            atom = self.atom(flags)
            if atom is None:
                continue
            items.append(self.quantified(atom))
        return _Cat(tuple(items))

    def repeat_spec(self) -> tuple[int, int, int] | None:
        """``{n}``, ``{n,}``, ``{n,m}`` at pos: (min, max or -1, length), None if not one."""
        j = self.pos + 1
        start = j
        while j < len(self.expr) and self.expr[j].isascii() and self.expr[j].isdigit():
            j += 1
        if j == start:
            return None
        lo = int(self.expr[start:j])
        hi = lo
        if j < len(self.expr) and self.expr[j] == ",":
            j += 1
            start = j
            while j < len(self.expr) and self.expr[j].isascii() and self.expr[j].isdigit():
                j += 1
            hi = int(self.expr[start:j]) if j > start else -1
        if j >= len(self.expr) or self.expr[j] != "}":
            return None
        return lo, hi, j + 1 - self.pos

    def quantified(self, atom: _Node) -> _Node:
        node = atom
        quantified = False
        while True:
            ch = self.peek()
            if ch in ("*", "+", "?") and ch:
                lo, hi, size = {"*": (0, -1, 1), "+": (1, -1, 1), "?": (0, 1, 1)}[ch]
            elif ch == "{" and (spec := self.repeat_spec()) is not None:
                lo, hi, size = spec
                if lo > _MAX_REPEAT or hi > _MAX_REPEAT or (hi != -1 and hi < lo):
                    raise self.error("invalid repeat count")
            else:
                return node
            if quantified:
                raise self.error("invalid nested repetition operator")
            self.pos += size
            if self.peek() == "?":
                self.pos += 1  # non-greedy: the same language
            node = _Rep(node, lo, hi)
            quantified = True

    def atom(self, flags: _Flags) -> _Node | None:
        ch = self.peek()
        if ch == "(":
            return self.group(flags)
        if ch in ("*", "+", "?"):
            raise self.error("missing argument to repetition operator")
        if ch == "{" and self.repeat_spec() is not None:
            raise self.error("missing argument to repetition operator")
        self.pos += 1
        if ch == "[":
            return _Char(self.char_class(flags))
        if ch == ".":
            ranges = [(0, 0x10FFFF)] if flags.s else [(0, 9), (11, 0x10FFFF)]
            return _Char(_Set(tuple(ranges)))
        if ch == "^":
            return _Assert("bol" if flags.m else "bot")
        if ch == "$":
            return _Assert("eol" if flags.m else "eot")
        if ch == "\\":
            return self.escape(flags)
        return _Char(_Set(((ord(ch), ord(ch)),), fold=flags.i))

    def group(self, flags: _Flags) -> _Node | None:
        self.pos += 1
        inner = _Flags(flags.i, flags.m, flags.s)
        if self.peek() == "?":
            if self.expr.startswith("?P<", self.pos) or self.expr.startswith("?<", self.pos):
                end = self.expr.find(">", self.pos)
                name = self.expr[self.expr.index("<", self.pos) + 1 : end] if end >= 0 else ""
                if end < 0 or not name or not all(c in _WORD for c in name):
                    raise self.error("invalid named capture")
                self.pos = end + 1
            else:
                self.pos += 1
                negate = False
                seen = False
                while True:
                    c = self.peek()
                    if c == "-" and not negate:
                        negate = True
                        seen = False
                    elif c in ("i", "m", "s", "U"):
                        if c != "U":
                            setattr(inner, c, not negate)
                        seen = True
                    elif (c == ":" and (seen or not negate)) or (c == ")" and seen):
                        break
                    else:
                        raise self.error("invalid or unsupported Perl syntax")
                    self.pos += 1
                self.pos += 1
                if c == ")":
                    flags.i, flags.m, flags.s = inner.i, inner.m, inner.s
                    return None
        node = self.alternation(inner)
        if self.peek() != ")":
            raise self.error("missing closing )")
        self.pos += 1
        return node

    def escape_rune(self) -> int | None:
        """An escape that stands for one rune (after the backslash), or None."""
        ch = self.peek()
        if ch == "":
            raise self.error("trailing backslash at end of expression")
        if ch in _ESCAPES:
            self.pos += 1
            return _ESCAPES[ch]
        if ch in "01234567":
            if ch != "0" and not ("0" <= self.peek(1) <= "7"):
                raise self.error("invalid escape sequence")  # a backreference
            digits = ""
            while len(digits) < 3 and "0" <= self.peek() <= "7":
                digits += self.peek()
                self.pos += 1
            return int(digits, 8)
        if ch == "x":
            self.pos += 1
            if self.peek() == "{":
                end = self.expr.find("}", self.pos)
                text = self.expr[self.pos + 1 : end] if end >= 0 else ""
                try:
                    value = int(text, 16) if text and all(c in "0123456789abcdefABCDEF" for c in text) else -1
                except ValueError:
                    value = -1
                if value < 0 or value > 0x10FFFF:
                    raise self.error("invalid escape sequence")
                self.pos = end + 1
                return value
            text = self.expr[self.pos : self.pos + 2]
            if len(text) != 2 or not all(c in "0123456789abcdefABCDEF" for c in text):
                raise self.error("invalid escape sequence")
            self.pos += 2
            return int(text, 16)
        if not (ch.isascii() and (ch.isalnum() or ch == "_")):
            self.pos += 1
            return ord(ch)
        return None

    def category(self) -> tuple[str, bool]:
        """``\\pX``, ``\\p{Xy}``, ``\\PX``, ``\\p{^Xy}`` after the backslash: (category, negated)."""
        negated = self.peek() == "P"
        self.pos += 1
        if self.peek() == "{":
            end = self.expr.find("}", self.pos)
            name = self.expr[self.pos + 1 : end] if end >= 0 else ""
            self.pos = end + 1 if end >= 0 else len(self.expr)
        else:
            name = self.peek()
            self.pos += 1
        if name.startswith("^"):
            negated, name = not negated, name[1:]
        if not (1 <= len(name) <= 2 and name[0] in "CLMNPSZ" and name.isalpha()):
            raise self.error("invalid character class range")  # scripts and Any: not supported
        return name, negated

    def escape(self, flags: _Flags) -> _Node:
        ch = self.peek()
        if ch in ("A", "z", "b", "B"):
            self.pos += 1
            return _Assert({"A": "bot", "z": "eot", "b": "wb", "B": "nwb"}[ch])
        if ch == "Q":
            end = self.expr.find("\\E", self.pos + 1)
            text = self.expr[self.pos + 1 : end] if end >= 0 else self.expr[self.pos + 1 :]
            self.pos = end + 2 if end >= 0 else len(self.expr)
            return _Cat(tuple(_Char(_Set(((ord(c), ord(c)),), fold=flags.i)) for c in text))
        if ch.lower() in _PERL:
            self.pos += 1
            return _Char(_Set(_PERL[ch.lower()], negated=ch.isupper()))
        if ch in ("p", "P"):
            name, negated = self.category()
            return _Char(_Set((), negated=negated, categories=(name,)))
        rune = self.escape_rune()
        if rune is None:
            raise self.error("invalid escape sequence")
        return _Char(_Set(((rune, rune),), fold=flags.i))

    def class_rune(self) -> int:
        ch = self.peek()
        if ch == "":
            raise self.error("missing closing ]")
        self.pos += 1
        if ch != "\\":
            return ord(ch)
        rune = self.escape_rune()
        if rune is None:
            raise self.error("invalid escape sequence")
        return rune

    def char_class(self, flags: _Flags) -> _Set:
        negated = self.peek() == "^"
        if negated:
            self.pos += 1
        ranges: list[tuple[int, int]] = []
        cats: list[str] = []
        not_cats: list[str] = []
        first = True
        while first or self.peek() != "]":
            if self.peek() == "":
                raise self.error("missing closing ]")
            first = False
            if self.expr.startswith("[:", self.pos):
                end = self.expr.find(":]", self.pos + 2)
                name = self.expr[self.pos + 2 : end] if end >= 0 else ""
                posix_negated = name.startswith("^")
                table = _POSIX.get(name.lstrip("^"))
                if table is not None:
                    self.pos = end + 2
                    ranges += _complement(table) if posix_negated else list(table)
                    continue
            if self.peek() == "\\" and self.peek(1).lower() in _PERL:
                letter = self.peek(1)
                self.pos += 2
                table = _PERL[letter.lower()]
                ranges += _complement(table) if letter.isupper() else list(table)
                continue
            if self.peek() == "\\" and self.peek(1) in ("p", "P"):
                self.pos += 1
                name, cat_negated = self.category()
                (not_cats if cat_negated else cats).append(name)
                continue
            lo = self.class_rune()
            hi = lo
            if self.peek() == "-" and self.peek(1) not in ("]", ""):
                self.pos += 1
                hi = self.class_rune()
                if hi < lo:
                    raise self.error("invalid character class range")
            ranges.append((lo, hi))
        self.pos += 1
        return _Set(_normalize(ranges), negated, flags.i, tuple(cats), tuple(not_cats))


def _complement(table: tuple[tuple[int, int], ...]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    nxt = 0
    for lo, hi in table:
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = hi + 1
    if nxt <= 0x10FFFF:
        out.append((nxt, 0x10FFFF))
    return out


# -- Thompson automaton --------------------------------------------------------------------

_CHAR, _SPLIT, _ASSERT, _MATCH = 0, 1, 2, 3


class _Builder:
    def __init__(self, expr: str) -> None:
        self.expr = expr
        self.kind: list[int] = []
        self.pred: list[Callable[[str], bool] | None] = []
        self.arg: list[str] = []
        self.out: list[list[int]] = []

    def state(self, kind: int, pred: Callable[[str], bool] | None = None, arg: str = "") -> int:
        if len(self.kind) >= MAX_STATES:
            raise RegexpSyntaxError("expression too large", self.expr)
        self.kind.append(kind)
        self.pred.append(pred)
        self.arg.append(arg)
        self.out.append([])
        return len(self.kind) - 1

    def build(self, node: _Node, nxt: int) -> int:
        """States for ``node`` that continue to ``nxt``; returns the entry state."""
        if isinstance(node, _Char):
            s = self.state(_CHAR, node.pred)
            self.out[s] = [nxt]
            return s
        if isinstance(node, _Assert):
            s = self.state(_ASSERT, arg=node.kind)
            self.out[s] = [nxt]
            return s
        if isinstance(node, _Cat):
            entry = nxt
            for child in reversed(node.items):
                entry = self.build(child, entry)
            return entry
        if isinstance(node, _Alt):
            s = self.state(_SPLIT)
            self.out[s] = [self.build(child, nxt) for child in node.branches]
            return s
        entry = nxt
        if node.hi == -1:
            loop = self.state(_SPLIT)
            self.out[loop] = [self.build(node.node, loop), nxt]
            entry = loop
        else:
            for _ in range(node.hi - node.lo):
                opt = self.state(_SPLIT)
                self.out[opt] = [self.build(node.node, entry), nxt]
                entry = opt
        for _ in range(node.lo):
            entry = self.build(node.node, entry)
        return entry


def _context(c: str) -> int:
    if c == "":
        return 0
    if c == "\n":
        return 1
    return 2 if c in _WORD else 3


class Regexp:
    """A compiled Go regular expression."""

    def __init__(self, expr: str) -> None:
        self.expr = expr
        b = _Builder(expr)
        match = b.state(_MATCH)
        self._start = b.build(_Parser(expr).parse(), match)
        self._kind, self._pred, self._arg, self._out = b.kind, b.pred, b.arg, b.out
        self._ids: dict[frozenset[int], int] = {}
        self._sets: list[frozenset[int]] = []
        self._steps: dict[tuple[int, int, str], int] = {}

    def _ok(self, kind: str, prev: int, nxt: int) -> bool:
        if kind == "bot":
            return prev == 0
        if kind == "eot":
            return nxt == 0
        if kind == "bol":
            return prev in (0, 1)
        if kind == "eol":
            return nxt in (0, 1)
        word = (prev == 2) != (nxt == 2)
        return word if kind == "wb" else not word

    def _closure(self, states: frozenset[int], prev: int, nxt: int) -> list[int]:
        seen: set[int] = set()
        stack = list(states)
        out: list[int] = []
        while stack:
            s = stack.pop()
            if s in seen:
                continue
            seen.add(s)
            kind = self._kind[s]
            if kind == _SPLIT:
                stack.extend(self._out[s])
            elif kind == _ASSERT:
                if self._ok(self._arg[s], prev, nxt):
                    stack.extend(self._out[s])
            else:
                out.append(s)
        return out

    def _intern(self, states: frozenset[int]) -> int:
        sid = self._ids.get(states)
        if sid is None:
            sid = len(self._sets)
            self._ids[states] = sid
            self._sets.append(states)
        return sid

    def match_string(self, text: str) -> bool:
        """``MatchString``: whether ``text`` contains a match (anchors decide about the rest)."""
        if len(self._steps) > _CACHE_LIMIT:
            self._steps.clear()
        current = self._intern(frozenset((self._start,)))
        prev = 0
        for c in text:
            key = (current, prev, c)
            target = self._steps.get(key)
            if target is None:
                closure = self._closure(self._sets[current], prev, _context(c))
                if any(self._kind[s] == _MATCH for s in closure):
                    target = -1
                else:
                    moved = {self._out[s][0] for s in closure if self._kind[s] == _CHAR and self._call(s, c)}
                    moved.add(self._start)  # unanchored: a match may start anywhere
                    target = self._intern(frozenset(moved))
                self._steps[key] = target
            if target < 0:
                return True
            current = target
            prev = _context(c)
        closure = self._closure(self._sets[current], prev, 0)
        return any(self._kind[s] == _MATCH for s in closure)

    def _call(self, state: int, c: str) -> bool:
        pred = self._pred[state]
        return pred is not None and pred(c)


def compile(expr: str) -> Regexp:
    """``regexp.Compile``: RegexpSyntaxError where Go refuses the expression."""
    return Regexp(expr)
