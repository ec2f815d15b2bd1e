"""The image service's image makers, as moby's ``daemon/images`` ``image_import.go``,
``image_commit.go`` and ``image_squash.go``: ``import`` (``ImportImage`` with ``--change``),
``commit`` (``CommitImage``: a child image from a layer tar) and ``squash`` (``SquashImage``).

Each call holds the root's exclusive lock while it writes.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from typing import IO

from ocitool._record import replace
from ocitool.errors import InvalidConfigError
from ocitool.model.config import DOCKER_VERSION, ChildConfig, ContainerConfig, History, ImageConfig, RootFS
from ocitool.model.digest import Digest
from ocitool.model.platform import Platform, host_platform
from ocitool.model.reference import parse_normalized
from ocitool.model.timestamp import Timestamp
from ocitool.ops.rootfs import merged_tar
from ocitool.store.changes import apply_changes
from ocitool.store.lookup import get_image
from ocitool.store.root import StoreRoot

__all__ = ["ImportService"]


class ImportService:
    """The image-making commands of :class:`~ocitool.service.service.ImageService`."""

    root: str

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
            parent_id = get_image(r.images, r.references, parent_ref)
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
        target = parse_normalized(tag) if tag else None
        with StoreRoot.open(self.root, write=True) as r:
            id = get_image(r.images, r.references, ref)
            image = r.images.get(id)
            diff_ids = list(image.rootfs.diff_ids) if image.rootfs else []
            parent: ImageConfig | None = None
            parent_diffs: list[Digest] = []
            if parent_ref:
                parent_id = get_image(r.images, r.references, parent_ref)
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
