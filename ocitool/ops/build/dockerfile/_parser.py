"""Logical lines to untyped nodes: moby's ``parser`` package line parsers, exactly.

A :class:`Node` is one instruction as moby's parser leaves it: the lower-cased command, the
``--flags`` in front of its arguments, the argument words, whether they were a JSON array, and
(for ``ONBUILD``) the trigger's own node. The argument words come from the parser each
instruction is dispatched to (moby's ``dispatch`` table):

* ``ADD``, ``COPY``, ``VOLUME``: a JSON string array, else whitespace-separated words;
* ``CMD``, ``ENTRYPOINT``, ``RUN``, ``SHELL``: a JSON string array, else the whole text as one
  word (shell form). "A JSON array" means: the text starts with ``[`` and Go's
  ``json.Decoder`` reads a first value from it (anything after that value is ignored); a text
  that fails to decode is shell form, but a decoded array holding anything but strings is an
  error;
* ``ENV``, ``LABEL``: ``KEY value...`` (old form, the rest of the line is the value) or
  ``KEY=value ...`` words split with quotes kept (``parseWords``); ``ARG``: such words;
* ``EXPOSE``, ``FROM``: whitespace-separated words; ``MAINTAINER``, ``STOPSIGNAL``, ``USER``,
  ``WORKDIR``: the whole text; ``HEALTHCHECK``: a type word then the ``CMD`` parser;
  ``ONBUILD``: a nested instruction;
* anything else: one empty word (the instruction is refused later, by name).

Flags are read by moby's ``extractBuilderFlags``, which walks bytes, not runes: a non-ASCII
byte in a flag becomes the Latin-1 rune of that byte (``--chown=é`` reads ``Ã©``), as in Docker.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from ocitool._go import strconv as gostrconv
from ocitool._go import strings as gostrings
from ocitool._record import record, replace
from ocitool.errors import DockerfileSyntaxError

__all__ = ["Node", "dump", "parse_line"]

# moby's reWhitespace: [\t\v\f\r ]+ (no \n, which a line cannot hold, and no Unicode spaces).
_WS: Final = re.compile(r"[\t\v\f\r ]+")
_NOT_STRING_ARRAY: Final = "when using JSON array syntax, arrays must be comprised of strings only"


@record(frozen=True, slots=True)
class Node:
    """One instruction as moby's parser produces it.

    ``args`` are the argument words (moby's ``nodeArgs``: for ``ONBUILD`` the trigger's command
    and its words); ``next`` the parser's own value chain (``Dump`` prints it); ``child`` the
    trigger node of an ``ONBUILD``; ``json`` whether the words were a JSON array; ``line`` and
    ``end_line`` the 1-based physical lines (0 when parsed from a string alone).
    """

    command: str
    flags: tuple[str, ...]
    next: tuple[str, ...]
    json: bool
    original: str
    child: Node | None = None
    line: int = 0
    end_line: int = 0

    @property
    def args(self) -> tuple[str, ...]:
        if self.child is not None:
            return (self.child.command, *self.child.args)
        return self.next


class _LineError(Exception):
    """A line parser refused the text (the caller adds the location)."""


# ---------------------------------------------------------------------------------- flags


def _extract_flags(line: str) -> tuple[str, list[str]]:
    """moby's ``extractBuilderFlags``: leading ``--words`` (quotes and backslashes processed,
    a bare ``--`` ends them) and the rest of the line. Works on bytes as Go's does."""
    raw = gostrings.to_bytes(line)
    text = raw.decode("latin-1")  # one char per byte, as Go's rune(line[pos])
    words: list[str] = []
    word = ""
    phase = 0  # 0 in spaces, 1 in word, 2 in quote
    quote = ""
    blank_ok = False
    pos = 0
    n = len(text)
    while pos <= n:
        ch = text[pos] if pos < n else ""
        if phase == 0:
            if pos == n:
                break
            if gostrings.is_space(ch):
                pos += 1
                continue
            if ch != "-" or pos + 1 == n or text[pos + 1] != "-":
                return gostrings.from_bytes(raw[pos:]), words
            phase = 1
        if pos == n:
            if word != "--" and (blank_ok or word):
                words.append(word)
            break
        if phase == 1:
            if gostrings.is_space(ch):
                phase = 0
                if word == "--":
                    return gostrings.from_bytes(raw[pos:]), words
                if blank_ok or word:
                    words.append(word)
                word = ""
                blank_ok = False
                pos += 1
                continue
            if ch in "'\"":
                quote = ch
                blank_ok = True
                phase = 2
                pos += 1
                continue
            if ch == "\\":
                if pos + 1 == n:
                    pos += 1
                    continue
                pos += 1
                ch = text[pos]
            word += ch
            pos += 1
            continue
        # phase 2: inside quotes
        if ch == quote:
            phase = 1
            pos += 1
            continue
        if ch == "\\":
            if pos + 1 == n:
                phase = 1
                pos += 1
                continue
            pos += 1
            ch = text[pos]
        word += ch
        pos += 1
    return "", words


