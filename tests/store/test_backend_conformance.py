"""One conformance suite for every StoreBackend: in memory and on disk (Docker's layout)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ocitool.errors import BlobNotFoundError, DigestMismatchError, InvalidDigestError, InvalidDocumentError
from ocitool.model.digest import Digest
from ocitool.store.backend import FSBackend, MemoryBackend, StoreBackend

CONFIG = b'{"comment": "abc", "rootfs": {"type": "layers"}}'


@pytest.fixture(params=["memory", "fs"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreBackend]:
    if request.param == "memory":
        yield MemoryBackend()
    else:
        yield FSBackend(str(tmp_path / "imagedb"))


def test_is_a_store_backend(backend: StoreBackend) -> None:
    assert isinstance(backend, StoreBackend)
    # isinstance on a Protocol only checks that the names exist: check each method's signature
    # (parameter names, kinds and annotations, and the return annotation) against the protocol's.
    import inspect

    members = [n for n, v in vars(StoreBackend).items() if callable(v) and not n.startswith("_")]
    assert sorted(members) == sorted(
        ["walk", "ids", "get", "set", "delete", "set_metadata", "get_metadata", "delete_metadata"]
    )
    for name in members:
        want = inspect.signature(getattr(StoreBackend, name), eval_str=True)
        got = inspect.signature(getattr(type(backend), name), eval_str=True)
        assert got == want, f"{type(backend).__name__}.{name}{got} is not StoreBackend.{name}{want}"


def test_set_returns_the_sha256_of_the_bytes_and_get_returns_them(backend: StoreBackend) -> None:
    id = backend.set(CONFIG)
    assert id == Digest.parse("sha256:" + hashlib.sha256(CONFIG).hexdigest())
    assert backend.get(id) == CONFIG
    assert backend.set(CONFIG) == id  # idempotent
    assert list(backend.ids()) == [id]


def test_walk_visits_every_id(backend: StoreBackend) -> None:
    ids = {backend.set(b'{"n": %d}' % i) for i in range(5)}
    seen: list[Digest] = []
    backend.walk(seen.append)
    assert set(seen) == ids and len(seen) == 5


def test_get_missing_is_a_lookup_error(backend: StoreBackend) -> None:
    missing = Digest.parse("sha256:" + "0" * 64)
    with pytest.raises(BlobNotFoundError) as info:
        backend.get(missing)
    assert isinstance(info.value, LookupError)


def test_metadata_set_get_delete(backend: StoreBackend) -> None:
    id = backend.set(CONFIG)
    with pytest.raises(BlobNotFoundError):
        backend.get_metadata(id, "parent")
    backend.set_metadata(id, "parent", b"sha256:" + b"1" * 64)
    assert backend.get_metadata(id, "parent") == b"sha256:" + b"1" * 64
    backend.delete_metadata(id, "parent")
    backend.delete_metadata(id, "parent")  # absent: no error
    with pytest.raises(BlobNotFoundError):
        backend.get_metadata(id, "parent")


def test_metadata_needs_the_config(backend: StoreBackend) -> None:
    with pytest.raises(BlobNotFoundError):
        backend.set_metadata(Digest.parse("sha256:" + "2" * 64), "parent", b"x")


def test_bad_metadata_keys_and_ids_are_refused(backend: StoreBackend) -> None:
    id = backend.set(CONFIG)
    for key in ("../x", "a/b", "", ".."):
        with pytest.raises(InvalidDocumentError):
            backend.set_metadata(id, key, b"x")
    with pytest.raises(InvalidDigestError):
        backend.get("sha256:../../etc/passwd")  # type: ignore[arg-type]


def test_delete_removes_config_and_metadata(backend: StoreBackend) -> None:
    id = backend.set(CONFIG)
    backend.set_metadata(id, "lastUpdated", b"2024-01-01T00:00:00Z")
    backend.delete(id)
    backend.delete(id)  # absent: no error
    with pytest.raises(BlobNotFoundError):
        backend.get(id)
    with pytest.raises(BlobNotFoundError):
        backend.get_metadata(id, "lastUpdated")
    assert list(backend.ids()) == []


def test_fs_layout_is_dockers(tmp_path: Path) -> None:
    root = tmp_path / "imagedb"
    fs = FSBackend(str(root))
    id = fs.set(CONFIG)
    fs.set_metadata(id, "parent", b"sha256:" + b"3" * 64)
    assert (root / "content" / "sha256" / id.encoded).read_bytes() == CONFIG
    assert (root / "metadata" / "sha256" / id.encoded / "parent").read_bytes() == b"sha256:" + b"3" * 64
    leftovers = [n for n in os.listdir(root / "content" / "sha256") if n.startswith(".tmp")]
    assert leftovers == []


def test_fs_content_is_reverified_on_read(tmp_path: Path) -> None:
    fs = FSBackend(str(tmp_path / "imagedb"))
    id = fs.set(CONFIG)
    path = tmp_path / "imagedb" / "content" / "sha256" / id.encoded
    path.write_bytes(CONFIG.replace(b"abc", b"abd"))
    with pytest.raises(DigestMismatchError) as info:
        fs.get(id)
    assert info.value.path == str(path)


def test_fs_readonly_never_writes(tmp_path: Path) -> None:
    fs = FSBackend(str(tmp_path / "imagedb"))
    id = fs.set(CONFIG)
    ro = FSBackend(str(tmp_path / "imagedb"), readonly=True)
    assert ro.get(id) == CONFIG
    with pytest.raises(PermissionError):
        ro.set(b"{}")
    with pytest.raises(PermissionError):
        ro.delete(id)
    assert FSBackend(str(tmp_path / "nothing"), readonly=True).get_metadata is not None
    # a read-only backend on a directory that does not exist: empty, every lookup a clean
    # LookupError, and nothing created
    empty = FSBackend(str(tmp_path / "nothing"), readonly=True)
    missing = Digest.parse("sha256:" + "0" * 64)
    assert list(empty.ids()) == []
    seen: list[Digest] = []
    empty.walk(seen.append)
    assert seen == []
    with pytest.raises(BlobNotFoundError):
        empty.get(missing)
    with pytest.raises(BlobNotFoundError):
        empty.get_metadata(missing, "parent")
    with pytest.raises(PermissionError):
        empty.set_metadata(missing, "parent", b"x")
    assert not (tmp_path / "nothing").exists()
