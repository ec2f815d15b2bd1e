"""The evaluator's pieces: created_by text, moby's port and signal parsing, the daemon's config
merge, build-arg scoping and errors by line. End to end against Docker in test_oracle.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from ocitool.errors import DockerfileError, DockerfileSyntaxError
from ocitool.model.config import ContainerConfig
from ocitool.model.platform import Platform
from ocitool.ops.build.contexthash import BuildContext
from ocitool.ops.build.dockerfile import parse
from ocitool.ops.build.evaluate import (
    DEFAULT_PATH,
    BaseImage,
    HistoryEntry,
    created_by,
    evaluate,
    exposed_ports,
    parse_signal,
)
from tests.builder._contexts import make_context


def _eval(text: str, **kwargs: object):  # type: ignore[no-untyped-def]
    return evaluate(parse(text.encode(), path="Dockerfile"), **kwargs)  # type: ignore[arg-type]


def _history(text: str, **kwargs: object) -> list[str]:
    return [h.created_by for h in _eval(text, **kwargs).image.history]


def test_created_by_word_forms() -> None:
    assert created_by(["/bin/sh", "-c"], "ENV a=b") == "/bin/sh -c #(nop)  ENV a=b"
    assert created_by(["/bin/sh", "-c"], "WORKDIR /x", single_word=True) == "/bin/sh -c #(nop) WORKDIR /x"


def test_exposed_ports() -> None:
    assert exposed_ports(["80", "53/UDP", "8000-8002", "127.0.0.1:90:9090/tcp", "[::1]:1:1", "80/tcp"]) == [
        "80/tcp",
        "53/udp",
        "8000/tcp",
        "8001/tcp",
        "8002/tcp",
        "9090/tcp",
        "1/tcp",
    ]
    for bad, message in [
        ("70000", "Invalid containerPort: 70000"),
        ("80/icmp", "Invalid proto: icmp"),
        ("", "No port specified: <empty>"),
        ("1.2.3.4.5:1:80", "Invalid ip address: 1.2.3.4.5"),
        ("a:80", "Invalid hostPort: a"),
        ("2-1", "Invalid containerPort: 2-1"),
        ("1-2:3-5", "Invalid ranges specified for container and host Ports: 3-5 and 1-2"),
    ]:
        with pytest.raises(DockerfileError) as info:
            exposed_ports([bad])
        assert info.value.reason == message


def test_parse_signal() -> None:
    assert parse_signal("9") == 9 and parse_signal("-3") == -3
    assert parse_signal("sigkill") == "KILL" and parse_signal("RTMIN+3") == "RTMIN+3"
    for bad in ("0", "SIGNOPE", "RTMIN+16", ""):
        with pytest.raises(DockerfileError, match="Invalid signal"):
            parse_signal(bad)


@pytest.mark.parametrize(
    ("flags", "text"),
    [
        ("", '&{["CMD-SHELL" "x"] "0s" "0s" "0s" \'\\x00\'}'),
        ("--retries=10", '&{["CMD-SHELL" "x"] "0s" "0s" "0s" \'\\n\'}'),
        ("--retries=39 --interval=1h1m1.5s", '&{["CMD-SHELL" "x"] "1h1m1.5s" "0s" "0s" \'\\\'\'}'),
        ("--retries=20013 --timeout=1500us", '&{["CMD-SHELL" "x"] "0s" "1.5ms" "0s" \'中\'}'),
        ("--retries=2147483647", '&{["CMD-SHELL" "x"] "0s" "0s" "0s" \'�\'}'),
    ],
)
def test_healthcheck_comment_is_gos_percent_q(flags: str, text: str) -> None:
    (entry,) = _history(f"FROM scratch\nHEALTHCHECK {flags} CMD x\n")
    assert entry == "/bin/sh -c #(nop)  HEALTHCHECK " + text


def test_scratch_stage_config_and_steps() -> None:
    ev = _eval("ARG A=1\nFROM scratch\nENV B=2\n", labels={"z": "1", "y": "2"})
    assert [str(s) for s in ev.steps] == [
        "Step 1/5 : ARG A=1",
        "Step 2/5 : FROM scratch",
        "Step 3/5 : ENV B=2",
        "Step 4/5 : LABEL y=2",
        "Step 5/5 : LABEL z=1",
    ]
    assert ev.image.config.env == ["PATH=" + DEFAULT_PATH, "B=2"]
    assert ev.image.config.labels == {"y": "2", "z": "1"}


def test_arg_scoping_through_stages() -> None:
    text = (
        "ARG V=meta\nARG B=scratch\nFROM $B AS one\nENV NOT_VISIBLE=${V:-none}\n"
        "ARG V\nENV REDECLARED=$V\nARG W=w\nENV W=env\nENV SEEN=$W\n"
        "FROM scratch\nARG V=own\nENV V=$V\n"
    )
    ev = _eval(text, build_args={"W": "cli"})
    one, two = ev.stages
    assert one.config.env[1:] == ["NOT_VISIBLE=none", "REDECLARED=meta", "W=env", "SEEN=env"]
    assert two.config.env[1:] == ["V=own"]
    ev = _eval(text, build_args={"V": "cli"})
    assert ev.stages[0].config.env[2] == "REDECLARED=cli" and ev.stages[1].config.env[1:] == ["V=cli"]


def test_onbuild_triggers_run_at_from() -> None:
    ev = _eval("FROM scratch AS base\nONBUILD ENV T=1\nONBUILD LABEL l=$T\nFROM base\nLABEL after=1\n")
    child = ev.image
    assert [h.created_by for h in child.history][-3:] == [
        "/bin/sh -c #(nop)  ENV T=1",
        "/bin/sh -c #(nop)  LABEL l=1",
        "/bin/sh -c #(nop)  LABEL after=1",
    ]
    assert child.config.on_build == [] and child.config.labels == {"after": "1", "l": "1"}
    assert [len(s.commits) for s in ev.steps] == [0, 1, 1, 2, 1]


def test_base_images_come_from_the_caller() -> None:
    seen: list[tuple[str, Platform | None]] = []

    def base(name: str, platform: Platform | None) -> BaseImage:
        seen.append((name, platform))
        config = ContainerConfig(
            {"Env": ["PATH=/x"], "Cmd": ["sh"], "Healthcheck": {"Test": ["CMD", "a"], "Retries": 3}}
        )
        return BaseImage(config, (HistoryEntry('/bin/sh -c #(nop)  CMD ["sh"]'),))

    ev = _eval(
        "ARG V=1.2\nFROM --platform=linux/arm64 alpine:$V\nHEALTHCHECK --interval=5s CMD b\n", base=base
    )
    assert seen == [("alpine:1.2", Platform.parse("linux/arm64"))]
    assert ev.image.config.env == ["PATH=/x"] and ev.image.config.cmd == ["sh"]
    assert len(ev.image.history) == 2
    # the daemon's merge fills the new healthcheck's zero fields from the parent image's
    health = ev.image.config.healthcheck
    assert health is not None and (health.test, health.interval, health.retries) == (
        ("CMD-SHELL", "b"),
        5 * 10**9,
        3,
    )
    with pytest.raises(DockerfileError, match="only scratch and earlier stages") as info:
        _eval("FROM alpine\n")
    assert info.value.line == 1


def test_container_config_merge_keeps_parents_entrypoint() -> None:
    ev = _eval('FROM scratch\nENTRYPOINT ["a"]\nENTRYPOINT []\nLABEL x=y\n')
    commits = [c for s in ev.steps for c in s.commits]
    assert commits[0].container_config.to_json()["Labels"] is None  # no parent image yet: no merge
    assert commits[1].container_config.entrypoint == ["a"] and commits[1].config.entrypoint is None
    assert commits[2].container_config.entrypoint is None


def test_copy_needs_a_context_and_from_sources(tmp_path: Path) -> None:
    make_context(tmp_path, [("a", "file", b"a"), ("b", "file", b"b")])
    ctx = BuildContext.from_directory(tmp_path)
    (entry,) = _history("FROM scratch\nCOPY --chown=1:2 a /x\n", context=ctx)
    assert entry == f"/bin/sh -c #(nop) COPY --chown=1:2{ctx.copy_hash(['a'])} in /x "
    with pytest.raises(DockerfileError, match="missing build context"):
        _eval("FROM scratch\nCOPY a /x\n")
    with pytest.raises(DockerfileError, match="needs the files of base"):
        _eval("FROM scratch AS base\nFROM scratch\nCOPY --from=base a /x\n", context=ctx)
    with pytest.raises(DockerfileError, match="refers to current build stage"):
        _eval("FROM scratch\nCOPY --from=0 a /x\n", context=ctx)
    with pytest.raises(DockerfileError, match="the destination must be a directory") as info:
        _eval("FROM scratch\n\nCOPY a b /x\n", context=ctx)
    assert info.value.line == 3 and str(info.value).startswith("Dockerfile:3: When using COPY")


@pytest.mark.parametrize(
    ("text", "reason", "line"),
    [
        ("FROM scratch\nRUN true\n", "RUN needs a container runtime, and this builder has none", 2),
        (
            "FROM scratch\nLABEL a=b\nRUN --mount=type=tmpfs,target=/t x\n",
            "the --mount option requires BuildKit",
            3,
        ),
        ("FROM scratch\nCOPY --chmod=644 a /b\n", "the --chmod option requires BuildKit", 2),
        ("FROM scratch\nENV A=${B-x}\n", "missing ':' in substitution", 2),
        ("FROM scratch\nSTOPSIGNAL NOPE\n", "Invalid signal: NOPE", 2),
        ("FROM scratch AS a\nFROM scratch AS a\n", "a stage name already used", 2),
        ("ARG B\nFROM $B\n", "base name ($B) should not be blank", 2),
        ("ARG P=bogus/x/y/z\nFROM --platform=$P scratch\n", "failed to parse platform bogus/x/y/z", 2),
        ("FROM scratch\nWORKDIR ${EMPTY}\n", "cannot normalize nothing", 2),
    ],
)
def test_refusals_name_the_line(text: str, reason: str, line: int) -> None:
    with pytest.raises(DockerfileError) as info:
        _eval(text)
    assert reason in info.value.reason and info.value.line == line and info.value.path == "Dockerfile"


def test_target_and_empty_results() -> None:
    assert _eval("FROM scratch AS a\nLABEL a=1\nFROM scratch\n", target="A").image.config.labels == {"a": "1"}
    with pytest.raises(DockerfileError, match="failed to reach build target nope"):
        _eval("FROM scratch\n", target="nope")
    assert _eval("FROM scratch AS a\nONBUILD FOO bar\nFROM scratch\n").image.history == ()
    with pytest.raises(DockerfileSyntaxError) as info:  # refused when the trigger runs, at its FROM
        _eval("FROM scratch AS a\nONBUILD FOO bar\nFROM a\n")
    assert info.value.reason == "unknown instruction: FOO" and info.value.line == 3
