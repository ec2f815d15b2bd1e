"""Go's ``strconv`` package: quoting, unquoting, and number parsing and formatting.

Strings are Go strings as :mod:`ocitool._go.strings` holds them (undecodable bytes as escaped
surrogates). Emulates:

* ``IsPrint``, ``Quote``/``QuoteToASCII``, ``QuoteRune``/``QuoteRuneToASCII``, ``CanBackquote``;
* ``Unquote`` and ``UnquoteChar`` (raise :class:`InvalidSyntaxError`, Go's ``ErrSyntax``);
* ``ParseInt``/``ParseUint`` (any base, base 0 with prefixes and ``_``), ``Atoi`` and
  ``ParseFloat`` (decimal and hex, with ``_``), returning ``None`` where Go returns an error;
* ``FormatFloat(v, fmt, prec, 64)`` for the ``b e E f F g G x X`` formats.
"""

from __future__ import annotations

import math
import re
import struct
from typing import Final

from ocitool._go.strings import from_bytes, is_escaped_byte, to_bytes

__all__ = [
    "InvalidSyntaxError",
    "atoi",
    "can_backquote",
    "format_float",
    "is_print",
    "parse_float",
    "parse_int",
    "parse_uint",
    "quote",
    "quote_rune",
    "unquote",
    "unquote_char",
]


class InvalidSyntaxError(ValueError):
    """Go's ``strconv.ErrSyntax``: a literal that does not unquote."""


# -- quoting --


def is_print(ch: str) -> bool:
    """``strconv.IsPrint`` (= ``unicode.IsPrint``): letters, marks, numbers, punctuation,
    symbols and the ASCII space, exactly what Python's ``isprintable()`` accepts."""
    return ch.isprintable() and not ("\ud800" <= ch <= "\udfff")


_ESCAPES: Final = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def _quote_with(s: str, quote: str, ascii_only: bool) -> str:
    out = [quote]
    for ch in s:
        if is_escaped_byte(ch):
            out.append(f"\\x{ord(ch) - 0xDC00:02x}")
            continue
        if "\ud800" <= ch <= "\udfff":
            ch = "\ufffd"
        if ch == quote or ch == "\\":
            out.append("\\" + ch)
            continue
        if ascii_only:
            if ch < "\x80" and is_print(ch):
                out.append(ch)
                continue
        elif is_print(ch):
            out.append(ch)
            continue
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch < " " or ch == "\x7f":
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append(quote)
    return "".join(out)


def quote(s: str, *, ascii_only: bool = False) -> str:
    """``strconv.Quote`` (or ``QuoteToASCII``): a double-quoted Go string literal."""
    return _quote_with(s, '"', ascii_only)


def quote_rune(r: str, *, ascii_only: bool = False) -> str:
    """``strconv.QuoteRune`` (or ``QuoteRuneToASCII``): a single-quoted Go rune literal."""
    return _quote_with(r, "'", ascii_only)


def can_backquote(s: str) -> bool:
    """``strconv.CanBackquote``: whether ``s`` can be a raw string literal unchanged."""
    for ch in s:
        if is_escaped_byte(ch) or ch == "\ufeff":
            return False
        if (ch < " " and ch != "\t") or ch in "`\x7f":
            return False
    return True


# -- unquoting --

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


def unquote_char(s: str, i: int, quote: str) -> tuple[bytes, int, int | None]:
    """``strconv.UnquoteChar``: decode the (possibly escaped) character of a literal at ``s[i]``.

    Returns its UTF-8 bytes, the next index and its rune value (None for a raw byte escape).
    Raises :class:`InvalidSyntaxError`; ``IndexError`` when ``i`` is past the end.
    """
    c = s[i]
    if c == quote and quote in "'\"":
        raise InvalidSyntaxError
    if c != "\\":
        b = to_bytes(c)
        return b, i + 1, ord(c)
    if i + 1 >= len(s):
        raise InvalidSyntaxError
    c = s[i + 1]
    i += 2
    if c in _SIMPLE_ESCAPES:
        v = _SIMPLE_ESCAPES[c]
        return bytes([v]), i, v
    if c in "xuU":
        n = {"x": 2, "u": 4, "U": 8}[c]
        hexs = s[i : i + n]
        if len(hexs) < n or any(h not in "0123456789abcdefABCDEF" for h in hexs):
            raise InvalidSyntaxError
        v = int(hexs, 16)
        i += n
        if c == "x":
            if quote == "'":
                return to_bytes(chr(v)), i, v
            return bytes([v]), i, None
        if v > 0x10FFFF or 0xD800 <= v <= 0xDFFF:
            raise InvalidSyntaxError
        return chr(v).encode("utf-8"), i, v
    if "0" <= c <= "7":
        octs = s[i - 1 : i + 2]
        if len(octs) < 3 or any(o not in "01234567" for o in octs):
            raise InvalidSyntaxError
        v = int(octs, 8)
        if v > 255:
            raise InvalidSyntaxError
        i += 2
        if quote == "'":
            return to_bytes(chr(v)), i, v
        return bytes([v]), i, None
    if c in "'\"":
        if c != quote:
            raise InvalidSyntaxError
        return c.encode(), i, ord(c)
    raise InvalidSyntaxError


