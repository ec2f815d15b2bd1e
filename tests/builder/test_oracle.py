"""The real Docker 20.10 classic builder as the oracle for parsing, substitution, build-arg
scoping, .dockerignore and the build-context hashes.

For each Dockerfile (no RUN) and context below, ``DOCKER_BUILDKIT=0 docker build --network none``
on the private daemon (tests/peers.py) builds the image; ocitool parses the same Dockerfile,
hashes the same context and evaluates the instructions, and must reproduce every history
entry's ``created_by`` byte for byte, the image ``Config`` and ``ContainerConfig`` (but
``Image`` and ``Hostname``, which name the build's containers and images) and the author.
Refusals are compared too: docker's message must contain ocitool's reason (and, for parse
errors, the line). Skipped without a daemon; failed under OCITOOL_REQUIRE_PEERS=1.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from peers import DockerDaemon, run

from ocitool.errors import BuildContextError, DockerfileError
from ocitool.ops.build import dockerignore
from ocitool.ops.build.contexthash import BuildContext, StageSource
from ocitool.ops.build.dockerfile import parse
from ocitool.ops.build.evaluate import Evaluation, evaluate
from tests.builder._contexts import Entry, make_context, small_tar

# The oracle is Docker 20.10's classic builder fed by the docker 28 CLI, whose context tar
# (no file type bits in modes, moby >= 23) the hashes depend on.
ORACLE = pytest.mark.oracle("docker", "docker-cli")

TAG = "ocitool-test-dfile"


@dataclass
class Case:
    dockerfile: str
    files: list[Entry] = field(default_factory=list)
    build_args: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    target: str | None = None
    legacy_tar: bool = False  # send the context as a tar made like a Docker 20.10 CLI makes it


EVERY_INSTRUCTION = Case(
    dockerfile="""\
# syntax=docker/dockerfile:1
ARG BASE=scratch
ARG TAG
FROM ${BASE} AS first
ARG TAG=dev
ARG UID
ARG EXTRA_PORTS
ENV APP=/app TAG=$TAG
ENV OLD form  value
LABEL org.example.tag=$TAG "quoted key"="a value" escaped=a\\ b multi="line \\
 two"
MAINTAINER Someone <someone@example.com>
WORKDIR $APP
WORKDIR sub/../data
COPY hello.txt .
COPY --chown=1000:1000 hello.txt hello2.txt
COPY --chown=${UID:-1}:2 bin/ bin/
ADD archive.tar /opt/
ADD dir /dir/
COPY hello.txt bin/tool dir/ /multi/
COPY *.txt /txt/
COPY ["hello.txt", "/json dest/"]
USER ${USERNAME:-app}:staff
EXPOSE 80 443/udp 8000-8002 $EXTRA_PORTS
VOLUME /data $APP/vol
VOLUME ["/logs", "/cache"]
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=10s --start-period=1m --retries=10 CMD ["/bin/check", "--quick"]
HEALTHCHECK CMD curl -f http://localhost/ || exit 1
SHELL ["/bin/bash", "-euo", "pipefail", "-c"]
CMD echo "$APP" && run
ENTRYPOINT ["/entry"]
ONBUILD COPY . /onbuild/
ONBUILD LABEL triggered=yes
ARG LATE=${TAG}-late
ENV LATE=$LATE
""",
    files=[
        ("hello.txt", "file", b"hello\n"),
        ("other.txt", "file", b"other\n", 0o600),
        ("bin/tool", "file", b"#!/bin/sh\necho tool\n", 0o755),
        ("archive.tar", "file", small_tar([("a/one", b"1"), ("a/two", b"22")])),
        ("dir/x", "file", b"x"),
        ("dir/deeper/y", "file", b"y" * 5000),
    ],
    build_args={"TAG": "1.2", "EXTRA_PORTS": "9000 9001/udp", "UID": "42", "UNUSED": "x", "ALSO": "y"},
    labels={"build": "ocitool", "a.b": "c d"},
)

MULTI_STAGE = Case(
    dockerfile="""\
