"""skopeo's ``dir:`` format: ``manifest.json``, a ``version`` file, and blobs named by their
encoded digest (``<hex>`` for sha256, ``<algorithm>-<hex>`` otherwise)."""

from __future__ import annotations

from typing import IO

from ocitool._files import FileView
from ocitool.descriptor import Descriptor
from ocitool.digest import SHA256, Digest, digest_bytes
from ocitool.errors import BlobNotFoundError
from ocitool.image import Blobs, Entry, Source, open_descriptor
from ocitool.manifest import parse_document

__all__ = ["DirBlobs", "SkopeoDirSource", "is_skopeo_dir"]

_VERSION_PREFIX = b"Directory Transport Version:"


def is_skopeo_dir(view: FileView) -> bool:
    """A ``version`` file in skopeo's words beside a ``manifest.json``."""
    return (
        view.exists("manifest.json")
        and view.exists("version")
        and view.read_head("version", len(_VERSION_PREFIX)) == _VERSION_PREFIX
    )


class DirBlobs(Blobs):
    def __init__(self, view: FileView) -> None:
        self.view = view
        self.label = view.label
        self.extra: dict[Digest, bytes] = {}

    @staticmethod
    def name(digest: Digest) -> str:
        return digest.encoded if digest.algorithm == SHA256 else f"{digest.algorithm}-{digest.encoded}"

    def has(self, digest: Digest) -> bool:
        return digest in self.extra or self.view.exists(self.name(digest))

    def size(self, digest: Digest) -> int:
        if digest in self.extra:
            return len(self.extra[digest])
        try:
            return self.view.size(self.name(digest))
        except FileNotFoundError:
            raise BlobNotFoundError(str(digest), path=self.label) from None

    def open(self, digest: Digest, *, buffered: bool = True) -> IO[bytes]:
        if digest in self.extra:
            import io

            return io.BytesIO(self.extra[digest])
        try:
            return self.view.open(self.name(digest), buffered=buffered)
        except FileNotFoundError:
            raise BlobNotFoundError(str(digest), path=self.label) from None

    def head(self, digest: Digest, n: int) -> bytes:
        if digest in self.extra:
            return self.extra[digest][:n]
        try:
            return self.view.read_head(self.name(digest), n)
        except FileNotFoundError:
            raise BlobNotFoundError(str(digest), path=self.label) from None

    def where(self, digest: Digest) -> str:
        return self.view.where(self.name(digest))


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
