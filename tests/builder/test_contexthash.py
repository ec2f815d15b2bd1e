"""Build-context content hashes: moby's own vectors (builder/remotecontext/tarsum_test.go at
v20.10.24 and after the type-bit removal), the symlink scoping of moby/sys/symlink, context
tarballs as the daemon reads them. End to end against Docker in test_oracle.py."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from pathlib import Path

import pytest

from ocitool.errors import BuildContextError, InvalidArchiveError
from ocitool.ops.build.contexthash import (
    BuildContext,
    ContextEntry,
    TarHeader,
    contains_wildcards,
    file_sum,
    hash_strings,
    tarsum_header,
)
from tests.builder._contexts import make_context


@pytest.mark.parametrize(
    ("type_bits", "name", "expected"),
    [
        # moby v20.10.24 TestHashFile / TestHashSubdir (clients that set Go 1.8's type bits)
        (True, "test", "1149ab94af7be6cc1da1335e398f24ee1cf4926b720044d229969dfc248ae7ec"),
        (
            True,
            "builder-tarsum-test-subdir/test",
            "d7f8d6353dee4816f9134f4156bf6a9d470fdadfb5d89213721f7e86744a4e69",
        ),
        # the same tests after moby cddaa84 removed the type bits (docker CLI >= 23)
        (False, "test", "55dfeb344351ab27f59aa60ebb0ed12025a2f2f4677bf77d26ea7a671274a9ca"),
        (
            False,
            "builder-tarsum-test-subdir/test",
            "74a3326b8e766ce63a8e5232f22e9dd895be647fb3ca7d337e5e0a9b3da8ef28",
        ),
    ],
)
def test_mobys_vectors(tmp_path: Path, type_bits: bool, name: str, expected: str) -> None:
    make_context(tmp_path, [(name, "file", b"contents test", 0o755)])
    context = BuildContext.from_directory(tmp_path, type_bits=type_bits)
    assert context.hash(name) == expected
    assert context.copy_hash([name]) == "file:" + expected


def test_header_encoding() -> None:
    header = TarHeader(
        name="d/",
        mode=0o755,
        uid=1,
        gid=2,
        typeflag="5",
        uname="root",
        gname="wheel",
        xattrs=(("security.capability", b"\x01\x00"), ("a", b"z")),
    )
    assert tarsum_header(header) == (
        b"named/mode493uid1gid2size0typeflag5linkname"
        b"unamegnamedevmajor0devminor0azsecurity.capability\x01\x00"
    )
    assert b"unamerootgnamewheel" in tarsum_header(header, names=True)
    assert file_sum(header, [b"x", b"y"]) == hashlib.sha256(tarsum_header(header) + b"xy").hexdigest()
    assert hash_strings("dir", ["a", "b"]) == "dir:" + hashlib.sha256(b"a,b").hexdigest()


def test_wildcards_escaped_as_moby() -> None:
    assert contains_wildcards("*.txt") and contains_wildcards("a?") and contains_wildcards("[ab]")
    assert not contains_wildcards("a\\*b") and not contains_wildcards("plain")


def _entry(name: str, typeflag: str = "0", linkname: str = "") -> ContextEntry:
    header = TarHeader(name=name, mode=0o644, typeflag=typeflag, linkname=linkname)
    return ContextEntry(header, file_sum(header, [name.encode()]))


def test_symlinks_resolve_inside_the_context() -> None:
    ctx = BuildContext(
        [
            _entry("a/", "5"),
            _entry("a/f"),
            _entry("a/up", "2", "../top"),
            _entry("a/abs", "2", "/a/f"),
            _entry("a/dangling", "2", "nowhere"),
            _entry("a/escape", "2", "../../../../etc/passwd"),
            _entry("a/loop", "2", "loop"),
            _entry("dirlink", "2", "a"),
            _entry("top"),
        ]
    )
    sums = {e.key: e.sum for e in ctx.entries}
    assert ctx.hash("a/up") == sums["top"]
    assert ctx.hash("a/abs") == sums["a/f"]
    assert ctx.hash("dirlink/f") == sums["a/f"]
    assert ctx.hash("./a/../top") == sums["top"]
    assert ctx.hash("a/dangling") == "a/dangling"  # no sum: the path itself
    assert ctx.hash("a/escape") == "a/escape"  # scoped to the context: no such file
    with pytest.raises(BuildContextError) as info:
        ctx.hash("a/loop")
    assert info.value.reason == "too-many-links"
    with pytest.raises(BuildContextError) as info:
        ctx.copy_hash(["../x"])
    assert info.value.reason == "outside"
    with pytest.raises(BuildContextError) as info:
        ctx.copy_hash(["top/x"])
    assert info.value.reason == "not-a-directory"
    with pytest.raises(BuildContextError) as info:
        ctx.copy_hash(["a/dangling"])
    assert info.value.reason == "not-found"
    assert ctx.copy_hash(["dirlink"]) == ctx.copy_hash(["a"])
    # a directory: the sums under it, sorted (what does not resolve is left out: the loop)
    walked = sorted([sums["a"], sums["a/f"], sums["top"], sums["a/f"], "a/dangling", "a/escape"])
    assert ctx.copy_hash(["a/"]) == hash_strings("dir", walked)
    assert ctx.copy_hash(["top", "a/f"]) == hash_strings(
        "multi", ["file:" + sums["top"], "file:" + sums["a/f"]]
    )
    with pytest.raises(BuildContextError, match="no source files were specified"):
        ctx.copy_hash(["*.none"])
    with pytest.raises(BuildContextError) as info:
        ctx.copy_hash(["http://example.com/x"])
    assert info.value.reason == "url"


def test_implicit_directories_and_removed_build_files() -> None:
    ctx = BuildContext(
        [_entry("x/y/z"), _entry("Dockerfile"), _entry(".dockerignore")], removed=["Dockerfile"]
    )
    z = ctx.hash("x/y/z")
    # the tar had no entries for x and x/y: their "sums" are their paths
    assert ctx.copy_hash(["x"]) == hash_strings("dir", sorted(["x", "x/y", z]))
    assert ctx.copy_hash(["*"]) == hash_strings(
        "multi", ["file:" + ctx.hash(".dockerignore"), ctx.copy_hash(["x"])]
    )


def test_wildcards_match_each_entry(tmp_path: Path) -> None:
    make_context(tmp_path, [("a.txt", "file", b"a"), ("b.txt", "file", b"b"), ("d/c.txt", "file", b"c")])
    ctx = BuildContext.from_directory(tmp_path)
    assert ctx.source_hashes("*.txt") == [ctx.copy_hash(["a.txt"]), ctx.copy_hash(["b.txt"])]
    assert ctx.source_hashes("*/*.txt") == [ctx.copy_hash(["d/c.txt"])]
    assert ctx.copy_hash(["/a.txt"]) == ctx.copy_hash(["./a.txt"]) == ctx.copy_hash(["a.txt"])


def test_from_directory_headers(tmp_path: Path) -> None:
    make_context(
        tmp_path,
        [
            ("f", "file", b"data"),
            ("h", "hardlink", "f"),
            ("d", "dir", None, 0o1777),
            ("l", "symlink", "f"),
            ("p", "fifo"),
            ("s", "socket"),
            ("f", "owner", (1000, 1000), 0o4750),  # chown clears setuid: chmod after it
        ],
    )
    by_name = {e.header.name: e.header for e in BuildContext.from_directory(tmp_path).entries}
    assert sorted(by_name) == ["d/", "f", "h", "l", "p"]  # sockets are not sent
    assert by_name["f"] == TarHeader(name="f", mode=0o4750, size=4)
    assert by_name["h"] == TarHeader(name="h", mode=0o4750, typeflag="1", linkname="f")
    assert by_name["d/"] == TarHeader(name="d/", mode=0o1777, typeflag="5")
    assert by_name["l"] == TarHeader(name="l", mode=0o777, typeflag="2", linkname="f")
    assert by_name["p"].typeflag == "6"
    legacy = {e.header.name: e.header for e in BuildContext.from_directory(tmp_path, type_bits=True).entries}
    assert legacy["f"].mode == 0o104750 and legacy["d/"].mode == 0o041777 and legacy["l"].mode == 0o120777


def test_from_directory_applies_dockerignore_and_daemon_removal(tmp_path: Path) -> None:
    make_context(
        tmp_path,
        [
            ("Dockerfile", "file", b"FROM scratch\n"),
            (".dockerignore", "file", b"*.log\nDockerfile\n"),
            ("a.log", "file"),
        ],
    )
    ctx = BuildContext.from_directory(tmp_path)
    assert [e.header.name for e in ctx.entries] == [".dockerignore", "Dockerfile"]  # sent...
    assert ctx.copy_hash(["."]) == hash_strings("dir", [ctx.hash(".dockerignore")])  # ...Dockerfile deleted
    with pytest.raises(BuildContextError):
        ctx.copy_hash(["a.log"])


def _tar(members: list[tuple[tarfile.TarInfo, bytes]], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        for info, data in members:
            tf.addfile(info, io.BytesIO(data) if data else None)
    return buf.getvalue()


def _info(name: str, kind: bytes = tarfile.REGTYPE, size: int = 0, **extra: object) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.mode, info.mtime = kind, size, 0o644, 0
    for k, v in extra.items():
        setattr(info, k, v)
    return info


def test_from_tar_keeps_names_as_go_reads_them(tmp_path: Path) -> None:
    long_dir = "d" * 120
    data = _tar(
        [
            (_info("./"), b""),
            (_info("dir", tarfile.DIRTYPE), b""),
            (_info(long_dir + "/", tarfile.DIRTYPE), b""),
            (_info(long_dir + "/file", size=3, uid=7, gid=8, uname="x"), b"abc"),
            (_info("cap", size=0, pax_headers={"SCHILY.xattr.security.capability": "\x01"}), b""),
        ]
    )
    (tmp_path / "ctx.tar").write_bytes(data)
    entries = BuildContext.from_tar(tmp_path / "ctx.tar").entries
    names = [e.header.name for e in entries]
    assert names == ["./", "dir/", long_dir + "/", long_dir + "/file", "cap"]
    assert [e.key for e in entries] == [".", "dir", long_dir, long_dir + "/file", "cap"]
    file_header = entries[3].header
    assert (file_header.uid, file_header.gid, file_header.size, file_header.uname) == (7, 8, 3, "")
    assert entries[3].sum == file_sum(file_header, [b"abc"])
    assert entries[4].header.xattrs == (("security.capability", b"\x01"),)
    gz = tmp_path / "ctx.tar.gz"
    import gzip

    gz.write_bytes(gzip.compress(data))
    assert [e.sum for e in BuildContext.from_tar(gz).entries] == [e.sum for e in entries]


def test_from_tar_refuses_bad_archives(tmp_path: Path) -> None:
    (tmp_path / "bad.tar").write_bytes(b"\x00garbage" * 200)
    with pytest.raises(InvalidArchiveError):
        BuildContext.from_tar(tmp_path / "bad.tar")
    (tmp_path / "up.tar").write_bytes(_tar([(_info("../evil", size=1), b"x")]))
    with pytest.raises(InvalidArchiveError):
        BuildContext.from_tar(tmp_path / "up.tar")


def test_from_tar_dockerignore_removes_build_files(tmp_path: Path) -> None:
    data = _tar(
        [
            (_info("Dockerfile", size=13), b"FROM scratch\n"),
            (_info(".dockerignore", size=11), b"Dockerfile\n"),
            (_info("a", size=1), b"a"),
        ]
    )
    (tmp_path / "c.tar").write_bytes(data)
    ctx = BuildContext.from_tar(tmp_path / "c.tar")
    assert ctx.copy_hash(["."]) == hash_strings("dir", sorted([ctx.hash(".dockerignore"), ctx.hash("a")]))
    assert os.fspath(tmp_path / "c.tar") == ctx.label
