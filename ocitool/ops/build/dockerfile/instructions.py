"""Typed Dockerfile instructions: moby's ``instructions`` package (buildkit eeb7b65, as Docker
20.10's classic builder uses it), one frozen dataclass per instruction.

Every instruction carries its lower-cased ``name``, its ``code`` (the text after continuations
are joined, trimmed: what ``Step N/M : ...`` prints) and its 1-based ``line``/``end_line``.
Flags are checked as moby's ``BFlags`` checks them (``--name=value`` only, no repeats, each
instruction its own set: ``COPY --from --chown --chmod``, ``ADD --chown --chmod``,
``FROM --platform``, ``HEALTHCHECK --interval --timeout --start-period --retries``,
``RUN --mount``); checks run in moby's order, so the same Dockerfile fails with the same
message. ``STOPSIGNAL`` and ``HEALTHCHECK NONE`` ignore their flags, as moby does.

Variables are *not* substituted here: :meth:`Instruction.expand` applies a word expander to the
fields moby expands (its ``SupportsSingleWordExpansion`` commands: ``ENV`` keys and values,
``LABEL`` (not those from ``--label``), ``ADD``/``COPY`` sources, destination and
``--chown``, ``WORKDIR``, ``USER``, ``VOLUME``, ``STOPSIGNAL``, ``ARG`` names and defaults).
``EXPOSE`` splits words after substitution and ``FROM`` (with ``--platform``) expands against
the build args declared before it; the evaluator does those. ``CMD``, ``ENTRYPOINT``, ``RUN``,
``SHELL``, ``HEALTHCHECK``, ``ONBUILD``, ``MAINTAINER`` and ``COPY --from`` are never expanded.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final, Self

from ocitool._go import strconv as gostrconv
from ocitool._go import strings as gostrings
from ocitool._go import time as gotime
from ocitool._record import field, record, replace
from ocitool.errors import DockerfileSyntaxError
from ocitool.ops.build.dockerfile._parser import Node

__all__ = [
    "EXPANDED_INSTRUCTIONS",
    "MINIMUM_DURATION",
    "Add",
    "Arg",
    "ArgDef",
    "Cmd",
    "Copy",
    "Entrypoint",
    "Env",
    "Expose",
    "Healthcheck",
    "Instruction",
    "KeyValue",
    "Label",
    "Maintainer",
    "Onbuild",
    "Run",
    "Shell",
    "Stage",
    "StopSignal",
    "User",
    "Volume",
    "Workdir",
    "WordExpander",
    "instruction_from_node",
]

WordExpander = Callable[[str], str]
"""Substitutes variables in one word (``shell.Lex.ProcessWord`` bound to an environment)."""

EXPANDED_INSTRUCTIONS: Final = frozenset(
    {"add", "arg", "copy", "env", "expose", "from", "label", "stopsignal", "user", "volume", "workdir"}
)
"""Instructions whose words Docker 20.10's classic builder substitutes variables in."""

MINIMUM_DURATION: Final = gotime.MILLISECOND
"""``container.MinimumDuration``: the shortest healthcheck interval, timeout or start period."""


class _FlagError(Exception):
    pass


@record(frozen=True, slots=True)
class KeyValue:
    """A ``KEY=value`` pair of ``ENV`` or ``LABEL``; ``str()`` is ``KEY=value`` as moby writes it."""

    key: str
    value: str

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


@record(frozen=True, slots=True)
class ArgDef:
    """One ``ARG`` name with its default (``None`` when it has none)."""

    key: str
    value: str | None = None

    def __str__(self) -> str:
        return self.key if self.value is None else f"{self.key}={self.value}"


@record(frozen=True, slots=True)
class Instruction:
    """Fields every instruction has: ``name`` (lower case), ``code`` (the trimmed text),
    ``line``/``end_line`` (1-based; 0 for instructions made from build options)."""

    name: str
    code: str
    line: int
    end_line: int

    def expand(self, word: WordExpander) -> Self:
        """This instruction with variables substituted by ``word`` where moby substitutes
        them (itself for instructions that substitute none). ``word`` raises for a bad word."""
        return self

    def __str__(self) -> str:
        return self.code


