"""The image service's read side, as moby's ``daemon/images`` ``image_list.go``,
``image_inspect.go``, ``image_history.go`` and ``ImageDiskUsage``: ``images``, ``inspect``,
``history`` and ``system df``.

``images``, ``inspect`` and ``history`` are the queries of :mod:`ocitool.ops.query` over the
store's :class:`~ocitool.store.source.StoreSource`, the same code that answers them for an
archive; each call holds the root's shared lock while it reads.
"""

from __future__ import annotations

from collections.abc import Sequence

from ocitool.engineapi.filters import ImageFilters
from ocitool.engineapi.responses import DiskUsage
from ocitool.engineapi.summary import HistoryResponseItem, InspectResponse, Summary
from ocitool.model.platform import Platform
from ocitool.ops import query
from ocitool.store.dockerroot import open_docker_root
from ocitool.store.references import repo_names
from ocitool.store.root import StoreRoot
from ocitool.store.source import open_store

__all__ = ["ListService", "docker_root_images"]


class ListService:
    """The read commands of :class:`~ocitool.service.service.ImageService`."""

    root: str

    def images(self, *, all_images: bool = False, filters: ImageFilters | None = None) -> list[Summary]:
        """``docker images`` (``Images``): from the index alone, no config is parsed."""
        with open_store(self.root) as src:
            return query.images([src], all_images=all_images, filters=filters)

    def inspect(self, refs: Sequence[str], *, platform: Platform | None = None) -> list[InspectResponse]:
        """``docker image inspect`` of each reference (first error raises)."""
        if not refs:
            return []
        with open_store(self.root) as src:
            return query.inspect(src, refs, platform=platform)

    def history(self, ref: str, *, platform: Platform | None = None) -> list[HistoryResponseItem]:
        """``docker history`` (``ImageHistory``): per-layer sizes from the layer store, IDs
        and tags walked up the parents."""
        with open_store(self.root) as src:
            return query.history(src, ref, platform=platform)

    def disk_usage(self) -> DiskUsage:
        """``ImageDiskUsage`` + the images of ``system df``: LayersSize counts each layer
        once; each image's SharedSize is the size of its layers that other images use too."""
        with StoreRoot.open(self.root) as r:
            refs = r.references.all()
            sizes = {str(info.chain_id): info for info in r.layers.all()}
            layer_refs: dict[str, int] = {}
            chains_of: dict[str, list[str]] = {}
            rows = list(r.images.rows())
            for row in rows:
                chain: list[str] = []
                cur = row.top_chain
                while cur is not None and str(cur) in sizes:
                    chain.append(str(cur))
                    cur = sizes[str(cur)].parent
                chains_of[row.id.encoded] = chain
                for c in chain:
                    layer_refs[c] = layer_refs.get(c, 0) + 1
            total = sum(sizes[c].size for c in layer_refs)
            images = []
            for row in sorted(rows, key=lambda x: -x.created):
                tags, digests = repo_names(refs.get(str(row.id), []))
                shared = sum(sizes[c].size for c in chains_of[row.id.encoded] if layer_refs[c] > 1)
                images.append(
                    Summary(
                        id=str(row.id),
                        parent_id=str(row.parent) if row.parent else "",
                        repo_tags=tags,
                        repo_digests=digests,
                        created=row.created,
                        size=row.size,
                        labels=row.labels,
                        containers=0,
                        shared_size=shared,
                    )
                )
            return DiskUsage(total, images)


def docker_root_images(
    docker_root: str, *, all_images: bool = False, filters: ImageFilters | None = None, driver: str = ""
) -> list[Summary]:
    """``docker images`` of a real Docker data root, read-only (see
    :mod:`ocitool.store.dockerroot`): configs from its imagedb, parents from imagedb metadata,
    tags from ``repositories.json``, sizes from layerdb. Nothing is written."""
    with open_docker_root(docker_root, driver=driver) as src:
        return query.images([src], all_images=all_images, filters=filters)
