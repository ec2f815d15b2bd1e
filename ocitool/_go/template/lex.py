"""The lexer of Go's ``text/template/parse``: template text to items, one at a time.

:class:`Lexer` reproduces Go 1.24's scanner (``lex.go``) for the ``{{ }}`` delimiters: text,
actions with the ``{{-``/``-}}`` trim markers, comments, and inside actions identifiers,
keywords, fields, variables, the ``:=``/``=``/``|``/``(``/``)`` punctuation, strings, raw
strings, character constants and numbers (decimal, hex, octal, binary, ``_`` separators,
floats, imaginary parts). Items carry Go's byte offsets as string indexes, and the line
they start on. Errors are not raised: an :data:`ERROR` item carries Go's message
(``unclosed action``, ``bad character U+0023 '#'``...) and ends the input, as in Go; the
parser turns it into a ``TemplateError``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any, Final

from ocitool._go.strconv import is_print, quote

__all__ = [
    "Item",
    "Lexer",
    "ERROR",
    "BOOL",
    "CHAR",
    "CHAR_CONSTANT",
    "COMMENT",
    "COMPLEX",
    "ASSIGN",
    "DECLARE",
    "EOF",
    "FIELD",
    "IDENTIFIER",
    "LEFT_DELIM",
    "LEFT_PAREN",
    "NUMBER",
    "PIPE",
    "RAW_STRING",
    "RIGHT_DELIM",
    "RIGHT_PAREN",
    "SPACE",
    "STRING",
    "TEXT",
    "VARIABLE",
    "KEYWORD",
    "BLOCK",
    "BREAK",
    "CONTINUE",
    "DOT",
    "DEFINE",
    "ELSE",
    "END",
    "IF",
    "NIL",
    "RANGE",
    "TEMPLATE",
    "WITH",
]

# Item types (Go's itemType), in Go's order; keywords are above KEYWORD.
ERROR, BOOL, CHAR, CHAR_CONSTANT, COMMENT, COMPLEX, ASSIGN, DECLARE, EOF = range(9)
(
    FIELD,
    IDENTIFIER,
    LEFT_DELIM,
    LEFT_PAREN,
    NUMBER,
    PIPE,
    RAW_STRING,
    RIGHT_DELIM,
    RIGHT_PAREN,
    SPACE,
    STRING,
    TEXT,
    VARIABLE,
) = range(9, 22)
KEYWORD = 30
BLOCK, BREAK, CONTINUE, DOT, DEFINE, ELSE, END, IF, NIL, RANGE, TEMPLATE, WITH = range(31, 43)

_KEYWORDS: Final = {
    ".": DOT,
    "block": BLOCK,
    "break": BREAK,
    "continue": CONTINUE,
    "define": DEFINE,
    "else": ELSE,
    "end": END,
    "if": IF,
    "range": RANGE,
    "nil": NIL,
    "template": TEMPLATE,
    "with": WITH,
}

_LEFT, _RIGHT = "{{", "}}"
_EOF_CH: Final = ""


class Item:
    """One lexed item: its type, start offset, text and the line it starts on."""

    __slots__ = ("line", "pos", "typ", "val")

    def __init__(self, typ: int, pos: int, val: str, line: int) -> None:
        self.typ = typ
        self.pos = pos
        self.val = val
        self.line = line

    def __str__(self) -> str:
        if self.typ == EOF:
            return "EOF"
        if self.typ == ERROR:
            return self.val
        if self.typ > KEYWORD:
            return f"<{self.val}>"
        if len(self.val) > 10:
            return quote(self.val[:10]) + "..."
        return quote(self.val)


def _is_space(r: str) -> bool:
    return r in (" ", "\t", "\r", "\n") and r != ""


def _is_alnum(r: str) -> bool:
    if r == "":
        return False
    if r == "_":
        return True
    cat = unicodedata.category(r)
    return cat.startswith("L") or cat == "Nd"


def _fmt_U(r: str) -> str:
    """Go's ``%#U`` of a rune."""
    s = f"U+{ord(r):04X}"
    if is_print(r):
        s += f" '{r}'"
    return s


