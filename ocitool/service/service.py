"""Docker's image service on an :class:`~ocitool.store.root.StoreRoot`, without a daemon.

:class:`ImageService` reproduces moby v28's classic-store ``daemon/images`` operations with the
Engine API shapes, one module per group as moby's files are split:

* :mod:`ocitool.service.list`: ``images`` (``Images`` with its filters), ``inspect``
  (``ImageInspect``), ``history`` (``ImageHistory``, walking parents), ``disk_usage``
  (``ImageDiskUsage`` for ``system df``); and :func:`~ocitool.service.list.docker_root_images`
  for a real Docker data root, read-only;
* :mod:`ocitool.service.delete`: ``rmi`` (``ImageDelete``: untag vs delete, hard and soft
  conflicts, ``force``) and ``prune`` (``ImagesPrune``);
* :mod:`ocitool.service.imports`: ``import_image`` (``ImportImage`` with ``--change``),
  ``commit`` (``CommitImage``) and ``squash`` (``SquashImage``);
* :mod:`ocitool.service.loadsave`: ``load`` (``Loaded image: …`` lines) and ``save``;
* :mod:`ocitool.service.build`: ``build`` (the classic builder, Dockerfiles without ``RUN``);
* :mod:`ocitool.service.registry`: ``pull`` and ``push`` (moby's ``distribution``);
* here: ``tag`` (``TagImage``).

Each method opens the root for the duration of the call: shared lock for reads, exclusive for
writes (see :mod:`ocitool.store.root`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ocitool.errors import InvalidReferenceError
from ocitool.model.digest import Digest
from ocitool.model.reference import parse_normalized
from ocitool.service.delete import DeleteService
from ocitool.service.imports import ImportService
from ocitool.service.list import ListService
from ocitool.service.loadsave import LoadSaveService
from ocitool.service.registry import RegistryService
from ocitool.store.lookup import get_image
from ocitool.store.root import StoreRoot

if TYPE_CHECKING:
    from ocitool.service.build import BuildResult

__all__ = ["ImageService"]


class ImageService(ListService, DeleteService, ImportService, LoadSaveService, RegistryService):
    """Docker's image commands on the store at ``root`` (created on first write)."""

    def __init__(self, root: str) -> None:
        self.root = root

    def build(self, context: str, **options: Any) -> BuildResult:
        """``docker build`` with the classic builder, Dockerfiles without ``RUN``: see
        :func:`ocitool.service.build.build` (its keyword options). Imported on first use: the
        builder is not loaded for the other commands."""
        from ocitool.service.build import build

        return build(context, root=self.root, **options)

    def tag(self, source: str, target: str) -> Digest:
        """``docker tag SOURCE TARGET`` (moves an existing tag, as ``TagImage`` forces)."""
        with StoreRoot.open(self.root, write=True) as r:
            id = get_image(r.images, r.references, source)
            ref = parse_normalized(target)
            if ref.digest:
                raise InvalidReferenceError(target, "refusing to create a tag with a digest reference")
            r.references.add_tag(ref, id, force=True)
            r.images.set_last_updated(id)
            return id
