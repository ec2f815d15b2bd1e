"""The writers' building blocks: deterministic tar members, block-parallel gzip, layout writers."""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ocitool._io.tarwriter import TarWriter, sorted_members, source_date_epoch
from ocitool.compression import Compression
from ocitool.errors import DigestMismatchError, NotAnImageError, SizeMismatchError
from ocitool.formats.oci.write import OCIDirWriter, TarLayoutWriter, index_json
from ocitool.model.descriptor import Descriptor
from ocitool.model.digest import digest_bytes
from ocitool.ops.recompress import Codec, recompress


def _tar(members: dict[str, bytes], mtime: int = 0) -> bytes:
    buf = io.BytesIO()
    tw = TarWriter(buf, mtime=mtime)
    for name in sorted_members(members):
        tw.add_bytes(name, members[name])
    tw.finish()
    return buf.getvalue()


def test_tar_members_are_ustar_unless_a_name_needs_pax() -> None:
    long = "d/" + "x" * 150
    data = _tar({"b": b"2", "a": b"1", long: b"3", "ü.txt": b"4"}, mtime=5)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == ["a", "b", long, "ü.txt"]
    assert all(m.mtime == 5 and m.uid == m.gid == 0 and m.uname == m.gname == "" for m in members)
    assert all(m.mode == 0o644 for m in members)
    # Short ASCII names: plain ustar headers, no PAX records ahead of them.
    assert data[156:157] == b"0" and data[257:263] == b"ustar\x00"
    assert b"PaxHeader" in data and data.count(b"path=") == 2
    assert len(data) % 10240 == 0


def test_source_date_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1234")
    assert source_date_epoch() == 1234
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "junk")
    assert source_date_epoch() == 0
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    assert source_date_epoch() == 0


def test_add_stream_checks_size_and_digest() -> None:
    tw = TarWriter(io.BytesIO())
    data = b"abc" * 1000
    tw.add_stream("ok", len(data), io.BytesIO(data), expect=digest_bytes(data))
    with pytest.raises(DigestMismatchError):
        tw.add_stream("bad", len(data), io.BytesIO(data), expect=digest_bytes(b"other"))
    with pytest.raises(SizeMismatchError):
        tw.add_stream("short", len(data) + 1, io.BytesIO(data))


def _mixed(size: int) -> bytes:
    """Text and random stretches, so both stored and searched blocks occur."""
    out = bytearray()
    i = 0
    while len(out) < size:
        out += os.urandom(700_000) if i % 3 == 2 else (b"layer text %d " % i) * 60_000
        i += 1
    return bytes(out[:size])


@pytest.mark.parametrize("size", [0, 1, (1 << 20) - 1, 1 << 20, (3 << 20) + 12345])
def test_block_parallel_gzip_is_one_valid_stream_independent_of_threads(size: int) -> None:
    data = _mixed(size)
    outputs = []
    for workers in (None, 1, 3):
        out = io.BytesIO()
        if workers is None:
            res = recompress(io.BytesIO(data), out, Codec(Compression.GZIP))
        else:
            with ThreadPoolExecutor(workers) as pool:
                res = recompress(
                    io.BytesIO(data), out, Codec(Compression.GZIP), executor=pool, in_flight=workers
                )
        outputs.append(out.getvalue())
        assert res.uncompressed_size == size and res.size == len(out.getvalue())
    assert outputs[0] == outputs[1] == outputs[2]
    assert gzip.decompress(outputs[0]) == data
    assert zlib.decompress(outputs[0], 31) == data
    if size > 3 << 20:
        assert len(outputs[0]) < 0.7 * size  # the text blocks did compress


def test_levels_change_bytes_and_zlib_levels_are_used_above_6() -> None:
    data = _mixed(2 << 20)
    a, b = io.BytesIO(), io.BytesIO()
    recompress(io.BytesIO(data), a, Codec(Compression.GZIP, 1))
    recompress(io.BytesIO(data), b, Codec(Compression.GZIP, 9))
    assert a.getvalue() != b.getvalue()
    assert gzip.decompress(a.getvalue()) == gzip.decompress(b.getvalue()) == data
    assert Codec(Compression.GZIP, 9).compressor == "zlib:9"


def _desc(data: bytes, ref: str) -> Descriptor:
    return Descriptor(
        "application/vnd.oci.image.manifest.v1+json",
        digest_bytes(data),
        len(data),
        annotations={"org.opencontainers.image.ref.name": ref},
    )


def test_oci_dir_writer_new_and_added_to(tmp_path: Path) -> None:
    path = tmp_path / "layout"
    with OCIDirWriter(str(path)) as w:
        d = w.put_bytes(b"{}")
        assert not path.exists()  # built aside, renamed at commit
        w.commit([_desc(b"{}", "a")])
    assert d.encoded in os.listdir(path / "blobs/sha256")
    assert json.loads((path / "oci-layout").read_bytes()) == {"imageLayoutVersion": "1.0.0"}
    # Adding: a new ref name is appended; the same ref name replaces.
    with OCIDirWriter(str(path)) as w:
        w.put_bytes(b"[]")
        w.commit([_desc(b"[]", "b")])
    with OCIDirWriter(str(path)) as w:
        w.commit([_desc(b"[]", "a")])
    index = json.loads((path / "index.json").read_bytes())
    assert [m["annotations"]["org.opencontainers.image.ref.name"] for m in index["manifests"]] == ["b", "a"]
    assert sorted(os.listdir(path)) == ["blobs", "index.json", "oci-layout"]


def test_oci_dir_writer_holds_an_exclusive_lock(tmp_path: Path) -> None:
    path = tmp_path / "layout"
    path.mkdir()
    first = OCIDirWriter(str(path))
    entered = threading.Event()

    def second() -> None:
        with OCIDirWriter(str(path)) as w:
            entered.set()
            w.commit([])

    t = threading.Thread(target=second)
    t.start()
    assert not entered.wait(0.3)  # blocked by the first writer's flock
    first.commit([])
    t.join(5)
    assert entered.is_set()


def test_writers_refuse_wrong_destinations_and_abort_cleanly(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"x")
    with pytest.raises(NotAnImageError):
        OCIDirWriter(str(tmp_path / "file"))
    with pytest.raises(NotAnImageError):
        TarLayoutWriter(str(tmp_path))
    w = TarLayoutWriter(str(tmp_path / "out.tar"))
    w.put_bytes(b"{}")
    w.abort()
    assert sorted(os.listdir(tmp_path)) == ["file"]


def test_index_json_is_compact_in_go_field_order() -> None:
    raw = index_json([_desc(b"{}", "x")])
    assert raw.startswith(
        b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":['
    )
