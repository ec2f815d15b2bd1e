"""Layer content: blobs in an OCI layout, layers counted by chain ID (moby's layer store).

Under ``root``::

    content/oci-layout, content/index.json, content/blobs/sha256/<hex>   the layer blobs as loaded
    image/<driver>/layerdb/sha256/<chain hex>/{diff,size,parent}         Docker's layerdb files
    image/<driver>/layerdb/sha256/<chain hex>/ocitool-blob               {"digest","mediaType","size"}

A layer is named by its chain ID, so a layer shared by several images is stored once. Its
references are the images whose top layer it is and the layers on top of it (moby's
``roLayer.referenceCount``); :meth:`LayerStore.release` removes a layer when the last goes, then
its parent the same way, and returns the chain IDs removed, top first, as moby's
``layerStore.Release``. The index rows (``layers`` table) are derived from the layerdb files.

Opened ``readonly`` over a real Docker data root's layerdb, the store indexes Docker's own
entries (``diff``, ``size``, ``parent``; no ``ocitool-blob``: the layer's content lives unpacked
in the graph driver, so it has no blob) and writes and removes nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
from collections.abc import Iterator
from typing import IO, Any

from ocitool._io.output import atomic_write, pending_file
from ocitool._record import record
from ocitool.compression import Compression, open_decompressed, sniff
from ocitool.errors import BlobNotFoundError, DigestMismatchError
from ocitool.image.layersize import tar_unpacked_size
from ocitool.image.source import Blobs, Layer
from ocitool.model import mediatypes as mt
from ocitool.model.config import chain_ids
from ocitool.model.descriptor import Descriptor
from ocitool.model.digest import SHA256, Digest, Digester

__all__ = ["LayerInfo", "LayerStore", "StoreBlobs", "read_layerdb_entry"]

_CHUNK = 1 << 20


@record(frozen=True)
class LayerInfo:
    """One layer of the store: moby's layer ``Metadata`` plus where its blob is."""

    chain_id: Digest
    diff_id: Digest
    parent: Digest | None
    size: int  # overlay2 size of this layer alone
    blob: Digest | None  # None: no blob kept (a Docker data root's layer, unpacked by its driver)
    media_type: str
    blob_size: int


