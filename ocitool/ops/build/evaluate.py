"""A Dockerfile's instructions evaluated as Docker 20.10's classic builder dispatches them, minus
the file system: the config each step leaves, the ``container_config`` it commits with, and the
history ``created_by`` text (``/bin/sh -c #(nop)  ENV a=b``).

What it reproduces (moby 20.10 ``builder/dockerfile``: ``builder.go``, ``evaluator.go``,
``dispatchers.go``, ``internals.go``, ``buildargs.go``):

* meta ``ARG``\\ s, each stage's ``FROM`` (name and ``--platform`` substituted from the meta
  args only; ``scratch``, an earlier stage by name, or a base image the caller supplies), the
  default ``PATH`` added at each stage, the base's ``ONBUILD`` triggers run at ``FROM``;
* per instruction, the words substituted from the config's ``Env`` plus the declared build args
  that ``Env`` does not set (:mod:`.shell`, :mod:`.buildargs`), then moby's dispatcher: the
  config change and the commit comment. ``created_by`` is the stage's shell (``SHELL``, else
  ``/bin/sh -c``) followed by ``#(nop) `` and the comment -- as two words (hence two spaces)
  except for ``COPY``, ``ADD`` and ``WORKDIR``, whose ``#(nop) <comment>`` is one word;
* the comments: ``ENV k=v ...``, ``LABEL k=v ...``, ``ARG k[=v] ...``, ``MAINTAINER x``,
  ``ONBUILD <text>``, ``USER u``, ``STOPSIGNAL s``, ``WORKDIR <dir>``, ``EXPOSE p ...``,
  ``VOLUME [a b]``, ``SHELL [a b]`` (Go's ``%v``), ``CMD ["a" "b"]`` and ``ENTRYPOINT [...]``
  (Go's ``%q``), ``HEALTHCHECK &{["CMD-SHELL" "x"] "5s" "0s" "0s" '\\x03'}`` (``%q`` of the
  struct: durations as strings, retries as a rune) and ``COPY --chown=u:gfile:<hash> in
  <dest> `` (sic: no space after the chown, one at the end), the hash from
  :mod:`.contexthash`;
* errors where moby errs, each a :class:`~ocitool.errors.DockerfileError` naming the line:
  ``RUN`` (nothing can run it here), ``--chmod`` (needs BuildKit), an invalid stop signal, an
  exposed port ``nat.ParsePortSpec`` refuses, a reused stage name, several ``COPY`` sources to a
  destination without a trailing ``/``, a ``COPY`` source missing from the context.

Each step's ``container_config`` is the config the daemon merged into the step's container
(moby's ``daemon.merge`` with the parent image's config: an empty ``Labels`` becomes ``{}``, a
nil ``Entrypoint`` the parent's), and the zero fields of a new healthcheck are filled from the
parent's, as the builder's state shares that struct with the container's config.

Not known without a file system: whether ``WORKDIR`` made a layer (it does when the directory
is new), and the image IDs (``config.Image``). ``COPY --from`` needs the stage's files: pass
``from_source`` (a :class:`~ocitool.ops.build.contexthash.StageSource` over them).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, Protocol

from ocitool._go import path as gopath
from ocitool._go import strconv as gostrconv
from ocitool._go import strings as gostrings
from ocitool._go import time as gotime
from ocitool._record import field, record, replace
from ocitool.errors import BuildContextError, DockerfileError, InvalidPlatformError
from ocitool.model.config import ContainerConfig
from ocitool.model.platform import Platform
from ocitool.ops.build.buildargs import BuildArgs
from ocitool.ops.build.contexthash import hash_strings
from ocitool.ops.build.dockerfile import Dockerfile, parse_trigger
from ocitool.ops.build.dockerfile.instructions import (
    Add,
    Arg,
    Cmd,
    Copy,
    Entrypoint,
    Env,
    Expose,
    Healthcheck,
    Instruction,
    Label,
    Maintainer,
    Onbuild,
    Run,
    Shell,
    Stage,
    StopSignal,
    User,
    Volume,
    Workdir,
)
from ocitool.ops.build.shell import Lex

__all__ = [
    "DEFAULT_PATH",
    "DEFAULT_SHELL",
    "BaseImage",
    "Commit",
    "EvaluationObserver",
    "Evaluation",
    "HistoryEntry",
    "SourceHasher",
    "StageResult",
    "Step",
    "created_by",
    "evaluate",
    "exposed_ports",
    "parse_signal",
]

DEFAULT_SHELL: Final = ("/bin/sh", "-c")
DEFAULT_PATH: Final = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_BUILDKIT: Final = (
    "requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to learn how to build images "
    "with BuildKit enabled"
)
_SIGNALS: Final = frozenset(
    [
        *("ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "IOT", "KILL"),
        *("PIPE", "POLL", "PROF", "PWR", "QUIT", "SEGV", "STKFLT", "STOP", "SYS", "TERM", "TRAP", "TSTP"),
        *("TTIN", "TTOU", "URG", "USR1", "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ", "RTMIN", "RTMAX"),
    ]
    + [f"RTMIN+{i}" for i in range(1, 16)]
    + [f"RTMAX-{i}" for i in range(1, 15)]
)


class SourceHasher(Protocol):
    """What ``COPY``/``ADD`` hash their sources with: a
    :class:`~ocitool.ops.build.contexthash.BuildContext`, or a stage's file system."""

    def source_hashes(self, source: str) -> list[str]: ...


