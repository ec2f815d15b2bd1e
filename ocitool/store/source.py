"""An image store as a :class:`~ocitool.image.source.Source`, so that every query, the Engine
API builders and ``convert`` read a store as they read an archive.

The answers come from the store's indexes, not from a scan: a name resolves as moby's
``GetImage`` (:mod:`ocitool.store.lookup`), ``docker images`` is one query of the image index
(:meth:`StoreSource.image_summaries`, no config parsed), and an image's names, parent, sizes
and last tag time are what the reference store, the image index, the layer store and the
imagedb metadata record. A store keeps configs and layer blobs but no manifests: an image's
OCI manifest is derived on first use (``save`` and ``convert`` need it; ``inspect``, ``images``
and ``history`` do not), its layer media types from the blobs' compression, as loaded.

The same source reads an ocitool ``--root`` (:func:`open_store`) and, through
:mod:`ocitool.store.dockerroot`, a real Docker data root, whose layers have no blobs.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from typing import IO, Protocol

from ocitool.compression import Compression, sniff
from ocitool.engineapi.summary import Summary
from ocitool.errors import PlatformNotFoundError
from ocitool.image.source import Entry, Selected, Source, SourceImage
from ocitool.model import mediatypes as mt
from ocitool.model.config import ImageConfig, chain_ids
from ocitool.model.descriptor import Descriptor
from ocitool.model.digest import SHA256, Digest, digest_bytes
from ocitool.model.platform import Platform, only_platform_with_fallback
from ocitool.model.reference import Reference
from ocitool.model.timestamp import Timestamp
from ocitool.store.content import LayerStore, StoreBlobs
from ocitool.store.images import ImageStore
from ocitool.store.lookup import get_image
from ocitool.store.references import ReferenceStore, repo_names
from ocitool.store.root import StoreRoot

__all__ = ["StoreEntry", "StoreImage", "StoreSource", "StoreView", "open_store"]

_OCI_LAYER_TYPES = {
    Compression.NONE: mt.OCI_LAYER,
    Compression.GZIP: mt.OCI_LAYER_GZIP,
    Compression.ZSTD: mt.OCI_LAYER_ZSTD,
}


class StoreView(Protocol):
    """What a store source reads: an opened :class:`~ocitool.store.root.StoreRoot` or
    :class:`~ocitool.store.dockerroot.DockerRoot`."""

    path: str
    images: ImageStore
    references: ReferenceStore
    layers: LayerStore


class _StoreContent(StoreBlobs):
    """The store's content by digest: layer blobs (the root's content directory), configs (the
    imagedb, verified on every read) and the manifests derived so far (kept in memory)."""

    def __init__(self, view: StoreView) -> None:
        super().__init__(view.layers.blob_dir)
        self.label = view.path
        self.images = view.images
        self.documents: dict[Digest, bytes] = {}

    def _config(self, digest: Digest) -> bytes | None:
        return self.images.backend.get(digest) if self.images.exists(digest) else None

    def has(self, digest: Digest) -> bool:
        return digest in self.documents or super().has(digest) or self.images.exists(digest)

    def size(self, digest: Digest) -> int:
        data = self.documents.get(digest)
        if data is None and not super().has(digest):
            data = self._config(digest)
        return len(data) if data is not None else super().size(digest)

    def open(self, digest: Digest, *, buffered: bool = True) -> IO[bytes]:
        data = self.documents.get(digest)
        if data is None and not super().has(digest):
            data = self._config(digest)
        return io.BytesIO(data) if data is not None else super().open(digest, buffered=buffered)

    def where(self, digest: Digest) -> str:
        return super().where(digest) if super().has(digest) else f"{self.label}:{digest}"


class StoreImage(SourceImage):
    """One stored image: its ID from the index, its config from the imagedb, its layer sizes
    from the layer store, and an OCI manifest derived on first use."""

    def __init__(self, view: StoreView, blobs: _StoreContent, id: Digest) -> None:
        # No manifest is stored: _Node's raw_manifest and descriptor are derived lazily below.
        self.blobs = blobs
        self.content = blobs
        self.label = view.path
        self.view = view
        self._id = id

    def __repr__(self) -> str:
        return f"StoreImage({self.label}, {self._id})"

    @property
    def id(self) -> Digest:
        return self._id

    @cached_property
    def raw_config(self) -> bytes:
        return self.view.images.backend.get(self._id)

    @cached_property
    def config(self) -> ImageConfig:
        return self.view.images.get(self._id)

    @cached_property
    def platform(self) -> Platform:
        return self.config.platform()

    def recorded_layer_sizes(self) -> Sequence[int]:
        """Each layer's size as the layer store measured it at registration (0 for a layer it
        no longer holds, as moby's ``ImageHistory`` shows it)."""
        return self._layer_sizes

    @cached_property
    def _layer_sizes(self) -> tuple[int, ...]:
        rootfs = self.config.rootfs
        sizes = []
        for chain in chain_ids(rootfs.diff_ids if rootfs is not None else []):
            info = self.view.layers.get(chain)
            sizes.append(info.size if info is not None else 0)
        return tuple(sizes)

    @cached_property
    def _derived(self) -> tuple[bytes, Descriptor]:
        """The OCI manifest of the image: the config as stored, the layer blobs as loaded,
        each typed by its compression. Raises BlobNotFoundError for a layer without a blob."""
        raw = self.raw_config
        rootfs = self.config.rootfs
        layers = []
        for info in self.view.layers.chain(rootfs.chain_id() if rootfs is not None else None):
            blob = self.view.layers.blob_of(info)
            with self.view.layers.open_blob(info) as fh:
                compression = sniff(fh.read(8))
            layers.append(
                {
                    "mediaType": _OCI_LAYER_TYPES.get(compression, mt.OCI_LAYER),
                    "digest": str(blob),
                    "size": info.blob_size,
                }
            )
        manifest = {
            "schemaVersion": 2,
            "mediaType": mt.OCI_MANIFEST,
            "config": {"mediaType": mt.OCI_CONFIG, "digest": str(self._id), "size": len(raw)},
            "layers": layers,
        }
        data = json.dumps(manifest).encode()
        digest = digest_bytes(data)
        self.content.documents[digest] = data
        return data, Descriptor(mt.OCI_MANIFEST, digest, len(data))

    @cached_property
    def raw_manifest(self) -> bytes:  # type: ignore[override]  # derived, not stored
        return self._derived[0]

    @cached_property
    def descriptor(self) -> Descriptor:  # type: ignore[override]  # derived, not stored
        return self._derived[1]


