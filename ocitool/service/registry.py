"""The image service's registry transfers, as moby's ``distribution`` package (``pull_v2.go``,
``push_v2.go``) does them for ``docker pull`` and ``docker push``, without a daemon.

``pull REF`` resolves ``REF`` in its registry (a multi-platform index: the image of
``platform``, else the host's, with Docker's fallback), downloads the layers the store lacks
(at most :data:`~ocitool.formats.registry.client.DEFAULT_CONCURRENCY` at once, each verified
against its digest while it streams and against its diff ID when registered), registers them
in order and creates the image; the tag (or digest reference) and the repository digest
``HOST/REPO@sha256:…`` are recorded as moby's ``pullV2Tag`` records them. An image whose config
the store holds already downloads nothing (moby skips it too).

``push NAME`` sends an image of the store to the repository its name names: per layer, the
blob the store keeps (an uncompressed one gzip-compressed first, as docker does), skipped when
the repository has it (HEAD) and mounted from another repository of the same registry that the
image was pulled from or pushed to (its repository digests); then the config; then a Docker
schema 2 manifest, written as docker writes it, under the tag. Its repository digest is
recorded afterwards, as docker records it.

Both record the repository (normalised, ``docker.io/library/alpine``: the one named, which is
where the image comes from, not the endpoint contacted) in the image's pull identity
(:meth:`~ocitool.store.images.ImageStore.add_pull_identity`), which ``inspect`` shows as moby's
``Identity.Pull``: moby records the pulled repository, and after a push the pushed one too.

What happens to each layer is reported through ``progress`` as
:class:`~ocitool.ops.progress.Progress` events: a *status* event (``is_status``;
``phase`` is docker's status text, such as ``Pulling fs layer`` or ``Mounted from pp/base``)
when a layer changes state, and byte events (``Downloading``, ``Extracting``, ``Pushing``;
``total`` the blob size) while bytes move. The CLI prints status events as docker's lines when
its output is not a terminal and draws all of them as bars when it is.
"""

from __future__ import annotations

import json
import tempfile
from typing import IO, TYPE_CHECKING, Final

from ocitool._io.output import OutputFile, pending_file, remove_tree, staging_dir
from ocitool._record import record
from ocitool.compression import Compression
from ocitool.errors import (
    BlobNotFoundError,
    ImageNotFoundError,
    InvalidReferenceError,
)
from ocitool.formats.registry.options import RegistryOptions, current_registry_options
from ocitool.formats.registry.reference import RegistryReference
from ocitool.image.source import Layer
from ocitool.model import mediatypes as mt
from ocitool.model.config import chain_ids
from ocitool.model.digest import Digest, digest_bytes
from ocitool.model.platform import Platform
from ocitool.model.reference import Reference, parse_normalized
from ocitool.ops.progress import CountingReader, Progress, ProgressCallback, Tracker
from ocitool.store.content import LayerInfo
from ocitool.store.root import StoreRoot, default_root

if TYPE_CHECKING:
    from ocitool.formats.registry.client import RegistryClient

# The HTTP client, the registry source and the codecs are imported by the calls that use them:
# the store's other commands load this module too (ImageService), and need none of them.

__all__ = [
    "ALREADY_EXISTS",
    "LAYER_ALREADY_EXISTS",
    "PULLING_FS_LAYER",
    "PULL_COMPLETE",
    "PUSHED",
    "PullResult",
    "PushResult",
    "RegistryService",
    "pull",
    "push",
    "registry_reference",
]

# docker's per-layer status texts (moby distribution/xfer and push_v2.go)
PULLING_FS_LAYER: Final = "Pulling fs layer"
ALREADY_EXISTS: Final = "Already exists"
VERIFYING: Final = "Verifying Checksum"
DOWNLOAD_COMPLETE: Final = "Download complete"
PULL_COMPLETE: Final = "Pull complete"
DOWNLOADING: Final = "Downloading"
EXTRACTING: Final = "Extracting"
PREPARING: Final = "Preparing"
PUSHING: Final = "Pushing"
PUSHED: Final = "Pushed"
LAYER_ALREADY_EXISTS: Final = "Layer already exists"


