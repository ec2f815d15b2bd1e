"""A registry as a destination of :func:`ocitool.ops.convert.convert`: ``docker://HOST/REPO[:TAG|@DIGEST]``.

:class:`RegistryWriter` is a :class:`~ocitool.formats.oci.write.LayoutWriter` whose blobs go
to a repository. Order, per the distribution spec: layers and other blobs as the converter
hands them over (at most ``concurrency`` uploads at once; a blob the repository has is skipped
after a HEAD; a blob of another repository of the same registry is mounted), then, at
:meth:`~RegistryWriter.commit`, configs, then child manifests (children before parents), then
the top manifest or index under the tag. Manifests and indexes are pushed as their exact bytes
with their own media type. An index listing a manifest that neither the conversion produced
nor the repository holds (a partial index) is refused before any manifest is pushed:
registries reject it.
"""

from __future__ import annotations

import io
import json
import tempfile
import threading
from collections.abc import Sequence
from typing import IO, Any

from ocitool._io.output import OutputFile, remove_tree, staging_dir
from ocitool.errors import DigestMismatchError, InvalidReferenceError, RegistryError
from ocitool.formats.oci.write import BlobOpener, LayoutWriter, Progress
from ocitool.formats.registry.client import DEFAULT_CONCURRENCY, RegistryClient, map_bounded
from ocitool.formats.registry.reference import RegistryReference
from ocitool.image.walk import openable
from ocitool.model import mediatypes as mt
from ocitool.model.descriptor import Descriptor
from ocitool.model.digest import Digest, digest_bytes

__all__ = ["RegistryWriter"]


class _HighWater(io.RawIOBase):
    """A blob being uploaded, reporting each byte once as it is first read (an upload that
    restarts reads from the start again: those bytes are not counted twice)."""

    def __init__(self, inner: IO[bytes], progress: Progress) -> None:
        super().__init__()
        self._inner = inner
        self._progress = progress
        self._pos = 0
        self.high = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return bool(self._inner.seekable())

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._pos = self._inner.seek(offset, whence)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def read(self, n: int = -1) -> bytes:
        data = self._inner.read(n)
        self._pos += len(data)
        if self._pos > self.high:
            self._progress(self._pos - self.high)
            self.high = self._pos
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._inner.close()
        super().close()


