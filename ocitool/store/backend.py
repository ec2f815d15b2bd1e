"""moby's ``image.StoreBackend``: where image configs and their metadata live.

Two backends implement one protocol: :class:`MemoryBackend` and :class:`FSBackend`, the latter
in exactly Docker's imagedb layout (``image/<driver>/imagedb`` of a data root)::

    content/sha256/<hex>                 the config bytes, named by their sha256
    metadata/sha256/<hex>/parent         "sha256:<hex>" of the parent image
    metadata/sha256/<hex>/lastUpdated    time.RFC3339Nano of the last tag
    metadata/sha256/<hex>/builtLocally   one byte 0x01
    metadata/sha256/<hex>/ocitoolPullIdentity
                                         ocitool's own: moby's ``[]PullIdentity`` as JSON, the
                                         repositories the image was pulled from or pushed to
                                         (Docker reads only the keys it knows: it ignores this
                                         one, and ``rmi`` removes it with the directory)

Content is re-verified on every read (moby's ``fs.get`` does the same): a file whose bytes do
not hash to its name raises DigestMismatchError naming the file. Writes are atomic.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Callable, Iterator
from typing import Protocol, runtime_checkable

from ocitool._io.output import atomic_write
from ocitool.errors import BlobNotFoundError, DigestMismatchError, InvalidDocumentError
from ocitool.model.digest import SHA256, Digest, digest_bytes

__all__ = ["FSBackend", "MemoryBackend", "StoreBackend", "WalkFunc"]

WalkFunc = Callable[[Digest], None]
_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
_HEX64 = re.compile(r"^[a-f0-9]{64}$")


@runtime_checkable
class StoreBackend(Protocol):
    """moby's ``StoreBackend``: persistence for :class:`~ocitool.store.images.ImageStore`."""

    def walk(self, f: WalkFunc) -> None:
        """Call ``f`` with the ID of every stored config (order unspecified)."""

    def ids(self) -> Iterator[Digest]:
        """Every stored ID (what ``walk`` visits), as an iterator."""

    def get(self, id: Digest) -> bytes:
        """The config bytes; BlobNotFoundError when absent, DigestMismatchError when corrupt."""

    def set(self, data: bytes) -> Digest:
        """Store ``data`` under its sha256 (idempotent) and return that digest."""

    def delete(self, id: Digest) -> None:
        """Remove the config and all its metadata (absent: no error, as moby)."""

    def set_metadata(self, id: Digest, key: str, data: bytes) -> None:
        """Set one metadata value; BlobNotFoundError when the config is absent."""

    def get_metadata(self, id: Digest, key: str) -> bytes:
        """One metadata value; BlobNotFoundError (a LookupError) when unset."""

    def delete_metadata(self, id: Digest, key: str) -> None:
        """Remove one metadata value (unset: no error)."""


def _check_key(key: str) -> None:
    if not _KEY.match(key):
        raise InvalidDocumentError(f"invalid metadata key {key!r}")


def _check_id(id: Digest) -> Digest:
    d = Digest.parse(id)
    if d.algorithm != SHA256:
        raise InvalidDocumentError(f"image IDs are sha256 digests, not {d}")
    return d


class MemoryBackend:
    """A StoreBackend in memory (tests, and a scratch store)."""

    def __init__(self) -> None:
        self._content: dict[Digest, bytes] = {}
        self._meta: dict[Digest, dict[str, bytes]] = {}

    def walk(self, f: WalkFunc) -> None:
        for id in list(self._content):
            f(id)

    def ids(self) -> Iterator[Digest]:
        return iter(list(self._content))

    def get(self, id: Digest) -> bytes:
        id = _check_id(id)
        try:
            data = self._content[id]
        except KeyError:
            raise BlobNotFoundError(str(id), referenced_by="image store") from None
        actual = digest_bytes(data)
        if actual != id:
            raise DigestMismatchError(str(id), str(actual), what="image config")
        return data

    def set(self, data: bytes) -> Digest:
        id = digest_bytes(bytes(data))
        self._content[id] = bytes(data)
        return id

    def delete(self, id: Digest) -> None:
        id = _check_id(id)
        self._content.pop(id, None)
        self._meta.pop(id, None)

    def set_metadata(self, id: Digest, key: str, data: bytes) -> None:
        id = _check_id(id)
        _check_key(key)
        if id not in self._content:
            raise BlobNotFoundError(str(id), referenced_by="image store")
        self._meta.setdefault(id, {})[key] = bytes(data)

    def get_metadata(self, id: Digest, key: str) -> bytes:
        id = _check_id(id)
        _check_key(key)
        try:
            return self._meta[id][key]
        except KeyError:
            raise BlobNotFoundError(f"{id}/{key}", referenced_by="image metadata") from None

    def delete_metadata(self, id: Digest, key: str) -> None:
        id = _check_id(id)
        _check_key(key)
        self._meta.get(id, {}).pop(key, None)