@record(frozen=True, slots=True)
class HistoryEntry:
    """One history entry: ``empty_layer`` is None where only the file system can tell
    (``WORKDIR`` makes a layer when its directory is new)."""

    created_by: str
    author: str = ""
    empty_layer: bool | None = True


@record(frozen=True, slots=True)
class BaseImage:
    """A ``FROM`` image the caller supplies: its config (None: none at all), history, OS."""

    config: ContainerConfig | None
    history: tuple[HistoryEntry, ...] = ()
    os: str = "linux"


@record(frozen=True, slots=True)
class Commit:
    """What one dispatched instruction commits: the ``container_config`` (the config with the
    ``#(nop)`` command the cache compares), the image config after it, and its history entry."""

    instruction: Instruction
    container_config: ContainerConfig
    config: ContainerConfig
    history: HistoryEntry


@record(frozen=True, slots=True)
class Step:
    """``Step N/M : text``: a meta ``ARG``, a ``FROM`` (whose ``commits`` are its base's
    ``ONBUILD`` triggers) or an instruction (one commit)."""

    number: int
    total: int
    text: str
    line: int
    commits: tuple[Commit, ...] = ()
    kind: str = "instruction"  # "meta" (an ARG before the first FROM), "from" or "instruction"
    from_stage: int | None = None  # a FROM naming an earlier stage: that stage's index

    def __str__(self) -> str:
        return f"Step {self.number}/{self.total} : {self.text}"


@record(frozen=True, slots=True)
class StageResult:
    """A finished stage: its name (``""`` without ``AS``), the expanded ``FROM`` name, the final
    config, the whole history (the base's first) and the OS."""

    name: str
    base: str
    config: ContainerConfig
    history: tuple[HistoryEntry, ...]
    os: str = "linux"


@record(frozen=True, slots=True)
class Evaluation:
    """All steps in order, each stage's result (the last is the image), and the warnings the
    builder prints (empty continuation lines, unused build args)."""

    steps: tuple[Step, ...]
    stages: tuple[StageResult, ...]
    warnings: tuple[str, ...] = ()

    @property
    def image(self) -> StageResult:
        return self.stages[-1]


class EvaluationObserver(Protocol):
    """Follows an evaluation as it goes, so that a builder can run each step before the next
    is evaluated (``COPY --from`` needs the files of the stages before it): ``starting`` is
    called before a step is evaluated (an error may follow), ``evaluated`` with the step,
    ``stage_done`` with each finished stage's index and result."""

    def starting(self, number: int, total: int, text: str) -> None: ...

    def evaluated(self, step: Step) -> None: ...

    def stage_done(self, index: int, result: StageResult) -> None: ...


def created_by(shell: Sequence[str], comment: str, *, single_word: bool = False) -> str:
    """The ``created_by`` of a committed ``#(nop)`` step: ``strings.Join(Cmd, " ")`` where
    ``Cmd`` is the shell, then ``#(nop) `` and the comment as two words, or (``COPY``, ``ADD``,
    ``WORKDIR``: ``single_word``) as one."""
    cmd = [*shell, "#(nop) " + comment] if single_word else [*shell, "#(nop) ", comment]
    return " ".join(cmd)