class Lexer:
    """The text/template scanner: :meth:`next_item` produces items one at a time.

    ``break_ok``/``continue_ok`` say whether ``break``/``continue`` are keywords (they are
    not when the template defines functions of those names, as in Go)."""

    def __init__(self, text: str, break_ok: bool, continue_ok: bool) -> None:
        self.input = text
        self.pos = 0
        self.start = 0
        self.at_eof = False
        self.paren_depth = 0
        self.line = 1
        self.start_line = 1
        self.item = Item(EOF, 0, "EOF", 1)
        self.inside_action = False
        self.break_ok = break_ok
        self.continue_ok = continue_ok

    def next(self) -> str:
        if self.pos >= len(self.input):
            self.at_eof = True
            return _EOF_CH
        r = self.input[self.pos]
        self.pos += 1
        if r == "\n":
            self.line += 1
        return r

    def peek(self) -> str:
        r = self.next()
        self.backup()
        return r

    def backup(self) -> None:
        if not self.at_eof and self.pos > 0:
            self.pos -= 1
            if self.input[self.pos] == "\n":
                self.line -= 1

    def this_item(self, typ: int) -> Item:
        item = Item(typ, self.start, self.input[self.start : self.pos], self.start_line)
        self.start = self.pos
        self.start_line = self.line
        return item

    def emit(self, typ: int) -> None:
        self.item = self.this_item(typ)

    def ignore(self) -> None:
        self.line += self.input.count("\n", self.start, self.pos)
        self.start = self.pos
        self.start_line = self.line

    def accept(self, valid: str) -> bool:
        r = self.next()
        if r != _EOF_CH and r in valid:
            return True
        self.backup()
        return False

    def accept_run(self, valid: str) -> None:
        while True:
            r = self.next()
            if r == _EOF_CH or r not in valid:
                break
        self.backup()

    def errorf(self, msg: str) -> None:
        self.item = Item(ERROR, self.start, msg, self.start_line)
        self.start = 0
        self.pos = 0
        self.input = ""

    def next_item(self) -> Item:
        self.item = Item(EOF, self.pos, "EOF", self.start_line)
        state: Callable[[], Any] | None = self.lex_inside_action if self.inside_action else self.lex_text
        while state is not None:
            state = state()
        return self.item

    # -- helpers --

    def has_left_trim(self, at: int) -> bool:
        s = self.input
        return at + 1 < len(s) and s[at] == "-" and _is_space(s[at + 1])

    def has_right_trim(self, at: int) -> bool:
        s = self.input
        return at + 1 < len(s) and _is_space(s[at]) and s[at + 1] == "-"

    def at_right_delim(self) -> tuple[bool, bool]:
        if self.has_right_trim(self.pos) and self.input.startswith(_RIGHT, self.pos + 2):
            return True, True
        if self.input.startswith(_RIGHT, self.pos):
            return True, False
        return False, False

    def at_terminator(self) -> bool:
        r = self.peek()
        if _is_space(r):
            return True
        if r in (_EOF_CH, ".", ",", "|", ":", ")", "("):
            return True
        return self.input.startswith(_RIGHT, self.pos)

    # -- states --

    def lex_text(self) -> Callable[[], Any] | None:
        x = self.input.find(_LEFT, self.pos)
        if x >= 0:
            if x > self.pos:
                self.pos = x
                trim = 0
                if self.has_left_trim(self.pos + len(_LEFT)):
                    text = self.input[self.start : self.pos]
                    trim = len(text) - len(text.rstrip(" \t\r\n"))
                self.pos -= trim
                self.line += self.input.count("\n", self.start, self.pos)
                item = self.this_item(TEXT)
                self.pos += trim
                self.ignore()
                if item.val:
                    self.item = item
                    return None
            return self.lex_left_delim
        self.pos = len(self.input)
        if self.pos > self.start:
            self.line += self.input.count("\n", self.start, self.pos)
            self.emit(TEXT)
            return None
        self.emit(EOF)
        return None

    def lex_left_delim(self) -> Callable[[], Any] | None:
        self.pos += len(_LEFT)
        trim = self.has_left_trim(self.pos)
        after = 2 if trim else 0
        if self.input.startswith("/*", self.pos + after):
            self.pos += after
            self.ignore()
            return self.lex_comment
        item = self.this_item(LEFT_DELIM)
        self.inside_action = True
        self.pos += after
        self.ignore()
        self.paren_depth = 0
        self.item = item
        return None

    def lex_comment(self) -> Callable[[], Any] | None:
        self.pos += 2
        x = self.input.find("*/", self.pos)
        if x < 0:
            self.errorf("unclosed comment")
            return None
        self.pos = x + 2
        delim, trim = self.at_right_delim()
        if not delim:
            self.errorf("comment ends before closing delimiter")
            return None
        self.line += self.input.count("\n", self.start, self.pos)
        self.this_item(COMMENT)
        if trim:
            self.pos += 2
        self.pos += len(_RIGHT)
        if trim:
            rest = self.input[self.pos :]
            self.pos += len(rest) - len(rest.lstrip(" \t\r\n"))
        self.ignore()
        return self.lex_text

    def lex_right_delim(self) -> Callable[[], Any] | None:
        _, trim = self.at_right_delim()
        if trim:
            self.pos += 2
            self.ignore()
        self.pos += len(_RIGHT)
        item = self.this_item(RIGHT_DELIM)
        if trim:
            rest = self.input[self.pos :]
            self.pos += len(rest) - len(rest.lstrip(" \t\r\n"))
            self.ignore()
        self.inside_action = False
        self.item = item
        return None

    def lex_inside_action(self) -> Callable[[], Any] | None:
        delim, _ = self.at_right_delim()
        if delim:
            if self.paren_depth == 0:
                return self.lex_right_delim
            self.errorf("unclosed left paren")
            return None
        r = self.next()
        if r == _EOF_CH:
            self.errorf("unclosed action")
            return None
        if _is_space(r):
            self.backup()
            return self.lex_space
        if r == "=":
            self.emit(ASSIGN)
            return None
        if r == ":":
            if self.next() != "=":
                self.errorf("expected :=")
                return None
            self.emit(DECLARE)
            return None
        if r == "|":
            self.emit(PIPE)
            return None
        if r == '"':
            return self.lex_quote
        if r == "`":
            return self.lex_raw_quote
        if r == "$":
            return self.lex_variable
        if r == "'":
            return self.lex_char
        if r == "." and self.pos < len(self.input):
            nxt = self.input[self.pos]
            if nxt < "0" or nxt > "9":
                return self.lex_field
        if r in "+-." or "0" <= r <= "9":
            self.backup()
            return self.lex_number
        if _is_alnum(r):
            self.backup()
            return self.lex_identifier
        if r == "(":
            self.paren_depth += 1
            self.emit(LEFT_PAREN)
            return None
        if r == ")":
            self.paren_depth -= 1
            if self.paren_depth < 0:
                self.errorf("unexpected right paren")
                return None
            self.emit(RIGHT_PAREN)
            return None
        if r <= "\x7f" and is_print(r):
            self.emit(CHAR)
            return None
        self.errorf(f"unrecognized character in action: {_fmt_U(r)}")
        return None

    def lex_space(self) -> Callable[[], Any] | None:
        num = 0
        while _is_space(self.peek()):
            self.next()
            num += 1
        if self.has_right_trim(self.pos - 1) and self.input.startswith(_RIGHT, self.pos + 1):
            self.backup()
            if num == 1:
                return self.lex_right_delim
        self.emit(SPACE)
        return None

    def lex_identifier(self) -> Callable[[], Any] | None:
        while True:
            r = self.next()
            if _is_alnum(r):
                continue
            self.backup()
            word = self.input[self.start : self.pos]
            if not self.at_terminator():
                self.errorf(f"bad character {_fmt_U(r)}")
                return None
            kw = _KEYWORDS.get(word, 0)
            if kw > KEYWORD:
                if (kw == BREAK and not self.break_ok) or (kw == CONTINUE and not self.continue_ok):
                    self.emit(IDENTIFIER)
                else:
                    self.emit(kw)
            elif word[0] == ".":
                self.emit(FIELD)
            elif word in ("true", "false"):
                self.emit(BOOL)
            else:
                self.emit(IDENTIFIER)
            return None

    def lex_field(self) -> Callable[[], Any] | None:
        return self.lex_field_or_variable(FIELD)

    def lex_variable(self) -> Callable[[], Any] | None:
        if self.at_terminator():
            self.emit(VARIABLE)
            return None
        return self.lex_field_or_variable(VARIABLE)

    def lex_field_or_variable(self, typ: int) -> Callable[[], Any] | None:
        if self.at_terminator():
            self.emit(VARIABLE if typ == VARIABLE else DOT)
            return None
        r = ""
        while True:
            r = self.next()
            if not _is_alnum(r):
                self.backup()
                break
        if not self.at_terminator():
            self.errorf(f"bad character {_fmt_U(r)}")
            return None
        self.emit(typ)
        return None

    def lex_char(self) -> Callable[[], Any] | None:
        self._lex_escaped("'", "unterminated character constant", CHAR_CONSTANT)
        return None

    def _lex_escaped(self, close: str, unterminated: str, typ: int) -> None:
        """A quoted item with backslash escapes, ending at ``close`` on the same line."""
        while True:
            r = self.next()
            if r == "\\":
                r2 = self.next()
                if r2 != _EOF_CH and r2 != "\n":
                    continue
                self.errorf(unterminated)
                return
            if r in (_EOF_CH, "\n"):
                self.errorf(unterminated)
                return
            if r == close:
                break
        self.emit(typ)

    def lex_number(self) -> Callable[[], Any] | None:
        if not self.scan_number():
            self.errorf(f"bad number syntax: {quote(self.input[self.start : self.pos])}")
            return None
        sign = self.peek()
        if sign in ("+", "-") and sign != _EOF_CH:
            if not self.scan_number() or self.input[self.pos - 1] != "i":
                self.errorf(f"bad number syntax: {quote(self.input[self.start : self.pos])}")
                return None
            self.emit(COMPLEX)
            return None
        self.emit(NUMBER)
        return None

    def scan_number(self) -> bool:
        self.accept("+-")
        digits = "0123456789_"
        if self.accept("0"):
            if self.accept("xX"):
                digits = "0123456789abcdefABCDEF_"
            elif self.accept("oO"):
                digits = "01234567_"
            elif self.accept("bB"):
                digits = "01_"
        self.accept_run(digits)
        if self.accept("."):
            self.accept_run(digits)
        if len(digits) == 11 and self.accept("eE"):
            self.accept("+-")
            self.accept_run("0123456789_")
        if len(digits) == 23 and self.accept("pP"):
            self.accept("+-")
            self.accept_run("0123456789_")
        self.accept("i")
        if _is_alnum(self.peek()):
            self.next()
            return False
        return True

    def lex_quote(self) -> Callable[[], Any] | None:
        self._lex_escaped('"', "unterminated quoted string", STRING)
        return None

    def lex_raw_quote(self) -> Callable[[], Any] | None:
        while True:
            r = self.next()
            if r == _EOF_CH:
                self.errorf("unterminated raw quoted string")
                return None
            if r == "`":
                break
        self.emit(RAW_STRING)
        return None
