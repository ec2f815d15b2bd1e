"""Registries as a transport: ``docker://`` references, credentials and the distribution API.

:class:`~ocitool.formats.registry.client.RegistryClient` speaks to one registry; oras-py
(and requests under it) is imported on first use, never by importing this package.
"""

from __future__ import annotations

from ocitool.formats.registry.auth import Credentials, find_credentials, parse_creds
from ocitool.formats.registry.blobs import BlobReader
from ocitool.formats.registry.client import (
    DEFAULT_CONCURRENCY,
    FetchedManifest,
    ManifestInfo,
    PushedManifest,
    PushOutcome,
    Referrers,
    RegistryClient,
    map_bounded,
)
from ocitool.formats.registry.reference import RegistryReference, parse_registry_reference
from ocitool.formats.registry.transport import RetryPolicy

__all__ = [
    "DEFAULT_CONCURRENCY",
    "BlobReader",
    "Credentials",
    "FetchedManifest",
    "ManifestInfo",
    "PushOutcome",
    "PushedManifest",
    "Referrers",
    "RegistryClient",
    "RegistryReference",
    "RetryPolicy",
    "find_credentials",
    "map_bounded",
    "parse_creds",
    "parse_registry_reference",
]
