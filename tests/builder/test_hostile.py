"""Hostile Dockerfiles, words, .dockerignore patterns and contexts: every failure is a typed
error naming the file and line, in bounded time; nothing recurses without limit or backtracks
exponentially."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ocitool.errors import BuildContextError, DockerfileError, DockerfileSyntaxError
from ocitool.ops.build.contexthash import BuildContext, ContextEntry, TarHeader, file_sum
from ocitool.ops.build.dockerfile import parse
from ocitool.ops.build.dockerignore import PatternMatcher, read_all, walk
from ocitool.ops.build.evaluate import evaluate
from ocitool.ops.build.shell import Lex
from tests.builder._contexts import make_context


class _Clock:
    """Fails a block that takes longer than ``limit`` seconds: generous bounds (the machine may
    be busy) that an exponential or unbounded blow-up still overruns by orders of magnitude."""

    def __init__(self, limit: float) -> None:
        self.limit = limit

    def __enter__(self) -> None:
        self.start = time.monotonic()

    def __exit__(self, *exc: object) -> None:
        elapsed = time.monotonic() - self.start
        assert elapsed < self.limit, f"took {elapsed:.1f}s"


def test_megabyte_line_fails_fast_with_its_line() -> None:
    with _Clock(20), pytest.raises(DockerfileSyntaxError) as info:
        parse(b"FROM scratch\n# c\nLABEL x=" + b"y" * 10_000_000 + b"\nLABEL z=1\n", path="big/Dockerfile")
    assert info.value.line == 3 and str(info.value).startswith("big/Dockerfile:3: dockerfile line greater")


def test_blank_runs_in_a_directive_are_linear() -> None:
    with _Clock(20), pytest.raises(DockerfileSyntaxError, match="invalid escape token"):
        parse(b"# escape=a" + b" \t" * 30000 + b"b\nFROM scratch\n")


@pytest.mark.parametrize(
    ("line", "prepend_shell"),
    [
        (b"[" * 60000, True),  # unterminated and too deep: shell form
        (b"[" * 5000 + b"]" * 5000, None),  # valid, deep: an array holding an array is refused
        (b'["' + b"\\" * 50000 + b'"]', False),  # 25000 escaped backslashes
    ],
)
def test_deep_json(line: bytes, prepend_shell: bool | None) -> None:
    data = b"FROM scratch\nCMD " + line + b"\n"
    with _Clock(20):
        if prepend_shell is None:
            with pytest.raises(DockerfileSyntaxError, match="comprised of strings only") as info:
                parse(data)
            assert info.value.line == 2
        else:
            (cmd,) = parse(data).stages[0].instructions
            assert cmd.prepend_shell is prepend_shell  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ('FROM scratch\nLABEL ok=1\nENV A="never closed\n', 3, "matching double-quote"),
        ("FROM scratch\nENV A='never closed\n", 2, "matching single-quote"),
        ("FROM scratch\nUSER ${A:-${B\n", 2, "missing '}'"),
        ("FROM scratch\nWORKDIR " + "${A:-" * 3000 + "x" + "}" * 3000 + "\n", 2, "nested more than 100 deep"),
        ("FROM scratch\nLABEL a=b \\", None, None),  # a continuation at end of file just ends
        ("# escape=ab\nFROM scratch\n", 1, "invalid escape token 'ab' does not match ` or \\"),
        ("\ufeff# escape=`\nFROM scratch\nLABEL a=b `", None, None),
    ],
)
def test_unterminated_and_nested_words(text: str, line: int | None, reason: str | None) -> None:
    with _Clock(20):
        if reason is None:
            evaluate(parse(text.encode(), path="Dockerfile"))
            return
        with pytest.raises(DockerfileError) as info:
            evaluate(parse(text.encode(), path="Dockerfile"))
    assert reason in info.value.reason and info.value.line == line and info.value.path == "Dockerfile"


def test_many_instructions_stay_polynomial() -> None:
    data = b"FROM scratch\n" + b"".join(b"LABEL k%d=v \\\n  other=x\n" % i for i in range(300))
    with _Clock(50):
        ev = evaluate(parse(data))
    assert len(ev.image.history) == 300


_TOKENS = st.sampled_from(
    [
        "FROM", "scratch", "AS", "ARG", "ENV", "LABEL", "COPY", "ADD", "CMD", "ENTRYPOINT", "RUN",
        "WORKDIR", "USER", "EXPOSE", "VOLUME", "STOPSIGNAL", "HEALTHCHECK", "SHELL", "ONBUILD",
        "MAINTAINER", "NONE", "--from=a", "--chown=1", "--interval=1s", "--retries=2", "--", "=",
        "a=b", "$A", "${A:-x}", "${A", "${", "}", '"', "'", "\\", "`", "[", "]", '["a"]', "[1]",
        " ", "  ", "\t", "\n", "\\\n", "#", "# escape=`\n", "80/tcp", "1-2", "*", "?", "../x",
        "\x00", "\xff", "é", "\u2028",
    ]
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_TOKENS, max_size=40))
def test_token_soup_fails_only_with_typed_errors(tokens: list[str]) -> None:
    data = "".join(tokens).encode("utf-8", "surrogatepass")
    try:
        df = parse(data, path="Dockerfile")
        evaluate(df, build_args={"A": "1"})
    except (DockerfileError, BuildContextError):
        pass


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_fail_only_with_typed_errors(data: bytes) -> None:
    with contextlib.suppress(DockerfileError, BuildContextError):
        evaluate(parse(data))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60), st.sampled_from(["\\", "`"]))
def test_any_word_substitutes_or_fails_typed(word: str, escape: str) -> None:
    try:
        Lex(escape).process_words(word, {"A": "a b", "B": ""})
    except DockerfileSyntaxError as e:
        assert e.line is None


@pytest.mark.parametrize(
    "pattern",
    [
        "*a*a*a*a*a*a*a*a*a*a*a*a*b",
        "**/a/**/a/**/a/**/a/**/a/**/b",
        "(a|aa)(a|aa)(a|aa)(a|aa)*b",
        "[a-z]*[a-z]*[a-z]*[a-z]*!",
    ],
)
def test_ignore_patterns_cannot_backtrack(pattern: str) -> None:
    names = ["a" * 4000, "a/" * 300 + "c", "x" * 4000]
    with _Clock(20):
        for legacy in (False, True):
            pm = PatternMatcher([pattern], legacy=legacy)
            for name in names:
                pm.matches(name)
                pm.matches_or_parent_matches(name)


def test_hostile_ignore_files(tmp_path: Path) -> None:
    with _Clock(20):
        patterns = read_all(b"\n".join(b"p%d/*" % i for i in range(5000)) + b"\n!p1/keep\n")
        assert len(patterns) == 5001
    make_context(tmp_path, [("p1/keep", "file", b"k"), ("p1/drop", "file", b"d"), ("q", "file", b"q")])
    with _Clock(25):
        assert [e.path for e in walk(tmp_path, patterns)] == ["p1", "p1/keep", "q"]
    for bad in (b"[\n", b"!\n", b"a\\\n"):
        with pytest.raises(BuildContextError) as info:
            walk(tmp_path, read_all(bad)).__next__()
        assert info.value.reason == "invalid-pattern"


def _link(name: str, target: str) -> ContextEntry:
    header = TarHeader(name=name, mode=0o777, typeflag="2", linkname=target)
    return ContextEntry(header, file_sum(header))


def test_link_chains_and_deep_paths_stop_where_moby_stops() -> None:
    chain = [_link(f"l{i}", f"l{i + 1}") for i in range(300)]
    file_header = TarHeader(name="l300", mode=0o644)
    ctx = BuildContext([*chain, ContextEntry(file_header, file_sum(file_header))])
    assert ctx.hash("l100") == ctx.hash("l300")  # under 255 steps
    with pytest.raises(BuildContextError) as info:
        ctx.hash("l0")
    assert info.value.reason == "too-many-links"
    deep = "/".join(["d"] * 300)
    header = TarHeader(name=deep + "/f", mode=0o644)
    ctx = BuildContext([ContextEntry(header, file_sum(header))])
    with pytest.raises(BuildContextError) as info:  # moby counts path components too
        ctx.copy_hash([deep + "/f"])
    assert info.value.reason == "too-many-links"
    with _Clock(25):
        ctx.copy_hash(["d"])  # the walk skips what does not resolve
