"""The read-only interfaces every format implements, and what is derived from them.

A format supplies very little: a :class:`Blobs` (look up and open content by digest) and the
list of :class:`Entry` objects it holds (each a top-level image or index with its names). Every
other answer, parsed manifests and configs, layers, IDs, platforms, is derived here once and
cached, so formats are interchangeable transports over the same model, in the manner of
go-containerregistry's ``v1`` and ``partial`` packages.

Nothing here reads layer bytes until a caller opens a layer: listing images, reading configs
and manifests touches only the small JSON documents.
"""

from __future__ import annotations

import contextlib
import io
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from functools import cached_property
from typing import IO

from ocitool._io.files import FileView
from ocitool._record import field, record
from ocitool.compression import SNIFF_SIZE, Compression, open_decompressed, sniff
from ocitool.errors import (
    BlobNotFoundError,
    DigestMismatchError,
    InvalidDocumentError,
    OcitoolError,
    SizeMismatchError,
    UnsupportedMediaTypeError,
)
from ocitool.image.walk import Kind, SkipDescriptor, Step, walk
from ocitool.model import mediatypes as mt
from ocitool.model.config import ImageConfig
from ocitool.model.descriptor import Descriptor
from ocitool.model.digest import Digest, Digester, VerifyingReader
from ocitool.model.manifest import Index, Manifest, parse_document
from ocitool.model.platform import Platform
from ocitool.model.timestamp import Timestamp

__all__ = [
    "Blobs",
    "Entry",
    "ImageIndex",
    "Layer",
    "LayerStream",
    "Selected",
    "Source",
    "SourceImage",
    "ViewBlobs",
]

_CHUNK = 1 << 20


class Blobs(ABC):
    """Content addressed by digest: the one thing every format must provide."""

    label: str

    @abstractmethod
    def has(self, digest: Digest) -> bool:
        """Whether the blob is present."""

    @abstractmethod
    def size(self, digest: Digest) -> int:
        """The stored size. Raises BlobNotFoundError."""

    @abstractmethod
    def open(self, digest: Digest, *, buffered: bool = True) -> IO[bytes]:
        """A seekable reader of the stored bytes, unverified (unbuffered: reads exactly what
        is asked). Raises BlobNotFoundError."""

    def head(self, digest: Digest, n: int) -> bytes:
        """The first ``n`` bytes (for sniffing)."""
        with self.open(digest) as fh:
            return fh.read(n)

    def read_document(self, desc: Descriptor, *, referenced_by: str) -> bytes:
        """A small JSON blob, checked against its descriptor's size and digest.

        Raises BlobNotFoundError (naming ``referenced_by``), SizeMismatchError or
        DigestMismatchError.
        """
        if desc.data is not None:
            data = desc.data
        else:
            if not self.has(desc.digest):
                raise BlobNotFoundError(str(desc.digest), referenced_by=referenced_by, path=self.label)
            with self.open(desc.digest) as fh:
                data = VerifyingReader(fh, desc.digest, desc.size, path=self.where(desc.digest)).read()
        return data

    def where(self, digest: Digest) -> str:
        """How error messages name the blob."""
        return f"{self.label}:{digest}"


class ViewBlobs(Blobs):
    """Blobs stored as files of a :class:`~ocitool._io.files.FileView`, one file per digest;
    subclasses say how a digest names its file."""

    def __init__(self, view: FileView) -> None:
        self.view = view
        self.label = view.label

    @staticmethod
    @abstractmethod
    def name(digest: Digest) -> str:
        """The file holding ``digest``'s blob (a parsed digest never climbs out of the view)."""

    def has(self, digest: Digest) -> bool:
        return self.view.exists(self.name(digest))

    def size(self, digest: Digest) -> int:
        try:
            return self.view.size(self.name(digest))
        except FileNotFoundError:
            raise BlobNotFoundError(str(digest), path=self.label) from None

    def open(self, digest: Digest, *, buffered: bool = True) -> IO[bytes]:
        try:
            return self.view.open(self.name(digest), buffered=buffered)
        except FileNotFoundError:
            raise BlobNotFoundError(str(digest), path=self.label) from None

    def head(self, digest: Digest, n: int) -> bytes:
        try:
            return self.view.read_head(self.name(digest), n)
        except FileNotFoundError:
            raise BlobNotFoundError(str(digest), path=self.label) from None

    def where(self, digest: Digest) -> str:
        return self.view.where(self.name(digest))


