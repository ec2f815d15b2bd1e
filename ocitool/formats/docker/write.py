"""The docker-save archive writer, in the layout Docker 25+ writes and in Docker 20.10's.

* Docker 25+ (the default): an OCI image layout (``oci-layout``, ``index.json``, every blob
  under ``blobs/sha256/``) plus ``manifest.json`` whose ``Config`` and ``Layers`` name those
  blobs, and ``repositories``. Docker 1.10 and later load it through ``manifest.json``; OCI tools
  read the layout.
* ``legacy``: Docker 20.10's layout for old consumers: ``<v1 id>/layer.tar``, ``<v1 id>/json``,
  ``<v1 id>/VERSION`` per layer, the config as ``<image id hex>.json``, ``manifest.json`` and
  ``repositories``. The v1 IDs are not Docker's (moby derives them from its own store); they
  are deterministic: the SHA-256 of the parent's v1 ID and the layer's chain ID.

``manifest.json`` and ``repositories`` are written as moby writes them (``json.Encoder``: Go
field order, a trailing newline; ``RepoTags`` null for an untagged image). The tar itself is
written by :class:`~ocitool.formats.oci.write.TarLayoutWriter`: sorted members, fixed
metadata, atomic.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from ocitool._go import json as _gojson
from ocitool._record import field, record
from ocitool.formats.oci.write import OCI_LAYOUT_FILE, TarLayoutWriter, blob_name, index_json
from ocitool.model.config import chain_id
from ocitool.model.descriptor import Descriptor
from ocitool.model.digest import Digest
from ocitool.model.reference import parse_normalized

__all__ = ["DockerArchiveWriter", "DockerImage"]

_ZERO_TIME = "1970-01-01T00:00:00Z"


@record
class DockerImage:
    """One ``manifest.json`` entry: the config blob, the layer descriptors (blobs put in the
    writer, or foreign layers that may be absent), the diff IDs and the tags (familiar form)."""

    config: Digest
    raw_config: bytes
    layers: list[Descriptor]
    diff_ids: list[Digest]
    repo_tags: list[str] = field(default_factory=list)
    foreign: dict[Digest, Descriptor] = field(default_factory=dict)


def _encode(doc: Any) -> bytes:
    """As Go's ``json.NewEncoder(w).Encode``: compact, HTML-escaped, newline-terminated."""
    return (_gojson.dumps(doc) + "\n").encode()


def _repositories(images: Sequence[DockerImage], top: Sequence[str]) -> bytes | None:
    repos: dict[str, dict[str, str]] = {}
    for image, top_id in zip(images, top, strict=True):
        if not top_id:
            continue
        for tag in image.repo_tags:
            ref = parse_normalized(tag)
            repos.setdefault(ref.familiar_name(), {})[ref.tag or "latest"] = top_id
    if not repos:
        return None
    return _encode({k: dict(sorted(v.items())) for k, v in sorted(repos.items())})


class DockerArchiveWriter(TarLayoutWriter):
    """A docker-save archive at ``path`` (atomic). ``legacy`` selects Docker 20.10's layout."""

    def __init__(self, path: str, *, legacy: bool = False) -> None:
        super().__init__(path)
        self.legacy = legacy

    def commit_images(self, images: Sequence[DockerImage], manifests: Sequence[Descriptor]) -> None:
        """Write the archive: ``images`` become ``manifest.json``; ``manifests`` the OCI
        ``index.json`` (Docker 25+ layout only)."""
        if self.legacy:
            self.write_archive(self._legacy_members(images))
            return
        items = []
        top: list[str] = []
        for image in images:
            item: dict[str, Any] = {
                "Config": blob_name(image.config),
                "RepoTags": list(image.repo_tags) or None,
                "Layers": [blob_name(d.digest) for d in image.layers],
            }
            if image.foreign:
                item["LayerSources"] = {
                    str(k): v.to_json() for k, v in sorted(image.foreign.items(), key=lambda kv: str(kv[0]))
                }
            items.append(item)
            top.append(image.layers[-1].digest.encoded if image.layers else "")
        members: dict[str, bytes | Digest] = {blob_name(d): d for d in self.blobs}
        members["oci-layout"] = OCI_LAYOUT_FILE
        members["index.json"] = index_json(manifests)
        members["manifest.json"] = _encode(items)
        repos = _repositories(images, top)
        if repos is not None:
            members["repositories"] = repos
        self.write_archive(members)

    def _legacy_members(self, images: Sequence[DockerImage]) -> dict[str, bytes | Digest]:
        members: dict[str, bytes | Digest] = {}
        items = []
        top: list[str] = []
        for image in images:
            members[f"{image.config.encoded}.json"] = image.raw_config
            parent = ""
            layer_paths = []
            for i, (desc, _diff) in enumerate(zip(image.layers, image.diff_ids, strict=True)):
                chain = chain_id(image.diff_ids[: i + 1])
                v1_id = hashlib.sha256(f"{parent}\n{chain}".encode()).hexdigest()
                v1: dict[str, Any] = {"id": v1_id}
                if parent:
                    v1["parent"] = parent
                if i == len(image.layers) - 1:
                    v1.update(_v1_top(image.raw_config))
                else:
                    v1["created"] = _ZERO_TIME
                members[f"{v1_id}/VERSION"] = b"1.0"
                members[f"{v1_id}/json"] = _gojson.dumps(v1).encode()
                if self.has(desc.digest):
                    members[f"{v1_id}/layer.tar"] = desc.digest
                layer_paths.append(f"{v1_id}/layer.tar")
                parent = v1_id
            item: dict[str, Any] = {
                "Config": f"{image.config.encoded}.json",
                "RepoTags": list(image.repo_tags) or None,
                "Layers": layer_paths,
            }
            if image.foreign:
                item["LayerSources"] = {
                    str(k): v.to_json() for k, v in sorted(image.foreign.items(), key=lambda kv: str(kv[0]))
                }
            items.append(item)
            top.append(parent)
        members["manifest.json"] = _encode(items)
        repos = _repositories(images, top)
        if repos is not None:
            members["repositories"] = repos
        return members


def _v1_top(raw_config: bytes) -> dict[str, Any]:
    """The top layer's v1 JSON: the image config without ``rootfs`` and ``history``, as moby
    writes it; ``id`` and ``parent`` are set by the caller."""
    doc = json.loads(raw_config)
    return {k: v for k, v in doc.items() if k not in ("id", "parent", "rootfs", "history")}
