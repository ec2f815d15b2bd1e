"""Docker's image service on an :class:`~ocitool.store.root.StoreRoot`, without a daemon.

:class:`ImageService` reproduces moby v28's classic-store ``daemon/images`` operations with the
Engine API shapes: ``load`` (``Loaded image: …`` lines), ``tag``, ``rmi`` (``ImageDelete``:
untag vs delete, hard and soft conflicts, ``force``, ``prune``), ``prune`` (``ImagesPrune``),
``images`` (``Images`` with its filters), ``history`` (``ImageHistory``, walking parents),
``inspect`` (``ImageInspect``), ``import_image`` (``ImportImage`` with ``--change``),
``commit`` (``CommitImage``: a child image from a layer tar) and ``disk_usage``
(``ImageDiskUsage`` for ``system df``).

Each method opens the root for the duration of the call: shared lock for reads, exclusive for
writes (see :mod:`ocitool.store.root`). :func:`docker_root_images` lists a real Docker data
root read-only.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import IO, Any

from ocitool._io.output import atomic_write
from ocitool.compression import Compression, sniff
from ocitool.engineapi.summary import (
    HistoryResponseItem,
    InspectResponse,
    Metadata,
    Summary,
    history_items,
    inspect_response,
)
from ocitool.errors import (
    BlobNotFoundError,
    ImageConflictError,
    ImageNotFoundError,
    InvalidConfigError,
    InvalidReferenceError,
    OcitoolError,
    PlatformNotFoundError,
)
from ocitool.formats.detect import open_source
from ocitool.image.lookup import select_images
from ocitool.model import mediatypes as mt
from ocitool.model.config import (
    DOCKER_VERSION,
    ChildConfig,
    ContainerConfig,
    History,
    ImageConfig,
    RootFS,
    chain_ids,
)
from ocitool.model.digest import SHA256, Digest, digest_bytes
from ocitool.model.platform import Platform, host_platform, only_platform_with_fallback
from ocitool.model.reference import Reference, parse_normalized, try_parse_normalized
from ocitool.model.timestamp import Timestamp
from ocitool.ops.query import _familiar_match
from ocitool.store.backend import FSBackend
from ocitool.store.changes import apply_changes
from ocitool.store.images import ImageRow
from ocitool.store.references import ReferenceStore
from ocitool.store.root import DRIVER, StoreRoot

__all__ = [
    "DeleteResponse",
    "DiskUsage",
    "ImageService",
    "LoadResult",
    "PruneReport",
    "RmiResult",
    "StoreFilters",
    "docker_root_images",
]

_FULL_ID = re.compile(r"^sha256:[a-f0-9]{64}$")
_OCI_LAYER_TYPES = {
    Compression.NONE: mt.OCI_LAYER,
    Compression.GZIP: mt.OCI_LAYER_GZIP,
    Compression.ZSTD: mt.OCI_LAYER_ZSTD,
}


# -- Engine API shapes ----------------------------------------------------------------------


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class RmiResult:
    """What ``rmi`` did for one argument: its records, or the error that stopped it."""

    ref: str
    records: list[DeleteResponse]
    error: OcitoolError | None = None


@dataclass(frozen=True)
class PruneReport:
    """``image.PruneReport``."""

    images_deleted: list[DeleteResponse]
    space_reclaimed: int

    def to_json(self) -> dict[str, Any]:
        return {
            "ImagesDeleted": [d.to_json() for d in self.images_deleted] or None,
            "SpaceReclaimed": self.space_reclaimed,
        }


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class LoadResult:
    """``docker load``: the lines it prints and the IDs loaded, in order."""

    lines: list[str]
    image_ids: list[str]


# -- filters --------------------------------------------------------------------------------

_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h))+$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def _timestamp(value: str, now: float | None = None) -> float:
    """docker's ``timetypes.GetTimestamp``: a Go duration before now, a Unix time, or an
    RFC 3339 date/time (local time when no zone is given). Raises InvalidReferenceError."""
    now = time.time() if now is None else now
    if _DURATION.match(value):
        return now - sum(float(n) * _UNIT[u] for n, u in _DURATION_PART.findall(value))
    if re.match(r"^\d+(\.\d+)?$", value):
        return float(value)
    for candidate in (value, value + "T00:00:00Z" if len(value) == 10 else ""):
        if not candidate:
            continue
        with contextlib.suppress(ValueError):
            return Timestamp.parse(candidate).unix_nano() / 1e9
    import datetime as _dt

    for fmt in ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        try:
            return _dt.datetime.strptime(value, fmt).timestamp()
        except ValueError:
            continue
    raise InvalidReferenceError(value, "cannot parse as a timestamp or duration")


@dataclass(frozen=True)
class StoreFilters:
    """``--filter`` for store-mode ``images`` and ``image prune``: dangling, label (and
    ``label!`` for prune), before, since, reference, until."""

    dangling: bool | None = None
    labels: tuple[str, ...] = ()
    not_labels: tuple[str, ...] = ()
    before: tuple[str, ...] = ()
    since: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    until: tuple[str, ...] = ()

    @classmethod
    def parse(cls, filters: Sequence[str], *, allowed: Sequence[str] | None = None) -> StoreFilters:
        """From ``key=value`` strings; an unknown key is InvalidReferenceError (docker's
        "invalid filter")."""
        values: dict[str, list[str]] = {}
        for f in filters:
            key, sep, value = f.partition("=")
            key = key.strip().lower()
            if not sep:
                raise InvalidReferenceError(f, "bad format of filter (expected name=value)")
            if key == "label!" or (key == "label" and value.startswith("!")):
                key = "label!"
            ok = allowed or ("dangling", "label", "before", "since", "reference", "until")
            if key not in ok and not (key == "label!" and "label" in ok):
                raise InvalidReferenceError(f, f"invalid filter '{key}'")
            values.setdefault(key, []).append(value)
        dangling: bool | None = None
        for v in values.get("dangling", []):
            if v.lower() not in ("true", "false", "1", "0"):
                raise InvalidReferenceError(v, f"invalid filter 'dangling={v}'")
            dangling = v.lower() in ("true", "1")
        return cls(
            dangling,
            tuple(values.get("label", [])),
            tuple(values.get("label!", [])),
            tuple(values.get("before", [])),
            tuple(values.get("since", [])),
            tuple(values.get("reference", [])),
            tuple(values.get("until", [])),
        )


def _match_kv(wanted: Sequence[str], labels: dict[str, str]) -> bool:
    """filters.Args.MatchKVList: every ``key`` or ``key=value`` present."""
    for want in wanted:
        key, sep, value = want.partition("=")
        if key not in labels or (sep and labels[key] != value):
            return False
    return True


def _tags(refs: Sequence[Reference]) -> list[str]:
    return [r.familiar() for r in refs if r.tag and not r.digest]


def _digests(refs: Sequence[Reference]) -> list[str]:
    return [r.familiar() for r in refs if r.digest]


def _not_found(ref: str) -> ImageNotFoundError:
    """moby's ``ErrImageDoesNotExist``: a name is shown with its default tag."""
    parsed = None if _FULL_ID.match(ref) else try_parse_normalized(ref)
    return ImageNotFoundError(parsed.with_default_tag().familiar() if parsed else ref)


