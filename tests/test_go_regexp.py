"""ocitool._go.regexp: Go's RE2 syntax and semantics, in linear time."""

from __future__ import annotations

import time

import pytest

from ocitool._go.regexp import RegexpSyntaxError
from ocitool._go.regexp import compile as go_compile


@pytest.mark.parametrize(
    ("expr", "text", "expected"),
    [
        ("^a.c$", "abc", True),
        ("^a.c$", "a\nc", False),  # . is not \n
        ("(?s)^a.c$", "a\nc", True),
        ("x$", "x\n", False),  # $ is the end of the text, not before a final newline
        ("(?m)^b$", "a\nb\nc", True),
        ("^b$", "a\nb\nc", False),
        ("ab", "xxaby", True),  # MatchString searches
        ("^ab", "xxab", False),
        ("^(ab|cd)+$", "abcdab", True),
        ("^x{2,3}$", "xxxx", False),
        ("^x{2,}$", "xxxx", True),
        ("^a{,3}$", "a{,3}", True),  # a brace that opens no repeat is a literal
        ("^[[:alpha:]]+$", "abcZ", True),
        ("^[[:^digit:]]$", "a", True),
        ("^[^/]*$", "a/b", False),
        ("^[]a]+$", "]a]", True),
        ("^[a-]$", "-", True),
        (r"\bfoo\b", "a foo b", True),
        (r"\bfoo\b", "afoob", False),
        (r"\Bo\B", "foo", True),
        ("(?i)^K$", "\u212a", True),  # Kelvin sign folds to k
        ("(?i:ab)c", "ABc", True),
        ("^(?i:ab)c$", "ABC", False),
        (r"^\d+\s\w+$", "123 abc_9", True),
        (r"^\d$", "٣", False),  # \d is ASCII
        (r"^\pL+$", "ünï", True),
        (r"^[\p{Lu}\d]+$", "A1", True),
        (r"^\PL$", "1", True),
        (r"^\x41\x{42}\103$", "ABC", True),
        (r"^\Q.*+\E$", ".*+", True),
        (r"^\.\$\*$", ".$*", True),
        ("^$", "", True),
        ("", "anything", True),
        ("^a*?b??$", "aab", True),
        ("^(?P<name>a)(?<other>b)$", "ab", True),
        (r"\Aab\z", "ab", True),
    ],
)
def test_match_string(expr: str, text: str, expected: bool) -> None:
    assert go_compile(expr).match_string(text) is expected


@pytest.mark.parametrize(
    "expr",
    [
        "a**",
        "*a",
        "+",
        "(a",
        "a)",
        "[a",
        "a{2,1}",
        "x{1001}",
        r"\1",
        r"\Z",
        r"\p{Greek}",
        "(?z)",
        "(?)",
        "a\\",
        "[z-a]",
        r"\xZZ",
        r"\C",
    ],
)
def test_syntax_errors(expr: str) -> None:
    with pytest.raises(RegexpSyntaxError):
        go_compile(expr)


def test_linear_time_where_backtracking_explodes() -> None:
    expr = "^" + "[^/]*a" * 12 + "[^/]*b$"
    start = time.monotonic()
    assert not go_compile(expr).match_string("a" * 5000)
    assert not go_compile("^(a|aa)*c$").match_string("a" * 5000)
    assert go_compile("^(a|aa)*$").match_string("a" * 5000)
    assert time.monotonic() - start < 20  # backtracking would take hours
