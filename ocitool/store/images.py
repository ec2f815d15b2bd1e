"""moby's ``image.Store`` over a :class:`~ocitool.store.backend.StoreBackend`, with indexes.

Every operation uses the SQLite index (:mod:`ocitool.store._index`), not a scan: ``search`` is a
range scan of the primary key (a unique prefix, an ambiguous one and a missing one are told
apart from two rows), ``children`` and ``heads`` use the parent index, ``delete`` touches its own
rows. A fresh process on a 100,000-image root therefore answers ``inspect PREFIX``, ``images``
and ``history`` without parsing 100,000 configs.

The backend's files are the truth: an in-memory backend gets an in-memory index, an
:class:`~ocitool.store.backend.FSBackend` gets one on disk that :meth:`ImageStore.rebuild_index`
refills from the files when it is missing or stale.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Final

from ocitool._record import record
from ocitool.errors import (
    AmbiguousImageError,
    BlobNotFoundError,
    ImageNotFoundError,
    InvalidConfigError,
    OcitoolError,
)
from ocitool.model.config import ImageConfig, validate_for_store
from ocitool.model.digest import SHA256, Digest
from ocitool.model.timestamp import Timestamp
from ocitool.store.backend import StoreBackend
from ocitool.store.content import LayerStore

__all__ = ["PULL_IDENTITY_KEY", "ImageRow", "ImageStore"]

PULL_IDENTITY_KEY: Final = "ocitoolPullIdentity"
"""The imagedb metadata key of an image's pull identity (ocitool's own; Docker ignores it)."""

_HEX = frozenset("0123456789abcdef")


@record(frozen=True)
class ImageRow:
    """What the index knows of an image without parsing its config."""

    id: Digest
    parent: Digest | None
    top_chain: Digest | None
    created: int
    created_text: str
    size: int
    labels: dict[str, str]
    os: str
    architecture: str
    variant: str


_COLUMNS = "id, parent, top_chain, created, created_text, size, labels, os, architecture, variant"


def _row(r: tuple[str, str, str, int, str, int, str, str, str, str]) -> ImageRow:
    return ImageRow(
        id=Digest(SHA256, r[0]),
        parent=Digest.parse(r[1]) if r[1] else None,
        top_chain=Digest.parse(r[2]) if r[2] else None,
        created=r[3],
        created_text=r[4],
        size=r[5],
        labels=json.loads(r[6]) if r[6] else {},
        os=r[7],
        architecture=r[8],
        variant=r[9],
    )


class ImageStore:
    """moby's ``image.Store``. ``layers`` (None: layers are neither checked nor counted, a
    scratch store for configs alone) holds the layer content; ``db`` the index (shared with
    the layer store). ``require_layers_type`` refuses a rootfs type other than ``layers``.

    Callers serialise writers (the root's file lock); the index is committed once per
    mutating operation, after the backend's files are written (metadata last).
    """

    def __init__(
        self,
        backend: StoreBackend,
        db: sqlite3.Connection,
        layers: LayerStore | None = None,
        *,
        require_layers_type: bool = True,
    ) -> None:
        self.backend = backend
        self.db = db
        self.layers = layers
        self.require_layers_type = require_layers_type

    # -- the index -------------------------------------------------------------------------

    def _index_image(self, id: Digest, config: ImageConfig, parent: Digest | None) -> None:
        rootfs = config.rootfs
        top = rootfs.chain_id() if rootfs is not None else None
        size = self.layers.total_size(top) if (self.layers is not None and top is not None) else 0
        created = config.created
        labels = config.config.labels if config.config is not None else {}
        self.db.execute(
            f"INSERT OR REPLACE INTO images({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                id.encoded,
                str(parent) if parent else "",
                str(top) if top else "",
                created.unix() if created is not None else 0,
                created.rfc3339nano() if created is not None else "",
                size,
                json.dumps(labels, sort_keys=True) if labels else "",
                config.os,
                config.architecture,
                config.variant,
            ),
        )

    def rebuild_index(self) -> int:
        """Refill the ``images`` table from the backend (parses every config: the slow path,
        taken only when the index is missing or stale). Configs that no longer validate or
        whose layers are gone are skipped, as moby's ``restore`` skips them. Returns the count."""
        self.db.execute("DELETE FROM images")
        ids = list(self.backend.ids())
        known = set(ids)
        count = 0
        for id in ids:
            try:
                config = ImageConfig.from_json(self.backend.get(id))
                top = config.rootfs.chain_id() if config.rootfs is not None else None
                if top is not None and self.layers is not None and self.layers.get(top) is None:
                    continue
            except OcitoolError:
                continue
            parent = self._stored_parent(id)
            self._index_image(id, config, parent if parent in known else None)
            count += 1
        self.db.commit()
        return count

    def _stored_parent(self, id: Digest) -> Digest | None:
        try:
            return Digest.parse(self.backend.get_metadata(id, "parent").decode("ascii").strip())
        except (LookupError, ValueError):
            return None

    def row(self, id: Digest) -> ImageRow | None:
        """The index row of an image, or None."""
        r = self.db.execute(
            f"SELECT {_COLUMNS} FROM images WHERE id=?", (Digest.parse(id).encoded,)
        ).fetchone()
        return _row(r) if r else None

    def rows(self) -> Iterator[ImageRow]:
        """Every image's index row (no config is parsed)."""
        for r in self.db.execute(f"SELECT {_COLUMNS} FROM images"):
            yield _row(r)

    def listing(self) -> list[tuple[str, str, int, str, int, str]]:
        """Every image's (ID hex, parent ID, created, created text, size, labels as JSON or '')
        as the index stores them: the columns ``docker images`` shows, without building a row
        object per image (a listing may hold 100,000)."""
        rows: list[tuple[str, str, int, str, int, str]] = self.db.execute(
            "SELECT id, parent, created, created_text, size, labels FROM images"
        ).fetchall()
        return rows

    # -- moby's Store ----------------------------------------------------------------------

    def create(self, config: bytes) -> Digest:
        """``Store.Create``: validate (as moby, plus rootfs type ``layers``), store the bytes
        as they are, and return the image ID (sha256 of the bytes). Idempotent. The top layer
        must be in the layer store. Raises InvalidConfigError."""
        image = validate_for_store(bytes(config), require_layers_type=self.require_layers_type)
        top = image.rootfs.chain_id() if image.rootfs is not None else None
        if top is not None and self.layers is not None and self.layers.get(top) is None:
            raise InvalidConfigError(
                f"failed to get layer {top}: layer does not exist", field="/rootfs/diff_ids"
            )
        id = self.backend.set(bytes(config))
        if self.row(id) is None:
            self._index_image(id, image, None)
        self.db.commit()
        return id

    def get(self, id: Digest) -> ImageConfig:
        """``Store.Get``: the config (re-verified), with the ID it is stored under. Raises
        ImageNotFoundError."""
        id = Digest.parse(id)
        if self.row(id) is None:
            raise ImageNotFoundError(str(id))
        try:
            raw = self.backend.get(id)
        except BlobNotFoundError:
            raise ImageNotFoundError(str(id)) from None
        return ImageConfig.from_json(raw, path=str(id))

    def exists(self, id: Digest) -> bool:
        return self.row(id) is not None

    def delete(self, id: Digest) -> list[Digest]:
        """``Store.Delete``: forget the image (its children lose their parent), release its
        layers, and return the chain IDs of the layers released (top first)."""
        id = Digest.parse(id)
        row = self.row(id)
        if row is None:
            raise ImageNotFoundError(f"unrecognized image ID {id}")
        for child in self.children(id):
            self.backend.delete_metadata(child, "parent")
        self.db.execute("UPDATE images SET parent='' WHERE parent=?", (str(id),))
        self.db.execute("DELETE FROM images WHERE id=?", (id.encoded,))
        self.backend.delete(id)
        released = self.layers.release(row.top_chain) if self.layers is not None else []
        self.db.commit()
        return released

    def search(self, partial: str) -> Digest:
        """``Store.Search``: a full ID or a unique prefix, ``sha256:``-prefixed or bare hex.

        A prefix matching nothing raises ImageNotFoundError; one matching several,
        AmbiguousImageError (moby's digestset tells them apart the same way).
        """
        hexpart = partial[len("sha256:") :] if partial.startswith("sha256:") else partial
        if not hexpart or not set(hexpart) <= _HEX or len(hexpart) > 64:
            raise ImageNotFoundError(partial)
        hits = self.db.execute(
            "SELECT id FROM images WHERE id >= ? AND id < ? ORDER BY id LIMIT 2",
            (hexpart, hexpart + "g"),
        ).fetchall()
        if not hits:
            raise ImageNotFoundError(partial)
        if len(hits) > 1 and hits[0][0] != hexpart:
            raise AmbiguousImageError(partial)
        return Digest(SHA256, hits[0][0])

    def set_parent(self, id: Digest, parent: Digest) -> None:
        """``Store.SetParent``. Raises ImageNotFoundError for an unknown image or parent."""
        id, parent = Digest.parse(id), Digest.parse(parent)
        if self.row(parent) is None:
            raise ImageNotFoundError(f"unknown parent image ID {parent}")
        if self.row(id) is None:
            raise ImageNotFoundError(str(id))
        self.backend.set_metadata(id, "parent", str(parent).encode("ascii"))
        self.db.execute("UPDATE images SET parent=? WHERE id=?", (str(parent), id.encoded))
        self.db.commit()

    def get_parent(self, id: Digest) -> Digest | None:
        """``Store.GetParent``: the parent ID, or None when it has none."""
        row = self.row(id)
        if row is None:
            raise ImageNotFoundError(str(id))
        return row.parent

    def set_last_updated(self, id: Digest, when: Timestamp | None = None) -> None:
        """``Store.SetLastUpdated``: now (or ``when``) as RFC 3339 with nanoseconds."""
        if self.row(id) is None:
            raise ImageNotFoundError(str(id))
        stamp = (when or Timestamp.now()).rfc3339nano()
        self.backend.set_metadata(Digest.parse(id), "lastUpdated", stamp.encode("ascii"))

    def get_last_updated(self, id: Digest) -> Timestamp:
        """``Store.GetLastUpdated``: the zero time when never tagged."""
        try:
            text = self.backend.get_metadata(Digest.parse(id), "lastUpdated").decode("ascii").strip()
            return Timestamp.parse(text)
        except (LookupError, ValueError):
            return Timestamp.zero()

    def set_built_locally(self, id: Digest) -> None:
        """``Store.SetBuiltLocally``: metadata ``builtLocally`` = one byte 0x01."""
        if self.row(id) is None:
            raise ImageNotFoundError(str(id))
        self.backend.set_metadata(Digest.parse(id), "builtLocally", b"\x01")

    def is_built_locally(self, id: Digest) -> bool:
        """``Store.IsBuiltLocally``."""
        try:
            return self.backend.get_metadata(Digest.parse(id), "builtLocally") == b"\x01"
        except LookupError:
            return False

    def pull_identity(self, id: Digest) -> list[str]:
        """The repositories the image came from (``pull``) or went to (``push``), normalised
        (``docker.io/library/alpine``), oldest first: moby's ``Identity.Pull``. Kept in the
        metadata key :data:`PULL_IDENTITY_KEY` as ``[{"Repository": ...}, ...]``; an unreadable
        record reads as none (it is only ever shown)."""
        try:
            doc = json.loads(self.backend.get_metadata(Digest.parse(id), PULL_IDENTITY_KEY))
        except (LookupError, ValueError):
            return []
        if not isinstance(doc, list):
            return []
        out: list[str] = []
        for item in doc:
            repo = item.get("Repository") if isinstance(item, dict) else None
            if isinstance(repo, str) and repo and repo not in out:
                out.append(repo)
        return out

    def add_pull_identity(self, id: Digest, repository: str) -> None:
        """Record that the image was pulled from (or pushed to) ``repository`` (a normalised
        repository name): appended once, the order kept. Raises ImageNotFoundError."""
        id = Digest.parse(id)
        if self.row(id) is None:
            raise ImageNotFoundError(str(id))
        known = self.pull_identity(id)
        if repository in known:
            return
        doc = [{"Repository": r} for r in [*known, repository]]
        self.backend.set_metadata(id, PULL_IDENTITY_KEY, json.dumps(doc, separators=(",", ":")).encode())

    def children(self, id: Digest) -> list[Digest]:
        """``Store.Children``: the images whose parent is ``id`` (sorted)."""
        return [
            Digest(SHA256, r[0])
            for r in self.db.execute(
                "SELECT id FROM images WHERE parent=? ORDER BY id", (str(Digest.parse(id)),)
            )
        ]

    def heads(self) -> list[Digest]:
        """``Store.Heads``: the images without children (sorted)."""
        return [
            Digest(SHA256, r[0])
            for r in self.db.execute(
                "SELECT id FROM images i WHERE NOT EXISTS "
                "(SELECT 1 FROM images c WHERE c.parent = 'sha256:' || i.id) ORDER BY id"
            )
        ]

    def map(self) -> dict[Digest, ImageConfig]:
        """``Store.Map``: every image with its config (parses them all)."""
        return {row.id: self.get(row.id) for row in self.rows()}

    def ids(self) -> list[Digest]:
        """Every image ID (sorted), from the index."""
        return [Digest(SHA256, r[0]) for r in self.db.execute("SELECT id FROM images ORDER BY id")]

    def __len__(self) -> int:
        """``Store.Len``."""
        (n,) = self.db.execute("SELECT count(*) FROM images").fetchone()
        return int(n)