def _is_id_prefix(image_id: str, possible: str) -> bool:
    """moby's ``isImageIDPrefix``."""
    return image_id.startswith(possible) or image_id.split(":", 1)[-1].startswith(possible)


# -- the service ----------------------------------------------------------------------------


class ImageService:
    """Docker's image commands on the store at ``root`` (created on first write)."""

    def __init__(self, root: str) -> None:
        self.root = root

    # -- lookup ---------------------------------------------------------------------------

    @staticmethod
    def _get_image(r: StoreRoot, ref_or_id: str) -> Digest:
        """moby's ``GetImage``: a full ID, a name (tag or digest), then a unique ID prefix.
        Raises ImageNotFoundError (moby's message), AmbiguousImageError, InvalidReferenceError."""
        if _FULL_ID.match(ref_or_id):
            id = Digest.parse(ref_or_id)
            if r.images.exists(id):
                return id
            raise _not_found(ref_or_id)
        ref = try_parse_normalized(ref_or_id)
        if ref is None and not re.match(r"^(sha256:)?[a-f0-9]+$", ref_or_id):
            parse_normalized(ref_or_id)  # raises InvalidReferenceError with the reason
        if ref is not None:
            id_ = r.references.get(ref)
            if id_ is not None and r.images.exists(id_):
                return id_
        try:
            return r.images.search(ref_or_id)
        except ImageNotFoundError:
            raise _not_found(ref_or_id) from None

    # -- load -----------------------------------------------------------------------------

    def load(self, source: str, *, platform: Platform | None = None) -> LoadResult:
        """``docker load``: every image of ``source`` (any format the readers read; of a
        multi-platform index, the one for ``platform`` or the host), its layers registered
        once by chain ID, its tags set (moving a tag says so, as docker does), legacy parents
        linked. Lines as docker prints them."""
        lines: list[str] = []
        loaded: list[str] = []
        id_lines: list[str] = []
        ref_count = 0
        parent_links: list[tuple[Digest, str]] = []
        with StoreRoot.open(self.root, write=True) as r, open_source(source) as src:
            for selected in select_images(src, "", platform=platform):
                image = selected.image
                config = image.config
                diff_ids = list(config.rootfs.diff_ids) if config.rootfs else []
                layers = list(image.layers)
                if len(layers) != len(diff_ids):
                    raise InvalidConfigError(
                        "invalid manifest, layers length mismatch: "
                        f"expected {len(layers)}, got {len(diff_ids)}",
                        path=src.path,
                    )
                parent: Digest | None = None
                for chain, layer in zip(chain_ids(diff_ids), layers, strict=True):
                    if r.layers.get(chain) is None:
                        if not layer.present:
                            raise BlobNotFoundError(
                                str(layer.digest), referenced_by=str(image.id), path=src.path
                            )
                        with layer.open_blob(buffered=False) as fh:
                            r.layers.register(
                                fh,
                                parent,
                                diff_id=layer.diff_id,
                                blob_digest=layer.digest,
                                media_type=layer.media_type,
                            )
                    parent = chain
                id = r.images.create(image.raw_config)
                loaded.append(str(id))
                id_lines.append(f"Loaded image ID: {id}")
                ref_count = 0
                for tag in selected.entry.repo_tags:
                    ref = parse_normalized(tag)
                    if not ref.tag or ref.digest:
                        raise InvalidReferenceError(tag, "invalid tag")
                    prev = r.references.get(ref)
                    if prev is not None and prev != id:
                        lines.append(
                            f"The image {ref.familiar()} already exists, renaming the old one with ID {prev} "
                            "to empty string"
                        )
                    r.references.add_tag(ref, id, force=True)
                    lines.append(f"Loaded image: {ref.familiar()}")
                    ref_count += 1
                parent_links.append((id, selected.entry.parent or ""))
            ids = {str(i) for i, _ in parent_links}
            for id, parent_id in parent_links:
                if parent_id and parent_id in ids and parent_id != str(id):
                    self._set_parent_checked(r, id, Digest.parse(parent_id))
        if ref_count == 0:
            lines.extend(id_lines)
        return LoadResult(lines, loaded)

    @staticmethod
    def _set_parent_checked(r: StoreRoot, id: Digest, parent: Digest) -> None:
        """tarexporter's ``setParentID``: the parent's layers must be a prefix of the child's."""
        child, par = r.images.get(id), r.images.get(parent)
        cd = child.rootfs.diff_ids if child.rootfs else []
        pd = par.rootfs.diff_ids if par.rootfs else []
        if len(pd) > len(cd) or cd[: len(pd)] != pd:
            raise InvalidConfigError(f"invalid parent {parent} for {id}: layers are not a prefix")
        r.images.set_parent(id, parent)

    # -- tag ------------------------------------------------------------------------------

    def tag(self, source: str, target: str) -> Digest:
        """``docker tag SOURCE TARGET`` (moves an existing tag, as ``TagImage`` forces)."""
        with StoreRoot.open(self.root, write=True) as r:
            id = self._get_image(r, source)
            ref = parse_normalized(target)
            if ref.digest:
                raise InvalidReferenceError(target, "refusing to create a tag with a digest reference")
            r.references.add_tag(ref, id, force=True)
            r.images.set_last_updated(id)
            return id

    # -- rmi ------------------------------------------------------------------------------

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
        id = self._get_image(r, image_ref)
        repo_refs = r.references.references(id)
        removed_repository_ref = False
        if not _is_id_prefix(str(id), image_ref):
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

    def prune(self, *, all_images: bool = False, filters: StoreFilters | None = None) -> PruneReport:
        """``docker image prune`` (``ImagesPrune``): dangling images by default, every image
        without a container with ``all_images``; ``until`` and ``label`` filters."""
        filters = filters or StoreFilters()
        dangling_only = not all_images if filters.dangling is None else filters.dangling
        until = min((_timestamp(u) for u in filters.until), default=None)
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
    def _labels_ok(r: StoreRoot, row: ImageRow, filters: StoreFilters) -> bool:
        labels = row.labels
        if filters.labels and not _match_kv(filters.labels, labels):
            return False
        return not (filters.not_labels and _match_kv([x.lstrip("!") for x in filters.not_labels], labels))

    # -- images ---------------------------------------------------------------------------

    def images(self, *, all_images: bool = False, filters: StoreFilters | None = None) -> list[Summary]:
        """``docker images`` (``Images``): from the index alone, no config is parsed."""
        filters = filters or StoreFilters()
        with StoreRoot.open(self.root) as r:
            refs = r.references.all()
            rows = list(r.images.rows())
            has_children = {row.parent.encoded for row in rows if row.parent is not None}

            def created_of(value: str) -> int | None:
                row = r.images.row(self._get_image(r, value))
                return row.created if row is not None and row.created_text else None

            return _list_images(rows, refs, has_children, filters, all_images, created_of)

    # -- inspect / history ----------------------------------------------------------------

    def inspect(self, refs: Sequence[str], *, platform: Platform | None = None) -> list[InspectResponse]:
        """``docker image inspect`` of each reference (first error raises)."""
        out: list[InspectResponse] = []
        with StoreRoot.open(self.root) as r:
            for ref in refs:
                id = self._get_image(r, ref)
                out.append(self._inspect_one(r, id, ref, platform))
        return out

    def _inspect_one(self, r: StoreRoot, id: Digest, ref: str, platform: Platform | None) -> InspectResponse:
        config = r.images.get(id)
        _check_platform(config, ref, platform)
        row = r.images.row(id)
        assert row is not None
        refs = r.references.references(id)
        return inspect_response(
            config,
            image_id=str(id),
            repo_tags=_tags(refs),
            repo_digests=_digests(refs),
            parent=str(row.parent) if row.parent else "",
            size=row.size,
            metadata=Metadata(last_tag_time=r.images.get_last_updated(id)),
        )

    def history(self, ref: str, *, platform: Platform | None = None) -> list[HistoryResponseItem]:
        """``docker history`` (``ImageHistory``): per-layer sizes from the layer store, IDs
        and tags walked up the parents."""
        with StoreRoot.open(self.root) as r:
            id = self._get_image(r, ref)
            config = r.images.get(id)
            _check_platform(config, ref, platform)
            chains = chain_ids(config.rootfs.diff_ids if config.rootfs else [])

            def layer_size(n: int) -> int:
                info = r.layers.get(chains[n])
                return info.size if info is not None else 0

            def lineage() -> Iterator[tuple[str, list[str] | None]]:
                current: Digest | None = id
                while current is not None:
                    yield str(current), _tags(r.references.references(current)) or None
                    row = r.images.row(current)
                    current = row.parent if row is not None else None

            return history_items(config, layer_size, lineage())

    # -- import / commit ------------------------------------------------------------------

    def import_image(
        self,
        tarball: IO[bytes],
        *,
        ref: str = "",
        changes: Sequence[str] = (),
        message: str = "",
        platform: Platform | None = None,
    ) -> Digest:
        """``docker import`` (``ImportImage``): one layer from a rootfs tarball (compressed or
        not; the layer is the decompressed tar), a config built from ``changes`` (Dockerfile
        instructions CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, USER, VOLUME, WORKDIR,
        STOPSIGNAL), ``message`` as comment, tagged ``ref``. Returns the image ID."""
        plat = platform or host_platform()
        target = parse_normalized(ref) if ref else None
        config = apply_changes(ContainerConfig(), changes)
        with StoreRoot.open(self.root, write=True) as r:
            info = r.layers.register(tarball, None)
            created = Timestamp.now().utc()
            image = ImageConfig(
                docker_version=DOCKER_VERSION,
                config=config,
                architecture=plat.architecture,
                variant=plat.variant,
                os=plat.os,
                created=created,
                comment=message,
                rootfs=RootFS(diff_ids=[info.diff_id]),
                history=[History(created=created, comment=message)],
            )
            id = r.images.create(image.marshal_json(keep_unknown=False))
            if target is not None:
                r.references.add_tag(target.with_default_tag(), id, force=True)
                r.images.set_last_updated(id)
            return id

    def commit(
        self,
        parent_ref: str,
        layer_tar: IO[bytes],
        *,
        changes: Sequence[str] = (),
        author: str = "",
        comment: str = "",
        created_by: Sequence[str] = (),
        ref: str = "",
    ) -> Digest:
        """A child image as ``CommitImage`` makes one: ``layer_tar`` (a layer diff, tar)
        registered on the parent's layers, the config from ``NewChildImage`` (the parent's
        run config with ``changes`` applied), parent recorded, built locally, tagged ``ref``."""
        target = parse_normalized(ref) if ref else None
        with StoreRoot.open(self.root, write=True) as r:
            parent_id = self._get_image(r, parent_ref)
            parent = r.images.get(parent_id)
            top = parent.rootfs.chain_id() if parent.rootfs else None
            info = r.layers.register(layer_tar, top)
            run = apply_changes(parent.run_config(), changes)
            child = parent.new_child(
                ChildConfig(
                    author=author,
                    comment=comment,
                    diff_id=info.diff_id,
                    container_config=ContainerConfig({"Cmd": list(created_by)})
                    if created_by
                    else ContainerConfig(),
                    config=run,
                ),
                parent.operating_system(),
            )
            id = r.images.create(child.marshal_json(keep_unknown=False))
            r.images.set_built_locally(id)
            r.images.set_parent(id, parent_id)
            if target is not None:
                r.references.add_tag(target.with_default_tag(), id, force=True)
                r.images.set_last_updated(id)
            return id

    # -- squash ---------------------------------------------------------------------------

    def squash(self, ref: str, parent_ref: str = "", *, tag: str = "") -> Digest:
        """moby's ``SquashImage``: the layers of ``ref`` above ``parent_ref`` (all of them
        without one) merged into one layer, whiteouts applied and kept as a diff on top of
        the parent (:func:`ocitool.ops.rootfs.merged_tar`); history entries above the parent's
        become empty, and a ``merge <parent> to <image>`` (or ``create new from <image>``)
        entry is added. Returns the new image's ID (tagged ``tag`` when given)."""
        import tempfile

        from ocitool.ops.rootfs import merged_tar

        target = parse_normalized(tag) if tag else None
        with StoreRoot.open(self.root, write=True) as r:
            id = self._get_image(r, ref)
            image = r.images.get(id)
            diff_ids = list(image.rootfs.diff_ids) if image.rootfs else []
            parent: ImageConfig | None = None
            parent_diffs: list[Digest] = []
            if parent_ref:
                parent_id = self._get_image(r, parent_ref)
                parent = r.images.get(parent_id)
                parent_diffs = list(parent.rootfs.diff_ids) if parent.rootfs else []
                if diff_ids[: len(parent_diffs)] != parent_diffs:
                    raise InvalidConfigError(
                        f"{parent_ref} is not a parent of {ref}: its layers are not a prefix", field="/rootfs"
                    )
            chain = r.layers.chain(image.rootfs.chain_id() if image.rootfs else None)
            above = [r.layers.as_layer(info) for info in chain[len(parent_diffs) :]]
            parent_top = chain[len(parent_diffs) - 1].chain_id if parent_diffs else None
            with tempfile.TemporaryFile(dir=r.layers.blob_dir) as tmp:
                merged_tar(above, tmp, keep_whiteouts=True)
                tmp.seek(0)
                info = r.layers.register(tmp, parent_top)
            now = Timestamp.now().utc()
            history = [
                h if i < len(parent.history if parent else []) else replace(h, empty_layer=True)
                for i, h in enumerate(image.history)
            ]
            comment = f"merge {parent.id} to {id}" if parent is not None else f"create new from {id}"
            history.append(History(created=now, comment=comment))
            squashed = replace(
                image,
                rootfs=RootFS(
                    type=image.rootfs.type if image.rootfs else "layers",
                    diff_ids=[*parent_diffs, info.diff_id],
                ),
                history=history,
                created=now,
                raw=None,
                doc=None,
                computed_id=None,
            )
            new_id = r.images.create(squashed.marshal_json(keep_unknown=False))
            if target is not None:
                r.references.add_tag(target.with_default_tag(), new_id, force=True)
                r.images.set_last_updated(new_id)
            return new_id

    # -- save -----------------------------------------------------------------------------

    def save(self, names: Sequence[str], destination: str) -> list[str]:
        """``docker save NAME...`` into ``destination`` (any writer transport:
        ``docker-archive:PATH``, ``oci-archive:PATH``, ``oci:DIR``), written atomically by
        :func:`ocitool.ops.convert.convert`. Names resolve as moby's ``parseNames``: ``repo:tag``
        that tag, a bare ``repo`` every tag of it, an ID or unique prefix the image without
        names. Returns the image IDs saved."""
        from ocitool.ops.convert import convert

        if not names:
            raise InvalidReferenceError("", "save needs at least one image name")
        with StoreRoot.open(self.root, write=True) as r:
            chosen: dict[Digest, list[Reference]] = {}
            for name in names:
                for id, ref in self._parse_save_name(r, name):
                    refs = chosen.setdefault(id, [])
                    if ref is not None and ref not in refs:
                        refs.append(ref)
            index_path = os.path.join(r.layers.content_dir, "index.json")
            added: list[str] = []
            manifests: list[dict[str, Any]] = []
            try:
                for id, refs in chosen.items():
                    desc = self._write_manifest(r, id, added)
                    targets: list[Reference | None] = list(refs) or [None]
                    for ref in targets:
                        d = dict(desc)
                        if ref is not None:
                            d["annotations"] = {
                                "io.containerd.image.name": str(ref),
                                "org.opencontainers.image.ref.name": ref.tag,
                            }
                        manifests.append(d)
                index: dict[str, Any] = {
                    "schemaVersion": 2,
                    "mediaType": "application/vnd.oci.image.index.v1+json",
                }
                index["manifests"] = manifests
                atomic_write(index_path, json.dumps(index).encode(), mode=0o644)
                convert(f"oci:{r.layers.content_dir}", destination)
            finally:
                atomic_write(index_path, b'{"schemaVersion":2,"manifests":[]}', mode=0o644)
                for digest in added:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(r.layers.blob_path(Digest.parse(digest)))
            return [str(i) for i in chosen]

    def _parse_save_name(self, r: StoreRoot, name: str) -> list[tuple[Digest, Reference | None]]:
        if _FULL_ID.match(name):
            return [(self._get_image(r, name), None)]
        ref = try_parse_normalized(name)
        if ref is None or ref.familiar_name() == "sha256":
            return [(self._get_image(r, name), None)]
        if not ref.tag and not ref.digest:
            assocs: list[tuple[Digest, Reference | None]] = [
                (i, x) for x, i in r.references.references_by_name(ref) if x.tag and not x.digest
            ]
            return assocs or [(self._get_image(r, name), None)]
        id = r.references.get(ref)
        if id is None:
            raise _not_found(name)
        return [(id, ref.with_default_tag() if not ref.digest else None)]

    @staticmethod
    def _write_manifest(r: StoreRoot, id: Digest, added: list[str]) -> dict[str, Any]:
        """An OCI manifest for a stored image, written (with its config) into the content
        layout for the length of a save; what was added is listed in ``added``."""
        raw = r.backend.get(id)
        config = ImageConfig.from_json(raw)
        layers = []
        for info in r.layers.chain(config.rootfs.chain_id() if config.rootfs else None):
            with r.layers.open_blob(info) as fh:
                compression = sniff(fh.read(8))
            layers.append(
                {
                    "mediaType": _OCI_LAYER_TYPES.get(compression, mt.OCI_LAYER),
                    "digest": str(info.blob),
                    "size": info.blob_size,
                }
            )
        manifest = {
            "schemaVersion": 2,
            "mediaType": mt.OCI_MANIFEST,
            "config": {"mediaType": mt.OCI_CONFIG, "digest": str(id), "size": len(raw)},
            "layers": layers,
        }
        data = json.dumps(manifest).encode()
        mdigest = digest_bytes(data)
        for digest, blob in ((id, raw), (mdigest, data)):
            path = r.layers.blob_path(digest)
            if not os.path.exists(path):
                atomic_write(path, blob, mode=0o644)
                added.append(str(digest))
        return {"mediaType": mt.OCI_MANIFEST, "digest": str(mdigest), "size": len(data)}

    # -- system df ------------------------------------------------------------------------

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
                these = refs.get(str(row.id), [])
                shared = sum(sizes[c].size for c in chains_of[row.id.encoded] if layer_refs[c] > 1)
                images.append(
                    Summary(
                        id=str(row.id),
                        parent_id=str(row.parent) if row.parent else "",
                        repo_tags=_tags(these),
                        repo_digests=_digests(these),
                        created=row.created,
                        size=row.size,
                        labels=row.labels,
                        containers=0,
                        shared_size=shared,
                    )
                )
            return DiskUsage(total, images)


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


