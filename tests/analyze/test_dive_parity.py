"""analyze's image figures equal dive 0.13's on the same archives (the oracle).

Offline, against dive's own reports recorded by ``fixtures/tools/record_dive.py`` in
``fixtures/expected/dive/`` (image figures, per-layer sizes, the ``--ci`` figures); live, against
dive itself, which must also still print what was recorded.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ocitool.analysis.analyze import analyze
from ocitool.cli import main
from tests import peers

# dive 0.13.1 ``--json`` / ``--ci`` on the immutable shared archives (docker-archive forms), as
# recorded in fixtures/expected/dive/real/ (test_recorded_numbers_are_dives checks they agree).
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

DIVE = peers.EXPECTED / "dive"
RECORDINGS = sorted(str(p.relative_to(DIVE))[: -len(".json")] for p in DIVE.rglob("*.json"))
# dive reads an OCI archive's layers in no fixed order: its recording has no per-layer figures
OCI_ORDER = {"analyze/bad.tar"}

# dive reads the first image of an archive; ocitool wants an image named when there are several.
DIVE_IMAGE = "@0"


def recording(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DIVE / f"{name}.json").read_text(encoding="utf-8"))
    return data


def archive_path(name: str) -> Path:
    return peers.real_fixture(name[5:]) if name.startswith("real/") else peers.fixture(name)


def _params(names: list[str]) -> list[Any]:
    return [pytest.param(n, id=n, marks=[pytest.mark.real] if n.startswith("real/") else []) for n in names]


def assert_matches_dive(a: Any, image: dict[str, Any], layers: list[dict[str, Any]] | None) -> None:
    """The analysis against dive's --json report: image figures, references, per-layer sizes."""
    assert a.size_bytes == image["sizeBytes"]
    assert a.wasted_bytes == image["inefficientBytes"]
    assert a.efficiency == image["efficiencyScore"]
    assert sorted((e.count, e.cumulative_size, e.path) for e in a.inefficient) == sorted(
        (r["count"], r["sizeBytes"], r["file"]) for r in image["fileReference"]
    )
    if layers is not None:
        assert [(x.index, x.size) for x in a.layers] == [(x["index"], x["sizeBytes"]) for x in layers]
        assert [str(x.diff_id) for x in a.layers] == [x["digestId"] for x in layers]  # dive: diff IDs


@pytest.mark.oracle("dive", recorded=True)
@pytest.mark.parametrize("name", _params(RECORDINGS))
def test_recorded_dive_reports(name: str) -> None:
    rec = recording(name)
    a = analyze(str(archive_path(name)), DIVE_IMAGE)
    assert_matches_dive(a, rec["image"], None if name in OCI_ORDER else rec["layer"])
    # and the three figures of ``analyze --ci`` are printed as dive --ci printed them
    out = io.StringIO()
    main(
        ["analyze", "--ci", "--rule", "lowestEfficiency=off", str(archive_path(name)), DIVE_IMAGE], stdout=out
    )
    figures = dict(re.findall(r"^\s+(efficiency|wastedBytes|userWastedPercent): (.*)$", out.getvalue(), re.M))
    if name in OCI_ORDER:  # the share of "user" bytes wasted depends on the (dive's) layer order
        assert rec["layer"] is None and "userWastedPercent" not in rec["ci"]
        figures.pop("userWastedPercent")
    assert figures == rec["ci"]


def test_recorded_numbers_are_dives() -> None:
    """The hand-kept RECORDED table says what the recordings say."""
    for name, want in RECORDED.items():
        image = recording(f"real/{name}")["image"]
        assert {k: image[k] for k in ("sizeBytes", "inefficientBytes", "efficiencyScore")} == {
            k: want[k] for k in ("sizeBytes", "inefficientBytes", "efficiencyScore")
        }
        if "fileReference" in want:
            assert [(r["count"], r["sizeBytes"], r["file"]) for r in image["fileReference"]] == want[
                "fileReference"
            ]


@pytest.mark.oracle("dive", recorded=True)
@pytest.mark.real
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


def _dive(path: Path, tmp_path: Path) -> tuple[dict[str, Any], float]:
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
    report = json.loads(out.read_text())
    image: dict[str, Any] = report["image"]
    image["layer"] = report["layer"]
    return image, percent


