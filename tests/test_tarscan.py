"""The tar header scanner (ocitool._io.tarscan) against tarfile and against Go's archive/tar rules.

* Every tar among the fixtures (archives, the layers inside docker archives and OCI layouts,
  compressed ones decompressed) and ../shared/fixtures/real reads the same through the scanner
  as through tarfile (as ocitool's tarfile scans open it, with SafeTarInfo's limits).
* Generated tars (hypothesis, written by tarfile in USTAR, GNU and PAX formats) read the same.
* Where Go and tarfile differ (end of archive, trailing bytes, an unpadded last member, global
  headers, dangling meta headers, corrupt headers that tarfile takes for the end), tars are
  built byte by byte and the scanner does what Go's reader does; umoci (Go's archive/tar)
  unpacking the same bytes as a layer is the oracle (a peer test).
* Mutated tars never make the scanner raise anything but InvalidArchiveError, and the three
  ways of reading (pread, seek, stream) agree.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from ocitool._io import tarscan
from ocitool._io.files import SectionReader
from ocitool._io.safetar import SafeTarInfo
from ocitool._io.tarscan import (
    MAX_LONG_HEADER,
    TarEnd,
    TarMember,
    TarReader,
    TarScan,
    scan_tar,
)
from ocitool.compression import Compression, is_tar_header, open_decompressed, sniff
from ocitool.errors import InvalidArchiveError, OcitoolError
from tests import peers

BLOCK = 512
END = bytes(2 * BLOCK)  # the two zero blocks that end a tar
# Nested blobs are decompressed in memory: the hostile gzip bomb inflates to 64 MiB.
MAX_NESTED = 96 << 20


# -- reading one tar three ways, and through tarfile ------------------------------------------


class _Stream(io.RawIOBase):
    """A non-seekable view of bytes, read in small uneven pieces (as a decompressor returns)."""

    def __init__(self, data: bytes) -> None:
        super().__init__()
        self._data = data
        self._pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), 700, len(self._data) - self._pos)
        buffer[:n] = self._data[self._pos : self._pos + n]
        self._pos += n
        return n


def _scan_bytes(data: bytes, how: str) -> TarScan:
    if how == "stream":
        return scan_tar(_Stream(data), label="t.tar")
    if how == "seek":
        return scan_tar(io.BytesIO(data), label="t.tar")
    with tempfile.TemporaryFile() as fh:
        fh.write(data)
        fh.seek(0)
        return scan_tar(fh, label="t.tar")


def scan_all_ways(data: bytes) -> TarScan | InvalidArchiveError:
    """The scan by pread, by seek and by streaming, which must agree; or the one error."""
    outcomes: list[TarScan | InvalidArchiveError] = []
    for how in ("fd", "seek", "stream"):
        try:
            outcomes.append(_scan_bytes(data, how))
        except InvalidArchiveError as exc:
            outcomes.append(exc)
    first = outcomes[0]
    for other in outcomes[1:]:
        if isinstance(first, InvalidArchiveError):
            assert isinstance(other, InvalidArchiveError), (first, other)
            assert str(other) == str(first)
        else:
            assert isinstance(other, TarScan), (first, other)
            assert other.members == first.members
            assert (other.end, other.end_offset) == (first.end, first.end_offset)
    return first


def tarfile_members(data: bytes) -> list[tarfile.TarInfo]:
    """The members tarfile reads, opened as ocitool's tarfile scans open a tar."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:", tarinfo=SafeTarInfo) as tar:
        return tar.getmembers()


def _type(info: tarfile.TarInfo) -> bytes:
    return tarfile.REGTYPE if info.type == tarfile.AREGTYPE else info.type


def assert_same_as_tarfile(data: bytes, where: str = "") -> TarScan:
    """Scanner and tarfile agree on every member of a well-formed tar (global headers apart)."""
    scan = scan_all_ways(data)
    assert isinstance(scan, TarScan), f"{where}: {scan}"
    infos = tarfile_members(data)
    members = [m for m in scan.members if not m.is_global()]
    globals_ = [m for m in scan.members if m.is_global()]
    assert len(members) == len(infos), where
    for m, info in zip(members, infos, strict=True):
        here = f"{where}:{info.name}"
        # tarfile drops a directory's trailing slashes (and a PAX path's); Go keeps them.
        assert m.name.rstrip("/") == info.name.rstrip("/"), here
        assert m.linkname == info.linkname, here
        assert m.type == _type(info), here
        assert m.size == info.size, here
        assert (m.mode, m.uid, m.gid) == (info.mode, info.uid, info.gid), here
        assert (m.uname, m.gname) == (info.uname, info.gname), here
        assert (m.devmajor, m.devminor) == (info.devmajor, info.devminor), here
        assert abs(m.mtime - info.mtime) < 1e-6 * max(1, abs(info.mtime)), here
        assert m.header_offset == info.offset, here
        assert m.data_offset == info.offset_data, here
        if info.sparse is not None:
            assert m.sparse is not None, here
            fragments: Any = info.sparse  # (offset, size) pairs; typeshed has another idea
            expected = [(f[0], f[1]) for f in fragments if f[1]]
            assert [f for f in m.sparse if f[1]] == expected, here
        else:
            assert m.sparse is None, here
            if not globals_:  # tarfile merges global records into every later member
                assert dict(m.pax) == info.pax_headers, here
        if m.isreg() and m.sparse is None:
            assert m.data_size == m.size, here
    return scan


