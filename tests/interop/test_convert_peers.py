"""Real tools accept what ``ocitool convert`` writes: skopeo reads the OCI outputs (inspect and
copy), umoci stats and unpacks single-platform gzip layouts, and the Docker daemon loads the
docker-archive outputs with the same image IDs and tags."""

from __future__ import annotations

import io
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ocitool.cli import main
from ocitool.compression import Compression
from ocitool.formats.detect import open_source
from ocitool.image.lookup import platform_images
from ocitool.ops.convert import convert
from tests import oracles, peers
from tests.test_convert import FIXTURE_SOURCES
from tests.test_convert import REAL_SOURCES as ALL_REAL_SOURCES

pytestmark = pytest.mark.peers
F = peers.FIXTURES


def _ids(src: str) -> dict[str, list[str]]:
    """Image ID -> diff IDs of every platform image."""
    with open_source(src) as source:
        return {
            str(img.id): [str(d) for d in img.config.rootfs.diff_ids] if img.config.rootfs else []
            for entry in source.entries
            for img in platform_images(entry)
        }


@pytest.mark.oracle("skopeo")
@pytest.mark.parametrize("compress", [None, Compression.ZSTD])
@pytest.mark.parametrize("transport", ["oci", "oci-archive"])
def test_skopeo_reads_oci_outputs(transport: str, compress: Compression | None, tmp_path: Path) -> None:
    peers.require_tool("skopeo")
    out = tmp_path / ("o.tar" if transport == "oci-archive" else "o")
    convert(str(F / "docker/single.tar"), f"{transport}:{out}:v1", compress=compress)
    [(image_id, diff_ids)] = _ids(str(out)).items()
    config = json.loads(peers.skopeo_raw(f"{transport}:{out}:v1", config=True))
    assert config["rootfs"]["diff_ids"] == diff_ids
    info = json.loads(peers.skopeo("inspect", f"{transport}:{out}:v1").stdout)
    assert info["Layers"] and len(info["Layers"]) == len(diff_ids)
    # skopeo copy reads every blob (and checks every digest) and writes a layout we read back.
    peers.skopeo("copy", "-q", f"{transport}:{out}:v1", f"oci:{tmp_path / 'copy'}:v1")
    assert _ids(str(tmp_path / "copy")) == {image_id: diff_ids}


@pytest.mark.oracle("skopeo")
def test_skopeo_copies_a_multi_platform_output(tmp_path: Path) -> None:
    peers.require_tool("skopeo")
    convert(str(F / "oci/multiplatform"), f"oci-archive:{tmp_path / 'm.tar'}", all_platforms=True)
    peers.skopeo(
        "copy", "-q", "--all", f"oci-archive:{tmp_path / 'm.tar'}:multi", f"oci:{tmp_path / 'c'}:multi"
    )
    assert _ids(str(tmp_path / "c")) == _ids(str(F / "oci/multiplatform"))


@pytest.mark.oracle("umoci")
@pytest.mark.parametrize("src", ["docker/single.tar", "buildah/whiteouts.tar", "oci/uncompressed"])
def test_umoci_stats_and_unpacks_gzip_layouts(src: str, tmp_path: Path) -> None:
    peers.require_tool("umoci")
    layout = tmp_path / "layout"
    convert(str(F / src), f"oci:{layout}:t", compress=Compression.GZIP)
    stat = json.loads(peers.umoci("stat", "--json", "--image", f"{layout}:t").stdout)
    [(_, diff_ids)] = _ids(str(layout)).items()
    assert len([h for h in stat["history"] if not h.get("empty_layer")]) == len(diff_ids)
    bundle = tmp_path / "bundle"
    peers.umoci("unpack", "--rootless", "--image", f"{layout}:t", str(bundle))
    assert (bundle / "config.json").is_file() and any((bundle / "rootfs").iterdir())


def _unique(tag: str) -> str:
    return f"ocitool-convert-test/{uuid.uuid4().hex[:12]}:{tag}"


