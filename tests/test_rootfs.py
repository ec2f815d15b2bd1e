"""The layer-merging core: whiteouts, opaque whiteouts, symlinked parents, hardlinks, limits."""

from __future__ import annotations

import gzip
import io
import tarfile
from typing import IO

import pytest

from ocitool._io.tarindex import MAX_LONG_HEADER
from ocitool.errors import BlobNotFoundError, InvalidArchiveError
from ocitool.image.source import Blobs, Layer
from ocitool.model.descriptor import Descriptor
from ocitool.model.digest import Digest, digest_bytes
from ocitool.ops.rootfs import merged_tar


class MemBlobs(Blobs):
    label = "mem"

    def __init__(self) -> None:
        self.data: dict[Digest, bytes] = {}

    def has(self, digest: Digest) -> bool:
        return digest in self.data

    def size(self, digest: Digest) -> int:
        return len(self.data[digest])

    def open(self, digest: Digest, *, buffered: bool = True) -> IO[bytes]:
        if digest not in self.data:
            raise BlobNotFoundError(str(digest))
        return io.BytesIO(self.data[digest])


Spec = tuple[str, str, str]  # (name, kind f/d/l/h/wh, payload: content or link target)


def tar_of(entries: list[Spec], **pax: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, kind, payload in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 1_600_000_000
            data = payload.encode()
            if kind == "d":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
            elif kind == "l":
                info.type, info.linkname = tarfile.SYMTYPE, payload
            elif kind == "h":
                info.type, info.linkname = tarfile.LNKTYPE, payload
            else:
                info.size, info.mode = len(data), 0o640
            if pax:
                info.pax_headers = dict(pax)
            tar.addfile(info, io.BytesIO(data) if kind == "f" else None)
    return buf.getvalue()


def layers_of(*tars: bytes, compress: bool = False) -> list[Layer]:
    blobs = MemBlobs()
    out = []
    for raw in tars:
        stored = gzip.compress(raw, mtime=0) if compress else raw
        digest = digest_bytes(stored)
        blobs.data[digest] = stored
        mt = "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if compress else "")
        out.append(Layer(blobs, Descriptor(mt, digest, len(stored)), digest_bytes(raw), referenced_by="test"))
    return out


def merged(layers: list[Layer], *, keep: bool = False) -> dict[str, tuple[str, str]]:
    buf = io.BytesIO()
    merged_tar(layers, buf, keep_whiteouts=keep)
    buf.seek(0)
    out: dict[str, tuple[str, str]] = {}
    with tarfile.open(fileobj=buf) as tar:
        for m in tar:
            if m.isreg():
                fh = tar.extractfile(m)
                assert fh is not None
                out[m.name] = ("f", fh.read().decode(errors="surrogateescape"))
            elif m.isdir():
                out[m.name] = ("d", "")
            elif m.issym():
                out[m.name] = ("l", m.linkname)
            elif m.islnk():
                out[m.name] = ("h", m.linkname)
    return out


def test_whiteouts_delete_subtrees_and_recreation_wins() -> None:
    low = tar_of(
        [("a", "d", ""), ("a/x", "f", "x"), ("a/sub", "d", ""), ("a/sub/y", "f", "y"), ("b", "f", "b")]
    )
    top = tar_of([(".wh.a", "f", ""), ("c", "f", "c")])
    again = tar_of([("a", "d", ""), ("a/new", "f", "n")])
    fs = merged(layers_of(low, top, again, compress=True))
    assert fs == {"a": ("d", ""), "a/new": ("f", "n"), "b": ("f", "b"), "c": ("f", "c")}


def test_opaque_keeps_same_layer_entries_only() -> None:
    low = tar_of([("o", "d", ""), ("o/old", "f", "1"), ("o/sub", "d", ""), ("o/sub/deep", "f", "2")])
    top = tar_of([("o", "d", ""), ("o/new", "f", "3"), ("o/.wh..wh..opq", "f", "")])
    fs = merged(layers_of(low, top))
    assert fs == {"o": ("d", ""), "o/new": ("f", "3")}
    kept = merged(layers_of(low, top), keep=True)
    assert kept["o/.wh..wh..opq"] == ("f", "")
    assert "o/old" not in kept


def test_keep_whiteouts_for_squash() -> None:
    top = tar_of(
        [
            ("etc", "d", ""),
            ("etc/.wh.gone", "f", ""),
            (".wh.dir", "f", ""),
            ("dir", "d", ""),
            ("dir/f", "f", "z"),
        ]
    )
    fs = merged(layers_of(top), keep=True)
    assert fs["etc/.wh.gone"] == ("f", "")
    # deleted then re-created as a directory: opaque, so the parent's old children stay hidden
    assert fs["dir/.wh..wh..opq"] == ("f", "")
    assert ".wh.dir" not in fs


def test_symlinked_parent_resolves_inside_the_root() -> None:
    low = tar_of(
        [("usr", "d", ""), ("usr/lib", "d", ""), ("lib", "l", "/usr/lib"), ("rel", "l", "usr/../usr/lib")]
    )
    top = tar_of([("lib/a.so", "f", "a"), ("rel/b.so", "f", "b")])
    fs = merged(layers_of(low, top))
    assert fs["usr/lib/a.so"] == ("f", "a") and fs["usr/lib/b.so"] == ("f", "b")
    assert fs["lib"] == ("l", "/usr/lib")


def test_hardlink_keeps_content_when_its_target_is_deleted() -> None:
    low = tar_of([("a", "f", "data"), ("b", "h", "a"), ("c", "h", "a")])
    top = tar_of([(".wh.a", "f", "")])
    fs = merged(layers_of(low, top))
    assert fs == {"b": ("f", "data"), "c": ("h", "b")}


def test_file_replaces_directory_and_its_children() -> None:
    low = tar_of([("p", "d", ""), ("p/q", "f", "q")])
    top = tar_of([("p", "f", "now a file")])
    assert merged(layers_of(low, top)) == {"p": ("f", "now a file")}


def test_duplicate_member_last_wins() -> None:
    assert merged(layers_of(tar_of([("d", "f", "1"), ("d", "f", "2")]))) == {"d": ("f", "2")}


@pytest.mark.parametrize(
    "entries",
    [
        [("../x", "f", "")],
        [("a/../../x", "f", "")],
        [("s", "l", "../../etc")],
        [("h", "h", "../etc/passwd")],
        [("h", "h", "missing")],
    ],
)
def test_escapes_are_refused_naming_the_member(entries: list[Spec]) -> None:
    with pytest.raises(InvalidArchiveError) as info:
        merged(layers_of(tar_of(entries)))
    assert info.value.member == entries[0][0]


def test_symlink_loop_is_an_error() -> None:
    low = tar_of([("a", "l", "b"), ("b", "l", "a")])
    with pytest.raises(InvalidArchiveError, match="symbolic links"):
        merged(layers_of(low, tar_of([("a/x", "f", "")])))


def _pax_record_size(value_len: int) -> int:
    body = f" comment={'x' * value_len}\n"
    n = len(body)
    while len(str(n)) + len(body) != n:
        n = len(str(n)) + len(body)
    return n


def test_pax_header_limit_at_its_edge() -> None:
    # A PAX header of exactly MAX_LONG_HEADER bytes is read; one byte more is refused.
    value = MAX_LONG_HEADER - 20
    while _pax_record_size(value) < MAX_LONG_HEADER:
        value += 1
    assert _pax_record_size(value) == MAX_LONG_HEADER
    ok = tar_of([("f", "f", "1")], comment="x" * value)
    assert merged(layers_of(ok)) == {"f": ("f", "1")}
    bad = tar_of([("f", "f", "1")], comment="x" * (value + 1))
    with pytest.raises(InvalidArchiveError, match="over the 1048576-byte limit"):
        merged(layers_of(bad))


def test_truncated_layer_is_an_invalid_archive() -> None:
    raw = tar_of([("big", "f", "y" * 5000)])
    with pytest.raises(InvalidArchiveError):
        merged(layers_of(raw[:2048]))


def _squash_equivalence(layers: list[Layer]) -> None:
    full = merged(layers)
    for k in range(1, len(layers)):
        buf = io.BytesIO()
        merged_tar(layers[k:], buf, keep_whiteouts=True)
        squashed = layers_of(buf.getvalue())[0]
        assert merged([*layers[:k], squashed]) == full, f"squashing layers {k}.. changes the filesystem"


@pytest.mark.parametrize("rel", ["buildah/whiteouts.tar", "buildah/opaque.tar"])
def test_keep_whiteouts_squash_is_a_valid_diff_layer(rel: str) -> None:
    from ocitool.formats.detect import open_source
    from tests import peers

    with open_source(str(peers.FIXTURES / rel)) as src:
        _squash_equivalence(list(src.entries[0].images()[0].layers))


def test_keep_whiteouts_squash_synthetic() -> None:
    low = tar_of(
        [("d", "d", ""), ("d/old", "f", "1"), ("x", "f", "x"), ("gone", "d", ""), ("gone/y", "f", "y")]
    )
    mid = tar_of([(".wh.gone", "f", ""), ("d", "d", ""), ("d/.wh..wh..opq", "f", ""), ("d/mid", "f", "2")])
    top = tar_of([("gone", "d", ""), ("gone/new", "f", "n"), (".wh.x", "f", ""), ("d/.wh.mid", "f", "")])
    _squash_equivalence(layers_of(low, mid, top))
