"""The repository fixtures exist, are small, match the facts recorded in fixtures/expected/ and are
readable by the real tools (skopeo, umoci, the private docker 20.10 daemon).

Fixture names are a contract (see fixtures/README.md); these tests keep them honest.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import lzma
import tarfile
from pathlib import Path
from typing import Any

import pytest
from peers import FIXTURES, DockerDaemon, expected, fixture, skopeo_inspect, skopeo_raw, umoci

DOCKER_ARCHIVES = [
    "docker/two-images.tar",
    "docker/single.tar",
    "docker/imported.tar",
    "docker/untagged.tar",
    "buildah/whiteouts.tar",
    "buildah/opaque.tar",
]
COMPRESSED = [
    "compressed/two-images.tar.gz",
    "compressed/two-images.tar.zst",
    "compressed/two-images.tar.xz",
]
# (transport, fixture, ref name)
LAYOUTS = [
    ("oci", "oci/multiplatform", "multi"),
    ("oci", "oci/gzip", "gzip"),
    ("oci", "oci/zstd", "zstd"),
    ("oci", "oci/uncompressed", "plain"),
    ("oci-archive", "oci-archive/base.tar", "base"),
    ("dir", "dir/base", None),
]
ALL = DOCKER_ARCHIVES + COMPRESSED + [f for _, f, _ in LAYOUTS]

MAX_FIXTURE_BYTES = 256 * 1024
# fixtures/ stays small: images made by our script, plus the few upstream signing and
# Dockerfile test files the signature and builder tests read (each with its licence).
MAX_TOTAL_BYTES = 3 * 1024 * 1024


def _size(p: Path) -> int:
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) if p.is_dir() else p.stat().st_size


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _decompress(name: str, data: bytes) -> bytes:
    if name.endswith(".gz"):
        return gzip.decompress(data)
    if name.endswith(".xz"):
        return lzma.decompress(data)
    if name.endswith(".zst"):
        zstandard = pytest.importorskip("zstandard")
        return bytes(zstandard.ZstdDecompressor().decompressobj().decompress(data))
    return data


def _layer_entries(archive: Path) -> dict[str, list[tarfile.TarInfo]]:
    """Per image (by Config name) the members of all its layers, in order."""
    out: dict[str, list[tarfile.TarInfo]] = {}
    with tarfile.open(archive) as tf:
        man = json.load(tf.extractfile("manifest.json"))  # type: ignore[arg-type]
        for item in man:
            members: list[tarfile.TarInfo] = []
            for layer in item["Layers"]:
                data = tf.extractfile(layer).read()  # type: ignore[union-attr]
                with tarfile.open(fileobj=io.BytesIO(data)) as lt:
                    members.extend(lt.getmembers())
            out[item["Config"]] = members
    return out


# ------------------------------------------------------------------------------ presence and size


@pytest.mark.parametrize("name", ALL)
def test_fixture_present_small_and_recorded(name: str) -> None:
    p = fixture(name)
    assert 0 < _size(p) <= MAX_FIXTURE_BYTES, f"{name}: {_size(p)} bytes"
    facts = expected(name)
    assert facts["fixture"] == name
    assert facts["environment"]["dockerd_storage_driver"] in ("overlay2", "vfs")


def test_fixtures_total_size() -> None:
    assert _size(FIXTURES) < MAX_TOTAL_BYTES


def test_readme_names_every_fixture() -> None:
    readme = (FIXTURES / "README.md").read_text(encoding="utf-8")
    for name in ALL:
        assert f"fixtures/{name}" in readme, name


@pytest.mark.oracle("skopeo", recorded=True)
def test_import_input_is_the_imported_layer() -> None:
    """docker import keeps the tarball bytes: the layer diffID is the sha256 of inputs/rootfs.tar."""
    facts = expected("docker/imported.tar")
    config = json.loads(facts["images"][0]["skopeo_inspect_config_raw"]["raw"])
    assert config["rootfs"]["diff_ids"] == [_sha256(fixture("inputs/rootfs.tar").read_bytes())]


# ------------------------------------------------------------------------------ content facts


@pytest.mark.oracle("skopeo", recorded=True)
def test_two_images_content_facts() -> None:
    facts = expected("docker/two-images.tar")
    entries = _layer_entries(fixture("docker/two-images.tar"))
    by_tag = {t: im for im in facts["images"] for t in im["manifest_json_entry"]["RepoTags"]}
    assert set(by_tag) == {
        "ocitool-fixture/base:1.0",
        "ocitool-fixture/child:latest",
        "ocitool-fixture/child:extra",
    }
    base, child = by_tag["ocitool-fixture/base:1.0"], by_tag["ocitool-fixture/child:latest"]
    assert child is by_tag["ocitool-fixture/child:extra"]
    base_cfg = json.loads(base["skopeo_inspect_config_raw"]["raw"])
    child_cfg = json.loads(child["skopeo_inspect_config_raw"]["raw"])
    # shared layers: the child's first diff_ids are the base's
    base_ids = base_cfg["rootfs"]["diff_ids"]
    assert len(base_ids) >= 3
    assert child_cfg["rootfs"]["diff_ids"][: len(base_ids)] == base_ids
    assert any(h.get("empty_layer") for h in base_cfg["history"])
    cfg = base_cfg["config"]
    assert cfg["Labels"]["org.opencontainers.image.version"] == "1.0"
    assert "OCITOOL_FIXTURE=base" in cfg["Env"]
    assert cfg["Entrypoint"] == ["/bin/hello"] and cfg["Cmd"] == ["--serve"]
    assert set(cfg["ExposedPorts"]) == {"8080/tcp", "53/udp"}
    assert cfg["Healthcheck"]["Test"] == ["CMD", "/bin/hello", "--health"]

    members = entries[base["manifest_json_entry"]["Config"]]
    names = {m.name for m in members}
    assert any(m.islnk() for m in members), "hard link"
    assert any(m.issym() for m in members), "symlink"
    assert any(len(Path(m.name).name.encode()) > 100 for m in members), "file name > 100 bytes"
    assert any(len(m.name.encode()) > 255 for m in members), "path > 255 bytes"
    assert "données/ünïcödé-文件.txt" in names
    assert any(m.isfile() and m.size == 0 for m in members), "empty file"
    assert any(m.isfile() and m.mode & 0o777 == 0o755 for m in members), "mode 0755"
    child_names = [m.name for m in entries[child["manifest_json_entry"]["Config"]]]
    assert "etc/.wh.remove-me.txt" in child_names
    assert "opt/.wh.olddir" in child_names


def test_opaque_whiteout_present() -> None:
    entries = _layer_entries(fixture("buildah/opaque.tar"))
    (members,) = entries.values()
    assert "opt/opaque-dir/.wh..wh..opq" in {m.name for m in members}


@pytest.mark.oracle("skopeo", recorded=True)
def test_layout_media_types() -> None:
    def layer_types(name: str) -> set[str]:
        man = json.loads(expected(name)["image"]["skopeo_inspect_raw"]["raw"])
        return {x["mediaType"] for x in man["layers"]}

    assert layer_types("oci/gzip") == {"application/vnd.oci.image.layer.v1.tar+gzip"}
    assert layer_types("oci/zstd") == {"application/vnd.oci.image.layer.v1.tar+zstd"}
    assert layer_types("oci/uncompressed") == {"application/vnd.oci.image.layer.v1.tar"}
    mp = expected("oci/multiplatform")
    plats = {
        (p["platform"]["os"], p["platform"]["architecture"], p["platform"].get("variant"))
        for p in mp["platforms"]
    }
    assert plats == {("linux", "amd64", None), ("linux", "arm64", None), ("linux", "arm", "v7")}


# ------------------------------------------------------------------------------ real tools read them


def _docker_archive_ref(name: str, facts: dict[str, Any], index: int) -> str:
    path = FIXTURES / name
    return f"docker-archive:{path}:@{index}" if len(facts["images"]) > 1 else f"docker-archive:{path}"


@pytest.mark.oracle("skopeo")
@pytest.mark.parametrize("name", DOCKER_ARCHIVES)
def test_skopeo_reads_docker_archive(name: str) -> None:
    facts = expected(name)
    for im in facts["images"]:
        ref = _docker_archive_ref(name, facts, im["index"])
        assert _sha256(skopeo_raw(ref)) == im["skopeo_inspect_raw"]["digest"]
        config = skopeo_raw(ref, config=True)
        assert _sha256(config) == im["image_id"] == im["skopeo_inspect_config_raw"]["digest"]


@pytest.mark.oracle("skopeo")
@pytest.mark.parametrize("name", COMPRESSED)
def test_compressed_is_two_images(name: str, tmp_path: Path) -> None:
    plain = _decompress(name, fixture(name).read_bytes())
    assert plain == fixture("docker/two-images.tar").read_bytes()
    out = tmp_path / "two-images.tar"
    out.write_bytes(plain)
    facts = expected(name)
    for im in facts["images"]:
        assert _sha256(skopeo_raw(f"docker-archive:{out}:@{im['index']}", config=True)) == im["image_id"]


@pytest.mark.oracle("skopeo")
@pytest.mark.parametrize(("transport", "name", "refname"), LAYOUTS)
def test_skopeo_reads_layout(transport: str, name: str, refname: str | None) -> None:
    facts = expected(name)
    ref = f"{transport}:{fixture(name)}" + (f":{refname}" if refname else "")
    raw = skopeo_raw(ref)
    if "platforms" in facts:
        assert _sha256(raw) == facts["index"]["skopeo_inspect_raw"]["digest"]
        for p in facts["platforms"]:
            ov = p["skopeo_global_flags"]
            config = skopeo_raw(ref, config=True, overrides=ov)
            assert _sha256(config) == p["skopeo_inspect_config_raw"]["digest"]
            assert skopeo_inspect(ref, overrides=ov)["Architecture"] == p["platform"]["architecture"]
    else:
        assert _sha256(raw) == facts["image"]["skopeo_inspect_raw"]["digest"]
        assert _sha256(skopeo_raw(ref, config=True)) == facts["image"]["skopeo_inspect_config_raw"]["digest"]


@pytest.mark.oracle("umoci")
@pytest.mark.parametrize(("name", "refname"), [("oci/gzip", "gzip"), ("oci/uncompressed", "plain")])
def test_umoci_reads_layout(name: str, refname: str) -> None:
    out = umoci("stat", "--image", f"{fixture(name)}:{refname}", "--json").stdout
    assert json.loads(out) == expected(name)["umoci_stat"]


@pytest.mark.oracle("docker")
def test_docker_loads_two_images(docker: DockerDaemon) -> None:
    facts = expected("docker/two-images.tar")
    with docker.loaded(fixture("docker/two-images.tar")) as res:
        want = {im["image_id"] for im in facts["images"]}
        assert set(res.image_ids) == want
        for im in facts["docker"]["images"]:
            got = docker.inspect(im["id"])
            rec = im["docker_image_inspect"][0]
            assert got["Id"] == rec["Id"]
            assert sorted(got["RepoTags"]) == sorted(rec["RepoTags"])
            assert got["Config"] == rec["Config"]
            assert len(docker.history(im["id"])) == len(im["docker_history_cli"])
