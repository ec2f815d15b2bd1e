"""Differences between two images: root filesystems, configs and shared layers.

The root filesystems are merged as the OCI image spec applies layers (whiteouts and opaque
whiteouts, :class:`ocitool.analysis.filetree.MergedFS`); a regular file is *changed* when its content
digest (SHA-256, hashed while streaming) differs, any entry when its type, link target, mode or
owner differs. Config differences cover Env (per variable), Entrypoint, Cmd, Labels (per label),
User, WorkingDir, ExposedPorts and Volumes. Shared layers are the diff IDs both images hold.
"""

from __future__ import annotations

import os

from ocitool._go import json as _gojson
from ocitool._record import field, record
from ocitool.analysis.analyze import read_layers, select_one
from ocitool.analysis.filetree import FileInfo, MergedFS
from ocitool.formats.detect import SourceLike, open_source, parse_source
from ocitool.image.source import SourceImage
from ocitool.model.config import ContainerConfig
from ocitool.model.platform import Platform

__all__ = ["ConfigChange", "FileChange", "ImageDiff", "diff", "diff_images", "merged_rootfs"]


@record(frozen=True)
class FileChange:
    """``kind`` is ``added``, ``removed`` or ``changed``; ``path`` is absolute."""

    path: str
    kind: str
    old: FileInfo | None
    new: FileInfo | None

    def to_json(self) -> dict[str, object]:
        def side(f: FileInfo | None) -> object:
            if f is None:
                return None
            return {"size": f.size, "mode": f"{f.perm:04o}", "uid": f.uid, "gid": f.gid, "digest": f.digest}

        return {"path": self.path, "change": self.kind, "old": side(self.old), "new": side(self.new)}


@record(frozen=True)
class ConfigChange:
    field: str
    old: object
    new: object

    def to_json(self) -> dict[str, object]:
        return {"field": self.field, "old": self.old, "new": self.new}


@record
class ImageDiff:
    left: str
    right: str
    files: list[FileChange] = field(default_factory=list)
    config: list[ConfigChange] = field(default_factory=list)
    shared_layers: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return not self.files and not self.config

    def counts(self) -> dict[str, int]:
        out = {"added": 0, "removed": 0, "changed": 0}
        for change in self.files:
            out[change.kind] += 1
        return out

    def to_json(self) -> dict[str, object]:
        return {
            "left": self.left,
            "right": self.right,
            "summary": self.counts(),
            "files": [c.to_json() for c in self.files],
            "config": [c.to_json() for c in self.config],
            "sharedLayers": self.shared_layers,
        }

    def json_text(self) -> str:
        return _gojson.dumps(self.to_json(), indent="  ") + "\n"


def merged_rootfs(
    image: SourceImage, *, workers: int | None = None, verify: bool = True
) -> dict[str, FileInfo]:
    """The image's root filesystem (absolute path -> entry), contents hashed, layers read once
    (and verified against their digests and diff IDs unless ``verify=False``)."""
    fs = MergedFS()
    for entries in read_layers(image.layers, hash_contents=True, workers=workers, verify=verify):
        fs.apply(entries, lambda *_: None)
    return fs.files


def _same(a: FileInfo, b: FileInfo) -> bool:
    return (a.type_flag, a.link_name, a.perm, a.uid, a.gid, a.is_dir, a.digest) == (
        b.type_flag,
        b.link_name,
        b.perm,
        b.uid,
        b.gid,
        b.is_dir,
        b.digest,
    )


def _config_changes(a: ContainerConfig | None, b: ContainerConfig | None) -> list[ConfigChange]:
    a = a or ContainerConfig()
    b = b or ContainerConfig()
    out: list[ConfigChange] = []

    def env(c: ContainerConfig) -> dict[str, str]:
        pairs = (e.partition("=") for e in (c.env or []))
        return {k: v for k, _, v in pairs}

    ea, eb = env(a), env(b)
    for key in sorted(ea.keys() | eb.keys()):
        if ea.get(key) != eb.get(key):
            out.append(ConfigChange(f"Env.{key}", ea.get(key), eb.get(key)))
    for name, attr in (
        ("Entrypoint", "entrypoint"),
        ("Cmd", "cmd"),
        ("User", "user"),
        ("WorkingDir", "working_dir"),
    ):
        va, vb = getattr(a, attr), getattr(b, attr)
        va = list(va) if isinstance(va, list | tuple) else va
        vb = list(vb) if isinstance(vb, list | tuple) else vb
        if (va or None) != (vb or None):
            out.append(ConfigChange(name, va, vb))
    la, lb = dict(a.labels or {}), dict(b.labels or {})
    for key in sorted(la.keys() | lb.keys()):
        if la.get(key) != lb.get(key):
            out.append(ConfigChange(f"Labels.{key}", la.get(key), lb.get(key)))
    for name, attr in (("ExposedPorts", "exposed_ports"), ("Volumes", "volumes")):
        sa, sb = sorted(getattr(a, attr) or ()), sorted(getattr(b, attr) or ())
        if sa != sb:
            out.append(ConfigChange(name, sa, sb))
    return out


def diff_images(
    left: SourceImage, right: SourceImage, *, workers: int | None = None, verify: bool = True
) -> ImageDiff:
    """Compare two opened images (see the module docstring). Every layer of both is verified
    unless ``verify=False``, so a layer is reported shared only when both sides' bytes are the
    diff ID's."""
    result = ImageDiff(str(left.id), str(right.id))
    fa = merged_rootfs(left, workers=workers, verify=verify)
    fb = merged_rootfs(right, workers=workers, verify=verify)
    for path in sorted(fa.keys() | fb.keys()):
        a, b = fa.get(path), fb.get(path)
        if a is None:
            result.files.append(FileChange(path, "added", None, b))
        elif b is None:
            result.files.append(FileChange(path, "removed", a, None))
        elif not _same(a, b):
            result.files.append(FileChange(path, "changed", a, b))
    result.config = _config_changes(left.config.config, right.config.config)
    right_ids = {str(layer.diff_id) for layer in right.layers}
    result.shared_layers = [str(layer.diff_id) for layer in left.layers if str(layer.diff_id) in right_ids]
    return result


def diff(
    source1: SourceLike,
    source2: SourceLike,
    *,
    image1: str = "",
    image2: str = "",
    platform: Platform | None = None,
    workers: int | None = None,
    verify: bool = True,
) -> ImageDiff:
    """Compare the images two SOURCEs name (strings, which may carry an ``:IMAGE`` suffix, or paths).

    Raises the readers' errors for a source that cannot be read.
    """
    spec1, spec2 = parse_source(source1), parse_source(source2)
    with open_source(spec1) as s1, open_source(spec2) as s2:
        left = select_one(s1, image1 or spec1.image, platform)
        right = select_one(s2, image2 or spec2.image, platform)
        result = diff_images(left, right, workers=workers, verify=verify)
    result.left, result.right = os.fspath(source1), os.fspath(source2)
    return result
