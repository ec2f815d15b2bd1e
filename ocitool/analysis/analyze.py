"""Image analysis: per-layer statistics and dive's efficiency, wasted bytes and user-wasted percent.

:func:`analyze` reads each layer once (tar headers streamed through the fastest installed
decompressor; threads read layers in parallel, decompression releasing the GIL) and computes:

* per layer: digest, diff ID, the history command (matched to layers as dive matches them:
  non-empty history entries in order, ``(missing)`` when history runs out, ``/bin/sh -c ``
  trimmed), compressed size, dive's size (the sum of the layer's tar header sizes), entry and
  file counts, and the bytes/files the layer adds, modifies and removes in the OCI overlay;
* for the image, exactly as dive 0.13's ``image.Analyze``: ``sizeBytes`` (sum of layer sizes),
  ``efficiencyScore`` and ``inefficientBytes`` (:func:`ocitool.analysis.filetree.dive_efficiency`), and
  the user-wasted percent (wasted bytes over the sizes of every layer but the first; +Inf when
  those are 0 and something is wasted, NaN when both are 0, as Go's float division gives).

Nothing is written; memory holds file metadata, never file contents.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any

from ocitool._go import json as _gojson
from ocitool._record import field, record
from ocitool.analysis.filetree import (
    FileInfo,
    FileTree,
    InefficientPath,
    MergedFS,
    dive_efficiency,
    read_layer,
)
from ocitool.formats.detect import SourceLike, open_source, parse_source
from ocitool.image import lookup
from ocitool.image.source import Layer, Selected, Source, SourceImage
from ocitool.model.platform import Platform
from ocitool.ops.attestations import AttestationSummary, summarize
from ocitool.ops.progress import CountingReader, ProgressCallback, layer_tracker
from ocitool.ops.signatures import SignatureSummary, signature_summary

__all__ = [
    "Analysis",
    "LayerStats",
    "analyze",
    "analyze_image",
    "read_layers",
]

_SHELL_PREFIX = "/bin/sh -c "


@record
class LayerStats:
    """One layer's figures. ``size`` is dive's ``sizeBytes`` (sum of tar header sizes)."""

    index: int
    digest: str
    diff_id: str
    media_type: str
    command: str
    compressed_size: int
    size: int
    entries: int
    files: int
    added_files: int = 0
    added_bytes: int = 0
    modified_files: int = 0
    modified_bytes: int = 0
    removed_files: int = 0
    removed_bytes: int = 0

    def to_json(self) -> dict[str, object]:
        return {
            "index": self.index,
            "id": self.digest.split(":", 1)[-1],
            "digestId": self.diff_id,
            "sizeBytes": self.size,
            "command": self.command,
            "digest": self.digest,
            "mediaType": self.media_type,
            "compressedSizeBytes": self.compressed_size,
            "entries": self.entries,
            "files": self.files,
            "addedFiles": self.added_files,
            "addedBytes": self.added_bytes,
            "modifiedFiles": self.modified_files,
            "modifiedBytes": self.modified_bytes,
            "removedFiles": self.removed_files,
            "removedBytes": self.removed_bytes,
        }


@record
class Analysis:
    """The analysis of one image; ``to_json`` uses dive's names for dive's numbers."""

    source: str
    image_id: str
    platform: str
    layers: list[LayerStats]
    size_bytes: int
    user_size_bytes: int
    efficiency: float
    wasted_bytes: int
    user_wasted_percent: float
    inefficient: list[InefficientPath]
    config_user: str
    labels: dict[str, str]
    layer_entries: list[list[FileInfo]] = field(repr=False, default_factory=list)
    final_files: dict[str, FileInfo] = field(repr=False, default_factory=dict)
    attestations: AttestationSummary | None = None  # BuildKit's, from the index holding the image
    signatures: SignatureSummary | None = None  # cosign's, found where inspect's Identity looks

    def largest(self, n: int = 20) -> list[FileInfo]:
        """The ``n`` largest non-directory entries of the final root filesystem."""
        files = [f for f in self.final_files.values() if not f.is_dir]
        files.sort(key=lambda f: (-f.size, f.path))
        return files[:n]

    def to_json(self) -> dict[str, object]:
        percent: float | None = self.user_wasted_percent if math.isfinite(self.user_wasted_percent) else None
        return {
            "layer": [layer.to_json() for layer in self.layers],
            "image": {
                "sizeBytes": self.size_bytes,
                "inefficientBytes": self.wasted_bytes,
                "efficiencyScore": self.efficiency,
                "fileReference": [
                    {"count": e.count, "sizeBytes": e.cumulative_size, "file": e.path}
                    for e in self.inefficient
                ],
                "userSizeBytes": self.user_size_bytes,
                "userWastedPercent": percent,
                "id": self.image_id,
                "platform": self.platform,
                "source": self.source,
            },
            **({"attestations": self.attestations.to_json()} if self.attestations is not None else {}),
            **({"signatures": self.signatures.to_json()} if self.signatures is not None else {}),
        }

    def json_text(self) -> str:
        return _gojson.dumps(self.to_json(), indent="  ") + "\n"


def read_layers(
    layers: Sequence[Layer],
    *,
    hash_contents: bool = False,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
    verify: bool = True,
) -> list[list[FileInfo]]:
    """Every layer's entries, each layer read once, layers in parallel threads; ``progress``
    gets each layer's bytes (phase ``Analyzing``).

    With ``verify`` (the default) each layer's bytes are checked against its digest and diff ID
    as they are read (:meth:`~ocitool.image.source.Layer.reading`). Raises BlobNotFoundError for
    an absent layer blob, DigestMismatchError / SizeMismatchError for a tampered one (naming
    the digest and the image) and InvalidArchiveError for a corrupt one.
    """

    def one(layer: Layer) -> list[FileInfo]:
        label = layer.blobs.where(layer.digest) if layer.present else str(layer.digest)
        tracker = layer_tracker(layer, progress, "Analyzing")
        with layer.reading(verify=verify) as stream:
            counted: IO[bytes] = stream if tracker is None else CountingReader(stream, tracker)  # type: ignore[assignment,arg-type]
            return read_layer(counted, label=label, hash_contents=hash_contents)

    if not layers:
        return []
    count = workers or min(len(layers), os.cpu_count() or 1, 8)
    if count <= 1 or len(layers) == 1:
        return [one(layer) for layer in layers]
    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, layers))


def _commands(image: SourceImage, count: int) -> list[str]:
    """dive's matching of history to layers: the next non-empty entry, else ``(missing)``."""
    history = image.config.history or []
    out: list[str] = []
    hist = 0
    for _ in range(count):
        while hist < len(history) and history[hist].empty_layer:
            hist += 1
        if hist < len(history):
            created_by = history[hist].created_by or ""
            hist += 1
        else:
            created_by = "(missing)"
        out.append(created_by.removeprefix(_SHELL_PREFIX))
    return out


