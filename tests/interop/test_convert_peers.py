"""Real tools accept what ``ocitool convert`` writes: skopeo reads the OCI outputs (inspect and
copy), umoci stats and unpacks single-platform gzip layouts, and the Docker daemon loads the
docker-archive outputs with the same image IDs and tags."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from ocitool.compression import Compression
from ocitool.formats.detect import open_source
from ocitool.image.lookup import platform_images
from ocitool.ops.convert import convert
from tests import peers

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


def test_skopeo_copies_a_multi_platform_output(tmp_path: Path) -> None:
    peers.require_tool("skopeo")
    convert(str(F / "oci/multiplatform"), f"oci-archive:{tmp_path / 'm.tar'}", all_platforms=True)
    peers.skopeo(
        "copy", "-q", "--all", f"oci-archive:{tmp_path / 'm.tar'}:multi", f"oci:{tmp_path / 'c'}:multi"
    )
    assert _ids(str(tmp_path / "c")) == _ids(str(F / "oci/multiplatform"))


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