def _expand_pairs(pairs: tuple[KeyValue, ...], word: WordExpander) -> tuple[KeyValue, ...]:
    return tuple(KeyValue(word(p.key), word(p.value)) for p in pairs)


@record(frozen=True, slots=True)
class Env(Instruction):
    """``ENV``: pairs in order (both ``ENV K V`` and ``ENV K=V ...``)."""

    pairs: tuple[KeyValue, ...] = ()

    def expand(self, word: WordExpander) -> Self:
        return replace(self, pairs=_expand_pairs(self.pairs, word))


@record(frozen=True, slots=True)
class Label(Instruction):
    """``LABEL``: pairs in order. ``expands`` is False for labels from build options."""

    pairs: tuple[KeyValue, ...] = ()
    expands: bool = True

    def expand(self, word: WordExpander) -> Self:
        return replace(self, pairs=_expand_pairs(self.pairs, word)) if self.expands else self

    @classmethod
    def from_option(cls, key: str, value: str) -> Label:
        """moby's ``NewLabelCommand(k, v, true)``: a ``--label`` build option, never expanded."""
        kv = KeyValue(key, value)
        return cls(name="label", code=f"LABEL {kv}", line=0, end_line=0, pairs=(kv,), expands=False)


@record(frozen=True, slots=True)
class Maintainer(Instruction):
    maintainer: str = ""


@record(frozen=True, slots=True)
class _SourcesAndDest(Instruction):
    """Sources and destination (moby's ``SourcesAndDest``) and the ``--chown``/``--chmod``
    flags of ``ADD`` and ``COPY``; ``chmod`` is refused by the classic builder at dispatch."""

    sources: tuple[str, ...] = ()
    dest: str = ""
    chown: str = ""
    chmod: str = ""

    def expand(self, word: WordExpander) -> Self:
        chown = word(self.chown)
        words = [word(w) for w in (*self.sources, self.dest)]
        return replace(self, chown=chown, sources=tuple(words[:-1]), dest=words[-1])


@record(frozen=True, slots=True)
class Add(_SourcesAndDest):
    """``ADD`` (local sources; URLs need the network)."""


@record(frozen=True, slots=True)
class Copy(_SourcesAndDest):
    """``COPY``; ``from_`` is ``--from`` (a stage name or index, or an image), never expanded."""

    from_: str = ""


@record(frozen=True, slots=True)
class Onbuild(Instruction):
    """``ONBUILD``: ``expression`` is the trigger as stored in the image (the original text
    without the ``ONBUILD`` word), ``trigger`` the trigger's command (upper case)."""

    expression: str = ""
    trigger: str = ""


@record(frozen=True, slots=True)
class Workdir(Instruction):
    path: str = ""

    def expand(self, word: WordExpander) -> Self:
        return replace(self, path=word(self.path))


@record(frozen=True, slots=True)
class _ShellDependent(Instruction):
    """``cmd`` the words (exec form) or the one shell-form string; ``prepend_shell`` whether
    the stage's shell goes in front (shell form)."""

    cmd: tuple[str, ...] | None = ()
    prepend_shell: bool = True


@record(frozen=True, slots=True)
class Run(_ShellDependent):
    """``RUN``: parsed so that a builder can refuse it by line; ``flags_used`` names the flags
    given (``mount``), ``mounts`` the raw ``--mount`` values (their CSV syntax is not checked:
    the classic builder refuses any flag of RUN)."""

    flags_used: tuple[str, ...] = ()
    mounts: tuple[str, ...] = ()


@record(frozen=True, slots=True)
class Cmd(_ShellDependent):
    pass


@record(frozen=True, slots=True)
class Entrypoint(_ShellDependent):
    """``ENTRYPOINT``; ``cmd`` is None for ``ENTRYPOINT []`` (moby's emptyAsNil)."""


@record(frozen=True, slots=True)
class Healthcheck(Instruction):
    """``HEALTHCHECK``: ``test`` is ``("NONE",)``, ``("CMD", ...)`` or ``("CMD-SHELL", cmd)``;
    durations in nanoseconds (0 = inherit the default), ``retries`` 0 = default."""

    test: tuple[str, ...] = ()
    interval: int = 0
    timeout: int = 0
    start_period: int = 0
    retries: int = 0


