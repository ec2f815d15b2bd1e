"""Choosing images in a source: by name, ID, ID prefix or position, then by platform.

Names are tried before IDs, as moby's ``GetImage`` does: a docker-archive name is normalised as
docker normalises it (``alpine`` is ``docker.io/library/alpine:latest``); an OCI ``ref.name`` is
matched as written. Then a full image ID or a unique prefix (``sha256:``-prefixed or bare hex),
then ``@N``, the N-th entry counted from 0.

For a multi-platform index, one image is chosen: the best match for ``--platform`` (Docker's
``OnlyPlatformWithFallback``, which also accepts an image that lacks the requested variant); by
default the best match for this host, else the first present image in containerd's preference
order. Attestation manifests and artifacts are never chosen as images: an ``artifactType``, a
config that is no image config, or a ``{}`` config (an ORAS artifact) make a manifest an
artifact.

A command that works on one image (:func:`select_one`) refuses to guess: when the source holds
several and none is named, it raises ImageRequiredError listing the choices.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cmp_to_key

from ocitool.errors import (
    AmbiguousImageError,
    ArtifactError,
    ImageNotFoundError,
    ImageRequiredError,
    OcitoolError,
    PlatformNotFoundError,
)
from ocitool.image.source import Entry, Selected, Source, SourceImage
from ocitool.model import mediatypes as mt
from ocitool.model.platform import Platform, host_platform, only, only_platform_with_fallback
from ocitool.model.reference import try_parse_normalized

__all__ = [
    "artifact_type",
    "entry_label",
    "find_entries",
    "is_attestation",
    "is_platform_image",
    "platform_image",
    "platform_images",
    "select_images",
    "select_one",
]

_HEX_PREFIX = re.compile(r"^(?:sha256:)?([a-f0-9]{1,64})$")
_POSITION = re.compile(r"^@(\d+)$")


def is_attestation(image: SourceImage) -> bool:
    """A BuildKit attestation manifest (``vnd.docker.reference.type: attestation-manifest``)."""
    ann = image.descriptor.annotations
    return ann.get(mt.ANNOTATION_DOCKER_REFERENCE_TYPE) == mt.ATTESTATION_MANIFEST


def _name_matches(entry: Entry, name: str, transport: str) -> bool:
    if name in entry.ref_names or name in entry.repo_tags:
        return True
    ref = try_parse_normalized(name)
    if ref is None:
        return False
    familiar = ref.with_default_tag().familiar()
    return familiar in entry.repo_tags


def find_entries(source: Source, image: str = "") -> list[Entry]:
    """The entries ``image`` selects ('' selects all). Raises ImageNotFoundError or
    AmbiguousImageError."""
    entries = list(source.entries)
    if not image:
        return entries
    position = _POSITION.match(image)
    if position:
        n = int(position.group(1))
        if n >= len(entries):
            raise ImageNotFoundError(image, path=source.path)
        return [entries[n]]
    by_name = [e for e in entries if _name_matches(e, image, source.transport)]
    if by_name:
        return by_name
    prefix = _HEX_PREFIX.match(image)
    if prefix:
        hexpart = prefix.group(1)
        hits: list[Entry] = []
        ids: set[str] = set()
        for entry in entries:
            candidates = {entry.descriptor.digest.encoded}
            candidates.update(img.id.encoded for img in entry.images())
            matched = {c for c in candidates if c.startswith(hexpart)}
            if matched:
                hits.append(entry)
                ids.update(matched)
        if len(ids) > 1:
            raise AmbiguousImageError(image, path=source.path)
        if hits:
            return hits
    raise ImageNotFoundError(image, path=source.path)


_COSIGN_SIGNATURE_LAYER = "application/vnd.dev.cosign.simplesigning.v1+json"
_EMPTY_CONFIG_MAX = 16
"""A config this small is read to see whether it is ``{}`` (an artifact's); real image configs
are far larger, so images never pay a read here."""


def artifact_type(image: SourceImage) -> str | None:
    """What makes ``image``'s manifest an artifact (its ``artifactType``, its config's media
    type, ``{} config``, or cosign signature layers: a ``.sig``), or None for an image
    manifest. Reads the config only when it is a few bytes long."""
    manifest = image.manifest
    if manifest.artifact_type:
        return manifest.artifact_type
    if not manifest.is_image:
        return manifest.config.media_type
    if manifest.layers and all(layer.media_type == _COSIGN_SIGNATURE_LAYER for layer in manifest.layers):
        return _COSIGN_SIGNATURE_LAYER  # a cosign .sig "image": signatures, nothing to run
    config = manifest.config
    small = config.size <= _EMPTY_CONFIG_MAX and image.blobs.has(config.digest)
    if small and image.raw_config.strip() in (b"{}", b""):
        return "{} config"
    return None


def is_platform_image(image: SourceImage) -> bool:
    """A runnable image: an image manifest that is no attestation, artifact or other
    reference (``vnd.docker.reference.type``), and whose platform is not ``unknown/unknown``."""
    desc = image.descriptor
    if mt.ANNOTATION_DOCKER_REFERENCE_TYPE in desc.annotations:
        return False
    if desc.platform is not None and desc.platform.os == "unknown":
        return False
    return artifact_type(image) is None


def entry_label(entry: Entry) -> list[str]:
    """How messages name an entry: its tags, else its ref names, else its digest."""
    return entry.repo_tags or entry.ref_names or [str(entry.descriptor.digest)]


def _candidates(entry: Entry) -> list[SourceImage]:
    return [img for img in entry.images() if is_platform_image(img)]


def platform_images(entry: Entry) -> list[SourceImage]:
    """Every present, runnable platform image of an entry (attestations left out)."""
    return _candidates(entry)


def platform_image(entry: Entry, platform: Platform, *, path: str) -> SourceImage:
    """The image of ``platform`` in ``entry``, as ``--platform`` chooses one everywhere: of an
    index, the best match with Docker's fallback; a single image must match. Raises
    PlatformNotFoundError (naming ``platform`` and ``path``, with the platforms there),
    ImageNotFoundError (the entry's manifest is absent), ArtifactError (artifacts only)."""
    chosen = _choose(entry, platform=platform, all_platforms=False, path=path)
    if not chosen:
        raise _artifact_note(entry)
    return chosen[0]


def select_images(
    source: Source,
    image: str = "",
    *,
    platform: Platform | None = None,
    all_platforms: bool = False,
    errors: list[OcitoolError] | None = None,
) -> list[Selected]:
    """The images to show for ``image`` in ``source``: one per entry, or with
    ``all_platforms`` every platform image of each entry. A source that resolves names
    itself (:meth:`~ocitool.image.source.Source.select`, a store) answers a name its way.

    Raises ImageNotFoundError, AmbiguousImageError, PlatformNotFoundError. With ``errors``,
    an entry that cannot be read is reported there and skipped instead, and so is an entry
    holding artifacts only (an ArtifactError: a note, not a failure); without, such an entry
    gives no image.
    """
    if image:
        own = source.select(image, platform=platform)
        if own is not None:
            return own
    out: list[Selected] = []
    for entry in find_entries(source, image):
        try:
            chosen = _choose(entry, platform=platform, all_platforms=all_platforms, path=source.path)
        except OcitoolError as exc:
            if errors is None:
                raise
            errors.append(exc)
            continue
        if not chosen and errors is not None and entry.node is not None:
            errors.append(_artifact_note(entry))
        out.extend(Selected(entry, img) for img in chosen)
    return out


def _artifact_note(entry: Entry) -> ArtifactError:
    """Why an entry with a node gives no image: what its (first) manifest is instead."""
    kind = ""
    for img in entry.images():
        kind = artifact_type(img) or img.descriptor.annotations.get(mt.ANNOTATION_DOCKER_REFERENCE_TYPE, "")
        if kind:
            break
    return ArtifactError(entry_label(entry), str(entry.descriptor.digest), kind)


def select_one(source: Source, image: str = "", *, platform: Platform | None = None) -> Selected:
    """The one image ``image`` names in ``source``. With no ``image``, the source must hold a
    single image (artifacts and unreadable entries aside; one image under several names is
    one): several raise ImageRequiredError with their names (or IDs) to choose from, as
    guessing the first would mislead. A source (or a name) holding artifacts only raises
    ArtifactError. Raises the errors of :func:`select_images` too."""
    problems: list[OcitoolError] = []
    chosen = select_images(source, image, platform=platform, errors=problems)
    if chosen and (image or len({s.image.id for s in chosen}) == 1):
        return chosen[0]
    if chosen:
        choices = [
            f"{' '.join(s.entry.repo_tags or s.entry.ref_names) or '<none>'} ({s.image.id.encoded[:12]})"
            for s in chosen
        ]
        raise ImageRequiredError(choices, path=source.path)
    failures = [p for p in problems if not isinstance(p, ArtifactError)]
    if failures or problems:
        raise (failures or problems)[0]
    raise ImageNotFoundError(image or "(any image)", path=source.path)


def _choose(entry: Entry, *, platform: Platform | None, all_platforms: bool, path: str) -> list[SourceImage]:
    images = _candidates(entry)
    if not images:
        if entry.node is None:
            raise ImageNotFoundError(
                f"{entry.descriptor.digest} ({entry.missing_reason or 'absent'})", path=path
            )
        return []
    if all_platforms:
        return images
    if not entry.is_index:
        image = images[0]
        if platform is not None and not only_platform_with_fallback(platform).match(image.platform):
            raise PlatformNotFoundError(str(platform), [str(image.platform)], path=path)
        return [image]
    if platform is not None:
        matcher = only_platform_with_fallback(platform)
        matching = [img for img in images if matcher.match(img.platform)]
        if not matching:
            raise PlatformNotFoundError(str(platform), [str(i.platform) for i in images], path=path)
        return [_best(matching, platform)]
    host = host_platform()
    matcher = only_platform_with_fallback(host)
    matching = [img for img in images if matcher.match(img.platform)]
    return [_best(matching, host) if matching else images[0]]


def _best(images: Sequence[SourceImage], wanted: Platform) -> SourceImage:
    comparer = only(wanted)

    def cmp(a: SourceImage, b: SourceImage) -> int:
        if comparer.less(a.platform, b.platform):
            return -1
        if comparer.less(b.platform, a.platform):
            return 1
        return 0

    return sorted(images, key=cmp_to_key(cmp))[0]
