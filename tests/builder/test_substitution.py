"""Variable substitution (moby's shell.Lex) against buildkit's own test tables, and build-arg
scoping (moby 20.10's buildargs.go)."""

from __future__ import annotations

import pytest

from ocitool.errors import DockerfileSyntaxError
from ocitool.ops.build.buildargs import BuildArgs
from ocitool.ops.build.shell import MAX_NESTING, Lex, build_envs
from tests.builder._buildkit import buildkit_files


def _env_var_cases() -> list[tuple[int, str, str]]:
    out = []
    for number, line in enumerate(buildkit_files()["shell/envVarTest"].decode("utf-8").split("\n"), 1):
        if line.startswith("#") or not line.strip():
            continue
        platform, source, expected = (part.strip() for part in line.strip().split("|"))
        if platform in ("A", "U"):
            out.append((number, source, expected))
    return out


def _words_cases() -> list[tuple[int, list[str], str, list[str]]]:
    out = []
    env: list[str] = []
    for number, line in enumerate(buildkit_files()["shell/wordsTest"].decode("utf-8").split("\n"), 1):
        if line.startswith("#") or not line:
            continue
        if line.startswith("ENV "):
            env.append(line[3:].lstrip(" "))
            continue
        source, expected = line.split("|")
        out.append((number, list(env), source.strip(), expected.lstrip(" ").split(",")))
    return out


ENV_VAR_CASES = _env_var_cases()
WORDS_CASES = _words_cases()


def test_test_tables_are_complete() -> None:
    assert len(ENV_VAR_CASES) == 228 and len(WORDS_CASES) == 24


@pytest.mark.parametrize(("number", "source", "expected"), ENV_VAR_CASES)
def test_env_var_table(number: int, source: str, expected: str) -> None:
    env = ["PWD=/home", "SHELL=bash", "KOREAN=한국어", "NULL="]
    lex = Lex("\\")
    if expected == "error":
        with pytest.raises(DockerfileSyntaxError, match=r"^failed to process "):
            lex.process_word(source, env)
        with pytest.raises(DockerfileSyntaxError):
            lex.process_word(source, build_envs(env))
    else:
        assert lex.process_word(source, env) == expected
        assert lex.process_word(source, build_envs(env)) == expected


@pytest.mark.parametrize(("number", "env", "source", "expected"), WORDS_CASES)
def test_words_table(number: int, env: list[str], source: str, expected: list[str]) -> None:
    lex = Lex("\\")
    try:
        got = lex.process_words(source, env)
    except DockerfileSyntaxError:
        got = ["error"]
    assert got == expected


def test_mandatory_variables() -> None:
    lex = Lex("\\")
    set_env, empty_env, unset_env = ["VAR=plain", "ARG=x"], ["VAR=", "ARG=x"], ["ARG=x"]
    assert lex.process_word("${VAR:?message here$ARG}", set_env) == "plain"
    for env in (empty_env, unset_env):
        with pytest.raises(DockerfileSyntaxError, match="VAR: message herex"):
            lex.process_word("${VAR:?message here$ARG}", env)
    assert lex.process_word("${VAR?message here$ARG}", set_env) == "plain"
    assert lex.process_word("${VAR?message here$ARG}", empty_env) == ""
    with pytest.raises(DockerfileSyntaxError, match="VAR: message herex"):
        lex.process_word("${VAR?message here$ARG}", unset_env)
    with pytest.raises(DockerfileSyntaxError, match="VAR: is not allowed to be unset"):
        lex.process_word("${VAR:?}", unset_env)
    with pytest.raises(DockerfileSyntaxError, match="VAR: is not allowed to be empty"):
        lex.process_word("${VAR:?}", empty_env)


@pytest.mark.parametrize(
    ("word", "message"),
    [
        ("${A-x}", "missing ':' in substitution"),  # Docker 20.10 has no ${A-x} / ${A+x}
        ("${A+x}", "missing ':' in substitution"),
        ("${A:=x}", "unsupported modifier (=) in substitution"),
        ("${A", "missing ':' in substitution"),
        ("${A:-${B}", "syntax error: missing '}'"),
        ("${}", "syntax error: bad substitution"),
        ("${:x}", "syntax error: bad substitution"),
        ('"x', "unexpected end of statement while looking for matching double-quote"),
        ("'x", "unexpected end of statement while looking for matching single-quote"),
    ],
)
def test_substitution_errors(word: str, message: str) -> None:
    with pytest.raises(DockerfileSyntaxError) as info:
        Lex().process_word(word, {})
    assert info.value.reason.endswith(message) and info.value.line is None


def test_nesting_word_splitting_and_escape_token() -> None:
    env = {"A": "", "B": "b  c", "C": "x"}
    lex = Lex("\\")
    assert lex.process_word("${A:-${B:+[${C}]}}", env) == "[x]"
    assert lex.process_words("p $B 'q  r' \\ s", env) == ["p", "b", "c", "q  r", " s"]
    tick = Lex("`")
    assert tick.process_word('a`$C\\n "`"$C"', env) == 'a$C\\n "x'
    assert lex.process_word("\ufeff$C", env) == "x"  # text/scanner drops a leading BOM
    assert lex.process_word("a\udcff$1$@$", env) == "a\ufffd$"  # an invalid byte reads as U+FFFD


def test_deep_nesting_is_refused_not_crashed() -> None:
    lex = Lex()
    ok = "${A:-" * MAX_NESTING + "z" + "}" * MAX_NESTING
    assert lex.process_word(ok, {}) == "z"
    deep = "${A:-" * 5000 + "z" + "}" * 5000
    with pytest.raises(DockerfileSyntaxError, match="nested more than"):
        lex.process_word(deep, {})


# ------------------------------------------------------------------------------- build args


def test_meta_args_are_for_from_until_redeclared() -> None:
    build = BuildArgs({"V": None, "W": "from-cli"})
    build.add_arg("V", "meta")
    build.add_meta_arg("V", "meta")
    build.add_arg("W", "w-default")
    build.add_meta_arg("W", "w-default")
    stage = build.for_stage()
    assert stage.meta() == {"V": "meta", "W": "from-cli"}
    assert stage.all_allowed() == {}  # not visible in the stage until declared again
    stage.add_arg("V", None)  # ARG V: takes the meta value
    stage.add_arg("W", None)
    stage.add_arg("X", "x")
    assert stage.all_allowed() == {"V": "meta", "W": "from-cli", "X": "x"}
    stage.add_arg("Y", None)  # declared, no value anywhere: not set
    assert "Y" not in stage.all_allowed()


def test_env_wins_and_builtin_proxies_need_no_arg() -> None:
    args = BuildArgs({"HTTP_PROXY": "http://p", "UNUSED": "u", "A": "cli"})
    args.add_arg("A", "default")
    args.add_arg("B", "b")
    assert args.all_allowed() == {"A": "cli", "B": "b", "HTTP_PROXY": "http://p"}
    assert sorted(args.filter_allowed(["A=env", "PATH=/bin"])) == ["B=b", "HTTP_PROXY=http://p"]
    assert args.unused() == ["UNUSED"]
    assert args.is_referenced_or_not_builtin("B") and not args.is_referenced_or_not_builtin("http_proxy")