def _split_command(line: str) -> tuple[str, list[str], str]:
    parts = _WS.split(gostrings.trim_space(line), maxsplit=1)
    cmd = gostrings.to_lower(parts[0])
    args, flags = "", list[str]()
    if len(parts) == 2:
        args, flags = _extract_flags(parts[1])
    return cmd, flags, gostrings.trim_space(args)


# ---------------------------------------------------------------------------- line parsers


def parse_words(rest: str, escape: str) -> list[str]:
    """moby's ``parseWords``: split on Unicode spaces, quotes and escapes kept in the words
    (the shell lexer strips them later); an undecodable byte becomes U+FFFD, as Go's rune
    decoding makes it."""
    words: list[str] = []
    word: list[str] = []
    phase = 0
    quote = ""
    blank_ok = False
    chars = ["\ufffd" if gostrings.is_escaped_byte(c) else c for c in rest]
    n = len(chars)
    pos = 0
    while pos <= n:
        ch = chars[pos] if pos < n else ""
        if phase == 0:
            if pos == n:
                break
            if gostrings.is_space(ch):
                pos += 1
                continue
            phase = 1
        if pos == n:
            if blank_ok or word:
                words.append("".join(word))
            break
        if phase == 1:
            if gostrings.is_space(ch):
                phase = 0
                if blank_ok or word:
                    words.append("".join(word))
                word = []
                blank_ok = False
                pos += 1
                continue
            if ch in "'\"":
                quote = ch
                blank_ok = True
                phase = 2
            if ch == escape:
                if pos + 1 == n:
                    pos += 1
                    continue
                word.append(ch)
                pos += 1
                ch = chars[pos]
            word.append(ch)
            pos += 1
            continue
        # phase 2
        if ch == quote:
            phase = 1
        if ch == escape and quote != "'":
            if pos + 1 == n:
                phase = 1
                pos += 1
                continue
            word.append(ch)
            pos += 1
            ch = chars[pos]
        word.append(ch)
        pos += 1
    return words


def _name_val(rest: str, key: str, escape: str) -> tuple[str, ...]:
    words = parse_words(rest, escape)
    if not words:
        return ()
    if "=" not in words[0]:
        parts = _WS.split(rest, maxsplit=1)
        if len(parts) < 2:
            raise _LineError(f"{key} must have two arguments")
        return (parts[0], parts[1])
    out: list[str] = []
    for word in words:
        if "=" not in word:
            raise _LineError(
                f"Syntax error - can't find = in {gostrconv.quote(word)}. Must be of the form: name=value"
            )
        k, _, v = word.partition("=")
        out += (k, v)
    return tuple(out)


def _whitespace_words(rest: str) -> tuple[str, ...]:
    if rest == "":
        return ()
    return tuple(_WS.split(rest))


def _go_json_strings(rest: str) -> tuple[str, ...] | None:
    """``json.NewDecoder(rest).Decode(&[]interface{})`` then the string check: the strings,
    None when Go would fail to decode (shell form follows); _LineError for a decoded array
    holding anything but strings."""
    rest = gostrings.trim_left_space(rest)
    if not rest.startswith("["):
        return None

    def no_constant(name: str) -> Any:
        raise ValueError(name)  # Go has no NaN/Infinity literals

    def go_float(text: str) -> float:
        value = float(text)
        if value in (float("inf"), float("-inf")):
            raise ValueError(text)  # Go: cannot unmarshal number into float64
        return value

    decoder = json.JSONDecoder(parse_constant=no_constant, parse_float=go_float, parse_int=go_float)
    try:
        value, _ = decoder.raw_decode(rest)
    except ValueError:
        return None
    except RecursionError:
        # Deeper than Python's decoder goes: Go decodes up to 10000 levels, and an array that
        # deep holds an array, which is no string.
        if _valid_json_value(rest):
            raise _LineError(_NOT_STRING_ARRAY) from None
        return None
    if not isinstance(value, list):
        return None
    out: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise _LineError(_NOT_STRING_ARRAY)
        # Go decodes invalid UTF-8 and lone surrogate escapes to U+FFFD.
        out.append("".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in item))
    return tuple(out)


_JSON_TOKEN: Final = re.compile(
    r"[\t\n\r ]*(?:(?P<open>[\[{])|(?P<close>[\]}])|(?P<comma>,)|(?P<colon>:)"
    r'|(?P<string>"(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*")'
    r"|(?P<scalar>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null))"
)
_GO_JSON_NESTING: Final = 10000  # encoding/json's maxNestingDepth