class StoreEntry(Entry):
    """One image of a store with its names and facts from the indexes; its descriptor is the
    derived manifest's, computed on first use."""

    def __init__(
        self,
        position: int,
        image: StoreImage,
        *,
        repo_tags: list[str],
        ref_names: list[str],
        repo_digests: list[str],
        parent: str,
        last_tag_time_of: StoreView,
    ) -> None:
        # Entry's generated __init__ would need the descriptor now: the fields are set here.
        self.position = position
        self.node = image
        self.image = image
        self.repo_tags = repo_tags
        self.ref_names = ref_names
        self.repo_digests = repo_digests
        self.parent = parent
        self.missing_reason = ""
        self._view = last_tag_time_of

    @cached_property
    def descriptor(self) -> Descriptor:  # type: ignore[override]  # derived, not stored
        return self.image.descriptor

    @cached_property
    def last_tag_time(self) -> Timestamp:  # type: ignore[override]  # read on first use
        return self._view.images.get_last_updated(self.image.id)


class StoreSource(Source):
    """The images of a store (see the module docstring). ``selection`` limits the entries to
    those images, one entry per name given (an image without names gets one unnamed entry), as
    ``docker save`` names what it writes; by default every image is an entry, with all its tags.

    The source reads the store as it is while open: open it inside the store's lock
    (:func:`open_store`).
    """

    transport = "store"

    def __init__(
        self, view: StoreView, *, selection: Sequence[tuple[Digest, Sequence[Reference]]] | None = None
    ) -> None:
        self.view = view
        self.path = view.path
        self.content = _StoreContent(view)
        self.blobs = self.content
        self.selection = selection
        self._images: dict[Digest, StoreImage] = {}
        self._entries: dict[Digest, StoreEntry] = {}
        # Signatures live in an OCI layout beside the image store, so `images` never lists them;
        # a Docker data root is read-only.
        self.signature_layout = os.path.join(view.path, "signatures")
        self.signatures_writable = not view.layers.readonly

    def _image(self, id: Digest) -> StoreImage:
        image = self._images.get(id)
        if image is None:
            image = self._images[id] = StoreImage(self.view, self.content, id)
        return image

    def _entry(self, id: Digest, position: int = 0) -> StoreEntry:
        """The entry of image ``id`` with every name the reference store gives it."""
        entry = self._entries.get(id)
        if entry is None:
            row = self.view.images.row(id)
            tags, digests = repo_names(self.view.references.references(id))
            entry = self._entries[id] = StoreEntry(
                position,
                self._image(id),
                repo_tags=tags,
                ref_names=[],
                repo_digests=digests,
                parent=str(row.parent) if row is not None and row.parent else "",
                last_tag_time_of=self.view,
            )
        return entry

    def _load_entries(self) -> list[Entry]:
        if self.selection is None:
            return [self._entry(id, i) for i, id in enumerate(self.view.images.ids())]
        entries: list[Entry] = []
        for id, refs in self.selection:
            base = self._entry(id)
            targets: list[Reference | None] = [*refs] or [None]
            for ref in targets:
                entries.append(
                    StoreEntry(
                        len(entries),
                        base.image,
                        repo_tags=[ref.familiar()] if ref is not None else [],
                        ref_names=[ref.tag] if ref is not None else [],
                        repo_digests=[],
                        parent=base.parent,
                        last_tag_time_of=self.view,
                    )
                )
        return entries

    def select(self, name: str, *, platform: Platform | None = None) -> list[Selected]:
        """moby's ``GetImage`` for ``name``, then, with ``platform``, the image's platform must
        match it (Docker's ``OnlyPlatformWithFallback``). Raises ImageNotFoundError,
        AmbiguousImageError, InvalidReferenceError, PlatformNotFoundError (naming ``name``)."""
        entry = self._entry(get_image(self.view.images, self.view.references, name))
        image = entry.image
        if platform is not None:
            config = image.config
            actual = Platform(os=config.os, architecture=config.architecture, variant=config.variant)
            if not only_platform_with_fallback(platform).match(actual):
                raise PlatformNotFoundError(str(platform), [str(actual)], path=name)
        return [Selected(entry, image)]

    def entry_of(self, image_id: str) -> Entry | None:
        try:
            id = Digest.parse(image_id)
        except ValueError:
            return None
        return self._entry(id) if self.view.images.exists(id) else None

    def pull_identity(self, image: SourceImage) -> list[str]:
        """The repositories the store recorded for the image (see
        :meth:`~ocitool.store.images.ImageStore.pull_identity`)."""
        return self.view.images.pull_identity(image.id)

    def image_summaries(self) -> list[Summary]:
        """A Summary of every image from one query of the image index and the reference
        store: no config is parsed, no row object built per image."""
        rows = self.view.images.listing()
        refs = self.view.references.all()
        # One JSON document for all the label sets: a single parse instead of one per image.
        labels_of = json.loads("[" + ",".join(row[5] or "null" for row in rows) + "]")
        out: list[Summary] = []
        for (hexid, parent, created, created_text, size, _), labels in zip(rows, labels_of, strict=True):
            id = f"{SHA256}:{hexid}"
            names = refs.get(id)
            tags, digests = repo_names(names) if names else ([], [])
            out.append(
                Summary(
                    id=id,
                    parent_id=parent,
                    repo_tags=tags,
                    repo_digests=digests,
                    created=created,
                    size=size,
                    labels=labels or {},
                    created_set=bool(created_text),
                )
            )
        return out


@contextmanager
def open_store(root: str) -> Iterator[StoreSource]:
    """The store at ``root`` as a source, under the root's shared lock for the block."""
    with StoreRoot.open(root) as r:
        yield StoreSource(r)