def _check_platform(config: ImageConfig, ref: str, platform: Platform | None) -> None:
    if platform is None:
        return
    actual = Platform(os=config.os, architecture=config.architecture, variant=config.variant)
    if not only_platform_with_fallback(platform).match(actual):
        raise PlatformNotFoundError(str(platform), [str(actual)], path=ref)


def _list_images(
    rows: Sequence[ImageRow],
    refs: dict[str, list[Reference]],
    has_children: set[str],
    filters: StoreFilters,
    all_images: bool,
    created_of: Any,
) -> list[Summary]:
    """moby's ``Images`` over index rows."""
    dangling_only = filters.dangling is True
    before: float | None = None
    since: float | None = None
    for value in filters.before:
        c = created_of(value)
        if c is not None:
            before = c
    for value in filters.until:
        ts = _timestamp(value)
        if before is None or before > ts:
            before = ts
    for value in filters.since:
        c = created_of(value)
        if c is not None:
            since = c
    out: list[Summary] = []
    for row in rows:
        if dangling_only and row.id.encoded in has_children:
            continue  # Heads() only
        if before is not None and (not row.created_text or not row.created < before):
            continue
        if since is not None and (not row.created_text or not row.created > since):
            continue
        if filters.labels and not _match_kv(filters.labels, row.labels):
            continue
        tags: list[str] = []
        digests: list[str] = []
        for x in refs.get(str(row.id), []):
            if filters.references and not any(_familiar_match(p, str(x)) for p in filters.references):
                continue
            if x.digest:
                digests.append(x.familiar())
            elif x.tag:
                tags.append(x.familiar())
        if not tags and not digests:
            if all_images or row.id.encoded not in has_children:
                if filters.dangling is False or filters.references:
                    continue
            else:
                continue
        elif dangling_only and tags:
            continue
        out.append(
            Summary(
                id=str(row.id),
                parent_id=str(row.parent) if row.parent else "",
                repo_tags=tags,
                repo_digests=digests,
                created=row.created,
                size=row.size,
                labels=row.labels,
            )
        )
    out.sort(key=lambda s: s.created, reverse=True)
    return out


