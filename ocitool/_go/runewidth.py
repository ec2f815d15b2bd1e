"""Display widths of text as github.com/mattn/go-runewidth measures them (``StringWidth``).

East Asian wide and fullwidth characters count two columns; combining marks, format and
control characters none; a grapheme cluster (a base with combining marks, joiners, variation
selectors, skin tones or tag characters) counts as its first rune of non-zero width. An
undecodable byte (an escaped surrogate) counts as U+FFFD, one column. docker's fork of
``text/tabwriter`` measures cells with it. Pure; never raises.
"""

from __future__ import annotations

import unicodedata
from typing import Final

__all__ = ["string_width"]

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


def string_width(s: str) -> int:
    """Display width of ``s`` as go-runewidth's ``StringWidth`` counts it.

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
