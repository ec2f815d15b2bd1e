"""ImageService and the store CLI without a daemon: real archives from the fixtures."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from ocitool.cli import main
from ocitool.engineapi.filters import ImageFilters as StoreFilters
from ocitool.errors import ImageConflictError, ImageNotFoundError, InvalidConfigError
from ocitool.model.digest import Digest
from ocitool.model.platform import Platform
from ocitool.service.service import ImageService
from ocitool.store.root import StoreRoot
from tests import peers

TWO = str(peers.FIXTURES / "docker" / "two-images.tar")
IMPORTED = str(peers.FIXTURES / "docker" / "imported.tar")
UNTAGGED = str(peers.FIXTURES / "docker" / "untagged.tar")
ROOTFS = peers.FIXTURES / "inputs" / "rootfs.tar"
OCI_GZIP = f"oci:{peers.FIXTURES / 'oci' / 'gzip'}:gzip"


def cli(root: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    rc = main(["--root", str(root), *args], stdout=out, stderr=err)
    return rc, out.getvalue(), err.getvalue()


def blobs(root: Path) -> set[str]:
    d = root / "content" / "blobs" / "sha256"
    return {n for n in os.listdir(d) if not n.startswith(".")}


@pytest.fixture
def loaded(tmp_path: Path) -> tuple[Path, ImageService]:
    root = tmp_path / "root"
    svc = ImageService(str(root))
    svc.load(TWO)
    svc.load(IMPORTED)
    return root, svc


def test_load_prints_dockers_lines_and_stores_shared_layers_once(tmp_path: Path) -> None:
    root = tmp_path / "root"
    svc = ImageService(str(root))
    res = svc.load(TWO)
    assert sorted(res.lines) == [
        "Loaded image: ocitool-fixture/base:1.0",
        "Loaded image: ocitool-fixture/child:extra",
        "Loaded image: ocitool-fixture/child:latest",
    ]
    # base: 3 layers; child: the same 3 + 3 more -> 6 blobs, not 9
    assert len(blobs(root)) == 6
    layerdb = root / "image" / "overlay2" / "layerdb" / "sha256"
    assert len(os.listdir(layerdb)) == 6
    untagged = svc.load(UNTAGGED)
    assert untagged.lines == [f"Loaded image ID: {untagged.image_ids[0]}"]
    assert len(blobs(root)) == 6  # nothing new: the same image


def test_load_any_reader_format(tmp_path: Path) -> None:
    svc = ImageService(str(tmp_path / "root"))
    res = svc.load(OCI_GZIP)
    assert res.lines == [f"Loaded image ID: {res.image_ids[0]}"]  # a bare ref name is no tag
    (summary,) = svc.images()
    assert summary.id == res.image_ids[0] and summary.size > 0


def test_images_inspect_history_from_the_store(loaded: tuple[Path, ImageService]) -> None:
    _root, svc = loaded
    rows = svc.images()
    assert [r.repo_tags for r in rows if "ocitool-fixture/child:latest" in r.repo_tags] == [
        ["ocitool-fixture/child:extra", "ocitool-fixture/child:latest"]
    ]
    child = next(r for r in rows if "ocitool-fixture/child:latest" in r.repo_tags)
    (resp,) = svc.inspect([child.id[7:19]])
    assert resp.id == child.id and resp.size == child.size
    assert resp.metadata.last_tag_time.is_zero()
    hist = svc.history("ocitool-fixture/child")
    assert hist[0].id == child.id and hist[0].tags == [
        "ocitool-fixture/child:extra",
        "ocitool-fixture/child:latest",
    ]
    assert all(h.id == "<missing>" for h in hist[1:])
    assert sum(h.size for h in hist) == child.size
    with pytest.raises(ImageNotFoundError) as info:
        svc.inspect(["nosuch"])
    assert info.value.ref == "nosuch:latest"
    from ocitool.errors import PlatformNotFoundError

    with pytest.raises(PlatformNotFoundError):
        svc.inspect([child.id], platform=Platform.parse("linux/s390x"))


def test_tag_and_rmi_untag_vs_delete(loaded: tuple[Path, ImageService]) -> None:
    root, svc = loaded
    imported_id = svc.tag("ocitool-fixture/imported:1", "again:2")
    (resp,) = svc.inspect(["again:2"])
    assert not resp.metadata.last_tag_time.is_zero()
    before = blobs(root)
    (r,) = svc.rmi(["again:2"])
    assert [d.untagged for d in r.records] == ["again:2"] and r.error is None
    (r,) = svc.rmi([str(imported_id)])
    assert [d.to_json() for d in r.records][:2] == [
        {"Untagged": "ocitool-fixture/imported:1"},
        {"Deleted": str(imported_id)},
    ]
    assert len(r.records) == 3  # and its one layer
    assert len(blobs(root)) == len(before) - 1
    # two tags (even in one repository) and an ID: moby's soft conflict; -f untags both
    child = svc.inspect(["ocitool-fixture/child:latest"])[0].id
    (r,) = svc.rmi([child[7:19]])
    assert isinstance(r.error, ImageConflictError) and r.records == []
    (r,) = svc.rmi([child[7:19]], force=True)
    assert r.error is None and [d.untagged for d in r.records if d.untagged] == [
        "ocitool-fixture/child:extra",
        "ocitool-fixture/child:latest",
    ]
    # only the child's own 3 layers went: the base still uses the other 3
    assert len(blobs(root)) == 3


def test_rmi_conflicts_as_moby_reports_them(loaded: tuple[Path, ImageService]) -> None:
    root, svc = loaded
    base = svc.inspect(["ocitool-fixture/base:1.0"])[0].id
    svc.tag(base, "other/repo:x")
    (r,) = svc.rmi([base[7:19]])
    assert isinstance(r.error, ImageConflictError) and not r.error.hard
    assert str(r.error) == (
        f"conflict: unable to delete {base[7:19]} (must be forced) - "
        "image is referenced in multiple repositories"
    )
    # a child makes it a hard conflict that -f cannot force
    tar = _layer_tar(Path(root).parent, {"hello.txt": b"hi\n"})
    with open(tar, "rb") as fh:
        kid = svc.commit(base, fh, ref="kid:1", changes=["ENV K=v"])
    assert svc.inspect(["kid:1"])[0].parent == base
    for force in (False, True):
        (r,) = svc.rmi([base], force=force)
        if force:
            assert isinstance(r.error, ImageConflictError) and r.error.hard
            assert "(cannot be forced) - image has dependent child images" in str(r.error)
        # with or without -f: the hard conflict, nothing untagged (Docker 20.10 says the same
        # for a full ID with two repositories and a child: tests/store/test_docker_session.py)
        assert isinstance(r.error, ImageConflictError) and r.error.hard and r.records == []
        assert str(r.error) == (
            f"conflict: unable to delete {base[7:19]} (cannot be forced) - image has dependent child images"
        )
    assert sorted(svc.inspect([base])[0].repo_tags) == ["ocitool-fixture/base:1.0", "other/repo:x"]
    with StoreRoot.open(str(root)) as sr:
        assert sr.images.is_built_locally(kid)
    (r,) = svc.rmi(["kid:1"], prune=False)
    assert next(d.deleted for d in r.records if d.deleted) == str(kid)
    with StoreRoot.open(str(root)) as sr:
        assert not sr.images.exists(kid)
        assert sr.images.exists(Digest.parse(base))


def _layer_tar(where: Path, files: dict[str, bytes]) -> Path:
    path = where / "layer.tar"
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def test_commit_makes_a_child_as_new_child_image(loaded: tuple[Path, ImageService], tmp_path: Path) -> None:
    root, svc = loaded
    tar = _layer_tar(tmp_path, {"etc/added": b"x" * 100})
    with open(tar, "rb") as fh:
        kid = svc.commit("ocitool-fixture/imported:1", fh, author="me", comment="c", changes=['CMD ["/x"]'])
    with StoreRoot.open(str(root)) as sr:
        config = sr.images.get(kid)
        assert sr.images.is_built_locally(kid)
        parent = sr.images.get(sr.images.get_parent(kid))  # type: ignore[arg-type]
    assert config.rootfs is not None and parent.rootfs is not None
    assert config.rootfs.diff_ids[:-1] == parent.rootfs.diff_ids
    assert config.rootfs.diff_ids[-1] == Digest.parse(
        "sha256:" + hashlib.sha256(tar.read_bytes()).hexdigest()
    )
    assert config.history[-1].author == "me" and config.history[-1].comment == "c"
    assert config.config is not None and config.config.cmd == ["/x"]
    hist = svc.history(str(kid))
    assert hist[0].size == 100 and hist[1].id == str(parent.id)


def test_import_with_changes_and_message(tmp_path: Path) -> None:
    svc = ImageService(str(tmp_path / "root"))
    changes = [
        'CMD ["/bin/true"]',
        "ENTRYPOINT /bin/hello",
        'ENV A=1 B="two words"',
        "EXPOSE 8080 53/udp",
        'LABEL a=b c="d e"',
        "ONBUILD run echo hi",
        "USER 1000:1000",
        "VOLUME /data",
        "WORKDIR /srv",
        "STOPSIGNAL SIGQUIT",
    ]
    with open(ROOTFS, "rb") as fh:
        id = svc.import_image(
            fh, ref="imp:1", changes=changes, message="imported", platform=Platform.parse("linux/arm64")
        )
    (resp,) = svc.inspect(["imp:1"])
    assert resp.id == str(id) and resp.comment == "imported"
    # fixtures/README.md: docker import keeps the bytes, the diff ID is sha256 of rootfs.tar
    assert resp.root_fs.layers == ["sha256:" + hashlib.sha256(ROOTFS.read_bytes()).hexdigest()]
    assert (resp.os, resp.architecture) == ("linux", "arm64")
    cfg = resp.config or {}
    assert cfg["Cmd"] == ["/bin/true"] and cfg["Entrypoint"] == ["/bin/sh", "-c", "/bin/hello"]
    assert cfg["Env"] == ["A=1", "B=two words"] and set(cfg["ExposedPorts"]) == {"8080/tcp", "53/udp"}
    assert cfg["Labels"] == {"a": "b", "c": "d e"} and cfg["OnBuild"] == ["RUN echo hi"]
    assert cfg["User"] == "1000:1000" and cfg["Volumes"] == {"/data": {}} and cfg["WorkingDir"] == "/srv"
    assert cfg["StopSignal"] == "SIGQUIT"
    with (
        open(ROOTFS, "rb") as fh,
        pytest.raises(InvalidConfigError, match="RUN is not a valid change command"),
    ):
        svc.import_image(fh, changes=["RUN rm -rf /"])


@pytest.mark.oracle("docker", recorded=True)
def test_import_matches_the_docker_import_fixture(tmp_path: Path) -> None:
    """fixtures/docker/imported.tar came from ``docker import --change 'CMD ["/bin/true"]'
    --message imported``: everything but created (and the ID) must agree."""
    from ocitool import inspect as archive_inspect

    (theirs,) = archive_inspect(IMPORTED)
    svc = ImageService(str(tmp_path / "root"))
    with open(ROOTFS, "rb") as fh:
        svc.import_image(
            fh,
            ref="x:1",
            changes=['CMD ["/bin/true"]'],
            message="imported",
            platform=Platform.parse(f"{theirs.os}/{theirs.architecture}"),
        )
    (ours,) = svc.inspect(["x:1"])
    for key in ("comment", "config", "architecture", "os", "size", "root_fs", "author"):
        assert getattr(ours, key) == getattr(theirs, key), key
    h_ours, h_theirs = svc.history("x:1"), __import__("ocitool").history(IMPORTED)
    assert [(h.comment, h.created_by, h.size) for h in h_ours] == [
        (h.comment, h.created_by, h.size) for h in h_theirs
    ]


def test_images_filters(loaded: tuple[Path, ImageService], tmp_path: Path) -> None:
    _root, svc = loaded
    svc.load(UNTAGGED)
    f = StoreFilters.parse
    all_ids = {s.id for s in svc.images()}
    assert len(all_ids) == 3
    assert svc.images(filters=f(["dangling=true"])) == []
    labelled = svc.images(filters=f(["label=org.opencontainers.image.version=1.0"]))
    assert {s.id for s in labelled} <= all_ids and labelled
    assert svc.images(filters=f(["label=nope"])) == []
    refs = svc.images(filters=f(["reference=ocitool-fixture/child:*"]))
    assert [s.repo_tags for s in refs] == [["ocitool-fixture/child:extra", "ocitool-fixture/child:latest"]]
    assert svc.images(filters=f(["until=2000-01-01"])) == []
    assert len(svc.images(filters=f(["until=1s"]))) == 3
    newest = svc.images()[0]
    assert all(s.created < newest.created for s in svc.images(filters=f([f"before={newest.id}"])))
    with pytest.raises(ValueError):
        f(["bogus=1"])
    # untag the imported image: now dangling
    svc.rmi(["ocitool-fixture/imported:1"], prune=False)
    # removing the only tag deletes it (no children): dangling list stays empty
    assert svc.images(filters=f(["dangling=true"])) == []


def test_prune_dangling_all_and_label(loaded: tuple[Path, ImageService]) -> None:
    root, svc = loaded
    expected = svc.disk_usage().layers_size
    report = svc.prune()
    assert report.images_deleted == [] and report.space_reclaimed == 0
    report = svc.prune(all_images=True, filters=StoreFilters.parse(["label=nope"]))
    assert report.images_deleted == []
    report = svc.prune(all_images=True, filters=StoreFilters.parse(["until=2000-01-01T00:00:00Z"]))
    assert report.images_deleted == []
    report = svc.prune(all_images=True)
    assert report.to_json()["SpaceReclaimed"] == report.space_reclaimed > 0
    assert svc.images(all_images=True) == []
    assert blobs(root) == set()
    assert report.space_reclaimed == expected  # every layer's size, once


def test_system_df_counts_shared_layers_once(loaded: tuple[Path, ImageService]) -> None:
    root, svc = loaded
    usage = svc.disk_usage()
    by_tag = {t: s for s in usage.images for t in s.repo_tags}
    base, child = by_tag["ocitool-fixture/base:1.0"], by_tag["ocitool-fixture/child:latest"]
    imported = by_tag["ocitool-fixture/imported:1"]
    assert base.shared_size == base.size  # all its layers are the child's too
    assert child.shared_size == base.size
    assert imported.shared_size == 0
    assert usage.layers_size == child.size + imported.size
    rc, out, _ = cli(root, "system", "df")
    assert rc == 0 and out.splitlines()[1].split()[:3] == ["Images", "3", "0"]


def test_fresh_process_uses_the_index_not_every_config(loaded: tuple[Path, ImageService]) -> None:
    """Corrupt one image's config on disk: a fresh process still answers ``inspect PREFIX``
    for another image and lists both in ``images`` — it parsed only what it showed."""
    root, svc = loaded
    base = svc.inspect(["ocitool-fixture/base:1.0"])[0].id
    imported = svc.inspect(["ocitool-fixture/imported:1"])[0].id
    content = root / "image" / "overlay2" / "imagedb" / "content" / "sha256"
    (content / imported[7:]).write_bytes(b'{"garbage": true}')
    env = dict(os.environ)
    run = [sys.executable, "-m", "ocitool", "--root", str(root)]
    p = subprocess.run([*run, "inspect", "--format", "{{.Id}}", base[7:17]], capture_output=True, env=env)
    assert p.returncode == 0 and p.stdout.decode().strip() == base
    p = subprocess.run([*run, "images", "-q", "--no-trunc"], capture_output=True, env=env)
    assert p.returncode == 0 and imported in p.stdout.decode().split()
    p = subprocess.run([*run, "inspect", imported[7:17]], capture_output=True, env=env)
    assert p.returncode == 1 and b"Traceback" not in p.stderr and b"digest mismatch" in p.stderr


def test_a_lost_or_stale_index_is_rebuilt(loaded: tuple[Path, ImageService]) -> None:
    root, svc = loaded
    before = [(s.id, s.repo_tags, s.size, s.parent_id) for s in svc.images(all_images=True)]
    index = root / "image" / "overlay2" / "ocitool-index.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(str(index) + suffix).unlink(missing_ok=True)
    assert [(s.id, s.repo_tags, s.size, s.parent_id) for s in svc.images(all_images=True)] == before
    # a writer that died mid-operation leaves the dirty mark: the next open rebuilds
    (root / "image" / "overlay2" / "ocitool-index.dirty").write_bytes(b"")
    assert [(s.id, s.repo_tags, s.size, s.parent_id) for s in svc.images(all_images=True)] == before
    assert not (root / "image" / "overlay2" / "ocitool-index.dirty").exists()


def test_two_processes_on_one_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    run = [sys.executable, "-m", "ocitool", "--root", str(root), "load", "-i"]
    procs = [
        subprocess.Popen([*run, a], stdout=subprocess.PIPE, stderr=subprocess.PIPE) for a in (TWO, IMPORTED)
    ]
    for p in procs:
        _out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    svc = ImageService(str(root))
    assert len(svc.images()) == 3
    with StoreRoot.open(str(root)) as sr:
        for row in sr.images.rows():
            sr.images.get(row.id)  # every config verifies
            assert row.top_chain is None or sr.layers.get(row.top_chain) is not None


def test_cli_exit_codes_and_messages(
    loaded: tuple[Path, ImageService], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, _svc = loaded
    rc, out, err = cli(root, "rmi", "nosuch", "ocitool-fixture/imported:1")
    assert rc == 1 and "Error: No such image: nosuch:latest" in err
    assert out.startswith("Untagged: ocitool-fixture/imported:1\nDeleted: sha256:")
    rc, _, err = cli(root, "tag", "ocitool-fixture/base:1.0", "BAD:x")
    assert rc == 1 and "must be lowercase" in err and "Traceback" not in err
    rc, _, _ = cli(root, "rmi")
    assert rc == 125
    out, err = io.StringIO(), io.StringIO()
    # issue 10: without a SOURCE, images lists the default store (the one load fills), as docker
    monkeypatch.setenv("OCITOOL_ROOT", str(root))
    assert main(["images", "-q"], stdout=out, stderr=err) == 0
    assert out.getvalue() and out.getvalue() == cli(root, "images", "-q")[1]
    rc, out, _ = cli(root, "images", "--format", "{{json .}}")
    assert rc == 0 and all(json.loads(line)["Repository"] for line in out.splitlines())
    rc, out, _ = cli(root, "history", "-q", "ocitool-fixture/base:1.0")
    assert rc == 0 and out.splitlines()[0] != "<missing>"
    rc, _, err = cli(root, "load", "-i", str(peers.FIXTURES / "README.md"))
    assert rc == 1 and err.startswith("Error: ")
    rc, out, _ = cli(root, "image", "prune", "-a", "-f")
    assert rc == 0 and out.startswith("Deleted Images:\n") and "Total reclaimed space: " in out


@pytest.mark.oracle("docker-cli", recorded=True)
def test_fast_table_is_the_template_engines_table(loaded: tuple[Path, ImageService]) -> None:
    from ocitool.cli.contexts import IMAGES_HEADERS, IMAGES_TABLE, fast_image_table, image_rows
    from ocitool.cli.template import render_table

    _root, svc = loaded
    svc.tag("ocitool-fixture/base:1.0", "a-rather-long-registry.example.com:5000/some/very/long/name:tag-1")
    svc.load(UNTAGGED)
    for trunc in (True, False):
        rows = image_rows(svc.images(all_images=True), trunc=trunc)
        assert fast_image_table(rows, quiet=False) == render_table(IMAGES_TABLE, rows, IMAGES_HEADERS)
        assert fast_image_table(rows, quiet=True) == render_table("{{.ID}}", rows, IMAGES_HEADERS)
    # Independently of both renderers: the table's columns start where their headers do, and its
    # rows carry what docker 20.10 listed after loading the same archives (fixtures/expected/)
    recorded = [
        (r["Repository"], r["Tag"], r["ID"], r["Size"])
        for rel in ("docker/two-images.tar", "docker/imported.tar")
        for r in peers.expected(rel)["docker"]["docker_images_cli"]
    ]
    for trunc in (True, False):
        rows = image_rows(svc.images(all_images=True), trunc=trunc)
        header, *lines = fast_image_table(rows, quiet=False).splitlines()
        names = ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"]
        starts = [header.index(n) for n in names]
        assert header.split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
        cells = []
        for line in lines:
            bounds = [*starts[1:], None]
            cell = [line[a:b].strip() for a, b in zip(starts, bounds, strict=True)]
            assert all(line[a - 1] == " " for a in starts[1:]), line  # aligned under its header
            cells.append(cell)
        listed = {(c[0], c[1], c[2], c[4]) for c in cells}
        for repo, tag, image_id, size in recorded:
            assert (repo, tag, image_id[7:19] if trunc else image_id, size) in listed


def _tree(layers: list) -> dict[str, tuple[str, int, int]]:  # type: ignore[type-arg]
    from ocitool.ops.rootfs import iter_merged

    return {
        e.info.name.rstrip("/"): (e.info.type.decode(), e.info.size, e.info.mode & 0o7777)
        for e in iter_merged(layers)
    }


def test_squash_keeps_the_filesystem_and_applies_whiteouts(loaded: tuple[Path, ImageService]) -> None:
    root, svc = loaded
    child = svc.inspect(["ocitool-fixture/child:latest"])[0]
    base = svc.inspect(["ocitool-fixture/base:1.0"])[0]
    for parent in ("ocitool-fixture/base:1.0", ""):
        new = svc.squash("ocitool-fixture/child:latest", parent, tag="sq:1")
        (resp,) = svc.inspect(["sq:1"])
        keep = len(base.root_fs.layers) if parent else 0
        assert resp.root_fs.layers[:keep] == child.root_fs.layers[:keep]
        assert len(resp.root_fs.layers) == keep + 1
        with StoreRoot.open(str(root)) as sr:
            config = sr.images.get(new)
            mine = [sr.layers.as_layer(i) for i in sr.layers.chain(config.rootfs.chain_id())]  # type: ignore[union-attr]
            orig = sr.images.get(Digest.parse(child.id))
            theirs = [sr.layers.as_layer(i) for i in sr.layers.chain(orig.rootfs.chain_id())]  # type: ignore[union-attr]
            squashed_tree, child_tree = _tree(mine), _tree(theirs)
        assert squashed_tree == child_tree
        assert "etc/remove-me.txt" not in squashed_tree  # the buildah whiteout, applied
        hist = config.history
        assert hist[-1].comment == (
            f"merge {base.id} to {child.id}" if parent else f"create new from {child.id}"
        )
        assert sum(1 for h in hist if not h.empty_layer) == len(config.rootfs.diff_ids)  # type: ignore[union-attr]


def test_save_writes_what_the_readers_and_docker_read(
    loaded: tuple[Path, ImageService], tmp_path: Path
) -> None:
    from ocitool import images as archive_images

    root, svc = loaded
    out = tmp_path / "saved.tar"
    ids = svc.save(["ocitool-fixture/child", "ocitool-fixture/imported:1"], f"docker-archive:{out}")
    rows = archive_images([str(out)])
    assert {r.id for r in rows} == set(ids)
    assert sorted(t for r in rows for t in r.repo_tags) == [
        "ocitool-fixture/child:extra",
        "ocitool-fixture/child:latest",
        "ocitool-fixture/imported:1",
    ]
    assert json.loads((root / "content" / "index.json").read_text())["manifests"] == []
    layout = tmp_path / "layout"
    svc.save([ids[1][7:19]], f"oci:{layout}")
    assert [r.id for r in archive_images([str(layout)])] == [ids[1]]
    with pytest.raises(ImageNotFoundError):
        svc.save(["nosuch:1"], f"oci:{tmp_path / 'x'}")
    assert not (tmp_path / "x").exists()


def test_an_interrupted_load_leaves_no_orphan_layers(
    loaded: tuple[Path, ImageService], tmp_path: Path
) -> None:
    root, svc = loaded
    before = blobs(root)
    tar = _layer_tar(tmp_path, {"orphan": b"o" * 10})
    with StoreRoot.open(str(root), write=True) as sr, open(tar, "rb") as fh:
        sr.layers.register(fh, None)  # ... and the process dies before creating the image:
        sr.db.commit()
    (root / "image" / "overlay2" / "ocitool-index.dirty").write_bytes(b"")
    assert len(blobs(root)) == len(before) + 1
    assert len(svc.images()) == 3  # the next open rebuilds and releases the orphan
    assert blobs(root) == before


@pytest.mark.oracle("skopeo", "umoci")
def test_squash_unpacks_like_the_original_in_umoci(
    loaded: tuple[Path, ImageService], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The squashed image's filesystem, as umoci unpacks it from what ``save`` wrote, is the
    original child's, as umoci unpacks it from the fixture docker saved (no ocitool reader in
    the comparison)."""
    from tests import oracles

    _root, svc = loaded
    child = svc.inspect(["ocitool-fixture/child:latest"])[0]
    [original] = [
        ref
        for ref in oracles.images_in(Path(TWO), tmp_path_factory.mktemp("two"))
        if oracles.sha256(oracles.config_bytes(ref)) == child.id
    ]
    want = oracles.umoci_rootfs(original, tmp_path_factory.mktemp("original"))
    assert "etc/remove-me.txt" not in want and "srv/child/added-by-buildah.txt" in want
    for parent in ("ocitool-fixture/base:1.0", ""):
        squashed = svc.squash("ocitool-fixture/child:latest", parent, tag="sq:1")
        saved = tmp_path_factory.mktemp("saved") / "layout"
        svc.save(["sq:1"], f"oci:{saved}")
        [ref] = oracles.images_in(saved, tmp_path_factory.mktemp("refs"))
        assert oracles.sha256(oracles.config_bytes(ref)) == str(squashed)
        assert oracles.umoci_rootfs(ref, tmp_path_factory.mktemp("squashed")) == want
