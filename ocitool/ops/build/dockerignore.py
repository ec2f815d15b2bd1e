"""``.dockerignore``: which files of a build context the docker CLI sends, and which the
daemon then deletes.

* :func:`read_all` -- moby's ``ReadAll`` (``patternmatcher/ignorefile``, identical in Docker
  20.10's daemon): a line starting with ``#`` is a comment (only at column 0: ``" #x"`` is a
  pattern), blanks are trimmed, ``!`` marks an exception, each pattern is ``filepath.Clean``\\ ed
  and loses one leading ``/``; a UTF-8 BOM is dropped; a line of 65536 bytes or more is an
  error (Go's scanner limit).
* :class:`PatternMatcher` -- moby's ``patternmatcher`` (v0.6.0, the CLI's) or, with
  ``legacy=True``, Docker 20.10's ``pkg/fileutils`` (the daemon's): ``*`` and ``?`` stop at
  ``/``, ``**`` crosses directories (``**/`` also matches nothing), ``[...]`` classes, ``\\``
  escapes; a pattern also matches everything under a directory it matches; the last matching
  pattern decides, so ``!`` exceptions re-include. Where the two differ: v0.6 compares
  literal patterns, ``x/**`` and ``**x`` patterns as strings (``**foo`` matches ``barfoo``),
  escapes ``+()|{}`` as literals; 20.10 turns every pattern into a regular expression and
  leaves ``+()|{}`` as regexp syntax.
* :func:`walk` -- the CLI's ``TarWithOptions`` walk: entries in ``filepath.WalkDir`` order, an
  excluded file skipped, an excluded directory skipped whole unless an exception pattern
  starts with it (then its entry is left out but its children are looked at).
* :func:`trim_build_files` -- the CLI keeps the Dockerfile and ``.dockerignore`` in the context
  even when ignored (``TrimBuildFilesFromExcludes``), and :func:`removed_by_daemon` says which
  of them Docker 20.10 deletes after receiving the context, when a ``.dockerignore`` exists.

Patterns become Go regular expressions, as moby builds them, run by :mod:`ocitool._go.regexp`
(RE2 semantics, linear time: a hostile ``*a*a*a*a*b`` cannot hang a walk). Errors are
:class:`~ocitool.errors.BuildContextError` (``reason="invalid-pattern"``), with moby's message.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from typing import Final

from ocitool._go import bufio as gobufio
from ocitool._go import path as gopath
from ocitool._go import regexp as goregexp
from ocitool._go import strings as gostrings
from ocitool._record import record
from ocitool.errors import BuildContextError

__all__ = [
    "PatternMatcher",
    "read_all",
    "removed_by_daemon",
    "trim_build_files",
    "walk",
]

_BOM: Final = b"\xef\xbb\xbf"
_V06_ESCAPE: Final = frozenset(".+()|{}$")
_LEGACY_ESCAPE: Final = frozenset(".$")


def _invalid(pattern: str, message: str, path: str | None = None) -> BuildContextError:
    return BuildContextError(pattern, "invalid-pattern", message, path=path)


def read_all(data: bytes, *, path: str | None = None) -> list[str]:
    """moby's ``ReadAll`` of a ``.dockerignore``'s bytes: the cleaned patterns, in order.
    BuildContextError (``path`` is the file) for a line too long for Go's scanner."""
    lines, too_long = gobufio.scan_lines(data)
    if too_long is not None:
        message = f"error reading .dockerignore: line {too_long + 1}: token too long"
        raise _invalid(".dockerignore", message, path)
    out: list[str] = []
    for i, raw in enumerate(lines):
        if i == 0 and raw.startswith(_BOM):
            raw = raw[len(_BOM) :]
        pattern = gostrings.from_bytes(raw)
        if pattern.startswith("#"):
            continue
        pattern = gostrings.trim_space(pattern)
        if pattern == "":
            continue
        invert = pattern[0] == "!"
        if invert:
            pattern = gostrings.trim_space(pattern[1:])
        if pattern:
            pattern = gopath.clean(pattern)
            if len(pattern) > 1 and pattern[0] == "/":
                pattern = pattern[1:]
        out.append("!" + pattern if invert else pattern)
    return out


# ----------------------------------------------------------------------- patterns


