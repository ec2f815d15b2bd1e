"""OCI image layouts, as a directory (``oci:``) or a tar of one (``oci-archive:``).

``index.json`` lists the top-level entries; their names come from the
``org.opencontainers.image.ref.name`` annotation (kept as written, often a bare tag) and
containerd's ``io.containerd.image.name`` (a full reference, shown as a RepoTag). Descriptors
whose blobs are absent (``ctr export`` of some platforms only) stay listed, unavailable.
"""

from __future__ import annotations

from ocitool._io.files import FileView
from ocitool._io.jsondoc import expect_dict, load_json
from ocitool.errors import InvalidDocumentError, NotAnImageError
from ocitool.image.source import Blobs, Entry, Source, ViewBlobs, open_descriptor
from ocitool.model import mediatypes as mt
from ocitool.model.digest import Digest
from ocitool.model.manifest import Index
from ocitool.model.reference import try_parse_normalized

__all__ = ["LayoutBlobs", "OCILayoutSource", "entry_names", "index_entries", "is_oci_layout"]


class LayoutBlobs(ViewBlobs):
    """Blobs stored as ``blobs/<algorithm>/<encoded>`` in a view."""

    @staticmethod
    def name(digest: Digest) -> str:
        return f"blobs/{digest.algorithm}/{digest.encoded}"


def is_oci_layout(view: FileView) -> bool:
    """An ``index.json`` beside an ``oci-layout`` file."""
    return view.exists("index.json") and view.exists("oci-layout")


def entry_names(annotations: dict[str, str]) -> tuple[list[str], list[str]]:
    """(RepoTags, ref names) an index descriptor's annotations give.

    The containerd image name is a full reference; a ref.name is one only when it parses as a
    reference with a repository part (``name:tag``), otherwise it is a bare tag such as ``1``.
    """
    repo_tags: list[str] = []
    ref_names: list[str] = []
    containerd = annotations.get(mt.ANNOTATION_CONTAINERD_IMAGE_NAME, "")
    ref_name = annotations.get(mt.ANNOTATION_REF_NAME, "")
    if containerd:
        ref = try_parse_normalized(containerd)
        if ref is not None and ref.tag:
            repo_tags.append(ref.familiar())
    if ref_name:
        ref_names.append(ref_name)
        if not repo_tags and (":" in ref_name or "/" in ref_name):
            ref = try_parse_normalized(ref_name)
            if ref is not None and ref.tag:
                repo_tags.append(ref.familiar())
    return repo_tags, ref_names


def index_entries(blobs: Blobs, index: Index, *, label: str, where: str) -> list[Entry]:
    """One entry per descriptor of a layout's ``index.json``, named by its annotations; a
    descriptor whose blob is absent stays listed, with no node and a ``missing_reason``."""
    entries: list[Entry] = []
    for i, desc in enumerate(index.manifests):
        repo_tags, ref_names = entry_names(desc.annotations)
        node = None
        missing = ""
        if desc.data is not None or blobs.has(desc.digest):
            node = open_descriptor(blobs, desc, label=label, referenced_by=f"{where} /manifests/{i}")
        else:
            missing = f"blob {desc.digest} is not in the layout"
        entries.append(
            Entry(
                position=i,
                node=node,
                descriptor=desc,
                repo_tags=repo_tags,
                ref_names=ref_names,
                missing_reason=missing,
            )
        )
    return entries


class OCILayoutSource(Source):
    """An OCI image layout over a :class:`FileView` (a directory or an archive's members)."""

    def __init__(self, view: FileView, *, transport: str, path: str) -> None:
        self.view = view
        self.transport = transport
        self.path = path
        self.blobs = LayoutBlobs(view)

    def read_index(self) -> Index:
        """``index.json``, parsed (``"manifests": null`` reads as empty)."""
        if not self.view.exists("index.json"):
            raise NotAnImageError(self.path, "no index.json")
        where = self.view.where("index.json")
        raw = self.view.read("index.json")
        doc = expect_dict(load_json(raw, path=where), path=where)
        if "manifests" not in doc and "schemaVersion" not in doc:
            raise InvalidDocumentError("index.json has no schemaVersion or manifests", path=where)
        return Index.from_bytes(raw, path=where, media_type=mt.OCI_INDEX)

    def check_layout_file(self) -> None:
        """``oci-layout`` must be JSON naming an imageLayoutVersion."""
        if not self.view.exists("oci-layout"):
            return
        where = self.view.where("oci-layout")
        doc = expect_dict(load_json(self.view.read("oci-layout"), path=where), path=where)
        if not isinstance(doc.get("imageLayoutVersion"), str):
            raise InvalidDocumentError("imageLayoutVersion missing", path=where, field="/imageLayoutVersion")

    def _load_entries(self) -> list[Entry]:
        self.check_layout_file()
        return index_entries(
            self.blobs, self.read_index(), label=self.path, where=self.view.where("index.json")
        )

    def close(self) -> None:
        self.view.close()