def unquote(lit: str) -> str:
    """``strconv.Unquote`` of a double-quoted or back-quoted literal.

    Raises :class:`InvalidSyntaxError` for anything else or a malformed literal.
    """
    if len(lit) < 2 or lit[0] != lit[-1]:
        raise InvalidSyntaxError
    body = lit[1:-1]
    if lit[0] == "`":
        if "`" in body:
            raise InvalidSyntaxError
        return body.replace("\r", "")
    if lit[0] != '"':
        raise InvalidSyntaxError
    if "\n" in body:
        raise InvalidSyntaxError
    out = bytearray()
    i = 0
    while i < len(body):
        b, i, _ = unquote_char(body, i, '"')
        out += b
    return from_bytes(bytes(out))


# -- number parsing --

_DIGITS: Final = "0123456789abcdefghijklmnopqrstuvwxyz"


def _underscore_ok(s: str) -> bool:
    # strconv.underscoreOK: underscores only between digits, or after a base prefix.
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


_DECIMAL: Final = re.compile(r"[0-9]+")


def _parse_unsigned(s: str, base: int) -> int | None:
    if base == 10:  # the common case, kept fast: ASCII digits only
        return int(s) if _DECIMAL.fullmatch(s) else None
    if not s:
        return None
    body = s
    if base == 0:
        base = 10
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
        # Underscores are allowed with base 0 only, and only where underscoreOK says.
        if "_" in s and not _underscore_ok(s):
            return None
        body = body.replace("_", "")
        if not body:
            return None
    elif not 2 <= base <= 36:
        return None
    valid = _DIGITS[:base]
    if any(not c.isascii() or c.lower() not in valid for c in body):
        return None
    return int(body, base)


def parse_uint(s: str, base: int = 10, bit_size: int = 64) -> int | None:
    """``strconv.ParseUint(s, base, bit_size)``: no sign; ``None`` where Go returns an error."""
    v = _parse_unsigned(s, base)
    if v is None:
        return None
    return v if v < (1 << bit_size) else None


def parse_int(s: str, base: int = 10, bit_size: int = 64) -> int | None:
    """``strconv.ParseInt(s, base, bit_size)``: an optional sign, then as :func:`parse_uint`;
    ``None`` where Go returns an error (syntax or range)."""
    neg = False
    if s[:1] in ("+", "-"):
        neg = s[0] == "-"
        s = s[1:]
    v = _parse_unsigned(s, base)
    if v is None:
        return None
    if neg:
        v = -v
    limit = 1 << (bit_size - 1)
    return v if -limit <= v < limit else None


def atoi(s: str) -> int | None:
    """``strconv.Atoi`` on a 64-bit platform: ``ParseInt(s, 10, 0)``."""
    return parse_int(s, 10, 64)


def parse_float(text: str) -> float | None:
    """``strconv.ParseFloat(text, 64)`` for decimal and hex (``0x1p-2``) forms, with ``_``
    separators; ``None`` where Go returns an error, an overflow to infinity included."""
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


# -- number formatting --


def _shortest_digits(v: float) -> tuple[str, int]:
    """Shortest round-tripping decimal digits of ``abs(v)`` and the decimal point position."""
    if v == 0:
        return "", 0
    from decimal import Decimal  # only float formatting needs it

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


def format_float(v: float, fmt: str, prec: int) -> str:
    """``strconv.FormatFloat(v, fmt, prec, 64)``: with a sign only when negative; ``prec``
    -1 gives the fewest digits that read back as ``v``."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    neg = math.copysign(1.0, v) < 0
    a = abs(v)
    body: str
    if fmt in "bxX":
        body = _format_float_bin(a, fmt, prec)
    elif prec < 0:
        digits, dp = _shortest_digits(a)
        if fmt in "eE":
            body = _fmt_e(digits, dp, len(digits) - 1, fmt)
        elif fmt in "fF":
            body = _fmt_f(digits, dp, max(len(digits) - dp, 0))
        else:
            exp = dp - 1 if digits else 0
            if exp < -4 or exp >= 6:
                body = _fmt_e(digits, dp, len(digits) - 1, "e" if fmt == "g" else "E")
            else:
                body = _fmt_f(digits, dp, max(len(digits) - dp, 0))
    elif fmt in "eE":
        body = f"{a:.{prec}{fmt}}"
    elif fmt in "fF":
        body = f"{a:.{prec}f}"
    else:
        body = f"{a:.{max(prec, 1)}{fmt}}"
        if "e" in body or "E" in body:
            mant, _, ex = body.replace("E", "e").partition("e")
            body = mant + ("e" if fmt == "g" else "E") + ex[0] + ex[1:].rjust(2, "0")
    return ("-" if neg else "") + body


def _format_float_bin(a: float, fmt: str, prec: int) -> str:
    if fmt == "b":
        bits = struct.unpack(">Q", struct.pack(">d", a))[0]
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
    return out.upper() if fmt == "X" else out