@record(frozen=True, slots=True)
class Expose(Instruction):
    """``EXPOSE``: ports as written, sorted by moby's parser (before substitution)."""

    ports: tuple[str, ...] = ()


@record(frozen=True, slots=True)
class User(Instruction):
    user: str = ""

    def expand(self, word: WordExpander) -> Self:
        return replace(self, user=word(self.user))


@record(frozen=True, slots=True)
class Volume(Instruction):
    volumes: tuple[str, ...] = ()

    def expand(self, word: WordExpander) -> Self:
        return replace(self, volumes=tuple(word(v) for v in self.volumes))


@record(frozen=True, slots=True)
class StopSignal(Instruction):
    signal: str = ""

    def expand(self, word: WordExpander) -> Self:
        return replace(self, signal=word(self.signal))


@record(frozen=True, slots=True)
class Arg(Instruction):
    args: tuple[ArgDef, ...] = ()

    def expand(self, word: WordExpander) -> Self:
        return replace(
            self,
            args=tuple(ArgDef(word(a.key), None if a.value is None else word(a.value)) for a in self.args),
        )


@record(frozen=True, slots=True)
class Shell(Instruction):
    shell: tuple[str, ...] = ()


@record(frozen=True, slots=True)
class Stage:
    """A ``FROM`` and the instructions up to the next: ``name`` is the lower-cased ``AS`` name
    (``""`` without one), ``base_name`` and ``platform`` as written (expanded when the stage
    starts), ``code`` the trimmed ``FROM`` line."""

    base_name: str
    name: str
    platform: str
    code: str
    line: int
    end_line: int
    instructions: tuple[Instruction, ...] = field(default=())


# ------------------------------------------------------------------------------- BFlags


class _Flags:
    """moby's ``BFlags``: declared flags, then :meth:`parse` of the ``--name=value`` words."""

    def __init__(self, args: tuple[str, ...]) -> None:
        self.args = args
        self.kinds: dict[str, str] = {}
        self.values: dict[str, str] = {}
        self.lists: dict[str, list[str]] = {}
        self.used: list[str] = []

    def add_string(self, name: str) -> None:
        self.kinds[name] = "string"
        self.values[name] = ""

    def add_strings(self, name: str) -> None:
        self.kinds[name] = "strings"
        self.lists[name] = []

    def parse(self) -> None:
        for arg in self.args:
            if not arg.startswith("--"):
                raise _FlagError(f"Arg should start with -- : {arg}")
            if arg == "--":
                return
            name, eq, value = arg[2:].partition("=")
            kind = self.kinds.get(name)
            if kind is None:
                raise _FlagError(f"Unknown flag: {name}")
            if name in self.used and kind != "strings":
                raise _FlagError(f"Duplicate flag specified: {name}")
            if name not in self.used:
                self.used.append(name)
            if not eq:
                raise _FlagError(f"Missing a value on flag: {name}")
            if kind == "string":
                self.values[name] = value
            else:
                self.lists[name].append(value)


# ------------------------------------------------------------------------- instructions


_Common = tuple[str, str, int, int]  # name, code, line, end_line
_STAGE_NAME: Final = re.compile(r"[a-z][a-z0-9-_\.]*\Z")
_ONBUILD_PREFIX: Final = re.compile(r"\A[\t\n\f\r ]*ONBUILD[\t\n\f\r ]*", re.IGNORECASE)


def _json_args(args: tuple[str, ...], is_json: bool) -> tuple[str, ...]:
    # moby's handleJSONArgs: exec form as is, shell form joined into one string.
    if not args:
        return ()
    return args if is_json else (" ".join(args),)


def _kvps(args: tuple[str, ...], name: str) -> tuple[KeyValue, ...]:
    if not args:
        raise _FlagError(f"{name} requires at least one argument")
    if len(args) % 2:
        raise _FlagError(f"Bad input to {name}, too many arguments")
    out = []
    for i in range(0, len(args), 2):
        if not args[i]:
            raise _FlagError(f"{name} names can not be blank")
        out.append(KeyValue(args[i], args[i + 1]))
    return tuple(out)