class Layer:
    """One layer: its descriptor (as the manifest has it) and its diff ID (from the config).

    Streams open lazily. The stored blob's compression is sniffed from its first bytes and
    compared with what the media type declares (``compression_mismatch``); decompression
    follows the content, as Docker's loader does.
    """

    def __init__(
        self, blobs: Blobs, descriptor: Descriptor, diff_id: Digest, *, referenced_by: str, image: str = ""
    ) -> None:
        self.blobs = blobs
        self.descriptor = descriptor
        self.diff_id = diff_id
        self.referenced_by = referenced_by
        self.image = image  # how errors name the image holding the layer (its ID)

    def __repr__(self) -> str:
        return f"Layer({self.descriptor.digest}, diff_id={self.diff_id})"

    @property
    def digest(self) -> Digest:
        return self.descriptor.digest

    @property
    def media_type(self) -> str:
        return self.descriptor.media_type

    @property
    def declared_compression(self) -> mt.LayerCompression:
        return mt.layer_compression(self.descriptor.media_type, self.descriptor.annotations)

    @property
    def present(self) -> bool:
        """False for a layer whose blob is absent (typically a foreign layer)."""
        return self.blobs.has(self.descriptor.digest)

    @cached_property
    def compression(self) -> Compression:
        """The compression of the stored bytes, from their magic (reads 6 bytes)."""
        return sniff(self.blobs.head(self.descriptor.digest, SNIFF_SIZE))

    @property
    def compression_mismatch(self) -> bool:
        return not self.compression.matches(self.declared_compression)

    def open_blob(self, *, verify: bool = False, buffered: bool = True) -> IO[bytes]:
        """The stored (possibly compressed) bytes. Raises BlobNotFoundError when absent."""
        if not self.blobs.has(self.descriptor.digest):
            raise BlobNotFoundError(
                str(self.descriptor.digest), referenced_by=self.referenced_by, path=self.blobs.label
            )
        fh = self.blobs.open(self.descriptor.digest, buffered=buffered)
        if verify:
            return VerifyingReader(  # type: ignore[return-value]
                fh, self.descriptor.digest, self.descriptor.size, path=self.blobs.where(self.digest)
            )
        return fh

    def open_uncompressed(self) -> IO[bytes]:
        """The layer's tar stream, decompressed per its content, unverified. Streaming; caller
        closes. Readers of layer contents use :meth:`reading`, which verifies."""
        return open_decompressed(
            self.open_blob(), self.compression, path=self.blobs.where(self.descriptor.digest)
        )

    @contextlib.contextmanager
    def reading(self, *, verify: bool = True) -> Iterator[LayerStream]:
        """The layer's tar stream (a :class:`LayerStream`), checked when the block ends.

        THE way layer contents are read (unpack, export, analyze, diff): with ``verify`` the
        stored bytes are hashed against the layer's digest and size, and the tar against its
        diff ID, while the caller reads; when the block ends normally the rest of the stream
        (end blocks, padding, bytes after the compressed stream) is read and both are checked,
        so a caller that stops early still verifies the whole layer. When the block raises an
        OcitoolError (a tar or decompression fault) the stored bytes are read to the end and a
        digest mismatch, when there is one, is raised in its place: a tampered layer is
        reported as tampered, whatever its bytes made the reader trip on. Raises
        DigestMismatchError / SizeMismatchError naming the digest and the image,
        BlobNotFoundError when the blob is absent.
        """
        with LayerStream(self, verify=verify) as stream:
            try:
                yield stream
            except OcitoolError as fault:
                stream.check_after_fault(fault)
                raise
            stream.finish()


class _Hashing(io.RawIOBase):
    """Reads passed through, each hashed by every digester given (none: a plain pass-through)."""

    def __init__(self, inner: IO[bytes], digesters: Sequence[Digester]) -> None:
        super().__init__()
        self._inner = inner
        self._digesters = tuple(digesters)

    def readable(self) -> bool:
        return True

    def read(self, n: int | None = -1) -> bytes:
        data = self._inner.read(-1 if n is None else n)
        for digester in self._digesters:
            digester.update(data)
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        memoryview(buffer)[: len(data)] = data
        return len(data)

    def drain(self) -> None:
        while self.read(_CHUNK):
            pass

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            super().close()


