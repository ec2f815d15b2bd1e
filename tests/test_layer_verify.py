"""Every reader of layer bytes verifies them (issue 10, point 1): one flipped byte inside a docker
archive's ``layer.tar`` (the tar still reads) makes unpack, export, analyze and diff refuse,
naming the layer's digest and the image; nothing is left behind, and a stream output has
received nothing. ``--no-verify`` (``verify=False``) reads the bytes as they are."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from ocitool.cli import main
from ocitool.errors import DigestMismatchError
from ocitool.formats.detect import open_source
from ocitool.ops.rootfs import merged_tar
from tests import peers

SINGLE = peers.FIXTURES / "docker" / "single.tar"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def _tampered(tmp_path: Path) -> tuple[Path, str, str]:
    """A copy of docker/single.tar with one byte of a file's contents flipped inside its last
    layer; (archive, the layer's digest, the image ID)."""
    archive = tmp_path / "tampered.tar"
    shutil.copy(SINGLE, archive)
    with open_source(str(archive)) as src:
        image = src.entries[0].images()[0]
        layer = image.layers[-1]
        digest, image_id = str(layer.digest), str(image.id)
    with tarfile.open(archive) as outer:
        for member in outer.getmembers():  # the member holding the layer: its bytes hash to it
            data = outer.extractfile(member).read() if member.isfile() else b""  # type: ignore[union-attr]
            if "sha256:" + hashlib.sha256(data).hexdigest() == digest:
                base = member.offset_data
                break
        else:
            raise AssertionError("layer not found")
    with tarfile.open(fileobj=io.BytesIO(data)) as inner:
        target = next(m for m in inner.getmembers() if m.isfile() and m.size > 0)
    with open(archive, "r+b") as fh:
        fh.seek(base + target.offset_data)
        byte = fh.read(1)
        fh.seek(base + target.offset_data)
        fh.write(bytes([byte[0] ^ 0x01]))
    return archive, digest, image_id


def test_every_reader_refuses_a_flipped_byte(tmp_path: Path) -> None:
    archive, digest, image_id = _tampered(tmp_path)
    src = str(archive)
    for argv in (
        ("unpack", src, str(tmp_path / "rootfs")),
        ("export", src, str(tmp_path / "out.tar")),
        ("analyze", src),
        ("diff", str(SINGLE), src),
    ):
        code, out, err = run(*argv)
        assert code == 1, (argv, out, err)
        assert err.startswith("Error: ") and err.count("\n") == 1, err
        assert f"expected {digest}" in err and f"image {image_id}" in err, err
    assert not (tmp_path / "rootfs").exists() and not (tmp_path / "out.tar").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tampered.tar"]  # no temporaries left


def test_no_verify_reads_the_bytes_as_they_are(tmp_path: Path) -> None:
    archive, _, _ = _tampered(tmp_path)
    src = str(archive)
    assert run("unpack", "--no-verify", src, str(tmp_path / "rootfs"))[0] == 0
    assert run("export", "--no-verify", src, str(tmp_path / "out.tar"))[0] == 0
    assert run("analyze", "--no-verify", src)[0] == 0
    code, out, _ = run("diff", "--no-verify", "--format", "json", str(SINGLE), src)
    assert code == 0 and '"changed"' in out  # the flipped byte shows as a changed file


class _Sink(io.RawIOBase):
    """A stream output (as stdout or a FIFO): records every byte written."""

    def __init__(self) -> None:
        super().__init__()
        self.written = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.written += len(data)
        return len(data)


def test_a_stream_output_receives_nothing_from_a_tampered_image(tmp_path: Path) -> None:
    archive, digest, image_id = _tampered(tmp_path)
    with open_source(str(archive)) as src:
        image = src.entries[0].images()[0]
        sink = _Sink()
        with pytest.raises(DigestMismatchError) as info:
            merged_tar(image.layers, sink)
        assert sink.written == 0  # every layer was verified before the first byte
        assert info.value.expected == digest and f"image {image_id}" in str(info.value)
        good = _Sink()
        merged_tar(image.layers, good, verify=False)
        assert good.written > 0


def test_the_untampered_archive_passes(tmp_path: Path) -> None:
    assert run("unpack", str(SINGLE), str(tmp_path / "r"))[0] == 0
    code, out, _ = run("diff", "--format", "json", str(SINGLE), str(SINGLE))
    assert code == 0 and json.loads(out)["files"] == []


def test_export_to_stdout_writes_nothing_from_a_tampered_image(tmp_path: Path) -> None:
    archive, digest, _ = _tampered(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    bad = subprocess.run(
        [sys.executable, "-m", "ocitool", "export", str(archive), "-"], capture_output=True, env=env
    )
    assert bad.returncode == 1 and bad.stdout == b"" and digest.encode() in bad.stderr, bad.stderr
    good = subprocess.run(
        [sys.executable, "-m", "ocitool", "export", str(SINGLE), "-"], capture_output=True, env=env
    )
    assert good.returncode == 0
    with tarfile.open(fileobj=io.BytesIO(good.stdout)) as tar:
        assert tar.getnames()
