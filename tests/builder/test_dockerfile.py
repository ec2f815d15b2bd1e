"""Dockerfile lexer, parser and typed instructions against moby's own parser test data
(buildkit eeb7b65, the parser Docker 20.10 vendors: fixtures/dockerfile/buildkit) and the
behaviours Docker 20.10's classic builder shows (checked against the daemon in test_oracle.py)."""

from __future__ import annotations

import pytest

from ocitool.errors import DockerfileError, DockerfileSyntaxError, OcitoolError
from ocitool.ops.build.dockerfile import dump, parse, parse_ast, parse_trigger
from ocitool.ops.build.dockerfile._lexer import read_lines
from ocitool.ops.build.dockerfile._parser import parse_line, parse_words
from ocitool.ops.build.dockerfile.instructions import (
    Add,
    Arg,
    ArgDef,
    Cmd,
    Copy,
    Entrypoint,
    Env,
    Expose,
    Healthcheck,
    KeyValue,
    Label,
    Onbuild,
    Run,
    Shell,
    StopSignal,
    Volume,
)
from tests.builder._buildkit import buildkit_files, cases

POSITIVE = cases("parser/testfiles")
NEGATIVE = cases("parser/testfiles-negative")


def _only(text: str):  # type: ignore[no-untyped-def]
    df = parse(text.encode())
    assert len(df.stages) == 1
    return df.stages[0].instructions


# ------------------------------------------------------------------ moby's parser test data


def test_buildkit_test_data_is_complete() -> None:
    assert len(POSITIVE) == 33 and len(NEGATIVE) == 4


@pytest.mark.parametrize("name", POSITIVE)
def test_parse_matches_moby_dump(name: str) -> None:
    files = buildkit_files()
    ast = parse_ast(files[f"parser/testfiles/{name}/Dockerfile"])
    got = "".join(f"({dump(node)})\n" for node in ast.nodes)
    assert got == files[f"parser/testfiles/{name}/result"].decode("utf-8")


@pytest.mark.parametrize("name", NEGATIVE)
def test_moby_negative_cases_fail(name: str) -> None:
    with pytest.raises(DockerfileSyntaxError):
        parse_ast(buildkit_files()[f"parser/testfiles-negative/{name}/Dockerfile"])


def test_line_numbers_as_moby_counts_them() -> None:
    ast = parse_ast(buildkit_files()["parser/testfile-line/Dockerfile"])
    assert [(n.line, n.end_line) for n in ast.nodes] == [(5, 5), (11, 12), (17, 31)]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("foo", ["foo"]),
        ("foo bar", ["foo", "bar"]),
        ("foo\\ bar", ["foo\\ bar"]),
        ("foo=bar", ["foo=bar"]),
        ("foo bar 'abc xyz'", ["foo", "bar", "'abc xyz'"]),
        ('foo bar "abc xyz"', ["foo", "bar", '"abc xyz"']),
        ("àöû", ["àöû"]),
        ('föo bàr "âbc xÿz"', ["föo", "bàr", '"âbc xÿz"']),
    ],
)
def test_parse_words(text: str, words: list[str]) -> None:
    assert parse_words(text, "\\") == words


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[]", []),
        ('[""]', [""]),
        ('["a"]', ["a"]),
        ('["a","b"]', ["a", "b"]),
        ('[ "a", "b" ]', ["a", "b"]),
        ('[\t"a",\t"b"\t]', ["a", "b"]),
        ('\t[\t"a",\t"b"\t]\t', ["a", "b"]),
        (
            '["abc 123", "♥", "☃", "\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u0000"]',
            ["abc 123", "♥", "☃", '" \\ / \b \f \n \r \t \x00'],
        ),
    ],
)
def test_json_arrays_of_strings(text: str, words: list[str]) -> None:
    node = parse_line("CMD " + text, "\\")
    assert node.json and list(node.args) == words


