"""The analyze and diff commands: output, exit codes, report files, errors."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from ocitool.cli import main
from tests import peers

RULES_ALL = str(peers.FIXTURES / "analyze" / "rules-all.yaml")


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.oracle("dive", recorded=True)
def test_analyze_json_uses_dive_names() -> None:
    code, out, _ = run("analyze", "--format", "json", str(peers.fixture("analyze/bad-docker.tar")))
    assert code == 0
    doc = json.loads(out)
    assert doc["image"]["sizeBytes"] == 26733
    assert doc["image"]["inefficientBytes"] == 16384
    assert doc["image"]["efficiencyScore"] == pytest.approx(0.3871245277372536, abs=0)
    assert doc["image"]["fileReference"] == [{"count": 3, "sizeBytes": 16384, "file": "/data/big.bin"}]
    assert [layer["sizeBytes"] for layer in doc["layer"]] == [10349, 16384, 0]
    # those numbers are dive's (fixtures/tools/record_dive.py), as is the whole image section
    rec = json.loads((peers.EXPECTED / "dive" / "analyze" / "bad-docker.tar.json").read_text())
    assert {k: doc["image"][k] for k in rec["image"]} == rec["image"]  # ocitool adds id, platform...
    assert [(x["index"], x["digestId"], x["sizeBytes"], x["command"]) for x in doc["layer"]] == [
        (x["index"], x["digestId"], x["sizeBytes"], x["command"]) for x in rec["layer"]
    ]


@pytest.mark.oracle("dive", recorded=True)
def test_analyze_table() -> None:
    code, out, _ = run("analyze", str(peers.fixture("buildah/whiteouts.tar")))
    assert code == 0
    assert "Efficiency:         98.0092 %" in out
    assert "Wasted bytes:       161 bytes" in out
    # as dive --ci printed them for the same archive (recorded)
    rec = json.loads((peers.EXPECTED / "dive" / "buildah" / "whiteouts.tar.json").read_text())["ci"]
    assert f"Efficiency:         {rec['efficiency']}" in out
    assert f"Wasted bytes:       {rec['wastedBytes']}" in out
    assert f"User wasted:        {rec['userWastedPercent']}" in out


def test_ci_exit_codes(tmp_path: Path) -> None:
    assert run("analyze", "--ci", "--rules", RULES_ALL, str(peers.fixture("analyze/good.tar")))[0] == 0
    code, out, _ = run("analyze", "--ci", "--rules", RULES_ALL, str(peers.fixture("analyze/bad.tar")))
    assert code == 2
    assert "Result:FAIL [Total:11] [Passed:0] [Failed:11]" in out
    # dive's defaults: the bad image fails highestUserWastedPercent and lowestEfficiency
    code, out, _ = run("analyze", "--ci", str(peers.fixture("analyze/bad.tar")))
    assert code == 2 and "FAIL: lowestEfficiency" in out and "SKIP: highestWastedBytes" in out
    # a single --rule override
    code, _, _ = run(
        "analyze",
        "--rule",
        "lowestEfficiency=0.3",
        "--rule",
        "highestUserWastedPercent=off",
        str(peers.fixture("analyze/bad.tar")),
    )
    assert code == 0


def test_ci_reads_dot_dive_ci_from_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".dive-ci").write_text(
        "rules:\n  lowestEfficiency: 0.1\n  highestUserWastedPercent: disabled\n"
    )
    monkeypatch.chdir(tmp_path)
    code, out, _ = run("analyze", "--ci", str(peers.fixture("analyze/bad.tar")))
    assert code == 0, out


def test_unreadable_input_exits_1_without_traceback(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar at all" * 10)
    code, _, err = run("analyze", "--ci", str(junk))
    assert code == 1 and "Traceback" not in err and err.startswith("Error:")
    code, _, err = run(
        "analyze", "--ci", "--rules", str(tmp_path / "missing.yaml"), str(peers.fixture("analyze/good.tar"))
    )
    assert code == 1 and "missing.yaml" in err


def test_corrupt_layer_exits_1(tmp_path: Path) -> None:
    import shutil

    layout = tmp_path / "layout"
    shutil.copytree(peers.FIXTURES / "oci" / "gzip", layout)
    index = json.loads((layout / "index.json").read_text())
    manifest_digest = index["manifests"][0]["digest"].split(":")[1]
    manifest = json.loads((layout / "blobs" / "sha256" / manifest_digest).read_text())
    blob = layout / "blobs" / "sha256" / manifest["layers"][0]["digest"].split(":")[1]
    data = blob.read_bytes()
    blob.write_bytes(data[: len(data) // 2])
    code, _, err = run("analyze", f"oci:{layout}")
    assert code == 1 and "Traceback" not in err, err
    # corrupt deflate data (not just truncated): the decoder's own error becomes a typed one
    flipped = bytearray(data)
    for i in range(200, len(flipped) - 20):
        flipped[i] ^= 0x5A
    blob.write_bytes(bytes(flipped))
    code, _, err = run("analyze", f"oci:{layout}")
    assert code == 1 and "corrupt compressed data" in err and blob.name in err, err


def test_usage_error_is_125() -> None:
    assert run("analyze", "--format", "yaml", "x")[0] == 125
    assert run("analyze", "--rule", "nosuch=1", str(peers.fixture("analyze/good.tar")))[0] == 125


def test_report_files_written_atomically(tmp_path: Path) -> None:
    paths = {k: tmp_path / f"out.{k}" for k in ("junit", "sarif", "markdown", "html")}
    args = [f"--{k}={p}" for k, p in paths.items()]
    code, _, _ = run("analyze", *args, "--rules", RULES_ALL, str(peers.fixture("analyze/bad.tar")))
    assert code == 2
    for p in paths.values():
        assert p.stat().st_size > 100
    assert sorted(os.listdir(tmp_path)) == sorted(p.name for p in paths.values())  # no temp files left
    code, _, err = run(
        "analyze", f"--html={tmp_path}/no/such/dir/r.html", str(peers.fixture("analyze/good.tar"))
    )
    assert code == 1 and "Traceback" not in err


def test_diff_files_config_layers() -> None:
    code, out, _ = run(
        "diff",
        "--format",
        "json",
        str(peers.fixture("docker/single.tar")),
        str(peers.fixture("buildah/whiteouts.tar")),
    )
    assert code == 0
    doc = json.loads(out)
    changes = {(f["path"], f["change"]) for f in doc["files"]}
    assert ("/etc/remove-me.txt", "removed") in changes
    assert ("/opt/olddir/sub/b.txt", "removed") in changes
    assert ("/srv/child/added-by-buildah.txt", "added") in changes
    assert ("/etc/os-release", "changed") in changes
    assert ("/bin/hello", "changed") not in changes
    fields = {c["field"]: c for c in doc["config"]}
    assert fields["User"] == {"field": "User", "old": "1000:1000", "new": "root"}
    assert fields["Cmd"]["new"] == ["--child"]
    assert fields["Labels.org.ocitool.whiteouts"]["old"] is None
    assert len(doc["sharedLayers"]) == 3


def test_diff_same_content_in_other_compression_is_identical() -> None:
    code, out, _ = run(
        "diff",
        "--format",
        "json",
        str(peers.fixture("analyze/bad.tar")),
        str(peers.fixture("analyze/bad-zstd.tar")),
    )
    assert code == 0
    doc = json.loads(out)
    assert doc["files"] == [] and doc["config"] == []
    assert doc["summary"] == {"added": 0, "removed": 0, "changed": 0}


def test_diff_table_and_image_suffix() -> None:
    src = peers.fixture("docker/two-images.tar")
    code, out, err = run(
        "diff",
        f"docker-archive:{src}:ocitool-fixture/base:1.0",
        f"docker-archive:{src}:ocitool-fixture/child:latest",
    )
    assert code == 0, err
    assert "A " in out and "/srv/child/one.txt" in out and "Shared layers: 3" in out


def test_diff_table_prints_config_values_as_json() -> None:
    code, out, _ = run(
        "diff", str(peers.fixture("docker/single.tar")), str(peers.fixture("buildah/whiteouts.tar"))
    )
    assert code == 0
    assert '  Cmd: ["--serve"] -> ["--child"]' in out
    assert '  User: "1000:1000" -> "root"' in out
    assert "  Labels.org.ocitool.whiteouts: null -> " in out
    assert "None" not in out and "'" not in out
