"""dive's tree semantics and the OCI overlay, on layers written here."""

from __future__ import annotations

import io
import tarfile

import pytest

from ocitool.analysis.filetree import FileInfo, FileTree, MergedFS, dive_efficiency, go_file_mode, read_layer
from ocitool.errors import InvalidArchiveError


def layer(*members: tuple[str, bytes | None]) -> list[FileInfo]:
    """A layer tar: (name, content) with None content for a directory."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            else:
                info.size = len(data)
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    return read_layer(buf, label="test", hash_contents=True)


def score(*layers: list[FileInfo]) -> tuple[float, list[tuple[int, int, str]]]:
    s, found = dive_efficiency([FileTree.from_entries(e) for e in layers])
    return s, [(f.count, f.cumulative_size, f.path) for f in found]


def test_duplicate_file_counts_twice() -> None:
    s, found = score(layer(("a", b"x" * 10)), layer(("a", b"y" * 10)))
    assert found == [(2, 20, "/a")]
    assert s == 10 / 20


def test_removed_file_costs_nothing_removed_dir_costs_its_contents() -> None:
    l0 = layer(("d", None), ("d/f", b"1" * 7), ("g", b"2" * 5))
    l1 = layer((".wh.d", b""), (".wh.g", b""))
    s, found = score(l0, l1)
    # /d: a leaf only in layer 1 (whiteout of a directory holding 7 bytes): one record, 7
    # /g: 5 then 0 (a whiteout of a file is charged 0, as in dive)
    assert found == [(2, 5, "/g")]
    assert s == (7 + 0 + 7) / (7 + 5 + 7)


def test_whiteout_of_missing_path_stops_the_layer_walk_as_dive() -> None:
    l0 = layer(("a", b"1"))
    # sorted walk: ".wh.nothere" comes before "z"; dive's visitor errors and skips the rest
    l1 = layer((".wh.nothere", b""), ("z", b"2" * 100))
    s, found = score(l0, l1)
    assert found == []
    # "/nothere" keeps minDiscoveredSize -1 and no size: the score counts it
    assert s == (1 - 1) / 1


def test_opaque_whiteout_ignored_by_dive_applied_by_overlay() -> None:
    l0 = layer(("d", None), ("d/old", b"o" * 3))
    l1 = layer(("d", None), ("d/.wh..wh..opq", b""), ("d/new", b"n" * 4))
    s, found = score(l0, l1)
    assert found == [] and s == 1.0
    fs = MergedFS()
    changes: list[tuple[str, str]] = []
    for entries in (l0, l1):
        fs.apply(entries, lambda p, old, new: changes.append((p, "del" if new is None else "set")))
    assert sorted(fs.files) == ["/d", "/d/new"]
    assert ("/d/old", "del") in changes


def test_overlay_whiteout_removes_subtree_and_file_replaces_dir() -> None:
    fs = MergedFS()
    fs.apply(layer(("x", None), ("x/y", None), ("x/y/z", b"1"), ("k", None), ("k/v", b"2")), lambda *a: None)
    fs.apply(layer((".wh.x", b""), ("k", b"file")), lambda *a: None)
    assert sorted(fs.files) == ["/k"]
    assert fs.files["/k"].digest is not None and not fs.files["/k"].is_dir


def test_go_file_mode_bits() -> None:
    assert go_file_mode(0o755, tarfile.DIRTYPE) == (1 << 31) | 0o755
    assert go_file_mode(0o4755, tarfile.REGTYPE) == (1 << 23) | 0o755
    assert go_file_mode(0o777, tarfile.SYMTYPE) == (1 << 27) | 0o777
    info = layer(("t", None))[0]
    assert info.is_dir and info.type_flag == ord("5") and info.perm == 0o755


def test_truncated_layer_is_a_typed_error() -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("big")
        info.size = 5000
        tar.addfile(info, io.BytesIO(b"z" * 5000))
    cut = io.BytesIO(buf.getvalue()[:2000])
    with pytest.raises(InvalidArchiveError) as exc:
        read_layer(cut, label="layer.tar", hash_contents=True)
    assert exc.value.path == "layer.tar"
