"""ocitool: an offline, daemonless toolkit and library for container images.

The public API is this curated list; everything else is internal and may change. Typical use::

    import ocitool

    for resp in ocitool.inspect("image.tar"):          # docker image inspect, offline
        print(resp.id, resp.repo_tags, resp.size)

    from ocitool.ops.convert import convert                  # commands that share a module's name
    from ocitool.ops.verify import verify                    # are imported from their module

    with ocitool.open_source("oci:layout:latest") as src:  # the read-only model
        for entry in src.entries:
            for image in entry.images():
                print(image.platform, [layer.diff_id for layer in image.layers])
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ocitool.engineapi.filters import ImageFilters
from ocitool.engineapi.summary import HistoryResponseItem, InspectResponse, ManifestSummary, Summary
from ocitool.errors import (
    AmbiguousImageError,
    BlobNotFoundError,
    DigestMismatchError,
    EmptySourceError,
    ImageConflictError,
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
    ReferenceConflictError,
    SizeMismatchError,
    UnsupportedAlgorithmError,
    UnsupportedMediaTypeError,
)
from ocitool.formats.detect import open_source, parse_source
from ocitool.image.source import Entry, ImageIndex, Layer, Source, SourceImage
from ocitool.model.config import (
    ChildConfig,
    ContainerConfig,
    History,
    ImageConfig,
    RootFS,
    chain_id,
    chain_ids,
)
from ocitool.model.descriptor import Descriptor
from ocitool.model.digest import Digest, VerifyingReader, digest_bytes, digest_stream
from ocitool.model.manifest import Index, Manifest
from ocitool.model.platform import Platform, host_platform, normalize, only, only_platform_with_fallback
from ocitool.model.reference import Reference, parse_normalized
from ocitool.model.timestamp import Timestamp
from ocitool.ops.query import history, images, inspect, manifests, raw_config, raw_manifest

if TYPE_CHECKING:
    from ocitool.analysis.analyze import Analysis, LayerStats
    from ocitool.analysis.diff import ConfigChange, FileChange, ImageDiff
    from ocitool.analysis.rules import CiResult, RuleResult, RuleStatus, run_ci
    from ocitool.engineapi.responses import DeleteResponse, DiskUsage, PruneReport
    from ocitool.ops.convert import (
        ConvertedImage,
        ConvertProgress,
        ConvertResult,
        Destination,
        parse_destination,
    )
    from ocitool.ops.rootfs import MergedEntry, iter_merged, merged_tar
    from ocitool.ops.unpack import UnpackResult
    from ocitool.ops.validate import ValidationIssue, ValidationReport
    from ocitool.ops.verify import Problem, VerifyReport
    from ocitool.service.delete import RmiResult
    from ocitool.service.list import docker_root_images
    from ocitool.service.loadsave import LoadResult
    from ocitool.service.service import ImageService
    from ocitool.store.backend import FSBackend, MemoryBackend, StoreBackend
    from ocitool.store.content import LayerStore
    from ocitool.store.images import ImageStore
    from ocitool.store.references import ReferenceStore
    from ocitool.store.root import StoreRoot

# Loaded on first use (PEP 562): the CLI imports this package for every command, and these
# parts (store, convert, checks, analysis) would add tens of milliseconds to each run. None of
# these names is also a submodule's name, so loading a module never hides one of them.
_LAZY: dict[str, str] = {
    "Analysis": "ocitool.analysis.analyze",
    "CiResult": "ocitool.analysis.rules",
    "ConfigChange": "ocitool.analysis.diff",
    "ConvertProgress": "ocitool.ops.convert",
    "ConvertResult": "ocitool.ops.convert",
    "ConvertedImage": "ocitool.ops.convert",
    "DeleteResponse": "ocitool.engineapi.responses",
    "Destination": "ocitool.ops.convert",
    "DiskUsage": "ocitool.engineapi.responses",
    "FSBackend": "ocitool.store.backend",
    "FileChange": "ocitool.analysis.diff",
    "ImageDiff": "ocitool.analysis.diff",
    "ImageService": "ocitool.service.service",
    "ImageStore": "ocitool.store.images",
    "LayerStats": "ocitool.analysis.analyze",
    "LayerStore": "ocitool.store.content",
    "LoadResult": "ocitool.service.loadsave",
    "MemoryBackend": "ocitool.store.backend",
    "MergedEntry": "ocitool.ops.rootfs",
    "Problem": "ocitool.ops.verify",
    "PruneReport": "ocitool.engineapi.responses",
    "ReferenceStore": "ocitool.store.references",
    "RmiResult": "ocitool.service.delete",
    "RuleResult": "ocitool.analysis.rules",
    "RuleStatus": "ocitool.analysis.rules",
    "StoreBackend": "ocitool.store.backend",
    "StoreRoot": "ocitool.store.root",
    "UnpackResult": "ocitool.ops.unpack",
    "ValidationIssue": "ocitool.ops.validate",
    "ValidationReport": "ocitool.ops.validate",
    "VerifyReport": "ocitool.ops.verify",
    "docker_root_images": "ocitool.service.list",
    "iter_merged": "ocitool.ops.rootfs",
    "merged_tar": "ocitool.ops.rootfs",
    "parse_destination": "ocitool.ops.convert",
    "run_ci": "ocitool.analysis.rules",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ocitool' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "AmbiguousImageError",
    "Analysis",
    "BlobNotFoundError",
    "ChildConfig",
    "CiResult",
    "ConfigChange",
    "ContainerConfig",
    "ConvertProgress",
    "ConvertResult",
    "ConvertedImage",
    "DeleteResponse",
    "Descriptor",
    "Destination",
    "Digest",
    "DigestMismatchError",
    "DiskUsage",
    "EmptySourceError",
    "Entry",
    "FSBackend",
    "FileChange",
    "History",
    "HistoryResponseItem",
    "ImageConfig",
    "ImageConflictError",
    "ImageDiff",
    "ImageFilters",
    "ImageIndex",
    "ImageNotFoundError",
    "ImageService",
    "ImageStore",
    "Index",
    "InspectResponse",
    "InvalidArchiveError",
    "InvalidConfigError",
    "InvalidDigestError",
    "InvalidDocumentError",
    "InvalidPlatformError",
    "InvalidReferenceError",
    "Layer",
    "LayerStats",
    "LayerStore",
    "LoadResult",
    "Manifest",
    "ManifestSummary",
    "MemoryBackend",
    "MergedEntry",
    "NotAnImageError",
    "OcitoolError",
    "Platform",
    "PlatformNotFoundError",
    "Problem",
    "PruneReport",
    "Reference",
    "ReferenceConflictError",
    "ReferenceStore",
    "RmiResult",
    "RootFS",
    "RuleResult",
    "RuleStatus",
    "SizeMismatchError",
    "Source",
    "SourceImage",
    "StoreBackend",
    "StoreRoot",
    "Summary",
    "Timestamp",
    "UnpackResult",
    "UnsupportedAlgorithmError",
    "UnsupportedMediaTypeError",
    "ValidationIssue",
    "ValidationReport",
    "VerifyReport",
    "VerifyingReader",
    "chain_id",
    "chain_ids",
    "digest_bytes",
    "digest_stream",
    "docker_root_images",
    "history",
    "host_platform",
    "images",
    "inspect",
    "iter_merged",
    "manifests",
    "merged_tar",
    "normalize",
    "only",
    "only_platform_with_fallback",
    "open_source",
    "parse_destination",
    "parse_normalized",
    "parse_source",
    "raw_config",
    "raw_manifest",
    "run_ci",
]