class LayerStream(io.RawIOBase):
    """A layer's tar stream that hashes, as it is read, the stored bytes (for the layer's
    digest and size) and the tar (for its diff ID), as containerd and umoci verify while they
    apply a layer. An uncompressed layer whose digest is its diff ID is hashed once.

    Use it through :meth:`Layer.reading`; :meth:`finish` reads the rest and checks. Without
    ``verify`` nothing is hashed and :meth:`finish` checks nothing.
    """

    def __init__(self, layer: Layer, *, verify: bool) -> None:
        super().__init__()
        self.layer = layer
        self.verify = verify
        self.where = layer.blobs.where(layer.digest)
        self._stored: Digester | None = None
        self._tar: Digester | None = None
        blob = layer.open_blob()
        if verify:
            self._stored = layer.digest.hasher()
            if layer.compression is Compression.NONE and layer.diff_id == layer.digest:
                self._tar = self._stored
            else:
                self._tar = layer.diff_id.hasher()
        try:
            if layer.compression is Compression.NONE:
                digesters = [d for d in (self._stored, self._tar) if d is not None]
                self._raw = _Hashing(blob, list(dict.fromkeys(digesters)))
                self._stream: IO[bytes] = self._raw  # type: ignore[assignment]
            else:
                self._raw = _Hashing(blob, [self._stored] if self._stored is not None else [])
                plain = open_decompressed(self._raw, layer.compression, path=self.where)  # type: ignore[arg-type]
                self._stream = _Hashing(plain, [self._tar] if self._tar is not None else [])  # type: ignore[assignment]
        except BaseException:
            blob.close()
            raise

    def readable(self) -> bool:
        return True

    def read(self, n: int | None = -1) -> bytes:
        return self._stream.read(-1 if n is None else n)

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._stream.read(len(buffer))
        memoryview(buffer)[: len(data)] = data
        return len(data)

    def finish(self) -> None:
        """Read what the caller left, then check the digest, size and diff ID."""
        if not self.verify:
            return
        while self._stream.read(_CHUNK):
            pass
        self._raw.drain()  # bytes after the compressed stream are part of the blob too
        self._check_stored()
        self._check_tar()

    def check_after_fault(self, fault: OcitoolError) -> None:
        """After a reader's ``fault``: raise a mismatch of the stored bytes if there is one (read
        to the end; its message ends with the fault's), else return (the fault stands)."""
        if not self.verify:
            return
        try:
            self._raw.drain()
        except OSError:
            return
        try:
            self._check_stored()
        except (DigestMismatchError, SizeMismatchError) as exc:
            exc.message += f" (reading it: {fault.message})"
            raise exc from fault

    def _image(self) -> str:
        return f"image {self.layer.image}: " if self.layer.image else f"{self.layer.referenced_by}: "

    def _check_stored(self) -> None:
        assert self._stored is not None
        layer = self.layer
        if self._stored.size != layer.descriptor.size:
            raise SizeMismatchError(
                f"{self._image()}layer {layer.digest}",
                layer.descriptor.size,
                self._stored.size,
                path=self.where,
            )
        actual = self._stored.digest()
        if actual != layer.digest:
            raise DigestMismatchError(
                str(layer.digest), str(actual), path=self.where, what=f"{self._image()}layer"
            )

    def _check_tar(self) -> None:
        assert self._tar is not None
        layer = self.layer
        actual = self._tar.digest()
        if actual != layer.diff_id:
            raise DigestMismatchError(
                str(layer.diff_id),
                str(actual),
                path=self.where,
                what=f"{self._image()}layer {layer.digest}: diff ID",
            )

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            super().close()


class _Node:
    """What an image and an index share: stored bytes, the descriptor naming them, their blobs."""

    def __init__(self, blobs: Blobs, raw_manifest: bytes, descriptor: Descriptor, *, label: str) -> None:
        self.blobs = blobs
        self.raw_manifest = raw_manifest
        self.descriptor = descriptor
        self.label = label

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.label}, {self.descriptor.digest})"

    @property
    def digest(self) -> Digest:
        """The digest of the stored manifest or index."""
        return self.descriptor.digest

    @property
    def where(self) -> str:
        """How errors name the stored document."""
        return self.blobs.where(self.descriptor.digest)