def parse_signal(text: str) -> int | str:
    """moby's ``signal.ParseSignal`` (Linux): a number other than 0, or a known name with or
    without ``SIG`` (any case). DockerfileError ``Invalid signal: x`` otherwise."""
    number = gostrconv.atoi(text)
    if number is not None:
        if number == 0:
            raise DockerfileError(f"Invalid signal: {text}")
        return number
    name = gostrings.to_upper(text).removeprefix("SIG")
    if name not in _SIGNALS:
        raise DockerfileError(f"Invalid signal: {text}")
    return name


def _port_range(text: str) -> tuple[int, int] | None:
    if text == "":
        return None
    if "-" not in text:
        start = gostrconv.parse_uint(text, 10, 16)
        return None if start is None else (start, start)
    parts = text.split("-")
    start = gostrconv.parse_uint(parts[0], 10, 16)
    end = gostrconv.parse_uint(parts[1], 10, 16)
    if start is None or end is None or end < start:
        return None
    return start, end


def exposed_ports(specs: Sequence[str]) -> list[str]:
    """go-connections ``nat.ParsePortSpecs`` as ``EXPOSE`` uses it: the port keys
    (``80/tcp``), ranges expanded, in first-seen order. DockerfileError with nat's message."""
    out: list[str] = []
    for raw in specs:
        parts = raw.split(":")
        container = parts[-1]
        raw_ip, host = "", ""
        if len(parts) == 2:
            host = parts[0]
        elif len(parts) >= 3:
            raw_ip, host = ":".join(parts[:-2]), parts[-2]
        proto_parts = container.split("/")
        if container == "" or proto_parts[0] == "":
            proto, container = "", ""
        elif len(proto_parts) == 1 or proto_parts[1] == "":
            proto, container = "tcp", proto_parts[0]
        else:
            proto, container = proto_parts[1], proto_parts[0]
        ip = raw_ip[1:-1] if raw_ip.startswith("[") and raw_ip.endswith("]") else raw_ip
        if ":" in ip and not raw_ip.startswith("["):
            raise DockerfileError(
                f"Invalid ip address {raw_ip}: address {raw_ip}:: too many colons in address"
            )
        if ip:
            try:
                ipaddress.ip_address(ip)
            except ValueError:
                raise DockerfileError(f"Invalid ip address: {ip}") from None
        if container == "":
            raise DockerfileError(f"No port specified: {raw}<empty>")
        span = _port_range(container)
        if span is None:
            raise DockerfileError(f"Invalid containerPort: {container}")
        host_span = (0, 0)
        if host:
            parsed = _port_range(host)
            if parsed is None:
                raise DockerfileError(f"Invalid hostPort: {host}")
            host_span = parsed
        if host and span[1] - span[0] != host_span[1] - host_span[0] and span[1] != span[0]:
            raise DockerfileError(
                f"Invalid ranges specified for container and host Ports: {container} and {host}"
            )
        if gostrings.to_lower(proto) not in ("tcp", "udp", "sctp"):
            raise DockerfileError(f"Invalid proto: {proto}")
        for port in range(span[0], span[1] + 1):
            key = f"{port}/{gostrings.to_lower(proto)}"
            if key not in out:
                out.append(key)
    return out


def _go_q_list(items: Sequence[str] | None) -> str:
    return "[" + " ".join(gostrconv.quote(s) for s in items or ()) + "]"


def _go_v_list(items: Sequence[str] | None) -> str:
    return "[" + " ".join(items or ()) + "]"


def _health_comment(h: Healthcheck) -> str:
    # fmt "%q" of *container.HealthConfig: &{Test Interval Timeout StartPeriod Retries}.
    retries = h.retries
    rune = chr(retries) if 0 <= retries <= 0x10FFFF and not 0xD800 <= retries <= 0xDFFF else "\ufffd"
    durations = " ".join(
        gostrconv.quote(gotime.duration_string(d)) for d in (h.interval, h.timeout, h.start_period)
    )
    return f"HEALTHCHECK &{{{_go_q_list(h.test)} {durations} {gostrconv.quote_rune(rune)}}}"


def _health_json(h: Healthcheck) -> dict[str, Any]:
    out: dict[str, Any] = {"Test": list(h.test)}
    for key, value in (("Interval", h.interval), ("Timeout", h.timeout), ("StartPeriod", h.start_period)):
        if value:
            out[key] = value
    if h.retries:
        out["Retries"] = h.retries
    return out


