"""crane's image verbs over any source: append, mutate, flatten, rebase (go-containerregistry's
``cmd/crane`` and ``pkg/v1/mutate``), each returning a :class:`~.image.BuiltImage` that every
writer takes.

* :func:`append`: one layer per directory or tar (plain or compressed), one history
  entry each; onto an image or onto nothing (``base=None``: scratch, for a platform).
  ``set_base_annotations`` writes ``org.opencontainers.image.base.{digest,name}``.
* :func:`mutate`: config edits (:class:`Mutation`) and manifest annotations; layers and history
  untouched. ``env`` replaces existing keys in place and appends new ones in order;
  ``entrypoint`` clears Cmd (Docker's and crane's rule) before ``cmd`` is set.
* :func:`flatten`: one layer holding the merged filesystem (whiteouts applied,
  :mod:`ocitool.ops.rootfs`), and one history entry ``ocitool flatten <old manifest digest>``
  whose comment is the old history as JSON.
* :func:`rebase`: the old base's layers must be the image's bottom layers, compared by diff ID
  (the uncompressed content, so a base stored with another compression still matches);
  BaseMismatchError otherwise. The new base's layers and history go under the image's own;
  os, architecture and os.version come from the new base (as crane).

:func:`over_index` applies a verb to every platform image of an index and rebuilds the index
(its annotations and each descriptor's platform and annotations kept); attestation manifests
are dropped, as crane's flatten drops them: they describe the old images.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from typing import IO, Any

from ocitool._go import json as _gojson
from ocitool._record import field, record
from ocitool.errors import BaseMismatchError
from ocitool.image.lookup import is_attestation
from ocitool.image.source import ImageIndex, SourceImage
from ocitool.model.platform import Platform, host_platform
from ocitool.model.timestamp import Timestamp
from ocitool.ops.builder.image import (
    ANNOTATION_BASE_DIGEST,
    ANNOTATION_BASE_NAME,
    BuiltImage,
    ImageBuilder,
    IndexBuilder,
)
from ocitool.ops.rootfs import merged_tar

__all__ = ["Mutation", "append", "flatten", "mutate", "over_index", "rebase"]


def _start(
    base: SourceImage | None, platform: Platform | None, created: Timestamp | int | None
) -> ImageBuilder:
    if base is None:
        return ImageBuilder.from_scratch(platform or host_platform(), created=created)
    return ImageBuilder.from_image(base, created=created)


def append(
    base: SourceImage | None,
    layers: Sequence[str | os.PathLike[str]],
    *,
    platform: Platform | None = None,
    set_base_annotations: bool = False,
    base_name: str = "",
    created: Timestamp | int | None = None,
    names: Sequence[str] = (),
) -> BuiltImage:
    """``base`` (None: scratch for ``platform``) with one layer per directory or tar file of
    ``layers``, each with a history entry ``ocitool append <layer>``. With
    ``set_base_annotations`` (and a base) the manifest names the base: its manifest digest and
    ``base_name``. Raises LayerInputError naming a layer that cannot be read."""
    builder = _start(base, platform, created)
    try:
        for layer in layers:
            path = os.fspath(layer)
            if os.path.isdir(path):
                builder.add_directory(path, created_by=f"ocitool append {path}")
            else:
                builder.add_tar(path, created_by=f"ocitool append {path}")
        if set_base_annotations and base is not None:
            builder.set_annotations(_base_annotations(base, base_name))
        return builder.build(names=names)
    finally:
        builder.close()


def _base_annotations(base: SourceImage, name: str) -> dict[str, str]:
    out = {ANNOTATION_BASE_DIGEST: str(base.digest)}
    if name:
        out[ANNOTATION_BASE_NAME] = name
    return out


@record
class Mutation:
    """crane mutate's edits. ``env`` and ``labels`` are ``K=V`` pairs (a mapping or strings);
    None leaves a field as it is."""

    env: Sequence[str] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    user: str | None = None
    workdir: str | None = None
    exposed_ports: Sequence[str] = ()
    volumes: Sequence[str] = ()
    stop_signal: str | None = None
    entrypoint: Sequence[str] | None = None
    cmd: Sequence[str] | None = None
    platform: Platform | None = None

    def apply(self, builder: ImageBuilder) -> ImageBuilder:
        if self.labels:
            builder.set_labels(self.labels)
        if self.env:
            builder.set_env(self.env)
        if self.entrypoint:
            builder.set_entrypoint(self.entrypoint)
        if self.cmd:
            builder.set_cmd(self.cmd)
        if self.user:
            builder.set_user(self.user)
        if self.workdir:
            builder.set_workdir(self.workdir)
        if self.exposed_ports:
            builder.set_exposed_ports(self.exposed_ports)
        if self.volumes:
            builder.set_volumes(self.volumes)
        if self.stop_signal:
            builder.set_stop_signal(self.stop_signal)
        if self.platform is not None:
            builder.set_platform(self.platform)
        if self.annotations:
            builder.set_annotations(self.annotations)
        return builder


def mutate(image: SourceImage, mutation: Mutation, *, names: Sequence[str] = ()) -> BuiltImage:
    """``image`` with ``mutation``'s config edits: same layers, same history, same ``created``."""
    builder = ImageBuilder.from_image(image)
    try:
        return mutation.apply(builder).build(names=names)
    finally:
        builder.close()