@pytest.mark.oracle("dive")
@pytest.mark.parametrize("rel", _params([n for n in RECORDINGS if n not in OCI_ORDER]))
def test_live_dive_parity(rel: str, tmp_path: Path) -> None:
    path = archive_path(rel)
    image, percent = _dive(path, tmp_path)
    a = analyze(str(path), DIVE_IMAGE)
    assert a.size_bytes == image["sizeBytes"]
    assert a.wasted_bytes == image["inefficientBytes"]
    assert a.efficiency == image["efficiencyScore"]
    refs = image["fileReference"]
    assert isinstance(refs, list)
    assert sorted((e.count, e.cumulative_size, e.path) for e in a.inefficient) == sorted(
        (r["count"], r["sizeBytes"], r["file"]) for r in refs
    )
    # per layer too: dive's sizeBytes of each layer
    assert [x.size for x in a.layers] == [x["sizeBytes"] for x in image["layer"]]
    assert_matches_dive(a, image, image["layer"])
    # dive prints the percent with 4 decimals in --ci mode
    mine = a.user_wasted_percent * 100
    if math.isnan(percent):
        assert math.isnan(mine)
    else:
        assert round(mine, 4) == pytest.approx(percent, abs=1e-9)
    # and dive still says what was recorded (fixtures/tools/record_dive.py)
    rec = recording(rel)
    assert {k: v for k, v in image.items() if k != "layer"} == rec["image"]
    assert [{k: x[k] for k in ("index", "digestId", "sizeBytes", "command")} for x in image["layer"]] == rec[
        "layer"
    ]


@pytest.mark.oracle("dive")
def test_dive_image_numbers_on_oci_archive_of_a_single_layer_order(tmp_path: Path) -> None:
    # On an OCI archive dive's image totals still match ours (sizes and the efficiency of
    # images whose layers dive happens to keep in manifest order).
    path = peers.fixture("analyze/bad.tar")
    image, _ = _dive(path, tmp_path)
    a = analyze(str(path))
    assert (a.size_bytes, a.wasted_bytes) == (image["sizeBytes"], image["inefficientBytes"])


@pytest.mark.oracle("dive", recorded=True)
@pytest.mark.parametrize(
    ("left", "right", "dive_form"),
    [
        ("oci:fixtures/oci/gzip", "oci:fixtures/oci/zstd", "docker/single.tar"),
        ("fixtures/analyze/bad.tar", "fixtures/analyze/bad-zstd.tar", "analyze/bad-docker.tar"),
        ("fixtures/analyze/bad.tar", "fixtures/analyze/bad-docker.tar", "analyze/bad-docker.tar"),
        pytest.param(
            "real:buildkit-oci-gzip.tar",
            "real:buildkit-oci-zstd.tar",
            "real/buildkit-oci-gzip.tar",
            marks=pytest.mark.real,
        ),
    ],
)
def test_gzip_and_zstd_forms_give_the_same_numbers(left: str, right: str, dive_form: str) -> None:
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
    # both are the image dive read in its docker-archive form (recorded; layers in manifest order)
    rec = recording(dive_form)
    for x in (a, b):
        assert_matches_dive(x, rec["image"], None)
        assert [layer.size for layer in x.layers] == [layer["sizeBytes"] for layer in rec["layer"]]


@pytest.mark.oracle("dive", recorded=True)
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
    # the figures above are dive's for the same image (its docker-archive form, recorded)
    rec = recording("analyze/bad-docker.tar")
    assert [layer["sizeBytes"] for layer in rec["layer"]] == [10349, 16384, 0]
    assert (rec["image"]["inefficientBytes"], rec["image"]["fileReference"]) == (
        16384,
        [{"count": 3, "sizeBytes": 16384, "file": "/data/big.bin"}],
    )
    assert [layer["command"] for layer in rec["layer"]][1] == a.layers[1].command


@pytest.mark.oracle("dive", recorded=True)
@pytest.mark.parametrize("ext", ["gz", "xz", "zst"])
def test_archives_compressed_whole_and_layout_dirs(ext: str) -> None:
    # dive reads neither; the numbers equal those of the plain archive
    plain = analyze(str(peers.fixture("docker/two-images.tar")), DIVE_IMAGE)
    packed = analyze(str(peers.fixture(f"compressed/two-images.tar.{ext}")), DIVE_IMAGE)
    assert (packed.size_bytes, packed.wasted_bytes, packed.efficiency) == (
        plain.size_bytes,
        plain.wasted_bytes,
        plain.efficiency,
    )
    # ... and those dive reported for the plain archive (the compressed files decompress to it)
    rec = recording("docker/two-images.tar")
    assert_matches_dive(packed, rec["image"], rec["layer"])


@pytest.mark.real
def test_each_layer_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from ocitool.image.source import Layer

    opened: list[str] = []
    original = Layer.reading  # every reader of layer contents opens the layer through it

    def counting(self: Layer, **kwargs: bool) -> object:
        opened.append(str(self.digest))
        return original(self, **kwargs)

    monkeypatch.setattr(Layer, "reading", counting)
    a = analyze(str(peers.real_fixture("docker1809-dive-14-layers.tar")))
    assert len(opened) == len(a.layers) == 14
    assert len(set(opened)) == 14


@pytest.mark.oracle("dive")
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