def _status(progress: ProgressCallback | None, item: str, text: str) -> None:
    if progress is not None:
        progress(Progress(text, 0, 0, item))


def registry_reference(ref: Reference) -> RegistryReference:
    """The registry coordinates of a normalised docker reference."""
    return RegistryReference(
        registry=ref.domain, repository=ref.path, tag=ref.tag if not ref.digest else "", digest=ref.digest
    )


@record(frozen=True)
class PullResult:
    """What ``docker pull`` reports: the reference pulled (normalised; ``latest`` added),
    whether that tag was added (``default_tag``), the manifest (or index) digest, the image ID,
    and whether a reference moved to a new image (``Downloaded newer image`` rather than
    ``Image is up to date``)."""

    reference: Reference
    digest: Digest
    image_id: Digest
    updated: bool
    default_tag: bool = False

    @property
    def status(self) -> str:
        """docker's ``Status:`` line."""
        what = "Downloaded newer image for" if self.updated else "Image is up to date for"
        return f"Status: {what} {self.reference.familiar()}"


@record(frozen=True)
class PushResult:
    """What ``docker push`` reports per tag: the tag, the manifest digest and its size."""

    reference: Reference
    tag: str
    digest: Digest
    size: int


def _pull_header(ref: Reference) -> str:
    """docker's first line: ``TAG: Pulling from REPO`` (the reference for a digest)."""
    return f"{ref.familiar() if ref.digest else ref.tag}: Pulling from {ref.path}"


