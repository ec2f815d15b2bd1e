"""Layers the builder writes: reproducible tars (order, parents, owners, times, PAX only when
needed), tars taken as they are, and bad inputs refused with typed errors."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
from pathlib import Path

import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ocitool import FileSpec, ImageBuilder, LayerInputError
from ocitool.compression import Compression
from ocitool.ops.builder.image import BuiltImage
from ocitool.ops.builder.layers import LayerMaker
from ocitool.ops.recompress import Codec


def _layer_tar(img: BuiltImage, index: int = -1) -> tarfile.TarFile:
    layer = img.image.layers[index]
    with layer.reading() as stream:
        data = stream.read()
    return tarfile.open(fileobj=io.BytesIO(data))


def _tree(root: Path, mtime: int) -> None:
    (root / "b/c").mkdir(parents=True)
    (root / "a.txt").write_bytes(b"alpha")
    (root / "b/c/d.bin").write_bytes(os.urandom(0) + b"\x00" * 5000)
    (root / "b/exe").write_bytes(b"#!/bin/sh\n")
    (root / "b/exe").chmod(0o755)
    (root / "b/link").symlink_to("../a.txt")
    os.link(root / "a.txt", root / "b/hard")
    for path in [*root.rglob("*"), root]:
        os.utime(path, (mtime, mtime), follow_symlinks=False)


def _digest_of_tree(tmp: Path, mtime: int) -> tuple[str, str]:
    _tree(tmp, mtime)
    with ImageBuilder.from_scratch("linux/amd64") as b:
        b.add_directory(tmp, created_by="tree")
        with b.build() as img:
            return str(img.digest), str(img.image.layers[0].digest)


def test_same_tree_with_other_mtimes_gives_the_same_digests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    first = _digest_of_tree(tmp_path / "monday", 1_000_000)
    second = _digest_of_tree(tmp_path / "tuesday", 1_999_999)
    assert first == second
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000001")
    assert _digest_of_tree(tmp_path / "wednesday", 5) != first  # the epoch is in the bytes


def test_directory_layer_headers_are_normalised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1234567890")
    _tree(tmp_path, 42)
    with (
        ImageBuilder.from_scratch("linux/amd64") as b,
        b.add_directory(tmp_path, prefix="/opt/app").build() as img,
    ):
        tar = _layer_tar(img)
        members = tar.getmembers()
        names = [m.name for m in members]
        assert names == sorted(names, key=str.encode)
        assert names[:2] == ["opt", "opt/app"]  # parents added
        for m in members:
            assert (m.uid, m.gid, m.uname, m.gname, m.mtime) == (0, 0, "", "", 1234567890)
            assert not m.pax_headers  # nothing needed PAX
        by = {m.name: m for m in members}
        assert by["opt/app/b/exe"].mode == 0o755
        assert by["opt/app/b/link"].issym() and by["opt/app/b/link"].linkname == "../a.txt"
        hard = [m for m in members if m.islnk()]
        assert len(hard) == 1 and hard[0].linkname in {"opt/app/a.txt", "opt/app/b/hard"}
        config = img.image.config
        assert config.created is not None and config.created.unix() == 1234567890
        assert [h.created.unix() for h in config.history if h.created] == [1234567890]


def test_pax_only_for_what_ustar_cannot_hold() -> None:
    long = "d/" + "x" * 120
    b = ImageBuilder.from_scratch("linux/amd64", created=0)
    with b, b.add_files({"short": b"1", long: b"2", "é": b"3"}).build() as img:
        tar = _layer_tar(img)
        by = {m.name: m for m in tar.getmembers()}
        assert by[long].pax_headers.get("path") == long
        assert by["é"].pax_headers.get("path") == "é"
        assert not by["short"].pax_headers


def test_file_specs_keep_what_they_give() -> None:
    files = {
        "/usr/bin/tool": FileSpec(
            data=b"bin", mode=0o4755, uid=1000, gid=1001, uname="me", gname="us", mtime=99
        ),
        "etc/link": FileSpec(symlink="/usr/bin/tool"),
        "var/empty": FileSpec(directory=True, mode=0o700),
        "etc/plain": b"text",
    }
    with ImageBuilder.from_scratch("linux/arm64", created=7) as b, b.add_files(files).build() as img:
        by = {m.name: m for m in _layer_tar(img).getmembers()}
        tool = by["usr/bin/tool"]
        assert (tool.mode, tool.uid, tool.gid, tool.uname, tool.gname, tool.mtime) == (
            0o4755,
            1000,
            1001,
            "me",
            "us",
            99,
        )
        assert by["etc/link"].issym() and by["etc/link"].linkname == "/usr/bin/tool"
        assert by["var/empty"].isdir() and by["var/empty"].mode == 0o700
        assert by["etc/plain"].mode == 0o644 and by["etc/plain"].mtime == 7
        assert by["usr"].isdir() and by["usr/bin"].mode == 0o755
        assert img.image.platform.architecture == "arm64"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.lists(st.sampled_from(["a", "b", "c", "dd", "e.txt"]), min_size=1, max_size=4).map("/".join),
        st.binary(max_size=64),
        min_size=1,
        max_size=12,
    ),
    st.randoms(use_true_random=False),
)
def test_any_file_tree_is_order_independent_and_complete(files: dict[str, bytes], rnd: object) -> None:
    # a path cannot be a file and a parent: keep the files that are nobody's parent
    files = {p: d for p, d in files.items() if not any(q.startswith(p + "/") for q in files)}
    shuffled = list(files.items())
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    digests = []
    for order in (list(files.items()), shuffled):
        with (
            ImageBuilder.from_scratch("linux/amd64", created=0) as b,
            b.add_files(dict(order)).build() as img,
        ):
            digests.append(img.image.layers[0].digest)
            tar = _layer_tar(img)
            names = [m.name for m in tar.getmembers()]
            parents = {"/".join(p.split("/")[:i]) for p in files for i in range(1, p.count("/") + 1)}
            assert names == sorted(set(files) | parents, key=str.encode)
            for name, data in files.items():
                fh = tar.extractfile(name)
                assert fh is not None and fh.read() == data
    assert digests[0] == digests[1]


def _tar_bytes() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        info = tarfile.TarInfo("zzz/keep-order-and-owner")
        info.uid, info.mtime, info.size = 33, 1_600_000_000, 3
        tar.addfile(info, io.BytesIO(b"abc"))
        tar.addfile(tarfile.TarInfo("aaa"), io.BytesIO(b""))
    return buf.getvalue()


@pytest.mark.parametrize("codec", ["none", "gzip", "zstd"])
def test_a_tar_is_taken_as_it_is(codec: str, tmp_path: Path) -> None:
    raw = _tar_bytes()
    data = {"none": raw, "gzip": gzip.compress(raw), "zstd": zstandard.compress(raw)}[codec]
    path = tmp_path / "layer.tar"
    path.write_bytes(data)
    with ImageBuilder.from_scratch("linux/amd64") as b:
        b.add_tar(path).add_tar(io.BytesIO(data))
        with b.build() as img:
            for layer in img.image.layers:
                assert str(layer.diff_id) == "sha256:" + hashlib.sha256(raw).hexdigest()
                with layer.reading() as stream:
                    assert stream.read() == raw
                    stream.finish()


def test_bad_inputs_are_typed_errors(tmp_path: Path) -> None:
    (tmp_path / "junk").write_bytes(b"this is no tar" * 100)
    with ImageBuilder.from_scratch("linux/amd64") as b:
        with pytest.raises(LayerInputError) as exc:
            b.add_tar(tmp_path / "junk")
        assert exc.value.path == str(tmp_path / "junk")
        with pytest.raises(LayerInputError) as exc:
            b.add_tar(tmp_path / "absent.tar")
        assert exc.value.path == str(tmp_path / "absent.tar")
        with pytest.raises(LayerInputError) as exc:
            b.add_files({"../escape": b"x"})
        assert exc.value.member == "../escape"
        with pytest.raises(LayerInputError):
            b.add_directory(tmp_path / "absent")
        with pytest.raises(LayerInputError):
            b.add_files({"a": b"file", "a/b": b"child of a file"})


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.dictionaries(
        st.lists(st.sampled_from(["x", "y", "zz", "n.txt"]), min_size=1, max_size=3).map("/".join),
        st.tuples(st.binary(max_size=32), st.sampled_from([0o644, 0o755, 0o600]), st.integers(0, 2**31)),
        min_size=1,
        max_size=8,
    ),
    st.integers(0, 2**31),
)
def test_directory_trees_on_disk_ignore_their_mtimes(
    tmp_path_factory: pytest.TempPathFactory, files: dict[str, tuple[bytes, int, int]], other_mtime: int
) -> None:
    files = {p: v for p, v in files.items() if not any(q.startswith(p + "/") for q in files)}
    digests = []
    for use_other in (False, True):
        root = tmp_path_factory.mktemp("tree")
        for rel, (data, mode, mtime) in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            path.chmod(mode)
            os.utime(path, (other_mtime, other_mtime) if use_other else (mtime, mtime))
        with ImageBuilder.from_scratch("linux/amd64", created=0) as b, b.add_directory(root).build() as img:
            digests.append(img.image.layers[0].digest)
            by = {m.name: m for m in _layer_tar(img).getmembers()}
            for rel, (data, mode, _) in files.items():
                assert by[rel].mode == mode and by[rel].mtime == 0 and by[rel].size == len(data)
    assert digests[0] == digests[1]


def test_xattrs_only_when_asked(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"f")
    try:
        os.setxattr(tmp_path / "f", "user.origin", b"ocitool")
    except OSError:
        pytest.skip("this file system has no user xattrs")
    for asked in (False, True):
        b = ImageBuilder.from_scratch("linux/amd64", created=0)
        with b, b.add_directory(tmp_path, xattrs=asked).build() as img:
            (member,) = _layer_tar(img).getmembers()
            expected = {"SCHILY.xattr.user.origin": "ocitool"} if asked else {}
            assert member.pax_headers == expected


def test_a_failing_tar_writer_fails_the_layer_and_leaves_nothing(tmp_path: Path) -> None:
    maker = LayerMaker(str(tmp_path), Codec(Compression.GZIP))

    def write(fh: io.BufferedWriter) -> None:
        fh.write(b"\0" * (3 << 20))  # more than the pipe holds: the compressor is reading
        raise LayerInputError("gone while reading", path="/x")

    with pytest.raises(LayerInputError, match="gone while reading"):
        maker.from_tar_writer(write)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []
    blob = maker.from_tar_writer(lambda fh: fh.write(_tar_bytes()))  # type: ignore[arg-type,return-value]
    assert str(blob.diff_id) == "sha256:" + hashlib.sha256(_tar_bytes()).hexdigest()