@pytest.mark.parametrize(
    "text",
    [
        '["a",42,"b"]',
        '["a",123.456,"b"]',
        '["a",{},"b"]',
        '["a",{"c": "d"},"b"]',
        '["a",["c"],"b"]',
        '["a",true,"b"]',
        '["a",false,"b"]',
        '["a",null,"b"]',
    ],
)
def test_json_arrays_with_non_strings_are_errors(text: str) -> None:
    with pytest.raises(DockerfileSyntaxError, match="arrays must be comprised of strings only"):
        parse_line("CMD " + text, "\\", number=7)


# ---------------------------------------------------------------------------- the lexer


def test_directives_are_read_until_the_first_other_line() -> None:
    lexed = read_lines(b"# Syntax = docker/dockerfile:1\n#ESCAPE=`\nFROM a `\n  AS b\n# escape=\\\n")
    assert lexed.escape == "`"
    assert lexed.directives == {"syntax": "docker/dockerfile:1", "escape": "`"}
    assert [ll.text for ll in lexed.lines] == ["FROM a   AS b"]
    # a blank line or a comment ends them: the escape below is a comment
    assert read_lines(b"\n# escape=`\nFROM a `\n").escape == "\\"
    assert read_lines(b"# comment\n# escape=`\nFROM a\n").directives == {}
    assert read_lines(b"# unknown=x\n# escape=`\nFROM a\n").escape == "\\"


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        (b"# escape=x\nFROM a\n", "invalid escape token 'x' does not match ` or \\", 1),
        (b"# escape=`\n# ESCAPE=\\\nFROM a\n", "only one escape parser directive can be used", 2),
        (b"# syntax=a\n# syntax=b\nFROM a\n", "only one syntax parser directive can be used", 2),
    ],
)
def test_bad_directives(text: bytes, message: str, line: int) -> None:
    with pytest.raises(DockerfileSyntaxError) as info:
        parse(text, path="ctx/Dockerfile")
    assert info.value.reason == message and info.value.line == line
    assert str(info.value) == f"ctx/Dockerfile:{line}: {message}"


def test_continuations_comments_and_blank_lines() -> None:
    text = (
        b"\xef\xbb\xbfFROM a\r\nRUN one \\\n  # a comment in the middle\n\n   two \\  \n three\n"
        b"\\\n\\\nLABEL x=y\n"
    )
    lexed = read_lines(text)
    assert [(ll.text, ll.line, ll.end_line) for ll in lexed.lines] == [
        ("FROM a", 1, 1),
        ("RUN one    two  three", 2, 6),
        ("LABEL x=y", 7, 9),
    ]
    assert lexed.warnings == (
        "[WARNING]: Empty continuation line found in:\n    RUN one    two  three",
        "[WARNING]: Empty continuation lines will become errors in a future release.",
    )


def test_escaped_escape_does_not_continue_and_continuation_at_eof_ends() -> None:
    lexed = read_lines(b"FROM a\nLABEL x=a\\\\\nLABEL y=b \\")
    assert [ll.text for ll in lexed.lines] == ["FROM a", "LABEL x=a\\\\", "LABEL y=b "]


def test_heredocs_are_plain_words_in_the_classic_builder() -> None:
    (copy,) = _only("FROM scratch\nCOPY <<EOF /x\n")
    assert isinstance(copy, Copy) and copy.sources == ("<<EOF",) and copy.dest == "/x"
    with pytest.raises(DockerfileSyntaxError) as info:  # the heredoc's body is read as instructions
        parse(b"FROM scratch\nRUN <<EOF\necho hi\nEOF\n")
    assert info.value.reason == "unknown instruction: ECHO" and info.value.line == 3


def test_unknown_instructions_are_refused_by_line() -> None:
    with pytest.raises(DockerfileSyntaxError) as info:
        parse(b"FROM scratch\nLABEL a=b\nFOO bar\n", path="Dockerfile")
    assert info.value.reason == "unknown instruction: FOO" and info.value.line == 3


