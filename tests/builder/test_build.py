"""``ocitool build`` without a daemon: RUN refused, the cache's hits, its choice among
matching images (newest, then lowest ID), ``SOURCE_DATE_EPOCH``, the file semantics of COPY and
ADD, and the CLI. The comparisons with Docker 20.10 are in test_build_oracle.py."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest

import ocitool
from ocitool.cli import main
from ocitool.errors import DockerfileError
from ocitool.model.config import ContainerConfig
from ocitool.model.digest import Digest
from ocitool.service.build import compare_configs
from ocitool.service.service import ImageService
from ocitool.store.root import StoreRoot
from tests.builder._contexts import make_context, small_tar


def test_run_is_refused_naming_the_line(tmp_path: Path) -> None:
    ctx = make_context(tmp_path / "ctx", [])
    (ctx / "Dockerfile").write_text("FROM scratch\nENV A=1\nRUN echo hi\n")
    lines: list[str] = []
    with pytest.raises(DockerfileError) as info:
        ocitool.build(str(ctx), root=str(tmp_path / "root"), log=lines.append)
    assert info.value.line == 3 and "RUN" in str(info.value)
    assert lines[-1] == "Step 3/3 : RUN echo hi"


def test_rebuild_hits_every_step_and_keeps_the_id(tmp_path: Path) -> None:
    ctx = make_context(tmp_path / "ctx", [("f", "file", b"f"), ("d/g", "file", b"g")])
    (ctx / "Dockerfile").write_text("FROM scratch\nCOPY f /f\nWORKDIR /new\nCOPY d /d/\nENV X=1\n")
    root = str(tmp_path / "root")
    first = ocitool.build(str(ctx), root=root, tags=["t:1"])
    lines: list[str] = []
    second = ocitool.build(str(ctx), root=root, tags=["t:1"], log=lines.append)
    assert second.image_id == first.image_id
    assert second.cached_steps == (2, 3, 4, 5)
    assert lines.count(" ---> Using cache") == 4
    third = ImageService(root).build(str(ctx), no_cache=True)
    assert third.image_id != first.image_id and third.cached_steps == ()
    history = ImageService(root).history("t:1")
    assert [h.created_by.split("#(nop)")[1].split()[0] for h in history] == ["ENV", "COPY", "WORKDIR", "COPY"]


def test_source_date_epoch_makes_builds_reproducible(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Files with other mtimes, built in other stores under SOURCE_DATE_EPOCH: the same layers,
    created times from the epoch (the configs differ only by the containers' random IDs)."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    images = []
    for i in range(2):
        ctx = make_context(tmp_path / f"ctx{i}", [("f", "file", b"f"), ("d/g", "file", b"g", 0o600)])
        os.utime(ctx / "f", (1_600_000_000 + i, 1_600_000_000 + i))
        (ctx / "Dockerfile").write_text("FROM scratch\nCOPY f /f\nCOPY d /d/\nWORKDIR /w\nLABEL a=b\n")
        result = ocitool.build(str(ctx), root=str(tmp_path / f"root{i}"), no_cache=True)
        with StoreRoot.open(str(tmp_path / f"root{i}")) as r:
            images.append(r.images.get(result.image_id))
    assert images[0].rootfs == images[1].rootfs and len(images[0].rootfs.diff_ids) == 3  # type: ignore[union-attr]
    for image in images:
        assert image.created is not None and image.created.unix() == 1_700_000_000
        assert {h.created.unix() for h in image.history if h.created} == {1_700_000_000}


def _ids_of_chain(root: str, image: Digest) -> list[Digest]:
    with StoreRoot.open(root) as r:
        out = [image]
        while (parent := r.images.get_parent(out[-1])) is not None:
            out.append(parent)
        return out


def test_cache_takes_the_newest_match(tmp_path: Path) -> None:
    ctx = make_context(tmp_path / "ctx", [])
    (ctx / "Dockerfile").write_text("FROM scratch\nENV A=1\n")
    root = str(tmp_path / "root")
    older = ocitool.build(str(ctx), root=root, no_cache=True)
    newer = ocitool.build(str(ctx), root=root, no_cache=True)
    assert older.image_id != newer.image_id  # random container IDs in the configs
    assert ocitool.build(str(ctx), root=root).image_id == newer.image_id


def test_cache_breaks_a_tie_by_the_lowest_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    ctx = make_context(tmp_path / "ctx", [])
    (ctx / "Dockerfile").write_text("FROM scratch\nENV A=1\n")
    root = str(tmp_path / "root")
    built = {ocitool.build(str(ctx), root=root, no_cache=True).image_id for _ in range(3)}
    assert len(built) == 3
    assert ocitool.build(str(ctx), root=root).image_id == min(built, key=str)


def test_cache_ignores_images_not_built_locally(tmp_path: Path) -> None:
    """A loaded image with a matching container config is not a cache hit."""
    ctx = make_context(tmp_path / "ctx", [])
    (ctx / "Dockerfile").write_text("FROM scratch\nENV A=1\n")
    root = str(tmp_path / "root")
    first = ocitool.build(str(ctx), root=root, tags=["a:1"])
    with StoreRoot.open(root, write=True) as r:
        r.backend.delete_metadata(first.image_id, "builtLocally")
    lines: list[str] = []
    ocitool.build(str(ctx), root=root, log=lines.append)
    assert " ---> Using cache" not in lines


def test_compare_follows_moby() -> None:
    base = ContainerConfig({"Cmd": ["a"], "Env": ["X=1"], "Labels": {"l": "1"}, "WorkingDir": "/w"})
    assert compare_configs(base, base.updated({"WorkingDir": "/other", "Hostname": "h"}))
    assert not compare_configs(base, base.updated({"Env": ["X=2"]}))
    assert not compare_configs(base, base.updated({"Labels": {"l": "2"}}))
    assert not compare_configs(base, base.updated({"Cmd": ["a", "b"]}))
    assert not compare_configs(base, base.updated({"OpenStdin": True}))
    assert compare_configs(base.updated({"Labels": None}), base.updated({"Labels": {}}))


def _files_of_dir(dest: Path) -> dict[str, tuple[int, int, int, int, bytes]]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(dest):
        for name in [*dirnames, *filenames]:
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            data = b""
            if stat.S_ISREG(st.st_mode):
                data = Path(full).read_bytes()
            elif stat.S_ISLNK(st.st_mode):
                data = os.readlink(full).encode()
            mode = stat.S_IMODE(st.st_mode)
            out[os.path.relpath(full, dest)] = (stat.S_IFMT(st.st_mode), mode, st.st_uid, st.st_gid, data)
    return out


def _files(root: str, image: Digest, dest: Path) -> dict[str, tuple[int, int, int, int, bytes]]:
    from ocitool.store.source import StoreSource

    with StoreRoot.open(root) as r, StoreSource(r, selection=[(image, [])]) as source:
        ocitool.unpack(source.select(str(image))[0].image, dest, devices=True)
    return _files_of_dir(dest)


def test_copy_and_add_semantics(tmp_path: Path) -> None:
    ctx = make_context(
        tmp_path / "ctx",
        [
            ("f", "file", b"f", 0o640),
            ("d/g", "file", b"g", 0o4755),
            ("d/l", "symlink", "g"),
            ("link", "symlink", "d"),
            ("a.tar", "file", small_tar([("t/one", b"1")])),
        ],
    )
    (ctx / "Dockerfile").write_text(
        "FROM scratch\n"
        "COPY f /into/\n"  # a file into a new directory
        "COPY f /renamed\n"
        "COPY d /dir\n"  # a directory's contents
        "COPY link /via-link/\n"  # a symlink source is followed
        "COPY --chown=5:6 f /own/deep/\n"  # new parents take the identity
        "ADD a.tar /x/\n"
        "COPY a.tar /y/\n"  # COPY does not extract
        "WORKDIR /into\n"  # exists: no layer
        "COPY f rel\n"
    )
    root = str(tmp_path / "root")
    result = ocitool.build(str(ctx), root=root)
    files = _files(root, result.image_id, tmp_path / "fs")
    d, r = stat.S_IFDIR, stat.S_IFREG
    assert files["into"] == (d, 0o755, 0, 0, b"") and files["into/f"] == (r, 0o640, 0, 0, b"f")
    assert files["renamed"] == (r, 0o640, 0, 0, b"f")
    # the chown to the identity after the copy clears setuid, in Docker as here
    assert files["dir/g"] == (r, 0o755, 0, 0, b"g") and files["dir/l"][0] == stat.S_IFLNK
    assert files["via-link/g"] == (r, 0o755, 0, 0, b"g")
    assert files["own"][:4] == (d, 0o755, 5, 6) and files["own/deep/f"][2:4] == (5, 6)
    assert files["x/t/one"][4] == b"1" and files["y/a.tar"][0] == r
    assert files["into/rel"][4] == b"f"
    with StoreRoot.open(root) as r_:
        image = r_.images.get(result.image_id)
    assert [h.empty_layer for h in image.history if "WORKDIR" in h.created_by] == [True]
    assert len(image.rootfs.diff_ids) == 8  # type: ignore[union-attr]


def test_cli_build_prints_docker_lines(tmp_path: Path) -> None:
    ctx = make_context(tmp_path / "ctx", [("f", "file", b"f")])
    (ctx / "Dockerfile").write_text("FROM scratch\nCOPY f /f\nLABEL a=b\n")
    out, err = io.StringIO(), io.StringIO()
    argv = ["--root", str(tmp_path / "root"), "build", "-t", "me/app:1", str(ctx)]
    assert main(argv, stdout=out, stderr=err) == 0, err.getvalue()
    lines = out.getvalue().splitlines()
    assert lines[0] == "Step 1/3 : FROM scratch" and lines[1] == " ---> "
    assert lines[2] == "Step 2/3 : COPY f /f" and lines[3].startswith(" ---> ")
    assert lines[5].startswith(" ---> Running in ") and lines[6].startswith("Removing intermediate container")
    assert lines[-1] == "Successfully tagged me/app:1"
    out = io.StringIO()
    assert main(["--root", str(tmp_path / "root"), "build", "-q", str(ctx)], stdout=out, stderr=err) == 0
    assert out.getvalue().startswith("sha256:")
    out, err = io.StringIO(), io.StringIO()
    (ctx / "Dockerfile").write_text("FROM scratch\nRUN true\n")
    assert main(["--root", str(tmp_path / "root"), "build", str(ctx)], stdout=out, stderr=err) == 1
    assert "Dockerfile:2: RUN needs a container runtime" in err.getvalue()


def test_output_writes_a_destination_without_tagging(tmp_path: Path) -> None:
    ctx = make_context(tmp_path / "ctx", [("f", "file", b"f")])
    (ctx / "Dockerfile").write_text("FROM scratch\nCOPY f /f\n")
    root = str(tmp_path / "root")
    result = ocitool.build(str(ctx), root=root, tags=["x:1"], output=f"oci:{tmp_path / 'lay'}")
    assert result.output is not None
    assert ocitool.inspect(f"oci:{tmp_path / 'lay'}")[0].id == str(result.image_id)
    with StoreRoot.open(root) as r:
        assert r.references.get("x:1") is None


@pytest.mark.oracle("skopeo", "umoci")
@pytest.mark.peers
def test_outputs_are_read_by_skopeo_and_umoci(tmp_path: Path) -> None:
    """-o writes an OCI layout skopeo copies and umoci unpacks to the files the store holds."""
    from tests import peers

    ctx = make_context(
        tmp_path / "ctx", [("f", "file", b"f", 0o640), ("d/g", "file", b"g"), ("d/l", "symlink", "g")]
    )
    (ctx / "Dockerfile").write_text("FROM scratch\nCOPY f /f\nCOPY --chown=7:8 d /d/\nWORKDIR /w\n")
    root = str(tmp_path / "root")
    result = ocitool.build(str(ctx), root=root, output=f"oci:{tmp_path / 'lay'}:t")
    peers.skopeo("copy", f"oci:{tmp_path / 'lay'}:t", f"oci:{tmp_path / 'copied'}:t")
    bundle = tmp_path / "bundle"
    peers.umoci("unpack", "--image", f"{tmp_path / 'copied'}:t", str(bundle))
    theirs = _files_of_dir(bundle / "rootfs")
    ours = _files(root, result.image_id, tmp_path / "fs")
    assert theirs == ours and ours["d/g"][2:4] == (7, 8) and "w" in ours