@record(slots=True)
class _Pattern:
    text: str  # cleaned, without the '!'
    exclusion: bool
    dirs: int
    kind: str = ""  # exact, prefix, suffix, regexp; "" until compiled
    regexp: goregexp.Regexp | None = None

    def compile(self, legacy: bool) -> None:
        escape = _LEGACY_ESCAPE if legacy else _V06_ESCAPE
        go: list[str] = ["^"]
        kind = "exact"
        chars = list(self.text)
        pos = 0
        index = 0  # Go's i: one per loop turn, so "**" and "\x" count once
        while pos < len(chars):
            ch = chars[pos]
            pos += 1
            if ch == "*":
                if pos < len(chars) and chars[pos] == "*":
                    pos += 1
                    if pos < len(chars) and chars[pos] == "/":
                        pos += 1
                    if pos >= len(chars):
                        if kind == "exact":
                            kind = "prefix"
                        else:
                            go.append(".*")
                            kind = "regexp"
                    else:
                        go.append("(.*/)?")
                        kind = "regexp"
                    if index == 0:
                        kind = "suffix"
                else:
                    go.append("[^/]*")
                    kind = "regexp"
            elif ch == "?":
                go.append("[^/]")
                kind = "regexp"
            elif ch in escape:
                go.append("\\" + ch)
            elif ch == "\\":
                if pos < len(chars):
                    go.append("\\" + chars[pos])
                    pos += 1
                    kind = "regexp"
                else:
                    go.append("\\")
            elif ch in "[]":
                go.append(ch)
                kind = "regexp"
            else:
                go.append(ch)
            index += 1
        if legacy:
            kind = "regexp"
        elif kind != "regexp":
            self.kind = kind
            return
        go.append("$")
        try:
            self.regexp = goregexp.compile("".join(go))
        except goregexp.RegexpSyntaxError:
            raise _invalid(self.text, "syntax error in pattern") from None
        self.kind = "regexp"

    def match(self, path: str, legacy: bool) -> bool:
        if not self.kind:
            self.compile(legacy)
        if self.kind == "exact":
            return path == self.text
        if self.kind == "prefix":
            return path.startswith(self.text[:-2])
        if self.kind == "suffix":
            suffix = self.text[2:]
            if path.endswith(suffix):
                return True
            return suffix[:1] == "/" and path == suffix[1:]
        assert self.regexp is not None
        return self.regexp.match_string(path)


class PatternMatcher:
    """moby's ``PatternMatcher`` over cleaned patterns (``!`` marks an exception).

    ``legacy=False`` is ``patternmatcher`` v0.6.0 (the docker CLI, which chooses what is sent);
    ``legacy=True`` is Docker 20.10's ``pkg/fileutils`` (the daemon, which deletes an ignored
    Dockerfile and ``.dockerignore``). BuildContextError for ``!`` alone or a malformed pattern
    (Go's ``filepath.Match`` syntax check).
    """

    def __init__(self, patterns: Sequence[str], *, legacy: bool = False) -> None:
        self.legacy = legacy
        self.patterns: list[_Pattern] = []
        self.exclusions = False
        for p in patterns:
            p = gostrings.trim_space(p)
            if p == "":
                continue
            p = gopath.clean(p)
            exclusion = p[0] == "!"
            if exclusion:
                if len(p) == 1:
                    raise _invalid(p, 'illegal exclusion pattern: "!"')
                p = p[1:]
                self.exclusions = True
            try:
                gopath.match_pattern(p, ".")
            except gopath.BadPatternError:
                raise _invalid(p, "syntax error in pattern") from None
            self.patterns.append(_Pattern(p, exclusion, len(p.split("/"))))

    def _scan(self, file: str, deep: bool) -> bool:
        matched = False
        parent = _dir(file)
        parent_dirs = parent.split("/")
        for p in self.patterns:
            if p.exclusion != matched:
                continue
            hit = p.match(file, self.legacy)
            if not hit and parent != ".":
                if deep:
                    depths: range = range(1, len(parent_dirs) + 1)
                else:
                    depths = range(p.dirs, p.dirs + 1) if p.dirs <= len(parent_dirs) else range(0)
                hit = any(p.match("/".join(parent_dirs[:n]), self.legacy) for n in depths)
            if hit:
                matched = not p.exclusion
        return matched

    def matches(self, file: str) -> bool:
        """``Matches`` (deprecated upstream, still what both sides use for the two build
        files): only the parent directory as deep as the pattern is checked."""
        return self._scan(file, False)

    def matches_or_parent_matches(self, file: str) -> bool:
        """``MatchesOrParentMatches``: the file, or any directory above it, matches."""
        return self._scan(file, True)

    def matches_using_parent_results(self, file: str, parent: Sequence[bool] = ()) -> tuple[bool, list[bool]]:
        """``MatchesUsingParentResults``: as :meth:`matches_or_parent_matches`, with the per
        pattern results of the parent directory (``()`` when unknown); returns the answer and
        this path's per-pattern results, for its children."""
        matched = False
        info = [False] * len(self.patterns)
        for i, p in enumerate(self.patterns):
            hit = bool(parent) and parent[i]
            if not hit:
                if p.exclusion != matched:
                    continue
                hit = p.match(file, self.legacy)
                if not hit and not parent:
                    up = _dir(file)
                    if up != ".":
                        dirs = up.split("/")
                        for j in range(len(dirs)):
                            if p.match("/".join(dirs[: j + 1]), self.legacy):
                                hit = True
                                break
            info[i] = hit
            if hit:
                matched = not p.exclusion
        return matched, info