class SourceImage(_Node):
    """A single-platform image: a manifest, its config, and its layers.

    ``raw_manifest`` and ``raw_config`` are the stored bytes, unchanged; ``id`` is the config's
    digest (Docker's image ID). Everything is parsed on first use and cached.
    """

    @cached_property
    def manifest(self) -> Manifest:
        return Manifest.from_bytes(self.raw_manifest, path=self.where, media_type=self.descriptor.media_type)

    @cached_property
    def raw_config(self) -> bytes:
        return self.blobs.read_document(
            self.manifest.config, referenced_by=f"manifest {self.descriptor.digest}"
        )

    @cached_property
    def config(self) -> ImageConfig:
        return ImageConfig.from_json(self.raw_config, path=self.blobs.where(self.manifest.config.digest))

    @property
    def id(self) -> Digest:
        """Docker's image ID: the digest of the config bytes as stored."""
        return self.manifest.config.digest

    @cached_property
    def platform(self) -> Platform:
        """The descriptor's platform when an index gave one, else the config's."""
        if self.descriptor.platform is not None:
            return self.descriptor.platform
        return self.config.platform()

    @cached_property
    def layers(self) -> tuple[Layer, ...]:
        """The manifest's layers paired with the config's diff IDs (one each, in order)."""
        if not self.manifest.is_image:
            return ()
        diff_ids = self.config.rootfs.diff_ids if self.config.rootfs else []
        descs = self.manifest.layers
        if len(diff_ids) != len(descs):
            raise InvalidDocumentError(
                f"config has {len(diff_ids)} diff IDs but the manifest has {len(descs)} layers",
                path=self.blobs.where(self.manifest.config.digest),
                field="/rootfs/diff_ids",
            )
        by = f"manifest {self.descriptor.digest}"
        image = str(self.id)
        return tuple(
            Layer(self.blobs, d, diff, referenced_by=by, image=image)
            for d, diff in zip(descs, diff_ids, strict=True)
        )

    def recorded_layer_sizes(self) -> Sequence[int] | None:
        """Each layer's unpacked size when the source recorded it (a store measures layers as
        it registers them), else None: sizes are then measured from the layer bytes
        (:mod:`ocitool.image.layersize`)."""
        return None

    @property
    def available(self) -> bool:
        """Config and every layer blob present (foreign layers included)."""
        return self.blobs.has(self.manifest.config.digest) and all(
            self.blobs.has(d.digest) for d in self.manifest.layers
        )

    @property
    def content_size(self) -> int:
        """Bytes of this image's present content: manifest, config and layer blobs."""
        total = len(self.raw_manifest)
        for d in (self.manifest.config, *self.manifest.layers):
            if self.blobs.has(d.digest):
                total += self.blobs.size(d.digest)
        return total


class ImageIndex(_Node):
    """An index or manifest list, with lazy access to its children."""

    @cached_property
    def index(self) -> Index:
        return Index.from_bytes(self.raw_manifest, path=self.where, media_type=self.descriptor.media_type)

    def child(self, desc: Descriptor) -> SourceImage | ImageIndex:
        """The image or index ``desc`` names. Raises BlobNotFoundError when it is absent."""
        return open_descriptor(
            self.blobs, desc, label=self.label, referenced_by=f"index {self.descriptor.digest}"
        )

    def walk(self) -> Iterator[tuple[Descriptor, SourceImage | None]]:
        """Every manifest descriptor below this index, as the index lists it, with its image, or
        None when the manifest is absent. Nested indexes are flattened, each walked once; loops
        and indexes nested too deep are left out (see :mod:`ocitool.image.walk`). Raises the
        errors of opening a child (BlobNotFoundError, DigestMismatchError, ...)."""
        found: list[tuple[Descriptor, SourceImage | None]] = []
        indexes: set[Digest] = set()

        def visit(step: Step) -> None:
            if isinstance(step.node, ImageIndex):
                if step.node.digest in indexes:
                    raise SkipDescriptor
                indexes.add(step.node.digest)
            elif isinstance(step.node, SourceImage):
                found.append((step.descriptor, step.node))
            elif step.kind is Kind.ABSENT and not mt.is_index(step.descriptor.media_type):
                found.append((step.descriptor, None))

        walk(self, visit)
        return iter(found)

    def images(self) -> list[SourceImage]:
        """The present image manifests below this index, in index order."""
        return [img for _, img in self.walk() if img is not None]


