"""``verify``: every fault found and reported with its digest and referrer; exit codes."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from pathlib import Path

import pytest

from ocitool.cli import main
from ocitool.ops.verify import verify
from tests import peers

GOOD = [
    "docker/two-images.tar",
    "buildah/opaque.tar",
    "oci/multiplatform",
    "oci/zstd",
    "oci/gzip",
    "dir/base",
    "compressed/two-images.tar.zst",
    "oci-archive/base.tar",
]


@pytest.mark.parametrize("rel", GOOD)
def test_good_fixtures_verify(rel: str) -> None:
    report = verify(str(peers.FIXTURES / rel))
    assert report.ok, report.problems
    assert report.images >= 1 and report.blobs >= 2 and report.bytes > 0


def _layout_copy(tmp_path: Path) -> tuple[Path, list[Path]]:
    layout = tmp_path / "layout"
    shutil.copytree(peers.FIXTURES / "oci" / "gzip", layout)
    index = json.loads((layout / "index.json").read_text())
    manifest_digest = index["manifests"][0]["digest"].split(":")[1]
    manifest = json.loads((layout / "blobs" / "sha256" / manifest_digest).read_text())
    layers = [layout / "blobs" / "sha256" / d["digest"].split(":")[1] for d in manifest["layers"]]
    return layout, layers


def test_every_problem_is_reported_not_only_the_first(tmp_path: Path) -> None:
    layout, layers = _layout_copy(tmp_path)
    # Corrupt two layers differently: one byte changed (digest), one truncated (size).
    data = bytearray(layers[0].read_bytes())
    data[-10] ^= 0xFF
    layers[0].write_bytes(bytes(data))
    layers[1].write_bytes(layers[1].read_bytes()[:-3])
    report = verify(str(layout))
    assert not report.ok
    kinds = {(p.kind, p.digest) for p in report.problems}
    assert ("digest-mismatch", "sha256:" + layers[0].name) in kinds
    assert ("size-mismatch", "sha256:" + layers[1].name) in kinds
    assert all(p.referenced_by.startswith("manifest sha256:") for p in report.problems)


def test_reader_thread_reports_exactly_what_a_direct_read_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ocitool.ops.verify as verify_module

    layout, layers = _layout_copy(tmp_path)
    data = bytearray(layers[0].read_bytes())
    data[len(data) // 2] ^= 0xFF  # corrupt deflate data: cannot be decompressed
    layers[0].write_bytes(bytes(data))
    layers[1].write_bytes(layers[1].read_bytes() + b"trailing")  # bytes after the stream count
    sources = [str(layout), *(str(peers.FIXTURES / rel) for rel in GOOD)]
    sources.append(str(peers.FIXTURES / "hostile" / "diff-id-mismatch.tar"))
    direct = [verify(src).to_json() for src in sources]
    monkeypatch.setattr(verify_module, "_THREADED_MIN", 0)  # every compressed blob: reader thread
    threaded = [verify(src).to_json() for src in sources]
    assert threaded == direct
    kinds = {p.kind for p in verify(str(layout)).problems}
    assert {"digest-mismatch", "size-mismatch", "unreadable-layer"} <= kinds and not direct[0]["OK"]


def test_diff_id_mismatch_and_missing_blob(tmp_path: Path) -> None:
    layout, layers = _layout_copy(tmp_path)
    layers[2].unlink()
    report = verify(str(layout))
    assert [(p.kind, p.digest) for p in report.problems] == [("missing-blob", "sha256:" + layers[2].name)]


def test_diff_id_checked_against_uncompressed_stream() -> None:
    report = verify(str(peers.FIXTURES / "hostile" / "diff-id-mismatch.tar"))
    diff = [p for p in report.problems if p.kind == "diff-id-mismatch"]
    assert diff and "sha256:" + "0" * 64 in diff[0].message + diff[0].digest


def test_cli_exit_codes_and_json(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main(["verify", str(peers.FIXTURES / "docker" / "single.tar")], stdout=out, stderr=err) == 0
    assert out.getvalue().rstrip().endswith("OK")
    layout, layers = _layout_copy(tmp_path)
    layers[0].write_bytes(b"garbage")
    out = io.StringIO()
    assert main(["verify", "--format", "json", str(layout)], stdout=out, stderr=err) == 2
    doc = json.loads(out.getvalue())
    assert doc["OK"] is False
    assert {p["Digest"] for p in doc["Problems"]} == {"sha256:" + layers[0].name}
    err = io.StringIO()
    assert main(["verify", str(tmp_path / "nothing")], stdout=io.StringIO(), stderr=err) == 1
    assert err.getvalue().startswith("Error:")


def test_hashing_is_parallel_and_exact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading
    import time

    from ocitool.ops import verify as verify_module

    layout, layers = _layout_copy(tmp_path)
    running, peak, lock = 0, 0, threading.Lock()
    real_job = verify_module._run_job

    def job(j: object) -> object:  # each blob's job, held open long enough for others to start
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.2)
        try:
            return real_job(j)  # type: ignore[arg-type]
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(verify_module, "_run_job", job)
    report = verify(str(layout), workers=4)
    assert report.ok
    total = sum(p.stat().st_size for p in layers)
    assert report.bytes >= total
    assert all(hashlib.sha256(p.read_bytes()).hexdigest() == p.name for p in layers)
    # the blobs the manifest names (config and layers; the manifest itself is checked when read)
    # are each hashed once, and their bytes counted exactly
    index = json.loads((layout / "index.json").read_text())
    manifest = json.loads((layout / "blobs" / "sha256" / index["manifests"][0]["digest"][7:]).read_text())
    named = [manifest["config"], *manifest["layers"]]
    assert report.blobs == len(named) == 4
    assert report.bytes == sum(d["size"] for d in named)
    assert peak >= 2, "no two blobs were hashed at the same time"
    peak = 0
    serial = verify(str(layout), workers=1)
    assert peak == 1
    assert (serial.ok, serial.blobs, serial.bytes) == (report.ok, report.blobs, report.bytes)
    # and in parallel every fault is still found, the same as serially
    monkeypatch.setattr(verify_module, "_run_job", real_job)
    layers[0].write_bytes(b"garbage")
    layers[1].write_bytes(layers[1].read_bytes()[:-1])
    faults = {(p.kind, p.digest) for p in verify(str(layout), workers=4).problems}
    assert faults == {(p.kind, p.digest) for p in verify(str(layout), workers=1).problems}
    assert {d for _, d in faults} == {"sha256:" + layers[0].name, "sha256:" + layers[1].name}


@pytest.mark.real
def test_docker25_manifest_json_against_the_oci_index(tmp_path: Path) -> None:
    import tarfile

    archive = peers.real_fixture("docker25-hello-world.tar")
    assert verify(str(archive)).ok
    unpacked = tmp_path / "save"
    with tarfile.open(archive) as tar:
        tar.extractall(unpacked, filter="data")
    doc = json.loads((unpacked / "manifest.json").read_text())
    doc[0]["Layers"] = [doc[0]["Config"]]  # a blob that is there, but not the image's layer
    (unpacked / "manifest.json").write_text(json.dumps(doc))
    report = verify(f"docker-archive:{unpacked}")
    assert [(p.kind, p.referenced_by.rsplit(" ", 1)[-1]) for p in report.problems] == [
        ("inconsistent", "/0/Layers")
    ]
