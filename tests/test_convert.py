"""ocitool.ops.convert: round trips over every fixture and real archive, determinism, recompression,
names, atomicity and errors."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from pathlib import Path
from typing import Any

import pytest
import zstandard

from ocitool.cli import main
from ocitool.compression import Compression, have_isal, sniff
from ocitool.errors import InvalidReferenceError, NotAnImageError, OcitoolError
from ocitool.formats.detect import open_source
from ocitool.image.lookup import platform_images
from ocitool.model import mediatypes as mt
from ocitool.ops.convert import convert, parse_destination
from ocitool.ops.recompress import ANNOTATION_COMPRESSOR, Codec, recompress
from tests import oracles, peers

F = peers.FIXTURES

FIXTURE_SOURCES = [
    "docker/single.tar",
    "docker/two-images.tar",
    "docker/untagged.tar",
    "docker/imported.tar",
    "buildah/whiteouts.tar",
    "buildah/opaque.tar",
    "compressed/two-images.tar.gz",
    "compressed/two-images.tar.zst",
    "compressed/two-images.tar.xz",
    "dir/base",
    "oci/gzip",
    "oci/uncompressed",
    "oci/zstd",
    "oci/multiplatform",
    "oci-archive/base.tar",
]
REAL_SOURCES = [
    "buildkit-oci-gzip.tar",
    "buildkit-oci-zstd.tar",
    "docker1809-dive-14-layers.tar",
    "docker25-hello-world.tar",
    "foreign-layer.tar",
    "legacy-bundle-two-images.tar",
    "legacy-pre110-no-manifest.tar",
    "legacy-whiteout.tar",
    "regclient-testrepo",
]
DESTS = ["oci", "oci-archive", "docker-archive", "docker-legacy"]


def _sources() -> list[Any]:
    """Every case, always: a missing input is a failed (fixture) or skipped (../shared) case."""
    out: list[Any] = [pytest.param(name, id=name) for name in FIXTURE_SOURCES]
    out += [pytest.param(f"real/{name}", id=f"real/{name}", marks=pytest.mark.real) for name in REAL_SOURCES]
    return out


def source_path(case: str) -> str:
    """The path of a _sources() case: peers.fixture fails on a missing fixture, peers.real_fixture
    skips a missing ../shared archive (fails under OCITOOL_REQUIRE_PEERS=1)."""
    return str(peers.real_fixture(case[5:]) if case.startswith("real/") else peers.fixture(case))


@pytest.fixture(autouse=True)
def _epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)


def facts(src: str, *, names: bool = True) -> dict[str, Any]:
    """Image IDs with their diff IDs and platforms, and the RepoTags, of every entry."""
    with open_source(src) as source:
        images = set()
        tags: set[str] = set()
        for entry in source.entries:
            tags.update(entry.repo_tags)
            for img in platform_images(entry):
                try:
                    rootfs = img.config.rootfs
                    diff_ids: tuple[str, ...] | None = tuple(
                        str(d) for d in (rootfs.diff_ids if rootfs else [])
                    )
                    platform = str(img.platform)
                except OcitoolError:  # an artifact-like config (regclient's testrepo has "{}")
                    diff_ids, platform = None, str(img.descriptor.platform)
                images.add((str(img.id), diff_ids, platform))
    return {"images": images, "tags": tags if names else None}


def _dest(kind: str, tmp: Path, name: str) -> tuple[str, bool]:
    if kind == "oci":
        return f"oci:{tmp / name}", False
    if kind == "oci-archive":
        return f"oci-archive:{tmp / name}.tar", False
    return f"docker-archive:{tmp / name}.tar", kind == "docker-legacy"


def _tree_bytes(path: Path) -> dict[str, bytes]:
    if path.is_file():
        return {"": path.read_bytes()}
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def _path(dest: str) -> Path:
    return Path(parse_destination(dest).path)


@pytest.mark.parametrize("kind", DESTS)
@pytest.mark.parametrize("src", _sources())
def test_round_trip_keeps_ids_diff_ids_tags_platforms_and_is_deterministic(
    src: str, kind: str, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    src = source_path(src)
    want = facts(src)
    dest, legacy = _dest(kind, tmp_path, "a")
    convert(src, dest, all_platforms=True, legacy_docker=legacy)
    got = facts(str(_path(dest)))
    if kind.startswith("docker"):
        # An image Docker cannot load (a config without rootfs) is left out of manifest.json.
        want = {**want, "images": {i for i in want["images"] if i[1] is not None}}
    assert got["images"] == want["images"]
    assert got["tags"] == want["tags"]
    # Checked without ocitool's reader: every layer's bytes hash to the diff ID its config names,
    # and the configs are the source's images (so a convert that garbles a layer fails here).
    layers = oracles.check_layers(_path(dest), tmp_path_factory.mktemp("check"))
    assert {(i, tuple(d)) for i, d in layers.items()} == {
        (i[0], i[1]) for i in want["images"] if i[1] is not None
    }
    # Two runs: identical bytes.
    dest2, _ = _dest(kind, tmp_path, "b")
    convert(src, dest2, all_platforms=True, legacy_docker=legacy)
    assert _tree_bytes(_path(dest)) == _tree_bytes(_path(dest2))
    # And back to an OCI layout.
    back = f"oci:{tmp_path / 'back'}"
    convert(str(_path(dest)), back, all_platforms=True)
    assert facts(str(_path(back))) == want
    # Nothing left behind but the outputs.
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([_path(dest).name, _path(dest2).name, "back"])


def _layers(src: str) -> list[tuple[str, str, int, dict[str, str]]]:
    with open_source(src) as source:
        out = []
        for entry in source.entries:
            for img in entry.images():
                for layer in img.layers:
                    head = layer.blobs.head(layer.digest, 16)
                    out.append(
                        (
                            layer.media_type,
                            sniff(head).value,
                            layer.descriptor.size,
                            layer.descriptor.annotations,
                        )
                    )
        return out


def test_defaults_gzip_uncompressed_layers_for_oci_and_keep_compressed_ones(tmp_path: Path) -> None:
    convert(str(F / "docker/single.tar"), f"oci:{tmp_path / 'o'}")
    layers = _layers(str(tmp_path / "o"))
    assert layers and all(mt_ == mt.OCI_LAYER_GZIP and comp == "gzip" for mt_, comp, _, _ in layers)
    want = "isal:1" if have_isal() else "zlib:1"
    assert all(ann[ANNOTATION_COMPRESSOR] == want for *_, ann in layers)
    # zstd layers stay zstd, byte for byte: the manifest is unchanged.
    convert(str(F / "oci/zstd"), f"oci:{tmp_path / 'z'}")
    with open_source(str(F / "oci/zstd")) as a, open_source(str(tmp_path / "z")) as b:
        assert a.entries[0].images()[0].raw_manifest == b.entries[0].images()[0].raw_manifest
    # A docker archive stores layers uncompressed: each layer's digest is its diff ID.
    convert(str(F / "oci/zstd"), f"docker-archive:{tmp_path / 'd.tar'}")
    with open_source(str(tmp_path / "d.tar")) as d:
        img = d.entries[0].images()[0]
        assert [layer.digest for layer in img.layers] == [layer.diff_id for layer in img.layers]
        assert all(layer.compression is Compression.NONE for layer in img.layers)


@pytest.mark.parametrize("comp", ["gzip", "zstd", "none"])
def test_recompress_keeps_diff_ids_and_image_ids(comp: str, tmp_path: Path) -> None:
    src = str(F / "oci/gzip")
    convert(src, f"oci:{tmp_path / 'o'}", compress=Compression(comp), level=2 if comp != "none" else None)
    assert facts(str(tmp_path / "o")) == facts(src)
    for media_type, sniffed, _, ann in _layers(str(tmp_path / "o")):
        assert sniffed == comp
        assert (
            media_type == {"gzip": mt.OCI_LAYER_GZIP, "zstd": mt.OCI_LAYER_ZSTD, "none": mt.OCI_LAYER}[comp]
        )
        if comp == "zstd":
            assert ann[ANNOTATION_COMPRESSOR] == "zstd:2"


def test_gzip_output_is_pinned_and_valid() -> None:
    data = b"hello world " * 50000
    out = io.BytesIO()
    res = recompress(io.BytesIO(data), out, Codec(Compression.GZIP))
    blob = out.getvalue()
    assert blob[:10] == b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # no name, mtime 0, OS unknown
    assert gzip.decompress(blob) == data
    assert res.diff_id.encoded == hashlib.sha256(data).hexdigest() and res.uncompressed_size == len(data)
    assert res.digest.encoded == hashlib.sha256(blob).hexdigest() and res.size == len(blob)
    out2 = io.BytesIO()
    recompress(io.BytesIO(data), out2, Codec(Compression.GZIP))
    assert out2.getvalue() == blob
    z = io.BytesIO()
    recompress(io.BytesIO(data), z, Codec(Compression.ZSTD, 5))
    assert zstandard.ZstdDecompressor().decompressobj().decompress(z.getvalue()) == data
    with pytest.raises(ValueError):
        Codec(Compression.ZSTD, 40)
    with pytest.raises(ValueError):
        Codec(Compression.XZ)


def test_archive_members_are_sorted_with_fixed_metadata(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    out = tmp_path / "d.tar"
    convert(str(F / "docker/two-images.tar"), f"docker-archive:{out}")
    with tarfile.open(out) as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == sorted(names, key=str.encode)
    assert {"manifest.json", "index.json", "oci-layout", "repositories"} <= set(names)
    assert all(
        m.mtime == 1700000000 and m.uid == 0 and m.gid == 0 and not m.uname and not m.gname for m in members
    )
    assert os.path.getsize(out) % 10240 == 0
    with tarfile.open(out) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert all(layer.startswith("blobs/sha256/") for item in manifest for layer in item["Layers"])
    assert [item["RepoTags"] for item in manifest] == [
        ["ocitool-fixture/base:1.0"],
        ["ocitool-fixture/child:latest", "ocitool-fixture/child:extra"],
    ]


def test_legacy_docker_layout(tmp_path: Path) -> None:
    out = tmp_path / "l.tar"
    convert(str(F / "docker/single.tar"), f"docker-archive:{out}", legacy_docker=True)
    with tarfile.open(out) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert "index.json" not in names and "repositories" in names
    [item] = manifest
    assert item["Config"].endswith(".json") and item["Config"] in names
    for layer in item["Layers"]:
        v1 = layer.split("/")[0]
        assert layer.endswith("/layer.tar") and {layer, f"{v1}/json", f"{v1}/VERSION"} <= set(names)


def test_names_oci_ref_and_docker_name_and_tags(tmp_path: Path) -> None:
    src = str(F / "docker/two-images.tar")
    convert(f"docker-archive:{src}:ocitool-fixture/base:1.0", f"oci:{tmp_path / 'o'}:v1")
    index = json.loads((tmp_path / "o" / "index.json").read_bytes())
    assert [d["annotations"] for d in index["manifests"]] == [{mt.ANNOTATION_REF_NAME: "v1"}]
    # A second image added to the same layout; the same ref name replaces the first.
    convert(f"docker-archive:{src}:ocitool-fixture/child", f"oci:{tmp_path / 'o'}:v2")
    convert(f"docker-archive:{src}:ocitool-fixture/child", f"oci:{tmp_path / 'o'}:v1")
    index = json.loads((tmp_path / "o" / "index.json").read_bytes())
    refs = [d["annotations"][mt.ANNOTATION_REF_NAME] for d in index["manifests"]]
    assert refs == ["v2", "v1"]
    assert len({d["digest"] for d in index["manifests"]}) == 1
    assert not [p for p in (tmp_path / "o").iterdir() if p.name.startswith(".")]
    with pytest.raises(InvalidReferenceError):
        convert(src, f"docker-archive:{tmp_path / 'd.tar'}:example.com/x")  # two images, one name
    assert not (tmp_path / "d.tar").exists()
    convert(f"docker-archive:{src}:@0", f"docker-archive:{tmp_path / 'd.tar'}", tags=["example.com/x:1", "y"])
    assert facts(str(tmp_path / "d.tar"))["tags"] == {"example.com/x:1", "y:latest"}


def test_platform_selection_and_all_platforms(tmp_path: Path) -> None:
    src = str(F / "oci/multiplatform")
    convert(src, f"oci:{tmp_path / 'one'}", platform=_platform("linux/arm64"))
    [img] = facts(str(tmp_path / "one"))["images"]
    assert img[2] == "linux/arm64"
    convert(src, f"docker-archive:{tmp_path / 'all.tar'}", all_platforms=True)
    assert {i[2] for i in facts(str(tmp_path / "all.tar"))["images"]} == {
        "linux/amd64",
        "linux/arm64",
        "linux/arm/v7",
    }


def _platform(text: str) -> Any:
    from ocitool.model.platform import Platform

    return Platform.parse(text)


def test_corrupt_blob_leaves_nothing(tmp_path: Path) -> None:
    import shutil

    layout = tmp_path / "src"
    shutil.copytree(F / "oci/zstd", layout)
    index = json.loads((layout / "index.json").read_bytes())
    manifest_digest = index["manifests"][0]["digest"].split(":")[1]
    manifest = json.loads((layout / "blobs/sha256" / manifest_digest).read_bytes())
    layer = layout / "blobs/sha256" / manifest["layers"][0]["digest"].split(":")[1]
    data = bytearray(layer.read_bytes())
    data[-12] ^= 0xFF  # inside the zstd frame: either the codec or the digest check refuses it
    layer.write_bytes(bytes(data))
    for kind in DESTS:
        dest, legacy = _dest(kind, tmp_path / "out", "x")
        (tmp_path / "out").mkdir(exist_ok=True)
        with pytest.raises(OcitoolError):
            convert(
                str(layout), dest, legacy_docker=legacy, compress=Compression.ZSTD if kind == "oci" else None
            )
        assert list((tmp_path / "out").iterdir()) == []


def test_interrupt_leaves_nothing(tmp_path: Path) -> None:
    def boom(event: Any) -> None:
        if event.done:
            raise KeyboardInterrupt

    for kind in DESTS:
        dest, legacy = _dest(kind, tmp_path, "x")
        with pytest.raises(KeyboardInterrupt):
            convert(str(F / "docker/two-images.tar"), dest, legacy_docker=legacy, progress=boom)
        assert list(tmp_path.iterdir()) == []


def test_destination_errors(tmp_path: Path) -> None:
    with pytest.raises(InvalidReferenceError):
        parse_destination(str(tmp_path / "x"))
    with pytest.raises(InvalidReferenceError):
        parse_destination(f"dir:{tmp_path}")
    with pytest.raises(InvalidReferenceError):
        parse_destination(f"docker-archive:{tmp_path / 'x'}:UPPER")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "file").write_bytes(b"x")
    with pytest.raises(NotAnImageError):
        convert(str(F / "oci/gzip"), f"oci:{tmp_path / 'junk'}")


def test_cli_convert(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["convert", "--compress", "zstd", str(F / "docker/single.tar"), f"oci-archive:{tmp_path / 'o.tar'}"],
        stdout=out,
        stderr=err,
    )
    assert code == 0, err.getvalue()
    assert out.getvalue().startswith("sha256:") and err.getvalue() == ""
    assert facts(str(tmp_path / "o.tar")) == facts(str(F / "docker/single.tar"))
    code = main(
        ["convert", "--level", "42", str(F / "oci/gzip"), f"oci:{tmp_path / 'x'}"], stdout=out, stderr=err
    )
    assert code == 125
    err = io.StringIO()
    code = main(["convert", str(F / "oci/gzip"), str(tmp_path / "x")], stdout=out, stderr=err)
    assert code == 1 and err.getvalue().startswith("Error: ") and "Traceback" not in err.getvalue()
    code = main(["convert", "-q", str(tmp_path / "missing"), f"oci:{tmp_path / 'x'}"], stdout=out, stderr=err)
    assert code == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.tar"]


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_cli_progress_bar_only_on_a_terminal_outside_ci(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    err = _Tty()
    assert (
        main(
            ["convert", str(F / "docker/single.tar"), f"oci:{tmp_path / 'a'}"],
            stdout=io.StringIO(),
            stderr=err,
        )
        == 0
    )
    assert "[" in err.getvalue() and "=>]" in err.getvalue()  # docker load's bar
    err = _Tty()
    assert (
        main(
            ["convert", "-q", str(F / "docker/single.tar"), f"oci:{tmp_path / 'b'}"],
            stdout=io.StringIO(),
            stderr=err,
        )
        == 0
    )
    assert err.getvalue() == ""
    monkeypatch.setenv("CI", "true")
    err = _Tty()
    assert (
        main(
            ["convert", str(F / "docker/single.tar"), f"oci:{tmp_path / 'c'}"],
            stdout=io.StringIO(),
            stderr=err,
        )
        == 0
    )
    assert err.getvalue() == ""
