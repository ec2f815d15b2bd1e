"""ocitool: an offline, daemonless toolkit and library for container images.

The public API is this curated list; everything else is internal and may change. Typical use::

    import ocitool

    for resp in ocitool.inspect("image.tar"):          # docker image inspect, offline
        print(resp.id, resp.repo_tags, resp.size)

    with ocitool.open_source("oci:layout:latest") as src:  # the read-only model
        for entry in src.entries:
            for image in entry.images():
                print(image.platform, [layer.diff_id for layer in image.layers])
"""

from __future__ import annotations

from ocitool.config import ChildConfig, ContainerConfig, History, ImageConfig, RootFS, chain_id, chain_ids
from ocitool.descriptor import Descriptor
from ocitool.digest import Digest, VerifyingReader, digest_bytes, digest_stream
from ocitool.errors import (
    AmbiguousImageError,
    BlobNotFoundError,
    DigestMismatchError,
    EmptySourceError,
    ImageNotFoundError,
    InvalidArchiveError,
    InvalidConfigError,
    InvalidDigestError,
    InvalidDocumentError,
    InvalidPlatformError,
    InvalidReferenceError,
    NotAnImageError,
    OcitoolError,
    PlatformNotFoundError,
    SizeMismatchError,
    UnsupportedAlgorithmError,
    UnsupportedMediaTypeError,
)
from ocitool.formats.detect import open_source, parse_source
from ocitool.image import Entry, ImageIndex, Layer, Source, SourceImage
from ocitool.manifest import Index, Manifest
from ocitool.platform import Platform, host_platform, normalize, only, only_platform_with_fallback
from ocitool.query import ImageFilters, history, images, inspect, manifests, raw_config, raw_manifest
from ocitool.reference import Reference, parse_normalized
from ocitool.summary import HistoryResponseItem, InspectResponse, ManifestSummary, Summary
from ocitool.timestamp import Timestamp

__all__ = [
    "AmbiguousImageError",
    "BlobNotFoundError",
    "ChildConfig",
    "ContainerConfig",
    "Descriptor",
    "Digest",
    "DigestMismatchError",
    "EmptySourceError",
    "Entry",
    "History",
    "HistoryResponseItem",
    "ImageConfig",
    "ImageFilters",
    "ImageIndex",
    "ImageNotFoundError",
    "Index",
    "InspectResponse",
    "InvalidArchiveError",
    "InvalidConfigError",
    "InvalidDigestError",
    "InvalidDocumentError",
    "InvalidPlatformError",
    "InvalidReferenceError",
    "Layer",
    "Manifest",
    "ManifestSummary",
    "NotAnImageError",
    "OcitoolError",
    "Platform",
    "PlatformNotFoundError",
    "Reference",
    "RootFS",
    "SizeMismatchError",
    "Source",
    "SourceImage",
    "Summary",
    "Timestamp",
    "UnsupportedAlgorithmError",
    "UnsupportedMediaTypeError",
    "VerifyingReader",
    "chain_id",
    "chain_ids",
    "digest_bytes",
    "digest_stream",
    "history",
    "host_platform",
    "images",
    "inspect",
    "manifests",
    "normalize",
    "only",
    "only_platform_with_fallback",
    "open_source",
    "parse_normalized",
    "parse_source",
    "raw_config",
    "raw_manifest",
]
