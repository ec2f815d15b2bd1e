"""The referrers of an image: manifests whose ``subject`` is it (signatures, SBOMs, attestations).

For a registry SOURCE they come from the referrers API, or from the ``sha256-<hex>`` fallback
tag when the registry has no such API (:meth:`~ocitool.formats.registry.client.RegistryClient.
referrers`). For any other source they are the manifests the source lists (its entries and the
children of its indexes) whose ``subject`` names the image. Only manifests are read.
"""

from __future__ import annotations

from ocitool.errors import InvalidReferenceError
from ocitool.formats.registry.read import RegistrySource
from ocitool.image.lookup import find_entries
from ocitool.image.source import ImageIndex, Source, SourceImage
from ocitool.model.descriptor import Descriptor
from ocitool.model.digest import Digest
from ocitool.model.manifest import Index, Manifest
from ocitool.ops.query import SourceArg, opened

__all__ = ["referrers"]


def _subject_of(node: SourceImage | ImageIndex) -> Descriptor | None:
    return node.manifest.subject if isinstance(node, SourceImage) else node.index.subject


def _referrer(node: SourceImage | ImageIndex, listed: Descriptor) -> Descriptor:
    """The referrer's descriptor as the referrers API lists it: artifact type, annotations."""
    doc: Manifest | Index = node.manifest if isinstance(node, SourceImage) else node.index
    # as the distribution spec fills artifactType: the manifest's, else its config's media type
    artifact = doc.artifact_type or (doc.config.media_type if isinstance(doc, Manifest) else "")
    return Descriptor(
        media_type=node.descriptor.media_type,
        digest=node.digest,
        size=node.descriptor.size,
        annotations=dict(doc.annotations),
        artifact_type=artifact,
        platform=listed.platform,
    )


def _layout_referrers(source: Source, target: Digest, artifact_type: str | None) -> list[Descriptor]:
    found: dict[Digest, Descriptor] = {}

    def consider(node: SourceImage | ImageIndex, listed: Descriptor) -> None:
        subject = _subject_of(node)
        if subject is not None and subject.digest == target and node.digest not in found:
            desc = _referrer(node, listed)
            if artifact_type is None or desc.artifact_type == artifact_type:
                found[node.digest] = desc

    for entry in source.entries:
        if entry.node is None:
            continue
        consider(entry.node, entry.descriptor)
        if isinstance(entry.node, ImageIndex):
            for listed, image in entry.node.walk():
                if image is not None:
                    consider(image, listed)
    return list(found.values())


def referrers(source: SourceArg, image: str = "", *, artifact_type: str | None = None) -> list[Descriptor]:
    """The referrers of the image or index ``image`` names in ``source`` (a registry
    reference names its own), optionally only those of ``artifact_type``.

    Raises ImageNotFoundError, InvalidReferenceError (``image`` selects several), RegistryError.
    """
    with opened(source, image) as (src, name):
        if isinstance(src, RegistrySource):
            client, repository = src.client, src.ref.repository
            return client.referrers(
                repository, src.descriptor.digest, artifact_type=artifact_type
            ).descriptors
        entries = find_entries(src, name)
        targets = list(dict.fromkeys(e.descriptor.digest for e in entries))
        if len(targets) != 1:
            raise InvalidReferenceError(name or src.path, f"names {len(targets)} images; name one with IMAGE")
        return _layout_referrers(src, targets[0], artifact_type)