# -- fixtures: every tar, and every tar inside one ---------------------------------------------


def _decompressed(data: bytes, label: str) -> bytes | None:
    compression = sniff(data[:8])
    if compression is Compression.NONE:
        return data
    with open_decompressed(io.BytesIO(data), compression, path=label) as fh:
        out = fh.read(MAX_NESTED + 1)
    return out if len(out) <= MAX_NESTED else None


def _tars_in(data: bytes, label: str) -> Iterator[tuple[str, bytes]]:
    """``data`` when it is a tar, then every tar among its members (recursively)."""
    plain = _decompressed(data, label)
    if plain is None or not is_tar_header(plain[:BLOCK]):
        return
    yield label, plain
    with tarfile.open(fileobj=io.BytesIO(plain), mode="r:") as tar:
        for info in tar:
            if info.isreg() and info.size >= BLOCK:
                fh = tar.extractfile(info)
                assert fh is not None
                yield from _tars_in(fh.read(), f"{label}:{info.name}")


def _tars_under(root: Path, skip: tuple[str, ...] = ()) -> Iterator[tuple[str, bytes]]:
    """Every tar file below ``root``, and every blob of an OCI layout directory (but for the
    top-level folders ``skip`` names)."""
    for path in sorted(root.rglob("*")):
        if path.relative_to(root).parts[0] in skip:
            continue
        if path.is_file() and (path.suffix in (".tar", ".gz", ".xz", ".zst") or "blobs" in path.parts):
            yield from _tars_in(path.read_bytes(), str(path.relative_to(root)))


def _fixture_tars() -> list[tuple[str, bytes]]:
    found = list(_tars_under(peers.FIXTURES, skip=("hostile", "umoci")))  # each has its own test
    assert len(found) > 30, "the fixtures hold fewer tars than expected"
    return found


def test_every_fixture_tar_reads_as_tarfile_reads_it() -> None:
    for label, data in _fixture_tars():
        assert_same_as_tarfile(data, label)


def test_hostile_suite_tars_read_as_tarfile_reads_them_or_fail_cleanly() -> None:
    """The hostile archives are well-formed tars (their faults are in paths, links, digests) but
    for two layers: ``long-gnu-name``'s 1 MiB + 4 name is over the limit tarfile's SafeTarInfo
    applies too, and ``corrupt-blob``'s flipped byte lies in the zero blocks after its last
    member, which Go refuses (a zero block followed by a non-zero one) where tarfile stops at
    the first zero block."""
    seen = 0
    for label, data in _tars_under(peers.FIXTURES / "hostile"):
        seen += 1
        if label == "long-gnu-name.tar:layer1/layer.tar":
            with pytest.raises(InvalidArchiveError, match="over the 1048576-byte limit"):
                tarfile_members(data)
            _error(data, "over the 1048576-byte limit")
        elif label == "corrupt-blob.tar:layer1/layer.tar":
            err = _error(data, "a zero block at offset", "is followed by a header")
            zero = int(str(err).split("offset ")[1].split()[0])
            assert_same_as_tarfile(data[:zero] + END, label)
            assert len(tarfile_members(data)) == len(tarfile_members(data[:zero] + END))
        else:
            assert_same_as_tarfile(data, label)
    assert seen > 50


def test_umoci_insert_layers_read_as_go_reads_them() -> None:
    """umoci 0.4.7's ``insert`` ends its layer's tar right after the last file's data, with
    neither padding nor end blocks (umoci#436; fixtures/umoci): Go's archive/tar, and so the
    scanner, reads it to the end (tarfile refuses the uncompressed one); padded and terminated,
    it reads as tarfile reads it. Every other tar there is a plain one."""
    umoci = peers.FIXTURES / "umoci"
    tars = [("insert-docker.tar", (umoci / "insert-docker.tar").read_bytes())]
    with tarfile.open(umoci / "insert-docker.tar") as outer:  # skopeo's tar is a plain one
        for m in outer:
            if m.isfile() and m.name.endswith(".tar"):  # the layer (layer.tar links to it)
                tars.append((f"insert-docker.tar:{m.name}", outer.extractfile(m).read()))  # type: ignore[union-attr]
    for blob in sorted((umoci / "insert-layout" / "blobs" / "sha256").iterdir()):
        plain = _decompressed(blob.read_bytes(), blob.name)
        if plain is not None and is_tar_header(plain[:BLOCK]):
            tars.append((f"insert-layout:{blob.name}", plain))
    unpadded = 0
    for label, data in tars:
        scan = scan_tar(io.BytesIO(data), label=label)
        if scan.end is TarEnd.UNPADDED:
            unpadded += 1
            assert len(data) % BLOCK != 0
            fixed = data + bytes(-len(data) % BLOCK) + END
            assert_same_as_tarfile(fixed, label)
            assert scan.members == scan_tar(io.BytesIO(fixed), label=label).members
        else:
            assert_same_as_tarfile(data, label)
    assert unpadded == 2  # the layout's gzip layer and the docker-archive's layer.tar


@pytest.mark.real
def test_real_archives_read_as_tarfile_reads_them() -> None:
    peers.real_root()
    checked = 0
    for label, data in _tars_under(peers.REAL):
        assert_same_as_tarfile(data, label)
        checked += 1
    assert checked > 20