# -- a real Docker data root, read-only -------------------------------------------------------


def docker_root_images(
    docker_root: str, *, all_images: bool = False, filters: StoreFilters | None = None, driver: str = ""
) -> list[Summary]:
    """``docker images`` of a real Docker data root, read-only: configs from its imagedb,
    parents from imagedb metadata, tags from ``repositories.json``, sizes from layerdb
    (each layer's ``size`` file, summed down its ``parent`` chain). Nothing is written."""
    filters = filters or StoreFilters()
    base = os.path.join(docker_root, "image")
    drivers = [driver] if driver else sorted(os.listdir(base)) if os.path.isdir(base) else []
    if not drivers:
        raise ImageNotFoundError("(no image/<driver> directory)", path=docker_root)
    d = os.path.join(base, drivers[0] if DRIVER not in drivers else DRIVER)
    backend = FSBackend(os.path.join(d, "imagedb"), readonly=True)
    refstore = ReferenceStore(os.path.join(d, "repositories.json"), readonly=True)
    layerdb = os.path.join(d, "layerdb", SHA256)

    def layer_size(chain: Digest | None) -> int:
        total = 0
        while chain is not None:
            ld = os.path.join(layerdb, chain.encoded)
            try:
                with open(os.path.join(ld, "size"), encoding="ascii") as fh:
                    total += int(fh.read().strip() or 0)
            except FileNotFoundError:
                break
            try:
                with open(os.path.join(ld, "parent"), encoding="ascii") as fh:
                    chain = Digest.parse(fh.read().strip())
            except FileNotFoundError:
                chain = None
        return total

    rows: list[ImageRow] = []
    for id in backend.ids():
        config = ImageConfig.from_json(
            backend.get(id), path=os.path.join(backend.root, "content", SHA256, id.encoded)
        )
        top = config.rootfs.chain_id() if config.rootfs else None
        parent = None
        with contextlib.suppress(LookupError, ValueError):
            parent = Digest.parse(backend.get_metadata(id, "parent").decode().strip())
        labels = config.config.labels if config.config is not None else {}
        rows.append(
            ImageRow(
                id=id,
                parent=parent,
                top_chain=top,
                created=config.created.unix() if config.created else 0,
                created_text=config.created.rfc3339nano() if config.created else "",
                size=layer_size(top),
                labels=dict(labels or {}),
                os=config.os,
                architecture=config.architecture,
                variant=config.variant,
            )
        )
    known = {row.id for row in rows}
    rows = [replace(row, parent=row.parent if row.parent in known else None) for row in rows]
    refs = refstore.all()
    has_children = {row.parent.encoded for row in rows if row.parent is not None}

    def created_of(value: str) -> int | None:
        ref = try_parse_normalized(value)
        target = refstore.get(ref) if ref is not None else None
        for row in rows:
            if (target is not None and row.id == target) or _is_id_prefix(str(row.id), value):
                return row.created
        raise _not_found(value)

    return _list_images(rows, refs, has_children, filters, all_images, created_of)