class _HashingReader:
    """Reads through ``raw``, hashing every byte read (the uncompressed diff ID)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.hasher = Digester()
        self.count = 0

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.hasher.update(data)
        self.count += len(data)
        return data

    def readable(self) -> bool:
        return True

    def drain(self) -> None:
        while self.read(_CHUNK):
            pass


class StoreBlobs(Blobs):
    """The layer blobs of a root as :class:`~ocitool.image.source.Blobs`, so that the readers'
    :class:`~ocitool.image.source.Layer` (and everything built on it) works on stored layers."""

    def __init__(self, blob_dir: str) -> None:
        self.blob_dir = blob_dir
        self.label = blob_dir

    def _path(self, digest: Digest) -> str:
        return os.path.join(self.blob_dir, digest.encoded)

    def has(self, digest: Digest) -> bool:
        return os.path.isfile(self._path(digest))

    def size(self, digest: Digest) -> int:
        try:
            return os.stat(self._path(digest)).st_size
        except FileNotFoundError:
            raise BlobNotFoundError(str(digest), path=self._path(digest)) from None

    def open(self, digest: Digest, *, buffered: bool = True) -> IO[bytes]:
        try:
            return open(self._path(digest), "rb", buffering=-1 if buffered else 0)
        except FileNotFoundError:
            raise BlobNotFoundError(str(digest), path=self._path(digest)) from None

    def where(self, digest: Digest) -> str:
        return self._path(digest)


def read_layerdb_entry(d: str) -> tuple[Digest, int, Digest | None]:
    """(diff ID, size, parent chain ID) from a layerdb directory's ``diff``, ``size`` and
    ``parent`` files, as Docker writes them. Raises OSError or ValueError."""
    with open(os.path.join(d, "diff"), encoding="ascii") as fh:
        diff = Digest.parse(fh.read().strip())
    with open(os.path.join(d, "size"), encoding="ascii") as fh:
        size = int(fh.read().strip())
    parent: Digest | None = None
    if os.path.exists(os.path.join(d, "parent")):
        with open(os.path.join(d, "parent"), encoding="ascii") as fh:
            parent = Digest.parse(fh.read().strip())
    return diff, size, parent


class LayerStore:
    """Refcounted layers under a ``--root`` (see module docstring). Not locked itself: the
    root's file lock serialises writers. ``readonly`` reads an existing layerdb (a Docker data
    root's) and creates nothing."""

    def __init__(self, root: str, layerdb: str, db: sqlite3.Connection, *, readonly: bool = False) -> None:
        self.content_dir = os.path.join(root, "content")
        self.blob_dir = os.path.join(self.content_dir, "blobs", SHA256)
        self.layerdb = os.path.join(layerdb, SHA256)
        self.db = db
        self.readonly = readonly
        if readonly:
            return
        os.makedirs(self.blob_dir, mode=0o700, exist_ok=True)
        os.makedirs(self.layerdb, mode=0o700, exist_ok=True)
        layout = os.path.join(self.content_dir, "oci-layout")
        if not os.path.exists(layout):
            atomic_write(layout, b'{"imageLayoutVersion":"1.0.0"}', mode=0o644)
        index = os.path.join(self.content_dir, "index.json")
        if not os.path.exists(index):
            atomic_write(index, b'{"schemaVersion":2,"manifests":[]}', mode=0o644)

    # -- reading -------------------------------------------------------------------------

    @staticmethod
    def _row(row: tuple[str, str, str, int, str, str, int]) -> LayerInfo:
        chain, diff, parent, size, blob, media, blob_size = row
        return LayerInfo(
            Digest.parse(chain),
            Digest.parse(diff),
            Digest.parse(parent) if parent else None,
            size,
            Digest.parse(blob) if blob else None,
            media,
            blob_size,
        )

    def get(self, chain: Digest) -> LayerInfo | None:
        """The layer with this chain ID, or None."""
        row = self.db.execute(
            "SELECT chain, diff_id, parent, size, blob, media_type, blob_size FROM layers WHERE chain=?",
            (str(chain),),
        ).fetchone()
        return self._row(row) if row else None

    def chain(self, top: Digest | None) -> list[LayerInfo]:
        """The layers from the bottom up to ``top`` (empty for None)."""
        out: list[LayerInfo] = []
        current = top
        while current is not None:
            info = self.get(current)
            if info is None:
                raise BlobNotFoundError(str(current), referenced_by="layer store")
            out.append(info)
            current = info.parent
        out.reverse()
        return out

    def total_size(self, top: Digest | None) -> int:
        """moby's ``Layer.Size()`` of the top layer: its size plus all its parents'."""
        return sum(layer.size for layer in self.chain(top))

    def blob_of(self, info: LayerInfo) -> Digest:
        """The digest of the layer's stored blob. Raises BlobNotFoundError for a layer kept
        without one (a Docker data root's)."""
        if info.blob is None:
            raise BlobNotFoundError(
                str(info.diff_id), referenced_by=f"layer {info.chain_id} (kept unpacked, no blob)"
            )
        return info.blob

    def as_layer(self, info: LayerInfo) -> Layer:
        """The stored layer as a readers' :class:`~ocitool.image.source.Layer` (lazy, streaming)."""
        desc = Descriptor(info.media_type, self.blob_of(info), info.blob_size)
        return Layer(StoreBlobs(self.blob_dir), desc, info.diff_id, referenced_by=str(info.chain_id))

    def blob_path(self, digest: Digest) -> str:
        return os.path.join(self.blob_dir, digest.encoded)

    def open_blob(self, info: LayerInfo) -> IO[bytes]:
        """The stored blob, as loaded (maybe compressed). Raises BlobNotFoundError."""
        blob = self.blob_of(info)
        path = self.blob_path(blob)
        try:
            return open(path, "rb")
        except FileNotFoundError:
            raise BlobNotFoundError(str(blob), referenced_by=str(info.chain_id), path=path) from None

    def open_uncompressed(self, info: LayerInfo) -> IO[bytes]:
        """The layer's tar, decompressed by what the blob is (streaming)."""
        fh = self.open_blob(info)
        head = fh.read(8)
        fh.seek(0)
        return open_decompressed(fh, sniff(head), path=self.blob_path(self.blob_of(info)))

    def references(self, chain: Digest) -> int:
        """Images whose top layer this is plus layers on top of it."""
        key = str(chain)
        (images,) = self.db.execute("SELECT count(*) FROM images WHERE top_chain=?", (key,)).fetchone()
        (layers,) = self.db.execute("SELECT count(*) FROM layers WHERE parent=?", (key,)).fetchone()
        return int(images) + int(layers)

    def all(self) -> Iterator[LayerInfo]:
        for row in self.db.execute(
            "SELECT chain, diff_id, parent, size, blob, media_type, blob_size FROM layers"
        ):
            yield self._row(row)

    # -- writing -------------------------------------------------------------------------

    def register(
        self,
        blob: IO[bytes],
        parent: Digest | None,
        *,
        diff_id: Digest | None = None,
        blob_digest: Digest | None = None,
        media_type: str = "",
    ) -> LayerInfo:
        """Store one layer blob on top of ``parent`` (moby's ``layerStore.Register``).

        The blob is streamed once to a temp file (its digest checked against ``blob_digest``
        when given), then decompressed once to compute the diff ID (checked against
        ``diff_id`` when given) and the overlay2 size. A layer already present under the same
        chain ID is returned as is. Memory does not grow with the layer. Raises
        DigestMismatchError, InvalidArchiveError, BlobNotFoundError (missing parent).
        """
        if parent is not None and self.get(parent) is None:
            raise BlobNotFoundError(str(parent), referenced_by="a new layer (its parent)")
        pending = pending_file(self.blob_dir, mode=0o600)  # named by its digest once checked
        try:
            hasher = Digester()
            blob_size = 0
            while chunk := blob.read(_CHUNK):
                hasher.update(chunk)
                pending.file.write(chunk)
                blob_size += len(chunk)
            pending.close()
            actual_blob = hasher.digest()
            if blob_digest is not None and actual_blob != blob_digest:
                raise DigestMismatchError(str(blob_digest), str(actual_blob), what="layer blob")
            with open(pending.name, "rb") as fh:
                compression = sniff(fh.read(8))
                fh.seek(0)
                reader = _HashingReader(open_decompressed(fh, compression))
                size = tar_unpacked_size(reader, label=str(blob_digest or actual_blob))  # type: ignore[arg-type]
                reader.drain()
            actual_diff = reader.hasher.digest()
            if diff_id is not None and actual_diff != diff_id:
                raise DigestMismatchError(str(diff_id), str(actual_diff), what="layer diff ID")
            if not media_type:
                media_type = {
                    Compression.NONE: mt.OCI_LAYER,
                    Compression.GZIP: mt.OCI_LAYER_GZIP,
                    Compression.ZSTD: mt.OCI_LAYER_ZSTD,
                }.get(compression, mt.OCI_LAYER)
            parents = [layer.diff_id for layer in self.chain(parent)]
            chain = chain_ids([*parents, actual_diff])[-1]
            existing = self.get(chain)
            if existing is not None:
                return existing
            final = self.blob_path(actual_blob)
            if not os.path.exists(final):
                pending.commit(final)
            info = LayerInfo(chain, actual_diff, parent, size, actual_blob, media_type, blob_size)
            self._write_layerdb(info)
            self._insert(info)
            return info
        finally:
            pending.discard()  # unless committed: a failure, or the layer was there already

    def _write_layerdb(self, info: LayerInfo) -> None:
        d = os.path.join(self.layerdb, info.chain_id.encoded)
        os.makedirs(d, mode=0o700, exist_ok=True)
        atomic_write(os.path.join(d, "diff"), str(info.diff_id).encode())
        atomic_write(os.path.join(d, "size"), str(info.size).encode())
        if info.parent is not None:
            atomic_write(os.path.join(d, "parent"), str(info.parent).encode())
        blob = {"digest": str(info.blob), "mediaType": info.media_type, "size": info.blob_size}
        # Written last: a layerdb directory without it is an interrupted register (ignored).
        atomic_write(os.path.join(d, "ocitool-blob"), json.dumps(blob).encode())

    def _insert(self, info: LayerInfo) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO layers(chain, diff_id, parent, size, blob, media_type, blob_size)"
            " VALUES (?,?,?,?,?,?,?)",
            (
                str(info.chain_id),
                str(info.diff_id),
                str(info.parent) if info.parent else "",
                info.size,
                str(info.blob) if info.blob else "",
                info.media_type,
                info.blob_size,
            ),
        )

    def release(self, top: Digest | None) -> list[Digest]:
        """Drop layers from ``top`` down while nothing references them; the chain IDs
        removed, top first (call after the image's own row is gone)."""
        removed: list[Digest] = []
        current = top
        while current is not None:
            info = self.get(current)
            if info is None or self.references(current) > 0:
                break
            self.db.execute("DELETE FROM layers WHERE chain=?", (str(current),))
            shutil.rmtree(os.path.join(self.layerdb, current.encoded), ignore_errors=True)
            (users,) = self.db.execute(
                "SELECT count(*) FROM layers WHERE blob=?", (str(info.blob),)
            ).fetchone()
            if not users and info.blob is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.blob_path(info.blob))
            removed.append(current)
            current = info.parent
        return removed

    def rebuild_index(self) -> None:
        """Refill the ``layers`` table from the layerdb files (after a crash or a lost index).
        A writable store removes what an interrupted register left; a read-only one skips it."""
        self.db.execute("DELETE FROM layers")
        try:
            names = os.listdir(self.layerdb)
        except FileNotFoundError:
            return
        for name in names:
            d = os.path.join(self.layerdb, name)
            try:
                diff, size, parent = read_layerdb_entry(d)
                blob_doc: Any = None
                if not self.readonly or os.path.exists(os.path.join(d, "ocitool-blob")):
                    with open(os.path.join(d, "ocitool-blob"), "rb") as fh:
                        blob_doc = json.loads(fh.read())
                info = LayerInfo(
                    Digest.from_hex(name),
                    diff,
                    parent,
                    size,
                    Digest.parse(blob_doc["digest"]) if blob_doc is not None else None,
                    str(blob_doc["mediaType"]) if blob_doc is not None else "",
                    int(blob_doc["size"]) if blob_doc is not None else 0,
                )
            except (OSError, ValueError, KeyError, TypeError):
                if not self.readonly:
                    # An interrupted register: no image can name it yet; remove it.
                    shutil.rmtree(d, ignore_errors=True)
                continue
            if info.blob is not None and not os.path.exists(self.blob_path(info.blob)):
                if not self.readonly:
                    shutil.rmtree(d, ignore_errors=True)
                continue
            self._insert(info)