def test_a_layer_inside_an_archive_scans_through_its_section() -> None:
    """A docker-save layer read as a SectionReader window scans by pread, offsets relative."""
    archive = peers.fixture("docker/single.tar")
    outer = scan_tar(archive)
    layer = next(m for m in outer.members if m.name.endswith("layer.tar"))
    fd = os.open(archive, os.O_RDONLY)
    try:
        section = SectionReader(fd, layer.data_offset, layer.data_size)
        inner = scan_tar(section, label="layer")
        section.seek(0)
        data = section.read()
    finally:
        os.close(fd)
    assert inner.members == scan_tar(io.BytesIO(data)).members
    assert inner.size == layer.data_size and inner.clean


def test_reading_member_data_while_streaming() -> None:
    data = _tar([("a", b"A" * 700), ("b", b"B" * 10), ("c", b""), ("d", b"D" * 1024)])
    reader = TarReader(_Stream(data), label="s")
    got = {}
    for member in reader:
        if member.name == "a":
            got["a"] = reader.data().read(100)  # partly read: the rest is skipped
        elif member.name != "c":
            got[member.name] = reader.data().read()
    assert got == {"a": b"A" * 100, "b": b"B" * 10, "d": b"D" * 1024}
    assert reader.end is TarEnd.END_BLOCKS


# -- hypothesis: generated tars ------------------------------------------------------------------

_NAME_CHARS = st.sampled_from([*"abcdefghijklmnopqrstuvwxyz0123456789._-/", "é", "漢", "😀", " "])
_NAMES = st.text(_NAME_CHARS, min_size=1, max_size=300).filter(
    lambda s: not s.endswith("/") and "//" not in s and not s.startswith("/")
)
_TYPES = [
    tarfile.REGTYPE,
    tarfile.AREGTYPE,
    tarfile.DIRTYPE,
    tarfile.SYMTYPE,
    tarfile.LNKTYPE,
    tarfile.FIFOTYPE,
    tarfile.CHRTYPE,
    tarfile.BLKTYPE,
]


@st.composite
def _member(draw: st.DrawFn, fmt: int) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(draw(_NAMES))
    info.type = draw(st.sampled_from(_TYPES))
    data = b""
    if info.type in (tarfile.REGTYPE, tarfile.AREGTYPE):
        data = draw(st.binary(max_size=1500))
        info.size = len(data)
    if info.type in (tarfile.SYMTYPE, tarfile.LNKTYPE):
        info.linkname = draw(_NAMES)
    if info.type in (tarfile.CHRTYPE, tarfile.BLKTYPE):
        info.devmajor = draw(st.integers(0, 1 << 20))
        info.devminor = draw(st.integers(0, 1 << 20))
    info.mode = draw(st.integers(0, 0o7777))
    info.uid = draw(st.one_of(st.integers(0, 70000), st.integers(0, 1 << 40)))
    info.gid = draw(st.one_of(st.integers(0, 70000), st.integers(0, 1 << 40)))
    info.uname = draw(st.text(_NAME_CHARS, max_size=40))
    info.gname = draw(st.text(_NAME_CHARS, max_size=40))
    seconds = draw(st.integers(-(1 << 33), 1 << 34))
    info.mtime = seconds
    if fmt == tarfile.PAX_FORMAT and draw(st.booleans()):
        mtime = seconds + draw(st.integers(1, 999_999)) / 1e6  # sub-second: a PAX record
        # tarfile writes str(float): "1e-06" is no PAX time Go reads (see the test below).
        info.mtime = seconds if "e" in str(mtime) else mtime
        if draw(st.booleans()):
            info.pax_headers = {"SCHILY.xattr.user.note": draw(st.text(_NAME_CHARS, max_size=20))}
    return info, data


_Spec = tuple[int, list[tuple[tarfile.TarInfo, bytes]]]


@st.composite
def _archive(draw: st.DrawFn) -> _Spec:
    fmt = draw(st.sampled_from([tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT]))
    return fmt, draw(st.lists(_member(fmt), max_size=6))


def _write(spec: _Spec) -> bytes:
    """The tar tarfile writes (examples print as member lists, not as kilobytes of tar)."""
    fmt, members = spec
    buf = io.BytesIO()
    try:
        with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
            for info, data in members:
                tar.addfile(info, io.BytesIO(data) if data else None)
    except ValueError:
        reject()  # a field this format cannot hold (a long USTAR name, a negative USTAR time)
    return buf.getvalue()


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=_archive())
def test_generated_tars_read_as_tarfile_reads_them(spec: _Spec) -> None:
    data = _write(spec)
    scan = assert_same_as_tarfile(data)
    assert scan.clean and scan.trailing >= 0
    # Contents read while streaming are the bytes tarfile extracts.
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        expected = [tar.extractfile(i).read() for i in tar if i.isreg()]  # type: ignore[union-attr]
    reader = TarReader(_Stream(data))
    assert [reader.data().read() for m in reader if m.isreg()] == expected


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    spec=_archive(),
    edits=st.lists(st.tuples(st.floats(0, 1, allow_nan=False), st.integers(0, 255)), min_size=1, max_size=4),
    cut=st.one_of(st.none(), st.floats(0, 1, allow_nan=False)),
)
def test_corrupted_tars_fail_only_with_invalid_archive_error(
    spec: _Spec, edits: list[tuple[float, int]], cut: float | None
) -> None:
    buf = bytearray(_write(spec))
    for where, value in edits:
        if buf:
            buf[min(int(where * len(buf)), len(buf) - 1)] = value
    if cut is not None:
        del buf[int(cut * len(buf)) :]
    result = scan_all_ways(bytes(buf))  # raises anything but InvalidArchiveError: the test fails
    if isinstance(result, InvalidArchiveError):
        assert result.path == "t.tar"


