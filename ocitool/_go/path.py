"""Go's ``path`` package: slash-separated paths, cleaned lexically, and shell patterns.

Emulates ``path.Clean`` and ``path.Join`` exactly, edge cases included: an empty path cleans to
``.``, a relative path keeps its leading ``..`` elements, a rooted one drops them, and any run of
leading slashes becomes one (``posixpath.normpath`` keeps exactly two, as POSIX allows; Go does
not). ``path.Match`` is :func:`match`. Nothing touches the file system; nothing raises.
"""

from __future__ import annotations

import posixpath
import re
from typing import Final

__all__ = ["clean", "join", "match"]


def clean(p: str) -> str:
    """``path.Clean``: collapse slashes, drop ``.`` elements, resolve ``..`` lexically."""
    if not p:
        return "."
    cleaned = posixpath.normpath(p)
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    return cleaned


def join(*elems: str) -> str:
    """``path.Join``: the non-empty elements joined with ``/`` and cleaned; ``""`` if none."""
    kept = [e for e in elems if e]
    if not kept:
        return ""
    return clean("/".join(kept))


_GLOB_SPECIAL: Final = re.compile(r"(\*|\?|\[[^\]]*\]|\\.)")


def match(pattern: str, name: str) -> bool:
    """``path.Match``: whether all of ``name`` matches the shell ``pattern``.

    ``*`` is any run of non-``/`` characters, ``?`` one non-``/`` character, ``[...]`` and
    ``[^...]`` a character class (ranges allowed), ``\\c`` the character ``c``. Where Go
    returns ``ErrBadPattern`` the answer is ``False`` for a class Python's ``re`` refuses
    (``[]``, ``[z-a]``); approximations: an unclosed ``[`` matches itself, and a backslash
    inside a class is a literal backslash.
    """
    out = []
    pos = 0
    for m in _GLOB_SPECIAL.finditer(pattern):
        out.append(re.escape(pattern[pos : m.start()]))
        tok = m.group(0)
        if tok == "*":
            out.append("[^/]*")
        elif tok == "?":
            out.append("[^/]")
        elif tok.startswith("\\"):
            out.append(re.escape(tok[1]))
        else:
            out.append("[" + tok[1:-1].replace("\\", "\\\\") + "]")
        pos = m.end()
    out.append(re.escape(pattern[pos:]))
    try:
        return re.fullmatch("".join(out), name) is not None
    except re.error:
        return False
