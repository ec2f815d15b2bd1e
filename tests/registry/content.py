"""Content for the registry tests: blobs and manifests built here, and OCI layouts pushed with
the client under test (blobs first, then child manifests, then the index under a tag)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ocitool.formats.registry.client import RegistryClient, map_bounded
from ocitool.model import mediatypes as mt


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Blob:
    data: bytes
    media_type: str = mt.OCI_LAYER

    @property
    def digest(self) -> str:
        return sha256(self.data)

    def descriptor(self) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": len(self.data)}


def manifest(
    config: Blob,
    layers: list[Blob],
    *,
    subject: tuple[str, str, int] | None = None,
    artifact_type: str | None = None,
    annotations: dict[str, str] | None = None,
    indent: int | None = None,
) -> bytes:
    """An OCI image manifest; ``subject`` is (media type, digest, size). ``indent`` makes
    bytes no re-serialiser would produce (exactness checks)."""
    doc: dict[str, Any] = {"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST}
    if artifact_type:
        doc["artifactType"] = artifact_type
    doc["config"] = config.descriptor()
    doc["layers"] = [layer.descriptor() for layer in layers]
    if subject:
        doc["subject"] = {"mediaType": subject[0], "digest": subject[1], "size": subject[2]}
    if annotations:
        doc["annotations"] = annotations
    return json.dumps(doc, indent=indent).encode()


def push_image(
    client: RegistryClient, repository: str, tag: str, config: Blob, layers: list[Blob], **kw: Any
) -> bytes:
    """Push config and layers, then the manifest under ``tag``; returns the manifest bytes."""
    for blob in [config, *layers]:
        client.push_blob(repository, blob.digest, len(blob.data), blob.data)
    raw = manifest(config, layers, **kw)
    client.put_manifest(repository, tag, raw, mt.OCI_MANIFEST)
    return raw


def push_layout(client: RegistryClient, repository: str, layout: Path, tag: str) -> bytes:
    """Push the image the layout's index.json names first: every blob, each child manifest
    by digest, then the top manifest or index under ``tag``. Returns the top's bytes."""
    top = json.loads((layout / "index.json").read_bytes())["manifests"][0]

    def blob_path(digest: str) -> Path:
        alg, hexpart = digest.split(":", 1)
        return layout / "blobs" / alg / hexpart

    def push_tree(desc: dict[str, Any], reference: str) -> bytes:
        raw = blob_path(desc["digest"]).read_bytes()
        doc = json.loads(raw)
        if mt.is_index(desc["mediaType"]):
            for child in doc["manifests"]:
                push_tree(child, child["digest"])
        else:
            blobs = [doc["config"], *doc["layers"]]

            def push(d: dict[str, Any]) -> object:
                with open(blob_path(d["digest"]), "rb") as fh:
                    return client.push_blob(repository, d["digest"], d["size"], fh)

            map_bounded(push, blobs, limit=client.concurrency)
        client.put_manifest(repository, reference, raw, desc["mediaType"])
        return raw

    return push_tree(top, tag)