# -- Go's reader decides: byte-level cases -------------------------------------------------------


def _tar(files: list[tuple[str, bytes]], fmt: int = tarfile.GNU_FORMAT) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1_600_000_000
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _body(data: bytes) -> bytes:
    """A tar without its end blocks (tarfile pads the archive to 10 KiB records)."""
    end = len(data)
    while end >= BLOCK and data[end - BLOCK : end] == bytes(BLOCK):
        end -= BLOCK
    return data[:end]


def _header(
    name: str, *, size: int = 0, kind: bytes = b"0", raw: dict[int, bytes] | None = None
) -> bytearray:
    """A USTAR header block with a correct checksum; ``raw`` maps offsets to bytes to put there."""
    block = bytearray(BLOCK)
    block[0 : len(name)] = name.encode()
    block[100:108] = b"0000644\0"
    block[108:116] = b"0000000\0"
    block[116:124] = b"0000000\0"
    block[124:136] = b"%011o\0" % size
    block[136:148] = b"%011o\0" % 1_600_000_000
    block[156:157] = kind
    block[257:265] = b"ustar\x0000"
    for start, data in (raw or {}).items():
        block[start : start + len(data)] = data
    return _checksummed(block)


def _checksummed(block: bytearray) -> bytearray:
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % sum(block)
    return block


def _pax(records: bytes, name: str = "PaxHeader", kind: bytes = b"x") -> bytes:
    pad = -len(records) % BLOCK
    return bytes(_header(name, size=len(records), kind=kind)) + records + bytes(pad)


def _record(key: str, value: str) -> bytes:
    body = f" {key}={value}\n".encode()
    size = len(body) + len(str(len(body)))
    size = len(body) + len(str(size))
    return str(size).encode() + body


def _file(name: str, data: bytes, raw: dict[int, bytes] | None = None) -> bytes:
    return bytes(_header(name, size=len(data), raw=raw)) + data + bytes(-len(data) % BLOCK)


def _ok(data: bytes) -> TarScan:
    scan = scan_all_ways(data)
    assert isinstance(scan, TarScan), scan
    return scan


def _error(data: bytes, *words: str) -> InvalidArchiveError:
    err = scan_all_ways(data)
    assert isinstance(err, InvalidArchiveError), err
    for word in words:
        assert word in str(err), str(err)
    return err


def test_two_zero_blocks_end_the_archive_and_trailing_bytes_are_ignored() -> None:
    body = _body(_tar([("a", b"1"), ("b", b"22")]))
    scan = _ok(body + END + b"garbage that is no header" * 50)
    assert [m.name for m in scan.members] == ["a", "b"]
    assert scan.end is TarEnd.END_BLOCKS and scan.clean
    assert scan.end_offset == len(body) + 2 * BLOCK
    fd_scan = _scan_bytes(body + END + b"x" * 1000, "fd")
    assert fd_scan.trailing == 1000


def test_one_zero_block_then_end_of_file_is_accepted() -> None:
    body = _body(_tar([("a", b"1")]))
    scan = _ok(body + bytes(BLOCK))
    assert [m.name for m in scan.members] == ["a"]
    assert scan.end is TarEnd.ONE_ZERO_BLOCK and not scan.clean


def test_no_end_blocks_is_accepted() -> None:
    body = _body(_tar([("a", b"1"), ("b", b"x" * 512)]))
    scan = _ok(body)
    assert [m.name for m in scan.members] == ["a", "b"]
    assert scan.end is TarEnd.NO_END_BLOCKS and not scan.clean
    assert tarfile_members(body)[-1].name == "b"  # tarfile accepts this too


def test_unpadded_last_member_is_accepted_as_go_accepts_it() -> None:
    """umoci 0.4.7 ``insert`` wrote layers whose last member's data ends the file (umoci#436):
    Go's reader reads the padding with a 'try' read and takes end of file there as the end."""
    body = _body(_tar([("a", b"1"), ("last", b"data" * 10)]))
    unpadded = body[: len(body) - (BLOCK - 40)]
    scan = _ok(unpadded)
    assert [m.name for m in scan.members] == ["a", "last"]
    assert scan.members[-1].size == 40
    assert scan.end is TarEnd.UNPADDED and scan.end_offset == len(unpadded)
    with pytest.raises(tarfile.ReadError, match="unexpected end of data"):
        tarfile_members(unpadded)  # where tarfile and Go part ways
    partly = body[: len(body) - 100]  # some padding there, not all
    assert _ok(partly).end is TarEnd.UNPADDED


def test_data_shorter_than_its_size_is_an_error() -> None:
    body = _body(_tar([("a", b"1"), ("big", b"z" * 3000)]))
    err = _error(body[: len(body) - 1000], "truncated")
    assert err.member == "big" and err.path == "t.tar"


def test_a_partial_header_is_an_error() -> None:
    body = _body(_tar([("a", b"1")]))
    _error(body + b"\x01" * 100, "inside a header", "truncated")
    _error(body + bytes(BLOCK) + b"\0" * 100, "inside a header")  # zero block, partial block


def test_a_zero_block_followed_by_a_header_is_an_error() -> None:
    body = _body(_tar([("a", b"1")]))
    _error(body + bytes(BLOCK) + _file("b", b"2"), "zero block", "followed by a header")


