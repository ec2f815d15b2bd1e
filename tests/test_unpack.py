"""``unpack`` and ``export`` against ``umoci unpack`` on real images with whiteouts."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile
from pathlib import Path
from typing import Any

import pytest

from ocitool.cli import main
from ocitool.formats.detect import open_source
from ocitool.ops.rootfs import merged_tar
from ocitool.ops.unpack import export, unpack
from tests import peers
from tests.oracles import snapshot

WHITEOUTS = peers.FIXTURES / "buildah" / "whiteouts.tar"
OPAQUE = peers.FIXTURES / "buildah" / "opaque.tar"


def umoci_rootfs(archive: Path, tmp: Path) -> Path:
    layout = tmp / "layout"
    peers.skopeo("copy", f"docker-archive:{archive}", f"oci:{layout}:t")
    bundle = tmp / "bundle"
    args = ["unpack", "--image", f"{layout}:t", str(bundle)]
    if os.geteuid() != 0:
        args.insert(1, "--rootless")
    peers.umoci(*args)
    return bundle / "rootfs"


@pytest.mark.oracle("skopeo", "umoci")
@pytest.mark.peers
@pytest.mark.parametrize(
    "archive",
    [
        pytest.param(WHITEOUTS, id="whiteouts"),
        pytest.param(OPAQUE, id="opaque"),
        pytest.param("legacy-whiteout.tar", id="real-legacy-whiteout", marks=pytest.mark.real),
        pytest.param("docker1809-dive-14-layers.tar", id="real-dive", marks=pytest.mark.real),
    ],
)
def test_unpack_equals_umoci(archive: Path | str, tmp_path: Path) -> None:
    if isinstance(archive, str):
        archive = peers.real_fixture(archive)
    expected = snapshot(umoci_rootfs(archive, tmp_path))
    ours_dir = tmp_path / "ours"
    result = unpack(str(archive), str(ours_dir))
    assert result.entries >= 1
    ours = snapshot(ours_dir)
    assert sorted(ours) == sorted(expected)
    for path in expected:
        assert ours[path] == expected[path], path


def test_whiteouts_applied(tmp_path: Path) -> None:
    unpack(str(WHITEOUTS), str(tmp_path / "w"))
    assert not (tmp_path / "w/etc/remove-me.txt").exists()
    assert not (tmp_path / "w/opt/olddir").exists()
    assert (tmp_path / "w/etc/passwd").is_file()
    unpack(str(OPAQUE), str(tmp_path / "o"))
    assert sorted(os.listdir(tmp_path / "o/opt/opaque-dir")) == ["new.txt"]
    assert not (tmp_path / "o/etc/empty.conf").exists()
    assert not any(".wh." in p for p in snapshot(tmp_path / "o"))


def test_export_equals_unpack(tmp_path: Path) -> None:
    out = tmp_path / "fs.tar"
    export(str(OPAQUE), str(out))
    unpack(str(OPAQUE), str(tmp_path / "dir"))
    with tarfile.open(out) as tar:
        names = {m.name for m in tar.getmembers() if m.name != "."}
        by_name = {m.name: m for m in tar.getmembers()}
    assert names == set(snapshot(tmp_path / "dir"))
    assert by_name["opt/opaque-dir/new.txt"].size == 4
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_merged_tar_keep_whiteouts() -> None:
    with open_source(str(OPAQUE)) as src:
        image = src.entries[0].images()[0]
        buf = io.BytesIO()
        merged_tar(image.layers[-1:], buf, keep_whiteouts=True)
        buf.seek(0)
        with tarfile.open(fileobj=buf) as tar:
            names = tar.getnames()
    assert "opt/opaque-dir/.wh..wh..opq" in names
    assert "etc/.wh.empty.conf" in names
    assert "opt/opaque-dir/new.txt" in names


def test_merged_tar_hardlinks_follow_their_inode(tmp_path: Path) -> None:
    with open_source(str(WHITEOUTS)) as src:
        image = src.entries[0].images()[0]
        buf = io.BytesIO()
        merged_tar(image.layers, buf)
    buf.seek(0)
    with tarfile.open(fileobj=buf) as tar:
        links = [m for m in tar.getmembers() if m.islnk()]
        regular = {m.name for m in tar.getmembers() if m.isreg()}
    assert links, "the fixture has hardlinks"
    assert all(m.linkname in regular for m in links)


def test_unpack_target_must_be_empty(tmp_path: Path) -> None:
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "x").write_text("keep")
    with pytest.raises(FileExistsError):
        unpack(str(WHITEOUTS), str(tmp_path / "t"))
    assert (tmp_path / "t" / "x").read_text() == "keep"


def test_cli_unpack_and_export(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main(["unpack", str(OPAQUE), str(tmp_path / "r")], stdout=out, stderr=err) == 0, err.getvalue()
    assert (tmp_path / "r/opt/opaque-dir/new.txt").read_bytes()
    assert main(["export", str(OPAQUE), str(tmp_path / "x.tar")], stdout=out, stderr=err) == 0
    assert tarfile.is_tarfile(tmp_path / "x.tar")
    err = io.StringIO()
    assert main(["unpack", str(tmp_path / "missing.tar"), str(tmp_path / "z")], stdout=out, stderr=err) == 1
    assert err.getvalue().startswith("Error:")
    assert not (tmp_path / "z").exists()


def test_xattrs_modes_and_setuid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_rootfs import layers_of

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, mode in (("suid", 0o4755), ("sticky", 0o1777)):
            info = tarfile.TarInfo(name)
            info.mode, info.mtime = mode, 1_500_000_000
            if name == "suid":
                info.size = 2
                info.pax_headers = {"SCHILY.xattr.user.origin": "layer"}
                tar.addfile(info, io.BytesIO(b"#!"))
            else:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
    layers = layers_of(buf.getvalue())
    from ocitool.ops.unpack import unpack_layers

    unpack_layers(layers, str(tmp_path / "root"))
    st = os.stat(tmp_path / "root" / "suid")
    assert stat.S_IMODE(st.st_mode) == (0o4755 if os.geteuid() == 0 else 0o755)
    assert int(st.st_mtime) == 1_500_000_000
    assert os.getxattr(tmp_path / "root" / "suid", "user.origin") == b"layer"
    assert stat.S_IMODE(os.stat(tmp_path / "root" / "sticky").st_mode) == 0o1777
    # As an unprivileged user the setuid and setgid bits are cleared, the sticky bit kept.
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    unpack_layers(layers, str(tmp_path / "user"))
    assert stat.S_IMODE(os.stat(tmp_path / "user" / "suid").st_mode) == 0o755
    assert stat.S_IMODE(os.stat(tmp_path / "user" / "sticky").st_mode) == 0o1777


# Paths the daemon's init layer adds to every container (and the directories holding them,
# whose mtimes it changes): not part of the image.
_DOCKER_INIT = {
    ".dockerenv",
    "dev",
    "proc",
    "sys",
    "etc/hostname",
    "etc/hosts",
    "etc/mtab",
    "etc/resolv.conf",
}
_DOCKER_INIT_PARENTS = {".", "etc"}


def tar_snapshot(path: Path) -> dict[str, tuple[Any, ...]]:
    """Each member of a tar: type (hardlinks as the file they name), mode, size, target, content
    hash, mtime, owner."""
    out: dict[str, tuple[Any, ...]] = {}
    with tarfile.open(path) as tar:
        members = {m.name.rstrip("/").removeprefix("./") or ".": m for m in tar.getmembers()}
        for name, m in members.items():
            top = name.split("/", 1)[0]
            if name in _DOCKER_INIT or top in ("dev", "proc", "sys"):
                continue
            target = members[m.linkname.removeprefix("./")] if m.islnk() else m
            digest = ""
            if target.isreg():
                fh = tar.extractfile(target)
                assert fh is not None
                digest = hashlib.sha256(fh.read()).hexdigest()
            kind = tarfile.REGTYPE if target.isreg() else m.type
            mtime = None if name in _DOCKER_INIT_PARENTS else int(m.mtime)
            link = m.linkname if m.issym() else ""
            out[name] = (kind, m.mode & 0o7777, target.size, link, digest, mtime, m.uid, m.gid)
    out.pop(".", None)
    return out


@pytest.mark.oracle("docker")
@pytest.mark.peers
@pytest.mark.parametrize(
    "archive",
    [
        pytest.param(WHITEOUTS, id="whiteouts"),
        pytest.param(OPAQUE, id="opaque"),
        pytest.param("legacy-whiteout.tar", id="real-legacy-whiteout", marks=pytest.mark.real),
        pytest.param("docker1809-dive-14-layers.tar", id="real-dive", marks=pytest.mark.real),
    ],
)
def test_export_equals_docker_export(archive: Path | str, tmp_path: Path, docker: peers.DockerDaemon) -> None:
    if isinstance(archive, str):
        archive = peers.real_fixture(archive)
    with docker.loaded(archive) as loaded:
        container = docker.run("create", loaded.image_ids[0], "/bin/true").stdout.decode().strip()
        try:
            theirs = tmp_path / "docker.tar"
            theirs.write_bytes(docker.run("export", container).stdout)
        finally:
            docker.run("rm", "-f", container)
    ours = tmp_path / "ours.tar"
    export(str(archive), str(ours))
    expected, got = tar_snapshot(theirs), tar_snapshot(ours)
    if "etc" not in got:
        expected.pop("etc")  # made by the init layer for /etc/hosts
    assert sorted(got) == sorted(expected)
    for name in expected:
        assert got[name] == expected[name], name