ARG V=meta
ARG ONLY_META=m
FROM scratch AS base
ARG V
ENV STAGE=base V=$V M=${ONLY_META:-not-visible}
ONBUILD LABEL from-base=1
ONBUILD ENV TRIGGERED=$STAGE
COPY files/ /files/
FROM base AS child
LABEL child=1
FROM scratch AS Other
ARG V=stage-default
LABEL v=${V:-unset}
FROM child
COPY --chown=5:5 files/a /a
ENV STAGE=final
""",
    files=[("files/a", "file", b"a"), ("files/b", "file", b"b")],
)

TARGET = Case(
    dockerfile=MULTI_STAGE.dockerfile, files=MULTI_STAGE.files, build_args={"V": "cli"}, target="other"
)

DOCKERIGNORE = Case(
    dockerfile="""\
FROM scratch
COPY . /ctx/
COPY docs /docs/
COPY *.md /md/
COPY [a-c]* /abc/
""",
    files=[
        (
            ".dockerignore",
            "file",
            b"# build files too\nDockerfile\n.dockerignore\n*.log\n!important.log\nbuild/\n**/*.tmp\n"
            b"docs/*/draft\n!docs/en/draft/keep.md\n/secret\n  spaced  \n",
        ),
        ("a.log", "file", b"log"),
        ("important.log", "file", b"keep me"),
        ("build/out.bin", "file", b"\x00\x01"),
        ("src/main.c", "file", b"int main(){}\n"),
        ("src/x.tmp", "file", b"tmp"),
        ("src/deep/y.tmp", "file", b"tmp"),
        ("docs/en/draft/keep.md", "file", b"# keep\n"),
        ("docs/en/draft/drop.md", "file", b"# drop\n"),
        ("docs/en/index.md", "file", b"# index\n"),
        ("README.md", "file", b"# readme\n"),
        ("secret", "file", b"s3cr3t"),
        ("spaced", "file", b"gone"),
        ("bfile", "file", b"b"),
        ("cdir/f", "file", b"c"),
    ],
)

FILE_TYPES = Case(
    dockerfile="""\
FROM scratch
COPY . /all/
COPY link-to-file /l1
COPY link-to-dir /l2/
COPY links /links/
COPY hard1 hard2 /h/
COPY exec setuid /modes/
COPY ["name with space", "/s"]
COPY ünïcode.txt /u
COPY sticky /sticky/
COPY owned /owned
COPY private /private/
COPY empty-dir /empty-dir/
COPY deep /deep/
""",
    files=[
        ("plain", "file", b"plain\n", 0o644),
        ("exec", "file", b"#!/bin/sh\n", 0o755),
        ("setuid", "file", b"s", 0o4755),
        ("setgid-dir", "dir", None, 0o2755),
        ("sticky", "dir", None, 0o1777),
        ("sticky/f", "file", b"f"),
        ("private", "dir", None, 0o700),
        ("private/secret", "file", b"p", 0o600),
        ("empty-file", "file", b""),
        ("empty-dir", "dir"),
        ("link-to-file", "symlink", "plain"),
        ("link-to-dir", "symlink", "sticky"),
        ("links/rel", "symlink", "../plain"),
        ("links/abs", "symlink", "/plain"),
        ("links/dangling", "symlink", "nowhere"),
        ("links/escape", "symlink", "../../../../etc/passwd"),
        ("links/to-dir", "symlink", "../private"),
        ("links/loop1", "symlink", "loop2"),
        ("links/loop2", "symlink", "loop1"),
        ("hard1", "file", b"same inode"),
        ("hard2", "hardlink", "hard1"),
        ("fifo", "fifo"),
        ("sock", "socket"),
        ("name with space", "file", b"space"),
        ("ünïcode.txt", "file", "ünïcode".encode()),
        ("owned", "file", b"owned by 1234"),
        ("owned", "owner", (1234, 5678)),
        ("deep/" + "d" * 60 + "/" + "e" * 60 + "/" + "f" * 60 + ".txt", "file", b"long name"),
    ],
)

ESCAPE_BACKTICK = Case(
    dockerfile="""\