@pytest.mark.oracle("docker")
@pytest.mark.parametrize(
    ("layout_src", "compress"),
    [("docker/single.tar", Compression.GZIP), ("docker/single.tar", Compression.ZSTD), ("oci/zstd", None)],
)
def test_docker_loads_archives_made_from_gzip_and_zstd_layouts(
    docker: peers.DockerDaemon, layout_src: str, compress: Compression | None, tmp_path: Path
) -> None:
    layout = tmp_path / "layout"
    convert(str(F / layout_src), f"oci:{layout}", compress=compress)
    name = _unique("v1")
    archive = tmp_path / "d.tar"
    convert(str(layout), f"docker-archive:{archive}:{name}")
    [(image_id, diff_ids)] = _ids(str(layout)).items()
    with docker.loaded(archive) as res:
        assert res.exit_code == 0, res.stderr
        got = docker.inspect(name)
        assert got["Id"] == image_id
        assert got["RootFS"]["Layers"] == diff_ids
        assert got["RepoTags"] == [name]


@pytest.mark.oracle("docker")
@pytest.mark.parametrize("legacy", [False, True])
def test_docker_loads_a_multi_image_archive(docker: peers.DockerDaemon, legacy: bool, tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    names = {}
    for selector in ("@0", "@1"):
        name = _unique(selector[1:])
        result = convert(
            f"docker-archive:{F / 'docker/two-images.tar'}:{selector}", f"oci:{layout}", tags=[name]
        )
        names[name] = str(result.images[0].image_ids[0])
    archive = tmp_path / "multi.tar"
    convert(str(layout), f"docker-archive:{archive}", legacy_docker=legacy)
    with docker.loaded(archive) as res:
        assert res.exit_code == 0, res.stderr
        for name, image_id in names.items():
            assert docker.inspect(name)["Id"] == image_id


# ------------------------------------------------------------------------------------------------
# Every convert output against its source, with the real tools as the only judges: umoci's unpack
# of each output image equals umoci's unpack of the source image (paths, types, modes, sizes,
# content hashes, link targets, mtimes, owners); skopeo reads the same config bytes and, where
# the form allows, the same manifest bytes; each layer, hashed after decompression by the test
# itself, has the diff ID the config names; and ``ocitool verify`` passes on the output.

# the sources of tests/test_convert.py; skopeo cannot read a pre-1.10 save: docker loads it and
# saves it again, then skopeo reads that
VIA_DOCKER = "legacy-pre110-no-manifest.tar"
SOURCES = FIXTURE_SOURCES
REAL_SOURCES = [name for name in ALL_REAL_SOURCES if name != VIA_DOCKER]
DESTS = ["oci", "oci-archive", "docker-archive", "docker-legacy"]


def _cases() -> list[Any]:
    out = [pytest.param(rel, dest, id=f"{rel}->{dest}") for rel in SOURCES for dest in DESTS]
    out += [
        pytest.param(
            f"real/{name}", dest, id=f"real/{name}->{dest}", marks=[pytest.mark.real, pytest.mark.slow]
        )
        for name in REAL_SOURCES
        for dest in DESTS
    ]
    out += [
        pytest.param(
            f"real/{VIA_DOCKER}",
            dest,
            id=f"real/{VIA_DOCKER}->{dest}",
            marks=[pytest.mark.real, pytest.mark.slow, pytest.mark.oracle("docker")],
        )
        for dest in DESTS
    ]
    return out


@dataclass
class _Image:
    config: bytes
    manifest: bytes
    transport: str
    compressed_layers: bool
    rootfs: dict[str, tuple[Any, ...]] | None  # None: umoci cannot unpack it (no os, no layers)


def _unpackable(config: dict[str, Any]) -> bool:
    return bool(config.get("os")) and (config.get("rootfs") or {}).get("type") == "layers"


def _facts(path: Path, work: Path) -> dict[str, _Image]:
    """Image ID -> what the real tools say about that image of ``path``."""
    out: dict[str, _Image] = {}
    for n, ref in enumerate(oracles.images_in(path, work)):
        config = oracles.skopeo_config(ref)
        image_id = oracles.sha256(config)
        parsed = json.loads(config)
        if (parsed.get("rootfs") or {}).get("type") == "layers":  # an image, not an artifact
            assert oracles.layer_diff_ids(ref) == parsed["rootfs"].get("diff_ids", []), ref.ref
        if image_id in out:
            continue  # the same image under another name
        manifest = oracles.skopeo_manifest(ref)
        layer_types = [x.get("mediaType", "") for x in json.loads(manifest).get("layers", [])]
        unpack = work / f"unpack-{n}"
        unpack.mkdir()
        out[image_id] = _Image(
            config=config,
            manifest=manifest,
            transport=ref.transport,
            compressed_layers=all(t.endswith(("+gzip", "+zstd")) for t in layer_types),
            rootfs=oracles.umoci_rootfs(ref, unpack) if _unpackable(parsed) else None,
        )
    return out


_SOURCE_FACTS: dict[str, dict[str, _Image]] = {}


def _verify(path: Path) -> tuple[int, set[tuple[str, str]]]:
    """``ocitool verify``'s exit code and its problems (kind, digest)."""
    out = io.StringIO()
    rc = main(["verify", "--format", "json", str(path)], stdout=out, stderr=io.StringIO())
    problems = (
        {(p["Kind"], p["Digest"]) for p in json.loads(out.getvalue())["Problems"]} if rc != 1 else set()
    )
    return rc, problems


def _source_facts(case: str, work: Path) -> dict[str, _Image]:
    if case not in _SOURCE_FACTS:
        if case == f"real/{VIA_DOCKER}":
            daemon = peers.docker_daemon()
            with daemon.loaded(peers.real_fixture(VIA_DOCKER)) as res:
                saved = work / "docker-saved.tar"
                daemon.run("save", "-o", str(saved), *res.new_ids)
            _SOURCE_FACTS[case] = _facts(saved, work)
        else:
            path = peers.real_fixture(case[5:]) if case.startswith("real/") else peers.fixture(case)
            _SOURCE_FACTS[case] = _facts(path, work)
    return _SOURCE_FACTS[case]


@pytest.mark.oracle("skopeo", "umoci")
@pytest.mark.parametrize(("case", "dest"), _cases())
def test_every_output_unpacks_and_reads_like_its_source(
    case: str, dest: str, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    source = _source_facts(case, tmp_path_factory.mktemp("source"))
    assert source, f"{case}: the real tools found no image"
    path = peers.real_fixture(case[5:]) if case.startswith("real/") else peers.fixture(case)
    out = tmp_path / ("out" if dest == "oci" else "out.tar")
    transport = "docker-archive" if dest.startswith("docker") else dest
    argv = ["convert", "-q", "--all-platforms", str(path), f"{transport}:{out}"]
    if dest == "docker-legacy":
        argv[1:1] = ["--format", "docker-legacy"]
    err = io.StringIO()
    assert main(argv, stdout=io.StringIO(), stderr=err) == 0, err.getvalue()
    # verify passes on the output, or finds exactly the faults of the source (regclient's
    # testrepo holds artifacts whose "{}" config claims to be an image config; a docker archive
    # leaves them out of manifest.json, but its index.json, read whole, still lists them; a
    # legacy one has no index.json)
    assert _verify(out) == ((0, set()) if dest == "docker-legacy" else _verify(path))

    got = _facts(out, tmp_path / "work")
    want = source
    if transport == "docker-archive":  # Docker cannot load an image without a rootfs: left out
        want = {k: v for k, v in source.items() if (json.loads(v.config).get("rootfs") or {}).get("diff_ids")}
    assert sorted(got) == sorted(want)
    for image_id, image in got.items():
        orig = want[image_id]
        assert image.config == orig.config, image_id  # skopeo inspect --config --raw: same bytes
        assert image.rootfs == orig.rootfs, image_id  # umoci unpack: the same tree
        manifest, orig_manifest = json.loads(image.manifest), json.loads(orig.manifest)
        assert manifest["config"]["digest"] == image_id
        assert len(manifest["layers"]) == len(orig_manifest["layers"])
        if image.transport == orig.transport == "oci" and orig.compressed_layers:
            assert image.manifest == orig.manifest, image_id  # skopeo inspect --raw: same bytes
        if image.transport == orig.transport == "docker-archive":
            # skopeo synthesises both manifests: the same, except that it reports size 0 for a
            # layer.tar that docker save stored as a symlink to another image's
            assert manifest["config"] == orig_manifest["config"]
            for mine, theirs in zip(manifest["layers"], orig_manifest["layers"], strict=True):
                assert (mine["mediaType"], mine["digest"]) == (theirs["mediaType"], theirs["digest"])
                assert mine["size"] == theirs["size"] or theirs["size"] == 0
