"""Variable substitution in Dockerfile words: moby's ``shell.Lex`` (buildkit eeb7b65, as Docker
20.10's classic builder uses it).

:meth:`Lex.process_word` substitutes and unquotes one word; :meth:`Lex.process_words` also
splits the result into words after substitution, as only ``EXPOSE`` does. The grammar:

* ``$NAME``, ``${NAME}``; a name is letters, digits and ``_`` (Unicode letters and decimal
  digits count), or one special parameter (``$@ $* $# $? $- $$ $! $0``) or a run of digits
  (``$1`` is the variable named ``1``); an unset variable is empty; ``$`` before anything else
  stays ``$``;
* ``${NAME:-word}`` (word if unset or empty), ``${NAME:+word}`` (word if set and not empty),
  ``${NAME:?message}`` / ``${NAME?message}`` (an error if unset or empty / unset); the word is
  itself substituted, so these nest. Docker 20.10 knows no other form: ``${NAME-word}`` and
  ``${NAME+word}`` are errors ("missing ':' in substitution"), as ``${NAME:=x}`` is
  ("unsupported modifier (=) in substitution");
* single quotes keep everything literally; double quotes keep everything but ``$``
  substitutions, and the escape token escapes ``"``, ``$`` and itself there; outside quotes
  the escape token makes the next character literal (at the end of the word it vanishes);
* word splitting (:meth:`Lex.process_words`) splits substituted values and unquoted text on
  spaces, never quoted text or escaped characters, and drops empty words.

The escape token is the Dockerfile's (``\\`` or `````). Undecodable bytes are U+FFFD and a
leading U+FEFF is dropped, as Go's ``text/scanner`` reads them. Substitutions nest at most
:data:`MAX_NESTING` deep (Go has no limit; Python's stack has one). Errors are
:class:`~ocitool.errors.DockerfileSyntaxError` with moby's message and no line (the caller
places them).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from typing import Final

from ocitool._go import strconv as gostrconv
from ocitool._go import strings as gostrings
from ocitool.errors import DockerfileSyntaxError

__all__ = ["MAX_NESTING", "Lex", "build_envs"]

MAX_NESTING: Final = 100
"""How deep ``${a:-${b:-...}}`` substitutions may nest before the word is refused."""

_EOF: Final = ""
_SPECIAL_PARAMS: Final = frozenset("@*#?-$!0")


class _Error(Exception):
    """A substitution error; the message is moby's, before ``failed to process``."""


def build_envs(env: Iterable[str]) -> dict[str, str]:
    """moby's ``BuildEnvs``: ``KEY=value`` entries to a mapping (a later key wins; an entry
    without ``=`` is an empty variable)."""
    out: dict[str, str] = {}
    for entry in env:
        key, eq, value = entry.partition("=")
        out[key] = value if eq else ""
    return out


def _is_letter(ch: str) -> bool:
    return unicodedata.category(ch).startswith("L")


def _is_digit(ch: str) -> bool:
    return unicodedata.category(ch) == "Nd"


class _Words:
    """moby's ``wordsStruct``: the words of a substituted string, split on spaces."""

    def __init__(self) -> None:
        self.word: list[str] = []
        self.size = 0  # len(word) in Go: an added empty string leaves it 0
        self.words: list[str] = []
        self.in_word = False

    def _flush(self) -> None:
        self.words.append("".join(self.word))
        self.word = []
        self.size = 0
        self.in_word = False

    def add_char(self, ch: str) -> None:
        if gostrings.is_space(ch):
            if self.in_word and self.size:
                self._flush()
        else:
            self.add_raw_char(ch)

    def add_raw_char(self, ch: str) -> None:
        self.add_raw_string(ch)

    def add_string(self, text: str) -> None:
        for ch in text:
            self.add_char(ch)

    def add_raw_string(self, text: str) -> None:
        self.word.append(text)
        self.size += len(text)
        self.in_word = True

    def get(self) -> list[str]:
        if self.size:
            self._flush()
        return self.words


