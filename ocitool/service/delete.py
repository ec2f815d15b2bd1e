"""The image service's deletions, as moby's ``daemon/images`` ``image_delete.go`` and
``image_prune.go``: ``rmi`` (``ImageDelete``: untag vs delete, hard and soft conflicts,
``force``, pruning untagged parents) and ``image prune`` (``ImagesPrune``).

Each call holds the root's exclusive lock while it deletes.
"""

from __future__ import annotations

from collections.abc import Sequence

from ocitool._record import record, replace
from ocitool.engineapi.filters import ImageFilters, match_kv
from ocitool.engineapi.responses import DeleteResponse, PruneReport
from ocitool.engineapi.timetypes import get_timestamp
from ocitool.errors import ImageConflictError, OcitoolError
from ocitool.model.digest import Digest
from ocitool.model.reference import Reference, parse_normalized
from ocitool.store.images import ImageRow
from ocitool.store.lookup import get_image, is_id_prefix
from ocitool.store.root import StoreRoot

__all__ = ["DeleteService", "RmiResult"]


@record(frozen=True)
class RmiResult:
    """What ``rmi`` did for one argument: its records, or the error that stopped it."""

    ref: str
    records: list[DeleteResponse]
    error: OcitoolError | None = None


class DeleteService:
    """The deleting commands of :class:`~ocitool.service.service.ImageService`."""

    root: str

    def rmi(self, refs: Sequence[str], *, force: bool = False, prune: bool = True) -> list[RmiResult]:
        """``docker rmi``: one RmiResult per argument, in order (an error does not stop the
        others, as the docker CLI goes on)."""
        out: list[RmiResult] = []
        with StoreRoot.open(self.root, write=True) as r:
            for ref in refs:
                records: list[DeleteResponse] = []
                try:
                    self._image_delete(r, ref, force=force, prune=prune, records=records)
                    out.append(RmiResult(ref, records))
                except OcitoolError as exc:
                    out.append(RmiResult(ref, records, exc))
        return out

    def _image_delete(
        self, r: StoreRoot, image_ref: str, *, force: bool, prune: bool, records: list[DeleteResponse]
    ) -> None:
        """moby's ``ImageDelete`` (no containers exist here)."""
        id = get_image(r.images, r.references, image_ref)
        repo_refs = r.references.references(id)
        removed_repository_ref = False
        if not is_id_prefix(str(id), image_ref):
            parsed = parse_normalized(image_ref).with_default_tag()
            if parsed.tag and parsed.digest:
                parsed = replace(parsed, tag="")
            r.references.delete(parsed)
            records.append(DeleteResponse(untagged=parsed.familiar()))
            repo_refs = r.references.references(id)
            if not parsed.digest:
                found_tag = any(not x.digest and x.name == parsed.name for x in repo_refs)
                if not found_tag:
                    remaining = []
                    for x in repo_refs:
                        if x.digest and x.name == parsed.name:
                            r.references.delete(x)
                            records.append(DeleteResponse(untagged=x.familiar()))
                        else:
                            remaining.append(x)
                    repo_refs = remaining
            if repo_refs:
                return
            removed_repository_ref = True
        elif _is_single_reference(repo_refs):
            conflict = self._conflict(r, id, hard=True, soft=not force, active_ref=False)
            if conflict is not None:
                raise conflict
            for x in repo_refs:
                r.references.delete(x)
                records.append(DeleteResponse(untagged=x.familiar()))
        self._delete_helper(r, id, records, force=force, prune=prune, quiet=removed_repository_ref)

    @staticmethod
    def _conflict(
        r: StoreRoot, id: Digest, *, hard: bool, soft: bool, active_ref: bool = True
    ) -> ImageConflictError | None:
        """moby's ``checkImageDeleteConflict`` (hard: dependent children; soft: references)."""
        if hard and r.images.children(id):
            return ImageConflictError(str(id), "image has dependent child images", hard=True)
        if soft and active_ref and r.references.references(id):
            return ImageConflictError(str(id), "image is referenced in multiple repositories", hard=False)
        return None

    def _delete_helper(
        self,
        r: StoreRoot,
        id: Digest,
        records: list[DeleteResponse],
        *,
        force: bool,
        prune: bool,
        quiet: bool,
    ) -> None:
        """moby's ``imageDeleteHelper``: delete the image and, with ``prune``, its untagged
        parents while they have no other children (quietly stopping at a conflict)."""
        conflict = self._conflict(r, id, hard=True, soft=not force)
        if conflict is not None:
            if quiet and not self._dangling(r, id):
                return
            raise conflict
        parent = r.images.get_parent(id)
        for x in r.references.references(id):
            r.references.delete(x)
            records.append(DeleteResponse(untagged=x.familiar()))
        released = r.images.delete(id)
        records.append(DeleteResponse(deleted=str(id)))
        records.extend(DeleteResponse(deleted=str(c)) for c in released)
        if prune and parent is not None and r.images.exists(parent):
            self._delete_helper(r, parent, records, force=False, prune=True, quiet=True)

    @staticmethod
    def _dangling(r: StoreRoot, id: Digest) -> bool:
        """moby's ``imageIsDangling``: no references and no children."""
        return not r.references.references(id) and not r.images.children(id)

    # -- prune ----------------------------------------------------------------------------

    def prune(self, *, all_images: bool = False, filters: ImageFilters | None = None) -> PruneReport:
        """``docker image prune`` (``ImagesPrune``): dangling images by default, every image
        without a container with ``all_images``; ``until`` and ``label`` filters."""
        filters = filters or ImageFilters()
        dangling_only = not all_images if filters.dangling is None else filters.dangling
        until = min((get_timestamp(u) for u in filters.until), default=None)
        deleted: list[DeleteResponse] = []
        with StoreRoot.open(self.root, write=True) as r:
            sizes = {str(info.chain_id): info.size for info in r.layers.all()}
            candidates = r.images.heads() if dangling_only else r.images.ids()
            rows = [row for row in (r.images.row(i) for i in candidates) if row is not None]
            rows.sort(key=lambda row: (-row.created, row.id.encoded))
            top: list[ImageRow] = []
            for row in rows:
                if not r.references.references(row.id) and r.images.children(row.id):
                    continue
                if until is not None and (not row.created_text or row.created > until):
                    continue
                if (filters.labels or filters.not_labels) and not self._labels_ok(r, row, filters):
                    continue
                top.append(row)
            for row in top:
                if not r.images.exists(row.id):
                    continue
                refs = r.references.references(row.id)
                records: list[DeleteResponse] = []
                if refs:
                    should = not dangling_only or not any(x.tag and not x.digest for x in refs)
                    if not should:
                        continue
                    for x in refs:
                        try:
                            self._image_delete(r, str(x), force=False, prune=True, records=records)
                        except OcitoolError:
                            continue
                else:
                    try:
                        self._image_delete(r, row.id.encoded, force=False, prune=True, records=records)
                    except OcitoolError:
                        continue
                deleted.extend(records)
        reclaimed = sum(sizes.get(d.deleted, 0) for d in deleted if d.deleted)
        return PruneReport(deleted, reclaimed)

    @staticmethod
    def _labels_ok(r: StoreRoot, row: ImageRow, filters: ImageFilters) -> bool:
        labels = row.labels
        if filters.labels and not match_kv(filters.labels, labels):
            return False
        return not (filters.not_labels and match_kv([x.lstrip("!") for x in filters.not_labels], labels))


def _is_single_reference(refs: Sequence[Reference]) -> bool:
    """moby's ``isSingleReference``: at most one tag, and digests only of its repository."""
    if len(refs) <= 1:
        return len(refs) == 1
    single: Reference | None = None
    canonical: set[str] = set()
    for x in refs:
        if x.digest:
            canonical.add(x.name)
        elif single is None:
            single = x
        else:
            return False
    if single is None:
        single = refs[0]
    return len(canonical) == 1 and single.name in canonical