# escape=`
FROM scratch
ENV WIN=C:\\path\\to `
    OTHER=`$literal
LABEL a="x`"y" b=c`
d
COPY `
  hello.txt `
  /dst/
""",
    files=[("hello.txt", "file", b"hello\n")],
)

QUIRKS = Case(
    dockerfile="""\
FROM scratch
CMD
CMD ["a"] trailing
ENTRYPOINT []
EXPOSE 8000-8002 53/UDP 127.0.0.1:80:8080
ENV X=\\$HOME Y='$X' Z="a\\"b" W=${X:+alt}
LABEL "a b"=c\\ d e="${W:-def}"
onbuild label  lower=case
HEALTHCHECK --timeout=1m30s --start-period=500ms --retries=65 CMD ["exe", "arg"]
HEALTHCHECK NONE
STOPSIGNAL 9
VOLUME ["/j1", "/j2"]
ENTRYPOINT
CMD [1
COPY <<EOF /heredoc
WORKDIR /x/../y/
WORKDIR rel
""",
    files=[("<<EOF", "file", b"a file named like a heredoc")],
)

LEGACY_CLIENT = Case(
    dockerfile="""\
FROM scratch
COPY . /all/
COPY dir /dir/
COPY f /f
""",
    files=[("f", "file", b"f\n", 0o640), ("dir/g", "file", b"g", 0o755), ("dir/l", "symlink", "g")],
    legacy_tar=True,
)

CASES: dict[str, Case] = {
    "every-instruction": EVERY_INSTRUCTION,
    "multi-stage": MULTI_STAGE,
    "target": TARGET,
    "dockerignore": DOCKERIGNORE,
    "file-types": FILE_TYPES,
    "escape-backtick": ESCAPE_BACKTICK,
    "quirks": QUIRKS,
    "legacy-client-tar": LEGACY_CLIENT,
}


class _LegacyInfo(tarfile.TarInfo):
    """A TarInfo whose mode keeps the S_IFMT bits (Python masks them; Go 1.8 kept them)."""

    full_mode: int | None = None

    def get_info(self) -> dict[str, Any]:
        info: dict[str, Any] = super().get_info()
        if self.full_mode is not None:
            info["full_mode"] = self.full_mode
        return info

    @staticmethod
    def _create_header(info: dict[str, Any], format: int, encoding: str, errors: str) -> bytes:
        buf = bytearray(tarfile.TarInfo._create_header(info, format, encoding, errors))  # type: ignore[attr-defined]
        if "full_mode" in info:
            buf[100:108] = b"%07o\0" % info["full_mode"]
            buf[148:156] = b" " * 8
            buf[148:156] = b"%06o\0 " % sum(buf[:512])
        return bytes(buf)


def legacy_client_tar(root: Path) -> bytes:
    """The context tar a Docker 20.10 CLI sends: fillGo18FileTypeBits modes, uid/gid 0 with
    the owner's names (the daemon blanks them), user 1000 for one file to show uid counts."""
    buf = io.BytesIO()
    bits = {"0": 0o100000, "2": 0o120000, "5": 0o040000}
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT, tarinfo=_LegacyInfo) as tf:
        for item in dockerignore.walk(root, []):
            info = tf.gettarinfo(str(root / item.path), arcname=item.path)
            assert isinstance(info, _LegacyInfo)
            info.uid = info.gid = 0
            info.mtime = int(info.mtime)  # a float mtime would make Python write a PAX header
            info.uname, info.gname = "root", "wheel"
            info.full_mode = (item.stat.st_mode & 0o7777) | bits[info.type.decode()]
            with open(root / item.path, "rb") if info.isreg() else io.BytesIO() as data:
                tf.addfile(info, data)
    return buf.getvalue()


def _image_ids(docker: DockerDaemon) -> set[str]:
    return set(docker.run("images", "-aq", "--no-trunc").stdout.decode().split())