def _dir(file: str) -> str:
    """``filepath.Dir`` of a slash path."""
    head = file.rsplit("/", 1)[0] if "/" in file else ""
    return gopath.clean(head) if head else ("/" if file.startswith("/") else ".")


def _matches(file: str, patterns: Sequence[str], legacy: bool) -> bool:
    # moby's package-level Matches: "." (the whole context) never matches.
    file = gopath.clean(file)
    if file == ".":
        return False
    return PatternMatcher(patterns, legacy=legacy).matches(file)


def trim_build_files(
    excludes: Sequence[str], dockerfile: str = "Dockerfile", *, from_stdin: bool = False
) -> list[str]:
    """The CLI's ``TrimBuildFilesFromExcludes``: exceptions appended so that an ignored
    ``.dockerignore`` and Dockerfile are sent all the same."""
    out = list(excludes)
    if _matches(".dockerignore", out, False):
        out.append("!.dockerignore")
    if _matches(dockerfile, out, False) and not from_stdin:
        out.append("!" + dockerfile)
    return out


def removed_by_daemon(excludes: Sequence[str], dockerfile: str = "Dockerfile") -> list[str]:
    """The build files Docker 20.10 deletes from a received context that has a
    ``.dockerignore`` (``excludes`` are its patterns): ``.dockerignore`` and the Dockerfile,
    each when the patterns match it (20.10's ``fileutils.Matches``)."""
    return [name for name in (".dockerignore", dockerfile) if _matches(name, excludes, True)]


@record(frozen=True, slots=True)
class WalkEntry:
    """A file the CLI sends: its slash path relative to the context, and its ``lstat``."""

    path: str
    stat: os.stat_result


def walk(root: str | os.PathLike[str], excludes: Sequence[str]) -> Iterator[WalkEntry]:
    """The entries ``TarWithOptions(root, ExcludePatterns=excludes)`` puts in the context tar,
    in its order (lexical per directory, parents first; symlinks not followed).

    BuildContextError (``reason="unreadable"``) for an entry that cannot be read, as the CLI's
    ``ValidateContextDirectory`` refuses it.
    """
    pm = PatternMatcher(excludes)
    base = os.fspath(root)
    stack: list[tuple[str, list[bool]]] = []  # (dir path, its per-pattern results)

    def visit(rel: str, full: str) -> Iterator[WalkEntry]:
        try:
            st = os.lstat(full)
        except OSError as e:
            raise BuildContextError(
                rel, "unreadable", f"can't stat '{full}': {e.strerror}", path=base
            ) from None
        while stack and not rel.startswith(stack[-1][0] + "/"):
            stack.pop()
        skip, info = pm.matches_using_parent_results(rel, stack[-1][1] if stack else ())
        is_dir = stat.S_ISDIR(st.st_mode)
        if is_dir:
            stack.append((rel, info))
        if skip:
            if not is_dir:
                return
            if not pm.exclusions:
                stack.pop()
                return
            prefix = rel + "/"
            if not any(p.exclusion and (p.text + "/").startswith(prefix) for p in pm.patterns):
                stack.pop()
                return
        else:
            if stat.S_ISREG(st.st_mode) and not os.access(full, os.R_OK):
                raise BuildContextError(rel, "unreadable", f"no permission to read from '{full}'", path=base)
            yield WalkEntry(rel, st)
        if is_dir:
            yield from children(rel, full)

    def children(rel: str, full: str) -> Iterator[WalkEntry]:
        try:
            names = sorted(os.listdir(os.fsencode(full)))
        except OSError as e:
            raise BuildContextError(
                rel, "unreadable", f"can't access '{full}': {e.strerror}", path=base
            ) from None
        for name in names:
            sub = os.fsdecode(name)
            yield from visit(sub if rel == "." else f"{rel}/{sub}", os.path.join(full, sub))

    yield from children(".", base)
