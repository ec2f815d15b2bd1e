"""Go's ``time.Duration``: ``time.ParseDuration`` and ``Duration.String``, byte for byte.

Durations are integer nanoseconds (Go's ``int64``). :func:`parse_duration` accepts exactly
Go's grammar ``[-+]?([0-9]*(\\.[0-9]*)?[a-z]+)+`` with the units ``ns us µs μs ms s m h``
(and a bare ``0``), keeps Go's nanosecond rounding of fractions (a float64 product, truncated)
and refuses what overflows ``int64``; :func:`duration_string` prints ``1h2m3.5s``, ``1.5ms``,
``0s``. Pure; :func:`parse_duration` raises :class:`InvalidDurationError` with Go's message.
"""

from __future__ import annotations

from typing import Final

__all__ = ["InvalidDurationError", "duration_string", "parse_duration"]

NANOSECOND: Final = 1
MICROSECOND: Final = 1000
MILLISECOND: Final = 1000 * MICROSECOND
SECOND: Final = 1000 * MILLISECOND
MINUTE: Final = 60 * SECOND
HOUR: Final = 60 * MINUTE

_UNITS: Final = {
    b"ns": NANOSECOND,
    b"us": MICROSECOND,
    "µ".encode() + b"s": MICROSECOND,  # U+00B5 micro sign
    "μ".encode() + b"s": MICROSECOND,  # U+03BC Greek small letter mu
    b"ms": MILLISECOND,
    b"s": SECOND,
    b"m": MINUTE,
    b"h": HOUR,
}
_MAX: Final = 1 << 63


class InvalidDurationError(ValueError):
    """``time.ParseDuration`` refused the text; the message is Go's."""


def _quote(raw: bytes) -> str:
    # time's own quote(): printable ASCII as is (with \" and \\), any other byte as \xNN.
    out = ['"']
    for b in raw:
        if b >= 0x80 or b < 0x20:
            out.append(f"\\x{b:02x}")
        else:
            c = chr(b)
            out.append("\\" + c if c in '"\\' else c)
    out.append('"')
    return "".join(out)


def _digits_end(s: bytes, i: int) -> int:
    while i < len(s) and 0x30 <= s[i] <= 0x39:
        i += 1
    return i


def parse_duration(text: str) -> int:
    """``time.ParseDuration``: nanoseconds, or InvalidDurationError (Go's message)."""
    raw = text.encode("utf-8", "surrogateescape")
    s = raw
    invalid = InvalidDurationError("time: invalid duration " + _quote(raw))
    neg = False
    if s[:1] in (b"-", b"+"):
        neg = s[:1] == b"-"
        s = s[1:]
    if s == b"0":
        return 0
    if not s:
        raise invalid
    total = 0
    while s:
        if not (s[0] == 0x2E or 0x30 <= s[0] <= 0x39):
            raise invalid
        end = _digits_end(s, 0)
        whole = 0
        for b in s[:end]:
            if whole > _MAX // 10:
                raise invalid
            whole = whole * 10 + b - 0x30
            if whole > _MAX:
                raise invalid
        pre = end > 0
        s = s[end:]
        frac, scale, post = 0, 1.0, False
        if s[:1] == b".":
            s = s[1:]
            end = _digits_end(s, 0)
            post = end > 0
            overflow = False
            for b in s[:end]:
                # Go stops accumulating precision on overflow instead of failing.
                if overflow:
                    continue
                if frac > (_MAX - 1) // 10:
                    overflow = True
                    continue
                y = frac * 10 + b - 0x30
                if y > _MAX:
                    overflow = True
                    continue
                frac = y
                scale *= 10
            s = s[end:]
        if not pre and not post:
            raise invalid
        i = 0
        while i < len(s) and not (s[i] == 0x2E or 0x30 <= s[i] <= 0x39):
            i += 1
        if i == 0:
            raise InvalidDurationError("time: missing unit in duration " + _quote(raw))
        unit_text, s = s[:i], s[i:]
        unit = _UNITS.get(unit_text)
        if unit is None:
            raise InvalidDurationError(f"time: unknown unit {_quote(unit_text)} in duration {_quote(raw)}")
        if whole > _MAX // unit:
            raise invalid
        value = whole * unit
        if frac > 0:
            value += int(float(frac) * (float(unit) / scale))
            if value > _MAX:
                raise invalid
        total += value
        if total > _MAX:
            raise invalid
    if neg:
        return -total
    if total > _MAX - 1:
        raise invalid
    return total


def _frac(v: int, prec: int) -> tuple[str, int]:
    # fmtFrac: the fraction v/10**prec without trailing zeros (and no point when it is 0).
    digits: list[str] = []
    printing = False
    for _ in range(prec):
        digit = v % 10
        printing = printing or digit != 0
        if printing:
            digits.append(chr(0x30 + digit))
        v //= 10
    text = "." + "".join(reversed(digits)) if printing else ""
    return text, v


def duration_string(ns: int) -> str:
    """``Duration.String``: ``72h3m0.5s``, ``1.5ms``, ``2µs``, ``0s``."""
    u = abs(ns)
    sign = "-" if ns < 0 else ""
    if u < SECOND:
        if u == 0:
            return "0s"
        if u < MICROSECOND:
            unit, prec = "ns", 0
        elif u < MILLISECOND:
            unit, prec = "µs", 3
        else:
            unit, prec = "ms", 6
        frac, whole = _frac(u, prec)
        return f"{sign}{whole}{frac}{unit}"
    frac, secs = _frac(u, 9)
    out = f"{secs % 60}{frac}s"
    minutes = secs // 60
    if minutes > 0:
        out = f"{minutes % 60}m{out}"
        hours = minutes // 60
        if hours > 0:
            out = f"{hours}h{out}"
    return sign + out
