"""Scripted sessions: the same steps against the real Docker daemon and ``ocitool --root``.

Every step's exit status and output lines (``Loaded image``, ``Untagged``, ``Deleted``, the
error messages, image IDs and tags) must agree. docker prefixes daemon errors with "Error
response from daemon: ", ocitool with "Error: "; the message after it must be the same.

The daemon may hold images no test here made (leftovers, a developer's own): each session
notes the images present before it starts, lists only the others when it compares ``images``
output, and keeps the earlier ones out of reach of ``image prune`` by giving each a created
(never started) container for the duration of the session.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ocitool.cli import main
from tests import peers

pytestmark = pytest.mark.oracle("docker-cli")

TWO = str(peers.FIXTURES / "docker" / "two-images.tar")
IMPORTED = str(peers.FIXTURES / "docker" / "imported.tar")
UNTAGGED = str(peers.FIXTURES / "docker" / "untagged.tar")
WHITEOUTS = str(peers.FIXTURES / "buildah" / "whiteouts.tar")
OPAQUE = str(peers.FIXTURES / "buildah" / "opaque.tar")


def _norm_err(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        for prefix in ("Error response from daemon: ", "Error: "):
            if line.startswith(prefix):
                line = line[len(prefix) :]
        if line.strip():
            out.append(line.strip())
    return out


class _Both:
    def __init__(self, docker: peers.DockerDaemon, root: Path) -> None:
        self.docker = docker
        self.root = str(root)
        self.before = _all_ids(docker)  # images this session did not make

    def ours(self, *args: str) -> tuple[int, list[str], list[str]]:
        out, err = io.StringIO(), io.StringIO()
        rc = main(["--root", self.root, *args], stdout=out, stderr=err)
        return rc, out.getvalue().splitlines(), _norm_err(err.getvalue())

    def theirs(self, *args: str) -> tuple[int, list[str], list[str]]:
        p = self.docker.run(*args, check=False)
        lines = p.stdout.decode().splitlines()
        if args[0] == "images":  # only the images this session made (lines name their IDs)
            earlier = self.before | {i[7:19] for i in self.before}
            lines = [line for line in lines if not set(line.split()) & earlier]
        return p.returncode, lines, _norm_err(p.stderr.decode())

    def step(self, *args: str, sort: bool = False) -> tuple[int, list[str], list[str]]:
        ours, theirs = self.ours(*args), self.theirs(*args)
        if sort:
            ours = (ours[0], sorted(ours[1]), ours[2])
            theirs = (theirs[0], sorted(theirs[1]), theirs[2])
        assert ours == theirs, f"step {args}: ocitool {ours} != docker {theirs}"
        return ours


def _all_ids(docker: peers.DockerDaemon) -> set[str]:
    return set(docker.run("images", "-aq", "--no-trunc").stdout.decode().split())


@contextmanager
def _protected(docker: peers.DockerDaemon, ids: set[str]) -> Iterator[None]:
    """A created container per image in ``ids``: ``image prune`` (even ``-a``) spares them."""
    containers = []
    try:
        for image_id in sorted(ids):
            p = docker.run("create", image_id, "/ocitool-never-started", check=False)
            if p.returncode == 0:
                containers.append(p.stdout.decode().strip())
        yield
    finally:
        if containers:
            docker.run("rm", "-f", *containers, check=False)


def _ids_of(*archives: str) -> set[str]:
    ids: set[str] = set()
    for a in archives:
        from ocitool import inspect

        ids.update(r.id for r in inspect(a))
    return ids


def _clean(docker: peers.DockerDaemon, ids: set[str]) -> None:
    present = set(docker.run("images", "-aq", "--no-trunc").stdout.decode().split())
    doomed = sorted(i for i in ids if i in present)
    if doomed:
        docker.run("rmi", "-f", *doomed, check=False)


def test_session_load_tag_rmi_history_inspect_prune(docker_cli: peers.DockerDaemon, tmp_path: Path) -> None:
    docker = docker_cli
    ids = _ids_of(TWO, IMPORTED, WHITEOUTS)
    _clean(docker, ids)
    before = _all_ids(docker)
    both = _Both(docker, tmp_path / "root")
    fmt = "{{.ID}} {{.Repository}}:{{.Tag}}"
    try:
        with _protected(docker, before):
            both.step("load", "-i", TWO, sort=True)  # manifest.json order is a Go map's
            both.step("load", "-i", IMPORTED)
            both.step("load", "-i", WHITEOUTS)  # shares the base's layers
            both.step("load", "-i", UNTAGGED)  # "Loaded image ID:"
            both.step("tag", "ocitool-fixture/base:1.0", "mybase:v1")
            both.step("tag", "nosuch", "x:y")
            rc, lines, _ = both.step("images", "--no-trunc", "--format", fmt, sort=True)
            assert rc == 0 and len(lines) == 5
            # the default table, truncated and not, and -q (docker's own formatter and tabwriter),
            # scoped by docker's reference filter: other images would widen docker's columns
            ours_only = ["--filter", "reference=ocitool-fixture/*", "--filter", "reference=mybase"]
            for extra in ([], ["--no-trunc"], ["-q"]):
                rc, lines, _ = both.step("images", *ours_only, *extra, sort=True)
                assert rc == 0 and len(lines) == (5 if extra == ["-q"] else 6)
            base_id = both.ours("inspect", "--format", "{{.Id}}", "ocitool-fixture/base:1.0")[1][0]
            child_id = both.ours("inspect", "--format", "{{.Id}}", "ocitool-fixture/child:latest")[1][0]
            # inspect by a unique ID prefix, sha256:-prefixed and bare
            for prefix in (base_id[:19], base_id[7:19]):
                ours, theirs = both.ours("inspect", prefix), both.theirs("inspect", prefix)
                assert ours[0] == theirs[0] == 0
                o, t = json.loads("\n".join(ours[1]))[0], json.loads("\n".join(theirs[1]))[0]
                for key in (
                    "Id",
                    "RepoTags",
                    "RepoDigests",
                    "Parent",
                    "Comment",
                    "Created",
                    "Size",
                    "RootFS",
                ):
                    assert o[key] == t[key], key
            both.step(
                "history",
                "--no-trunc",
                "--format",
                "{{.ID}}|{{.CreatedBy}}|{{.Size}}|{{.Comment}}",
                child_id[7:19],
            )
            both.step(
                "history",
                "--no-trunc",
                "--format",
                "{{.ID}}|{{.Size}}",
                "docker.io/ocitool-fixture/child:latest",
            )
            both.step("rmi", "ocitool-fixture/child:extra")
            both.step("rmi", "nosuch")
            both.step("rmi", "deadbeef0123")
            both.step("rmi", base_id[7:19])  # two tags in two repositories: the soft conflict
            both.step("rmi", "nosuch", "mybase:v1", "mybase:v1")  # goes on after an error
            both.step("images", "--no-trunc", "--format", fmt, sort=True)
            both.step("rmi", "-f", base_id[7:19])  # untags 1.0, deletes; layers stay (shared)
            both.step("images", "-a", "--no-trunc", "--format", fmt, sort=True)
            both.step("image", "prune", "-f")  # dangling only: nothing
            both.step("image", "prune", "-a", "-f", sort=True)
            both.step("images", "-a", "--no-trunc", "--format", fmt)
    finally:
        after = set(docker.run("images", "-aq", "--no-trunc").stdout.decode().split())
        leftover = sorted(after - before)
        if leftover:
            docker.run("rmi", "-f", *leftover, check=False)


def test_session_children_and_hard_conflict(docker_cli: peers.DockerDaemon, tmp_path: Path) -> None:
    """A child built FROM a loaded base (``docker build`` vs ``commit``): rmi of the base by ID
    is a hard conflict (dependent child images), even with -f; untagging it leaves it."""
    docker = docker_cli
    ids = _ids_of(IMPORTED)
    _clean(docker, ids)
    both = _Both(docker, tmp_path / "root")
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "f.txt").write_text("hello from a child layer\n")
    (ctx / "Dockerfile").write_text("FROM ocitool-fixture/imported:1\nCOPY f.txt /f.txt\n")
    layer = tmp_path / "layer.tar"
    import tarfile

    with tarfile.open(layer, "w", format=tarfile.PAX_FORMAT) as tf:
        tf.add(ctx / "f.txt", arcname="f.txt")
    built: str = ""
    try:
        both.step("load", "-i", IMPORTED)
        env = dict(docker.env, DOCKER_BUILDKIT="0")
        p = peers.run([docker.docker, "build", "-q", "-t", "kid:1", str(ctx)], env=env, check=False)
        if p.returncode != 0:
            peers.missing_peer(f"docker build failed: {p.stderr.decode()[:200]}")
        built = p.stdout.decode().strip()
        from ocitool.service.service import ImageService

        svc = ImageService(both.root)
        with open(layer, "rb") as fh:
            ours_id = svc.commit("ocitool-fixture/imported:1", fh, ref="kid:1")
        # parent recorded on both sides
        assert both.ours("inspect", "--format", "{{.Parent}}", "kid:1")[1] == [
            both.ours("inspect", "--format", "{{.Id}}", "ocitool-fixture/imported:1")[1][0]
        ]
        base_id = docker.inspect("ocitool-fixture/imported:1")["Id"]
        assert docker.inspect("kid:1")["Parent"] == base_id
        base_prefix = base_id[7:19]
        # a full ID in two repositories, with a child: the hard conflict, with or without -f
        both.step("tag", "ocitool-fixture/imported:1", "other/repo:x")
        both.step("rmi", base_id)
        both.step("rmi", "-f", base_id)
        both.step("rmi", "other/repo:x")  # untag only
        both.step("rmi", "ocitool-fixture/imported:1")  # untag only: the image has a child
        dangling = ("images", "-a", "--no-trunc", "--filter", "dangling=true", "--format", "{{.ID}}")
        both.step(*dangling)  # untagged, but it has a child: not dangling
        both.step("rmi", base_prefix)  # no tags left: hard conflict
        both.step("rmi", "-f", base_prefix)  # cannot be forced
        _rc, lines, _ = both.ours("images", "-a", "--format", "{{.Repository}}:{{.Tag}}")
        assert "<none>:<none>" in lines
        assert str(ours_id) != built  # time-dependent: never compared
        # kid's own layer differs (our tar is not docker's), so its ID and chain IDs differ:
        # the shape must agree: untag, delete kid, delete its layer, delete the base and its layer
        ours, theirs = both.ours("rmi", "kid:1"), both.theirs("rmi", "kid:1")
        assert ours[0] == theirs[0] == 0
        assert len(ours[1]) == len(theirs[1]) == 5
        assert ours[1][0] == theirs[1][0] == "Untagged: kid:1"
        assert ours[1][1] == f"Deleted: {ours_id}" and theirs[1][1] == f"Deleted: {built}"
        assert ours[1][3:] == theirs[1][3:]  # the base image and its (imported) layer
    finally:
        docker.run("rmi", "-f", "kid:1", check=False)
        _clean(docker, ids | ({built} if built else set()))


def test_docker_root_images_match_the_daemon(docker_cli: peers.DockerDaemon) -> None:
    """``ocitool --docker-root`` lists the private daemon's data root as the daemon does (both
    read the whole daemon, so images other tests left there are on both sides)."""
    docker = docker_cli
    state = peers._read_state(os.environ.get("OCITOOL_DOCKERD_STATE", peers.DOCKERD_STATE_DEFAULT))
    root = state.get("OCITOOL_DOCKERD_ROOT", "")
    if not root or not os.access(os.path.join(root, "image"), os.R_OK):
        peers.missing_peer("the private daemon's data root is not readable here")
    with docker.loaded(TWO), docker.loaded(IMPORTED):
        fmt = "{{.ID}} {{.Repository}}:{{.Tag}} {{.Size}} {{.CreatedAt}}"
        theirs = docker.run("images", "-a", "--no-trunc", "--format", fmt).stdout.decode().splitlines()
        out, err = io.StringIO(), io.StringIO()
        rc = main(
            ["--docker-root", root, "images", "-a", "--no-trunc", "--format", fmt], stdout=out, stderr=err
        )
        assert rc == 0, err.getvalue()
        assert sorted(out.getvalue().splitlines()) == sorted(theirs)
        assert any("ocitool-fixture/base:1.0" in line for line in theirs)


def test_docker_loads_what_ocitool_saves(docker: peers.DockerDaemon, tmp_path: Path) -> None:
    from ocitool.service.service import ImageService

    ids = _ids_of(TWO)
    _clean(docker, ids)
    svc = ImageService(str(tmp_path / "root"))
    svc.load(TWO)
    out = tmp_path / "saved.tar"
    svc.save(["ocitool-fixture/base:1.0", "ocitool-fixture/child"], f"docker-archive:{out}")
    with docker.loaded(out) as res:
        assert res.exit_code == 0, res.stderr
        assert sorted(res.output) == [
            "Loaded image: ocitool-fixture/base:1.0",
            "Loaded image: ocitool-fixture/child:extra",
            "Loaded image: ocitool-fixture/child:latest",
        ]
        assert set(res.image_ids) == ids


def test_docker_ignores_the_pull_identity_kept_in_its_imagedb(docker_cli: peers.DockerDaemon) -> None:
    """The store keeps ``Identity.Pull`` in an imagedb metadata key of its own
    (``ocitoolPullIdentity``). Put into the real daemon's imagedb, the daemon still inspects,
    lists, tags and removes the image, and its ``rmi`` removes the key with the image."""
    docker = docker_cli
    state = peers._read_state(os.environ.get("OCITOOL_DOCKERD_STATE", peers.DOCKERD_STATE_DEFAULT))
    root, driver = state.get("OCITOOL_DOCKERD_ROOT", ""), state.get("OCITOOL_DOCKERD_DRIVER", "")
    imagedb = Path(root) / "image" / driver / "imagedb" / "metadata" / "sha256"
    if not root or not driver or not os.access(imagedb, os.W_OK):
        peers.missing_peer("the private daemon's imagedb is not writable here")
    with docker.loaded(IMPORTED):
        before = docker.inspect("ocitool-fixture/imported:1")
        meta = imagedb / before["Id"].split(":")[1]
        meta.mkdir(exist_ok=True)
        (meta / "ocitoolPullIdentity").write_bytes(b'[{"Repository":"docker.io/library/x"}]')
        after = docker.inspect("ocitool-fixture/imported:1")
        assert after == before and "Identity" not in after
        assert any(i["ID"] == before["Id"] for i in docker.images())
        docker.run("tag", "ocitool-fixture/imported:1", "ocitool-fixture/imported:pulled")
        docker.run("rmi", "ocitool-fixture/imported:pulled")
        docker.run("rmi", "-f", before["Id"])
        assert not meta.exists()
