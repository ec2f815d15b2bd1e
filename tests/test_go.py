"""Tests of ocitool._go's small Go helpers (path, strings, strconv) and of the layer's rules:
one definition of each Go helper, and no import from above ocitool.errors."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ocitool._go import path as gopath
from ocitool._go import strconv as gostrconv
from ocitool._go import strings as gostrings

PACKAGE = Path(__file__).resolve().parent.parent / "ocitool"


@pytest.mark.parametrize(
    ("p", "cleaned"),
    [
        ("", "."),
        (".", "."),
        ("/", "/"),
        ("//", "/"),
        ("//a", "/a"),
        ("///a//b/", "/a/b"),
        ("a/./b", "a/b"),
        ("a/../..", ".."),
        ("../a/..", ".."),
        ("a/b/../../..", ".."),
        ("/../a", "/a"),
        ("/a/../..", "/"),
        ("abc/./../def", "def"),
        ("./", "."),
        ("..a/b..", "..a/b.."),
    ],
)
def test_path_clean_is_gos(p: str, cleaned: str) -> None:
    assert gopath.clean(p) == cleaned


def test_path_join_skips_empty_elements_and_cleans() -> None:
    assert gopath.join() == ""
    assert gopath.join("", "") == ""
    assert gopath.join("a", "", "b") == "a/b"
    assert gopath.join("/", "a") == "/a"
    assert gopath.join("linux(10.0)", "amd64", "") == "linux(10.0)/amd64"
    assert gopath.join("a/", "../b") == "b"


def test_path_match() -> None:
    assert gopath.match("alp*", "alpine")
    assert not gopath.match("*", "library/alpine")
    assert gopath.match("*/alpine", "library/alpine")
    assert gopath.match("a?c", "abc") and not gopath.match("a?c", "a/c")
    assert gopath.match("[a-c]x", "bx") and not gopath.match("[^a-c]x", "bx")
    assert gopath.match("a\\*", "a*") and not gopath.match("a\\*", "ab")
    assert not gopath.match("[]", "")


def test_to_lower_maps_each_rune_alone() -> None:
    assert gostrings.to_lower("AMD64") == "amd64"
    assert gostrings.to_lower("\u0130") == "i"  # Python gives "i\u0307"
    assert gostrings.to_lower("\u03a3\u0391\u03a3") == "\u03c3\u03b1\u03c3"  # no final sigma in Go
    assert gostrings.to_lower("A\udcff") == "a\ufffd"  # an invalid byte maps to RuneError
    assert gostrings.to_upper("straße") == "STRAßE"
    assert gostrings.title("hello wörld_x") == "Hello Wörld_x"


@pytest.mark.parametrize(
    ("text", "base", "bits", "value"),
    [
        ("42", 10, 64, 42),
        ("+7", 10, 64, 7),
        ("-9223372036854775808", 10, 64, -(1 << 63)),
        ("9223372036854775808", 10, 64, None),
        ("127", 10, 8, 127),
        ("128", 10, 8, None),
        ("1_000", 10, 64, None),
        ("1_000", 0, 64, 1000),
        ("_1", 0, 64, None),
        ("0x1F", 0, 64, 31),
        ("0o17", 0, 64, 15),
        ("017", 0, 64, 15),
        ("0b101", 0, 64, 5),
        ("0x", 0, 64, None),
        ("٣", 10, 64, None),
        ("", 10, 64, None),
        ("z", 36, 64, 35),
    ],
)
def test_parse_int(text: str, base: int, bits: int, value: int | None) -> None:
    assert gostrconv.parse_int(text, base, bits) == value


def test_parse_uint_and_atoi() -> None:
    assert gostrconv.parse_uint("255", 10, 8) == 255
    assert gostrconv.parse_uint("256", 10, 8) is None
    assert gostrconv.parse_uint("+1", 10, 64) is None
    assert gostrconv.parse_uint("18446744073709551615", 10, 64) == (1 << 64) - 1
    assert gostrconv.atoi("-12") == -12
    assert gostrconv.atoi(" 1") is None
    assert gostrconv.atoi("1e3") is None


def test_strconv_quote_unquote_and_format_float() -> None:
    assert gostrconv.quote("a\n\udcff\u00e9") == '"a\\n\\xff\u00e9"'
    assert gostrconv.quote("\u00e9", ascii_only=True) == '"\\u00e9"'
    assert gostrconv.unquote('"a\\x41\\u00e9"') == "aA\u00e9"
    assert gostrconv.unquote("`raw\\n`") == "raw\\n"
    with pytest.raises(gostrconv.InvalidSyntaxError):
        gostrconv.unquote("'a'")
    assert gostrconv.format_float(1e6, "g", -1) == "1e+06"
    assert gostrconv.format_float(123456.0, "g", -1) == "123456"
    assert gostrconv.format_float(-0.0, "f", -1) == "-0"
    assert gostrconv.format_float(1.5, "e", 3) == "1.500e+00"


def _modules(folder: Path) -> list[tuple[str, ast.Module]]:
    paths = sorted(folder.rglob("*.py"))
    return [(str(p.relative_to(PACKAGE.parent)), ast.parse(p.read_text())) for p in paths]


def test_go_layer_imports_nothing_of_ocitool_above_errors() -> None:
    # the layers below _go: the value-class decorator and the exception tree
    for name, tree in _modules(PACKAGE / "_go"):
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            for target in targets:
                if target.split(".")[0] == "ocitool":
                    assert target in ("ocitool._record", "ocitool.errors") or target.startswith(
                        "ocitool._go"
                    ), (
                        name,
                        target,
                    )


def test_each_go_helper_has_one_definition() -> None:
    # What marks a copy: Go's path.Clean is posixpath.normpath with the leading "//" folded,
    # Go's ToLower special-cases U+0130 (spelled as an escape). And no two functions share a
    # go_ name (as _go_lower and a template's own lower did).
    markers = {
        'startswith("//")': "ocitool/_go/path.py",
        "\\u0130": "ocitool/_go/strings.py",
    }
    for marker, home in markers.items():
        found = [p for p in sorted(PACKAGE.rglob("*.py")) if marker in p.read_text()]
        assert [str(p.relative_to(PACKAGE.parent)) for p in found] == [home], marker
    defined: dict[str, list[str]] = {}
    for name, tree in _modules(PACKAGE):
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name.lstrip("_").startswith("go_"):
                defined.setdefault(node.name.lstrip("_"), []).append(name)
    assert {n: where for n, where in defined.items() if len(where) > 1} == {}
