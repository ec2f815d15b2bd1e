"""moby's own image.Store behaviour (image/store_test.go), as facts, on both backends."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from ocitool.errors import AmbiguousImageError, ImageNotFoundError, InvalidConfigError
from ocitool.model.digest import Digest
from ocitool.store._index import open_index
from ocitool.store.backend import FSBackend, MemoryBackend
from ocitool.store.images import PULL_IDENTITY_KEY, ImageStore

LAYER = "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"


@pytest.fixture(params=["memory", "fs"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ImageStore]:
    if request.param == "memory":
        yield ImageStore(MemoryBackend(), open_index(None))
    else:
        yield ImageStore(FSBackend(str(tmp_path / "imagedb")), open_index(str(tmp_path / "index.sqlite")))


def _sha(data: bytes) -> Digest:
    return Digest.parse("sha256:" + hashlib.sha256(data).hexdigest())


def test_ids_of_literal_configs(store: ImageStore) -> None:
    # TestAddDelete's literal, with the diff ID written as a digest (see below).
    raw = b'{"comment": "abc", "rootfs": {"type": "layers", "diff_ids": ["' + LAYER.encode() + b'"]}}'
    id = store.create(raw)
    assert id == _sha(raw)  # the bytes as given, never re-marshalled
    assert store.get(id).comment == "abc"
    assert store.create(raw) == id and len(store) == 1  # idempotent


def test_moby_literal_with_bare_hex_diff_id_is_refused_naming_the_field(store: ImageStore) -> None:
    # moby stores it (ID sha256:8d25a9c4…); ocitool's config reader is stricter about DiffIDs.
    raw = b'{"comment": "abc", "rootfs": {"type": "layers", "diff_ids": ["' + LAYER[7:].encode() + b'"]}}'
    assert _sha(raw) == Digest.parse(
        "sha256:8d25a9c45df515f9d0fe8e4a6b1c64dd3b965a84790ddbcc7954bb9bc89eb993"
    )
    with pytest.raises(InvalidConfigError) as info:
        store.create(raw)
    assert info.value.field == "/rootfs/diff_ids/0"


def test_create_rejects_bad_configs(store: ImageStore) -> None:
    with pytest.raises(InvalidConfigError, match="no RootFS key"):
        store.create(b"{}")
    with pytest.raises(InvalidConfigError) as info:
        store.create(b'{"rootfs": {"type": "foobar"}}')
    assert info.value.field == "/rootfs/type"
    with pytest.raises(InvalidConfigError, match="too many non-empty layers"):
        store.create(b'{"rootfs": {"type": "layers"}, "history": [{"created_by": "x"}]}')
    with pytest.raises(InvalidConfigError):
        store.create(b"invalid")
    assert len(store) == 0


def test_search_by_prefix_and_after_delete(store: ImageStore) -> None:
    id = store.create(b'{"comment": "abc", "rootfs": {"type": "layers"}}')
    assert store.search(str(id)[:15]) == id  # sha256:-prefixed
    assert store.search(id.encoded[:6]) == id  # bare hex
    assert store.search(str(id)) == id
    with pytest.raises(ImageNotFoundError):
        store.search(id.encoded[1:6])  # not a prefix
    assert store.delete(id) == []
    with pytest.raises(ImageNotFoundError):
        store.search(str(id)[:15])
    with pytest.raises(ImageNotFoundError):
        store.get(id)


def test_ambiguous_and_missing_prefixes_are_distinct_errors(store: ImageStore) -> None:
    ids = [store.create(b'{"comment": "%d", "rootfs": {"type": "layers"}}' % i) for i in range(300)]
    by_first: dict[str, list[Digest]] = {}
    for i in ids:
        by_first.setdefault(i.encoded[0], []).append(i)
    shared = next(k for k, v in by_first.items() if len(v) > 1)
    with pytest.raises(AmbiguousImageError) as amb:
        store.search(shared)
    assert isinstance(amb.value, LookupError) and amb.value.prefix == shared
    with pytest.raises(ImageNotFoundError):
        store.search("zz")
    unique = ids[0].encoded[:12]
    assert store.search(unique) == ids[0]


def test_children_and_heads_after_set_parent(store: ImageStore) -> None:
    a = store.create(b'{"comment": "abc1", "rootfs": {"type": "layers"}}')
    b = store.create(b'{"comment": "abc2", "rootfs": {"type": "layers"}}')
    c = store.create(b'{"comment": "abc3", "rootfs": {"type": "layers"}}')
    assert store.heads() == sorted([a, b, c], key=str)
    store.set_parent(a, b)
    assert store.children(b) == [a]
    assert store.get_parent(a) == b
    assert set(store.heads()) == {a, c}
    store.set_parent(a, c)  # TestParentReset
    assert store.children(b) == [] and store.children(c) == [a]
    assert set(store.heads()) == {a, b}
    with pytest.raises(ImageNotFoundError):
        store.set_parent(a, Digest.parse("sha256:" + "9" * 64))
    store.delete(c)  # the child loses its parent
    assert store.get_parent(a) is None
    assert store.get_parent(b) is None


def test_last_updated_and_built_locally(store: ImageStore) -> None:
    id = store.create(b'{"comment": "x", "rootfs": {"type": "layers"}}')
    assert store.get_last_updated(id).is_zero()
    store.set_last_updated(id)
    assert not store.get_last_updated(id).is_zero()
    assert not store.is_built_locally(id)
    store.set_built_locally(id)
    assert store.is_built_locally(id)


def test_pull_identity_is_kept_once_each_in_order_and_goes_with_the_image(store: ImageStore) -> None:
    id = store.create(b'{"comment": "pulled", "rootfs": {"type": "layers"}}')
    assert store.pull_identity(id) == []
    for repo in ("docker.io/library/alpine", "127.0.0.1:5000/foo", "docker.io/library/alpine"):
        store.add_pull_identity(id, repo)
    assert store.pull_identity(id) == ["docker.io/library/alpine", "127.0.0.1:5000/foo"]
    assert store.backend.get_metadata(id, PULL_IDENTITY_KEY) == (
        b'[{"Repository":"docker.io/library/alpine"},{"Repository":"127.0.0.1:5000/foo"}]'
    )
    with pytest.raises(ImageNotFoundError):
        store.add_pull_identity(_sha(b"absent"), "docker.io/library/x")
    # a damaged record reads as none (it is only ever shown), and is replaced by the next one
    store.backend.set_metadata(id, PULL_IDENTITY_KEY, b'{"not": "a list"')
    assert store.pull_identity(id) == []
    store.add_pull_identity(id, "docker.io/library/x")
    assert store.pull_identity(id) == ["docker.io/library/x"]
    store.delete(id)
    with pytest.raises(LookupError):
        store.backend.get_metadata(id, PULL_IDENTITY_KEY)


def test_map_and_len(store: ImageStore) -> None:
    ids = {store.create(b'{"comment": "%d", "rootfs": {"type": "layers"}}' % i) for i in range(3)}
    m = store.map()
    assert set(m) == ids and len(store) == 3
    assert {c.comment for c in m.values()} == {"0", "1", "2"}


def test_restore_rebuilds_the_index_from_the_files(tmp_path: Path) -> None:
    """TestRestore: configs and parent metadata written to the backend alone are found."""
    fs = FSBackend(str(tmp_path / "imagedb"))
    id1 = fs.set(b'{"comment": "abc", "rootfs": {"type": "layers"}}')
    fs.set(b"invalid")
    id2 = fs.set(b'{"comment": "def", "rootfs": {"type": "layers", "diff_ids": ["' + LAYER.encode() + b'"]}}')
    fs.set_metadata(id2, "parent", str(id1).encode())
    store = ImageStore(fs, open_index(str(tmp_path / "index.sqlite")))
    assert store.rebuild_index() == 2
    assert set(store.map()) == {id1, id2}
    assert store.get_parent(id1) is None
    assert store.get_parent(id2) == id1
    assert store.children(id1) == [id2]
    assert len(store.heads()) == 1
    assert store.search(str(id1)[:10]) == id1