class _ShellWord:
    """One ``process`` call: a character scanner over the word and the environment."""

    def __init__(self, word: str, env: Mapping[str, str], escape: str) -> None:
        chars = ["\ufffd" if gostrings.is_escaped_byte(c) else c for c in word]
        if chars[:1] == ["\ufeff"]:
            del chars[0]
        self.chars = chars
        self.pos = 0
        self.env = env
        self.escape = escape
        self.depth = 0

    def peek(self) -> str:
        return self.chars[self.pos] if self.pos < len(self.chars) else _EOF

    def next(self) -> str:
        ch = self.peek()
        if ch != _EOF:
            self.pos += 1
        return ch

    def process_stop_on(self, stop: str) -> tuple[str, list[str]]:
        result: list[str] = []
        words = _Words()
        while self.peek() != _EOF:
            ch = self.peek()
            if stop != _EOF and ch == stop:
                self.next()
                return "".join(result), words.get()
            if ch in ("'", '"', "$"):
                if ch == "'":
                    tmp = self.single_quote()
                elif ch == '"':
                    tmp = self.double_quote()
                else:
                    tmp = self.dollar()
                result.append(tmp)
                if ch == "$":
                    words.add_string(tmp)
                else:
                    words.add_raw_string(tmp)
                continue
            ch = self.next()
            if ch == self.escape:
                ch = self.next()
                if ch == _EOF:
                    break
                words.add_raw_char(ch)
            else:
                words.add_char(ch)
            result.append(ch)
        if stop != _EOF:
            raise _Error(f"unexpected end of statement while looking for matching {stop}")
        return "".join(result), words.get()

    def single_quote(self) -> str:
        self.next()
        out: list[str] = []
        while True:
            ch = self.next()
            if ch == _EOF:
                raise _Error("unexpected end of statement while looking for matching single-quote")
            if ch == "'":
                return "".join(out)
            out.append(ch)

    def double_quote(self) -> str:
        self.next()
        out: list[str] = []
        while True:
            ch = self.peek()
            if ch == _EOF:
                raise _Error("unexpected end of statement while looking for matching double-quote")
            if ch == '"':
                self.next()
                return "".join(out)
            if ch == "$":
                out.append(self.dollar())
                continue
            ch = self.next()
            if ch == self.escape:
                nxt = self.peek()
                if nxt == _EOF:
                    continue
                if nxt in ('"', "$", self.escape):
                    ch = self.next()
            out.append(ch)

    def nested(self) -> str:
        """The word of ``${name:...}`` up to its ``}``, substituted."""
        if self.depth >= MAX_NESTING:
            raise _Error(f"substitutions nested more than {MAX_NESTING} deep")
        self.depth += 1
        try:
            word, _ = self.process_stop_on("}")
        except _Error:
            if self.peek() == _EOF:
                raise _Error("syntax error: missing '}'") from None
            raise
        finally:
            self.depth -= 1
        return word

    def dollar(self) -> str:
        self.next()
        if self.peek() != "{":
            name = self.name()
            if name == "":
                return "$"
            return self.env.get(name, "")
        self.next()
        ch = self.peek()
        if ch == _EOF:
            raise _Error("syntax error: missing '}'")
        if ch in ("{", "}", ":"):
            raise _Error("syntax error: bad substitution")
        name = self.name()
        ch = self.next()
        if ch == "}":
            return self.env.get(name, "")
        if ch == "?":
            word = self.nested()
            if name not in self.env:
                raise _Error(f"{name}: {word or 'is not allowed to be unset'}")
            return self.env[name]
        if ch == ":":
            modifier = self.next()
            word = self.nested()
            value = self.env.get(name, "")
            if modifier == "+":
                return word if value != "" else value
            if modifier == "-":
                return word if value == "" else value
            if modifier == "?":
                if name not in self.env:
                    raise _Error(f"{name}: {word or 'is not allowed to be unset'}")
                if value == "":
                    raise _Error(f"{name}: {word or 'is not allowed to be empty'}")
                return value
            shown = modifier if modifier != _EOF else "\ufffd"
            raise _Error(f"unsupported modifier ({shown}) in substitution")
        raise _Error("missing ':' in substitution")

    def name(self) -> str:
        out: list[str] = []
        while self.peek() != _EOF:
            ch = self.peek()
            if not out and _is_digit(ch):
                while self.peek() != _EOF and _is_digit(self.peek()):
                    out.append(self.next())
                return "".join(out)
            if not out and ch in _SPECIAL_PARAMS:
                return self.next()
            if not (_is_letter(ch) or _is_digit(ch) or ch == "_"):
                break
            out.append(self.next())
        return "".join(out)


class Lex:
    """moby's ``shell.Lex`` for one escape token (``\\`` or ````` ``)."""

    def __init__(self, escape: str = "\\") -> None:
        self.escape = escape

    def _process(self, word: str, env: Mapping[str, str] | Iterable[str]) -> tuple[str, list[str]]:
        envs = env if isinstance(env, Mapping) else build_envs(env)
        try:
            return _ShellWord(word, envs, self.escape).process_stop_on(_EOF)
        except _Error as e:
            raise DockerfileSyntaxError(f"failed to process {gostrconv.quote(word)}: {e}") from None

    def process_word(self, word: str, env: Mapping[str, str] | Iterable[str]) -> str:
        """``ProcessWord``: ``word`` with variables substituted from ``env`` (a mapping, or
        ``KEY=value`` entries) and quotes and escapes removed. DockerfileSyntaxError (no line)
        for a malformed word."""
        return self._process(word, env)[0]

    def process_words(self, word: str, env: Mapping[str, str] | Iterable[str]) -> list[str]:
        """``ProcessWords``: as :meth:`process_word`, then split into words (see the module)."""
        return self._process(word, env)[1]