class FSBackend:
    """A StoreBackend on disk in Docker's imagedb layout under ``root`` (see module docstring).

    ``readonly`` opens an existing imagedb (a real Docker data root) without creating or
    writing anything; writes then raise PermissionError. ``sync=False`` skips the fsyncs of
    atomic writes (still atomic, not durable: for bulk fills such as benchmarks).
    """

    def __init__(self, root: str, *, readonly: bool = False, sync: bool = True) -> None:
        self.root = os.path.abspath(root)
        self.readonly = readonly
        self.sync = sync
        self._content_dir = os.path.join(self.root, "content", SHA256)
        self._meta_dir = os.path.join(self.root, "metadata", SHA256)
        if not readonly:
            os.makedirs(self._content_dir, mode=0o700, exist_ok=True)
            os.makedirs(self._meta_dir, mode=0o700, exist_ok=True)

    def _content_path(self, id: Digest) -> str:
        return os.path.join(self._content_dir, _check_id(id).encoded)

    def _meta_path(self, id: Digest, key: str = "") -> str:
        if key:
            _check_key(key)
        base = os.path.join(self._meta_dir, _check_id(id).encoded)
        return os.path.join(base, key) if key else base

    def _writable(self) -> None:
        if self.readonly:
            raise PermissionError(f"{self.root}: opened read-only")

    def ids(self) -> Iterator[Digest]:
        try:
            names = os.listdir(self._content_dir)
        except FileNotFoundError:
            return iter(())
        return (Digest(SHA256, n) for n in names if _HEX64.match(n))

    def walk(self, f: WalkFunc) -> None:
        for id in self.ids():
            f(id)

    def get(self, id: Digest) -> bytes:
        path = self._content_path(id)
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except FileNotFoundError:
            raise BlobNotFoundError(str(id), referenced_by="image store", path=path) from None
        actual = digest_bytes(data)
        if actual != id:
            raise DigestMismatchError(str(id), str(actual), path=path, what="image config")
        return data

    def set(self, data: bytes) -> Digest:
        self._writable()
        data = bytes(data)
        id = digest_bytes(data)
        path = self._content_path(id)
        if not os.path.exists(path):
            atomic_write(path, data, sync=self.sync)
        return id

    def delete(self, id: Digest) -> None:
        self._writable()
        # Metadata first: a crash in between leaves orphan metadata, never a config without
        # the metadata that said whose child it is.
        shutil.rmtree(self._meta_path(id), ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._content_path(id))

    def set_metadata(self, id: Digest, key: str, data: bytes) -> None:
        self._writable()
        if not os.path.exists(self._content_path(id)):
            raise BlobNotFoundError(str(id), referenced_by="image store", path=self._content_path(id))
        base = self._meta_path(id)
        os.makedirs(base, mode=0o700, exist_ok=True)
        _check_key(key)
        atomic_write(os.path.join(base, key), bytes(data), sync=self.sync)

    def get_metadata(self, id: Digest, key: str) -> bytes:
        path = self._meta_path(id, key)
        try:
            with open(path, "rb") as fh:
                return fh.read()
        except FileNotFoundError:
            raise BlobNotFoundError(f"{id}/{key}", referenced_by="image metadata", path=path) from None

    def delete_metadata(self, id: Digest, key: str) -> None:
        self._writable()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._meta_path(id, key))
