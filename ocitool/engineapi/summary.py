"""The Engine API's image shapes, built from images read out of archives and layouts.

Field names and order follow moby's ``api/types/image`` as of Engine v28 (``Summary``,
``InspectResponse``, ``HistoryResponseItem``, ``ManifestSummary``, ``RootFS``, ``Metadata``):
each dataclass's ``to_json()`` returns a dict in the Go struct's field order with Go's
``omitempty`` rules, ready for :mod:`ocitool._go.json`.

What an archive cannot know is given the value a daemon shows right after ``docker load``:
no RepoDigests, a zero ``Metadata.LastTagTime``, no containers. ``GraphDriver`` describes a
daemon's storage and is empty here. See the README for the mapping to a 20.10 daemon (API 1.41).

Sizes are the only values that read layer bytes (see :mod:`ocitool.image.layersize`); every
builder takes ``with_size`` so that callers that do not show sizes read none.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol, runtime_checkable

from ocitool._record import field, record
from ocitool.errors import InvalidConfigError, InvalidDocumentError
from ocitool.image.layersize import unpacked_size
from ocitool.image.lookup import is_platform_image
from ocitool.image.source import Entry, Selected, Source, SourceImage
from ocitool.model import mediatypes as mt
from ocitool.model.config import History, ImageConfig
from ocitool.model.descriptor import Descriptor
from ocitool.model.platform import Platform
from ocitool.model.reference import try_parse_normalized
from ocitool.model.timestamp import Timestamp

__all__ = [
    "HistoryResponseItem",
    "ImageLister",
    "InspectResponse",
    "ManifestSummary",
    "Metadata",
    "RootFS",
    "Summary",
    "history_items",
    "image_history",
    "image_size",
    "image_summary",
    "inspect_image",
    "inspect_response",
    "manifest_summaries",
]


@record(frozen=True)
class RootFS:
    type: str
    layers: list[str]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.type:
            out["Type"] = self.type
        if self.layers:
            out["Layers"] = list(self.layers)
        return out


@record(frozen=True)
class Metadata:
    last_tag_time: Timestamp = field(default_factory=Timestamp.zero)

    def to_json(self) -> dict[str, Any]:
        # time.Time is a struct: Go's omitempty never omits it, so the zero time is printed.
        return {"LastTagTime": self.last_tag_time.rfc3339nano()}


@record(frozen=True)
class InspectResponse:
    """``GET /images/{name}/json`` as Engine v28 answers it (API 1.50)."""

    id: str
    repo_tags: list[str]
    repo_digests: list[str]
    parent: str
    comment: str
    created: str
    docker_version: str
    author: str
    config: dict[str, Any] | None
    architecture: str
    variant: str
    os: str
    os_version: str
    size: int
    root_fs: RootFS
    metadata: Metadata
    graph_driver: dict[str, Any] = field(default_factory=lambda: {"Data": None, "Name": ""})
    descriptor: Descriptor | None = None
    # moby's ``Identity`` (API 1.53+): {"Signature": [SignatureIdentity...], ...}; None omits it.
    identity: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "Id": self.id,
            "RepoTags": list(self.repo_tags),
            "RepoDigests": list(self.repo_digests),
            "Parent": self.parent,
            "Comment": self.comment,
        }
        if self.created:
            out["Created"] = self.created
        out["DockerVersion"] = self.docker_version
        out["Author"] = self.author
        out["Config"] = self.config
        out["Architecture"] = self.architecture
        if self.variant:
            out["Variant"] = self.variant
        out["Os"] = self.os
        if self.os_version:
            out["OsVersion"] = self.os_version
        out["Size"] = self.size
        out["GraphDriver"] = self.graph_driver
        out["RootFS"] = self.root_fs.to_json()
        out["Metadata"] = self.metadata.to_json()
        if self.descriptor is not None:
            out["Descriptor"] = self.descriptor.to_json()
        if self.identity is not None:
            out["Identity"] = self.identity
        return out


@record(frozen=True)
class Summary:
    """One row of ``GET /images/json`` (Engine v28)."""

    id: str
    parent_id: str
    repo_tags: list[str]
    repo_digests: list[str]
    created: int
    size: int
    labels: dict[str, str]
    containers: int = -1
    shared_size: int = -1
    # Not an API field: whether the image records a creation time at all (moby's Created is a
    # pointer; an image without one never passes a before, since or until filter).
    created_set: bool = field(default=True, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "Containers": self.containers,
            "Created": self.created,
            "Id": self.id,
            "Labels": dict(sorted(self.labels.items())) if self.labels else None,
            "ParentId": self.parent_id,
            "RepoDigests": list(self.repo_digests),
            "RepoTags": list(self.repo_tags),
            "SharedSize": self.shared_size,
            "Size": self.size,
        }


@record(frozen=True)
class HistoryResponseItem:
    """One step of ``GET /images/{name}/history``, newest first."""

    comment: str
    created: int
    created_by: str
    id: str
    size: int
    tags: list[str] | None

    def to_json(self) -> dict[str, Any]:
        return {
            "Comment": self.comment,
            "Created": self.created,
            "CreatedBy": self.created_by,
            "Id": self.id,
            "Size": self.size,
            "Tags": list(self.tags) if self.tags is not None else None,
        }


@record(frozen=True)
class ManifestSummary:
    """One manifest of an image (``InspectResponse.Manifests``), Engine v28."""

    id: str
    descriptor: Descriptor
    available: bool
    content_size: int
    total_size: int
    kind: str
    platform: Platform | None = None
    unpacked_size: int = 0
    attestation_for: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ID": self.id,
            "Descriptor": self.descriptor.to_json(),
            "Available": self.available,
            "Size": {"Content": self.content_size, "Total": self.total_size},
            "Kind": self.kind,
        }
        if self.kind == "image":
            plat = self.platform or Platform(os="", architecture="")
            out["ImageData"] = {
                "Platform": plat.to_json(),
                "Size": {"Unpacked": self.unpacked_size},
                "Containers": [],
            }
        if self.kind == "attestation":
            out["AttestationData"] = {"For": self.attestation_for}
        return out


def _sorted_tags(tags: list[str]) -> list[str]:
    """Tags in the order a daemon's reference store gives them: sorted by full reference."""

    def key(tag: str) -> str:
        ref = try_parse_normalized(tag)
        return str(ref.with_default_tag()) if ref else tag

    return sorted(tags, key=key)


