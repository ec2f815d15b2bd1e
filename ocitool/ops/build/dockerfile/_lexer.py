"""The Dockerfile line reader: physical lines to logical instruction lines.

What moby's ``frontend/dockerfile/parser.Parse`` (buildkit eeb7b65, vendored by Docker 20.10)
does before it looks at an instruction:

* lines are split as Go's ``bufio.ScanLines`` splits them (``\\n``, one trailing ``\\r``
  dropped); a line of 65536 bytes or more stops the scanner (``bufio.ErrTooLong``), which the
  parser reports *after* the lines before it, unless no instruction came first;
* a UTF-8 byte order mark is dropped from the first line;
* parser directives (``# escape=``, ``# syntax=``; names case-insensitive) are read until the
  first line that is not one -- a blank line, a comment, an unknown directive or an
  instruction; a repeated directive or an escape token other than ``\\`` or `````  is an error;
  ``syntax`` is recognised (it does not end the directives) and otherwise ignored, as the
  classic builder ignores it;
* a line whose first non-blank character is ``#`` is a comment, blank lines are skipped;
* an escape token that is the last non-blank character (``[ \\t]`` only) continues the line,
  unless an escape token precedes it (``foo \\\\`` does not continue); continuation lines
  keep their leading blanks, comment lines inside a continuation are skipped, and blank ones
  too, with the warning moby prints; a continuation at end of file just ends the instruction.

Heredocs (``<<EOF``) do not exist in this parser: they are ordinary words. Text is bytes;
undecodable bytes travel as ``surrogateescape`` code points (:mod:`ocitool._go.strings`).
"""

from __future__ import annotations

import re
from typing import Final

from ocitool._go import bufio as gobufio
from ocitool._go import strings as gostrings
from ocitool._record import record
from ocitool.errors import DockerfileSyntaxError

__all__ = ["LexResult", "LogicalLine", "read_lines"]

_BOM: Final = b"\xef\xbb\xbf"
# moby's `^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$` (Go's \s is [\t\n\f\r ], no \v), the value
# part done by hand: Python's backtracking makes the lazy `(.+?)\s*$` quadratic on long blanks.
_GO_SPACE: Final = "\t\n\f\r "
_DIRECTIVE_KEY: Final = re.compile(r"#[\t\n\f\r ]*([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=")
_KNOWN_DIRECTIVES: Final = frozenset({"escape", "syntax"})
_ESCAPE_TOKENS: Final = ("\\", "`")


@record(frozen=True, slots=True)
class LogicalLine:
    """One instruction's text with its continuations joined (moby's ``Node.Original``), and the
    1-based numbers of its first and last physical lines (comments inside it included)."""

    text: str
    line: int
    end_line: int


@record(frozen=True, slots=True)
class LexResult:
    """The logical lines of a Dockerfile, the escape token in force, the directives read
    (lower-cased name to value) and moby's warnings (empty continuation lines).

    ``scan_error`` is the line number of a line too long for Go's scanner: the lines before
    it are in ``lines``, and the parser reports the error once they have parsed.
    """

    lines: tuple[LogicalLine, ...]
    escape: str
    directives: dict[str, str]
    warnings: tuple[str, ...]
    scan_error: int | None = None


def _directive(line: str) -> tuple[str, str] | None:
    """The lower-cased name and the value of a parser directive line, None if it is not one."""
    m = _DIRECTIVE_KEY.match(line)
    if m is None:
        return None
    rest = line[m.end() :]
    value = rest.lstrip(_GO_SPACE).rstrip(_GO_SPACE)
    if not value:
        if not rest:
            return None
        value = rest[-1]  # all blanks: `\s*` gives one back to `(.+?)`
    return m.group(1).lower(), value


class _Directives:
    """moby's ``directives``: the escape token and its continuation pattern, and which
    directives were seen before the first non-directive line."""

    def __init__(self) -> None:
        self.escape = "\\"
        self.continuation = self._pattern("\\")
        self.done = False
        self.seen: dict[str, str] = {}

    @staticmethod
    def _pattern(token: str) -> re.Pattern[str]:
        t = re.escape(token)
        return re.compile(rf"([^{t}]){t}[ \t]*\Z|\A{t}[ \t]*\Z")

    def possible_directive(self, line: str, number: int, path: str | None) -> None:
        if self.done:
            return
        found = _directive(line)
        if found is None:
            self.done = True
            return
        key, value = found
        if key not in _KNOWN_DIRECTIVES:
            self.done = True
            return
        if key in self.seen:
            raise DockerfileSyntaxError(
                f"only one {key} parser directive can be used", path=path, line=number
            )
        self.seen[key] = value
        if key == "escape":
            if value not in _ESCAPE_TOKENS:
                raise DockerfileSyntaxError(
                    f"invalid escape token '{value}' does not match ` or \\", path=path, line=number
                )
            self.escape = value
            self.continuation = self._pattern(value)

    def trim_continuation(self, line: str) -> tuple[str, bool]:
        """The line without its continuation token, and whether the instruction ends here."""
        m = self.continuation.search(line)
        if m is None:
            return line, True
        return line[: m.start()] + (m.group(1) or ""), False


def _is_comment(line: str) -> bool:
    return gostrings.trim_left_space(line).startswith("#")


def _process(d: _Directives, raw: str, number: int, path: str | None, strip_left: bool) -> str:
    # moby's processLine: optional left trim, a line starting with '#' emptied, directive check
    # (on the trimmed text).
    token = gostrings.trim_left_space(raw) if strip_left else raw
    d.possible_directive(token, number, path)
    return "" if token.startswith("#") else token


def _physical_lines(data: bytes) -> tuple[list[str], int | None]:
    """The scanner's lines (BOM dropped), and the 1-based number of a line too long for it."""
    raw, too_long = gobufio.scan_lines(data)
    if raw and raw[0].startswith(_BOM):
        raw[0] = raw[0][len(_BOM) :]
    return [gostrings.from_bytes(line) for line in raw], None if too_long is None else too_long + 1


def read_lines(data: bytes, *, path: str | None = None) -> LexResult:
    """Split a Dockerfile into logical lines as moby's parser does (see the module docstring).

    Raises DockerfileSyntaxError (naming ``path`` and the line) for a repeated directive or an
    invalid escape token. A line too long for Go's scanner is reported in ``scan_error``.
    """
    physical, scan_error = _physical_lines(data)
    d = _Directives()
    lines: list[LogicalLine] = []
    warnings: list[str] = []
    i = 0
    while i < len(physical):
        number = i + 1
        text = _process(d, physical[i], number, path, True)
        i += 1
        line, end = d.trim_continuation(text)
        if end and line == "":
            continue
        empty_continuation = False
        while not end and i < len(physical):
            raw = physical[i]
            cont = _process(d, raw, i + 1, path, False)
            i += 1
            if _is_comment(raw):
                continue
            if not gostrings.trim_left_space(cont):
                empty_continuation = True
                continue
            piece, end = d.trim_continuation(cont)
            line += piece
        if empty_continuation:
            warnings.append("[WARNING]: Empty continuation line found in:\n    " + line)
        lines.append(LogicalLine(line, number, i))
    if warnings:
        warnings.append("[WARNING]: Empty continuation lines will become errors in a future release.")
    return LexResult(tuple(lines), d.escape, dict(d.seen), tuple(warnings), scan_error)
