"""skopeo's ``dir:`` format: ``manifest.json``, a ``version`` file, and blobs named by their
encoded digest (``<hex>`` for sha256, ``<algorithm>-<hex>`` otherwise)."""

from __future__ import annotations

import io
from typing import IO

from ocitool._io.files import FileView
from ocitool.image.source import Entry, Source, ViewBlobs, open_descriptor
from ocitool.model.descriptor import Descriptor
from ocitool.model.digest import SHA256, Digest, digest_bytes
from ocitool.model.manifest import parse_document

__all__ = ["DirBlobs", "SkopeoDirSource", "is_skopeo_dir"]

_VERSION_PREFIX = b"Directory Transport Version:"


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

    def has(self, digest: Digest) -> bool:
        return digest in self.extra or super().has(digest)

    def size(self, digest: Digest) -> int:
        return len(self.extra[digest]) if digest in self.extra else super().size(digest)

    def open(self, digest: Digest, *, buffered: bool = True) -> IO[bytes]:
        if digest in self.extra:
            return io.BytesIO(self.extra[digest])
        return super().open(digest, buffered=buffered)

    def head(self, digest: Digest, n: int) -> bytes:
        return self.extra[digest][:n] if digest in self.extra else super().head(digest, n)


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