@runtime_checkable
class ImageLister(Protocol):
    """A source that lists its images itself (a store, from its index, parsing no config)."""

    def image_summaries(self) -> list[Summary]:
        """A Summary of every image, names unfiltered, in any order."""
        ...


def _layer_size(image: SourceImage, n: int) -> int:
    """The overlay2 size of the n-th layer: as the source recorded it, else measured."""
    recorded = image.recorded_layer_sizes()
    return recorded[n] if recorded is not None else unpacked_size(image.layers[n])


def image_size(image: SourceImage) -> int:
    """Docker's ``Size``: the overlay2 sizes of all layers, as the source recorded them or
    measured (reading layer headers or bytes)."""
    recorded = image.recorded_layer_sizes()
    if recorded is not None:
        return sum(recorded)
    return sum(unpacked_size(layer) for layer in image.layers)


def _parent_id(entry: Entry, source: Source) -> str:
    """A legacy ``Parent`` counts only when that image is in the same source, as ``docker
    load`` records a parent only when it has loaded it."""
    if not entry.parent:
        return ""
    return entry.parent if source.entry_of(entry.parent) is not None else ""


def _created(config: ImageConfig) -> Timestamp | None:
    return config.created


def inspect_response(
    config: ImageConfig,
    *,
    image_id: str,
    repo_tags: list[str],
    repo_digests: list[str],
    parent: str,
    size: int,
    metadata: Metadata | None = None,
) -> InspectResponse:
    """The InspectResponse of an image config, given what the caller's store knows of it
    (names, parent, size, metadata), as moby's ``ImageInspect`` builds it."""
    created = config.created
    run = config.config
    # As moby's ImageInspect: an image without a comment shows its last history step's.
    comment = config.comment
    if not comment and config.history:
        comment = config.history[-1].comment
    return InspectResponse(
        id=image_id,
        repo_tags=repo_tags,
        repo_digests=repo_digests,
        parent=parent,
        comment=comment,
        created=created.rfc3339nano() if created is not None else "",
        docker_version=config.docker_version,
        author=config.author,
        config=run.to_oci_json() if run is not None else None,
        architecture=config.architecture,
        variant=config.variant,
        os=config.operating_system(),  # moby: img.OperatingSystem(), the host OS when unset
        os_version=config.os_version,
        size=size,
        root_fs=RootFS(
            type=config.rootfs.type if config.rootfs else "",
            layers=[str(d) for d in config.rootfs.diff_ids] if config.rootfs else [],
        ),
        metadata=metadata or Metadata(),
    )


def inspect_image(selected: Selected, source: Source, *, with_size: bool = True) -> InspectResponse:
    """``docker image inspect`` of one image of a source."""
    image = selected.image
    entry = selected.entry
    return inspect_response(
        image.config,
        image_id=str(image.id),
        repo_tags=_sorted_tags(entry.repo_tags),
        repo_digests=list(entry.repo_digests),
        parent=_parent_id(entry, source),
        size=image_size(image) if with_size else 0,
        metadata=Metadata(last_tag_time=entry.last_tag_time),
    )


