"""A layer whose tar ends with neither padding nor end blocks, as umoci 0.4.7's ``insert`` writes
them (umoci#436; fixtures/umoci, made by ``make_fixtures.sh unpadded`` with the real umoci).

Go's ``archive/tar`` reads such a tar (Docker, containerd and umoci do), so every reader does
too; ``verify`` reports it (exit 2, naming the layer's digest)."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest

from ocitool.cli import main
from ocitool.ops.unpack import unpack
from tests import peers

LAYOUT = peers.FIXTURES / "umoci" / "insert-layout"
DOCKER = peers.FIXTURES / "umoci" / "insert-docker.tar"
SOURCES = [str(LAYOUT), str(DOCKER)]


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def _layer_digest(source: str) -> str:
    code, out, _ = run("manifest", source)
    assert code == 0
    return str(json.loads(out)["layers"][0]["digest"])


@pytest.mark.parametrize("source", SOURCES)
def test_the_layer_tar_really_is_unpadded(source: str) -> None:
    # 24 bytes of data after one 512-byte header, and nothing else: not a multiple of a block
    code, out, _ = run("inspect", "--format", "{{.Size}}", source)
    assert (code, out) == (0, "24\n")
    digest = _layer_digest(source)
    if source == str(LAYOUT):
        import gzip

        data = gzip.decompress((LAYOUT / "blobs" / "sha256" / digest.split(":")[1]).read_bytes())
        assert len(data) == 512 + 24


@pytest.mark.parametrize("source", SOURCES)
def test_images_reads_it(source: str) -> None:
    code, out, err = run("images", "--format", "{{.ID}} {{.Size}}", source)
    assert code == 0 and err == "", err
    assert out.endswith(" 24B\n")


@pytest.mark.parametrize("source", SOURCES)
def test_verify_reports_it(source: str) -> None:
    digest = _layer_digest(source)
    code, out, _ = run("verify", source)
    assert code == 2, out
    [problem] = [line for line in out.splitlines() if line.startswith("unterminated-tar: ")]
    assert problem.startswith(f"unterminated-tar: {digest} ") and "(unpadded)" in problem
    code, out, _ = run("verify", "--format", "json", source)
    assert code == 2 and [p["Kind"] for p in json.loads(out)["Problems"]] == ["unterminated-tar"]


@pytest.mark.parametrize("source", SOURCES)
def test_unpack_reads_it_whole(source: str, tmp_path: Path) -> None:
    unpack(source, tmp_path / "r")
    assert (tmp_path / "r" / "hello.txt").read_text() == "hello from umoci insert\n"


@pytest.mark.oracle("umoci")
def test_umoci_reads_it_too(tmp_path: Path) -> None:
    """The peer that wrote it unpacks it: the same file as ocitool's unpack."""
    bundle = tmp_path / "bundle"
    subprocess.run(
        ["umoci", "unpack", "--rootless", "--image", f"{LAYOUT}:unpadded", str(bundle)],
        check=True,
        capture_output=True,
    )
    assert (bundle / "rootfs" / "hello.txt").read_text() == "hello from umoci insert\n"