def test_a_bad_checksum_is_an_error_where_tarfile_stops_silently() -> None:
    body = _body(_tar([("a", b"1"), ("b", b"2"), ("c", b"3")]))
    broken = bytearray(body)
    broken[BLOCK * 2 + 10] ^= 0x01  # inside b's name field
    err = _error(bytes(broken) + END, "checksum mismatch", f"offset {2 * BLOCK}")
    assert err.member == "b"
    assert [i.name for i in tarfile_members(bytes(broken) + END)] == ["a"]


def test_an_empty_file_is_an_empty_archive() -> None:
    scan = _ok(b"")
    assert scan.members == [] and scan.end is TarEnd.NO_END_BLOCKS


def _oci_layout(root: Path, layer: bytes) -> None:
    """An OCI layout of one image (tag ``t``) whose one uncompressed layer is ``layer``."""

    def blob(data: bytes, media_type: str) -> dict[str, object]:
        digest = hashlib.sha256(data).hexdigest()
        (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        (root / "blobs" / "sha256" / digest).write_bytes(data)
        return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data)}

    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    config = {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [diff_id]}}
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": blob(json.dumps(config).encode(), "application/vnd.oci.image.config.v1+json"),
        "layers": [blob(layer, "application/vnd.oci.image.layer.v1.tar")],
    }
    entry = blob(json.dumps(manifest).encode(), "application/vnd.oci.image.manifest.v1+json")
    entry["annotations"] = {"org.opencontainers.image.ref.name": "t"}
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [entry]}))
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')


def _go_cases() -> dict[str, bytes]:
    body = _body(_tar([("a", b"1"), ("last", b"data" * 10)]))
    bad_checksum = bytearray(body)
    bad_checksum[BLOCK * 2 + 10] ^= 0x01
    return {
        "end-blocks": body + END,
        "unpadded": body[: len(body) - (BLOCK - 40)],
        "one-zero-block": body + bytes(BLOCK),
        "no-end-blocks": body,
        "trailing-garbage": body + END + b"garbage" * 100,
        "dangling-pax": body + _pax(_record("path", "ghost")) + END,
        "global-header": _pax(_record("comment", "git"), "pax_global_header", b"g") + body + END,
        "zero-then-header": body + bytes(BLOCK) + b"\x01" * BLOCK,
        "zero-then-partial": body + bytes(BLOCK) + bytes(100),
        "partial-header": body + b"\x01" * 100,
        "truncated-data": body[: len(body) - 500],
        "bad-checksum": bytes(bad_checksum) + END,
        "pax-time-exponent": _pax(_record("mtime", "1e-06")) + body + END,
        "pax-bad-length": _pax(b"99 path=x\n") + body + END,
    }


@pytest.mark.oracle("umoci")
@pytest.mark.parametrize("case", sorted(_go_cases()))
def test_go_reads_what_the_scanner_reads(case: str, tmp_path: Path) -> None:
    """umoci (Go's archive/tar) unpacks a layer exactly when the scanner reads it, into the
    files the scanner lists. A global header is the one exception, and it shows Go's reader at
    work: the reader returns it as an entry (as the scanner does), and umoci 0.4.7's unpacker,
    unlike moby's and containerd's, refuses the entry's type."""
    layer = _go_cases()[case]
    _oci_layout(tmp_path / "image", layer)
    bundle = tmp_path / "bundle"
    done = peers.umoci("unpack", "--rootless", "--image", f"{tmp_path / 'image'}:t", str(bundle), check=False)
    result = scan_all_ways(layer)
    if case == "global-header":
        assert isinstance(result, TarScan) and result.members[0].type == b"g"
        assert b"pax_global_header: unknown typeflag" in done.stderr, done.stderr
        return
    if isinstance(result, InvalidArchiveError):
        assert done.returncode != 0, f"umoci unpacked what the scanner refuses: {result}"
        return
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    files = sorted(p.name for p in (bundle / "rootfs").iterdir())
    assert files == sorted(m.name for m in result.members if not m.is_global())


def test_signed_checksums_of_old_tars_are_accepted() -> None:
    block = _header("x")
    block[0:5] = b"caf\xe9\0"  # a byte over 0x7f: signed and unsigned sums differ
    block[148:156] = b" " * 8
    signed = sum(b - 256 if b > 127 else b for b in block)
    block[148:156] = b"%06o\0 " % signed
    assert _ok(bytes(block) + END).members[0].name == "caf\udce9"


def test_a_global_header_is_a_member_of_its_own_and_not_applied() -> None:
    """Go returns a ``g`` header as an entry and does not carry its records forward; tarfile
    hides it and applies its records to every later member."""
    data = _pax(_record("comment", "made by git") + _record("uid", "42"), "pax_global_header", b"g")
    data += _file("a", b"1") + END
    scan = _ok(data)
    assert [(m.name, m.type) for m in scan.members] == [("pax_global_header", b"g"), ("a", b"0")]
    glob, member = scan.members
    assert dict(glob.pax) == {"comment": "made by git", "uid": "42"} and glob.size == 0
    assert member.uid == 0 and dict(member.pax) == {}
    assert tarfile_members(data)[0].uid == 42


