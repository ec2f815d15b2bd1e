"""ocitool: an offline, daemonless toolkit and library for container images.

The public API is this curated list of functions and types; the modules behind it are internal
and may move. Each verb of the command line is a function::

    import ocitool

    for resp in ocitool.inspect("image.tar"):                # docker image inspect, offline
        print(resp.id, resp.repo_tags, resp.size)
    rows = ocitool.images(["a.tar", "oci:./layout"])        # one source, or several
    ocitool.convert("image.tar", "oci:./layout:v1")          # -> ConvertResult
    report = ocitool.verify("oci:./layout")                  # -> VerifyReport (.ok, .problems)
    ocitool.unpack("oci:./layout:v1", "rootfs")              # atomic: all or nothing

    with ocitool.open_source("oci:./layout:v1") as src:      # the read-only model
        for entry in src.entries:
            for image in entry.images():
                print(image.platform, [layer.diff_id for layer in image.layers])

A SOURCE is a string in skopeo's grammar (``oci:DIR[:REF]``, ``docker-archive:PATH[:NAME]``,
...) or a path (``str`` or ``os.PathLike``); arguments that take several sources or names also
take one. Every error is an :class:`OcitoolError`.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

# The release, read by setuptools at build time ([tool.setuptools.dynamic] in pyproject.toml) and
# by ``ocitool --version``: a literal, so start-up never calls importlib.metadata.
__version__ = "0.1.0"

from ocitool.errors import (
    AmbiguousImageError,
    ArtifactError,
    BaseMismatchError,
    BlobNotFoundError,
    DigestMismatchError,
    EmptySourceError,
    ImageConflictError,
    ImageNotFoundError,
    ImageReadError,
    ImageRequiredError,
    InvalidArchiveError,
    InvalidConfigError,
    InvalidDigestError,
    InvalidDocumentError,
    InvalidPlatformError,
    InvalidReferenceError,
    LayerInputError,
    NotAnImageError,
    OcitoolError,
    PlatformNotFoundError,
    ReferenceConflictError,
    SizeMismatchError,
    UnsupportedAlgorithmError,
    UnsupportedMediaTypeError,
)

if TYPE_CHECKING:
    # The lazy table, written once: these are imported on first use (PEP 562 ``__getattr__``),
    # because the CLI imports this package for every command and they would add tens of
    # milliseconds to each run. Type checkers read this block; so does _lazy_table().
    from ocitool.analysis.analyze import Analysis, LayerStats, analyze
    from ocitool.analysis.diff import ConfigChange, FileChange, ImageDiff, diff
    from ocitool.analysis.rules import CiResult, RuleResult, RuleStatus, run_ci
    from ocitool.engineapi.filters import ImageFilters
    from ocitool.engineapi.responses import DeleteResponse, DiskUsage, PruneReport
    from ocitool.engineapi.summary import HistoryResponseItem, InspectResponse, ManifestSummary, Summary
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
    from ocitool.ops.attestations import Attestations, AttestationStatement, attestations
    from ocitool.ops.builder.image import BuiltImage, ImageBuilder, IndexBuilder
    from ocitool.ops.builder.layers import FileSpec
    from ocitool.ops.builder.verbs import Mutation, append, flatten, mutate, rebase
    from ocitool.ops.convert import (
        ConvertedImage,
        ConvertProgress,
        ConvertResult,
        Destination,
        convert,
        parse_destination,
    )
    from ocitool.ops.query import (
        ImageTree,
        history,
        image_tree,
        images,
        inspect,
        manifests,
        raw_config,
        raw_manifest,
    )
    from ocitool.ops.rootfs import MergedEntry, iter_merged, merged_tar
    from ocitool.ops.sign import SignedImage, generate_key_pair, sign
    from ocitool.ops.signatures import SignatureCheck, SignatureReport, verify_signature
    from ocitool.ops.unpack import UnpackResult, export, unpack
    from ocitool.ops.validate import ValidationIssue, ValidationReport, validate
    from ocitool.ops.verify import Problem, VerifyReport, verify
    from ocitool.service.build import BuildResult, build
    from ocitool.service.delete import RmiResult
    from ocitool.service.list import docker_root_images
    from ocitool.service.loadsave import LoadResult
    from ocitool.service.registry import PullResult, PushResult, pull, push
    from ocitool.service.service import ImageService
    from ocitool.service.verbs import (
        VerbOptions,
        WrittenImage,
        append_image,
        flatten_image,
        mutate_image,
        rebase_image,
    )
    from ocitool.store.backend import FSBackend, MemoryBackend, StoreBackend
    from ocitool.store.content import LayerStore
    from ocitool.store.images import ImageStore
    from ocitool.store.references import ReferenceStore
    from ocitool.store.root import StoreRoot


@functools.cache
def _lazy_table() -> dict[str, str]:
    """Name -> module of every lazily loaded name, read from the ``if TYPE_CHECKING:`` block of
    this file on the first lazy access."""
    import ast
    import sys
    from inspect import getsource

    table: dict[str, str] = {}
    for node in ast.parse(getsource(sys.modules[__name__])).body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for imp in node.body:
                if isinstance(imp, ast.ImportFrom) and imp.module:
                    table.update((alias.asname or alias.name, imp.module) for alias in imp.names)
    return table


def __getattr__(name: str) -> Any:
    module = None if name.startswith("__") else _lazy_table().get(name)
    if module is None:
        raise AttributeError(f"module 'ocitool' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "AmbiguousImageError",
    "Analysis",
    "ArtifactError",
    "AttestationStatement",
    "Attestations",
    "BaseMismatchError",
    "BlobNotFoundError",
    "BuildResult",
    "BuiltImage",
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
    "FileSpec",
    "History",
    "HistoryResponseItem",
    "ImageBuilder",
    "ImageConfig",
    "ImageConflictError",
    "ImageDiff",
    "ImageFilters",
    "ImageIndex",
    "ImageNotFoundError",
    "ImageReadError",
    "ImageRequiredError",
    "ImageService",
    "ImageStore",
    "ImageTree",
    "Index",
    "IndexBuilder",
    "InspectResponse",
    "InvalidArchiveError",
    "InvalidConfigError",
    "InvalidDigestError",
    "InvalidDocumentError",
    "InvalidPlatformError",
    "InvalidReferenceError",
    "Layer",
    "LayerInputError",
    "LayerStats",
    "LayerStore",
    "LoadResult",
    "Manifest",
    "ManifestSummary",
    "MemoryBackend",
    "MergedEntry",
    "Mutation",
    "NotAnImageError",
    "OcitoolError",
    "Platform",
    "PlatformNotFoundError",
    "Problem",
    "PruneReport",
    "PullResult",
    "PushResult",
    "Reference",
    "ReferenceConflictError",
    "ReferenceStore",
    "RmiResult",
    "RootFS",
    "RuleResult",
    "RuleStatus",
    "SignatureCheck",
    "SignatureReport",
    "SignedImage",
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
    "VerbOptions",
    "VerifyReport",
    "VerifyingReader",
    "WrittenImage",
    "analyze",
    "append",
    "append_image",
    "attestations",
    "build",
    "chain_id",
    "chain_ids",
    "convert",
    "diff",
    "digest_bytes",
    "digest_stream",
    "docker_root_images",
    "export",
    "flatten",
    "flatten_image",
    "generate_key_pair",
    "history",
    "host_platform",
    "image_tree",
    "images",
    "inspect",
    "iter_merged",
    "manifests",
    "merged_tar",
    "mutate",
    "mutate_image",
    "normalize",
    "only",
    "only_platform_with_fallback",
    "open_source",
    "parse_destination",
    "parse_normalized",
    "parse_source",
    "pull",
    "push",
    "raw_config",
    "raw_manifest",
    "rebase",
    "rebase_image",
    "run_ci",
    "sign",
    "unpack",
    "validate",
    "verify",
    "verify_signature",
]
