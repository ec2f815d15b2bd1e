"""Header-only sizes of uncompressed layers are cached by file identity, never by diff ID.

The first ``manifests``/``images`` on an uncompressed archive reads the layers' tar headers; a
repeated call reads no layer bytes (the kernel's count of bytes read, as
tests/test_metadata_reads.py measures it). A header-only scan hashes nothing, so it must not
plant a size under the diff ID an archive claims: a crafted archive cannot poison the size of a
real layer.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

import pytest

import ocitool
from ocitool.ops import query
from tests import peers
from tests.test_layersize_cache import GZIP_LAYOUT, cache_root, docker_size, entries
from tests.test_metadata_reads import _rchar

pytestmark = pytest.mark.oracle("docker", recorded=True)  # the poisoning check uses docker's size

FILES = 6000  # ~3 MB of tar headers: a first scan reads them all


def _layer(files: int, payload: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for i in range(files):
            info = tarfile.TarInfo(f"d{i % 50}/f{i}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return buf.getvalue()


def _archive(path: Path, layer: bytes, *, diff_id: str | None = None) -> None:
    """A docker-archive holding one image with one uncompressed layer (claiming ``diff_id``)."""
    real = "sha256:" + hashlib.sha256(layer).hexdigest()
    config = json.dumps(
        {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [diff_id or real]}}
    ).encode()
    cfg_name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = json.dumps([{"Config": cfg_name, "RepoTags": ["t:1"], "Layers": ["l/layer.tar"]}]).encode()
    with tarfile.open(path, "w") as tar:
        for name, data in ((cfg_name, config), ("l/layer.tar", layer), ("manifest.json", manifest)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def _reads(fn: object) -> int:
    before = _rchar()
    fn()  # type: ignore[operator]
    return _rchar() - before


def _file_entries() -> list[Path]:
    return [p for p in cache_root().glob("v2/file/*") if not p.name.startswith(".")]


def _unpacked(src: str) -> int:
    [summary] = query.manifests(src)
    return summary.unpacked_size


def test_a_repeated_call_reads_no_layer_bytes(tmp_path: Path) -> None:
    layer = _layer(FILES, b"x" * 100)
    archive = tmp_path / "big.tar"
    _archive(archive, layer)
    expected = FILES * 100
    src = str(archive)
    query.manifests(str(peers.FIXTURES / "docker" / "single.tar"))  # imports and lazy state warmed
    known = set(_file_entries())
    first = _reads(lambda: _unpacked(src))
    assert first > FILES * 512  # the first call read every header
    assert _unpacked(src) == expected
    assert len(set(_file_entries()) - known) == 1 and entries() == {}  # by identity, not diff ID
    second = _reads(lambda: _unpacked(src))
    assert second < 64 << 10, second  # the documents only: not one block per header
    assert _reads(lambda: query.images([src])) < 64 << 10


def test_a_changed_file_is_measured_again(tmp_path: Path) -> None:
    archive = tmp_path / "a.tar"
    _archive(archive, _layer(10, b"x" * 100))
    assert _unpacked(str(archive)) == 1000
    st = archive.stat()
    _archive(archive, _layer(10, b"y" * 300))  # same path, new bytes
    os.utime(archive, ns=(st.st_atime_ns, st.st_mtime_ns))  # even with the old size and mtime
    assert archive.stat().st_size == st.st_size
    assert _unpacked(str(archive)) == 3000


def test_a_crafted_archive_cannot_poison_a_diff_id(tmp_path: Path) -> None:
    [resp] = query.inspect(str(GZIP_LAYOUT), with_size=False)
    real_diff_id = resp.root_fs.layers[0]
    crafted = tmp_path / "crafted.tar"
    _archive(crafted, _layer(3, b"z" * 5_000_000), diff_id=real_diff_id)  # claims another's diff ID
    assert _unpacked(str(crafted)) == 15_000_000
    assert entries() == {}  # the header-only size was not stored under the claimed diff ID
    [real] = ocitool.inspect(str(GZIP_LAYOUT))
    assert real.size == docker_size()
    assert _unpacked(str(crafted)) == 15_000_000  # and its own entry answers for its own bytes