class RegistryService:
    """``pull`` and ``push`` of :class:`~ocitool.service.service.ImageService`."""

    root: str

    @staticmethod
    def pull_reference(text: str) -> tuple[Reference, bool]:
        """``text`` normalised as docker's CLI does, with whether ``latest`` was added. Raises
        InvalidReferenceError."""
        ref = parse_normalized(text)
        if ref.tag and ref.digest:
            raise InvalidReferenceError(text, "a reference with both a tag and a digest cannot be pulled")
        if ref.tag or ref.digest:
            return ref, False
        return ref.with_default_tag(), True

    def pull(
        self,
        text: str,
        *,
        platform: Platform | None = None,
        options: RegistryOptions | None = None,
        progress: ProgressCallback | None = None,
    ) -> PullResult:
        """``docker pull REF`` into the store (see the module docstring). Raises
        InvalidReferenceError, RegistryError (RegistryNotFoundError: no such manifest,
        RegistryAuthError), PlatformNotFoundError, DigestMismatchError/SizeMismatchError (the
        registry sent other bytes than the digests say; nothing is stored then)."""
        from ocitool.formats.registry.read import RegistrySource
        from ocitool.image.lookup import select_one

        ref, default_tag = self.pull_reference(text)
        reg = registry_reference(ref)
        client = (options or current_registry_options()).client(reg)
        try:
            source = RegistrySource(reg, client)
        except BaseException:
            client.close()
            raise
        with source:
            _status(progress, "", _pull_header(ref))  # docker says it once the manifest resolved
            manifest_digest = source.descriptor.digest
            selected = select_one(source, "", platform=platform)
            image = selected.image
            layers, raw_config = image.layers, image.raw_config
            chains = chain_ids([layer.diff_id for layer in layers])
            # the network part runs under no lock: other commands go on meanwhile
            with StoreRoot.open(self.root) as r:
                have_image = r.images.exists(image.id)
                present = [have_image or r.layers.get(c) is not None for c in chains]
            scratch = staging_dir(tempfile.gettempdir(), prefix=".ocitool-pull-")
            spools: dict[int, OutputFile] = {}
            try:
                if not have_image:
                    self._download(layers, present, spools, scratch, progress)
                with StoreRoot.open(self.root, write=True) as w:
                    id = image.id
                    if not w.images.exists(id):
                        self._register(w, layers, chains, spools, progress)
                        id = w.images.create(raw_config)
                    updated = self._record(w, ref, manifest_digest, id)
                    w.images.add_pull_identity(id, ref.name)
            finally:
                for spool in spools.values():
                    spool.discard()
                remove_tree(scratch)
        return PullResult(ref, manifest_digest, id, updated, default_tag)

    @staticmethod
    def _download(
        layers: tuple[Layer, ...],
        present: list[bool],
        spools: dict[int, OutputFile],
        scratch: str,
        progress: ProgressCallback | None,
    ) -> None:
        """Download the layers not ``present`` into ``spools`` (by position), a few at once,
        each verified against its digest as it streams."""
        from ocitool.formats.registry.client import DEFAULT_CONCURRENCY, map_bounded

        for layer, here in zip(layers, present, strict=True):
            _status(progress, layer.digest.hex[:12], ALREADY_EXISTS if here else PULLING_FS_LAYER)

        def download(i: int) -> None:
            layer = layers[i]
            item = layer.digest.hex[:12]
            spool = spools[i] = pending_file(scratch, mode=0o600, sync=False)
            tracker = Tracker(progress, DOWNLOADING, layer.descriptor.size, item)
            with layer.open_blob(buffered=False) as raw:  # verified as it reaches its end
                while chunk := raw.read(1 << 20):
                    spool.file.write(chunk)
                    tracker.add(len(chunk))
            spool.close()
            _status(progress, item, VERIFYING)
            _status(progress, item, DOWNLOAD_COMPLETE)

        map_bounded(download, [i for i, here in enumerate(present) if not here], limit=DEFAULT_CONCURRENCY)

    @staticmethod
    def _register(
        w: StoreRoot,
        layers: tuple[Layer, ...],
        chains: list[Digest],
        spools: dict[int, OutputFile],
        progress: ProgressCallback | None,
    ) -> None:
        """Register the downloaded layers in order, each checked against its diff ID. A layer
        present when the pull began but removed since is an error (pull again)."""
        parent: Digest | None = None
        for i, (chain, layer) in enumerate(zip(chains, layers, strict=True)):
            if i in spools and w.layers.get(chain) is None:
                item = layer.digest.hex[:12]
                fh: IO[bytes] = open(spools[i].name, "rb")  # noqa: SIM115 - closed below
                if progress is not None:
                    fh = CountingReader(fh, Tracker(progress, EXTRACTING, layer.descriptor.size, item))  # type: ignore[assignment]
                with fh:
                    w.layers.register(
                        fh,
                        parent,
                        diff_id=layer.diff_id,
                        blob_digest=layer.digest,
                        media_type=layer.media_type,
                    )
                _status(progress, item, PULL_COMPLETE)
            elif i in spools:
                _status(progress, layer.digest.hex[:12], PULL_COMPLETE)
            elif w.layers.get(chain) is None:
                raise BlobNotFoundError(
                    str(chain), referenced_by="a layer removed while the pull ran", path=w.path
                )
            parent = chain

    @staticmethod
    def _record(r: StoreRoot, ref: Reference, manifest_digest: Digest, id: Digest) -> bool:
        """moby's ``pullV2Tag`` ending: True when a reference moved (a new image for it)."""
        digest_ref = Reference(domain=ref.domain, path=ref.path, tag="", digest=str(manifest_digest))
        old = r.references.get(ref)
        if old == id:
            if not ref.digest and r.references.get(digest_ref) is None:
                r.references.add_digest(digest_ref, id, force=True)
            return False
        if ref.digest:
            r.references.add_digest(ref, id, force=True)
        else:
            if r.references.get(digest_ref) is None:
                r.references.add_digest(digest_ref, id, force=True)
            r.references.add_tag(ref, id, force=True)
        return True

    # -- push --------------------------------------------------------------------------------

    @staticmethod
    def push_reference(name: str) -> tuple[Reference, bool]:
        """The reference ``docker push NAME`` pushes (``latest`` added), with whether it was
        added. Raises InvalidReferenceError."""
        ref = parse_normalized(name)
        if ref.digest:
            raise InvalidReferenceError(name, "cannot push a digest reference")
        return ref.with_default_tag(), not ref.tag

    def push(
        self,
        name: str,
        *,
        options: RegistryOptions | None = None,
        progress: ProgressCallback | None = None,
    ) -> PushResult:
        """``docker push NAME``: the image ``NAME`` (``latest`` added) names in the store, to the
        repository it names (see the module docstring). Raises ImageNotFoundError (docker's
        ``An image does not exist locally with the tag``), RegistryError and the store's
        errors; a failed push moves no tag."""
        ref, _ = self.push_reference(name)
        reg = registry_reference(ref)
        with StoreRoot.open(self.root) as r:
            id = r.references.get(ref)
            if id is None:
                raise ImageNotFoundError(ref.name)
            raw_config = r.images.backend.get(id)
            config = r.images.get(id)
            diff_ids = list(config.rootfs.diff_ids) if config.rootfs else []
            infos: list[LayerInfo] = []
            for chain in chain_ids(diff_ids):
                info = r.layers.get(chain)
                if info is None:
                    raise BlobNotFoundError(str(chain), referenced_by=f"image {id}", path=self.root)
                infos.append(info)
            mount_candidates = [
                x.path
                for x in r.references.references(id)
                if x.digest and x.domain == ref.domain and x.path != ref.path
            ]
            # the store is only read here (a shared lock): other commands go on meanwhile
            with (options or current_registry_options()).client(reg) as client:
                layers = self._push_layers(r, client, reg.repository, infos, mount_candidates, progress)
                client.push_blob(reg.repository, id, len(raw_config), raw_config)
                raw, media_type = _push_manifest(id, len(raw_config), layers)
                client.put_manifest(reg.repository, reg.tag, raw, media_type)
        digest = digest_bytes(raw)
        with StoreRoot.open(self.root, write=True) as w:
            digest_ref = Reference(domain=ref.domain, path=ref.path, tag="", digest=str(digest))
            if w.images.exists(id):
                if w.references.get(digest_ref) is None:
                    w.references.add_digest(digest_ref, id, force=True)
                w.images.add_pull_identity(id, ref.name)
        return PushResult(ref, ref.tag, digest, len(raw))

    @staticmethod
    def _push_layers(
        r: StoreRoot,
        client: RegistryClient,
        repository: str,
        infos: list[LayerInfo],
        mount_from: list[str],
        progress: ProgressCallback | None,
    ) -> list[tuple[str, Digest, int]]:
        """Push each layer's blob (gzip-compressed first when the store keeps it uncompressed);
        (media type, digest, size) of each, bottom first."""
        from ocitool.formats.registry.client import DEFAULT_CONCURRENCY, map_bounded
        from ocitool.ops.recompress import Codec, recompress

        for info in reversed(infos):
            _status(progress, info.diff_id.hex[:12], PREPARING)
        scratch = staging_dir(tempfile.gettempdir(), prefix=".ocitool-push-")
        try:

            def push(info: LayerInfo) -> tuple[str, Digest, int]:
                item = info.diff_id.hex[:12]
                staged: OutputFile | None = None
                try:
                    blob, size, media_type = _stored_blob(r, info)
                    if blob is None:
                        staged = pending_file(scratch, mode=0o600, sync=False)
                        with r.layers.open_uncompressed(info) as tar:
                            result = recompress(tar, staged.file, Codec(Compression.GZIP))
                        staged.close()
                        blob, size, media_type = result.digest, result.size, mt.DOCKER_LAYER_GZIP
                    if client.blob_size(repository, blob) is not None:
                        _status(progress, item, LAYER_ALREADY_EXISTS)
                        return media_type, blob, size
                    for other in mount_from:
                        if client.mount_blob(repository, blob, other):
                            _status(progress, item, f"Mounted from {other}")
                            return media_type, blob, size
                    tracker = Tracker(progress, PUSHING, size, item)
                    opened = open(staged.name, "rb") if staged is not None else r.layers.open_blob(info)  # noqa: SIM115
                    with CountingReader(opened, tracker) as fh:
                        client.push_blob(repository, blob, size, fh, check_exists=False)  # type: ignore[arg-type]
                    _status(progress, item, PUSHED)
                    return media_type, blob, size
                finally:
                    if staged is not None:
                        staged.discard()

            return map_bounded(push, infos, limit=DEFAULT_CONCURRENCY)
        finally:
            remove_tree(scratch)


