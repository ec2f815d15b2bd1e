"""OCI and Docker media types, and what each kind of blob is.

Classification is by media type alone; :mod:`ocitool.compression` checks a layer's actual
bytes against what its media type claims.
"""

from __future__ import annotations

from typing import Final

from ocitool.compression import Compression, LayerCompression  # LayerCompression re-exported

__all__ = [
    "ANNOTATION_CONTAINERD_IMAGE_NAME",
    "ANNOTATION_DOCKER_REFERENCE_DIGEST",
    "ANNOTATION_DOCKER_REFERENCE_DIGESTS",
    "ANNOTATION_DOCKER_REFERENCE_TYPE",
    "ANNOTATION_REF_NAME",
    "ATTESTATION_MANIFEST",
    "DOCKER_CONFIG",
    "DOCKER_FOREIGN_LAYER",
    "DOCKER_LAYER",
    "DOCKER_LAYER_GZIP",
    "DOCKER_MANIFEST",
    "DOCKER_MANIFEST_LIST",
    "DOCKER_MANIFEST_V1",
    "DOCKER_MANIFEST_V1_SIGNED",
    "DOCKER_UNCOMPRESSED_LAYER",
    "OCI_CONFIG",
    "OCI_EMPTY",
    "OCI_INDEX",
    "OCI_FOREIGN_LAYER_TYPES",
    "OCI_LAYER",
    "OCI_LAYER_TYPES",
    "OCI_LAYER_GZIP",
    "OCI_LAYER_NONDISTRIBUTABLE",
    "OCI_LAYER_NONDISTRIBUTABLE_GZIP",
    "OCI_LAYER_NONDISTRIBUTABLE_ZSTD",
    "OCI_LAYER_ZSTD",
    "OCI_MANIFEST",
    "ZSTD_CHUNKED_MANIFEST_CHECKSUM",
    "LayerCompression",
    "is_config",
    "is_foreign_layer",
    "is_index",
    "is_layer",
    "is_manifest",
    "layer_compression",
]

OCI_INDEX: Final = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST: Final = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG: Final = "application/vnd.oci.image.config.v1+json"
OCI_EMPTY: Final = "application/vnd.oci.empty.v1+json"
OCI_LAYER: Final = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP: Final = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD: Final = "application/vnd.oci.image.layer.v1.tar+zstd"
OCI_LAYER_NONDISTRIBUTABLE: Final = "application/vnd.oci.image.layer.nondistributable.v1.tar"
OCI_LAYER_NONDISTRIBUTABLE_GZIP: Final = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
OCI_LAYER_NONDISTRIBUTABLE_ZSTD: Final = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"

DOCKER_MANIFEST: Final = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST: Final = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST_V1: Final = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_MANIFEST_V1_SIGNED: Final = "application/vnd.docker.distribution.manifest.v1+prettyjws"
DOCKER_CONFIG: Final = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP: Final = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_LAYER: Final = DOCKER_LAYER_GZIP
DOCKER_UNCOMPRESSED_LAYER: Final = "application/vnd.docker.image.rootfs.diff.tar"
DOCKER_FOREIGN_LAYER: Final = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

ANNOTATION_REF_NAME: Final = "org.opencontainers.image.ref.name"
ANNOTATION_CONTAINERD_IMAGE_NAME: Final = "io.containerd.image.name"
ANNOTATION_DOCKER_REFERENCE_TYPE: Final = "vnd.docker.reference.type"
ANNOTATION_DOCKER_REFERENCE_DIGEST: Final = "vnd.docker.reference.digest"
# What an attestation manifest's index entry attests, as buildx reads it: the first present.
ANNOTATION_DOCKER_REFERENCE_DIGESTS: Final = (
    "com.docker.reference.digest",
    ANNOTATION_DOCKER_REFERENCE_DIGEST,
)
ATTESTATION_MANIFEST: Final = "attestation-manifest"
# zstd:chunked layers share zstd's media type; containers/storage marks them with these
# annotations on the layer descriptor.
ZSTD_CHUNKED_MANIFEST_CHECKSUM: Final = "io.github.containers.zstd-chunked.manifest-checksum"
_ZSTD_CHUNKED_MARKERS: Final = (
    ZSTD_CHUNKED_MANIFEST_CHECKSUM,
    "io.github.containers.zstd-chunked.manifest-position",
)

_INDEXES: Final = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
_MANIFESTS: Final = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
_CONFIGS: Final = frozenset({OCI_CONFIG, DOCKER_CONFIG})


_LAYERS: Final[dict[str, LayerCompression]] = {
    OCI_LAYER: LayerCompression.NONE,
    OCI_LAYER_NONDISTRIBUTABLE: LayerCompression.NONE,
    DOCKER_UNCOMPRESSED_LAYER: LayerCompression.NONE,
    OCI_LAYER_GZIP: LayerCompression.GZIP,
    OCI_LAYER_NONDISTRIBUTABLE_GZIP: LayerCompression.GZIP,
    DOCKER_LAYER_GZIP: LayerCompression.GZIP,
    DOCKER_FOREIGN_LAYER: LayerCompression.GZIP,
    OCI_LAYER_ZSTD: LayerCompression.ZSTD,
    OCI_LAYER_NONDISTRIBUTABLE_ZSTD: LayerCompression.ZSTD,
}


def is_index(media_type: str) -> bool:
    """An OCI index or a Docker manifest list."""
    return media_type in _INDEXES


def is_manifest(media_type: str) -> bool:
    """An OCI image manifest or a Docker schema2 manifest."""
    return media_type in _MANIFESTS


def is_config(media_type: str) -> bool:
    return media_type in _CONFIGS


# The OCI layer media type for a stream compressed as the key says (what a writer declares).
OCI_LAYER_TYPES: Final = {
    Compression.NONE: OCI_LAYER,
    Compression.GZIP: OCI_LAYER_GZIP,
    Compression.ZSTD: OCI_LAYER_ZSTD,
}
OCI_FOREIGN_LAYER_TYPES: Final = {
    Compression.NONE: OCI_LAYER_NONDISTRIBUTABLE,
    Compression.GZIP: OCI_LAYER_NONDISTRIBUTABLE_GZIP,
    Compression.ZSTD: OCI_LAYER_NONDISTRIBUTABLE_ZSTD,
}


def is_layer(media_type: str) -> bool:
    """A filesystem layer media type (any compression, distributable or not)."""
    return media_type in _LAYERS


def is_foreign_layer(media_type: str) -> bool:
    """A layer whose blob lives elsewhere (``urls``) and is usually absent from archives."""
    return media_type in (
        DOCKER_FOREIGN_LAYER,
        OCI_LAYER_NONDISTRIBUTABLE,
        OCI_LAYER_NONDISTRIBUTABLE_GZIP,
        OCI_LAYER_NONDISTRIBUTABLE_ZSTD,
    )


def layer_compression(media_type: str, annotations: dict[str, str] | None = None) -> LayerCompression:
    """The compression a layer's media type declares; zstd:chunked is told by its annotations."""
    comp = _LAYERS.get(media_type, LayerCompression.UNKNOWN)
    if comp is LayerCompression.ZSTD and any(key in (annotations or {}) for key in _ZSTD_CHUNKED_MARKERS):
        return LayerCompression.ZSTD_CHUNKED
    return comp