def _merge(user: dict[str, Any], image: dict[str, Any]) -> dict[str, Any]:
    """moby 20.10 ``daemon.merge``: the parent image's config under a new container's."""
    out = dict(user)
    if not out.get("User"):
        out["User"] = image.get("User", "")
    for key in ("ExposedPorts", "Volumes"):
        mine = out.get(key)
        if not mine:
            out[key] = image.get(key)
        else:
            out[key] = {**mine, **{k: v for k, v in (image.get(key) or {}).items() if k not in mine}}
    env = out.get("Env") or []
    if not env:
        out["Env"] = image.get("Env")
    else:
        keys = {e.split("=", 1)[0] for e in env}
        out["Env"] = [*env, *(e for e in image.get("Env") or [] if e.split("=", 1)[0] not in keys)]
    labels = dict(out.get("Labels") or {})
    for k, v in (image.get("Labels") or {}).items():
        labels.setdefault(k, v)
    out["Labels"] = labels
    if not out.get("Entrypoint"):
        if not out.get("Cmd"):
            out["Cmd"] = image.get("Cmd")
        if out.get("Entrypoint") is None:
            out["Entrypoint"] = image.get("Entrypoint")
    theirs = image.get("Healthcheck")
    if theirs is not None:
        mine = out.get("Healthcheck")
        if mine is None:
            out["Healthcheck"] = theirs
        else:
            filled = dict(mine)
            for key in ("Test", "Interval", "Timeout", "StartPeriod", "Retries"):
                if not filled.get(key) and theirs.get(key):
                    filled[key] = theirs[key]
            out["Healthcheck"] = filled
    if not out.get("WorkingDir"):
        out["WorkingDir"] = image.get("WorkingDir", "")
    if not out.get("StopSignal"):
        out["StopSignal"] = image.get("StopSignal", "")
    return out


def _normalize_workdir(current: str, requested: str) -> str:
    if requested == "":
        raise DockerfileError("cannot normalize nothing")
    if requested.startswith("/"):
        return requested
    return gopath.join("/", current, requested)


@record
class _State:
    """moby's ``dispatchState`` of the stage being built."""

    config: ContainerConfig
    args: BuildArgs
    name: str = ""
    base: str = ""
    os: str = "linux"
    maintainer: str = ""
    cmd_set: bool = False
    history: list[HistoryEntry] = field(default_factory=list)
    parent: ContainerConfig | None = None  # the config of the image the next step builds on