def test_line_length_limit_is_gos_scanner() -> None:
    ok = b"FROM a\nLABEL x=" + b"y" * (65535 - 8) + b"\n"
    assert parse(ok).stages[0].instructions[0].name == "label"
    too_long = b"FROM a\nLABEL x=" + b"y" * (65536 - 8) + b"\n"
    with pytest.raises(DockerfileSyntaxError) as info:
        parse(too_long)
    assert info.value.reason == "dockerfile line greater than max allowed size of 65535"
    assert info.value.line == 2
    with pytest.raises(DockerfileSyntaxError, match="file with no instructions"):
        parse(b"# only\n" + b"x" * 70000)


def test_empty_and_instructionless_files() -> None:
    with pytest.raises(DockerfileSyntaxError, match=r"the Dockerfile \(Dockerfile.dev\) cannot be empty"):
        parse(b"", path="sub/Dockerfile.dev")
    with pytest.raises(DockerfileSyntaxError, match="file with no instructions"):
        parse(b"# just a comment\n\n   \n")


# ------------------------------------------------------------------------ instructions


def test_instruction_before_from_and_meta_args() -> None:
    df = parse(b"ARG A=1 B\nARG C\nFROM scratch AS Build\nARG D\n")
    assert [a.args for a in df.meta_args] == [(ArgDef("A", "1"), ArgDef("B")), (ArgDef("C"),)]
    assert df.stages[0].name == "build" and isinstance(df.stages[0].instructions[0], Arg)
    with pytest.raises(DockerfileSyntaxError, match="no build stage in current context") as info:
        parse(b"ARG A\nLABEL a=b\nFROM scratch\n")
    assert info.value.line == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "FROM a AS 1x",
            'invalid name for build stage: "1x", name can\'t start with a number or contain symbols',
        ),
        ("FROM a b", "FROM requires either one or three arguments"),
        ("FROM --platform linux a", "FROM requires either one or three arguments"),
        ("FROM --platform a", "Missing a value on flag: platform"),
        ("FROM --plat=x a", "Unknown flag: plat"),
        (
            "FROM scratch\nCOPY a",
            "COPY requires at least two arguments, but only one was provided. "
            "Destination could not be determined",
        ),
        ("FROM scratch\nCOPY --from=a --from=b x y", "Duplicate flag specified: from"),
        ("FROM scratch\nADD --from=a x y", "Unknown flag: from"),
        ("FROM scratch\nENV", "ENV requires at least one argument"),
        ("FROM scratch\nENV A", "ENV must have two arguments"),
        ("FROM scratch\nENV A=1 B", 'Syntax error - can\'t find = in "B". Must be of the form: name=value'),
        ("FROM scratch\nLABEL =x", "LABEL names can not be blank"),
        ("FROM scratch\nARG =x", "ARG names can not be blank"),
        ("FROM scratch\nMAINTAINER", "MAINTAINER requires exactly one argument"),
        ("FROM scratch\nWORKDIR", "WORKDIR requires exactly one argument"),
        ("FROM scratch\nUSER", "USER requires exactly one argument"),
        ("FROM scratch\nSTOPSIGNAL", "STOPSIGNAL requires exactly one argument"),
        ("FROM scratch\nEXPOSE", "EXPOSE requires at least one argument"),
        ("FROM scratch\nVOLUME", "VOLUME requires at least one argument"),
        ('FROM scratch\nVOLUME [""]', "VOLUME specified can not be an empty string"),
        ("FROM scratch\nSHELL /bin/sh -c", "SHELL requires the arguments to be in JSON form"),
        ("FROM scratch\nSHELL []", "SHELL requires at least one argument"),
        ("FROM scratch\nONBUILD", "ONBUILD requires at least one argument"),
        ("FROM scratch\nONBUILD ONBUILD LABEL a=b", "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"),
        ("FROM scratch\nONBUILD from x", "FROM isn't allowed as an ONBUILD trigger"),
        ("FROM scratch\nONBUILD MAINTAINER x", "MAINTAINER isn't allowed as an ONBUILD trigger"),
        ("FROM scratch\nHEALTHCHECK", "HEALTHCHECK requires at least one argument"),
        ("FROM scratch\nHEALTHCHECK NONE x", "HEALTHCHECK NONE takes no arguments"),
        ("FROM scratch\nHEALTHCHECK CMD", "Missing command after HEALTHCHECK CMD"),
        ("FROM scratch\nHEALTHCHECK RUN x", 'Unknown type "RUN" in HEALTHCHECK (try CMD)'),
        ("FROM scratch\nHEALTHCHECK --interval=0s CMD x", 'Interval "interval" cannot be less than 1ms'),
        ("FROM scratch\nHEALTHCHECK --timeout=5 CMD x", 'time: missing unit in duration "5"'),
        ("FROM scratch\nHEALTHCHECK --retries=0 CMD x", "--retries must be at least 1 (not 0)"),
        ("FROM scratch\nHEALTHCHECK --retries=x CMD x", 'strconv.ParseInt: parsing "x": invalid syntax'),
        (
            "FROM scratch\nHEALTHCHECK --retries=9999999999 CMD x",
            'strconv.ParseInt: parsing "9999999999": value out of range',
        ),
        ("FROM scratch\nRUN --network=none true", "Unknown flag: network"),
        ("FROM scratch\nCMD --foo=bar x", "Unknown flag: foo"),
    ],
)
def test_parse_errors_have_mobys_messages_and_lines(text: str, message: str) -> None:
    with pytest.raises(DockerfileSyntaxError) as info:
        parse(text.encode(), path="Dockerfile")
    assert info.value.reason == message
    assert info.value.line == text.count("\n") + 1