def _duration(flags: _Flags, name: str) -> int:
    text = flags.values[name]
    if text == "":
        return 0
    try:
        d = gotime.parse_duration(text)
    except gotime.InvalidDurationError as e:
        raise _FlagError(str(e)) from None
    if d < MINIMUM_DURATION:
        raise _FlagError(f"Interval {gostrconv.quote(name)} cannot be less than 1ms")
    return d


def _retries(text: str) -> int:
    if text == "":
        return 0
    value = gostrconv.parse_int(text, 10, 32)
    if value is None:
        body = text[1:] if text[:1] in "+-" else text
        why = "value out of range" if body.isascii() and body.isdigit() else "invalid syntax"
        raise _FlagError(f"strconv.ParseInt: parsing {gostrconv.quote(text)}: {why}")
    if value < 1:
        raise _FlagError(f"--retries must be at least 1 (not {value})")
    return value


def _healthcheck(common: _Common, node: Node, flags: _Flags) -> Healthcheck:
    args = node.args
    if not args:
        raise _FlagError("HEALTHCHECK requires at least one argument")
    typ = gostrings.to_upper(args[0])
    rest = args[1:]
    if typ == "NONE":
        if rest:
            raise _FlagError("HEALTHCHECK NONE takes no arguments")
        return Healthcheck(*common, test=("NONE",))
    for name in ("interval", "timeout", "start-period", "retries"):
        flags.add_string(name)
    flags.parse()
    if typ != "CMD":
        raise _FlagError(f"Unknown type {gostrconv.quote(typ)} in HEALTHCHECK (try CMD)")
    cmd = _json_args(rest, node.json)
    if not cmd:
        raise _FlagError("Missing command after HEALTHCHECK CMD")
    test = ("CMD", *cmd) if node.json else ("CMD-SHELL", *cmd)
    interval = _duration(flags, "interval")
    timeout = _duration(flags, "timeout")
    start_period = _duration(flags, "start-period")
    retries = _retries(flags.values["retries"])
    return Healthcheck(
        *common,
        test=test,
        interval=interval,
        timeout=timeout,
        start_period=start_period,
        retries=retries,
    )


def _stage(node: Node, line: int, end_line: int) -> Stage:
    args = node.args
    name = ""
    if len(args) == 3 and gostrings.to_lower(args[1]) == "as":
        name = gostrings.to_lower(args[2])
        if not _STAGE_NAME.match(name):
            raise _FlagError(
                f"invalid name for build stage: {gostrconv.quote(args[2])}, "
                "name can't start with a number or contain symbols"
            )
    elif len(args) != 1:
        raise _FlagError("FROM requires either one or three arguments")
    flags = _Flags(node.flags)
    flags.add_string("platform")
    flags.parse()
    return Stage(
        base_name=args[0],
        name=name,
        platform=flags.values["platform"],
        code=gostrings.trim_space(node.original),
        line=line,
        end_line=end_line,
    )


