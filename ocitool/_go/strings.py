"""Go strings over Python ``str``: Go's ``strings`` case mapping and the UTF-8 byte view.

A Go string is bytes, usually UTF-8. Here a Go string is a ``str`` whose undecodable bytes are
the lone surrogates U+DC80..U+DCFF that ``surrogateescape`` decodes them to, so that
:func:`to_bytes` gives back the original bytes. Go functions that decode a string see such a
byte as ``utf8.RuneError`` (U+FFFD); the functions here do the same.

Emulates: ``strings.ToLower``, ``strings.ToUpper``, ``strings.Title``, ``strings.Split`` and
``strings.TrimSpace``/``TrimLeftFunc(s, unicode.IsSpace)``, ``unicode.IsSpace`` (which, unlike
``str.isspace``, excludes U+001C..U+001F), ``unicode.ToLower``/``ToUpper``/``ToTitle`` (the
simple one-rune mappings Go uses, where Python's ``str.lower()`` applies context and expands),
and ``[]byte(s)``/``string(b)``.
Pure functions; nothing here raises.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Final

__all__ = [
    "from_bytes",
    "is_escaped_byte",
    "is_space",
    "simple_lower",
    "simple_title",
    "simple_upper",
    "split",
    "title",
    "to_bytes",
    "to_lower",
    "to_upper",
    "trim_left_space",
    "trim_space",
]


def to_bytes(s: str) -> bytes:
    """``[]byte(s)``: the UTF-8 bytes of ``s``, escaped bytes restored (lone surrogates
    other than escaped bytes are encoded as they are, as Go holds any bytes)."""
    try:
        return s.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return s.encode("utf-8", "surrogatepass")


def from_bytes(b: bytes) -> str:
    """``string(b)``: bytes as a Go string (invalid UTF-8 kept as escaped bytes)."""
    return b.decode("utf-8", "surrogateescape")


def is_escaped_byte(ch: str) -> bool:
    """A surrogate standing for an undecodable byte (``surrogateescape``)."""
    return "\udc80" <= ch <= "\udcff"


# unicode.White_Space: the Latin-1 ones unicode.IsSpace lists, then the rest of the property.
_WHITE_SPACE: Final = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
_WHITE_SPACE_CHARS: Final = "".join(sorted(_WHITE_SPACE))


def is_space(c: str) -> bool:
    """``unicode.IsSpace`` of one rune (an escaped byte is ``RuneError``, not a space)."""
    return c in _WHITE_SPACE


def trim_space(s: str) -> str:
    """``strings.TrimSpace``: leading and trailing runes that :func:`is_space` accepts removed."""
    return s.strip(_WHITE_SPACE_CHARS)


def trim_left_space(s: str) -> str:
    """``strings.TrimLeftFunc(s, unicode.IsSpace)``."""
    return s.lstrip(_WHITE_SPACE_CHARS)


def simple_lower(c: str) -> str:
    """``unicode.ToLower`` of one rune: the simple mapping (U+0130 becomes plain ``i``)."""
    if c == "\u0130":
        return "i"
    low = c.lower()
    return low if len(low) == 1 else c


def simple_upper(c: str) -> str:
    """``unicode.ToUpper`` of one rune: unchanged where Python's mapping expands (``ß``)."""
    u = c.upper()
    return u if len(u) == 1 else c


def simple_title(c: str) -> str:
    """``unicode.ToTitle`` of one rune (the upper case where the title case expands)."""
    t = c.title()
    if len(t) == 1:
        return t
    return simple_upper(c)


def _map_runes(s: str, f: Callable[[str], str]) -> str:
    # strings.Map: an invalid byte decodes as RuneError and is written as U+FFFD.
    return "".join("\ufffd" if is_escaped_byte(c) else f(c) for c in s)


def to_lower(s: str) -> str:
    """``strings.ToLower``: each rune mapped on its own, no final-sigma context, no expansion."""
    if s.isascii():
        return s.lower()
    return _map_runes(s, simple_lower)


def to_upper(s: str) -> str:
    """``strings.ToUpper``: each rune mapped on its own (``ß`` stays ``ß``)."""
    if s.isascii():
        return s.upper()
    return _map_runes(s, simple_upper)


def _is_separator(c: str) -> bool:
    # strings.Title's isSeparator: ASCII alphanumerics and underscore are not separators;
    # other letters and digits are not; otherwise only spaces are.
    if c <= "\x7f":
        return not (c.isascii() and (c.isalnum() or c == "_"))
    cat = unicodedata.category(c)
    if cat.startswith("L") or cat == "Nd":
        return False
    return c.isspace()


def title(s: str) -> str:
    """``strings.Title``: the first letter of each word (after a separator) to title case."""
    out = []
    prev = " "
    for c in s:
        if is_escaped_byte(c):
            c = "\ufffd"
        if _is_separator(prev):
            prev = c
            out.append(simple_title(c))
        else:
            prev = c
            out.append(c)
    return "".join(out)


def split(s: str, sep: str) -> list[str]:
    """``strings.Split``: an empty ``sep`` splits after each rune."""
    if sep == "":
        return list(s)
    return s.split(sep)
