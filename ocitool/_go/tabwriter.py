"""Go's ``text/tabwriter``: text in tab-separated cells aligned into columns.

A faithful port of ``tabwriter.Writer`` (Go 1.24): cells end at ``\\t``, ``\\v``, ``\\n`` and
``\\f``; tab-terminated cells of adjacent lines form a column padded to a common width; text
after a line's last tab is no column cell and is written as it is; a line of one cell, or a
``\\f``, ends the block and flushes it. Every flag (``FILTER_HTML``, ``STRIP_ESCAPE``,
``ALIGN_RIGHT``, ``DISCARD_EMPTY_COLUMNS``, ``TAB_INDENT``, ``DEBUG``) and ``ESCAPE``-bracketed
text behave as in Go. A cell's width is its rune count, as in Go, unless the writer is given
another measure (docker's fork measures display columns: :mod:`ocitool._go.runewidth`).
The constructor raises ``ValueError`` for negative sizes or a padchar of more than one
character; writing never raises.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

__all__ = [
    "ALIGN_RIGHT",
    "DEBUG",
    "DISCARD_EMPTY_COLUMNS",
    "ESCAPE",
    "FILTER_HTML",
    "STRIP_ESCAPE",
    "TAB_INDENT",
    "Writer",
]

FILTER_HTML: Final = 1
STRIP_ESCAPE: Final = 2
ALIGN_RIGHT: Final = 4
DISCARD_EMPTY_COLUMNS: Final = 8
TAB_INDENT: Final = 16
DEBUG: Final = 32

ESCAPE: Final = "\udcff"
"""The escape character: byte 0xFF, as ``surrogateescape`` decodes it."""


class _Cell:
    __slots__ = ("htab", "size", "width")

    def __init__(self, size: int = 0, width: int = 0, htab: bool = False) -> None:
        self.size = size
        self.width = width
        self.htab = htab


class Writer:
    """``tabwriter.Writer``: ``Writer(minwidth, tabwidth, padding, padchar, flags)`` as
    ``tabwriter.NewWriter(out, minwidth, tabwidth, padding, padchar, flags)``.

    Text written is split into cells at ``\\t``, ``\\v``, ``\\n`` and ``\\f``; tab-terminated
    cells of adjacent lines form columns padded to a common width (at least ``minwidth``,
    each cell's width plus ``padding``). Text after a line's last tab is no column cell and
    is written as is. ``width`` measures a cell (default ``len``: Go's rune count, an
    undecodable byte counting one). Output accumulates until :meth:`getvalue`, or goes to
    ``output`` when given. Call :meth:`flush` after the last write.
    """

    def __init__(
        self,
        minwidth: int = 0,
        tabwidth: int = 8,
        padding: int = 1,
        padchar: str = " ",
        flags: int = 0,
        *,
        width: Callable[[str], int] | None = None,
        output: Callable[[str], object] | None = None,
    ) -> None:
        if minwidth < 0 or tabwidth < 0 or padding < 0:
            raise ValueError("negative minwidth, tabwidth, or padding")
        if len(padchar) != 1:
            raise ValueError("padchar must be one character")
        self.minwidth = minwidth
        self.tabwidth = tabwidth
        self.padding = padding
        self.padchar = padchar
        if padchar == "\t":
            flags &= ~ALIGN_RIGHT
        self.flags = flags
        self._width = width or len
        self._chunks: list[str] = []
        self._output = output or self._chunks.append
        self._reset()

    def _reset(self) -> None:
        self._buf = ""
        self._pos = 0
        self._cell = _Cell()
        self._end_char = ""
        self._lines: list[list[_Cell]] = [[]]
        self._widths: list[int] = []

    def getvalue(self) -> str:
        """Everything written to the internal output so far."""
        return "".join(self._chunks)

    def _write_padding(self, textw: int, cellw: int, use_tabs: bool) -> None:
        if self.padchar == "\t" or use_tabs:
            if self.tabwidth == 0:
                return
            cellw = (cellw + self.tabwidth - 1) // self.tabwidth * self.tabwidth
            n = cellw - textw
            if n < 0:
                raise RuntimeError("internal error")
            self._output("\t" * ((n + self.tabwidth - 1) // self.tabwidth))
            return
        if cellw - textw > 0:
            self._output(self.padchar * (cellw - textw))

    def _write_lines(self, pos: int, line0: int, line1: int) -> int:
        for i in range(line0, line1):
            line = self._lines[i]
            use_tabs = bool(self.flags & TAB_INDENT)
            for j, c in enumerate(line):
                if j > 0 and self.flags & DEBUG:
                    self._output("|")
                if c.size == 0:
                    if j < len(self._widths):
                        self._write_padding(c.width, self._widths[j], use_tabs)
                else:
                    use_tabs = False
                    if not self.flags & ALIGN_RIGHT:
                        self._output(self._buf[pos : pos + c.size])
                        pos += c.size
                        if j < len(self._widths):
                            self._write_padding(c.width, self._widths[j], False)
                    else:
                        if j < len(self._widths):
                            self._write_padding(c.width, self._widths[j], False)
                        self._output(self._buf[pos : pos + c.size])
                        pos += c.size
            if i + 1 == len(self._lines):
                self._output(self._buf[pos : pos + self._cell.size])
                pos += self._cell.size
            else:
                self._output("\n")
        return pos

    def _format(self, pos0: int, line0: int, line1: int) -> int:
        pos = pos0
        column = len(self._widths)
        this = line0
        while this < line1:
            line = self._lines[this]
            if column >= len(line) - 1:
                this += 1
                continue
            pos = self._write_lines(pos, line0, this)
            line0 = this
            width = self.minwidth
            discardable = True
            while this < line1:
                line = self._lines[this]
                if column >= len(line) - 1:
                    break
                c = line[column]
                width = max(width, c.width + self.padding)
                if c.width > 0 or c.htab:
                    discardable = False
                this += 1
            if discardable and self.flags & DISCARD_EMPTY_COLUMNS:
                width = 0
            self._widths.append(width)
            pos = self._format(pos, line0, this)
            self._widths.pop()
            line0 = this
        return self._write_lines(pos, line0, line1)

    def _append(self, text: str) -> None:
        self._buf += text
        self._cell.size += len(text)

    def _update_width(self) -> None:
        self._cell.width += self._width(self._buf[self._pos :])
        self._pos = len(self._buf)

    def _start_escape(self, ch: str) -> None:
        self._end_char = {ESCAPE: ESCAPE, "<": ">", "&": ";"}[ch]

    def _end_escape(self) -> None:
        if self._end_char == ESCAPE:
            self._update_width()
            if not self.flags & STRIP_ESCAPE:
                self._cell.width -= 2
        elif self._end_char == ";":
            self._cell.width += 1
        self._pos = len(self._buf)
        self._end_char = ""

    def _terminate_cell(self, htab: bool) -> int:
        self._cell.htab = htab
        line = self._lines[-1]
        line.append(self._cell)
        self._cell = _Cell()
        return len(line)

    def flush(self) -> None:
        """Format and output everything buffered; the writer can be reused after."""
        if self._cell.size > 0:
            if self._end_char:
                self._end_escape()
            self._terminate_cell(False)
        self._format(0, 0, len(self._lines))
        self._reset()

    def write(self, text: str) -> None:
        """Buffer ``text``; complete blocks of lines are output as soon as they are known."""
        n = 0
        for i, ch in enumerate(text):
            if not self._end_char:
                if ch in "\t\v\n\f":
                    self._append(text[n:i])
                    self._update_width()
                    n = i + 1
                    ncells = self._terminate_cell(ch == "\t")
                    if ch in "\n\f":
                        self._lines.append([])
                        if ch == "\f" or ncells == 1:
                            self.flush()
                            if ch == "\f" and self.flags & DEBUG:
                                self._output("---\n")
                elif ch == ESCAPE:
                    self._append(text[n:i])
                    self._update_width()
                    n = i
                    if self.flags & STRIP_ESCAPE:
                        n += 1
                    self._start_escape(ESCAPE)
                elif ch in "<&" and self.flags & FILTER_HTML:
                    self._append(text[n:i])
                    self._update_width()
                    n = i
                    self._start_escape(ch)
            elif ch == self._end_char:
                j = i + 1
                if ch == ESCAPE and self.flags & STRIP_ESCAPE:
                    j = i
                self._append(text[n:j])
                n = i + 1
                self._end_escape()
        self._append(text[n:])


#