def _user_wasted(wasted: int, user_size: int) -> float:
    if user_size:
        return wasted / user_size
    return math.nan if wasted == 0 else math.inf


def analyze_image(
    image: SourceImage,
    *,
    source: str = "",
    hash_contents: bool = False,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
    verify: bool = True,
) -> Analysis:
    """Analyse one image (see the module docstring). Reads every layer once, verifying it
    unless ``verify=False``."""
    layers = image.layers
    entries = read_layers(
        layers, hash_contents=hash_contents, workers=workers, progress=progress, verify=verify
    )
    trees = [FileTree.from_entries(e) for e in entries]
    efficiency, inefficient = dive_efficiency(trees) if trees else (1.0, [])
    commands = _commands(image, len(layers))
    merged = MergedFS()
    stats: list[LayerStats] = []
    for idx, (layer, layer_entries, tree) in enumerate(zip(layers, entries, trees, strict=True)):
        st = LayerStats(
            index=idx,
            digest=str(layer.digest),
            diff_id=str(layer.diff_id),
            media_type=layer.media_type,
            command=commands[idx],
            compressed_size=layer.descriptor.size,
            size=tree.file_size,
            entries=len(layer_entries),
            files=sum(1 for e in layer_entries if not e.is_dir and not e.is_whiteout),
        )

        def count(path: str, old: FileInfo | None, new: FileInfo | None, st: LayerStats = st) -> None:
            if new is None:
                if old is not None and not old.is_dir:
                    st.removed_files += 1
                    st.removed_bytes += old.size
            elif not new.is_dir:
                if old is None or old.is_dir:
                    st.added_files += 1
                    st.added_bytes += new.size
                else:
                    st.modified_files += 1
                    st.modified_bytes += new.size

        merged.apply(layer_entries, count)
        stats.append(st)
    size_bytes = sum(s.size for s in stats)
    user_size = sum(s.size for s in stats[1:])
    wasted = sum(e.cumulative_size for e in inefficient)
    config = image.config.config
    return Analysis(
        source=source,
        image_id=str(image.id),
        platform=str(image.platform),
        layers=stats,
        size_bytes=size_bytes,
        user_size_bytes=user_size,
        efficiency=efficiency,
        wasted_bytes=wasted,
        user_wasted_percent=_user_wasted(wasted, user_size),
        inefficient=inefficient,
        config_user=(config.user if config is not None else "") or "",
        labels=dict((config.labels if config is not None else None) or {}),
        layer_entries=entries,
        final_files=merged.files,
    )


def select_one(source: Source, image: str, platform: Platform | None) -> SourceImage:
    """The one image ``image`` names in ``source``; with none named, the source's only image
    (ImageRequiredError when it holds several: see :func:`~ocitool.image.lookup.select_one`)."""
    return lookup.select_one(source, image, platform=platform).image


def analyze(
    source: SourceLike | Source,
    image: str = "",
    *,
    platform: Platform | None = None,
    hash_contents: bool = False,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
    verify: bool = True,
) -> Analysis:
    """Analyse the image ``image`` (default: the only one) of SOURCE (a string in skopeo's grammar,
    a path, or an opened Source). Raises the readers' errors (ImageNotFoundError, PlatformNotFoundError,
    BlobNotFoundError, InvalidArchiveError, NotAnImageError, ...)."""
    options = {"hash_contents": hash_contents, "workers": workers, "progress": progress, "verify": verify}
    if isinstance(source, Source):
        selected = lookup.select_one(source, image, platform=platform)
        return _analyze_selected(source, selected, source.path, **options)
    spec = parse_source(source)
    with open_source(spec) as src:
        selected = lookup.select_one(src, image or spec.image, platform=platform)
        return _analyze_selected(src, selected, os.fspath(source), **options)


def _analyze_selected(src: Source, selected: Selected, source: str, **options: Any) -> Analysis:
    """Analyse the selected image, with the attestations its index holds for it and the
    signatures the source holds for it."""
    result = analyze_image(selected.image, source=source, **options)
    result.attestations = summarize(selected.entry.node, selected.image)
    result.signatures = signature_summary(src, selected)
    return result