def test_env_and_label_forms() -> None:
    env, old, label = _only(
        'FROM scratch\nENV A=1 B="two words" C=\nENV D  x  y \nLABEL "a b"=c\\ d e=\'f\'\n'
    )
    assert isinstance(env, Env) and env.pairs == (
        KeyValue("A", "1"),
        KeyValue("B", '"two words"'),
        KeyValue("C", ""),
    )
    assert isinstance(old, Env) and old.pairs == (KeyValue("D", "x  y"),)
    assert isinstance(label, Label) and label.pairs == (KeyValue('"a b"', "c\\ d"), KeyValue("e", "'f'"))
    assert str(env.pairs[1]) == 'B="two words"'


def test_copy_add_flags_and_json_form() -> None:
    copy, add, js = _only(
        "FROM scratch\nCOPY --from=build --chown=1:2 --chmod=644 a b /d/\n"
        'ADD --chown="u g" x.tar /\nCOPY ["a b", "/c d/"]\n'
    )
    assert isinstance(copy, Copy)
    assert (copy.sources, copy.dest, copy.from_, copy.chown, copy.chmod) == (
        ("a", "b"),
        "/d/",
        "build",
        "1:2",
        "644",
    )
    assert isinstance(add, Add) and add.chown == "u g" and add.sources == ("x.tar",)
    assert isinstance(js, Copy) and js.sources == ("a b",) and js.dest == "/c d/"


def test_flags_are_read_bytewise_as_go_does() -> None:
    (copy,) = _only("FROM scratch\nCOPY --chown=é a /b\n")
    assert isinstance(copy, Copy) and copy.chown == "Ã©"


