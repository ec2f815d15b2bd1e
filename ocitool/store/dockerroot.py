"""A real Docker data root (``/var/lib/docker``), read as a store, read-only.

Docker's classic image store under ``image/<driver>/`` is the layout :mod:`ocitool.store`
writes: configs and their metadata in ``imagedb`` (:class:`~ocitool.store.backend.FSBackend`),
names in ``repositories.json`` (:class:`~ocitool.store.references.ReferenceStore`), layers in
``layerdb`` (:class:`~ocitool.store.content.LayerStore`, whose entries Docker writes with a
``diff``, ``size`` and ``parent`` but no blob: the driver keeps the content unpacked). The same
classes read it here, opened read-only, with an index built in memory as moby's daemon builds
its own at start: every config is parsed once, and the images a daemon would skip on restore
(an invalid config, a missing layer) are skipped. Nothing is written to the root.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from ocitool.errors import ImageNotFoundError
from ocitool.store._index import open_index
from ocitool.store.backend import FSBackend
from ocitool.store.content import LayerStore
from ocitool.store.images import ImageStore
from ocitool.store.references import ReferenceStore
from ocitool.store.root import DRIVER
from ocitool.store.source import StoreSource

__all__ = ["DockerRoot", "open_docker_root"]


class DockerRoot:
    """The image store of a Docker data root at ``path``, for ``driver`` (by default
    ``overlay2`` when present, else the first driver directory). Raises ImageNotFoundError
    when the root has no ``image/<driver>`` directory. Call :meth:`close` when done."""

    def __init__(self, path: str, *, driver: str = "") -> None:
        base = os.path.join(path, "image")
        drivers = [driver] if driver else sorted(os.listdir(base)) if os.path.isdir(base) else []
        if not drivers:
            raise ImageNotFoundError("(no image/<driver> directory)", path=path)
        driver_dir = os.path.join(base, DRIVER if DRIVER in drivers else drivers[0])
        self.path = os.path.abspath(path)
        self.db = open_index(None)
        self.backend = FSBackend(os.path.join(driver_dir, "imagedb"), readonly=True)
        self.layers = LayerStore(path, os.path.join(driver_dir, "layerdb"), self.db, readonly=True)
        self.images = ImageStore(self.backend, self.db, self.layers)
        self.references = ReferenceStore(os.path.join(driver_dir, "repositories.json"), readonly=True)
        self.layers.rebuild_index()
        self.images.rebuild_index()

    def close(self) -> None:
        self.db.close()


@contextmanager
def open_docker_root(path: str, *, driver: str = "") -> Iterator[StoreSource]:
    """The Docker data root at ``path`` as a source (see :class:`DockerRoot`)."""
    root = DockerRoot(path, driver=driver)
    try:
        yield StoreSource(root)
    finally:
        root.close()
