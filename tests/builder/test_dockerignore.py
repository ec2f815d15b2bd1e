""".dockerignore: moby's ReadAll, patternmatcher v0.6 (the CLI) and Docker 20.10's fileutils
(the daemon), the CLI's context walk. End to end against Docker in test_oracle.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ocitool.errors import BuildContextError
from ocitool.ops.build.dockerignore import PatternMatcher, read_all, removed_by_daemon, trim_build_files, walk


def test_read_all_cleans_lines_as_moby() -> None:
    data = (
        b"\xef\xbb\xbf# comment\r\n"
        b"  # not a comment  \n"
        b"\n"
        b"   \n"
        b"/abs/path/\n"
        b"a/./b/../c\n"
        b"! !keep/\n"
        b"!  /x\n"
        b"//\n"
        b"\tdir/**\t\n"
    )
    assert read_all(data) == ["# not a comment", "abs/path", "a/c", "!!keep", "!x", "/", "dir/**"]
    with pytest.raises(BuildContextError) as info:
        read_all(b"ok\n" + b"x" * 65536 + b"\n", path="ctx/.dockerignore")
    assert info.value.reason == "invalid-pattern" and info.value.path == "ctx/.dockerignore"


# patternmatcher's one-pattern cases (TestMatch), with the answer for both dialects
ONE_PATTERN = [
    ("**", "file", True),
    ("**", "file/", True),
    ("**/", "file", True),
    ("**", "dir/file", True),
    ("**/", "dir/file/", True),
    ("**/**", "dir/file", True),
    ("dir/**", "dir/file", True),
    ("dir/**", "dir/dir2/file/", True),
    ("**/dir", "dir", True),
    ("**/dir2/*", "dir/dir2/file", True),
    ("**/dir2/**", "dir/dir2/dir3/file", True),
    ("**file", "file", True),
    ("**file", "dir/file", True),
    ("**/file", "dir/dir/file", True),
    ("**/file*", "dir/dir/file.txt", True),
    ("**/file*.txt*", "dir/dir/file.txt", True),
    ("**/**/*.txt", "dir/dir/file.txt", True),
    ("**/**/*.txt2", "dir/dir/file.txt", False),
    ("**/*.txt", "file.txt", True),
    ("**/**/*.txt", "file.txt", True),
    ("a**/*.txt", "a/file.txt", True),
    ("a**/*.txt", "a/dir/dir/file.txt", True),
    ("a/*.txt", "a/dir/file.txt", False),
    ("a/*.txt", "a/file.txt", True),
    ("a/*.txt**", "a/file.txt", True),
    ("a[b-d]e", "ae", False),
    ("a[b-d]e", "ace", True),
    ("a[^b-d]e", "aze", True),
    (".*", ".foo", True),
    (".*", "foo", False),
    ("abc.def", "abcdef", False),
    ("abc.def", "abc.def", True),
    ("abc?def", "abcZdef", True),
    ("abc?def", "abcdef", False),
    ("a\\\\", "a\\", True),
    ("**/foo/bar", "foo/bar", True),
    ("**/foo/bar", "dir/dir2/foo/bar", True),
    ("abc/**", "abc", False),
    ("abc/**", "abc/def/ghi", True),
    ("**/.foo", ".foo", True),
    ("**/.foo", "bar.foo", False),
    ("a(b)c/def", "a(b)c/def", True),
    ("a.|)$(}+{bc", "a.|)$(}+{bc", True),
    ("dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", True),
    ("[[:digit:]]x", "7x", True),
    ("\\d", "5", True),
]


@pytest.mark.parametrize(("pattern", "path", "expected"), ONE_PATTERN)
def test_one_pattern(pattern: str, path: str, expected: bool) -> None:
    (p,) = PatternMatcher([pattern]).patterns
    assert p.match(path, False) is expected


@pytest.mark.parametrize(
    ("pattern", "path", "cli", "daemon"),
    [
        ("**foo", "barfoo", True, False),  # v0.6 compares "**x" as a suffix; 20.10 as a regexp
        ("a+b", "aab", False, True),  # 20.10 leaves + ( ) | { } to the regexp
        ("a+b", "a+b", True, False),
        ("x{2}", "xx", False, True),
        ("(a|b)", "b", False, True),
    ],
)
def test_cli_and_daemon_dialects_differ(pattern: str, path: str, cli: bool, daemon: bool) -> None:
    assert PatternMatcher([pattern]).matches(path) is cli
    assert PatternMatcher([pattern], legacy=True).matches(path) is daemon


def test_exclusions_and_parent_directories() -> None:
    pm = PatternMatcher(["*.log", "!keep.log", "build", "docs/*/tmp"])
    assert pm.matches("a.log") and not pm.matches("keep.log")
    assert pm.matches("build/x/y") and pm.matches("build")
    assert pm.matches("docs/en/tmp/file") and not pm.matches("docs/tmp/file")
    assert pm.exclusions
    # Matches checks only the parent as deep as the pattern; MatchesOrParentMatches any parent
    deep = PatternMatcher(["a/b"])
    assert deep.matches("a/b/c/d") and deep.matches_or_parent_matches("a/b/c/d")
    single = PatternMatcher(["b"])
    assert not single.matches("a/b/c") and not single.matches_or_parent_matches("a/b/c")
    star = PatternMatcher(["*/b"])
    assert star.matches("a/b/c/d") and star.matches_or_parent_matches("a/b/c/d")


def test_matches_using_parent_results_is_the_walks_incremental_form() -> None:
    pm = PatternMatcher(["dir", "!dir/keep*"])
    skip, info = pm.matches_using_parent_results("dir")
    assert skip and info == [True, False]
    assert pm.matches_using_parent_results("dir/other", info)[0]
    assert not pm.matches_using_parent_results("dir/keep.txt", info)[0]


@pytest.mark.parametrize(
    ("patterns", "message"),
    [
        (["!"], 'illegal exclusion pattern: "!"'),
        (["a["], "syntax error in pattern"),
        (["[]a]"], "syntax error in pattern"),
        (["x\\"], "syntax error in pattern"),
    ],
)
def test_invalid_patterns(patterns: list[str], message: str) -> None:
    with pytest.raises(BuildContextError) as info:
        PatternMatcher(patterns)
    assert info.value.reason == "invalid-pattern" and str(info.value) == message


def test_build_files_are_sent_but_deleted_by_the_daemon() -> None:
    excludes = ["*", "!src"]
    assert trim_build_files(excludes) == ["*", "!src", "!.dockerignore", "!Dockerfile"]
    assert trim_build_files(excludes, "sub/Dockerfile.dev") == [
        "*",
        "!src",
        "!.dockerignore",
        "!sub/Dockerfile.dev",
    ]
    assert trim_build_files(["src"]) == ["src"]
    assert removed_by_daemon(excludes) == [".dockerignore", "Dockerfile"]
    assert removed_by_daemon([".dockerignore"]) == [".dockerignore"]
    assert removed_by_daemon(["*", "!Dockerfile"]) == [".dockerignore"]
    assert removed_by_daemon([]) == []


def _tree(root: Path, names: list[str]) -> None:
    for name in names:
        p = root / name
        if name.endswith("/"):
            p.mkdir(parents=True, exist_ok=True)
        else:
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(name)


def test_walk_sends_what_the_cli_sends(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        [
            "Dockerfile",
            "a.log",
            "keep.log",
            "src/main.c",
            "src/gen/x.o",
            "dir/keep",
            "dir/other",
            "dir/sub/keep",
            "Z/",
        ],
    )
    os.symlink("src", tmp_path / "link")
    excludes = ["*.log", "!keep.log", "**/*.o", "dir", "!dir/keep", "!dir/sub"]
    sent = [e.path for e in walk(tmp_path, excludes)]
    assert sent == [
        "Dockerfile",
        "Z",
        "dir/keep",  # "dir" itself left out, its exceptions looked at
        "dir/sub",
        "dir/sub/keep",
        "keep.log",
        "link",
        "src",
        "src/gen",
        "src/main.c",
    ]
    assert [e.path for e in walk(tmp_path, ["dir", "src", "*"])] == []
