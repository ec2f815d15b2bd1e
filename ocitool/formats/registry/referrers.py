"""Referrers (OCI distribution spec v1.1, "Listing Referrers" and "Referrers Tag Schema").

A manifest with a ``subject`` refers to another manifest. Registries with the referrers API
list the referrers of a digest at ``/v2/<name>/referrers/<digest>``; the others (distribution
2.8 answers a plain-text 404) keep the list in an image index tagged ``<alg>-<encoded>``,
which the client pushing a referrer maintains. This module holds the pure parts: the tag,
the descriptor a referrer gets in the list, merging it into the list, filtering. oras-py has
no referrers support at all (upstream oras-py issue #224).
"""

from __future__ import annotations

import re
from typing import Any, Final

from ocitool._go import json as gojson
from ocitool._io.jsondoc import expect_dict, load_json
from ocitool.errors import InvalidDocumentError
from ocitool.model import mediatypes as mt
from ocitool.model.descriptor import Descriptor
from ocitool.model.digest import Digest

__all__ = [
    "FILTERS_APPLIED_HEADER",
    "SUBJECT_HEADER",
    "add_referrer",
    "fallback_tag",
    "filter_artifact_type",
    "parse_referrers",
    "referrer_descriptor",
    "subject_of",
]

SUBJECT_HEADER: Final = "OCI-Subject"
FILTERS_APPLIED_HEADER: Final = "OCI-Filters-Applied"
_NOT_TAG: Final = re.compile(r"[^a-zA-Z0-9._-]")


def fallback_tag(digest: str | Digest) -> str:
    """The referrers tag of ``digest``: algorithm (32 characters at most), ``-``, encoded part
    (64 at most), any character a tag cannot hold replaced with ``-``."""
    algorithm, _, encoded = str(digest).partition(":")
    return _NOT_TAG.sub("-", f"{algorithm[:32]}-{encoded[:64]}")


def subject_of(raw: bytes, *, path: str = "") -> Descriptor | None:
    """The ``subject`` descriptor of a manifest or index, or None. Raises InvalidDocumentError."""
    doc = expect_dict(load_json(raw, path=path), path=path)
    if doc.get("subject") is None:
        return None
    return Descriptor.from_dict(doc["subject"], path=path, field_path="/subject")


def referrer_descriptor(raw: bytes, media_type: str, digest: Digest, *, path: str = "") -> Descriptor:
    """The descriptor a referrer gets in its subject's list: its own media type, digest and
    size, its ``artifactType`` (else, for an image manifest, its config's media type) and all
    its annotations, as the spec requires."""
    doc = expect_dict(load_json(raw, path=path), path=path)
    artifact_type = doc.get("artifactType") or ""
    if not artifact_type and isinstance(doc.get("config"), dict):
        artifact_type = doc["config"].get("mediaType") or ""
    annotations = doc.get("annotations") or {}
    if not isinstance(annotations, dict) or not all(isinstance(v, str) for v in annotations.values()):
        raise InvalidDocumentError("annotations must map strings to strings", path=path, field="/annotations")
    return Descriptor(
        media_type=str(doc.get("mediaType") or media_type),
        digest=digest,
        size=len(raw),
        annotations=dict(annotations),
        artifact_type=str(artifact_type),
    )


def parse_referrers(raw: bytes, *, path: str = "") -> list[Descriptor]:
    """The descriptors of a referrers list (an image index). Raises InvalidDocumentError."""
    doc = expect_dict(load_json(raw, path=path), path=path)
    manifests = doc.get("manifests") or []
    if not isinstance(manifests, list):
        raise InvalidDocumentError("manifests is not a list", path=path, field="/manifests")
    return [Descriptor.from_dict(m, path=path, field_path=f"/manifests/{i}") for i, m in enumerate(manifests)]


def filter_artifact_type(descriptors: list[Descriptor], artifact_type: str | None) -> list[Descriptor]:
    """Those whose ``artifactType`` is ``artifact_type`` (all when None or empty)."""
    if not artifact_type:
        return list(descriptors)
    return [d for d in descriptors if d.artifact_type == artifact_type]


def add_referrer(existing: bytes | None, descriptor: Descriptor, *, path: str = "") -> bytes | None:
    """The referrers list ``existing`` (None: an empty one) with ``descriptor`` appended, as
    Go-marshalled JSON bytes; None when the list already holds that digest (the spec asks for
    no duplicates). Other fields of an existing list are kept as they are.

    Raises InvalidDocumentError when ``existing`` is not an image index.
    """
    doc: dict[str, Any]
    if existing is None:
        doc = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": []}
    else:
        doc = expect_dict(load_json(existing, path=path), path=path)
        media_type = doc.get("mediaType", mt.OCI_INDEX)
        if media_type != mt.OCI_INDEX or not isinstance(doc.get("manifests", []), list):
            raise InvalidDocumentError(
                f"the referrers tag holds a {media_type!r}, not an OCI image index",
                path=path,
                field="/mediaType",
            )
        doc.setdefault("manifests", [])
        if doc["manifests"] is None:
            doc["manifests"] = []
    if any(isinstance(m, dict) and m.get("digest") == str(descriptor.digest) for m in doc["manifests"]):
        return None
    doc["manifests"].append(descriptor.to_json())
    return gojson.dumps(doc).encode()
