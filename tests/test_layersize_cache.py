"""The unpacked-size cache cannot lie: a stale, edited, moved or planted entry never changes the
size reported for a layer whose bytes match its diff ID.

The reference value is not ocitool's: it is the ``Size`` the Docker 20.10 daemon reported after
``docker load`` of the same image (``fixtures/expected/docker/single.json``)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import tarfile
from pathlib import Path

import pytest

import ocitool
from tests import peers

pytestmark = pytest.mark.oracle("docker", recorded=True)  # sizes: docker 20.10's

GZIP_LAYOUT = peers.FIXTURES / "oci" / "gzip"  # the image of docker/single.tar with gzip layers


def docker_size() -> int:
    [image] = peers.expected("docker/single.tar")["docker"]["images"]
    size: int = image["docker_image_inspect"][0]["Size"]
    return size


def cache_root() -> Path:
    return Path(os.environ["OCITOOL_CACHE_DIR"]) / "unpacked-size"


def entries() -> dict[str, Path]:
    """diff ID -> cache file, for every entry of the current format version."""
    return {f"sha256:{p.name}": p for p in cache_root().glob("v*/sha256/*") if not p.name.startswith(".")}


def size_of(src: str) -> int:
    [resp] = ocitool.inspect(src)
    return resp.size


def test_the_autouse_fixture_gives_each_test_its_own_cache_and_root(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    cache, root = Path(os.environ["OCITOOL_CACHE_DIR"]), Path(os.environ["OCITOOL_ROOT"])
    assert not cache.exists() and not root.exists()  # nothing from an earlier test
    assert cache.parent == root.parent and cache.parent.is_dir()  # a fresh temporary directory
    assert cache.parent.parent == tmp_path_factory.getbasetemp()


def test_entries_are_versioned_and_name_their_diff_id() -> None:
    want = docker_size()
    assert size_of(str(GZIP_LAYOUT)) == want
    found = entries()
    [resp] = ocitool.inspect(str(GZIP_LAYOUT))
    assert set(found) == set(resp.root_fs.layers)  # one entry per (compressed) layer
    for diff_id, path in found.items():
        assert path.parent.parent.name == "v2"
        lines = path.read_text(encoding="ascii").splitlines()
        assert lines[:2] == ["ocitool unpacked-size v2", diff_id]
        assert int(lines[2]) >= 0 and len(lines[3]) == 64


@pytest.mark.parametrize("how", ["overwritten", "size-edited", "moved", "legacy-unversioned", "garbage"])
def test_a_tampered_entry_cannot_change_the_answer(how: str) -> None:
    want = docker_size()
    assert size_of(str(GZIP_LAYOUT)) == want  # fills the cache
    found = entries()
    victim, other = sorted(found)[0], sorted(found)[1]
    path = found[victim]
    if how == "overwritten":
        path.write_text("3")  # the plain number the unversioned cache held
    elif how == "size-edited":
        lines = path.read_text(encoding="ascii").splitlines()
        lines[2] = str(int(lines[2]) + 1000)
        path.write_text("\n".join(lines) + "\n")
    elif how == "moved":
        shutil.copyfile(found[other], path)  # a valid entry, of another diff ID
    elif how == "legacy-unversioned":
        path.unlink()
        legacy = cache_root() / "sha256" / victim.split(":")[1]
        legacy.parent.mkdir(parents=True)
        legacy.write_text("3")
    else:
        path.write_bytes(b"\xff\x00" * 40)
    assert size_of(str(GZIP_LAYOUT)) == want
    # and the entry was measured again and rewritten properly
    assert entries()[victim].read_text(encoding="ascii").splitlines()[1] == victim


def _poisoned_layout(tmp_path: Path) -> tuple[Path, str]:
    """A copy of oci/gzip whose first layer holds other bytes under the genuine diff ID."""
    layout = tmp_path / "poisoned"
    shutil.copytree(GZIP_LAYOUT, layout)
    blobs = layout / "blobs" / "sha256"
    index = json.loads((layout / "index.json").read_bytes())
    manifest = json.loads((blobs / index["manifests"][0]["digest"].split(":")[1]).read_bytes())
    config = json.loads((blobs / manifest["config"]["digest"].split(":")[1]).read_bytes())
    diff_id = config["rootfs"]["diff_ids"][0]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("three.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"abc"))
    blob = gzip.compress(buf.getvalue(), mtime=0)
    digest = hashlib.sha256(blob).hexdigest()
    (blobs / digest).write_bytes(blob)
    manifest["layers"][0].update(digest=f"sha256:{digest}", size=len(blob))
    raw = json.dumps(manifest).encode()
    mdigest = hashlib.sha256(raw).hexdigest()
    (blobs / mdigest).write_bytes(raw)
    index["manifests"][0].update(digest=f"sha256:{mdigest}", size=len(raw))
    (layout / "index.json").write_text(json.dumps(index))
    return layout, diff_id


def test_an_archive_lying_about_a_diff_id_plants_nothing(tmp_path: Path) -> None:
    layout, diff_id = _poisoned_layout(tmp_path)
    want = docker_size()
    poisoned = size_of(str(layout))
    assert poisoned != want  # its own answer is about its own bytes ...
    assert diff_id not in entries()  # ... but it is not cached under a diff ID it does not match
    assert size_of(str(GZIP_LAYOUT)) == want
    assert diff_id in entries()
    # once the genuine layer is cached, the lying archive does not overwrite the entry either
    size_of(str(layout))
    assert size_of(str(GZIP_LAYOUT)) == want


def test_an_unwritable_cache_is_not_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("OCITOOL_CACHE_DIR", str(blocker))
    assert size_of(str(GZIP_LAYOUT)) == docker_size()


@pytest.mark.parametrize("xdg", [None, "/x/cache", "   ", ""])
def test_the_default_cache_dir_is_platformdirs_one(monkeypatch: pytest.MonkeyPatch, xdg: str | None) -> None:
    # On Linux the XDG rule is applied without loading platformdirs; it must give its answer.
    import platformdirs

    from ocitool.image.layersize import cache_dir

    monkeypatch.delenv("OCITOOL_CACHE_DIR", raising=False)
    if xdg is None:
        monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_CACHE_HOME", xdg)
    assert cache_dir() == platformdirs.user_cache_dir("ocitool")