def _valid_json_value(text: str) -> bool:
    """Whether ``text`` starts with one syntactically valid JSON value Go's decoder accepts
    (nesting at most 10000 deep); iterative, for values too deep for Python's decoder."""
    stack: list[str] = []  # "[" or "{"
    expect = "value"  # value | first (value or close) | key | colon | next (comma or close)
    pos = 0
    while True:
        m = _JSON_TOKEN.match(text, pos)
        if m is None:
            return False
        pos = m.end()
        kind = m.lastgroup
        if expect in ("value", "first"):
            if kind == "close" and expect == "first" and m.group(kind) == ("]" if stack[-1] == "[" else "}"):
                stack.pop()
            elif kind == "open":
                stack.append(m.group(kind))
                if len(stack) > _GO_JSON_NESTING:
                    return False
                expect = "first" if m.group(kind) == "[" else "firstkey"
                continue
            elif kind in ("string", "scalar"):
                pass
            else:
                return False
        elif expect in ("key", "firstkey"):
            if kind == "close" and expect == "firstkey" and m.group(kind) == "}":
                stack.pop()
            elif kind == "string":
                expect = "colon"
                continue
            else:
                return False
        elif expect == "colon":
            if kind != "colon":
                return False
            expect = "value"
            continue
        else:  # next
            if kind == "comma":
                expect = "value" if stack[-1] == "[" else "key"
                continue
            if kind != "close" or m.group(kind) != ("]" if stack[-1] == "[" else "}"):
                return False
            stack.pop()
        if not stack:
            return True
        expect = "next"


def _maybe_json(rest: str) -> tuple[tuple[str, ...], bool]:
    if rest == "":
        return (), False
    words = _go_json_strings(rest)
    if words is not None:
        return words, True
    return (rest,), False


def _maybe_json_to_list(rest: str) -> tuple[tuple[str, ...], bool]:
    words = _go_json_strings(rest)
    if words is not None:
        return words, True
    return _whitespace_words(rest), False


def _health(rest: str) -> tuple[tuple[str, ...], bool]:
    sep = 0
    raw = gostrings.to_bytes(rest)
    while sep < len(raw) and not gostrings.is_space(chr(raw[sep])):
        sep += 1
    nxt = sep
    while nxt < len(raw) and gostrings.is_space(chr(raw[nxt])):
        nxt += 1
    if sep == 0:
        return (), False
    words, is_json = _maybe_json(gostrings.from_bytes(raw[nxt:]))
    return (gostrings.from_bytes(raw[:sep]), *words), is_json


def _dispatch(cmd: str, rest: str, escape: str) -> tuple[tuple[str, ...], bool, Node | None]:
    if cmd in ("add", "copy", "volume"):
        words, is_json = _maybe_json_to_list(rest)
        return words, is_json, None
    if cmd in ("cmd", "entrypoint", "run", "shell"):
        words, is_json = _maybe_json(rest)
        return words, is_json, None
    if cmd == "arg":
        return tuple(parse_words(rest, escape)), False, None
    if cmd in ("env", "label"):
        return _name_val(rest, "ENV" if cmd == "env" else "LABEL", escape), False, None
    if cmd in ("expose", "from"):
        return _whitespace_words(rest), False, None
    if cmd in ("maintainer", "stopsignal", "user", "workdir"):
        return ((rest,) if rest else ()), False, None
    if cmd == "healthcheck":
        words, is_json = _health(rest)
        return words, is_json, None
    if cmd == "onbuild":
        if rest == "":
            return (), False, None
        return (), False, _node(rest, escape)
    return ("",), False, None  # parseIgnore: an unknown instruction keeps one empty word


def _node(line: str, escape: str) -> Node:
    cmd, flags, rest = _split_command(line)
    words, is_json, child = _dispatch(cmd, rest, escape)
    return Node(cmd, tuple(flags), words, is_json, line, child)


def parse_line(line: str, escape: str, *, path: str | None = None, number: int = 0, end: int = 0) -> Node:
    """One logical line to a :class:`Node` placed at lines ``number``..``end``;
    DockerfileSyntaxError names ``path`` and the lines."""
    try:
        node = _node(line, escape)
    except _LineError as e:
        raise DockerfileSyntaxError(str(e), path=path, line=number or None, end_line=end or None) from None
    return replace(node, line=number, end_line=end)


def dump(node: Node) -> str:
    """moby's ``Node.Dump`` of one instruction: ``copy ["--from=x"] "a" "b"``."""
    text = node.command
    if node.flags:
        text += " [" + " ".join(gostrconv.quote(f) for f in node.flags) + "]"
    if node.child is not None:
        text += " (" + dump(node.child) + ")"
    for value in node.next:
        text += " " + gostrconv.quote(value)
    return gostrings.trim_space(text)
