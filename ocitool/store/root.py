"""A whole ``--root`` directory: Docker's layout plus ocitool's index, lock and layer blobs.

::

    ROOT/image/overlay2/imagedb/...           FSBackend (Docker's imagedb)
    ROOT/image/overlay2/layerdb/sha256/...    layer metadata (Docker's layerdb files)
    ROOT/image/overlay2/repositories.json     ReferenceStore
    ROOT/image/overlay2/ocitool-index.sqlite  the indexes (derived; rebuilt when missing/stale)
    ROOT/content/                             layer blobs, an OCI layout
    ROOT/.ocitool.lock                        flock: one writer, or many readers

Crash safety: a writer marks the index stale (``ocitool-index.dirty``) before it changes
anything and clears the mark after the index is committed; files are written atomically, a
config before its metadata. A root opened with the mark present (or no index) rebuilds the
index from the files, so an interrupted operation leaves a consistent store.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextlib import contextmanager

from ocitool._io.output import atomic_write, file_lock
from ocitool.store._index import open_index
from ocitool.store.backend import FSBackend
from ocitool.store.content import LayerStore
from ocitool.store.images import ImageStore
from ocitool.store.references import ReferenceStore

__all__ = ["DRIVER", "StoreRoot", "default_root"]

DRIVER = "overlay2"


def default_root() -> str:
    """``$OCITOOL_ROOT``, else ``<user data dir>/ocitool/root``."""
    env = os.environ.get("OCITOOL_ROOT")
    if env:
        return env
    import platformdirs

    return os.path.join(platformdirs.user_data_dir("ocitool"), "root")


class StoreRoot:
    """The stores of one root. Use :meth:`open` (a context manager holding the lock)."""

    def __init__(self, path: str) -> None:
        self.path = os.path.abspath(path)
        self.driver_dir = os.path.join(self.path, "image", DRIVER)
        os.makedirs(self.driver_dir, mode=0o700, exist_ok=True)
        self.index_path = os.path.join(self.driver_dir, "ocitool-index.sqlite")
        self.dirty_path = os.path.join(self.driver_dir, "ocitool-index.dirty")
        fresh_index = not os.path.exists(self.index_path)
        self.db = open_index(self.index_path)
        self.backend = FSBackend(os.path.join(self.driver_dir, "imagedb"))
        self.layers = LayerStore(self.path, os.path.join(self.driver_dir, "layerdb"), self.db)
        self.images = ImageStore(self.backend, self.db, self.layers)
        self.references = ReferenceStore(os.path.join(self.driver_dir, "repositories.json"))
        self.stale = fresh_index or os.path.exists(self.dirty_path)

    @classmethod
    @contextmanager
    def open(cls, path: str, *, write: bool = False) -> Iterator[StoreRoot]:
        """Lock ``path`` (exclusive for ``write``, shared otherwise), rebuild a stale index,
        and yield the root. A writer marks the index stale for the duration of the block."""
        os.makedirs(path, mode=0o700, exist_ok=True)
        lock = os.path.join(path, ".ocitool.lock")
        stale = not os.path.exists(
            os.path.join(path, "image", DRIVER, "ocitool-index.sqlite")
        ) or os.path.exists(os.path.join(path, "image", DRIVER, "ocitool-index.dirty"))
        with file_lock(lock, shared=not (write or stale)):
            root = cls(path)
            try:
                if root.stale:
                    root.rebuild_index()
                if write:
                    atomic_write(root.dirty_path, b"")
                yield root
                if write:
                    root.db.commit()
                    os.unlink(root.dirty_path)
            finally:
                root.db.close()

    def rebuild_index(self) -> None:
        """Rebuild the layer and image indexes from the files in Docker's layout, and remove
        the temporary files of a writer that died (callers hold the exclusive lock)."""
        self._remove_temporaries()
        self.layers.rebuild_index()
        self.images.rebuild_index()
        # Layers no image holds (a load interrupted before its image was created) are
        # released, as moby's layer store releases unreferenced layers.
        for info in list(self.layers.all()):
            if self.layers.get(info.chain_id) is not None and self.layers.references(info.chain_id) == 0:
                self.layers.release(info.chain_id)
        self.db.commit()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.dirty_path)
        self.stale = False

    def _remove_temporaries(self) -> None:
        # Every file is written to a ".tmp-*" sibling and renamed into place: one left behind
        # is a write that never finished (a layer blob can be gigabytes).
        for top in (self.layers.blob_dir, self.driver_dir):
            for dirpath, _dirnames, filenames in os.walk(top):
                for name in filenames:
                    if name.startswith(".tmp-"):
                        with contextlib.suppress(FileNotFoundError):
                            os.unlink(os.path.join(dirpath, name))