@contextmanager
def _removing_new_images(docker: DockerDaemon) -> Iterator[None]:
    """Remove every image the block adds: the tag, other stages' images, the steps a failed
    build committed (the daemon is shared with the other oracle tests)."""
    before = _image_ids(docker)
    try:
        yield
    finally:
        added = _image_ids(docker) - before
        if added:
            docker.run("rmi", "-f", *sorted(added), check=False)


def _docker_build(docker: DockerDaemon, case: Case, ctx: Path, tag: str) -> tuple[int, str]:
    argv = [docker.docker, "build", "--network", "none", "--no-cache", "-t", tag]
    for k, v in case.build_args.items():
        argv += ["--build-arg", f"{k}={v}"]
    for k, v in case.labels.items():
        argv += ["--label", f"{k}={v}"]
    if case.target:
        argv += ["--target", case.target]
    env = dict(docker.env, DOCKER_BUILDKIT="0")
    if case.legacy_tar:
        p = run([*argv, "-"], env=env, check=False, input=legacy_client_tar(ctx))
    else:
        p = run([*argv, str(ctx)], env=env, check=False)
    return p.returncode, (p.stdout + p.stderr).decode(errors="replace")


def _ours(case: Case, ctx: Path, tmp_path: Path) -> Evaluation:
    data = (ctx / "Dockerfile").read_bytes()
    if case.legacy_tar:
        tar_path = tmp_path / "context.tar"
        tar_path.write_bytes(legacy_client_tar(ctx))
        context = BuildContext.from_tar(tar_path)
    else:
        context = BuildContext.from_directory(ctx)
    return evaluate(
        parse(data, path="Dockerfile"),
        context=context,
        build_args=case.build_args,
        labels=case.labels,
        target=case.target,
    )


def _without(config: dict[str, Any] | None, *keys: str) -> dict[str, Any]:
    return {k: v for k, v in (config or {}).items() if k not in keys}


def _context(case: Case, tmp_path: Path) -> Path:
    ctx = make_context(tmp_path / "ctx", case.files)
    (ctx / "Dockerfile").write_text(case.dockerfile, encoding="utf-8")
    return ctx


@ORACLE
@pytest.mark.parametrize("name", sorted(CASES))
def test_history_and_config_match_docker(name: str, tmp_path: Path, docker_cli: DockerDaemon) -> None:
    docker = docker_cli
    case = CASES[name]
    ctx = _context(case, tmp_path)
    tag = f"{TAG}/{name}:latest"
    with _removing_new_images(docker):
        code, output = _docker_build(docker, case, ctx, tag)
        assert code == 0, output
        image_id = docker.run("image", "inspect", "-f", "{{.Id}}", tag).stdout.decode().strip()
        raw = docker.api(f"/images/{image_id}/json")
        theirs = [h["CreatedBy"] for h in reversed(docker.api(f"/images/{image_id}/history"))]
        ours = _ours(case, ctx, tmp_path)
        assert [h.created_by for h in ours.image.history] == theirs
        final = ours.image
        assert _without(final.config.to_json(), "Image", "Hostname") == _without(
            raw["Config"], "Image", "Hostname"
        )
        last = [c for step in ours.steps for c in step.commits][-1]
        assert _without(last.container_config.to_json(), "Image", "Hostname") == _without(
            raw["ContainerConfig"], "Image", "Hostname"
        )
        assert last.history.author == raw["Author"]
        warned = [line for line in output.splitlines() if "were not consumed" in line]
        assert [sorted(w.split("build-args [")[1].split("]")[0].split()) for w in warned] == [
            sorted(w.split("[Warning] One or more build-args [")[1].split("]")[0].split())
            for w in ours.warnings
            if "were not consumed" in w
        ]
        steps = [line for line in output.splitlines() if line.startswith("Step ")]
        assert steps == [str(step) for step in ours.steps]


