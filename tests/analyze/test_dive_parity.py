"""analyze's image figures equal dive 0.13's on the same archives (the oracle)."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
from pathlib import Path

import pytest

from ocitool.analysis.analyze import analyze
from tests import peers

# dive 0.13.1 ``--json`` / ``--ci`` on the immutable shared archives (docker-archive forms).
RECORDED = {
    "docker1809-dive-14-layers.tar": {
        "sizeBytes": 1220598,
        "inefficientBytes": 32025,
        "efficiencyScore": 0.9844212134184309,
        "userWastedPercent": 0.4834911001404049,
        "fileReference": [
            (2, 12810, "/root/saved.txt"),
            (2, 12810, "/root/example/somefile1.txt"),
            (2, 6405, "/root/example/somefile3.txt"),
        ],
    },
    "legacy-whiteout.tar": {"sizeBytes": 8, "inefficientBytes": 4, "efficiencyScore": 0.5},
    "docker25-hello-world.tar": {"sizeBytes": 9136, "inefficientBytes": 0, "efficiencyScore": 1.0},
    "foreign-layer.tar": {"sizeBytes": 768, "inefficientBytes": 0, "efficiencyScore": 1.0},
    "buildkit-oci-gzip.tar": {"sizeBytes": 11189, "inefficientBytes": 0, "efficiencyScore": 1.0},
    "buildkit-oci-zstd.tar": {"sizeBytes": 11189, "inefficientBytes": 0, "efficiencyScore": 1.0},
}

# Docker archives (dive orders an OCI archive's layers by their place in the archive, not by
# the manifest, so only the docker-archive forms are compared number for number).
OURS = [
    "docker/single.tar",
    "docker/imported.tar",
    "docker/two-images.tar",
    "docker/untagged.tar",
    "buildah/whiteouts.tar",
    "buildah/opaque.tar",
    "analyze/good.tar",
    "analyze/bad-docker.tar",
]
REAL = [
    "docker1809-dive-14-layers.tar",
    "legacy-whiteout.tar",
    "docker25-hello-world.tar",
    "foreign-layer.tar",
]


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_recorded_dive_numbers(name: str) -> None:
    want = RECORDED[name]
    a = analyze(str(peers.real_fixture(name)))
    assert a.size_bytes == want["sizeBytes"]
    assert a.wasted_bytes == want["inefficientBytes"]
    assert a.efficiency == want["efficiencyScore"]
    if "userWastedPercent" in want:
        assert a.user_wasted_percent == want["userWastedPercent"]
    if "fileReference" in want:
        assert [(e.count, e.cumulative_size, e.path) for e in a.inefficient] == want["fileReference"]


def _dive(path: Path, tmp_path: Path) -> tuple[dict[str, object], float]:
    dive = peers.require_tool("dive")
    env = {**os.environ, "CI": "true"}
    out = tmp_path / "dive.json"
    subprocess.run(
        [dive, "--source", "docker-archive", str(path), "--json", str(out)],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    ci = subprocess.run(
        [dive, "--source", "docker-archive", str(path), "--ci"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    m = re.search(r"userWastedPercent: (\S+) %", ci.stdout)
    assert m, ci.stdout
    text = m.group(1)
    percent = math.nan if text == "NaN" else math.inf if text == "+Inf" else float(text)
    image: dict[str, object] = json.loads(out.read_text())["image"]
    return image, percent


@pytest.mark.peers
@pytest.mark.parametrize("rel", OURS + [f"real:{n}" for n in REAL])
def test_live_dive_parity(rel: str, tmp_path: Path) -> None:
    path = peers.real_fixture(rel[5:]) if rel.startswith("real:") else peers.fixture(rel)
    image, percent = _dive(path, tmp_path)
    a = analyze(str(path))
    assert a.size_bytes == image["sizeBytes"]
    assert a.wasted_bytes == image["inefficientBytes"]
    assert a.efficiency == image["efficiencyScore"]
    refs = image["fileReference"]
    assert isinstance(refs, list)
    assert sorted((e.count, e.cumulative_size, e.path) for e in a.inefficient) == sorted(
        (r["count"], r["sizeBytes"], r["file"]) for r in refs
    )
    # dive prints the percent with 4 decimals in --ci mode
    mine = a.user_wasted_percent * 100
    if math.isnan(percent):
        assert math.isnan(mine)
    else:
        assert round(mine, 4) == pytest.approx(percent, abs=1e-9)


@pytest.mark.peers
def test_dive_image_numbers_on_oci_archive_of_a_single_layer_order(tmp_path: Path) -> None:
    # On an OCI archive dive's image totals still match ours (sizes and the efficiency of
    # images whose layers dive happens to keep in manifest order).
    path = peers.fixture("analyze/bad.tar")
    image, _ = _dive(path, tmp_path)
    a = analyze(str(path))
    assert (a.size_bytes, a.wasted_bytes) == (image["sizeBytes"], image["inefficientBytes"])


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("oci:fixtures/oci/gzip", "oci:fixtures/oci/zstd"),
        ("fixtures/analyze/bad.tar", "fixtures/analyze/bad-zstd.tar"),
        ("fixtures/analyze/bad.tar", "fixtures/analyze/bad-docker.tar"),
        ("real:buildkit-oci-gzip.tar", "real:buildkit-oci-zstd.tar"),
    ],
)
def test_gzip_and_zstd_forms_give_the_same_numbers(left: str, right: str) -> None:
    def resolve(s: str) -> str:
        if s.startswith("real:"):
            return str(peers.real_fixture(s[5:]))
        return s.replace("fixtures/", str(peers.FIXTURES) + "/", 1)

    a, b = analyze(resolve(left)), analyze(resolve(right))
    assert a.efficiency == b.efficiency
    assert a.wasted_bytes == b.wasted_bytes
    assert a.size_bytes == b.size_bytes
    assert a.user_wasted_percent == b.user_wasted_percent or (
        math.isnan(a.user_wasted_percent) and math.isnan(b.user_wasted_percent)
    )
    assert [(x.size, x.files, x.added_bytes, x.removed_bytes) for x in a.layers] == [
        (x.size, x.files, x.added_bytes, x.removed_bytes) for x in b.layers
    ]


def test_bad_fixture_figures() -> None:
    a = analyze(str(peers.fixture("analyze/bad.tar")))
    assert [layer.size for layer in a.layers] == [10349, 16384, 0]
    assert a.wasted_bytes == 16384
    assert [(e.count, e.cumulative_size, e.path) for e in a.inefficient] == [(3, 16384, "/data/big.bin")]
    assert a.user_wasted_percent == 1.0
    # layer 1 rewrites big.bin (modified) and adds copy.bin; layer 2 removes big.bin
    assert (a.layers[1].added_bytes, a.layers[1].modified_bytes) == (8192, 8192)
    assert (a.layers[2].removed_files, a.layers[2].removed_bytes) == (1, 8192)
    assert a.layers[1].command == "ocitool-fixture: rewrite big.bin"


@pytest.mark.parametrize("ext", ["gz", "xz", "zst"])
def test_archives_compressed_whole_and_layout_dirs(ext: str) -> None:
    # dive reads neither; the numbers equal those of the plain archive
    plain = analyze(str(peers.fixture("docker/two-images.tar")))
    packed = analyze(str(peers.fixture(f"compressed/two-images.tar.{ext}")))
    assert (packed.size_bytes, packed.wasted_bytes, packed.efficiency) == (
        plain.size_bytes,
        plain.wasted_bytes,
        plain.efficiency,
    )


def test_each_layer_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from ocitool.image.source import Layer

    opened: list[str] = []
    original = Layer.open_uncompressed

    def counting(self: Layer) -> object:
        opened.append(str(self.digest))
        return original(self)

    monkeypatch.setattr(Layer, "open_uncompressed", counting)
    a = analyze(str(peers.real_fixture("docker1809-dive-14-layers.tar")))
    assert len(opened) == len(a.layers) == 14
    assert len(set(opened)) == 14


@pytest.mark.peers
def test_live_dive_parity_on_generated_image_with_many_whiteouts(tmp_path: Path) -> None:
    from tests.analyze.generate import build

    docker, oci = build(tmp_path, layers=4, files=150)
    image, percent = _dive(docker, tmp_path)
    for path in (docker, oci):
        a = analyze(str(path))
        assert (a.size_bytes, a.wasted_bytes, a.efficiency) == (
            image["sizeBytes"],
            image["inefficientBytes"],
            image["efficiencyScore"],
        )
        assert round(a.user_wasted_percent * 100, 4) == pytest.approx(percent, abs=1e-9)
    refs = image["fileReference"]
    assert isinstance(refs, list) and len(refs) > 12
    assert sorted((e.count, e.cumulative_size, e.path) for e in a.inefficient) == sorted(
        (r["count"], r["sizeBytes"], r["file"]) for r in refs
    )
