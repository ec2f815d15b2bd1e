"""Variants of real archives that other tools write: each is derived from a fixture made by a
real tool, changed the way that tool differs, and must read the same."""

from __future__ import annotations

import io
import json
import os
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from ocitool._io.tarindex import TarView
from ocitool.errors import BlobNotFoundError, InvalidArchiveError
from ocitool.formats.detect import open_source
from ocitool.ops import query
from tests import peers

F = peers.FIXTURES
SINGLE = F / "docker" / "single.tar"


def rewrite(
    src: Path,
    dst: Path,
    change: Callable[[tarfile.TarInfo, bytes | None], list[tuple[tarfile.TarInfo, bytes | None]]],
) -> None:
    """Copy a tar member by member through ``change`` (which may rename, drop or add)."""
    with tarfile.open(src) as tin, tarfile.open(dst, "w") as tout:
        for info in tin:
            data = tin.extractfile(info).read() if info.isfile() else None  # type: ignore[union-attr]
            for new_info, new_data in change(info, data):
                tout.addfile(new_info, io.BytesIO(new_data) if new_data is not None else None)


def member(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def reference(path: Path) -> list[tuple[str, list[str], list[str]]]:
    return [(r.id, r.repo_tags, r.root_fs.layers) for r in query.inspect(str(path), with_size=False)]


def test_jib_lowercase_manifest_keys(tmp_path: Path) -> None:
    def lower(info: tarfile.TarInfo, data: bytes | None) -> list[tuple[tarfile.TarInfo, bytes | None]]:
        if info.name == "manifest.json" and data is not None:
            doc = [{k.lower(): v for k, v in item.items()} for item in json.loads(data)]
            return [member(info.name, json.dumps(doc).encode())]
        return [(info, data)]

    out = tmp_path / "jib.tar"
    rewrite(SINGLE, out, lower)
    assert b'"config"' in TarView(str(out)).read("manifest.json")
    assert reference(out) == reference(SINGLE)


def test_config_not_named_by_its_digest(tmp_path: Path) -> None:
    [item] = json.loads(TarView(str(SINGLE)).read("manifest.json"))

    def rename(info: tarfile.TarInfo, data: bytes | None) -> list[tuple[tarfile.TarInfo, bytes | None]]:
        assert data is not None or not info.isfile()
        if info.name == item["Config"]:
            return [member("config.json", data or b"")]
        if info.name == "manifest.json":
            return [member(info.name, json.dumps([{**item, "Config": "config.json"}]).encode())]
        return [(info, data)]

    out = tmp_path / "renamed.tar"
    rewrite(SINGLE, out, rename)
    assert reference(out) == reference(SINGLE)


def test_dot_slash_member_names_in_an_oci_archive(tmp_path: Path) -> None:
    src = F / "oci-archive" / "base.tar"

    def dot(info: tarfile.TarInfo, data: bytes | None) -> list[tuple[tarfile.TarInfo, bytes | None]]:
        info.name = "./" + info.name
        return [(info, data)]

    out = tmp_path / "dot.tar"
    rewrite(src, out, dot)
    with tarfile.open(out) as tar:
        assert all(n.startswith("./") for n in tar.getnames())
    assert reference(out) == reference(src)
    assert query.raw_manifest(str(out)) == query.raw_manifest(str(src))


def test_oci_archive_compressed_whole(tmp_path: Path) -> None:
    import zstandard

    src = F / "oci-archive" / "base.tar"
    out = tmp_path / "base.tar.zst"
    out.write_bytes(zstandard.ZstdCompressor().compress(src.read_bytes()))
    assert reference(out) == reference(src)


def test_ctr_export_with_some_platforms_absent(tmp_path: Path) -> None:
    layout = tmp_path / "partial"
    shutil.copytree(F / "oci" / "multiplatform", layout)
    with open_source(str(layout)) as src:
        [entry] = src.entries
        arm64 = next(img for img in entry.images() if img.platform.architecture == "arm64")
        gone = arm64.digest
    (layout / "blobs" / "sha256" / gone.encoded).unlink()
    present = query.inspect(str(layout), all_platforms=True, with_size=False)
    assert sorted(r.architecture for r in present) == ["amd64", "arm"]
    summaries = {m.id: m for m in query.manifests(str(layout))}
    missing = summaries[str(gone)]
    assert (missing.available, missing.kind, missing.content_size) == (False, "image", 0)
    assert missing.platform is not None and missing.platform.architecture == "arm64"
    assert all(m.available for d, m in summaries.items() if d != str(gone))


def test_symlinked_layer_tar_resolves_within_the_archive() -> None:
    view = TarView(str(F / "docker" / "two-images.tar"))
    links = [
        n for n in view.member_names() if n.endswith("layer.tar") and view._members[n].kind == tarfile.SYMTYPE
    ]
    assert links, "docker save shares layers between images through symlinked layer.tar"
    for name in links:
        target = view.resolve(name)
        assert target.name != name and target.kind in (tarfile.REGTYPE, tarfile.AREGTYPE)


def test_links_leaving_the_archive_are_refused(tmp_path: Path) -> None:
    out = tmp_path / "escape.tar"
    with tarfile.open(out, "w") as tar:
        link = tarfile.TarInfo("abc/layer.tar")
        link.type = tarfile.SYMTYPE
        link.linkname = "../../../etc/passwd"
        tar.addfile(link)
        loop = tarfile.TarInfo("loop")
        loop.type = tarfile.SYMTYPE
        loop.linkname = "loop"
        tar.addfile(loop)
    view = TarView(str(out))
    with pytest.raises(InvalidArchiveError):
        view.resolve("abc/layer.tar")
    with pytest.raises(InvalidArchiveError):
        view.resolve("loop")


def test_duplicate_members_last_wins(tmp_path: Path) -> None:
    out = tmp_path / "dup.tar"
    with tarfile.open(out, "w") as tar:
        for data in (b"first", b"second"):
            info, payload = member("x", data)
            tar.addfile(info, io.BytesIO(payload))
    view = TarView(str(out))
    assert view.read("x") == b"second"
    assert view.duplicates == ["x"]


def _rchar() -> int:
    with open("/proc/self/io") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("rchar:"))


