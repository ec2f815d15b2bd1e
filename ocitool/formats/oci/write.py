"""Writers for OCI image layouts: a directory, or an archive (a tar of the same files).

A writer collects blobs, then :meth:`LayoutWriter.commit` publishes them with an ``index.json``:

* :class:`OCIDirWriter`, a new directory: everything is built in a temporary sibling directory
  and renamed into place, so the layout appears complete or not at all. An existing layout
  (or an empty directory) is added to under an exclusive ``flock`` on the directory: blobs are
  moved in first (content-addressed, so a reader never sees a wrong blob), ``index.json`` is
  replaced last and atomically; descriptors whose ``org.opencontainers.image.ref.name`` a new
  one reuses are dropped, as skopeo does.
* :class:`TarLayoutWriter`: transformed blobs are staged in a temporary directory beside the
  destination; unchanged blobs are streamed straight from the source (digest-checked) when the
  tar is written. Members are sorted, their metadata fixed (see :mod:`ocitool._io.tarwriter`); the
  tar goes to a temporary file that is fsynced and renamed over the destination, or is streamed
  in one pass to stdout (``-``), a FIFO or a device (no seeking: sizes come from descriptors).

Every temporary file lives in the destination's (resolved) directory, so the rename stays on
one file system; a streamed archive stages in the system's temporary directory. Temporaries
are removed on any error, KeyboardInterrupt included.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import IO, Any, ClassVar, Final

from ocitool._go import json as _gojson
from ocitool._io.output import (
    OutputDir,
    OutputFile,
    atomic_write,
    fsync_dir,
    output_dir,
    output_file,
    pending_file,
    remove_tree,
    staging_dir,
    staging_for,
)
from ocitool._io.tarwriter import TarWriter, sorted_members
from ocitool._record import record
from ocitool.errors import DigestMismatchError, InvalidDocumentError, NotAnImageError
from ocitool.model import mediatypes as mt
from ocitool.model.descriptor import Descriptor
from ocitool.model.digest import Digest, Digester, digest_bytes, verified_digest

__all__ = [
    "OCI_LAYOUT_FILE",
    "BlobOpener",
    "LayoutWriter",
    "OCIArchiveWriter",
    "OCIDirWriter",
    "TarLayoutWriter",
    "blob_name",
    "index_json",
]

OCI_LAYOUT_FILE: Final = b'{"imageLayoutVersion":"1.0.0"}'
_CHUNK: Final = 1 << 20
_STAGING_PREFIX: Final = ".ocitool-tmp-"

BlobOpener = Callable[[], IO[bytes]]
Progress = Callable[[int], None]


def blob_name(digest: Digest) -> str:
    """The layout path of a blob: ``blobs/<algorithm>/<encoded>``."""
    return f"blobs/{digest.algorithm}/{digest.encoded}"


def index_json(manifests: Sequence[Descriptor], annotations: dict[str, str] | None = None) -> bytes:
    """An OCI ``index.json`` (compact, Go field order) listing ``manifests`` in the given order."""
    doc: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": mt.OCI_INDEX,
        "manifests": [d.to_json() for d in manifests],
    }
    if annotations:
        doc["annotations"] = dict(sorted(annotations.items()))
    return _gojson.dumps(doc).encode()


def _copy_verified(
    src: IO[bytes], dst: IO[bytes], digest: Digest, size: int, *, where: str, progress: Progress | None
) -> None:
    if verified_digest(src) == digest:
        # The source checks this digest (and size) itself at its end, raising before the last
        # read returns: hashing again would only cost a second pass over the bytes.
        while chunk := src.read(_CHUNK):
            dst.write(chunk)
            if progress is not None:
                progress(len(chunk))
        return
    d = Digester(digest.algorithm)
    while chunk := src.read(_CHUNK):
        d.update(chunk)
        dst.write(chunk)
        if progress is not None:
            progress(len(chunk))
    actual = d.digest()
    if actual != digest or d.size != size:
        raise DigestMismatchError(str(digest), str(actual), path=where)


@record
class _Blob:
    size: int
    staged: str | None = None
    opener: BlobOpener | None = None
    where: str = ""


class LayoutWriter(ABC):
    """Collects blobs for one destination, then publishes them with :meth:`commit`.

    Use as a context manager: leaving it with an exception calls :meth:`abort`, which removes
    every temporary file. Thread-safe for ``put_*`` calls on distinct digests.
    """

    path: str
    staging_dir: str
    # Whether put_copy moves the bytes (a directory, a registry), so progress counts them as they
    # are copied; an archive only records the blob and streams it at commit (see pending_bytes).
    copies_move_bytes: ClassVar[bool] = True
    # Called with byte counts as commit streams blobs (archives); set by the caller.
    progress: Progress | None = None

    def check_complete(self, absent: Sequence[Descriptor]) -> None:
        """Before anything is written: refuse an index whose ``absent`` manifests (listed by it,
        missing from the source) the destination cannot do without. Files and directories take
        a partial index, as skopeo writes one; a registry refuses it (RegistryError)."""
        return None

    def pending_bytes(self) -> int:
        """Bytes :meth:`commit` will still copy (an archive's blobs, streamed then); 0 for a
        writer whose put_copy moved them already."""
        return 0

    def new_temp(self) -> OutputFile:
        """A new pending file in the staging directory: write its ``file`` (without closing it),
        then hand it to :meth:`put_staged`, or ``discard()`` it."""
        return pending_file(self.staging_dir)

    @abstractmethod
    def has(self, digest: Digest) -> bool:
        """Whether the blob was put already."""

    @abstractmethod
    def put_staged(self, digest: Digest, size: int, staged: OutputFile) -> None:
        """Take ownership of a complete pending file (from :meth:`new_temp`) holding the blob."""

    @abstractmethod
    def put_copy(
        self, digest: Digest, size: int, opener: BlobOpener, *, where: str, progress: Progress | None = None
    ) -> None:
        """Add an unchanged blob read from ``opener()``; its digest is checked as it is copied."""

    def put_bytes(self, data: bytes) -> Digest:
        """Add a small blob held in memory (a manifest, config or index)."""
        digest = digest_bytes(data)
        if not self.has(digest):
            staged = self.new_temp()
            try:
                staged.file.write(data)
                self.put_staged(digest, len(data), staged)
            except BaseException:
                staged.discard()
                raise
        return digest

    @abstractmethod
    def commit(self, manifests: Sequence[Descriptor], extra: dict[str, bytes] | None = None) -> None:
        """Publish: write ``index.json`` listing ``manifests`` (plus ``extra`` top-level files)."""

    @abstractmethod
    def abort(self) -> None:
        """Remove every temporary file; the destination is left as it was."""

    def __enter__(self) -> LayoutWriter:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is not None:
            self.abort()


class OCIDirWriter(LayoutWriter):
    """An OCI layout directory, new or added to (see the module docstring)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock_fd: int | None = None
        self._existing = os.path.isdir(path)
        self._lock = threading.Lock()
        self._present: set[Digest] = set()
        self._output: OutputDir | None = None
        if os.path.exists(path) and not self._existing:
            raise NotAnImageError(path, "exists and is not a directory")
        if self._existing:
            self._lock_fd = os.open(path, os.O_RDONLY)
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)  # released by commit/abort (closing the fd)
            names = {n for n in os.listdir(path) if not n.startswith(_STAGING_PREFIX)}
            if names and "index.json" not in names:
                self._unlock()
                raise NotAnImageError(path, "exists, is not empty, and is not an OCI layout")
            self.root = path
            self.staging_dir = staging_dir(path, prefix=_STAGING_PREFIX)
        else:
            self._output = output_dir(path)  # raises OutputError naming path
            self.root = self._output.name
            try:
                self.staging_dir = staging_dir(self.root)
            except BaseException:
                self._output.discard()
                raise

    def _final(self, digest: Digest) -> str:
        return os.path.join(self.root, blob_name(digest))

    def has(self, digest: Digest) -> bool:
        with self._lock:
            if digest in self._present:
                return True
        return self._existing and os.path.exists(self._final(digest))

    def put_staged(self, digest: Digest, size: int, staged: OutputFile) -> None:
        final = self._final(digest)
        os.makedirs(os.path.dirname(final), mode=0o755, exist_ok=True)
        staged.commit(final, sync_dir=False)  # blob directories are fsynced once, by commit()
        with self._lock:
            self._present.add(digest)

    def put_copy(
        self, digest: Digest, size: int, opener: BlobOpener, *, where: str, progress: Progress | None = None
    ) -> None:
        if self.has(digest):
            return
        staged = self.new_temp()
        try:
            with opener() as src:
                _copy_verified(src, staged.file, digest, size, where=where, progress=progress)
            self.put_staged(digest, size, staged)
        except BaseException:
            staged.discard()
            raise

    def commit(self, manifests: Sequence[Descriptor], extra: dict[str, bytes] | None = None) -> None:
        remove_tree(self.staging_dir)
        blobs_dir = os.path.join(self.root, "blobs")
        if os.path.isdir(blobs_dir):
            for sub in (blobs_dir, *(os.path.join(blobs_dir, a) for a in os.listdir(blobs_dir))):
                if os.path.isdir(sub):
                    fsync_dir(sub)
        layout_file = os.path.join(self.root, "oci-layout")
        if not os.path.exists(layout_file):
            atomic_write(layout_file, OCI_LAYOUT_FILE, mode=0o644)
        for name, data in (extra or {}).items():
            atomic_write(os.path.join(self.root, name), data, mode=0o644)
        index_path = os.path.join(self.root, "index.json")
        if self._existing and os.path.exists(index_path):
            manifests = _merge_index(index_path, manifests)
        atomic_write(index_path, index_json(manifests), mode=0o644)
        if self._output is not None:
            self._output.commit()  # fsyncs the layout, renames it into place, fsyncs the parent
        else:
            fsync_dir(self.root)
        self._unlock()

    def abort(self) -> None:
        remove_tree(self.staging_dir)
        if self._output is not None:
            self._output.discard()
        self._unlock()

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None