class RegistryWriter(LayoutWriter):
    """Push a conversion's blobs and documents to ``ref``'s repository through ``client``.

    ``mount_from`` is a repository of the same registry whose blobs may be mounted (the
    source's, when it is that registry). Documents given to :meth:`put_bytes` are held in
    memory until :meth:`commit`. :meth:`abort` removes the local staging directory; blobs
    already uploaded stay in the registry, unreferenced (the registry's garbage collection
    reclaims them), and no tag moves.
    """

    def __init__(
        self,
        ref: RegistryReference,
        client: RegistryClient,
        *,
        mount_from: str | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self.ref = ref
        self.client = client
        self.path = str(ref)
        self.repository = ref.repository
        self.mount_from = mount_from if mount_from != ref.repository else None
        self.concurrency = max(concurrency, 1)
        self.staging_dir = staging_dir(tempfile.gettempdir(), prefix=".ocitool-push-")
        self._slots = threading.BoundedSemaphore(self.concurrency)
        self._lock = threading.Lock()
        self._documents: dict[Digest, bytes] = {}
        self._pushed: set[Digest] = set()
        self.pushed_manifest: Descriptor | None = None

    # -- blobs ------------------------------------------------------------------------------

    def has(self, digest: Digest) -> bool:
        with self._lock:
            return digest in self._pushed or digest in self._documents

    def _done(self, digest: Digest) -> None:
        with self._lock:
            self._pushed.add(digest)

    def _push(self, digest: Digest, size: int, opener: BlobOpener) -> None:
        with self._slots:
            if self.client.blob_size(self.repository, digest) is not None:
                return self._done(digest)
            if self.mount_from and self.client.mount_blob(self.repository, digest, self.mount_from):
                return self._done(digest)
            with opener() as fh:
                self.client.push_blob(self.repository, digest, size, fh, check_exists=False)
        self._done(digest)

    def put_staged(self, digest: Digest, size: int, staged: OutputFile) -> None:
        try:
            staged.close()
            self._push(digest, size, lambda: open(staged.name, "rb"))  # noqa: SIM115 - the opener's caller closes
        finally:
            staged.discard()

    def put_copy(
        self, digest: Digest, size: int, opener: BlobOpener, *, where: str, progress: Progress | None = None
    ) -> None:
        """Push one blob as it is; ``progress`` gets exactly ``size`` bytes in all (as the upload
        reads them; at once for a blob skipped or mounted)."""
        counted: list[_HighWater] = []

        def opened() -> IO[bytes]:
            fh = opener()
            if progress is None:
                return fh
            counted.append(_HighWater(fh, progress))
            return counted[-1]  # type: ignore[return-value]

        if not self.has(digest):
            self._push(digest, size, opened)
        if progress is not None:
            progress(size - max((c.high for c in counted), default=0))

    def put_bytes(self, data: bytes) -> Digest:
        digest = digest_bytes(data)
        with self._lock:
            self._documents.setdefault(digest, data)
        return digest

    def blob_size(self, digest: Digest) -> int:
        with self._lock:
            known = self._documents.get(digest)
        if known is not None:
            return len(known)
        size = self.client.blob_size(self.repository, digest)
        return size or 0

    # -- documents --------------------------------------------------------------------------

    def _plan(self, root: Descriptor) -> tuple[list[Digest], list[tuple[Digest, str]]]:
        """The configs to push, and the manifests below ``root`` (children first, each with its
        media type; ``root`` last). Raises RegistryError for a partial index."""
        configs: list[Digest] = []
        manifests: list[tuple[Digest, str]] = []
        missing: list[str] = []
        seen: set[Digest] = set()

        def visit(desc: Descriptor, depth: int) -> None:
            if desc.digest in seen or depth > 16:
                return
            seen.add(desc.digest)
            raw = self._documents.get(desc.digest)
            if raw is None:
                if self.client.head_manifest(self.repository, str(desc.digest)) is None:
                    plat = f" ({desc.platform})" if desc.platform is not None else ""
                    missing.append(f"{desc.digest}{plat}")
                return
            doc: Any = json.loads(raw)
            declared = doc.get("mediaType") if isinstance(doc, dict) else None
            media_type = declared if isinstance(declared, str) and declared else desc.media_type
            if not media_type:
                media_type = mt.OCI_INDEX if "manifests" in doc else mt.OCI_MANIFEST
            if mt.is_index(media_type):
                for child in doc.get("manifests") or []:
                    child_desc = Descriptor.from_dict(child, path=self.path)
                    if openable(child_desc):
                        visit(child_desc, depth + 1)
            else:
                config = (doc.get("config") or {}).get("digest")
                if isinstance(config, str) and Digest.parse(config) in self._documents:
                    configs.append(Digest.parse(config))
            manifests.append((desc.digest, media_type))

        visit(root, 0)
        self._refuse_partial(missing)
        return configs, manifests

    def _refuse_partial(self, missing: list[str]) -> None:
        if missing:
            raise RegistryError(
                "the index lists manifests the source does not hold: "
                + ", ".join(missing)
                + "; registries refuse a partial index (choose a present image with --platform)",
                registry=self.ref.registry,
                repository=self.repository,
            )

    def check_complete(self, absent: Sequence[Descriptor]) -> None:
        """Before anything is uploaded: refuse an index whose ``absent`` manifests (listed by
        it, missing from the source) the repository does not hold either. Raises RegistryError."""
        missing: list[str] = []
        for desc in absent:
            if self.client.head_manifest(self.repository, str(desc.digest)) is None:
                plat = f" ({desc.platform})" if desc.platform is not None else ""
                missing.append(f"{desc.digest}{plat}")
        self._refuse_partial(missing)

    def commit(self, manifests: Sequence[Descriptor], extra: dict[str, bytes] | None = None) -> None:
        """Push configs, child manifests, then the top document under the reference's tag
        (or its digest, which must match). ``extra`` has no place in a registry and is ignored."""
        roots = list(dict.fromkeys(d.digest for d in manifests))
        if len(roots) != 1:
            raise InvalidReferenceError(
                self.path, f"a registry reference names one image; the source selects {len(roots)}"
            )
        root = next(d for d in manifests if d.digest == roots[0])
        if self.ref.digest and Digest.parse(self.ref.digest) != root.digest:
            raise DigestMismatchError(self.ref.digest, str(root.digest), path=self.path, what="manifest")
        configs, order = self._plan(root)

        def push_config(digest: Digest) -> None:
            if not self.has_pushed(digest):
                data = self._documents[digest]
                self.client.push_blob(self.repository, digest, len(data), data, mount_from=self.mount_from)
                self._done(digest)

        map_bounded(push_config, list(dict.fromkeys(configs)), limit=self.concurrency)
        for digest, media_type in order:
            raw = self._documents[digest]
            reference = self.ref.reference if digest == root.digest else str(digest)
            self.client.put_manifest(self.repository, reference, raw, media_type)
            if digest == root.digest:
                self.pushed_manifest = Descriptor(media_type, digest, len(raw))
        remove_tree(self.staging_dir)

    def has_pushed(self, digest: Digest) -> bool:
        with self._lock:
            return digest in self._pushed

    def abort(self) -> None:
        remove_tree(self.staging_dir)

    def __exit__(self, exc_type: object, *rest: object) -> None:
        try:
            super().__exit__(exc_type, *rest)
        finally:
            self.client.close()
