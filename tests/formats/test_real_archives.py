"""Every archive in ../shared/fixtures/real reads correctly or fails with one clean error."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest

from ocitool.cli import main
from ocitool.compression import Compression
from ocitool.errors import (
    EmptySourceError,
    InvalidDocumentError,
    NotAnImageError,
    OcitoolError,
    PlatformNotFoundError,
)
from ocitool.formats.detect import open_source
from ocitool.model.mediatypes import LayerCompression
from ocitool.model.platform import Platform
from ocitool.ops import query
from tests import peers

pytestmark = pytest.mark.real


def real(name: str) -> str:
    """The shared archive (skipped when ../shared is absent; a failure under OCITOOL_REQUIRE_PEERS=1)."""
    return str(peers.real_fixture(name))


@pytest.mark.oracle("docker", recorded=True)
def test_docker25_save_reads_the_oci_manifest_behind_a_null_index() -> None:
    [resp] = query.inspect(real("docker25-hello-world.tar"))
    assert resp.id == "sha256:ee301c921b8aadc002973b2e0c3da17d701dcd994b606769a7e6eaa100b81d44"
    assert resp.repo_tags == []
    assert (resp.os, resp.architecture) == ("linux", "arm64")
    assert resp.root_fs.layers == ["sha256:12660636fe55438cc3ae7424da7ac56e845cdb52493ff9cf949c47a7f57f8b43"]
    assert resp.created == "2023-05-02T16:49:27Z"
    # The manifest is the stored OCI manifest, found although index.json says "manifests": null.
    raw = query.raw_manifest(real("docker25-hello-world.tar"))
    assert raw.startswith(b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"')
    [summary] = query.manifests(real("docker25-hello-world.tar"))
    assert summary.id == "sha256:411caf340c828657e915a83ed561a79d2b8150dabad4dc079d881cbfe6f86afe"
    assert summary.available and summary.kind == "image"


@pytest.mark.oracle("docker", recorded=True)
def test_legacy_bundle_with_two_images() -> None:
    got = query.inspect(real("legacy-bundle-two-images.tar"))
    assert [r.repo_tags for r in got] == [["test_image_2:latest"], ["test_image_1:latest"]]
    assert got[0].id == "sha256:930705ce23e3b6ed4c08746b6fe880089c864fbaf62482702ae3fdd66b8c7fe9"
    # @N and names choose the same images
    assert query.inspect(real("legacy-bundle-two-images.tar"), ["@1"])[0].id == got[1].id
    assert (
        query.inspect("docker-archive:" + real("legacy-bundle-two-images.tar") + ":test_image_1")[0].id
        == got[1].id
    )


@pytest.mark.oracle("docker", recorded=True)
def test_pre_110_save_builds_the_config_as_docker_does() -> None:
    [resp] = query.inspect(real("legacy-pre110-no-manifest.tar"))
    assert resp.repo_tags == ["bazel/v1/tarball:test_image"]
    assert resp.root_fs.layers == ["sha256:fbec6100edacb7a6374f75545cfdfac2d83f74d0f5ed813645e4c3944c68c761"]
    # moby's MakeConfigFromV1Config, after its V1Image fallback for JSON without docker_version;
    # the ID is the one Docker 20.10 gives this archive after docker load.
    assert resp.id == "sha256:a2673db3c3d86a802c915e140274aed9d62464681af1371c881d7f5821b05645"
    config = query.raw_config(real("legacy-pre110-no-manifest.tar"))
    assert config.startswith(b'{"architecture":"amd64","config":{"Hostname":"","Domainname":""')
    assert config.endswith(
        b'"os":"linux","rootfs":{"type":"layers","diff_ids":'
        b'["sha256:fbec6100edacb7a6374f75545cfdfac2d83f74d0f5ed813645e4c3944c68c761"]}}'
    )


def test_foreign_layer_keeps_its_descriptor() -> None:
    with open_source(real("foreign-layer.tar")) as src:
        [image] = src.entries[0].images()
        foreign = image.layers[1]
        assert foreign.media_type == "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
        assert foreign.descriptor.urls == ("example.com",)
        assert foreign.present and foreign.compression is Compression.GZIP


@pytest.mark.oracle("docker", recorded=True)
def test_dive_archive_history_and_sizes() -> None:
    items = query.history(real("docker1809-dive-14-layers.tar"))
    assert len(items) == 15
    assert items[0].id == "sha256:75ae28b8ebf89b203319069ddcbecdf5c3838503bbebc0d0d85e4b8589c5de3a"
    assert items[0].tags == ["dive-test:latest"]
    assert all(i.id == "<missing>" for i in items[1:])
    non_empty = [i for i in items if i.size]
    assert len(non_empty) <= 14
    [resp] = query.inspect(real("docker1809-dive-14-layers.tar"))
    assert resp.size == sum(i.size for i in items)


@pytest.mark.parametrize("name", ["buildkit-oci-zstd.tar", "buildkit-oci-gzip.tar"])
def test_buildkit_exports(name: str) -> None:
    with open_source(real(name)) as src:
        [image] = src.entries[0].images()
        [layer] = image.layers
        assert str(image.platform) == "linux/arm64"
        expected = Compression.ZSTD if "zstd" in name else Compression.GZIP
        assert layer.compression is expected
        assert not layer.compression_mismatch
        assert layer.declared_compression in (LayerCompression.ZSTD, LayerCompression.GZIP)
    gz, zst = (query.inspect(real(f"buildkit-oci-{c}.tar"))[0] for c in ("gzip", "zstd"))
    assert gz.id == zst.id and gz.size == zst.size > 0


def test_regclient_layout_platforms_and_artifacts() -> None:
    src = real("regclient-testrepo")
    both = query.inspect(src, ["v1"], all_platforms=True)
    assert sorted(r.architecture for r in both) == ["amd64", "arm64"]
    [arm] = query.inspect(src, ["v1"], platform=Platform.parse("linux/arm64/v8"))
    assert arm.architecture == "arm64"
    with pytest.raises(PlatformNotFoundError):
        query.inspect(src, ["v1"], platform=Platform.parse("linux/s390x"))
    kinds = {m.kind for m in query.manifests(src, "v1")}
    assert kinds == {"image", "unknown"}
    # a self-referencing index ends
    assert query.manifests(src, "loop")


def test_regclient_default_platform_follows_the_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCITOOL_HOST_PLATFORM", "linux/arm64")
    [resp] = query.inspect(real("regclient-testrepo"), ["v1"])
    assert resp.architecture == "arm64"


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("bad-null-manifest.tar", EmptySourceError),
        ("not-an-image-rootfs.tar", NotAnImageError),
        ("bad-index-json.oci", InvalidDocumentError),
        ("bad-empty-index.oci", InvalidDocumentError),
    ],
)
def test_broken_archives_fail_cleanly(name: str, error: type[OcitoolError]) -> None:
    with pytest.raises(error) as info:
        query.inspect(real(name))
    message = str(info.value)
    assert "\n" not in message and name in message


def test_every_real_archive_reads_or_fails_cleanly() -> None:
    for entry in sorted(os.listdir(peers.real_root())):
        if entry in ("README.md", "LICENSES"):
            continue
        errors: list[OcitoolError] = []
        try:
            query.inspect(real(entry), errors=errors)
            query.manifests(real(entry))
        except OcitoolError as exc:
            assert entry in str(exc)


# ------------------------------------------------------------------------------------------------
# Against what the real tools said about each archive (fixtures/tools/record_real.py, recorded in
# fixtures/expected/real/): docker 20.10 after ``docker load``, and skopeo.

RECORDED = peers.EXPECTED / "real"
RECORDINGS = sorted(p.name[: -len(".json")] for p in RECORDED.glob("*.json"))


def recording(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RECORDED / f"{name}.json").read_text(encoding="utf-8"))
    return data


def test_every_hash_written_in_this_file_was_recorded_from_a_real_tool() -> None:
    """The IDs and digests the tests above hard-code: each is a value docker, skopeo or the
    archive's own blob names (hashed by the recorder) gave, not one typed from ocitool's output."""
    recorded = "".join((RECORDED / f"{n}.json").read_text() for n in RECORDINGS)
    for literal in set(re.findall(r"sha256:[0-9a-f]{64}", Path(__file__).read_text())):
        assert literal in recorded, literal


@pytest.mark.oracle("docker", "skopeo", recorded=True)
@pytest.mark.parametrize("name", RECORDINGS)
def test_inspect_and_history_equal_the_recorded_docker_and_skopeo(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "UTC")  # the recording's CreatedAt is in UTC
    time.tzset()
    rec = recording(name)
    path = real(name)
    docker = rec["docker"]["images"]
    if docker:
        ours = {r.id: r.to_json() for r in query.inspect(path)}
        for image in docker:
            theirs = image["inspect"]
            mine = ours[theirs["Id"]]  # every image docker loaded, ocitool lists
            for key, value in theirs.items():
                if key == "RepoTags":
                    if rec["docker"]["docker_load"]["exit_code"] != 0:
                        continue  # docker stopped before tagging (legacy-bundle: "invalid tag")
                    assert sorted(mine[key]) == sorted(value)
                else:
                    assert mine.get(key, "") == (value or ""), key
            out = io.StringIO()
            assert main(["history", "--no-trunc", "--format", "json", path, theirs["Id"]], stdout=out) == 0
            rows = [json.loads(line) for line in out.getvalue().splitlines()]
            drop = ("CreatedSince",)  # relative to "now"
            assert [{k: v for k, v in r.items() if k not in drop} for r in rows] == [
                {k: v for k, v in r.items() if k not in drop} for r in image["history"]
            ]
    for sk in rec["skopeo"]:
        if "config" not in sk or '"rootfs"' not in sk["config"]["text"]:
            continue  # skopeo could not read it, or an artifact (regclient's "{}" configs)
        ref = sk["ref"].replace("REAL", str(peers.real_root()), 1)
        selector = ref.rsplit(":", 1)[1] if ref.count(":") > 1 else ""
        image = selector if selector.startswith("@") or ref.startswith("oci:") else ""
        config = query.raw_config(path, image)
        assert ("sha256:" + hashlib.sha256(config).hexdigest(), len(config)) == (
            sk["config"]["digest"],
            sk["config"]["size"],
        ), sk["ref"]
