"""The store under concurrency and crashes, observed from outside: readers and writers in
separate processes against the lock protocol the root documents (``ROOT/.ocitool.lock``, flock:
one writer or many readers), and a ``load`` killed with SIGKILL at several points.

After a kill, every image the store lists must inspect and save, and no image that existed
before the killed load may be missing.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests import peers
from tests.bigarchive import build

TWO = str(peers.FIXTURES / "docker" / "two-images.tar")
IMPORTED = str(peers.FIXTURES / "docker" / "imported.tar")


def ocitool(root: Path, *args: str, **kw: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "ocitool", "--root", str(root), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kw,  # type: ignore[call-overload]
    )


def done(p: subprocess.Popen[bytes], timeout: float = 120) -> tuple[int, str, str]:
    out, err = p.communicate(timeout=timeout)
    return p.returncode, out.decode(), err.decode()


def ok(root: Path, *args: str) -> str:
    rc, out, err = done(ocitool(root, *args))
    assert rc == 0, f"{args}: {err}"
    return out


@contextmanager
def holding(root: Path, lock: int) -> Iterator[None]:
    """Hold the root's flock as another process would (LOCK_EX: a writer; LOCK_SH: a reader)."""
    fd = os.open(root / ".ocitool.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, lock)
        yield
    finally:
        os.close(fd)


def still_running(p: subprocess.Popen[bytes], seconds: float) -> bool:
    try:
        p.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        return True
    return False


@pytest.fixture
def store(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    ok(root, "load", "-i", TWO)
    return root


def test_a_reader_waits_for_a_writer_and_then_sees_its_work(store: Path) -> None:
    before = ok(store, "images", "--format", "{{.Repository}}:{{.Tag}}")
    with holding(store, fcntl.LOCK_EX):
        reader = ocitool(store, "images", "--format", "{{.Repository}}:{{.Tag}}")
        assert still_running(reader, 1.5), "a reader ran while a writer held the lock"
    rc, out, err = done(reader)
    assert rc == 0 and out == before, err


def test_readers_share_the_lock_and_a_writer_waits_for_them(store: Path) -> None:
    with holding(store, fcntl.LOCK_SH):
        # another reader is not held up by a reader ...
        rc, out, err = done(ocitool(store, "images", "-q"), timeout=60)
        assert rc == 0 and out.split(), err
        # ... but a writer is
        writer = ocitool(store, "tag", "ocitool-fixture/base:1.0", "while-reading:1")
        assert still_running(writer, 1.5), "a writer ran while a reader held the lock"
        assert "while-reading" not in ok(store, "images")
    rc, _, err = done(writer)
    assert rc == 0, err
    assert "while-reading" in ok(store, "images", "--format", "{{.Repository}}")


def test_readers_during_a_load_see_the_store_before_or_after_it(store: Path) -> None:
    before = set(ok(store, "images", "-q", "--no-trunc").split())
    writer = ocitool(store, "load", "-i", IMPORTED)
    seen = []
    while writer.poll() is None:
        seen.append(set(ok(store, "images", "-q", "--no-trunc").split()))
    assert writer.returncode == 0
    after = set(ok(store, "images", "-q", "--no-trunc").split())
    assert after > before
    assert all(s in (before, after) for s in seen)


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A docker archive of three 48 MB layers: a load takes long enough to be killed midway."""
    return build(tmp_path_factory.mktemp("big"), layers=3, layer_size=48 << 20)["docker"]


def _blob_files(root: Path) -> list[Path]:
    blobs = root / "content" / "blobs" / "sha256"
    return list(blobs.iterdir()) if blobs.is_dir() else []


@pytest.mark.slow
@pytest.mark.parametrize("kill_after", ["first-write", "one-layer", "two-layers"])
def test_sigkill_during_load_leaves_a_store_that_works(store: Path, big: Path, kill_after: str) -> None:
    existing = {
        line.split()[0]: line
        for line in ok(
            store, "images", "--no-trunc", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}"
        ).splitlines()
    }
    start = len(_blob_files(store))
    want = {"first-write": 0, "one-layer": 1, "two-layers": 2}[kill_after]
    loader = ocitool(store, "load", "-i", str(big))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and loader.poll() is None:
        files = _blob_files(store)
        new_layers = [p for p in files if not p.name.startswith(".")]
        writing = [p for p in files if p.name.startswith(".")]
        if (want == 0 and writing) or (want and len(new_layers) - start >= want and writing):
            break
        time.sleep(0.005)
    assert loader.poll() is None, "the load finished before it could be killed: use a bigger archive"
    loader.send_signal(signal.SIGKILL)
    loader.wait()

    # every image listed inspects and saves; nothing that was there before is gone
    listed = ok(
        store, "images", "-a", "--no-trunc", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}"
    ).splitlines()
    assert set(existing.values()) <= set(listed)
    for image_id in {line.split()[0] for line in listed}:
        [doc] = json.loads(ok(store, "inspect", image_id))
        assert doc["Id"] == image_id
        out = store.parent / f"saved-{image_id[7:19]}.tar"
        ok(store, "save", "-o", str(out), image_id)
        assert out.stat().st_size > 0
    # no orphan: every blob left belongs to a listed image; temporary files are gone
    assert not [p for p in _blob_files(store) if p.name.startswith(".")]
    assert len(_blob_files(store)) == start
    # and the load can be done again
    assert "Loaded image: big/image:latest" in ok(store, "load", "-i", str(big))
