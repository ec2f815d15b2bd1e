"""``ocitool build`` against the real Docker 20.10 classic builder.

For each Dockerfile (no RUN) and context of tests/builder/test_oracle.py -- every instruction,
multi-stage with ``COPY --from``, ``--target``, ``.dockerignore``, file types, the escape
directive, parser quirks -- plus a build on a stored base image (ONBUILD triggers at FROM,
``--chown`` by name), ``DOCKER_BUILDKIT=0 docker build --network none`` on the private daemon
and :func:`ocitool.build` on a fresh store must give the same config (but ``Image``, which
names the parent by its ID), ``container_config`` (but ``Image`` and ``Hostname``), history
(``created_by``, ``empty_layer``, author), layer count and files of the final file system:
names, types, sizes, modes, owners, contents, link targets (``docker save`` and ours unpacked
by :func:`ocitool.unpack`).

The cache is compared by output: a rebuild hits on every step, and a changed instruction
rebuilds the steps from it on exactly as docker's output shows (IDs masked).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import stat
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from peers import DockerDaemon, run

import ocitool
from ocitool.errors import DockerfileError
from ocitool.service.service import ImageService
from tests.builder._contexts import make_context
from tests.builder.test_oracle import CASES, COPY_FROM, Case, _context, _docker_build, _image_ids

ORACLE = pytest.mark.oracle("docker", "docker-cli")


@contextmanager
def _removing_new_images(docker: DockerDaemon) -> Iterator[None]:
    """Remove every image the block adds, children before parents (``rmi -f`` refuses a parent
    whose child is still there), so the shared daemon is left as it was found."""
    before = _image_ids(docker)
    try:
        yield
    finally:
        for _ in range(20):
            added = _image_ids(docker) - before
            if not added:
                break
            docker.run("rmi", "-f", *sorted(added), check=False)


TAG = "ocitool-test-build"


def _dotted_tar() -> bytes:
    """A tar made like ``tar -C dir .``: a ``./`` entry, ``./``-prefixed names, owners kept."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, kind, data in (
            ("./", tarfile.DIRTYPE, b""),
            ("./d/", tarfile.DIRTYPE, b""),
            ("./d/x", tarfile.REGTYPE, b"x"),
        ):
            info = tarfile.TarInfo(name)
            info.type, info.size, info.uid, info.gid = kind, len(data), 11, 12
            info.mode = 0o700 if kind == tarfile.DIRTYPE else 0o604
            info.mtime = 1_600_000_000
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _targz_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 1_600_000_000
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


# legacy-client-tar feeds docker a hand-made context tar on stdin: a context ocitool build
# (a directory) cannot be given.
BUILD_CASES = {name: case for name, case in CASES.items() if not case.legacy_tar}
BUILD_CASES["copy-from"] = COPY_FROM
BUILD_CASES["copy-semantics"] = Case(
    dockerfile="""\
FROM scratch
COPY dir /target/
COPY f /target/sub
COPY dir /replaced/
COPY f /replaced/sub/
COPY link-to-dir /via/
COPY f /via/
WORKDIR /w/x
COPY f .
COPY f ./named
COPY dir ../up/
COPY --chown=3:4 dir /target/
COPY --chown=5 f /new1/new2/
ADD dotted.tar /dotted/
ADD dotted.tar /w/x/
ADD plain.tar.gz relative/
COPY link-to-file /lf
COPY ln /ln/
COPY f /ln/abs/
COPY f /ln/rel
WORKDIR /ln/abs/deeper
""",
    files=[
        ("f", "file", b"file\n", 0o600),
        ("dir/sub/inner", "file", b"i"),
        ("dir/top", "file", b"t", 0o755),
        ("dir/sub", "dir", None, 0o750),
        ("link-to-dir", "symlink", "dir"),
        ("link-to-file", "symlink", "f"),
        ("ln/abs", "symlink", "/target"),
        ("ln/rel", "symlink", "../target/relfile"),
        ("dotted.tar", "file", _dotted_tar()),
        ("plain.tar.gz", "file", _targz_bytes({"p/q": b"q"})),
    ],
)
BUILD_CASES["empty-continuation"] = Case("FROM scratch\nLABEL a=b \\\n\n  c=d\nENV X=1 \\\n\n\n  Y=2\n")


