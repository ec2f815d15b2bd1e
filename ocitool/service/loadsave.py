"""The image service's transfers, as moby's ``daemon/images`` ``image_exporter.go`` (the
tarexporter's ``Load`` and ``Save``): ``load`` any archive or layout the readers read into the
store, ``save`` images of the store into any destination ``convert`` writes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from ocitool._record import record
from ocitool.errors import BlobNotFoundError, InvalidConfigError, InvalidReferenceError
from ocitool.formats.detect import open_source
from ocitool.image.lookup import select_images
from ocitool.image.source import Source
from ocitool.model.config import chain_ids
from ocitool.model.digest import Digest
from ocitool.model.platform import Platform
from ocitool.model.reference import Reference, parse_normalized, try_parse_normalized
from ocitool.ops.convert import convert
from ocitool.ops.progress import CountingReader, ProgressCallback, Tracker
from ocitool.store.lookup import FULL_ID, get_image, not_found
from ocitool.store.root import StoreRoot
from ocitool.store.source import StoreSource

__all__ = ["LoadResult", "LoadSaveService"]


@record(frozen=True)
class LoadResult:
    """``docker load``: the lines it prints and the IDs loaded, in order."""

    lines: list[str]
    image_ids: list[str]


class LoadSaveService:
    """The transfer commands of :class:`~ocitool.service.service.ImageService`."""

    root: str

    def load(
        self,
        source: str | Source,
        *,
        platform: Platform | None = None,
        progress: ProgressCallback | None = None,
    ) -> LoadResult:
        """``docker load``: every image of ``source`` (any format the readers read, or an opened
        :class:`~ocitool.image.source.Source` such as a built image, left open; of a
        multi-platform index, the one for ``platform`` or the host), its layers registered
        once by chain ID, its tags set (moving a tag says so, as docker does), legacy parents
        linked. Lines as docker prints them; ``progress`` gets each new layer's bytes (phase
        ``Loading layer``, as docker's)."""
        opened = contextlib.nullcontext(source) if isinstance(source, Source) else open_source(source)
        with StoreRoot.open(self.root, write=True) as r, opened as src:
            return self.load_into(r, src, platform=platform, progress=progress)

    @classmethod
    def load_into(
        cls,
        r: StoreRoot,
        src: Source,
        *,
        platform: Platform | None = None,
        progress: ProgressCallback | None = None,
    ) -> LoadResult:
        """:meth:`load` into a root the caller holds open for writing (one that ``src`` may
        itself read from)."""
        lines: list[str] = []
        loaded: list[str] = []
        id_lines: list[str] = []
        ref_count = 0
        parent_links: list[tuple[Digest, str]] = []
        for selected in select_images(src, "", platform=platform):
            image = selected.image
            config = image.config
            diff_ids = list(config.rootfs.diff_ids) if config.rootfs else []
            layers = list(image.layers)
            if len(layers) != len(diff_ids):
                raise InvalidConfigError(
                    f"invalid manifest, layers length mismatch: expected {len(layers)}, got {len(diff_ids)}",
                    path=src.path,
                )
            parent: Digest | None = None
            for chain, layer in zip(chain_ids(diff_ids), layers, strict=True):
                if r.layers.get(chain) is None:
                    if not layer.present:
                        raise BlobNotFoundError(str(layer.digest), referenced_by=str(image.id), path=src.path)
                    fh = layer.open_blob(buffered=False)
                    if progress is not None:
                        tracker = Tracker(
                            progress, "Loading layer", layer.descriptor.size, layer.digest.hex[:12]
                        )
                        fh = CountingReader(fh, tracker)  # type: ignore[assignment]
                    with fh:
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
                cls._set_parent_checked(r, id, Digest.parse(parent_id))
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

    def save(
        self, names: Sequence[str], destination: str, *, progress: ProgressCallback | None = None
    ) -> list[str]:
        """``docker save NAME...`` into ``destination`` (any writer transport:
        ``docker-archive:PATH``, ``oci-archive:PATH``, ``oci:DIR``): :func:`ocitool.ops.convert.convert`
        from the store's :class:`~ocitool.store.source.StoreSource`, written atomically, nothing
        written into the store. Names resolve as moby's ``parseNames``: ``repo:tag`` that tag, a
        bare ``repo`` every tag of it, an ID or unique prefix the image without names. Returns
        the image IDs saved. ``progress`` is convert's."""
        if not names:
            raise InvalidReferenceError("", "save needs at least one image name")
        with StoreRoot.open(self.root) as r:
            chosen: dict[Digest, list[Reference]] = {}
            for name in names:
                for id, ref in self._parse_save_name(r, name):
                    refs = chosen.setdefault(id, [])
                    if ref is not None and ref not in refs:
                        refs.append(ref)
            with StoreSource(r, selection=list(chosen.items())) as source:
                convert(source, destination, progress=progress)
            return [str(i) for i in chosen]

    @staticmethod
    def _parse_save_name(r: StoreRoot, name: str) -> list[tuple[Digest, Reference | None]]:
        if FULL_ID.match(name):
            return [(get_image(r.images, r.references, name), None)]
        ref = try_parse_normalized(name)
        if ref is None or ref.familiar_name() == "sha256":
            return [(get_image(r.images, r.references, name), None)]
        if not ref.tag and not ref.digest:
            assocs: list[tuple[Digest, Reference | None]] = [
                (i, x) for x, i in r.references.references_by_name(ref) if x.tag and not x.digest
            ]
            return assocs or [(get_image(r.images, r.references, name), None)]
        id = r.references.get(ref)
        if id is None:
            raise not_found(name)
        return [(id, ref.with_default_tag() if not ref.digest else None)]