def _onbuild(common: _Common, node: Node, flags: _Flags) -> Onbuild:
    if not node.args:
        raise _FlagError("ONBUILD requires at least one argument")
    flags.parse()
    trigger = gostrings.to_upper(gostrings.trim_space(node.args[0]))
    if trigger == "ONBUILD":
        raise _FlagError("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
    if trigger in ("MAINTAINER", "FROM"):
        raise _FlagError(f"{trigger} isn't allowed as an ONBUILD trigger")
    expression = _ONBUILD_PREFIX.sub("", node.original, count=1)
    return Onbuild(*common, expression=expression, trigger=trigger)


def _one(args: tuple[str, ...], name: str) -> str:
    if len(args) != 1:
        raise _FlagError(f"{name} requires exactly one argument")
    return args[0]


def _build(node: Node, line: int, end_line: int) -> Instruction | Stage:
    cmd = node.command
    args = node.args
    flags = _Flags(node.flags)
    c: _Common = (cmd, gostrings.trim_space(node.original), line, end_line)
    if cmd == "env":
        flags.parse()
        return Env(*c, pairs=_kvps(args, "ENV"))
    if cmd == "maintainer":
        value = _one(args, "MAINTAINER")
        flags.parse()
        return Maintainer(*c, maintainer=value)
    if cmd == "label":
        flags.parse()
        return Label(*c, pairs=_kvps(args, "LABEL"))
    if cmd in ("add", "copy"):
        if len(args) < 2:
            raise _FlagError(
                f"{cmd.upper()} requires at least two arguments, but only one was provided. "
                "Destination could not be determined"
            )
        flags.add_string("chown")
        if cmd == "copy":
            flags.add_string("from")
        flags.add_string("chmod")
        flags.parse()
        fv = flags.values
        if cmd == "add":
            return Add(*c, sources=args[:-1], dest=args[-1], chown=fv["chown"], chmod=fv["chmod"])
        return Copy(
            *c,
            sources=args[:-1],
            dest=args[-1],
            from_=fv["from"],
            chown=fv["chown"],
            chmod=fv["chmod"],
        )
    if cmd == "from":
        return _stage(node, line, end_line)
    if cmd == "onbuild":
        return _onbuild(c, node, flags)
    if cmd == "workdir":
        path = _one(args, "WORKDIR")
        flags.parse()
        return Workdir(*c, path=path)
    if cmd == "run":
        flags.add_strings("mount")
        flags.parse()
        return Run(
            *c,
            cmd=_json_args(args, node.json),
            prepend_shell=not node.json,
            flags_used=tuple(flags.used),
            mounts=tuple(flags.lists["mount"]),
        )
    if cmd == "cmd":
        flags.parse()
        return Cmd(*c, cmd=_json_args(args, node.json), prepend_shell=not node.json)
    if cmd == "healthcheck":
        return _healthcheck(c, node, flags)
    if cmd == "entrypoint":
        flags.parse()
        words = _json_args(args, node.json)
        return Entrypoint(*c, cmd=words or None, prepend_shell=not node.json)
    if cmd == "expose":
        if not args:
            raise _FlagError("EXPOSE requires at least one argument")
        flags.parse()
        return Expose(*c, ports=tuple(sorted(args, key=gostrings.to_bytes)))
    if cmd == "user":
        value = _one(args, "USER")
        flags.parse()
        return User(*c, user=value)
    if cmd == "volume":
        if not args:
            raise _FlagError("VOLUME requires at least one argument")
        flags.parse()
        volumes = []
        for v in args:
            v = gostrings.trim_space(v)
            if v == "":
                raise _FlagError("VOLUME specified can not be an empty string")
            volumes.append(v)
        return Volume(*c, volumes=tuple(volumes))
    if cmd == "stopsignal":
        return StopSignal(*c, signal=_one(args, "STOPSIGNAL"))
    if cmd == "arg":
        if not args:
            raise _FlagError("ARG requires at least one argument")
        defs = []
        for a in args:
            key, eq, value = a.partition("=")
            if eq and not key:
                raise _FlagError("ARG names can not be blank")
            defs.append(ArgDef(key, value if eq else None))
        return Arg(*c, args=tuple(defs))
    if cmd == "shell":
        flags.parse()
        shell = _json_args(args, node.json)
        if not shell:
            raise _FlagError("SHELL requires at least one argument")
        if not node.json:
            raise _FlagError("SHELL requires the arguments to be in JSON form")
        return Shell(*c, shell=shell)
    raise _FlagError(f"unknown instruction: {gostrings.to_upper(cmd)}")


def instruction_from_node(
    node: Node, *, line: int, end_line: int, path: str | None = None
) -> Instruction | Stage:
    """moby's ``ParseInstruction``: a :class:`Stage` for ``FROM`` (without instructions), else
    the typed instruction. DockerfileSyntaxError names ``path`` and ``line``."""
    try:
        return _build(node, line, end_line)
    except _FlagError as e:
        raise DockerfileSyntaxError(str(e), path=path, line=line, end_line=end_line) from None