def open_descriptor(
    blobs: Blobs, desc: Descriptor, *, label: str, referenced_by: str
) -> SourceImage | ImageIndex:
    """Read the manifest or index ``desc`` names, verified, and wrap it."""
    raw = blobs.read_document(desc, referenced_by=referenced_by)
    media_type = desc.media_type
    if not (mt.is_index(media_type) or mt.is_manifest(media_type)):
        doc = parse_document(raw, path=blobs.where(desc.digest), media_type=media_type)
        media_type = doc.media_type
        desc = Descriptor(
            media_type=media_type,
            digest=desc.digest,
            size=desc.size,
            urls=desc.urls,
            annotations=desc.annotations,
            data=desc.data,
            platform=desc.platform,
            artifact_type=desc.artifact_type,
        )
    if mt.is_index(media_type):
        return ImageIndex(blobs, raw, desc, label=label)
    if mt.is_manifest(media_type):
        return SourceImage(blobs, raw, desc, label=label)
    raise UnsupportedMediaTypeError(media_type, path=blobs.label, digest=str(desc.digest))


@record
class Entry:
    """One top-level image or index in a source, with the names the source gives it.

    ``repo_tags`` are Docker references in familiar form (``alpine:3.19``), as ``RepoTags``;
    ``ref_names`` are OCI ``org.opencontainers.image.ref.name`` values as written.
    ``parent`` is a legacy ``manifest.json`` ``Parent`` (an image ID) when present.
    ``repo_digests`` (``name@digest``, familiar) and ``last_tag_time`` are what a store
    records of an image; an archive records neither.
    """

    position: int
    node: SourceImage | ImageIndex | None
    descriptor: Descriptor
    repo_tags: list[str] = field(default_factory=list)
    ref_names: list[str] = field(default_factory=list)
    parent: str = ""
    missing_reason: str = ""
    repo_digests: list[str] = field(default_factory=list)
    last_tag_time: Timestamp = field(default_factory=Timestamp.zero)

    @property
    def is_index(self) -> bool:
        return isinstance(self.node, ImageIndex)

    def images(self) -> list[SourceImage]:
        """The single image, or the present images of an index."""
        if isinstance(self.node, SourceImage):
            return [self.node]
        if isinstance(self.node, ImageIndex):
            return self.node.images()
        return []


@record(frozen=True)
class Selected:
    """An image chosen from a source, with the entry (names, parent) it belongs to."""

    entry: Entry
    image: SourceImage


class Source(ABC):
    """An opened archive, layout, directory or store: a list of entries over a set of blobs.

    Use as a context manager (or call ``close``) to release open files. Entries are read on
    first use of ``entries``; a source that holds no image raises EmptySourceError there.
    """

    transport: str
    path: str
    blobs: Blobs
    signature_layout: str | None = None
    """Where the signatures of this source's images are kept when the source cannot hold them
    itself: an OCI layout directory (a store's). None: in the source, or nowhere."""
    signatures_writable: bool = True

    @abstractmethod
    def _load_entries(self) -> list[Entry]:
        """Read the source's top-level list (index.json, manifest.json, ...)."""

    @cached_property
    def entries(self) -> Sequence[Entry]:
        return self._load_entries()

    def select(self, name: str, *, platform: Platform | None = None) -> list[Selected] | None:
        """The images ``name`` names, when this source resolves names itself (a store, by
        moby's ``GetImage``: full ID, reference, unique ID prefix); None, the default, lets
        :func:`~ocitool.image.lookup.select_images` apply its rules to :attr:`entries`."""
        return None

    def pull_identity(self, image: SourceImage) -> list[str]:
        """The repositories ``image`` was pulled from or pushed to, as its store
        recorded them (moby's ``Identity.Pull``); none, the default, for a source that records
        no such thing (every source but a store)."""
        return []

    def entry_of(self, image_id: str) -> Entry | None:
        """The (first) entry holding the image whose ID is ``image_id``, or None."""
        return self._entries_by_id.get(image_id)

    @cached_property
    def _entries_by_id(self) -> dict[str, Entry]:
        by_id: dict[str, Entry] = {}
        for entry in self.entries:
            for image in entry.images():
                by_id.setdefault(str(image.id), entry)
        return by_id

    def close(self) -> None:  # noqa: B027 - optional hook for sources that hold files open
        """Release open files."""

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_digest(actual: Digest, expected: Digest, *, path: str, what: str) -> None:
    """Raise DigestMismatchError unless ``actual == expected``."""
    if actual != expected:
        raise DigestMismatchError(str(expected), str(actual), path=path, what=what)