def test_pax_records_override_the_header() -> None:
    records = (
        _record("path", "a/much/longer/name")
        + _record("linkpath", "target")
        + _record("uid", "123456789")
        + _record("gid", "7")
        + _record("uname", "ünïcode")
        + _record("gname", "")  # empty: the header's own field stays
        + _record("mtime", "1600000000.123456789123")
        + _record("atime", "1.5")
        + _record("size", "3")
    )
    data = _pax(records) + _file("short", b"xyz", {297: b"wheel\0"}) + END
    [m] = _ok(data).members
    assert (m.name, m.linkname, m.uid, m.gid, m.uname, m.gname) == (
        "a/much/longer/name",
        "target",
        123456789,
        7,
        "ünïcode",
        "wheel",
    )
    assert m.mtime_ns == 1_600_000_000_123_456_789 and m.size == 3
    assert m.header_offset == 0 and m.data_offset == 3 * BLOCK
    assert m.pax["mtime"] == "1600000000.123456789123"


def test_pax_times_go_cannot_parse_are_errors_though_tarfile_reads_them() -> None:
    """tarfile writes ``str(float)``, "1e-06" for a microsecond after the epoch, and reads it back
    with ``float()``; Go's ParseInt refuses the exponent (Docker cannot load such a layer)."""
    data = _pax(_record("mtime", "1e-06")) + _file("a", b"") + END
    _error(data, "invalid PAX record", "'1e-06' is not a decimal integer")
    assert tarfile_members(data)[0].mtime == 1e-06


def test_negative_pax_times_carry_their_sign_into_the_fraction() -> None:
    data = _pax(_record("mtime", "-1.5")) + _file("a", b"") + END
    assert _ok(data).members[0].mtime_ns == -1_500_000_000


def test_a_second_pax_header_replaces_the_first_and_gnu_names_win() -> None:
    long_name = "L" * 300
    gnu = bytes(_header("././@LongLink", size=len(long_name) + 1, kind=b"L"))
    gnu += long_name.encode() + b"\0" + bytes(-(len(long_name) + 1) % BLOCK)
    data = _pax(_record("uid", "5")) + _pax(_record("path", "pax-name")) + gnu + _file("x", b"") + END
    [m] = _ok(data).members
    assert m.name == long_name and m.uid == 0 and dict(m.pax) == {"path": "pax-name"}


def test_a_meta_header_at_the_end_is_dropped_as_go_drops_it() -> None:
    body = _body(_tar([("a", b"1")]))
    scan = _ok(body + _pax(_record("path", "ghost")) + END)
    assert [m.name for m in scan.members] == ["a"] and scan.end is TarEnd.END_BLOCKS
    with pytest.raises(tarfile.ReadError):
        tarfile_members(body + _pax(_record("path", "ghost")) + END)


def _raw(record: bytes) -> bytes:
    """One PAX record with its correct length around ``key=value``."""
    size = len(record) + 3
    size = len(record) + 2 + len(str(size))
    return str(size).encode() + b" " + record + b"\n"


@pytest.mark.parametrize(
    ("records", "why"),
    [
        (b"x", "without a length"),
        (b"abc path=x\n", "not a number"),
        (b"99 path=x\n", "does not fit"),
        (b"3 a=\n", "does not fit"),
        (b"10 path=xx", "newline"),
        (b"11 path=xyz", "newline"),
        (b"9 pathxx\n", "without a key"),
        (b"9 =value\n", "without a key"),
        (_raw(b"path=a\0b"), "NUL"),
        (_raw(b"ke\0y=ab"), "NUL"),
        (_raw(b"uid=abc"), "not a decimal integer"),
        (_raw(b"uid=-1"), "negative"),
        (_raw(b"size=-100"), "negative"),
        (_raw(b"uid=99999999999999999999"), "64 bits"),
        (_raw(b"mtime=1.5x5"), "non-digit fraction"),
        (_raw(b"mtime=.5x"), "non-digit"),
        (_raw(b"mtime=.5"), "not a decimal integer"),
        (_raw(b"atime=x.5"), "not a decimal integer"),
        (_raw(b"GNU.sparse.numbytes=5"), "out of order"),
    ],
)
def test_malformed_pax_records_are_errors(records: bytes, why: str) -> None:
    err = _error(_pax(records) + _file("a", b"1") + END, why)
    assert err.path == "t.tar"


_RECORD_TEXT = st.text(st.sampled_from([*"az09=. \n\0+-", "é"]), max_size=12)


@settings(max_examples=300, deadline=None)
@given(
    records=st.lists(st.tuples(_RECORD_TEXT, _RECORD_TEXT, st.integers(-2, 2)), max_size=5),
    noise=st.binary(max_size=4),
)
def test_the_quick_pax_parse_agrees_with_the_exact_one(
    records: list[tuple[str, str, int]], noise: bytes
) -> None:
    """Records with right and wrong lengths, odd keys and values: the regex path returns only
    what the record-by-record path (Go's parsePAXRecord) returns, or leaves it the decision."""
    buf = b"".join(
        _raw(f"{key}={value}".encode())
        if skew == 0
        else str(len(key) + len(value) + 5 + skew).encode() + f" {key}={value}\n".encode()
        for key, value, skew in records
    )
    for data in (buf, buf + noise, noise + buf):
        try:
            exact: dict[str, str] | str = tarscan._parse_pax_exactly(data)
        except tarscan._Bad as exc:
            exact = str(exc)
        try:
            quick: dict[str, str] | str = tarscan._parse_pax(data)
        except tarscan._Bad as exc:
            quick = str(exc)
        assert quick == exact