def test_shell_and_exec_forms() -> None:
    cmd, ep, empty, bad_json, trailing, bare = _only(
        'FROM scratch\nCMD echo "hi"  there\nENTRYPOINT ["a", "b"]\nENTRYPOINT []\nCMD [1\nCMD ["a"] x\nCMD\n'
    )
    assert isinstance(cmd, Cmd) and cmd.cmd == ('echo "hi"  there',) and cmd.prepend_shell
    assert isinstance(ep, Entrypoint) and ep.cmd == ("a", "b") and not ep.prepend_shell
    assert isinstance(empty, Entrypoint) and empty.cmd is None
    assert isinstance(bad_json, Cmd) and bad_json.cmd == ("[1",) and bad_json.prepend_shell
    assert isinstance(trailing, Cmd) and trailing.cmd == ("a",) and not trailing.prepend_shell
    assert isinstance(bare, Cmd) and bare.cmd == () and bare.prepend_shell


def test_healthcheck_expose_volume_stopsignal_shell_onbuild_run() -> None:
    h, none, expose, vol, sig, sh, ob, run = _only(
        "FROM scratch\n"
        "HEALTHCHECK --interval=1m30s --timeout=500ms --start-period=2s --retries=3 CMD curl x\n"
        "HEALTHCHECK --interval=bogus NONE\n"
        "EXPOSE 80 443/udp 1000\n"
        'VOLUME ["/a", " /b "]\n'
        "STOPSIGNAL --ignored=flag SIGKILL\n"
        'SHELL ["/bin/bash", "-c"]\n'
        "  onbuild   COPY a /b\n"
        "RUN --mount=type=cache,target=/x make\n"
    )
    assert isinstance(h, Healthcheck)
    assert (h.test, h.interval, h.timeout, h.start_period, h.retries) == (
        ("CMD-SHELL", "curl x"),
        90_000_000_000,
        500_000_000,
        2_000_000_000,
        3,
    )
    assert isinstance(none, Healthcheck) and none.test == ("NONE",)
    assert isinstance(expose, Expose) and expose.ports == ("1000", "443/udp", "80")
    assert isinstance(vol, Volume) and vol.volumes == ("/a", "/b")
    assert isinstance(sig, StopSignal) and sig.signal == "SIGKILL"
    assert isinstance(sh, Shell) and sh.shell == ("/bin/bash", "-c")
    assert isinstance(ob, Onbuild) and ob.expression == "COPY a /b" and ob.trigger == "COPY"
    assert isinstance(run, Run) and run.flags_used == ("mount",) and run.mounts == ("type=cache,target=/x",)
    assert run.line == 9 and run.code == "RUN --mount=type=cache,target=/x make"


def test_expand_applies_only_where_moby_expands() -> None:
    env, copy, cmd = _only("FROM scratch\nENV $K=$V\nCOPY --from=$S --chown=$U $A /$D\nCMD $X\n")

    def word(w: str) -> str:
        return w.replace("$", "<") + ">"

    assert isinstance(env, Env) and env.expand(word).pairs == (KeyValue("<K>", "<V>"),)
    expanded = copy.expand(word)
    assert isinstance(expanded, Copy)
    assert (expanded.from_, expanded.chown, expanded.sources, expanded.dest) == (
        "$S",
        "<U>",
        ("<A>",),
        "/<D>",
    )
    assert cmd.expand(word) is cmd
    assert Label.from_option("k", "$v").expand(word).pairs == (KeyValue("k", "$v"),)


def test_triggers() -> None:
    trigger = parse_trigger("COPY a /b", path="Dockerfile", line=4)
    assert isinstance(trigger, Copy) and trigger.sources == ("a",)
    with pytest.raises(DockerfileSyntaxError) as info:
        parse_trigger("FROM x", path="Dockerfile", line=4)
    assert info.value.line == 4 and "not a command type" in info.value.reason
    with pytest.raises(DockerfileSyntaxError, match="unknown instruction: NOPE"):
        parse_trigger("NOPE x")


def test_errors_are_ocitool_errors() -> None:
    assert issubclass(DockerfileSyntaxError, DockerfileError)
    assert issubclass(DockerfileError, OcitoolError) and issubclass(DockerfileError, ValueError)