def test_legacy_client_headers_are_modelled_by_type_bits(tmp_path: Path) -> None:
    ctx = _context(LEGACY_CLIENT, tmp_path)
    tar_path = tmp_path / "context.tar"
    tar_path.write_bytes(legacy_client_tar(ctx))
    from_tar = BuildContext.from_tar(tar_path)
    modelled = BuildContext.from_directory(ctx, type_bits=True)
    assert [(e.header.name, e.sum) for e in from_tar.entries] == [
        (e.header.name, e.sum) for e in modelled.entries
    ]
    modern = BuildContext.from_directory(ctx)
    assert [e.sum for e in modern.entries] != [e.sum for e in modelled.entries]


REFUSED: dict[str, tuple[str, list[Entry], bool]] = {
    # name: (Dockerfile, context files, whether docker names the line: instructions.Parse errors)
    "unknown-instruction": ("FROM scratch\nLABEL a=b\nFOO bar\n", [], True),
    "heredoc-body": ("FROM scratch\nCOPY <<EOF /x\nhello\nEOF\n", [], True),
    "bad-escape": ("# escape=x\nFROM scratch\n", [], False),
    "run": ("FROM scratch\nRUN --mount=type=cache,target=/x true\n", [], False),
    "chmod": ("FROM scratch\nCOPY --chmod=755 a /a\n", [("a", "file", b"a")], False),
    "dash-default": ("FROM scratch\nENV A=${B-x}\n", [], False),
    "unterminated-quote": ('FROM scratch\nENV A="unterminated\n', [], False),
    "stop-signal": ("FROM scratch\nSTOPSIGNAL NOPE\n", [], False),
    "missing-source": ("FROM scratch\nCOPY missing /x\n", [], False),
    "outside-context": ("FROM scratch\nCOPY ../x /x\n", [], False),
    "ignored-source": (
        "FROM scratch\nCOPY secret /x\n",
        [("secret", "file", b"s"), (".dockerignore", "file", b"secret\n")],
        False,
    ),
    "multi-source-dest": (
        "FROM scratch\nCOPY a b /dest\n",
        [("a", "file", b"a"), ("b", "file", b"b")],
        False,
    ),
    "interval": ("FROM scratch\nHEALTHCHECK --interval=0s CMD x\n", [], True),
    "port": ("FROM scratch\nEXPOSE 70000\n", [], False),
    "proto": ("FROM scratch\nEXPOSE 80/icmp\n", [], False),
    "stage-name": ("FROM scratch AS a\nFROM scratch AS A\n", [], False),
    "no-from": ("LABEL a=b\nFROM scratch\n", [], False),
    "nested-json": ('FROM scratch\nCMD ["a", ["b"]]\n', [], False),
    "blank-base": ("ARG B\nFROM $B\n", [], False),
}


@ORACLE
@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refusals_match_docker(name: str, tmp_path: Path, docker_cli: DockerDaemon) -> None:
    docker = docker_cli
    text, files, with_line = REFUSED[name]
    case = Case(dockerfile=text, files=files)
    ctx = _context(case, tmp_path)
    tag = f"{TAG}/refused-{name}:latest"
    with _removing_new_images(docker):
        code, output = _docker_build(docker, case, ctx, tag)
    assert code != 0, output
    with pytest.raises((DockerfileError, BuildContextError)) as info:
        _ours(case, ctx, tmp_path)
    error = info.value
    if name == "run":
        assert "the --mount option requires BuildKit" in output and "--mount option requires BuildKit" in str(
            error
        )
        return
    reason = error.reason if isinstance(error, DockerfileError) else error.message
    assert reason in output, output
    if with_line:
        assert isinstance(error, DockerfileError) and f"line {error.line}:" in output


def test_cases_cover_every_instruction() -> None:
    seen: set[str] = set()
    for case in CASES.values():
        df = parse(case.dockerfile.encode())
        seen |= {"arg"} if df.meta_args else set()
        seen |= {"from"} if df.stages else set()
        for stage in df.stages:
            seen |= {i.name for i in stage.instructions}
    expected = {
        "add", "arg", "cmd", "copy", "entrypoint", "env", "expose", "from", "healthcheck", "label",
        "maintainer", "onbuild", "shell", "stopsignal", "user", "volume", "workdir",
    }  # fmt: skip
    assert seen == expected  # RUN is in test_refusals_match_docker


