"""The Engine API's answers to the image store's write and accounting calls (Engine v28):
``image.DeleteResponse`` (``DELETE /images/{name}``), ``image.PruneReport``
(``POST /images/prune``) and ``types.DiskUsage`` (``GET /system/df``), each with ``to_json()``
in the Go struct's field order and ``omitempty`` rules.
"""

from __future__ import annotations

from typing import Any

from ocitool._record import record
from ocitool.engineapi.summary import Summary

__all__ = ["DeleteResponse", "DiskUsage", "PruneReport"]


@record(frozen=True)
class DeleteResponse:
    """``image.DeleteResponse``: one ``Untagged`` or ``Deleted`` line of ``docker rmi``."""

    untagged: str = ""
    deleted: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.deleted:
            out["Deleted"] = self.deleted
        if self.untagged:
            out["Untagged"] = self.untagged
        return out


@record(frozen=True)
class PruneReport:
    """``image.PruneReport``."""

    images_deleted: list[DeleteResponse]
    space_reclaimed: int

    def to_json(self) -> dict[str, Any]:
        return {
            "ImagesDeleted": [d.to_json() for d in self.images_deleted] or None,
            "SpaceReclaimed": self.space_reclaimed,
        }


@record(frozen=True)
class DiskUsage:
    """``types.DiskUsage`` as far as images go (no containers, volumes or build cache here)."""

    layers_size: int
    images: list[Summary]

    def to_json(self) -> dict[str, Any]:
        return {
            "LayersSize": self.layers_size,
            "Images": [s.to_json() for s in self.images],
            "Containers": [],
            "Volumes": [],
            "BuildCache": [],
        }