def image_summary(selected: Selected, source: Source, *, with_size: bool = True) -> Summary:
    """``docker images`` row data (one per image; the CLI splits it per tag)."""
    image = selected.image
    config = image.config
    created = _created(config)
    labels = config.config.labels if config.config is not None else {}
    return Summary(
        id=str(image.id),
        parent_id=_parent_id(selected.entry, source),
        repo_tags=_sorted_tags(selected.entry.repo_tags),
        repo_digests=list(selected.entry.repo_digests),
        created=created.unix() if created is not None else 0,
        size=image_size(image) if with_size else 0,
        labels=dict(labels or {}),
        created_set=created is not None,
    )


def history_items(
    config: ImageConfig,
    layer_size: Callable[[int], int],
    lineage: Iterable[tuple[str, list[str] | None]],
    *,
    where: str = "",
) -> list[HistoryResponseItem]:
    """moby's ``ImageHistory`` for one image: an item per history entry, newest first.

    ``layer_size(n)`` gives the size of the n-th layer (for the non-empty steps, in order);
    ``lineage`` yields (ID, tags) for the image, then its parent, and so on: the newest steps
    take those IDs, the older ones are ``<missing>``. Raises InvalidConfigError when the history
    has more non-empty steps than the image has layers.
    """
    n_layers = len(config.rootfs.diff_ids) if config.rootfs else 0
    steps: list[tuple[History, int]] = []
    counter = 0
    for h in config.history:
        size = 0
        if not h.empty_layer:
            if counter >= n_layers:
                raise InvalidConfigError(
                    "too many non-empty layers in History section", path=where, field="/history"
                )
            size = layer_size(counter)
            counter += 1
        steps.append((h, size))
    steps.reverse()
    ids = list(itertools.islice(lineage, len(steps)))
    return [
        HistoryResponseItem(
            comment=h.comment,
            created=h.created.unix() if h.created is not None else 0,
            created_by=h.created_by,
            id=ids[i][0] if i < len(ids) else "<missing>",
            size=size,
            tags=ids[i][1] if i < len(ids) else None,
        )
        for i, (h, size) in enumerate(steps)
    ]


def image_history(selected: Selected, source: Source, *, with_size: bool = True) -> list[HistoryResponseItem]:
    """``docker history`` of an image in a source: IDs and tags are walked up the parents as
    far as the source holds them (a legacy ``manifest.json`` ``Parent``)."""
    image = selected.image

    def lineage() -> Iterator[tuple[str, list[str] | None]]:
        current_id = str(image.id)
        current: Entry | None = selected.entry
        while current is not None:
            yield current_id, _sorted_tags(current.repo_tags) or None
            current_id = _parent_id(current, source)
            current = source.entry_of(current_id) if current_id else None

    return history_items(
        image.config,
        lambda n: _layer_size(image, n) if with_size else 0,
        lineage(),
        where=image.blobs.where(image.id),
    )


def _manifest_summary(desc: Descriptor, image: SourceImage | None, *, with_size: bool) -> ManifestSummary:
    if _is_attestation_desc(desc):
        kind = "attestation"
    elif image is None:
        kind = "image" if mt.is_manifest(desc.media_type) else "unknown"
    else:
        kind = "image" if is_platform_image(image) else "unknown"
    available = image.available if image is not None else False
    content = image.content_size if image is not None else 0
    platform = desc.platform
    unpacked = 0
    if kind == "image" and image is not None:
        try:
            platform = image.platform
            unpacked = image_size(image) if (with_size and available) else 0
        except InvalidDocumentError:
            kind = "unknown"  # an image manifest whose config is no image config (``{}``)
    return ManifestSummary(
        id=str(desc.digest),
        descriptor=desc,
        available=available,
        content_size=content,
        total_size=content + unpacked,
        kind=kind,
        platform=platform if kind == "image" else None,
        unpacked_size=unpacked,
        attestation_for=desc.annotations.get(mt.ANNOTATION_DOCKER_REFERENCE_DIGEST, "")
        if kind == "attestation"
        else "",
    )


def _is_attestation_desc(desc: Descriptor) -> bool:
    return desc.annotations.get(mt.ANNOTATION_DOCKER_REFERENCE_TYPE) == mt.ATTESTATION_MANIFEST


def manifest_summaries(entry: Entry, *, with_size: bool = True) -> list[ManifestSummary]:
    """A ManifestSummary per manifest of an entry: its image, or every manifest below its
    index (attestations, artifacts and absent platforms included)."""
    node = entry.node
    if isinstance(node, SourceImage):
        return [_manifest_summary(node.descriptor, node, with_size=with_size)]
    if node is None:
        return [_manifest_summary(entry.descriptor, None, with_size=with_size)]
    return [_manifest_summary(desc, img, with_size=with_size) for desc, img in node.walk()]