COPY_FROM = Case(
    dockerfile="""\
FROM scratch AS base
COPY files/ /files/
COPY --chown=1000:1000 owned /owned/
COPY --chown=0:12345 owned /group/
COPY links/ /links/
FROM scratch
COPY --from=base /files/a.txt /a
COPY --from=base /files /f/
COPY --from=0 owned /o/
COPY --from=BASE /group/ /g/
COPY --from=base /links/ /l/
COPY --from=base /links/to-file /lf
COPY --from=base /files/*.txt /txt/
COPY --from=base /links/to-file /links/to-dir /two/
""",
    files=[
        ("files/a.txt", "file", b"a\n"),
        ("files/b.txt", "file", b"b\n", 0o600),
        ("files/run", "file", b"#!/bin/sh\n", 0o4755),
        ("files/sub/c", "file", b"c" * 3000),
        ("owned/x", "file", b"x"),
        ("links/to-file", "symlink", "../files/a.txt"),
        ("links/to-dir", "symlink", "/files/sub"),
        ("links/dangling", "symlink", "nowhere"),
    ],
)


def _unpack_saved_image(docker: DockerDaemon, ref: str, dest: Path) -> Path:
    """The root file system of a ``FROM scratch`` image: ``docker save``, layers in order
    (no whiteouts to apply), owners and modes kept."""
    dest.mkdir()
    with tarfile.open(fileobj=io.BytesIO(docker.run("save", ref).stdout)) as saved:
        manifest = json.load(saved.extractfile("manifest.json"))  # type: ignore[arg-type]
        for layer in manifest[0]["Layers"]:
            data = saved.extractfile(layer)
            assert data is not None
            with tarfile.open(fileobj=io.BytesIO(data.read())) as lt:
                lt.extractall(dest, numeric_owner=True, filter="fully_trusted")
    return dest


@ORACLE
def test_copy_from_a_stage_matches_docker(tmp_path: Path, docker_cli: DockerDaemon) -> None:
    """COPY --from hashes the stage's own files: type bits, real owners and their names."""
    docker = docker_cli
    ctx = _context(COPY_FROM, tmp_path)
    with _removing_new_images(docker):
        code, output = _docker_build(docker, COPY_FROM, ctx, f"{TAG}/copy-from:latest")
        assert code == 0, output
        theirs = [h["CreatedBy"] for h in reversed(docker.api(f"/images/{TAG}/copy-from:latest/history"))]
        # the same stage again, from the build cache: the image the COPY --from read
        env = dict(docker.env, DOCKER_BUILDKIT="0")
        run(
            [
                docker.docker,
                "build",
                "--network",
                "none",
                "--target",
                "base",
                "-t",
                f"{TAG}/base:1",
                str(ctx),
            ],
            env=env,
        )
        root = _unpack_saved_image(docker, f"{TAG}/base:1", tmp_path / "base-rootfs")
    stage = StageSource(root)
    ours = evaluate(
        parse(COPY_FROM.dockerfile.encode(), path="Dockerfile"),
        context=BuildContext.from_directory(ctx),
        from_source=lambda ref, index: stage,
    )
    assert [h.created_by for h in ours.image.history] == theirs
    dangling = (
        "FROM scratch AS base\nCOPY links/ /links/\nFROM scratch\nCOPY --from=base /links/dangling /d\n"
    )
    with _removing_new_images(docker):
        code, output = _docker_build(
            docker,
            Case(dockerfile=dangling),
            _context(Case(dangling, COPY_FROM.files), tmp_path / "d"),
            f"{TAG}/dangling:1",
        )
    assert code != 0 and "COPY failed: stat links/dangling: file does not exist" in output
    with pytest.raises(DockerfileError) as info:
        evaluate(
            parse(dangling.encode()),
            context=BuildContext.from_directory(ctx),
            from_source=lambda ref, index: stage,
        )
    assert (
        info.value.reason == "COPY failed: stat links/dangling: file does not exist" and info.value.line == 4
    )