@record
class _Build:
    dockerfile: Dockerfile
    context: SourceHasher | None
    base: Callable[[str, Platform | None], BaseImage] | None
    from_source: Callable[[str, int | None], SourceHasher] | None
    platform: Platform | None
    lex: Lex = field(init=False)
    stages: list[StageResult] = field(default_factory=list)
    by_name: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.lex = Lex(self.dockerfile.escape)

    def fail(self, error: Exception, line: int, end_line: int | None = None) -> DockerfileError:
        if isinstance(error, DockerfileError):
            return error.at(path=self.dockerfile.path, line=line or None, end_line=end_line)
        return DockerfileError(str(error), path=self.dockerfile.path, line=line or None, end_line=end_line)

    # -- FROM --

    def begin(self, stage: Stage, args: BuildArgs) -> tuple[_State, list[Commit]]:
        meta = args.meta()
        platform = self.platform
        if stage.platform:
            text = self.lex.process_word(stage.platform, meta)
            try:
                platform = Platform.parse(text)
            except InvalidPlatformError as e:
                raise DockerfileError(f"failed to parse platform {text}: {e}") from None
        name = self.lex.process_word(stage.base_name, meta)
        if name == "":
            raise DockerfileError(f"base name ({stage.base_name}) should not be blank")
        key = name.lower()
        if key in self.by_name:
            done = self.stages[self.by_name[key]]
            image = BaseImage(done.config, done.history, done.os)
        elif name == "scratch":
            image = BaseImage(None, (), platform.os if platform else "linux")
        elif self.base is None:
            raise DockerfileError(
                f"no base image for FROM {name}: only scratch and earlier stages are known here"
            )
        else:
            image = self.base(name, platform)
        raw = image.config.to_json() if image.config is not None else {}
        raw.pop("Image", None)
        env = list(raw.get("Env") or [])
        if not any(e.partition("=")[0] == "PATH" for e in env):
            env.append("PATH=" + DEFAULT_PATH)
        raw.update({"Env": env, "OpenStdin": False, "StdinOnce": False})
        config = ContainerConfig(raw)
        state = _State(
            config,
            args.for_stage(),
            stage.name,
            name,
            image.os or "linux",
            history=list(image.history),
            parent=image.config,
        )
        commits: list[Commit] = []
        triggers = config.on_build
        if triggers:
            state.config = config.updated({"OnBuild": None})
            for trigger in triggers:
                instruction = parse_trigger(trigger, path=self.dockerfile.path, line=stage.line)
                commits.append(self.dispatch(state, instruction))
        return state, commits

    # -- one instruction --

    def commit(
        self, state: _State, instruction: Instruction, comment: str, *, single: bool = False
    ) -> Commit:
        shell = state.config.shell or list(DEFAULT_SHELL)
        cmd = [*shell, "#(nop) " + comment] if single else [*shell, "#(nop) ", comment]
        container_config = state.config.updated({"Cmd": cmd})
        copies = isinstance(instruction, (Copy, Add))
        if not copies and state.parent is not None:
            # The step's container is created from the parent image: the daemon merges the
            # parent's config into the container's (mergeAndVerifyConfig), and the merge fills
            # the healthcheck the builder's state shares by pointer with that container config.
            merged = _merge(container_config.to_json(), state.parent.to_json())
            container_config = ContainerConfig(merged)
            if state.config.healthcheck is not None and "Healthcheck" in merged:
                state.config = state.config.updated({"Healthcheck": merged["Healthcheck"]})
        empty: bool | None = True
        if copies:
            empty = False
        elif isinstance(instruction, Workdir):
            empty = None
        entry = HistoryEntry(created_by(shell, comment, single_word=single), state.maintainer, empty)
        state.history.append(entry)
        state.parent = state.config
        return Commit(instruction, container_config, state.config, entry)

    def dispatch(self, state: _State, instruction: Instruction) -> Commit:
        env = state.config.env
        envs = [*env, *state.args.filter_allowed(env)]
        expanded = instruction.expand(lambda word: self.lex.process_word(word, envs))
        return self._dispatch(state, expanded, envs)

    def _dispatch(self, state: _State, c: Instruction, envs: list[str]) -> Commit:
        cfg = state.config
        if isinstance(c, Env):
            env = cfg.env
            for kv in c.pairs:
                for i, entry in enumerate(env):
                    if entry.partition("=")[0] == kv.key:
                        env[i] = str(kv)
                        break
                else:
                    env.append(str(kv))
            state.config = cfg.updated({"Env": env})
            return self.commit(state, c, "ENV" + "".join(" " + str(kv) for kv in c.pairs))
        if isinstance(c, Maintainer):
            state.maintainer = c.maintainer
            return self.commit(state, c, "MAINTAINER " + c.maintainer)
        if isinstance(c, Label):
            labels = dict(cfg.raw.get("Labels") or {})
            for kv in c.pairs:
                labels[kv.key] = kv.value
            state.config = cfg.updated({"Labels": labels})
            return self.commit(state, c, "LABEL" + "".join(" " + str(kv) for kv in c.pairs))
        if isinstance(c, (Add, Copy)):
            return self.copy(state, c)
        if isinstance(c, Onbuild):
            state.config = cfg.updated({"OnBuild": [*cfg.on_build, c.expression]})
            return self.commit(state, c, "ONBUILD " + c.expression)
        if isinstance(c, Workdir):
            workdir = _normalize_workdir(cfg.working_dir, c.path)
            state.config = cfg.updated({"WorkingDir": workdir})
            return self.commit(state, c, "WORKDIR " + workdir, single=True)
        if isinstance(c, Run):
            if c.flags_used:
                raise DockerfileError(f"the --{c.flags_used[0]} option {_BUILDKIT}")
            raise DockerfileError("RUN needs a container runtime, and this builder has none")
        if isinstance(c, (Cmd, Entrypoint)):
            cmd = list(c.cmd) if c.cmd is not None else None
            if c.prepend_shell and cmd is not None:
                cmd = [*(cfg.shell or DEFAULT_SHELL), *cmd]
            if isinstance(c, Cmd):
                state.config = cfg.updated({"Cmd": cmd, "ArgsEscaped": False})
                commit = self.commit(state, c, "CMD " + _go_q_list(cmd))
                if c.cmd:
                    state.cmd_set = True
                return commit
            changes: dict[str, Any] = {"Entrypoint": cmd, "ArgsEscaped": False}
            if not state.cmd_set:
                changes["Cmd"] = None
            state.config = cfg.updated(changes)
            return self.commit(state, c, "ENTRYPOINT " + _go_q_list(cmd))
        if isinstance(c, Healthcheck):
            state.config = cfg.updated({"Healthcheck": _health_json(c)})
            return self.commit(state, c, _health_comment(c))
        if isinstance(c, Expose):
            ports: list[str] = []
            for p in c.ports:
                ports += self.lex.process_words(p, envs)
            keys = exposed_ports(ports)
            exposed = dict(cfg.raw.get("ExposedPorts") or {})
            for key in keys:
                exposed[key] = {}
            state.config = cfg.updated({"ExposedPorts": exposed})
            return self.commit(state, replace(c, ports=tuple(ports)), "EXPOSE " + " ".join(ports))
        if isinstance(c, User):
            state.config = cfg.updated({"User": c.user})
            return self.commit(state, c, "USER " + c.user)
        if isinstance(c, Volume):
            volumes = dict(cfg.raw.get("Volumes") or {})
            for v in c.volumes:
                if v == "":
                    raise DockerfileError("VOLUME specified can not be an empty string")
                volumes[v] = {}
            state.config = cfg.updated({"Volumes": volumes})
            return self.commit(state, c, "VOLUME " + _go_v_list(c.volumes))
        if isinstance(c, StopSignal):
            parse_signal(c.signal)
            state.config = cfg.updated({"StopSignal": c.signal})
            return self.commit(state, c, "STOPSIGNAL " + c.signal)
        if isinstance(c, Arg):
            for a in c.args:
                state.args.add_arg(a.key, a.value)
            return self.commit(state, c, "ARG " + " ".join(str(a) for a in c.args))
        if isinstance(c, Shell):
            state.config = cfg.updated({"Shell": list(c.shell)})
            return self.commit(state, c, "SHELL " + _go_v_list(c.shell))
        raise DockerfileError(f"unsupported command type: {type(c).__name__}")

    def copy(self, state: _State, c: Add | Copy) -> Commit:
        if c.chmod:
            raise DockerfileError(f"the --chmod option {_BUILDKIT}")
        name = "ADD" if isinstance(c, Add) else "COPY"
        source = self.context
        if isinstance(c, Copy) and c.from_:
            source = self.stage_source(c.from_)
        if source is None:
            raise DockerfileError(f"{name} failed: missing build context")
        infos: list[str] = []
        try:
            for src in c.sources:
                infos += source.source_hashes(src)
        except BuildContextError as e:
            raise DockerfileError(f"{name} failed: {e.message}") from None
        if not infos:
            raise DockerfileError(f"{name} failed: no source files were specified")
        if len(infos) > 1 and not c.dest.endswith("/"):
            raise DockerfileError(
                f"When using {name} with more than one source file, "
                "the destination must be a directory and end with a /"
            )
        digest = infos[0] if len(infos) == 1 else hash_strings("multi", infos)
        chown = f"--chown={c.chown}" if c.chown else ""
        return self.commit(state, c, f"{name} {chown}{digest} in {c.dest} ", single=True)

    def stage_source(self, ref: str) -> SourceHasher:
        index: int | None = self.by_name.get(ref.lower())
        if index is None:
            number = gostrconv.parse_int(ref, 10, 64)
            if number is not None:
                if number == len(self.stages):
                    raise DockerfileError(f"invalid from flag value {ref}: refers to current build stage")
                if number < 0 or number > len(self.stages):
                    raise DockerfileError(f"invalid from flag value {ref}: index out of bounds")
                index = number
        if self.from_source is None:
            raise DockerfileError(
                f"COPY --from={ref} needs the files of {ref}, and no source for them was given"
            )
        return self.from_source(ref, index)