def test_compressed_layer_sizes_are_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCITOOL_CACHE_DIR", str(tmp_path / "cache"))
    src = str(F / "oci" / "gzip")
    first = query.inspect(src)[0].size
    cached = list((tmp_path / "cache").rglob("*"))
    assert any(p.is_file() for p in cached)
    layers = sum(os.path.getsize(p) for p in (F / "oci" / "gzip" / "blobs" / "sha256").iterdir())
    before = _rchar()
    second = query.inspect(src)[0].size
    assert second == first > 0
    assert _rchar() - before < layers  # the layer blobs were not read again
    # and the sizes agree with the uncompressed and zstd forms of the same image
    assert query.inspect(str(F / "oci" / "uncompressed"))[0].size == first
    assert query.inspect(str(F / "oci" / "zstd"))[0].size == first


@pytest.mark.real
def test_absent_foreign_layer_is_reported_by_digest(tmp_path: Path) -> None:
    real = peers.real_fixture("foreign-layer.tar")
    [item] = json.loads(TarView(str(real)).read("manifest.json"))
    foreign = item["Layers"][1]

    def drop(info: tarfile.TarInfo, data: bytes | None) -> list[tuple[tarfile.TarInfo, bytes | None]]:
        return [] if info.name == foreign else [(info, data)]

    out = tmp_path / "foreign-absent.tar"
    rewrite(real, out, drop)
    with open_source(str(out)) as src:
        [image] = src.entries[0].images()
        assert not image.layers[1].present
        assert not image.available
    with pytest.raises(BlobNotFoundError) as info:
        query.inspect(str(out))
    assert "sha256:015b6ec6d1bc15e26c868d36ef75577c7a0405609ea9abc028b69204b56e7325" in str(info.value)