def test_pax_headers_and_long_names_over_the_limit_are_refused_before_reading() -> None:
    header = bytes(_header("PaxHeader", size=MAX_LONG_HEADER + 1, kind=b"x"))
    _error(header, "over the 1048576-byte limit")  # nothing follows: the limit comes first
    long_name = bytes(_header("././@LongLink", size=MAX_LONG_HEADER + 1, kind=b"L"))
    _error(long_name, "over the 1048576-byte limit")


def test_more_members_than_the_limit_is_an_error() -> None:
    data = _tar([(f"f{i}", b"") for i in range(5)])
    assert len(scan_tar(io.BytesIO(data), max_members=5).members) == 5
    with pytest.raises(InvalidArchiveError, match="more than 4 members") as info:
        scan_tar(io.BytesIO(data), max_members=4, label="x")
    assert info.value.member == "f4"


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({124: b"0000000001x\0"}, "not octal"),
        ({124: b"00000000018\0"}, "not octal"),
        ({100: b"07+4\0\0\0\0"}, "not octal"),
        ({329: b"zzzzzzz\0"}, "not octal"),  # device numbers are parsed for every member
        ({108: b"\xff\xff\xff\xff\xff\xff\xff\xff"}, "negative"),  # base-256 -1
        ({124: b"\xff" + b"\xff" * 10 + b"\xfe"}, "negative"),
        ({124: b"\x80\x80" + b"\0" * 10}, "64 bits"),
    ],
)
def test_bad_numeric_fields_are_errors(fields: dict[int, bytes], why: str) -> None:
    err = _error(bytes(_header("member", raw=fields)) + END, "invalid tar header at offset 0", why)
    assert err.member == "member"


def test_numeric_fields_as_go_parses_them() -> None:
    big_uid = b"\x80\0\0\0\x12\x34\x56\x78"  # base-256
    gid = b"\0\0\0\0" + b"017\0"  # leading NULs, as Go trims them
    block = _header("n", raw={100: b"  644 \0\0", 108: big_uid, 116: gid, 136: b"\x80" + bytes(11)})
    [m] = _ok(bytes(block) + END).members
    assert (m.mode, m.uid, m.gid, m.mtime_ns) == (0o644, 0x12345678, 0o17, 0)
    negative_time = _header("t", raw={136: b"\xff" * 12})  # GNU base-256 -1: a valid time
    assert _ok(bytes(negative_time) + END).members[0].mtime_ns == -1_000_000_000


def test_formats_v7_ustar_prefix_and_old_regular_type() -> None:
    v7 = _header("old", raw={257: bytes(8), 265: b"ignored\0"})  # no magic: no owner names
    prefixed = _header("leaf", raw={345: b"some/prefix\0"})
    old_dir = _header("olddir/", kind=b"\0")
    old_file = _header("oldfile", kind=b"\0")
    scan = _ok(bytes(v7) + bytes(prefixed) + bytes(old_dir) + bytes(old_file) + END)
    assert [(m.name, m.type, m.uname) for m in scan.members] == [
        ("old", b"0", ""),
        ("some/prefix/leaf", b"0", ""),
        ("olddir/", b"5", ""),
        ("oldfile", b"0", ""),
    ]


def test_star_and_old_go_gnu_headers() -> None:
    """STAR keeps a 131-byte prefix and parses its atime/ctime; a GNU header whose atime/ctime
    do not parse holds a USTAR prefix (Go before 1.8 wrote such headers), which Go then uses."""
    star = _header("leaf", raw={345: b"star/prefix\0", 476: b"00000000000\0", 488: b"00000000000\0"})
    star[508:512] = b"tar\0"
    bad_star = bytearray(star)
    bad_star[476:488] = b"nonsense\0\0\0\0"
    old_go = _header("leaf", raw={257: b"ustar  \0", 345: b"go/prefix\0"})
    scan = _ok(bytes(_checksummed(star)) + bytes(old_go) + END)
    assert [m.name for m in scan.members] == ["star/prefix/leaf", "go/prefix/leaf"]
    _error(bytes(_checksummed(bad_star)) + END, "not octal")


def test_a_cut_global_header_ends_the_archive_after_it() -> None:
    records = _record("comment", "x")
    cut = bytes(_header("g", size=len(records), kind=b"g")) + records + b"\0" * 10
    scan = _ok(cut)
    assert [m.type for m in scan.members] == [b"g"] and scan.end is TarEnd.UNPADDED


def test_truncated_meta_data_and_sparse_maps_are_errors() -> None:
    _error(_pax(_record("path", "x" * 200))[:600], "inside the extended header")
    assert _ok(_pax(_record("path", "x"))[:600]).end is TarEnd.UNPADDED  # only its padding cut
    _error(_pax(_record("path", "x")) + b"\1" * 100, "inside a header")  # the member's header cut
    sparse = _header("s", size=10, kind=b"S", raw={257: b"ustar  \0", 386: b"%011o\0" % 0})
    sparse[386 + 12 : 386 + 24] = b"%011o\0" % 10
    sparse[482] = 1  # an extension block follows: it is not there
    sparse[483:495] = b"%011o\0" % 10
    _error(bytes(_checksummed(sparse)), "invalid sparse file", "truncated")
    map_1 = (
        _record("GNU.sparse.major", "1")
        + _record("GNU.sparse.minor", "0")
        + _record("GNU.sparse.realsize", "9")
    )
    _error(_pax(map_1) + _file("s", b"1\n0\n") + END, "runs past the member's data")


