from __future__ import annotations

import json

import pytest

from ocitool.errors import InvalidDocumentError, UnsupportedMediaTypeError
from ocitool.model import mediatypes as mt
from ocitool.model.manifest import Index, Manifest, parse_document

D = "sha256:" + "a" * 64


def _manifest(**extra: object) -> bytes:
    doc = {
        "schemaVersion": 2,
        "mediaType": mt.OCI_MANIFEST,
        "config": {"mediaType": mt.OCI_CONFIG, "digest": D, "size": 2},
        "layers": [
            {
                "mediaType": mt.OCI_LAYER_ZSTD,
                "digest": D,
                "size": 5,
                "annotations": {mt.ZSTD_CHUNKED_MANIFEST_CHECKSUM: "x"},
            }
        ],
        **extra,
    }
    return json.dumps(doc).encode()


def test_manifest_keeps_raw_bytes_and_digest() -> None:
    raw = _manifest()
    m = Manifest.from_bytes(raw)
    assert m.raw == raw
    assert m.is_image
    assert (
        mt.layer_compression(m.layers[0].media_type, m.layers[0].annotations)
        is mt.LayerCompression.ZSTD_CHUNKED
    )


def test_artifact_with_subject() -> None:
    raw = _manifest(
        artifactType="application/example", subject={"mediaType": mt.OCI_MANIFEST, "digest": D, "size": 1}
    )
    m = Manifest.from_bytes(raw)
    assert m.artifact_type == "application/example"
    assert m.subject is not None and str(m.subject.digest) == D


def test_null_manifests_in_index() -> None:
    idx = Index.from_bytes(
        b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":null}'
    )
    assert idx.manifests == ()


def test_bad_digest_names_the_field() -> None:
    raw = _manifest(layers=[{"mediaType": mt.OCI_LAYER, "digest": "sha256:../x", "size": 1}])
    with pytest.raises(InvalidDocumentError) as info:
        Manifest.from_bytes(raw, path="m.json")
    assert info.value.field == "/layers/0/digest"
    assert "m.json" in str(info.value)


def test_schema1_is_unsupported() -> None:
    with pytest.raises(UnsupportedMediaTypeError):
        parse_document(b'{"schemaVersion":1,"name":"x"}')


def test_detects_by_shape() -> None:
    assert isinstance(parse_document(b'{"schemaVersion":2,"manifests":[]}'), Index)
    doc = json.loads(_manifest())
    del doc["mediaType"]
    assert isinstance(parse_document(json.dumps(doc).encode()), Manifest)


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(InvalidDocumentError):
        Manifest.from_bytes(b"[" * 100000 + b"]" * 100000)
    with pytest.raises(InvalidDocumentError):
        Manifest.from_bytes(b'{"a":' * 70 + b"1" + b"}" * 70)