def _tree(root: Path) -> dict[str, tuple[Any, ...]]:
    """Every path below ``root``: type, mode, owner, size, content digest or link target."""
    out: dict[str, tuple[Any, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root)
            st = os.lstat(full)
            kind = stat.S_IFMT(st.st_mode)
            extra: Any = None
            size = 0
            if stat.S_ISREG(st.st_mode):
                size = st.st_size
                extra = hashlib.sha256(Path(full).read_bytes()).hexdigest()
            elif stat.S_ISLNK(st.st_mode):
                extra = os.readlink(full)
            out[rel] = (kind, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, size, extra)
    return out


def _unpack_archive(archive: Path, dest: Path) -> dict[str, tuple[Any, ...]]:
    """The files of a docker-archive's image built on scratch: layers extracted in order, as
    they are (no whiteouts to apply; symlinks leaving the root are files of the test)."""
    dest.mkdir()
    with tarfile.open(archive) as saved:
        manifest = json.load(saved.extractfile("manifest.json"))  # type: ignore[arg-type]
        for layer in manifest[0]["Layers"]:
            with tarfile.open(fileobj=saved.extractfile(layer)) as lt:
                lt.extractall(dest, numeric_owner=True, filter="fully_trusted")
    return _tree(dest)


def _without(config: dict[str, Any] | None, *keys: str) -> dict[str, Any]:
    return {k: v for k, v in (config or {}).items() if k not in keys}


def _history(raw: dict[str, Any]) -> list[tuple[str, bool, str]]:
    return [
        (h.get("created_by", ""), bool(h.get("empty_layer")), h.get("author", "")) for h in raw["history"]
    ]


def _docker_config(docker: DockerDaemon, ref: str, tmp: Path) -> tuple[dict[str, Any], Path | None]:
    saved = tmp / "docker-saved.tar"
    p = docker.run("save", ref, check=False)
    if p.returncode != 0 and b"empty export" in p.stderr:
        # Docker 20.10 cannot save an image without layers: read it from the API instead
        raw = docker.api(f"/images/{ref}/json")
        history = list(reversed(docker.api(f"/images/{ref}/history")))
        return {
            "config": raw["Config"],
            "container_config": raw["ContainerConfig"],
            "history": [
                {"created_by": h["CreatedBy"], "empty_layer": True, "author": raw["Author"]} for h in history
            ],
            "rootfs": {"diff_ids": raw["RootFS"].get("Layers", [])},
            "author": raw["Author"],
            "os": raw["Os"],
        }, None
    assert p.returncode == 0, p.stderr
    saved.write_bytes(p.stdout)
    with tarfile.open(saved) as tf:
        manifest = json.load(tf.extractfile("manifest.json"))  # type: ignore[arg-type]
        config = json.load(tf.extractfile(manifest[0]["Config"]))  # type: ignore[arg-type]
    return config, saved


def _our_build(case: Case, ctx: Path, root: Path, out: Path, lines: list[str]) -> dict[str, Any]:
    result = ocitool.build(
        str(ctx),
        root=str(root),
        build_args=case.build_args,
        labels=case.labels,
        target=case.target,
        no_cache=True,
        output=f"docker-archive:{out}",
        log=lines.append,
    )
    with tarfile.open(out) as tf:
        manifest = json.load(tf.extractfile("manifest.json"))  # type: ignore[arg-type]
        config: dict[str, Any] = json.load(tf.extractfile(manifest[0]["Config"]))  # type: ignore[arg-type]
    assert result.output is not None and result.output.images[0].image_ids == (result.image_id,)
    return config


def _sha256(archive: Path, config: dict[str, Any]) -> str:
    """The ID of the image whose config ``config`` was read from ``archive``: its file's hash."""
    with tarfile.open(archive) as tf:
        manifest = json.load(tf.extractfile("manifest.json"))  # type: ignore[arg-type]
        raw = tf.extractfile(manifest[0]["Config"]).read()  # type: ignore[union-attr]
    assert json.loads(raw) == config
    return hashlib.sha256(raw).hexdigest()


def _compare(theirs: dict[str, Any], ours: dict[str, Any]) -> None:
    assert _without(ours["config"], "Image") == _without(theirs["config"], "Image")
    assert _without(ours["container_config"], "Image", "Hostname") == _without(
        theirs["container_config"], "Image", "Hostname"
    )
    assert _history(ours) == _history(theirs)
    assert len(ours["rootfs"].get("diff_ids") or []) == len(theirs["rootfs"].get("diff_ids") or [])
    assert (ours.get("author", ""), ours["os"]) == (theirs.get("author", ""), theirs["os"])


_ID = re.compile(r"\b[0-9a-f]{12}\b")


def _shape(output: str | list[str]) -> list[str]:
    """The builder's lines with IDs masked (the CLI's own lines left out)."""
    given = output.splitlines() if isinstance(output, str) else output
    keep = (
        "Step ",
        " ---> ",
        "Removing intermediate",
        "# Executing",
        "Successfully",
        "[Warning]",
        "[WARNING]",
    )
    lines = [line.replace("\x1b[91m", "").replace("\x1b[0m", "") for line in given]  # the CLI's red
    out = [_ID.sub("<id>", line).rstrip() for line in lines if line.startswith(keep)]
    # the unused build args come in Go's map order, which is random
    return [_WARNED.sub(lambda m: "[" + " ".join(sorted(m[1].split())) + "]", line) for line in out]


_WARNED = re.compile(r"(?<=build-args )\[([^\]]*)\]")


@ORACLE
@pytest.mark.parametrize("name", sorted(BUILD_CASES))
def test_build_matches_docker(name: str, tmp_path: Path, docker_cli: DockerDaemon) -> None:
    docker = docker_cli
    case = BUILD_CASES[name]
    ctx = _context(case, tmp_path)
    tag = f"{TAG}/{name}:latest"
    with _removing_new_images(docker):
        code, output = _docker_build(docker, case, ctx, tag)
        assert code == 0, output
        theirs, saved = _docker_config(docker, tag, tmp_path)
    lines: list[str] = []
    ours = _our_build(case, ctx, tmp_path / "root", tmp_path / "ours.tar", lines)
    _compare(theirs, ours)
    assert _shape(lines) == [x for x in _shape(output) if not x.startswith("Successfully tagged")]
    if saved is not None:
        assert _unpack_archive(tmp_path / "ours.tar", tmp_path / "ours-fs") == _unpack_archive(
            saved, tmp_path / "docker-fs"
        )


BASE_DOCKERFILE = """\
FROM scratch
COPY etc/ /etc/
COPY app/ /srv/app/
WORKDIR /srv/app
ENV PATH=/bin BASE=1
LABEL base=yes
ONBUILD COPY . /onbuild/
ONBUILD WORKDIR /onbuild/data
ONBUILD LABEL child=yes
USER app
"""

BASE_FILES = [
    ("etc/passwd", "file", b"root:x:0:0:root:/root:/bin/sh\napp:x:1001:1002::/home/app:/bin/sh\n"),
    # the group named like the user is not its primary group: --chown=app takes the former
    ("etc/group", "file", b"root:x:0:\nstaff:x:50:\napp:x:1003:\n"),
    ("app/main", "file", b"#!/bin/sh\n", 0o755),
]

CHILD_DOCKERFILE = """\
FROM ocitool-test-build/base:1
COPY --chown=app hello.txt /home/app/
COPY --chown=app:staff dir /srv/app/dir
COPY --chown=1:1 hello.txt new/deeper/
ADD archive.tar.gz /srv/app/
COPY --from=ocitool-test-build/base:1 /srv/app /from-image/
WORKDIR /srv/app
WORKDIR sub
EXPOSE 80
CMD ["/srv/app/main"]
"""


def _targz(members: dict[str, bytes]) -> bytes:
    import io

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.uid, info.gid, info.mtime = len(data), 0o640, 7, 8, 1_600_000_000
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


CHILD_FILES = [
    ("hello.txt", "file", b"hello\n"),
    ("dir/a", "file", b"a", 0o600),
    ("dir/sub/b", "file", b"b"),
    ("dir/link", "symlink", "a"),
    ("archive.tar.gz", "file", _targz({"x/one": b"1", "two": b"22"})),
]


@ORACLE
def test_build_on_a_stored_base_matches_docker(tmp_path: Path, docker_cli: DockerDaemon) -> None:
    """FROM a stored image: its ONBUILD triggers run at FROM, --chown by the image's names,
    an existing WORKDIR adds no layer, ADD extracts a local tar.gz."""
    docker = docker_cli
    base_ctx = make_context(tmp_path / "base", BASE_FILES)
    (base_ctx / "Dockerfile").write_text(BASE_DOCKERFILE)
    child_ctx = make_context(tmp_path / "child", CHILD_FILES)
    (child_ctx / "Dockerfile").write_text(CHILD_DOCKERFILE)
    root = tmp_path / "root"
    env = dict(docker.env, DOCKER_BUILDKIT="0")
    with _removing_new_images(docker):
        run([docker.docker, "build", "--network", "none", "-t", f"{TAG}/base:1", str(base_ctx)], env=env)
        base_tar = tmp_path / "base.tar"
        base_tar.write_bytes(docker.run("save", f"{TAG}/base:1").stdout)
        ImageService(str(root)).load(str(base_tar))
        code, output = _docker_build(docker, Case(CHILD_DOCKERFILE), child_ctx, f"{TAG}/child:1")
        assert code == 0, output
        theirs, saved = _docker_config(docker, f"{TAG}/child:1", tmp_path)
    lines: list[str] = []
    ours = _our_build(Case(CHILD_DOCKERFILE), child_ctx, root, tmp_path / "ours.tar", lines)
    _compare(theirs, ours)
    assert "# Executing 3 build triggers" in lines
    loaded = docker.load(tmp_path / "ours.tar")  # Docker 20.10 loads what -o wrote
    assert loaded.exit_code == 0 and loaded.image_ids == ["sha256:" + _sha256(tmp_path / "ours.tar", ours)]
    assert _shape(lines) == [x for x in _shape(output) if not x.startswith("Successfully tagged")]
    assert saved is not None
    assert _unpack_archive(tmp_path / "ours.tar", tmp_path / "ours-fs") == _unpack_archive(
        saved, tmp_path / "docker-fs"
    )


CACHE_DOCKERFILE = """\
FROM scratch
ENV A=1
COPY a.txt /a/
WORKDIR /w
LABEL l={label}
COPY b.txt /b
EXPOSE 80
"""


def _build_both(
    docker: DockerDaemon, ctx: Path, root: Path, label: str, *, no_cache: bool = False
) -> tuple[list[str], list[str]]:
    (ctx / "Dockerfile").write_text(CACHE_DOCKERFILE.format(label=label))
    argv = [docker.docker, "build", "--network", "none", "-t", f"{TAG}/cache:1", str(ctx)]
    if no_cache:
        argv.insert(2, "--no-cache")
    p = run(argv, env=dict(docker.env, DOCKER_BUILDKIT="0"))
    lines: list[str] = []
    ocitool.build(str(ctx), root=str(root), tags=[f"{TAG}/cache:1"], no_cache=no_cache, log=lines.append)
    return _shape(p.stdout.decode()), _shape(lines)


@ORACLE
def test_cache_hits_and_misses_as_docker(tmp_path: Path, docker_cli: DockerDaemon) -> None:
    docker = docker_cli
    ctx = make_context(tmp_path / "ctx", [("a.txt", "file", b"a"), ("b.txt", "file", b"b")])
    root = tmp_path / "root"
    with _removing_new_images(docker):
        first = _build_both(docker, ctx, root, "one", no_cache=True)
        assert first[0] == first[1] and not any("Using cache" in x for x in first[1])
        again = _build_both(docker, ctx, root, "one")
        assert again[0] == again[1]
        assert sum("Using cache" in x for x in again[1]) == 6  # every step but FROM
        changed = _build_both(docker, ctx, root, "two")
        assert changed[0] == changed[1]
        assert sum("Using cache" in x for x in changed[1]) == 3  # ENV, COPY, WORKDIR
        (ctx / "a.txt").write_bytes(b"changed")
        content = _build_both(docker, ctx, root, "two")
        assert content[0] == content[1]
        assert sum("Using cache" in x for x in content[1]) == 1  # ENV only


@ORACLE
def test_a_missing_working_dir_is_made_by_any_step_as_docker(
    tmp_path: Path, docker_cli: DockerDaemon
) -> None:
    """A base whose WorkingDir does not exist (``docker import --change WORKDIR``): the first
    step's container makes it, so an ENV step has a layer."""
    docker = docker_cli
    rootfs = tmp_path / "rootfs.tar"
    with tarfile.open(rootfs, "w") as tf:
        info = tarfile.TarInfo("etc/hostname")
        info.size = 2
        tf.addfile(info, io.BytesIO(b"h\n"))
    ctx = make_context(tmp_path / "ctx", [])
    text = f"FROM {TAG}/nowd:1\nENV A=1\nLABEL b=2\n"
    (ctx / "Dockerfile").write_text(text)
    root = tmp_path / "root"
    with _removing_new_images(docker):
        docker.run("import", "--change", "WORKDIR /nowhere/deep", str(rootfs), f"{TAG}/nowd:1")
        base_tar = tmp_path / "base.tar"
        base_tar.write_bytes(docker.run("save", f"{TAG}/nowd:1").stdout)
        ImageService(str(root)).load(str(base_tar))
        code, output = _docker_build(docker, Case(text), ctx, f"{TAG}/nowd-child:1")
        assert code == 0, output
        theirs, saved = _docker_config(docker, f"{TAG}/nowd-child:1", tmp_path)
    lines: list[str] = []
    ours = _our_build(Case(text), ctx, root, tmp_path / "ours.tar", lines)
    _compare(theirs, ours)
    assert [h.get("empty_layer", False) for h in ours["history"]][-2:] == [False, True]
    assert saved is not None
    assert _unpack_archive(tmp_path / "ours.tar", tmp_path / "o") == _unpack_archive(saved, tmp_path / "d")


STEP_REFUSALS = {
    # Dockerfile, context files: refused while the step runs (after the steps before it)
    "chown-no-passwd": ("FROM scratch\nCOPY --chown=nobody f /f\n", [("f", "file", b"f")]),
    "chown-no-user": ("FROM scratch\nCOPY f /etc/passwd\nCOPY --chown=nobody f /f\n", [("f", "file", b"f")]),
    "chown-no-group": (
        "FROM scratch\nCOPY p /etc/passwd\nCOPY p /etc/group\nCOPY --chown=0:wheel p /f\n",
        [("p", "file", b"root:x:0:0::/:/bin/sh\n")],
    ),
    "workdir-on-a-file": ("FROM scratch\nCOPY f /\nWORKDIR /f\n", [("f", "file", b"f")]),
}


@ORACLE
@pytest.mark.parametrize("name", sorted(STEP_REFUSALS))
def test_step_refusals_match_docker(name: str, tmp_path: Path, docker_cli: DockerDaemon) -> None:
    docker = docker_cli
    text, files = STEP_REFUSALS[name]
    ctx = make_context(tmp_path / "ctx", files)
    (ctx / "Dockerfile").write_text(text)
    with _removing_new_images(docker):
        code, output = _docker_build(docker, Case(text), ctx, f"{TAG}/refused:1")
    assert code != 0
    lines: list[str] = []
    with pytest.raises(DockerfileError) as info:
        ocitool.build(str(ctx), root=str(tmp_path / "root"), log=lines.append)
    error = info.value
    assert error.line == text.count("\n")
    reason = error.reason.split(": open ")[0] if "open" in error.reason else error.reason
    assert reason in output, output
    assert _shape(lines) == _shape(output)