def _stored_blob(r: StoreRoot, info: LayerInfo) -> tuple[Digest | None, int, str]:
    """The stored blob as docker would push it: (digest, size, media type), or None for the
    digest when it must be compressed first (an uncompressed blob)."""
    if info.blob is None:
        raise BlobNotFoundError(str(info.chain_id), referenced_by="a layer kept without its blob")
    with r.layers.open_blob(info) as fh:
        magic = fh.read(4)
    if magic[:2] == b"\x1f\x8b":
        return info.blob, info.blob_size, mt.DOCKER_LAYER_GZIP
    if magic == b"\x28\xb5\x2f\xfd":
        return info.blob, info.blob_size, mt.OCI_LAYER_ZSTD
    return None, 0, ""


def _push_manifest(
    config: Digest, config_size: int, layers: list[tuple[str, Digest, int]]
) -> tuple[bytes, str]:
    """A Docker schema 2 manifest as docker's push writes it (Go's MarshalIndent, three spaces;
    an OCI manifest when a layer is zstd, which schema 2 cannot name)."""
    oci = any(media_type == mt.OCI_LAYER_ZSTD for media_type, _, _ in layers)
    doc = {
        "schemaVersion": 2,
        "mediaType": mt.OCI_MANIFEST if oci else mt.DOCKER_MANIFEST,
        "config": {
            "mediaType": mt.OCI_CONFIG if oci else mt.DOCKER_CONFIG,
            "size": config_size,
            "digest": str(config),
        },
        "layers": [
            {
                "mediaType": (mt.OCI_LAYER_GZIP if media_type == mt.DOCKER_LAYER_GZIP else media_type)
                if oci
                else media_type,
                "size": size,
                "digest": str(digest),
            }
            for media_type, digest, size in layers
        ],
    }
    return json.dumps(doc, indent=3).encode(), str(doc["mediaType"])