def test_data_read_while_streaming_stops_at_a_truncated_member() -> None:
    body = _body(_tar([("big", b"z" * 3000)]))[:2000]
    reader = TarReader(_Stream(body), label="cut")
    member = next(iter(reader))
    with pytest.raises(InvalidArchiveError, match="truncated"):
        reader.data().read()
    assert member.name == "big"


def test_the_scan_starts_at_the_files_position() -> None:
    """A tar inside a file (after other bytes) scans from the position it is opened at; offsets
    count from there, whether read by pread, by seek or as a stream."""
    data = _tar([("a", b"1"), ("b", b"22")])
    with tempfile.TemporaryFile() as fh:
        fh.write(b"x" * 1000 + data)
        fh.seek(1000)
        by_fd = scan_tar(fh)
    by_seek = scan_tar(_at(io.BytesIO(b"x" * 1000 + data), 1000))
    assert by_fd.members == by_seek.members == scan_tar(io.BytesIO(data)).members
    assert by_fd.members[1].header_offset == 2 * BLOCK and by_fd.size == len(data)


def _at(fh: io.BytesIO, pos: int) -> io.BytesIO:
    fh.seek(pos)
    return fh


def test_global_headers_count_as_members() -> None:
    data = _pax(_record("comment", "x"), "g", b"g") + _file("a", b"") + END
    with pytest.raises(InvalidArchiveError, match="more than 1 members"):
        scan_tar(io.BytesIO(data), max_members=1)


def test_header_only_types_have_no_data_whatever_their_size() -> None:
    link = _header("link", size=5000, kind=b"2", raw={157: b"target\0"})
    scan = _ok(bytes(link) + _file("after", b"ok") + END)
    assert [(m.name, m.size, m.data_size) for m in scan.members] == [("link", 5000, 0), ("after", 2, 2)]


@pytest.mark.skipif(shutil.which("tar") is None, reason="GNU tar is needed to write sparse files")
@pytest.mark.parametrize(
    "options",
    [
        ["--format=gnu"],
        ["--format=posix", "--sparse-version=0.0"],
        ["--format=posix", "--sparse-version=0.1"],
        ["--format=posix", "--sparse-version=1.0"],
    ],
)
def test_gnu_sparse_files_read_as_tarfile_reads_them(tmp_path: Path, options: list[str]) -> None:
    src = tmp_path / "src"
    src.mkdir()
    with open(src / "sparse", "wb") as fh:
        for i in range(30):  # 30 fragments: the old GNU format needs extension blocks
            fh.seek(i * 65536)
            fh.write(b"data%d" % i)
        fh.truncate(31 * 65536)
    (src / "plain").write_bytes(b"after the sparse file")
    out = tmp_path / "out.tar"
    version = subprocess.run(["tar", "--version"], capture_output=True, text=True, check=False).stdout
    if "GNU tar" not in version:
        pytest.skip("needs GNU tar")
    subprocess.run(
        ["tar", "-c", "-S", *options, "-f", str(out), "-C", str(src), "sparse", "plain"], check=True
    )
    data = out.read_bytes()
    scan = assert_same_as_tarfile(data, " ".join(options))
    sparse = next(m for m in scan.members if m.name.endswith("sparse"))
    assert sparse.name == "sparse" and sparse.size == 31 * 65536
    assert sparse.sparse is not None and len([f for f in sparse.sparse if f[1]]) == 30
    assert sparse.data_size < 31 * 65536
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        plain = tar.extractfile("plain")
        assert plain is not None and plain.read() == b"after the sparse file"


def test_sparse_maps_go_refuses() -> None:
    overlapping = _record("GNU.sparse.major", "0") + _record("GNU.sparse.minor", "1")
    overlapping += _record("GNU.sparse.numblocks", "2") + _record("GNU.sparse.map", "0,10,5,10")
    overlapping += _record("GNU.sparse.size", "100")
    _error(_pax(overlapping) + _file("s", b"x" * 20) + END, "invalid sparse")
    miscounted = _record("GNU.sparse.numblocks", "3") + _record("GNU.sparse.map", "0,10")
    _error(_pax(miscounted) + _file("s", b"x" * 10) + END, "block count")
    unknown_version = _record("GNU.sparse.major", "7") + _record("GNU.sparse.minor", "0")
    [m] = _ok(_pax(unknown_version) + _file("s", b"x") + END).members  # Go: a plain file
    assert m.sparse is None and m.size == 1
    not_gnu = _header("s", kind=b"S")  # an old GNU sparse header needs the GNU magic
    _error(bytes(not_gnu) + END, "not in GNU format")


def test_errors_are_ocitool_errors_naming_the_file() -> None:
    with pytest.raises(OcitoolError) as info:
        scan_tar(io.BytesIO(b"\x01" * 512), label="layer.tar")
    assert isinstance(info.value, InvalidArchiveError) and info.value.path == "layer.tar"
    assert str(info.value).startswith("layer.tar: invalid tar header at offset 0")


def test_scan_by_path_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "bad.tar"
    path.write_bytes(_body(_tar([("a", b"x" * 2000)]))[:1000])
    with pytest.raises(InvalidArchiveError) as info:
        scan_tar(path)
    assert info.value.path == str(path) and info.value.member == "a"


def test_member_helpers() -> None:
    m = _ok(_pax(_record("mtime", "10.25")) + _file("f", b"") + END).members[0]
    assert isinstance(m, TarMember) and m.mtime == 10.25 and m.isreg() and not m.isdir()
    assert _ok(_file("f", b"") + END).members[0].mtime == 1_600_000_000
