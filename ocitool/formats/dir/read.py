"""skopeo's ``dir:`` format: ``manifest.json``, a ``version`` file, and blobs named by their
encoded digest (``<hex>`` for sha256, ``<algorithm>-<hex>`` otherwise).

With ``skopeo copy --all`` ``manifest.json`` is the list, and each platform's manifest is
stored as ``<hex>.manifest.json`` (no ``sha256:`` prefix), beside the layer and config blobs."""

from __future__ import annotations

import io
from typing import IO

from ocitool._io.files import FileView
from ocitool.errors import BlobNotFoundError
from ocitool.image.source import Entry, Source, ViewBlobs, open_descriptor
from ocitool.model.descriptor import Descriptor
from ocitool.model.digest import SHA256, Digest, digest_bytes
from ocitool.model.manifest import parse_document

__all__ = ["DirBlobs", "SkopeoDirSource", "is_skopeo_dir"]

_VERSION_PREFIX = b"Directory Transport Version:"
_MANIFEST_SUFFIX = ".manifest.json"


def is_skopeo_dir(view: FileView) -> bool:
    """A ``version`` file in skopeo's words beside a ``manifest.json``."""
    return (
        view.exists("manifest.json")
        and view.exists("version")
        and view.read_head("version", len(_VERSION_PREFIX)) == _VERSION_PREFIX
    )


class DirBlobs(ViewBlobs):
    """Blobs named by their encoded digest, plus the manifest skopeo keeps as manifest.json."""

    def __init__(self, view: FileView) -> None:
        super().__init__(view)
        self.extra: dict[Digest, bytes] = {}

    @staticmethod
    def name(digest: Digest) -> str:
        return digest.encoded if digest.algorithm == SHA256 else f"{digest.algorithm}-{digest.encoded}"

    def _stored(self, digest: Digest) -> str:
        """The file holding ``digest``: its blob name, or skopeo's ``<name>.manifest.json``
        for a manifest of a copied list."""
        name = self.name(digest)
        if not self.view.exists(name) and self.view.exists(name + _MANIFEST_SUFFIX):
            return name + _MANIFEST_SUFFIX
        return name

    def has(self, digest: Digest) -> bool:
        return digest in self.extra or self.view.exists(self._stored(digest))

    def size(self, digest: Digest) -> int:
        if digest in self.extra:
            return len(self.extra[digest])
        try:
            return self.view.size(self._stored(digest))
        except FileNotFoundError:
            raise BlobNotFoundError(str(digest), path=self.label) from None

    def open(self, digest: Digest, *, buffered: bool = True) -> IO[bytes]:
        if digest in self.extra:
            return io.BytesIO(self.extra[digest])
        try:
            return self.view.open(self._stored(digest), buffered=buffered)
        except FileNotFoundError:
            raise BlobNotFoundError(str(digest), path=self.label) from None

    def head(self, digest: Digest, n: int) -> bytes:
        if digest in self.extra:
            return self.extra[digest][:n]
        try:
            return self.view.read_head(self._stored(digest), n)
        except FileNotFoundError:
            raise BlobNotFoundError(str(digest), path=self.label) from None

    def where(self, digest: Digest) -> str:
        return self.view.where(self._stored(digest))


class SkopeoDirSource(Source):
    """One image (or one index, with ``--all``) copied by ``skopeo copy ... dir:PATH``."""

    transport = "dir"

    def __init__(self, view: FileView, *, path: str) -> None:
        self.view = view
        self.path = path
        self.blobs: DirBlobs = DirBlobs(view)

    def _load_entries(self) -> list[Entry]:
        raw = self.view.read("manifest.json")
        doc = parse_document(raw, path=self.view.where("manifest.json"))
        digest = digest_bytes(raw)
        self.blobs.extra[digest] = raw
        desc = Descriptor(doc.media_type, digest, len(raw))
        node = open_descriptor(
            self.blobs, desc, label=self.path, referenced_by=self.view.where("manifest.json")
        )
        return [Entry(position=0, node=node, descriptor=desc)]

    def close(self) -> None:
        self.view.close()