def _merge_index(index_path: str, new: Sequence[Descriptor]) -> list[Descriptor]:
    """The existing index's descriptors (minus those a new ref name replaces), then ``new``."""
    try:
        with open(index_path, "rb") as fh:
            doc = json.loads(fh.read())
        olds = [
            Descriptor.from_dict(d, path=index_path, field_path=f"/manifests/{i}")
            for i, d in enumerate(doc.get("manifests") or [])
        ]
    except (ValueError, AttributeError) as exc:
        raise InvalidDocumentError(f"cannot add to this layout: {exc}", path=index_path) from None
    taken = {d.annotations.get(mt.ANNOTATION_REF_NAME) for d in new} - {None}
    kept = [d for d in olds if d.annotations.get(mt.ANNOTATION_REF_NAME) not in taken]
    out = list(kept)
    for d in new:
        if not any(d == o and d.annotations == o.annotations for o in out):
            out.append(d)
    return out


class TarLayoutWriter(LayoutWriter):
    """Blobs for a tar destination; :meth:`write_archive` writes any member set atomically, or
    as a stream to stdout (``-``), a FIFO or a device (see :func:`ocitool._io.output.output_file`).

    The tar is written front to back, never seeking: every member's size is known before its
    header (staged blobs from their files, copied blobs from their descriptors)."""

    copies_move_bytes: ClassVar[bool] = False  # blobs are streamed at commit (pending_bytes)

    def __init__(self, path: str) -> None:
        self.path = path
        if os.path.isdir(path):
            raise NotAnImageError(path, "is a directory; an archive destination must be a file")
        self.staging_dir = staging_for(path)  # raises OutputError naming path
        self.blobs: dict[Digest, _Blob] = {}
        self._lock = threading.Lock()

    def has(self, digest: Digest) -> bool:
        with self._lock:
            return digest in self.blobs

    def put_staged(self, digest: Digest, size: int, staged: OutputFile) -> None:
        staged.close()  # read back by write_archive; removed with the staging directory
        with self._lock:
            if digest in self.blobs:
                staged.discard()
                return
            self.blobs[digest] = _Blob(size, staged=staged.name)

    def put_copy(
        self, digest: Digest, size: int, opener: BlobOpener, *, where: str, progress: Progress | None = None
    ) -> None:
        with self._lock:
            self.blobs.setdefault(digest, _Blob(size, opener=opener, where=where))

    def blob_size(self, digest: Digest) -> int:
        return self.blobs[digest].size

    def pending_bytes(self) -> int:
        return sum(blob.size for blob in self.blobs.values())

    def write_archive(self, members: dict[str, bytes | Digest]) -> None:
        """Write the tar: ``members`` maps names to contents or to blobs put earlier; parent
        directories are added; everything sorted. Atomic for a file (temp file, fsync, rename);
        streamed in one pass to stdout, a FIFO or a device."""
        names: dict[str, bytes | Digest | None] = dict(members)
        for name in list(members):
            parts = name.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                names.setdefault("/".join(parts[:i]) + "/", None)
        try:
            with output_file(self.path) as raw:
                tar = TarWriter(raw)
                for name in sorted_members(names):
                    value = names[name]
                    if value is None:
                        tar.add_dir(name)
                    elif isinstance(value, bytes):
                        tar.add_bytes(name, value)
                    else:
                        blob = self.blobs[value]
                        if blob.staged is not None:
                            with open(blob.staged, "rb") as src:
                                tar.add_stream(name, blob.size, src, progress=self.progress)
                        else:
                            assert blob.opener is not None
                            with blob.opener() as src:
                                tar.add_stream(
                                    name,
                                    blob.size,
                                    src,
                                    expect=value,
                                    where=blob.where,
                                    progress=self.progress,
                                )
                tar.finish()
        finally:
            remove_tree(self.staging_dir)

    def commit(self, manifests: Sequence[Descriptor], extra: dict[str, bytes] | None = None) -> None:
        members: dict[str, bytes | Digest] = {blob_name(d): d for d in self.blobs}
        members["oci-layout"] = OCI_LAYOUT_FILE
        members["index.json"] = index_json(manifests)
        members.update(extra or {})
        self.write_archive(members)

    def abort(self) -> None:
        remove_tree(self.staging_dir)


OCIArchiveWriter = TarLayoutWriter
