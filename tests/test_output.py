"""The one output module: outputs appear whole or not at all, and leave nothing behind."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from ocitool._io import output
from ocitool._io.output import atomic_write, output_dir, output_file, pending_file
from ocitool.image import layersize
from ocitool.model.digest import digest_bytes


def umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def hidden(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


def test_output_file_appears_whole(tmp_path: Path) -> None:
    target = tmp_path / "out.tar"
    target.write_bytes(b"old")
    with output_file(target) as fh:
        fh.write(b"new ")
        assert target.read_bytes() == b"old"  # readers see the old file until the end
        [tmp] = hidden(tmp_path)
        assert tmp.startswith(".tmp-out.tar-")  # beside the target: the rename stays on one fs
        fh.write(b"content")
    assert target.read_bytes() == b"new content"
    assert hidden(tmp_path) == []
    assert stat.S_IMODE(target.stat().st_mode) == 0o644 & ~umask()


@pytest.mark.parametrize("exc", [OSError, KeyboardInterrupt])
def test_output_file_leaves_nothing_on_failure(tmp_path: Path, exc: type[BaseException]) -> None:
    target = tmp_path / "out"
    target.write_bytes(b"old")
    with pytest.raises(exc), output_file(target) as fh:
        fh.write(b"partial")
        raise exc()
    assert target.read_bytes() == b"old" and hidden(tmp_path) == []


def test_output_file_in_a_missing_directory_raises_before_writing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        output_file(tmp_path / "no" / "such" / "file")
    assert list(tmp_path.iterdir()) == []


def test_commit_failure_removes_the_temporary(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    out = output_file(tmp_path / "dir")  # a directory cannot be replaced by a file
    out.file.write(b"x")
    with pytest.raises(OSError):
        out.commit()
    assert hidden(tmp_path) == [] and (tmp_path / "dir").is_dir()


def test_pending_file_is_named_when_complete(tmp_path: Path) -> None:
    data = b"blob"
    with pending_file(tmp_path, mode=0o600) as fh:
        fh.write(data)
    assert list(tmp_path.iterdir()) == []  # never named: removed
    pending = pending_file(tmp_path)
    with pending as fh:
        fh.write(data)
        pending.commit(tmp_path / digest_bytes(data).encoded)
    assert [p.read_bytes() for p in tmp_path.iterdir()] == [data]
    with pytest.raises(ValueError):
        pending_file(tmp_path).commit()


def test_atomic_write_and_mode(tmp_path: Path) -> None:
    atomic_write(tmp_path / "a", b"1")
    atomic_write(tmp_path / "b", b"2", mode=0o640, sync=False)
    assert (tmp_path / "a").read_bytes() == b"1"
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o600 & ~umask()
    assert stat.S_IMODE((tmp_path / "b").stat().st_mode) == 0o640 & ~umask()
    assert hidden(tmp_path) == []


@pytest.mark.parametrize("mask", [0o022, 0o077])
def test_modes_are_applied_as_open_applies_them(tmp_path: Path, mask: int) -> None:
    old = os.umask(mask)
    try:
        atomic_write(tmp_path / "f", b"", mode=0o644)
        with output_dir(tmp_path / "d"):
            pass
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "f").stat().st_mode) == 0o644 & ~mask
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o755 & ~mask


def test_output_dir_appears_whole(tmp_path: Path) -> None:
    target = tmp_path / "layout"
    with output_dir(target) as tmp:
        Path(tmp, "index.json").write_text("{}")
        assert not target.exists()
        assert Path(tmp).parent == tmp_path
    assert (target / "index.json").read_text() == "{}"
    assert stat.S_IMODE(target.stat().st_mode) == 0o755 & ~umask()
    assert hidden(tmp_path) == []


def test_output_dir_replaces_an_empty_directory_only(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with output_dir(tmp_path / "empty", mode=None) as tmp:
        Path(tmp, "f").write_text("x")
    assert (tmp_path / "empty" / "f").read_text() == "x"
    with pytest.raises(OSError), output_dir(tmp_path / "empty") as tmp:
        Path(tmp, "g").write_text("y")
    assert sorted(p.name for p in (tmp_path / "empty").iterdir()) == ["f"]
    assert hidden(tmp_path) == []


@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt])
def test_output_dir_removes_even_read_only_trees(tmp_path: Path, exc: type[BaseException]) -> None:
    with pytest.raises(exc), output_dir(tmp_path / "rootfs") as tmp:
        sub = Path(tmp, "usr", "bin")
        sub.mkdir(parents=True)
        (sub / "sh").write_text("#!")
        sub.chmod(0o555)
        Path(tmp, "usr").chmod(0o500)
        raise exc()
    assert list(tmp_path.iterdir()) == []


def test_layer_size_cache_leaves_no_temporary_when_the_write_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OCITOOL_CACHE_DIR", str(tmp_path))
    diff_id = digest_bytes(b"layer")

    def full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(output.os, "fsync", full)
    layersize._store(diff_id, 42)  # an unwritable cache is not an error
    cache = Path(layersize._cache_path(diff_id)).parent
    assert list(cache.iterdir()) == []
    monkeypatch.undo()
    monkeypatch.setenv("OCITOOL_CACHE_DIR", str(tmp_path))
    layersize._store(diff_id, 42)
    assert layersize._cached(diff_id) == 42 and hidden(cache) == []
