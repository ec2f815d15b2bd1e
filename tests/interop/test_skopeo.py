"""Interop with skopeo: for every fixture, the config bytes (so the image ID), the diff IDs, the
platforms and, where a manifest is stored, the manifest bytes equal what skopeo reads.

skopeo 1.9 cannot read archives compressed whole nor pre-1.10 saves: those are compared with
the same images in their plain form, or left to the docker oracle.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from ocitool.formats.detect import open_source
from ocitool.image.lookup import platform_images
from ocitool.ops import query
from tests import peers

SUMMARY = json.loads((peers.EXPECTED / "summary.json").read_text())


def _skopeo_refs(rel: str, info: dict[str, Any]) -> list[tuple[str, str]]:
    """(skopeo reference, our IMAGE selector) pairs for a fixture."""
    path = str(peers.FIXTURES / rel)
    transport = info["transport"]
    if transport == "docker-archive":
        return [(f"docker-archive:{path}:@{img['index']}", f"@{img['index']}") for img in info["images"]]
    if transport == "dir":
        return [(f"dir:{path}", "")]
    ref = info.get("ref_name", "")
    return [(f"{transport}:{path}:{ref}", ref)]


CASES = [
    pytest.param(rel, sref, image, id=f"{rel}{image and ':' + image}")
    for rel, info in SUMMARY.items()
    if not rel.startswith("compressed/")
    for sref, image in _skopeo_refs(rel, info)
]


@pytest.mark.oracle("skopeo")
@pytest.mark.parametrize(("rel", "sref", "image"), CASES)
def test_same_images_as_skopeo(rel: str, sref: str, image: str) -> None:
    peers.require_tool("skopeo")
    src = str(peers.FIXTURES / rel)
    raw = peers.skopeo_raw(sref)
    doc = json.loads(raw)
    ours_raw = query.raw_manifest(src, image)
    if SUMMARY[rel]["transport"] != "docker-archive":
        # A stored manifest or index: the same bytes.
        assert ours_raw == raw
    if "manifests" in doc:
        with open_source(src) as source:
            [entry] = [e for e in source.entries if image in e.ref_names]
            images = platform_images(entry)
            assert [str(img.digest) for img in images] == [m["digest"] for m in doc["manifests"]]
            for img, desc in zip(images, doc["manifests"], strict=True):
                plat = desc["platform"]
                overrides = [f"--override-os={plat['os']}", f"--override-arch={plat['architecture']}"]
                if plat.get("variant"):
                    overrides.append(f"--override-variant={plat['variant']}")
                assert img.raw_config == peers.skopeo_raw(sref, config=True, overrides=overrides)
                assert str(img.platform) == "/".join(
                    p for p in (plat["os"], plat["architecture"], plat.get("variant", "")) if p
                )
        return
    config = peers.skopeo_raw(sref, config=True)
    assert query.raw_config(src, image) == config
    [resp] = query.inspect(src, [image] if image else [], with_size=False)
    assert resp.id == doc["config"]["digest"]
    cfg = json.loads(config)
    assert resp.root_fs.layers == cfg["rootfs"]["diff_ids"]
    assert len(json.loads(ours_raw)["layers"]) == len(doc["layers"])
    assert (resp.os, resp.architecture, resp.variant) == (
        cfg["os"],
        cfg["architecture"],
        cfg.get("variant", ""),
    )


@pytest.mark.oracle("skopeo", "docker", recorded=True)
@pytest.mark.parametrize("suffix", ["gz", "zst", "xz"])
def test_compressed_whole_equals_plain(suffix: str) -> None:
    plain = query.inspect(str(peers.FIXTURES / "docker" / "two-images.tar"), with_size=False)
    packed_path = str(peers.FIXTURES / "compressed" / f"two-images.tar.{suffix}")
    packed = query.inspect(packed_path, with_size=False)
    assert [(r.id, r.repo_tags, r.root_fs) for r in packed] == [(r.id, r.repo_tags, r.root_fs) for r in plain]
    # and each equals what the real tools said about the compressed file itself when it was made:
    # skopeo's config digests (it reads .xz and .zst, not .gz) and what docker load printed (it
    # loads .gz and .xz, not .zst); the IDs and names are manifest.json's, read with gzip/xz/zstd
    facts = peers.expected(f"compressed/two-images.tar.{suffix}")
    assert sorted((r.id, sorted(r.repo_tags)) for r in packed) == sorted(
        (im["image_id"], sorted(im["manifest_json_entry"]["RepoTags"])) for im in facts["images"]
    )
    for im in facts["images"]:
        if suffix == "gz":
            assert "skopeo_error" in im  # skopeo 1.9's limit, recorded
            continue
        assert im["skopeo_inspect_config_raw"]["digest"] == im["image_id"]
        config = query.raw_config(packed_path, f"@{im['index']}")
        assert (len(config), "sha256:" + hashlib.sha256(config).hexdigest()) == (
            im["skopeo_inspect_config_raw"]["size"],
            im["skopeo_inspect_config_raw"]["digest"],
        )
    load = facts["docker"]["docker_load"]
    assert load["exit_code"] == (1 if suffix == "zst" else 0)
    if load["exit_code"] == 0:
        assert sorted(load["stdout"]) == sorted(f"Loaded image: {t}" for r in packed for t in r.repo_tags)


REAL_SKOPEO = [
    ("docker25-hello-world.tar", "docker-archive", "@0"),
    ("legacy-bundle-two-images.tar", "docker-archive", "@0"),
    ("legacy-bundle-two-images.tar", "docker-archive", "@1"),
    ("docker1809-dive-14-layers.tar", "docker-archive", "@0"),
    ("legacy-whiteout.tar", "docker-archive", "@0"),
    ("foreign-layer.tar", "docker-archive", "@0"),
    ("buildkit-oci-gzip.tar", "oci-archive", ""),
    ("buildkit-oci-zstd.tar", "oci-archive", ""),
]


@pytest.mark.oracle("skopeo")
@pytest.mark.real
@pytest.mark.parametrize(("name", "transport", "image"), REAL_SKOPEO)
def test_real_archives_match_skopeo(name: str, transport: str, image: str) -> None:
    peers.require_tool("skopeo")
    path: Path = peers.real_fixture(name)
    sref = f"{transport}:{path}" + (f":{image}" if image else "")
    config = peers.skopeo_raw(sref, config=True)
    ours = query.raw_config(str(path), image)
    assert ours == config
    doc = json.loads(peers.skopeo_raw(sref))
    [resp] = query.inspect(str(path), [image] if image else [], with_size=False)
    assert resp.id == doc["config"]["digest"]
    assert resp.root_fs.layers == json.loads(config)["rootfs"]["diff_ids"]
