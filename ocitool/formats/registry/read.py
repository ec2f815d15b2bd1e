"""A registry image as a :class:`~ocitool.image.source.Source`: ``docker://HOST/REPO[:TAG|@DIGEST]``.

The source holds one entry, the manifest or index the reference resolves to. Manifests and
indexes come from ``/manifests/`` (exact bytes, verified), every other blob from ``/blobs/``
(streamed, verified as it reaches its end). Nothing is fetched before it is asked for: listing
the entry reads the top manifest only, a config is read when a command needs it, and layer
bytes only when a command reads layers.

How to reach the registry (credentials, TLS) is a
:class:`~ocitool.formats.registry.options.RegistryOptions` (re-exported here), passed explicitly
or set for a block with :func:`~ocitool.formats.registry.options.using_registry_options`.
"""

from __future__ import annotations

import io
import threading
from typing import IO

from ocitool.errors import BlobNotFoundError, RegistryNotFoundError
from ocitool.formats.registry.client import RegistryClient
from ocitool.formats.registry.options import RegistryOptions, current_registry_options, using_registry_options
from ocitool.formats.registry.reference import RegistryReference, parse_registry_reference
from ocitool.image.source import Blobs, Entry, Source, open_descriptor
from ocitool.model import mediatypes as mt
from ocitool.model.descriptor import Descriptor
from ocitool.model.digest import Digest
from ocitool.model.reference import parse_normalized

__all__ = [
    "RegistryBlobs",
    "RegistryOptions",
    "RegistrySource",
    "current_registry_options",
    "open_registry_source",
    "using_registry_options",
]


class _ForwardReader(io.RawIOBase):
    """A blob stream that can seek forward (by reading and dropping bytes, which are still
    hashed), as readers that skip over tar members do; seeking back is unsupported."""

    def __init__(self, raw: io.RawIOBase) -> None:
        super().__init__()
        self._raw = raw
        self._pos = 0

    @property
    def verified_digest(self) -> Digest | None:
        """The digest the blob stream checks at its end (forward seeks hash what they skip)."""
        found = getattr(self._raw, "verified_digest", None)
        return found if isinstance(found, Digest) else None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        n = self._raw.readinto(buffer) or 0
        self._pos += n
        return n

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        target = offset if whence == io.SEEK_SET else self._pos + offset if whence == io.SEEK_CUR else -1
        if target < self._pos:
            raise io.UnsupportedOperation("a registry blob stream seeks forward only")
        scratch = bytearray(min(target - self._pos, 1 << 20) or 1)
        while self._pos < target:
            view = memoryview(scratch)[: min(len(scratch), target - self._pos)]
            if not self.readinto(view):
                break
        return self._pos

    def close(self) -> None:
        self._raw.close()
        super().close()


