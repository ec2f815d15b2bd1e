"""Image manifests and indexes: OCI and Docker schema2, manifest lists, artifacts.

Both models keep the raw bytes they were parsed from; a manifest's digest is always the
digest of those bytes. Parsing checks structure and raises
:class:`~ocitool.errors.InvalidDocumentError` naming the file and the JSON pointer.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

from ocitool._io.jsondoc import expect_dict, load_json
from ocitool._record import field, record
from ocitool.errors import InvalidDocumentError, UnsupportedMediaTypeError
from ocitool.model import mediatypes as mt
from ocitool.model.descriptor import Descriptor
from ocitool.model.digest import Digest, digest_bytes

__all__ = ["Index", "Manifest", "parse_document"]


def _annotations(doc: dict[str, Any], path: str) -> dict[str, str]:
    ann = doc.get("annotations") or {}
    if not isinstance(ann, dict) or not all(isinstance(v, str) for v in ann.values()):
        raise InvalidDocumentError("annotations must map strings to strings", path=path, field="/annotations")
    return dict(ann)


def _schema_version(doc: dict[str, Any], path: str) -> None:
    version = doc.get("schemaVersion")
    if version != 2:
        raise InvalidDocumentError(
            f"schemaVersion is {version!r}, expected 2", path=path, field="/schemaVersion"
        )


def _optional_subject(doc: dict[str, Any], path: str) -> Descriptor | None:
    if doc.get("subject") is None:
        return None
    return Descriptor.from_dict(doc["subject"], path=path, field_path="/subject")


def _open(
    raw: bytes, path: str, media_type: str, default: str, accepts: Callable[[str], bool]
) -> tuple[dict[str, Any], str]:
    """The document and its media type (its own, else the descriptor's, else ``default``)."""
    doc = expect_dict(load_json(raw, path=path), path=path)
    _schema_version(doc, path)
    declared = doc.get("mediaType") or media_type or default
    if not isinstance(declared, str) or not accepts(declared):
        raise UnsupportedMediaTypeError(str(declared), path=path)
    return doc, declared


@record(frozen=True)
class Manifest:
    """An image manifest (OCI image manifest or Docker schema2 manifest), or an OCI artifact."""

    raw: bytes = field(repr=False)
    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]
    annotations: dict[str, str] = field(default_factory=dict)
    subject: Descriptor | None = None
    artifact_type: str = ""

    @classmethod
    def from_bytes(cls, raw: bytes, *, path: str = "", media_type: str = "") -> Manifest:
        doc, declared = _open(raw, path, media_type, mt.OCI_MANIFEST, mt.is_manifest)
        if "config" not in doc:
            raise InvalidDocumentError("manifest has no config", path=path, field="/config")
        layers_doc = doc.get("layers") or []
        if not isinstance(layers_doc, list):
            raise InvalidDocumentError("layers is not a list", path=path, field="/layers")
        return cls(
            raw=raw,
            media_type=declared,
            config=Descriptor.from_dict(doc["config"], path=path, field_path="/config"),
            layers=tuple(
                Descriptor.from_dict(layer, path=path, field_path=f"/layers/{i}")
                for i, layer in enumerate(layers_doc)
            ),
            annotations=_annotations(doc, path),
            subject=_optional_subject(doc, path),
            artifact_type=str(doc.get("artifactType", "") or ""),
        )

    @cached_property
    def digest(self) -> Digest:
        return digest_bytes(self.raw)

    @property
    def is_image(self) -> bool:
        """A runnable image: its config is an image config (not an artifact's)."""
        return mt.is_config(self.config.media_type)


@record(frozen=True)
class Index:
    """An image index (OCI) or manifest list (Docker). ``manifests: null`` reads as empty."""

    raw: bytes = field(repr=False)
    media_type: str
    manifests: tuple[Descriptor, ...]
    annotations: dict[str, str] = field(default_factory=dict)
    subject: Descriptor | None = None
    artifact_type: str = ""

    @classmethod
    def from_bytes(cls, raw: bytes, *, path: str = "", media_type: str = "") -> Index:
        doc, declared = _open(raw, path, media_type, mt.OCI_INDEX, mt.is_index)
        manifests = doc.get("manifests")
        if manifests is None:
            # Docker 25's classic store writes "manifests": null into index.json.
            manifests = []
        if not isinstance(manifests, list):
            raise InvalidDocumentError("manifests is not a list", path=path, field="/manifests")
        return cls(
            raw=raw,
            media_type=declared,
            manifests=tuple(
                Descriptor.from_dict(m, path=path, field_path=f"/manifests/{i}")
                for i, m in enumerate(manifests)
            ),
            annotations=_annotations(doc, path),
            subject=_optional_subject(doc, path),
            artifact_type=str(doc.get("artifactType", "") or ""),
        )

    @cached_property
    def digest(self) -> Digest:
        return digest_bytes(self.raw)


def parse_document(raw: bytes, *, path: str = "", media_type: str = "") -> Manifest | Index:
    """Parse a manifest or an index, told apart by ``mediaType`` (the document's, else the
    descriptor's), else by shape: ``manifests`` means an index, ``config`` a manifest."""
    doc = expect_dict(load_json(raw, path=path), path=path)
    declared = doc.get("mediaType") or media_type
    if mt.is_index(str(declared)) or (not declared and "manifests" in doc):
        return Index.from_bytes(raw, path=path, media_type=media_type)
    if mt.is_manifest(str(declared)) or (not declared and "config" in doc):
        return Manifest.from_bytes(raw, path=path, media_type=media_type)
    if declared in (mt.DOCKER_MANIFEST_V1, mt.DOCKER_MANIFEST_V1_SIGNED) or doc.get("schemaVersion") == 1:
        raise UnsupportedMediaTypeError(str(declared or mt.DOCKER_MANIFEST_V1), path=path)
    raise InvalidDocumentError("neither an image manifest nor an index", path=path, field="/mediaType")
