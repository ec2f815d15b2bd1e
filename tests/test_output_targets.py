"""Output goes where the user points it (issue 10 §2): ``-`` is stdout, FIFOs and devices are
written in place, symlinks are followed (the link stays), errors name the user's path."""

from __future__ import annotations

import errno
import io
import os
import stat
import tarfile
import tempfile
import threading
from pathlib import Path

import pytest

from ocitool._io.output import (
    atomic_write,
    is_stdout,
    output_file,
    output_target,
    spooled,
    staging_for,
)
from ocitool._io.tarwriter import TarWriter
from ocitool.errors import OutputError, OutputNotFoundError, OutputPermissionError
from ocitool.formats.oci.write import TarLayoutWriter
from ocitool.model.digest import digest_bytes


def hidden(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


class FifoReader:
    """Reads a FIFO to its end in a thread (a writer's open blocks until a reader opens)."""

    def __init__(self, path: Path) -> None:
        self.data = b""
        self._thread = threading.Thread(target=self._read, args=(path,), daemon=True)
        self._thread.start()

    def _read(self, path: Path) -> None:
        with open(path, "rb") as fh:
            self.data = fh.read()

    def result(self) -> bytes:
        self._thread.join(timeout=30)
        assert not self._thread.is_alive()
        return self.data


def test_dash_is_stdout(capfd: pytest.CaptureFixture[bytes]) -> None:
    assert output_target("-") == ("-", True) and is_stdout("-")
    with output_file("-") as fh:
        fh.write(b"streamed")
    assert capfd.readouterr().out == "streamed"
    os.write(1, b"still open")  # the module wrote through a duplicate: stdout itself stays open
    assert capfd.readouterr().out == "still open"


def test_a_fifo_is_written_in_place(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    reader = FifoReader(fifo)
    payload = os.urandom(3 << 20)  # more than a pipe holds: the writer streams while it reads
    with output_file(fifo) as fh:
        fh.write(payload)
    assert reader.result() == payload
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and hidden(tmp_path) == []


def test_a_symlink_to_a_fifo_stays_a_link(tmp_path: Path) -> None:
    """The /dev/stdout case with a link of our own: the link is followed, never replaced."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    link = tmp_path / "stdout"
    link.symlink_to(fifo)
    reader = FifoReader(fifo)
    atomic_write(link, b"through the link", mode=0o644)
    assert reader.result() == b"through the link"
    assert link.is_symlink() and os.readlink(link) == str(fifo)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and hidden(tmp_path) == []


def test_a_symlink_to_a_device_stays_a_link(tmp_path: Path) -> None:
    link = tmp_path / "null"
    link.symlink_to("/dev/null")
    assert output_target(link) == (str(link), True)
    with output_file(link) as fh:
        fh.write(b"gone")
    assert link.is_symlink() and stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_symlink_to_a_file_replaces_the_target_atomically(tmp_path: Path) -> None:
    (tmp_path / "links").mkdir()
    (tmp_path / "data").mkdir()
    target = tmp_path / "data" / "out.tar"
    target.write_bytes(b"old")
    old_inode = target.stat().st_ino
    link = tmp_path / "links" / "out.tar"
    link.symlink_to(Path("..") / "data" / "out.tar")
    seen: list[list[str]] = []
    with output_file(link) as fh:
        fh.write(b"new")
        seen.append(hidden(tmp_path / "data"))  # the temporary is beside the target
        assert target.read_bytes() == b"old"  # not yet: atomic
    assert len(seen[0]) == 1 and seen[0][0].startswith(".tmp-out.tar-")
    assert link.is_symlink() and target.read_bytes() == b"new" and target.stat().st_ino != old_inode
    assert hidden(tmp_path / "data") == [] and hidden(tmp_path / "links") == []


def test_a_dangling_link_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to("made.tar")
    atomic_write(link, b"made", mode=0o644)
    assert link.is_symlink() and (tmp_path / "made.tar").read_bytes() == b"made"
    assert hidden(tmp_path) == []


def test_an_absent_directory_is_named_not_the_temporary(tmp_path: Path) -> None:
    path = tmp_path / "no" / "out.tar"
    with pytest.raises(OutputNotFoundError) as info:
        output_file(path)
    assert str(info.value) == f"cannot write {path}: No such file or directory"
    assert isinstance(info.value, FileNotFoundError) and info.value.filename == str(path)
    assert info.value.errno == errno.ENOENT
    with pytest.raises(OutputNotFoundError, match=r"^cannot write .*/no/out\.tar: No such file"):
        staging_for(path)  # an archive's scratch space fails the same way, before any work


def _read_only_dir(tmp_path: Path) -> Path:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    if os.access(ro, os.W_OK):  # root ignores modes; sysfs refuses new files even to root
        ro = Path("/sys")
    return ro


def test_a_read_only_directory_is_named(tmp_path: Path) -> None:
    path = _read_only_dir(tmp_path) / "out.tar"
    with pytest.raises(OutputError) as info:
        atomic_write(path, b"x")
    assert isinstance(info.value, OutputPermissionError) and info.value.errno == errno.EACCES
    assert str(info.value).startswith(f"cannot write {path}: ") and ".tmp-" not in str(info.value)
    assert not path.exists()


def test_an_interrupted_write_through_a_link_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "t.tar"
    target.write_bytes(b"old")
    link = tmp_path / "l.tar"
    link.symlink_to(target)
    with pytest.raises(KeyboardInterrupt), output_file(link) as fh:
        fh.write(b"partial")
        raise KeyboardInterrupt
    assert target.read_bytes() == b"old" and link.is_symlink() and hidden(tmp_path) == []


def test_an_archive_streams_to_a_fifo_unseekably(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The tar writer goes front to back; its scratch space is the system temp dir, removed."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    reader = FifoReader(fifo)
    blob = os.urandom(200_000)
    writer = TarLayoutWriter(str(fifo))
    assert [p.parent for p in scratch.iterdir()] == [scratch]  # staging is not beside the FIFO
    digest = writer.put_bytes(blob)
    writer.commit([])
    data = reader.result()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:  # a pipe: no seek was possible
        member = tar.extractfile(f"blobs/sha256/{digest.encoded}")
        assert member is not None and member.read() == blob
    assert digest == digest_bytes(blob) and list(scratch.iterdir()) == [] and hidden(tmp_path) == []


def test_an_interrupted_archive_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out.tar"
    writer = TarLayoutWriter(str(out))
    writer.put_bytes(b"x" * 1000)

    def interrupted(self: TarWriter, *args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(TarWriter, "add_stream", interrupted)
    with pytest.raises(KeyboardInterrupt):
        writer.commit([])
    assert list(tmp_path.iterdir()) == []


def test_spooled_copies_and_removes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    r, w = os.pipe()
    os.write(w, b"from a pipe")
    os.close(w)
    with open(r, "rb") as stream, spooled(stream) as path:
        assert Path(path).read_bytes() == b"from a pipe" and Path(path).parent.parent == tmp_path
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(KeyboardInterrupt), open(os.devnull, "rb") as null, spooled(null):
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_is_stdout_recognises_the_file_stdout_is(tmp_path: Path) -> None:
    assert not is_stdout(tmp_path / "absent")
    path = tmp_path / "same"
    path.write_bytes(b"")
    saved = os.dup(1)
    try:
        fd = os.open(path, os.O_WRONLY)
        os.dup2(fd, 1)
        os.close(fd)
        assert is_stdout(path) and not is_stdout(tmp_path)
    finally:
        os.dup2(saved, 1)
        os.close(saved)