class RegistryBlobs(Blobs):
    """The blobs and manifests of one repository.

    Manifests and indexes read by :meth:`read_document` are kept (they are small) and served
    from memory afterwards; configs are kept likewise. ``open`` streams other blobs: the
    stream is not seekable and raises DigestMismatchError/SizeMismatchError at its end when
    the bytes are not what the digest says. Presence and sizes are asked with HEAD once each.
    """

    def __init__(self, client: RegistryClient, ref: RegistryReference) -> None:
        self.client = client
        self.ref = ref
        self.repository = ref.repository
        self.label = f"docker://{ref.name}"
        self._documents: dict[Digest, bytes] = {}
        self._sizes: dict[Digest, int | None] = {}
        self._heads: dict[Digest, bytes] = {}
        self._lock = threading.Lock()

    def remember(self, digest: Digest, raw: bytes) -> None:
        with self._lock:
            self._documents[digest] = raw

    def _known(self, digest: Digest) -> bytes | None:
        with self._lock:
            return self._documents.get(digest)

    def _size(self, digest: Digest) -> int | None:
        with self._lock:
            if digest in self._sizes:
                return self._sizes[digest]
        size = self.client.blob_size(self.repository, digest)
        if size is None:
            info = self.client.head_manifest(self.repository, str(digest))
            size = info.size if info is not None and info.digest == digest else None
        with self._lock:
            self._sizes[digest] = size
        return size

    def has(self, digest: Digest) -> bool:
        return self._known(digest) is not None or self._size(digest) is not None

    def size(self, digest: Digest) -> int:
        known = self._known(digest)
        if known is not None:
            return len(known)
        size = self._size(digest)
        if size is None:
            raise BlobNotFoundError(str(digest), path=self.label)
        return size

    def open(self, digest: Digest, *, buffered: bool = True) -> IO[bytes]:
        known = self._known(digest)
        if known is not None:
            return io.BytesIO(known)
        size = self._size(digest)
        if size is None:
            raise BlobNotFoundError(str(digest), path=self.label)
        try:
            reader = self.client.open_blob(self.repository, digest, size)
        except RegistryNotFoundError:
            # a manifest (HEAD found it under /manifests/): read it whole, verified
            got = self.client.get_manifest(self.repository, str(digest), size=size)
            self.remember(digest, got.raw)
            return io.BytesIO(got.raw)
        forward = _ForwardReader(reader)
        return io.BufferedReader(forward) if buffered else forward  # type: ignore[return-value]

    def head(self, digest: Digest, n: int) -> bytes:
        known = self._known(digest)
        if known is not None:
            return known[:n]
        with self._lock:
            prefix = self._heads.get(digest)
        if prefix is None or len(prefix) < n:
            if self._size(digest) is None:
                raise BlobNotFoundError(str(digest), path=self.label)
            # a prefix, for sniffing: every reader of the whole blob is verified
            prefix = self.client.read_blob_head(self.repository, digest, n)
            with self._lock:
                self._heads[digest] = prefix
        return prefix[:n]

    def read_document(self, desc: Descriptor, *, referenced_by: str) -> bytes:
        if desc.data is not None:
            return desc.data
        known = self._known(desc.digest)
        if known is not None:
            return known
        try:
            if mt.is_index(desc.media_type) or mt.is_manifest(desc.media_type):
                raw = self.client.get_manifest(self.repository, str(desc.digest), size=desc.size).raw
            else:
                raw = self.client.read_blob(self.repository, desc.digest, desc.size)
        except RegistryNotFoundError:
            raise BlobNotFoundError(str(desc.digest), referenced_by=referenced_by, path=self.label) from None
        self.remember(desc.digest, raw)
        return raw

    def where(self, digest: Digest) -> str:
        return f"{self.label}@{digest}"


class RegistrySource(Source):
    """The image or index a ``docker://`` reference resolves to, as a one-entry source.

    Opening resolves the reference (one manifest GET); ``close`` releases the connections.
    The entry is named ``REPO:TAG`` (familiar, as Docker shows it) for a tag, and carries
    ``REPO@DIGEST`` as its repo digest.
    """

    transport = "docker"

    def __init__(self, ref: RegistryReference, client: RegistryClient) -> None:
        self.ref = ref
        self.path = str(ref)
        self.client = client
        self.blobs: RegistryBlobs = RegistryBlobs(client, ref)
        got = client.get_manifest(ref.repository, ref.reference)
        self.blobs.remember(got.digest, got.raw)
        self.descriptor = Descriptor(media_type=got.media_type, digest=got.digest, size=got.size)

    def _familiar(self) -> str:
        return parse_normalized(self.ref.name).familiar()

    def _load_entries(self) -> list[Entry]:
        node = open_descriptor(self.blobs, self.descriptor, label=self.path, referenced_by=self.path)
        name = self._familiar()
        return [
            Entry(
                position=0,
                node=node,
                descriptor=self.descriptor,
                repo_tags=[f"{name}:{self.ref.tag}"] if self.ref.tag and not self.ref.digest else [],
                repo_digests=[f"{name}@{self.descriptor.digest}"],
            )
        ]

    def close(self) -> None:
        self.client.close()


def open_registry_source(
    text: str | RegistryReference, options: RegistryOptions | None = None
) -> RegistrySource:
    """Open ``docker://HOST[:PORT]/REPO[:TAG|@DIGEST]`` (``options``: else the current ones).

    Raises InvalidReferenceError, RegistryNotFoundError (no such image), RegistryError.
    """
    ref = text if isinstance(text, RegistryReference) else parse_registry_reference(text)
    client = (options or current_registry_options()).client(ref)
    try:
        return RegistrySource(ref, client)
    except BaseException:
        client.close()
        raise
