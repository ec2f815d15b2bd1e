"""JSON text exactly as Go's ``encoding/json`` writes it.

Docker's outputs are Go's: ``json.Marshal`` escapes ``<``, ``>`` and ``&`` (HTML-safe) and
U+2028/U+2029, writes control characters other than ``\\b``, ``\\f``, ``\\n``, ``\\r`` and ``\\t``
as ``\\u00XX``, keeps other non-ASCII characters as they are, and ``MarshalIndent`` puts ``": "``
after keys.
The docker CLI's ``{{json .}}`` template function turns HTML escaping off. Mappings keep their
insertion order: callers build them in the Go struct's field order (or sorted, as Go sorts maps).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["RawJSON", "dumps", "quote"]

# Go 1.22 and later (Docker v28 is built with Go 1.24) also write \b and \f short; Go 1.21 and
# older (a Docker 20.10 daemon) wrote \u0008 and \u000c.
_SHORT = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
_HTML = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"}


class RawJSON(str):
    """JSON text emitted verbatim (as Go's ``json.RawMessage``), e.g. a number's original text."""


# The characters Go does not write as they are; every other one is copied (one regex pass, so
# that the common string, which has none, costs one scan in C).
_SPECIAL = re.compile('[\x00-\x1f"\\\\\u2028\u2029\ud800-\udfff]')
_SPECIAL_HTML = re.compile('[\x00-\x1f"\\\\<>&\u2028\u2029\ud800-\udfff]')


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    short = _SHORT.get(ch) or _HTML.get(ch)
    if short is not None:
        return short
    if "\ud800" <= ch <= "\udfff":
        # A lone surrogate (from undecodable bytes): Go writes U+FFFD for invalid UTF-8.
        return "\ufffd"
    return f"\\u{ord(ch):04x}"  # other control characters, U+2028 and U+2029


def quote(s: str, *, escape_html: bool = True) -> str:
    """A Go-encoded JSON string literal."""
    return '"' + (_SPECIAL_HTML if escape_html else _SPECIAL).sub(_escape, s) + '"'


def _float(value: float) -> str:
    """Go's float64 encoding: shortest digits, fixed notation for 1e-6 <= |x| < 1e21, else
    exponent notation with no leading zero in the exponent (``1e-7``)."""
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"json: unsupported value: {value}")
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        text = repr(value)
        mantissa, _, exponent = text.partition("e")
        sign = exponent[0] if exponent[:1] in "+-" else "+"
        digits = exponent.lstrip("+-").lstrip("0") or "0"
        return f"{mantissa}e{sign}{digits.zfill(2) if sign == '+' else digits}"
    from decimal import Decimal  # only floats need it; configs and manifests hold none

    text = format(Decimal(repr(value)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "-0" if text in ("-0", "-0.0") else text


def dumps(value: Any, *, indent: str | None = None, escape_html: bool = True, sort_keys: bool = False) -> str:
    """Encode ``value`` as Go would; ``indent`` as for ``json.MarshalIndent(v, "", indent)``."""
    parts: list[str] = []
    _encode(value, parts, indent, "", escape_html, sort_keys)
    return "".join(parts)


def _encode(value: Any, out: list[str], indent: str | None, level: str, esc: bool, sort_keys: bool) -> None:
    kind = type(value)
    if kind is str:  # the common leaves first, by exact type (isinstance on ABCs is slow)
        out.append(quote(value, escape_html=esc))
        return
    if kind is int:
        out.append(str(value))
        return
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, (RawJSON, int)):
        out.append(str(value))
    elif isinstance(value, float):
        out.append(_float(value))
    elif isinstance(value, str):
        out.append(quote(value, escape_html=esc))
    elif kind is dict or isinstance(value, Mapping):
        items = sorted(value.items()) if sort_keys else list(value.items())
        if not items:
            out.append("{}")
            return
        inner = level + indent if indent is not None else level
        out.append("{")
        for i, (k, v) in enumerate(items):
            if i:
                out.append(",")
            if indent is not None:
                out.append("\n" + inner)
            out.append(quote(str(k), escape_html=esc))
            out.append(": " if indent is not None else ":")
            _encode(v, out, indent, inner, esc, sort_keys)
        if indent is not None:
            out.append("\n" + level)
        out.append("}")
    elif kind is list or (isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray))):
        if not value:
            out.append("[]")
            return
        inner = level + indent if indent is not None else level
        out.append("[")
        for i, v in enumerate(value):
            if i:
                out.append(",")
            if indent is not None:
                out.append("\n" + inner)
            _encode(v, out, indent, inner, esc, sort_keys)
        if indent is not None:
            out.append("\n" + level)
        out.append("]")
    else:
        to_json = getattr(value, "to_json", None)
        if to_json is None:
            raise TypeError(f"cannot encode {type(value).__name__} as JSON")
        _encode(to_json(), out, indent, level, esc, sort_keys)
