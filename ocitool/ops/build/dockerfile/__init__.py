"""Dockerfile parsing as Docker 20.10's classic builder parses, split from evaluation.

Three steps, one module each (as moby's ``parser`` and ``instructions`` packages split them):

* :mod:`._lexer` -- bytes to logical lines: parser directives (``# escape=``, ``# syntax=``),
  comments, continuations with the escape token, line numbers;
* :mod:`._parser` -- a logical line to an untyped :class:`Node` (flags, argument words, JSON
  or shell form as moby decides);
* :mod:`.instructions` -- a node to a typed instruction, flags and argument counts checked.

:func:`parse` runs the three and groups the instructions into build stages, the ``ARG``\\ s
before the first ``FROM`` apart (``meta_args``). Nothing is substituted or evaluated here.
Every error is a :class:`~ocitool.errors.DockerfileSyntaxError` naming the file and line,
with moby's message; hostile input (megabyte lines, deep JSON) fails the same way, never with
a traceback.
"""

from __future__ import annotations

from ocitool._record import record, replace
from ocitool.errors import DockerfileSyntaxError
from ocitool.ops.build.dockerfile._lexer import read_lines
from ocitool.ops.build.dockerfile._parser import Node, dump, parse_line
from ocitool.ops.build.dockerfile.instructions import Arg, Instruction, Stage, instruction_from_node

__all__ = ["Ast", "Dockerfile", "Node", "dump", "parse", "parse_ast", "parse_trigger"]


@record(frozen=True, slots=True)
class Ast:
    """moby's ``parser.Result``: the untyped nodes, the escape token, the directives read
    (lower-cased name to value) and the warnings to print (empty continuation lines)."""

    path: str | None
    nodes: tuple[Node, ...]
    escape: str
    directives: dict[str, str]
    warnings: tuple[str, ...]


@record(frozen=True, slots=True)
class Dockerfile:
    """A parsed Dockerfile: ``meta_args`` (the ``ARG``\\ s before the first ``FROM``), the
    ``stages`` in order, and what :class:`Ast` also says."""

    path: str | None
    escape: str
    directives: dict[str, str]
    meta_args: tuple[Arg, ...]
    stages: tuple[Stage, ...]
    warnings: tuple[str, ...]


def parse_ast(data: bytes, *, path: str | None = None) -> Ast:
    """moby's ``parser.Parse``: the nodes of ``data``.

    Raises DockerfileSyntaxError (naming ``path`` and the line) for a bad directive, a line
    a line parser refuses, a file with no instructions, or a line of 65536 bytes or more
    (reported after the lines before it parsed, as Go's scanner reports it).
    """
    lexed = read_lines(data, path=path)
    nodes = tuple(
        parse_line(ll.text, lexed.escape, path=path, number=ll.line, end=ll.end_line) for ll in lexed.lines
    )
    if not nodes:
        raise DockerfileSyntaxError("file with no instructions", path=path, line=lexed.scan_error)
    if lexed.scan_error is not None:
        raise DockerfileSyntaxError(
            "dockerfile line greater than max allowed size of 65535", path=path, line=lexed.scan_error
        )
    return Ast(path, nodes, lexed.escape, lexed.directives, lexed.warnings)


def parse(data: bytes, *, path: str | None = None) -> Dockerfile:
    """Parse a Dockerfile's bytes as the classic builder reads it (``readAndParseDockerfile``
    then ``instructions.Parse``). ``path`` is only used in errors.

    Raises DockerfileSyntaxError naming ``path`` and the line: an empty file, a syntax error,
    an unknown instruction, a bad flag, an instruction before the first ``FROM``.
    """
    if not data:
        name = path.rsplit("/", 1)[-1] if path else "Dockerfile"
        raise DockerfileSyntaxError(f"the Dockerfile ({name}) cannot be empty", path=path)
    ast = parse_ast(data, path=path)
    meta: list[Arg] = []
    stages: list[Stage] = []
    current: list[Instruction] = []
    for node in ast.nodes:
        item = instruction_from_node(node, line=node.line, end_line=node.end_line, path=path)
        if isinstance(item, Stage):
            if stages:
                stages[-1] = replace(stages[-1], instructions=tuple(current))
            stages.append(item)
            current = []
        elif not stages and isinstance(item, Arg):
            meta.append(item)
        elif not stages:
            raise DockerfileSyntaxError(
                "no build stage in current context", path=path, line=node.line, end_line=node.end_line
            )
        else:
            current.append(item)
    if stages:
        stages[-1] = replace(stages[-1], instructions=tuple(current))
    return Dockerfile(path, ast.escape, ast.directives, tuple(meta), tuple(stages), ast.warnings)


def parse_trigger(expression: str, *, path: str | None = None, line: int | None = None) -> Instruction:
    """An ``ONBUILD`` trigger (``Onbuild.expression``, or an ``OnBuild`` entry of a base image's
    config) parsed as moby's ``dispatchTriggeredOnBuild`` parses it: one instruction, never
    ``FROM``. Errors are DockerfileSyntaxError placed at ``line`` (the ``FROM`` that runs the
    trigger)."""
    try:
        ast = parse_ast(expression.encode("utf-8", "surrogateescape"))
        if len(ast.nodes) != 1:
            raise DockerfileSyntaxError("onbuild trigger should be a single expression")
        node = ast.nodes[0]
        item = instruction_from_node(node, line=node.line, end_line=node.end_line)
        if isinstance(item, Stage):
            raise DockerfileSyntaxError("*instructions.Stage is not a command type")
    except DockerfileSyntaxError as e:
        e.path, e.line, e.end_line = path, line, line
        raise
    return item