def evaluate(
    dockerfile: Dockerfile,
    *,
    context: SourceHasher | None = None,
    build_args: Mapping[str, str | None] | None = None,
    labels: Mapping[str, str] | None = None,
    target: str | None = None,
    platform: Platform | None = None,
    base: Callable[[str, Platform | None], BaseImage] | None = None,
    from_source: Callable[[str, int | None], SourceHasher] | None = None,
    observer: EvaluationObserver | None = None,
) -> Evaluation:
    """Evaluate ``dockerfile`` as ``docker build`` (classic builder) would, without running or
    copying anything.

    ``context`` hashes ``COPY``/``ADD`` sources (a
    :class:`~ocitool.ops.build.contexthash.BuildContext`); ``build_args`` are ``--build-arg``
    (``None``: named without a value); ``labels`` are ``--label`` (added to the last stage,
    sorted); ``target`` stops after that stage; ``platform`` is ``--platform``. ``base`` supplies
    a ``FROM`` image other than ``scratch`` or a stage; ``from_source(ref, stage_index)`` the
    files of a ``COPY --from`` (``stage_index`` None for an image); ``observer`` follows the
    steps as they are evaluated (:class:`EvaluationObserver`).

    Raises DockerfileError (or DockerfileSyntaxError) naming the Dockerfile and the line.
    """
    stages = list(dockerfile.stages)
    if target:
        for i, stage in enumerate(stages):
            if stage.name.lower() == target.lower():
                stages = stages[: i + 1]
                break
        else:
            raise DockerfileError(
                f"failed to reach build target {target} in Dockerfile", path=dockerfile.path
            )
    if not stages:
        raise DockerfileError("No image was generated. Is your Dockerfile empty?", path=dockerfile.path)
    if labels:
        extra = tuple(Label.from_option(k, labels[k]) for k in sorted(labels, key=gostrings.to_bytes))
        stages[-1] = replace(stages[-1], instructions=stages[-1].instructions + extra)
    build = _Build(dockerfile, context, base, from_source, platform)
    args = BuildArgs(build_args)
    total = len(dockerfile.meta_args) + len(stages) + sum(len(s.instructions) for s in stages)
    steps: list[Step] = []
    number = 1
    for meta in dockerfile.meta_args:
        step = Step(number, total, meta.code, meta.line, kind="meta")
        if observer is not None:
            observer.starting(number, total, meta.code)
        steps.append(step)
        number += 1
        try:
            expanded = meta.expand(lambda word: build.lex.process_word(word, args.all_allowed()))
        except DockerfileError as e:
            raise build.fail(e, meta.line, meta.end_line) from None
        for a in expanded.args:
            args.add_arg(a.key, a.value)
            args.add_meta_arg(a.key, a.value)
        if observer is not None:
            observer.evaluated(step)
    for stage in stages:
        if stage.name and stage.name in build.by_name:
            raise build.fail(DockerfileError(f"{stage.name} stage name already used"), stage.line)
        if observer is not None:
            observer.starting(number, total, stage.code)
        try:
            state, commits = build.begin(stage, args)
        except (DockerfileError, BuildContextError) as e:
            raise build.fail(e, stage.line, stage.end_line) from None
        from_stage = build.by_name.get(state.base.lower())
        step = Step(number, total, stage.code, stage.line, tuple(commits), "from", from_stage)
        steps.append(step)
        if observer is not None:
            observer.evaluated(step)
        number += 1
        for instruction in stage.instructions:
            if observer is not None:
                observer.starting(number, total, instruction.code)
            try:
                commit = build.dispatch(state, instruction)
            except (DockerfileError, BuildContextError) as e:
                raise build.fail(e, instruction.line, instruction.end_line) from None
            step = Step(number, total, instruction.code, instruction.line, (commit,))
            steps.append(step)
            if observer is not None:
                observer.evaluated(step)
            number += 1
        args.merge_referenced(state.args)
        if stage.name:
            build.by_name[stage.name] = len(build.stages)
        result = StageResult(state.name, state.base, state.config, tuple(state.history), state.os)
        build.stages.append(result)
        if observer is not None:
            observer.stage_done(len(build.stages) - 1, result)
    warnings = list(dockerfile.warnings)
    unused = args.unused()
    if unused:
        warnings.append(f"[Warning] One or more build-args {_go_v_list(unused)} were not consumed")
    return Evaluation(tuple(steps), tuple(build.stages), tuple(warnings))