def _standalone(root: str | None) -> RegistryService:
    service = RegistryService()
    service.root = root or default_root()
    return service


def pull(
    ref: str,
    *,
    root: str | None = None,
    platform: Platform | str | None = None,
    creds: str | None = None,
    authfile: str | None = None,
    tls_verify: bool | None = None,
    cert_dir: str | None = None,
    progress: ProgressCallback | None = None,
) -> PullResult:
    """``docker pull REF`` into the store at ``root`` (default ``$OCITOOL_ROOT``, else the user
    data dir): see :meth:`RegistryService.pull`. ``creds`` (``USER:PASSWORD``), ``authfile``,
    ``tls_verify`` and ``cert_dir`` as skopeo's flags."""
    options = RegistryOptions(creds=creds, authfile=authfile, tls_verify=tls_verify, cert_dir=cert_dir)
    wanted = Platform.parse(platform) if isinstance(platform, str) else platform
    return _standalone(root).pull(ref, platform=wanted, options=options, progress=progress)


def push(
    name: str,
    *,
    root: str | None = None,
    creds: str | None = None,
    authfile: str | None = None,
    tls_verify: bool | None = None,
    cert_dir: str | None = None,
    progress: ProgressCallback | None = None,
) -> PushResult:
    """``docker push NAME`` of the store at ``root``: see :meth:`RegistryService.push`."""
    options = RegistryOptions(creds=creds, authfile=authfile, tls_verify=tls_verify, cert_dir=cert_dir)
    return _standalone(root).push(name, options=options, progress=progress)