def flatten(
    image: SourceImage, *, created: Timestamp | int | None = None, names: Sequence[str] = ()
) -> BuiltImage:
    """``image`` as one layer of its merged filesystem; the config is kept except the layers and
    history: one entry ``ocitool flatten <manifest digest>`` with the old history as comment."""
    builder = ImageBuilder.from_image(image, created=created)
    try:
        old_history = builder.config.get("history") or []
        layers = list(image.layers)

        def write(out: IO[bytes]) -> None:
            merged_tar(layers, out)

        blob = builder.layer_maker.from_tar_writer(write)
        builder.replace_layers([], [])
        builder.add_layer_blob(
            blob,
            {"created_by": f"ocitool flatten {image.digest}", "comment": _gojson.dumps(old_history)},
        )
        return builder.build(names=names)
    finally:
        builder.close()


def rebase(
    image: SourceImage,
    old_base: SourceImage,
    new_base: SourceImage,
    *,
    new_base_name: str = "",
    names: Sequence[str] = (),
) -> BuiltImage:
    """``image`` with ``old_base``'s layers replaced by ``new_base``'s (see the module
    docstring). Raises BaseMismatchError when ``old_base`` is not ``image``'s bottom."""
    mine = list(image.layers)
    old = list(old_base.layers)
    if len(old) > len(mine):
        raise BaseMismatchError(
            f"image {image.digest} is not based on {old_base.digest} "
            f"(the old base has {len(old)} layers, the image {len(mine)})",
            layer=len(mine),
        )
    for i, (a, b) in enumerate(zip(old, mine, strict=False)):
        if a.diff_id != b.diff_id:
            raise BaseMismatchError(
                f"image {image.digest} is not based on {old_base.digest} (layer {i} differs: "
                f"{b.diff_id} in the image, {a.diff_id} in the old base)",
                layer=i,
            )
    builder = ImageBuilder.from_image(image)
    try:
        doc = builder.config
        old_history = _history(old_base.raw_config)
        new_doc = json.loads(new_base.raw_config)
        history = list(new_doc.get("history") or []) + list(doc.get("history") or [])[len(old_history) :]
        builder.replace_layers([*new_base.layers, *mine[len(old) :]], history)
        for key in ("architecture", "os", "os.version"):
            if new_doc.get(key):
                doc[key] = new_doc[key]
            else:
                doc.pop(key, None)
        builder.set_annotations(_base_annotations(new_base, new_base_name))
        if not new_base_name:
            builder.annotations.pop(ANNOTATION_BASE_NAME, None)
        return builder.build(names=names)
    finally:
        builder.close()


def _history(raw_config: bytes) -> list[Any]:
    doc = json.loads(raw_config)
    history = doc.get("history") if isinstance(doc, dict) else None
    return list(history) if isinstance(history, list) else []


def over_index(
    index: ImageIndex, verb: Callable[[SourceImage], BuiltImage], *, names: Sequence[str] = ()
) -> BuiltImage:
    """``verb`` applied to every platform image of ``index``; the index rebuilt (see the module
    docstring)."""
    builder = IndexBuilder(annotations=index.index.annotations or {})
    for desc, image in index.walk():
        if image is None or is_attestation(image):
            continue
        if (
            desc.platform is not None
            and desc.platform.os == "unknown"
            and desc.platform.architecture == "unknown"
        ):
            continue
        built = verb(image)
        builder.add(built, platform=desc.platform, annotations=desc.annotations)
    return builder.build(names=names)
