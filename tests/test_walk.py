"""The one descriptor walker (ocitool.image.walk), on small trees held in memory."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ocitool.errors import DigestMismatchError
from ocitool.image.source import ImageIndex, SourceImage, open_descriptor
from ocitool.image.walk import MAX_DEPTH, Kind, SkipDescriptor, Step, walk
from ocitool.model import mediatypes as mt
from ocitool.model.descriptor import Descriptor
from ocitool.model.digest import digest_bytes
from tests.test_rootfs import MemBlobs


class MemoryBlobs(MemBlobs):
    def put(self, doc: Any, media_type: str) -> Descriptor:
        raw = json.dumps(doc).encode()
        digest = digest_bytes(raw)
        self.data[digest] = raw
        return Descriptor(media_type, digest, len(raw))


def manifest(blobs: MemoryBlobs, n: int) -> Descriptor:
    config = blobs.put({"architecture": "amd64", "os": "linux", "n": n}, mt.OCI_CONFIG)
    doc = {"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST, "config": config.to_json(), "layers": []}
    return blobs.put(doc, mt.OCI_MANIFEST)


def index(blobs: MemoryBlobs, *children: Descriptor) -> Descriptor:
    doc = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": [c.to_json() for c in children]}
    return blobs.put(doc, mt.OCI_INDEX)


def root(blobs: MemoryBlobs, desc: Descriptor) -> SourceImage | ImageIndex:
    return open_descriptor(blobs, desc, label="memory", referenced_by="test")


def steps(node: SourceImage | ImageIndex, **kwargs: Any) -> list[tuple[int, Kind, str]]:
    seen: list[tuple[int, Kind, str]] = []
    walk(node, lambda s: seen.append((s.depth, s.kind, str(s.descriptor.digest)[7:15])), **kwargs)
    return seen


def short(desc: Descriptor) -> str:
    return str(desc.digest)[7:15]


def test_depth_first_in_document_order_with_paths() -> None:
    blobs = MemoryBlobs()
    a, b, c = (manifest(blobs, n) for n in range(3))
    inner = index(blobs, b, c)
    top = index(blobs, a, inner)
    paths: list[list[str]] = []
    walk(root(blobs, top), lambda s: paths.append([short(d) for d in s.path.walk]))
    assert paths == [
        [short(top)],
        [short(top), short(a)],
        [short(top), short(inner)],
        [short(top), short(inner), short(b)],
        [short(top), short(inner), short(c)],
    ]


def test_leave_sees_children_first() -> None:
    blobs = MemoryBlobs()
    a, b = manifest(blobs, 0), manifest(blobs, 1)
    inner = index(blobs, b)
    top = index(blobs, a, inner)
    order: list[str] = []
    walk(root(blobs, top), lambda s: None, leave=lambda s: order.append(short(s.descriptor)))
    assert order == [short(a), short(b), short(inner), short(top)]


def test_skip_descriptor_keeps_the_walk_out() -> None:
    blobs = MemoryBlobs()
    b = manifest(blobs, 1)
    inner = index(blobs, b)
    top = index(blobs, manifest(blobs, 0), inner)

    seen: list[str] = []
    left: list[str] = []

    def visit(step: Step) -> None:
        seen.append(short(step.descriptor))
        if step.descriptor.digest == inner.digest:
            raise SkipDescriptor

    walk(root(blobs, top), visit, leave=lambda s: left.append(short(s.descriptor)))
    assert short(inner) in seen and short(b) not in seen  # not below the skipped index
    assert short(inner) not in left and short(top) in left


def test_kinds_absent_blob_and_loop() -> None:
    blobs = MemoryBlobs()
    a = manifest(blobs, 0)
    gone = Descriptor(mt.OCI_MANIFEST, digest_bytes(b"absent"), 6)
    layer = Descriptor(mt.OCI_LAYER_GZIP, digest_bytes(b"layer"), 5)
    top = index(blobs, a, gone, layer)
    assert [k for _, k, _ in steps(root(blobs, top))] == [Kind.NODE, Kind.NODE, Kind.ABSENT, Kind.BLOB]
    # An index that lists itself: content addressing makes a true self-loop impossible to build,
    # so a loop is made by rewriting the stored bytes under the digest (as a hostile file would).
    loop_desc = Descriptor(mt.OCI_INDEX, digest_bytes(b"loop"), 0)
    raw = json.dumps({"schemaVersion": 2, "manifests": [loop_desc.to_json()]}).encode()
    node = ImageIndex(blobs, raw, loop_desc, label="memory")
    blobs.data[loop_desc.digest] = raw
    assert [k for _, k, _ in steps(node)] == [Kind.NODE, Kind.LOOP]


def test_one_depth_limit() -> None:
    blobs = MemoryBlobs()
    desc = manifest(blobs, 0)
    chain = [desc]
    for _ in range(MAX_DEPTH + 2):
        desc = index(blobs, desc)
        chain.append(desc)
    found = steps(root(blobs, desc))
    assert [d for d, k, _ in found if k is Kind.NODE] == list(range(MAX_DEPTH + 1))
    assert found[-1][:2] == (MAX_DEPTH + 1, Kind.TOO_DEEP)


def test_errors_raise_or_are_reported() -> None:
    blobs = MemoryBlobs()
    a = manifest(blobs, 0)
    bad = manifest(blobs, 1)
    blobs.data[bad.digest] = b"{}" + b" " * (bad.size - 2)  # same size, other content
    top = root(blobs, index(blobs, bad, a))
    with pytest.raises(DigestMismatchError):
        walk(top, lambda s: None)
    found: list[Step] = []
    walk(top, found.append, report_errors=True)
    assert [s.kind for s in found] == [Kind.NODE, Kind.FAILED, Kind.NODE]
    assert isinstance(found[1].error, DigestMismatchError) and found[1].parent is top


def test_images_flatten_nested_indexes_once() -> None:
    blobs = MemoryBlobs()
    a, b = manifest(blobs, 0), manifest(blobs, 1)
    inner = index(blobs, b)
    gone = Descriptor(mt.OCI_MANIFEST, digest_bytes(b"absent"), 6)
    top = root(blobs, index(blobs, a, inner, inner, gone))
    assert isinstance(top, ImageIndex)
    assert [(short(d), img is not None) for d, img in top.walk()] == [
        (short(a), True),
        (short(b), True),
        (short(gone), False),
    ]
    assert [img.digest for img in top.images()] == [a.digest, b.digest]
