"""Go's ``path`` package: slash-separated paths, cleaned lexically, and shell patterns.

Emulates ``path.Clean`` and ``path.Join`` exactly, edge cases included: an empty path cleans to
``.``, a relative path keeps its leading ``..`` elements, a rooted one drops them, and any run of
leading slashes becomes one (``posixpath.normpath`` keeps exactly two, as POSIX allows; Go does
not). ``path.Match`` is :func:`match_pattern` (which raises :class:`BadPatternError` where Go
returns ``ErrBadPattern``) and :func:`match` (False instead), byte for byte as Go's algorithm,
which ``filepath.Match`` shares on Unix. Nothing touches the file system.
"""

from __future__ import annotations

import posixpath

__all__ = ["BadPatternError", "clean", "join", "match", "match_pattern"]


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


class BadPatternError(ValueError):
    """``path.ErrBadPattern``: the pattern is malformed."""

    def __init__(self, pattern: str) -> None:
        super().__init__(f"syntax error in pattern: {pattern!r}")
        self.pattern = pattern


def _decode_rune(b: bytes, i: int) -> tuple[int, int]:
    """utf8.DecodeRune at ``b[i:]``: (rune, width); an invalid byte is (U+FFFD, 1)."""
    lead = b[i]
    if lead < 0x80:
        return lead, 1
    for width in (2, 3, 4):
        try:
            ch = b[i : i + width].decode("utf-8")
        except UnicodeDecodeError:
            continue
        if len(ch) == 1:
            return ord(ch), width
    return 0xFFFD, 1


def _scan_chunk(p: bytes) -> tuple[bool, bytes, bytes]:
    star = False
    while p[:1] == b"*":
        p = p[1:]
        star = True
    inrange = False
    i = 0
    while i < len(p):
        c = p[i]
        if c == 0x5C:  # backslash: skip the escaped byte (a trailing one is matchChunk's error)
            if i + 1 < len(p):
                i += 1
        elif c == 0x5B:
            inrange = True
        elif c == 0x5D:
            inrange = False
        elif c == 0x2A and not inrange:
            break
        i += 1
    return star, p[:i], p[i:]


def _get_esc(chunk: bytes, pattern: str) -> tuple[int, bytes]:
    if not chunk or chunk[0] in b"-]":
        raise BadPatternError(pattern)
    if chunk[0] == 0x5C:
        chunk = chunk[1:]
        if not chunk:
            raise BadPatternError(pattern)
    r, n = _decode_rune(chunk, 0)
    if r == 0xFFFD and n == 1:
        raise BadPatternError(pattern)
    rest = chunk[n:]
    if not rest:
        raise BadPatternError(pattern)
    return r, rest


def _match_chunk(chunk: bytes, s: bytes, pattern: str) -> tuple[bytes, bool]:
    """matchChunk: the rest of ``s`` after ``chunk`` matched its start; the whole chunk is
    checked for syntax even after a mismatch (BadPatternError)."""
    failed = False
    while chunk:
        if not failed and not s:
            failed = True
        c = chunk[0]
        if c == 0x5B:  # [
            r = -1
            if not failed:
                r, n = _decode_rune(s, 0)
                s = s[n:]
            chunk = chunk[1:]
            negated = chunk[:1] == b"^"
            if negated:
                chunk = chunk[1:]
            matched = False
            nrange = 0
            while True:
                if chunk[:1] == b"]" and nrange > 0:
                    chunk = chunk[1:]
                    break
                lo, chunk = _get_esc(chunk, pattern)
                hi = lo
                if chunk[:1] == b"-":
                    hi, chunk = _get_esc(chunk[1:], pattern)
                if lo <= r <= hi:
                    matched = True
                nrange += 1
            if matched == negated:
                failed = True
        elif c == 0x3F:  # ?
            if not failed:
                if s[0] == 0x2F:
                    failed = True
                _, n = _decode_rune(s, 0)
                s = s[n:]
            chunk = chunk[1:]
        else:
            if c == 0x5C:
                chunk = chunk[1:]
                if not chunk:
                    raise BadPatternError(pattern)
            if not failed:
                if chunk[0] != s[0]:
                    failed = True
                s = s[1:]
            chunk = chunk[1:]
    if failed:
        return b"", False
    return s, True


def match_pattern(pattern: str, name: str) -> bool:
    """``path.Match`` (= ``filepath.Match`` on Unix) with its error: whether all of ``name``
    matches the shell ``pattern``; BadPatternError where Go returns ``ErrBadPattern``.

    ``*`` is any run of non-``/`` bytes, ``?`` one non-``/`` rune, ``[...]``/``[^...]`` a
    class of runes and ranges, ``\\c`` the character ``c``. As Go 1.16+, the whole pattern is
    checked for syntax even when the name fails to match early.
    """
    p = pattern.encode("utf-8", "surrogateescape")
    n = name.encode("utf-8", "surrogateescape")
    while p:
        star, chunk, p = _scan_chunk(p)
        if star and not chunk:
            return b"/" not in n
        t, ok = _match_chunk(chunk, n, pattern)
        if ok and (not t or p):
            n = t
            continue
        if star:
            found = False
            i = 0
            while i < len(n) and n[i] != 0x2F:
                t, ok = _match_chunk(chunk, n[i + 1 :], pattern)
                if ok:
                    if not p and t:
                        i += 1
                        continue
                    n = t
                    found = True
                    break
                i += 1
            if found:
                continue
        while p:
            _, chunk, p = _scan_chunk(p)
            _match_chunk(chunk, b"", pattern)
        return False
    return not n


def match(pattern: str, name: str) -> bool:
    """``path.Match`` without its error: :func:`match_pattern`, ``False`` for a malformed pattern."""
    try:
        return match_pattern(pattern, name)
    except BadPatternError:
        return False
