"""Converting images between formats: docker-archive, OCI layout and OCI archive, recompressing.

:func:`convert` reads any source :func:`~ocitool.formats.detect.open_source` reads and writes
one destination (``oci:DIR[:REF]``, ``oci-archive:PATH[:REF]``, ``docker-archive:PATH[:NAME]``).

What changes and what does not:

* **Layers.** Without ``compress``, an OCI destination gzips uncompressed layers (as skopeo does)
  and keeps compressed ones byte for byte; a docker-archive destination stores layers
  uncompressed (as ``docker save`` does). With ``compress``, every layer not already in that
  compression is recompressed (also those that are, when ``level`` is given). Diff IDs never
  change: every decompressed stream is hashed and checked against the config. Foreign layers and
  non-layer blobs (attestations, artifacts) are copied as they are.
* **Documents.** Configs are copied byte for byte, so image IDs are kept. A manifest is kept
  byte for byte unless a layer changed or it is a Docker schema2 manifest (written as an OCI
  manifest, as skopeo does for ``oci:``); indexes likewise, up to the top.
* **Names.** ``RepoTags`` become ``io.containerd.image.name`` (the full reference) plus
  ``org.opencontainers.image.ref.name`` (the tag), one ``index.json`` entry per name, as Docker
  25+ saves; OCI names become ``RepoTags`` when they are references. ``REF``, ``NAME`` and
  ``tags`` replace the names (one image only).
* **Platforms.** An index is kept whole with ``all_platforms``; otherwise one image is chosen
  from it (``platform``, else the host's, with Docker's fallback), as skopeo does.

Output is deterministic (see :mod:`ocitool.ops.recompress` and :mod:`ocitool._io.tarwriter`) and atomic
(see :mod:`ocitool.formats.oci.write`). Layers are processed in parallel threads (hashing and
the codecs release the GIL); memory does not depend on layer size.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import IO, Any, Final

from ocitool._go import json as _gojson
from ocitool._record import field, record
from ocitool.compression import Compression, open_decompressed
from ocitool.errors import (
    DigestMismatchError,
    ImageNotFoundError,
    InvalidConfigError,
    InvalidReferenceError,
)
from ocitool.formats.detect import REGISTRY_TRANSPORT, SourceLike, SourceSpec, open_source, parse_source
from ocitool.formats.docker.write import DockerArchiveWriter, DockerImage
from ocitool.formats.oci.write import LayoutWriter, OCIDirWriter, TarLayoutWriter
from ocitool.formats.registry.read import RegistryOptions, RegistrySource, open_registry_source
from ocitool.formats.registry.reference import parse_registry_reference
from ocitool.formats.registry.write import RegistryWriter
from ocitool.image.lookup import find_entries, is_platform_image, select_images
from ocitool.image.source import ImageIndex, Layer, Source, SourceImage
from ocitool.image.walk import Kind, SkipDescriptor, Step, openable, walk
from ocitool.model import mediatypes as mt
from ocitool.model.descriptor import Descriptor
from ocitool.model.digest import Digest
from ocitool.model.platform import Platform
from ocitool.model.reference import parse_normalized, try_parse_normalized
from ocitool.ops.progress import Progress
from ocitool.ops.recompress import ANNOTATION_COMPRESSOR, Codec, recompress

__all__ = [
    "DESTINATION_TRANSPORTS",
    "ConvertProgress",
    "ConvertResult",
    "ConvertedImage",
    "Destination",
    "convert",
    "parse_destination",
]

DESTINATION_TRANSPORTS: Final = ("oci", "oci-archive", "docker-archive", REGISTRY_TRANSPORT)
_CHUNK: Final = 1 << 20
_ZSTD_CHUNKED_PREFIX: Final = "io.github.containers.zstd-chunked."


@record(frozen=True)
class Destination:
    """A parsed DESTINATION: transport, path, and the REF (OCI) or NAME (docker) suffix."""

    transport: str
    path: str
    ref: str = ""


def parse_destination(text: str) -> Destination:
    """``oci:DIR[:REF]``, ``oci-archive:PATH[:REF]``, ``docker-archive:PATH[:NAME]`` or
    ``docker://HOST[:PORT]/REPO[:TAG|@DIGEST]`` (a registry; ``path`` is the reference).

    Raises InvalidReferenceError for another transport, a bare path, or a NAME that is no
    tagged reference.
    """
    spec = parse_source(text)
    if spec.transport not in DESTINATION_TRANSPORTS:
        raise InvalidReferenceError(
            text,
            "a destination needs a transport: "
            "oci:DIR[:REF], oci-archive:PATH[:REF], docker-archive:PATH[:NAME] or docker://HOST/REPO[:TAG]",
        )
    if spec.transport == REGISTRY_TRANSPORT:
        parse_registry_reference(spec.path)
    if spec.transport == "docker-archive" and spec.image:
        _docker_name(spec.image)
    return Destination(spec.transport, spec.path, spec.image)


def _docker_name(name: str) -> str:
    """``name`` as a RepoTags entry (familiar, tag defaulted). Raises InvalidReferenceError."""
    ref = parse_normalized(name)
    if ref.digest:
        raise InvalidReferenceError(name, "a name with a digest cannot be a tag")
    return ref.with_default_tag().familiar()


# Progress of a conversion: ``done`` of ``total`` source bytes in ``phase`` (``layers``: reading
# and recompressing; ``writing``: assembling an archive). The one progress event of the library.
ConvertProgress = Progress


@record(frozen=True)
class ConvertedImage:
    """One top-level output: the manifest or index written, its image IDs and its names."""

    digest: Digest
    media_type: str
    image_ids: tuple[Digest, ...]
    names: tuple[str, ...]


@record(frozen=True)
class ConvertResult:
    """What :func:`convert` wrote."""

    destination: Destination
    images: tuple[ConvertedImage, ...]


@record(frozen=True)
class _Name:
    """One name of an output image: a full reference (``io.containerd.image.name``) and/or an
    OCI ref name."""

    full: str = ""
    ref_name: str = ""

    def repo_tag(self) -> str:
        for candidate in (self.full, self.ref_name):
            if candidate and (":" in candidate or "/" in candidate):
                ref = try_parse_normalized(candidate)
                if ref is not None and ref.tag and not ref.digest:
                    return ref.familiar()
        return ""

    def annotations(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.full:
            out[mt.ANNOTATION_CONTAINERD_IMAGE_NAME] = self.full
        if self.ref_name:
            out[mt.ANNOTATION_REF_NAME] = self.ref_name
        return out


def _name_from_tag(tag: str) -> _Name:
    ref = parse_normalized(tag)
    if ref.digest:
        raise InvalidReferenceError(tag, "a name with a digest cannot be a tag")
    ref = ref.with_default_tag()
    return _Name(full=str(ref), ref_name=ref.tag)


@record
class _Item:
    node: SourceImage | ImageIndex
    names: list[_Name] = field(default_factory=list)
    chosen: SourceImage | None = None  # for docker output of an index: the image that gets the tags


@record
class _LayerOut:
    digest: Digest
    size: int
    compression: Compression
    compressor: str = ""  # set when recompressed


class _Cancelled(Exception):
    """Raised in workers once another job failed or the user interrupted."""


class _Progress:
    def __init__(
        self, callback: Callable[[ConvertProgress], None] | None, total: int, cancel: threading.Event
    ):
        self._callback = callback
        self._total = total
        self._done = 0
        self._phase = "layers"
        self._lock = threading.Lock()
        self._cancel = cancel

    def phase(self, name: str, total: int) -> None:
        with self._lock:
            self._phase, self._total, self._done = name, total, 0
        if self._callback is not None:
            self._callback(ConvertProgress(name, 0, total))

    def add(self, n: int) -> None:
        if self._cancel.is_set():
            raise _Cancelled()
        if self._callback is None:
            return
        with self._lock:
            self._done += n
            event = ConvertProgress(self._phase, self._done, self._total)
        self._callback(event)


class _Counting(io.RawIOBase):
    """A raw reader that reports bytes read and stops when cancelled."""

    def __init__(self, raw: IO[bytes], progress: _Progress) -> None:
        self._raw = raw
        self._progress = progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        n = len(data)
        memoryview(buffer).cast("B")[:n] = data
        self._progress.add(n)
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


class _Converter:
    def __init__(
        self,
        source: Source,
        dest: Destination,
        writer: LayoutWriter,
        *,
        compress: Compression | None,
        level: int | None,
        workers: int,
        progress: Callable[[ConvertProgress], None] | None,
    ) -> None:
        self.source = source
        self.dest = dest
        self.writer = writer
        self.docker = dest.transport == "docker-archive"
        # a registry keeps Docker manifests and lists as they are, unless a layer changes
        self.exact = dest.transport == REGISTRY_TRANSPORT
        self.compress = compress
        self.level = level
        self.workers = workers
        self.cancel = threading.Event()
        self.callback = progress
        self.jobs: dict[Digest, tuple[Layer | None, Descriptor, Compression | None]] = {}
        self.layer_out: dict[Digest, _LayerOut] = {}
        self.node_out: dict[Digest, Descriptor] = {}
        self.lock = threading.Lock()
        self.blobs_of: dict[Digest, SourceImage | ImageIndex] = {}
        self.progress = _Progress(progress, 0, self.cancel)

    # -- planning ---------------------------------------------------------------------------

    def _target(self, layer: Layer) -> Compression | None:
        """The compression a layer gets, or None to copy its bytes as they are."""
        current = layer.compression
        if self.compress is not None:
            target = self.compress
        elif self.docker:
            target = Compression.NONE
        elif current in (Compression.NONE, Compression.XZ, Compression.BZIP2):
            target = Compression.GZIP
        else:
            target = current
        if target is current and (self.level is None or target is Compression.NONE):
            return None
        return target

    def plan(self, root: SourceImage | ImageIndex) -> None:
        """Schedule the blobs below ``root``: layers to recompress or copy, other blobs to copy."""

        def visit(step: Step) -> None:
            if isinstance(step.node, SourceImage):
                self._plan_image(step.node)
            elif step.kind is Kind.BLOB and isinstance(step.parent, ImageIndex):
                self._add_copy(step.parent, step.descriptor)

        walk(root, visit)

    def _add_copy(self, node: SourceImage | ImageIndex, desc: Descriptor) -> None:
        if desc.data is None and node.blobs.has(desc.digest):
            self.jobs.setdefault(desc.digest, (None, desc, None))
            self.blobs_of[desc.digest] = node

    def _plan_image(self, image: SourceImage) -> None:
        manifest = image.manifest
        layers: tuple[Layer, ...] = ()
        if manifest.is_image:
            try:
                layers = image.layers
            except InvalidConfigError:  # no diff IDs to check a new encoding against: copy as is
                layers = ()
        by_digest = {layer.digest: layer for layer in layers}
        for desc in manifest.layers:
            layer = by_digest.get(desc.digest)
            if layer is None or not mt.is_layer(desc.media_type) or mt.is_foreign_layer(desc.media_type):
                self._add_copy(image, desc)
                continue
            if not layer.present:
                layer.open_blob()  # raises BlobNotFoundError naming the manifest
            if desc.digest not in self.jobs:
                self.jobs[desc.digest] = (layer, desc, self._target(layer))
                self.blobs_of[desc.digest] = image

    # -- layer work -------------------------------------------------------------------------

    def run_jobs(self) -> None:
        total = sum(desc.size for _, desc, _ in self.jobs.values())
        self.progress.phase("layers", total)
        # Every layer gets a reader at once (up to 4 per worker): the deflate pool, ``workers``
        # wide, bounds the CPU, and a large layer no longer waits for two others to finish
        # before it starts (566 MB in 3 layers on 2 cores: 4.3 s -> 3.3 s).
        readers = max(self.workers, min(len(self.jobs), 4 * self.workers))
        pool = ThreadPoolExecutor(max_workers=readers, thread_name_prefix="ocitool-convert")
        self.block_pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="ocitool-deflate")
        futures: list[Future[None]] = []
        try:
            for digest, (layer, desc, target) in self.jobs.items():
                futures.append(pool.submit(self._job, digest, layer, desc, target))
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            for f in done:
                exc = f.exception()
                if exc is not None and not isinstance(exc, _Cancelled):
                    raise exc
            for f in futures:
                f.result()
        except BaseException:
            self.cancel.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        finally:
            self.block_pool.shutdown(wait=True, cancel_futures=True)
        pool.shutdown(wait=True)

    def _job(self, digest: Digest, layer: Layer | None, desc: Descriptor, target: Compression | None) -> None:
        if self.cancel.is_set():
            raise _Cancelled()
        node = self.blobs_of[digest]
        blobs = node.blobs
        where = blobs.where(digest)
        if target is None:
            counts = self.writer.copies_move_bytes
            self.writer.put_copy(
                digest,
                desc.size,
                lambda: blobs.open(digest),
                where=where,
                progress=self.progress.add if counts else None,
            )
            comp = layer.compression if layer is not None else Compression.NONE
            with self.lock:
                self.layer_out[digest] = _LayerOut(digest, desc.size, comp)
            if not counts:
                self.progress.add(desc.size)
            return
        assert layer is not None
        codec = Codec(target, self.level)
        staged = self.writer.new_temp()
        try:
            raw = _Counting(layer.open_blob(buffered=False), self.progress)
            with open_decompressed(raw, layer.compression, path=where) as tar:  # type: ignore[arg-type]
                result = recompress(
                    tar, staged.file, codec, executor=self.block_pool, in_flight=self.workers + 1
                )
            if result.diff_id != layer.diff_id:
                raise DigestMismatchError(str(layer.diff_id), str(result.diff_id), path=where, what="diff ID")
            self.writer.put_staged(result.digest, result.size, staged)
        except BaseException:
            staged.discard()
            raise
        with self.lock:
            self.layer_out[digest] = _LayerOut(
                result.digest, result.size, target, codec.compressor if target is not Compression.NONE else ""
            )

    # -- documents --------------------------------------------------------------------------

    def write(self, root: SourceImage | ImageIndex) -> Descriptor:
        """Write ``root`` and the manifests and indexes below it, children first (each rewritten
        when something it references changed); the new descriptor of ``root``."""

        def visit(step: Step) -> None:
            if step.node is not None and step.node.descriptor.digest in self.node_out:
                raise SkipDescriptor  # written already, through another parent or entry

        def leave(step: Step) -> None:
            node = step.node
            if isinstance(node, SourceImage):
                self.node_out[node.digest] = self._write_image(node)
            elif isinstance(node, ImageIndex):
                self.node_out[node.digest] = self._write_index(node)

        walk(root, visit, leave=leave)
        return self.node_out[root.digest]

    def _write_image(self, image: SourceImage) -> Descriptor:
        manifest = image.manifest
        if manifest.config.data is None:
            self.writer.put_bytes(image.raw_config)
        to_oci = changed = manifest.media_type == mt.DOCKER_MANIFEST and (
            not self.exact or self._layers_change(image)
        )
        doc = _load(image.raw_manifest)
        if changed:
            doc["mediaType"] = mt.OCI_MANIFEST
            if doc.get("config", {}).get("mediaType") == mt.DOCKER_CONFIG:
                doc["config"]["mediaType"] = mt.OCI_CONFIG
        for i, desc in enumerate(manifest.layers):
            out = self.layer_out.get(desc.digest)
            layer_doc = doc["layers"][i]
            if out is None:  # absent foreign layer, or embedded data: descriptor as it is
                if changed and desc.media_type == mt.DOCKER_FOREIGN_LAYER:
                    layer_doc["mediaType"] = mt.OCI_LAYER_NONDISTRIBUTABLE_GZIP
                continue
            if mt.is_layer(desc.media_type) and (to_oci or out.digest != desc.digest):
                # The media type says what the stored bytes are (a Docker label may not).
                table = (
                    mt.OCI_FOREIGN_LAYER_TYPES if mt.is_foreign_layer(desc.media_type) else mt.OCI_LAYER_TYPES
                )
                layer_doc["mediaType"] = table.get(out.compression, desc.media_type)
            if out.digest != desc.digest:
                changed = True
                layer_doc["digest"] = str(out.digest)
                layer_doc["size"] = out.size
                annotations = {
                    k: v
                    for k, v in (layer_doc.get("annotations") or {}).items()
                    if not k.startswith(_ZSTD_CHUNKED_PREFIX) and k != ANNOTATION_COMPRESSOR
                }
                if out.compressor:
                    annotations[ANNOTATION_COMPRESSOR] = out.compressor
                if annotations:
                    layer_doc["annotations"] = dict(sorted(annotations.items()))
                else:
                    layer_doc.pop("annotations", None)
        if not changed:
            raw = image.raw_manifest
            media_type = manifest.media_type
        else:
            raw = _gojson.dumps(doc).encode()
            media_type = mt.OCI_MANIFEST
        digest = self.writer.put_bytes(raw)
        return Descriptor(
            media_type=media_type,
            digest=digest,
            size=len(raw),
            annotations=dict(image.descriptor.annotations),
            platform=image.descriptor.platform,
            artifact_type=image.descriptor.artifact_type,
        )

    def _write_index(self, node: ImageIndex) -> Descriptor:
        """The index with the new descriptors of its children (those the walk wrote)."""
        index = node.index
        doc = _load(node.raw_manifest)
        changed = index.media_type == mt.DOCKER_MANIFEST_LIST and not self.exact
        for i, desc in enumerate(index.manifests):
            child_doc = doc["manifests"][i]
            new: Descriptor | None
            if openable(desc):
                new = self.node_out.get(desc.digest)  # None: absent, a loop or too deep
            else:
                out = self.layer_out.get(desc.digest)
                new = Descriptor(desc.media_type, out.digest, out.size) if out is not None else None
            if new is None:
                continue  # listed as it is
            if new.digest != desc.digest or (new.media_type != desc.media_type and desc.media_type):
                changed = True
                child_doc["mediaType"] = new.media_type
                child_doc["digest"] = str(new.digest)
                child_doc["size"] = new.size
        # An attestation manifest's entry names the manifest it attests (buildx's reference
        # annotations): a rewritten manifest keeps its attestations only if they follow it.
        renamed = {
            str(d.digest): str(new.digest)
            for d in index.manifests
            if (new := self.node_out.get(d.digest)) is not None and new.digest != d.digest
        }
        for child_doc in doc["manifests"]:
            notes = child_doc.get("annotations")
            for key in mt.ANNOTATION_DOCKER_REFERENCE_DIGESTS:
                if isinstance(notes, dict) and notes.get(key) in renamed:
                    notes[key] = renamed[notes[key]]
                    changed = True
        if changed and index.media_type == mt.DOCKER_MANIFEST_LIST:
            doc["mediaType"] = mt.OCI_INDEX
        raw = _gojson.dumps(doc).encode() if changed else node.raw_manifest
        media_type = mt.OCI_INDEX if changed else index.media_type
        digest = self.writer.put_bytes(raw)
        return Descriptor(media_type=media_type, digest=digest, size=len(raw))

    def _layers_change(self, image: SourceImage) -> bool:
        """Whether a layer of ``image`` is written with other bytes than the source's."""
        for desc in image.manifest.layers:
            out = self.layer_out.get(desc.digest)
            if out is not None and out.digest != desc.digest:
                return True
        return False

    def layer_descriptors(self, image: SourceImage, new_manifest: Descriptor) -> list[Descriptor]:
        """The output layer descriptors of ``image`` (for manifest.json)."""
        out = []
        for desc in image.manifest.layers:
            o = self.layer_out.get(desc.digest)
            out.append(desc if o is None else Descriptor(desc.media_type, o.digest, o.size))
        return out


def _load(raw: bytes) -> dict[str, Any]:
    doc = json.loads(raw)
    assert isinstance(doc, dict)
    return doc


def _items(source: Source, image: str, *, platform: Platform | None, all_platforms: bool) -> list[_Item]:
    items: dict[Digest, _Item] = {}
    pairs: list[tuple[Any, SourceImage | ImageIndex, SourceImage | None]] = []
    if all_platforms:
        chosen_by_entry = {id(s.entry): s.image for s in select_images(source, image, errors=[])}
        for entry in find_entries(source, image):
            if entry.node is None:
                raise ImageNotFoundError(
                    f"{entry.descriptor.digest} ({entry.missing_reason or 'absent'})", path=source.path
                )
            pairs.append((entry, entry.node, chosen_by_entry.get(id(entry))))
    else:
        for sel in select_images(source, image, platform=platform):
            pairs.append((sel.entry, sel.image, sel.image))
    for entry, node, chosen in pairs:
        item = items.setdefault(node.digest, _Item(node, chosen=chosen))
        names = _entry_names(entry.repo_tags, entry.ref_names)
        for name in names:
            if name not in item.names:
                item.names.append(name)
    return list(items.values())


def _entry_names(repo_tags: Sequence[str], ref_names: Sequence[str]) -> list[_Name]:
    if ref_names:
        full = ""
        if repo_tags:
            ref = try_parse_normalized(repo_tags[0])
            full = str(ref.with_default_tag()) if ref is not None else ""
        return [_Name(full=full, ref_name=ref_names[0])] + [_name_from_tag(t) for t in repo_tags[1:]]
    return [_name_from_tag(t) for t in repo_tags]


def _writer(
    dest: Destination, *, legacy_docker: bool, source: Source, registry: RegistryOptions | None
) -> LayoutWriter:
    if dest.transport == REGISTRY_TRANSPORT:
        ref = parse_registry_reference(dest.path)
        client = (registry or RegistryOptions()).client(ref)
        mount_from = None
        if isinstance(source, RegistrySource) and source.ref.registry == ref.registry:
            mount_from = source.ref.repository
        return RegistryWriter(ref, client, mount_from=mount_from)
    if dest.transport == "oci":
        return OCIDirWriter(dest.path)
    if dest.transport == "oci-archive":
        return TarLayoutWriter(dest.path)
    return DockerArchiveWriter(dest.path, legacy=legacy_docker)


def convert(
    src: SourceLike | SourceSpec | Source,
    dst: str | Destination,
    *,
    all_platforms: bool = False,
    platform: Platform | None = None,
    compress: Compression | None = None,
    level: int | None = None,
    tags: str | Sequence[str] = (),
    legacy_docker: bool = False,
    workers: int | None = None,
    progress: Callable[[ConvertProgress], None] | None = None,
    src_registry: RegistryOptions | None = None,
    dest_registry: RegistryOptions | None = None,
) -> ConvertResult:
    """Convert the images ``src`` selects into ``dst``, a DESTINATION such as ``oci:DIR[:REF]``
    (see the module docstring). ``src`` is a SOURCE string or path, or an opened
    :class:`~ocitool.image.source.Source` (a store's, say): every image of it is converted, and
    it is left open.

    ``compress`` is NONE, GZIP or ZSTD; ``level`` its level (gzip 1-9, default 1; zstd 1-19,
    default 3);
    ``tags`` replace the names of the (single) image; ``legacy_docker`` writes Docker 20.10's
    docker-save layout; ``workers`` threads process layers (default: the available cores);
    ``progress`` is called from worker threads with :class:`ConvertProgress`;
    ``src_registry``/``dest_registry`` say how to reach a ``docker://`` source or destination
    (credentials, TLS). A registry destination takes one image or index (pushed to its tag);
    an index whose platforms the source lacks is refused unless ``platform`` picks one.

    Atomic: on any error (or KeyboardInterrupt) nothing is left at ``dst`` that was not there.
    Raises OcitoolError subclasses: InvalidReferenceError (destination, names), the reader's
    errors, DigestMismatchError when content does not match its digest or diff ID.
    """
    dest = parse_destination(dst) if isinstance(dst, str) else dst
    if compress is not None or level is not None:
        Codec(compress or Compression.GZIP, level)  # validates the level before any work
    if legacy_docker and dest.transport != "docker-archive":
        raise InvalidReferenceError(dest.path, "the docker-legacy format is for docker-archive: destinations")
    override = [tags] if isinstance(tags, str) else list(tags)
    if dest.ref:
        override.append(dest.ref)
    opened: contextlib.AbstractContextManager[Source]
    if isinstance(src, Source):
        opened, selector = contextlib.nullcontext(src), ""
    else:
        spec = src if isinstance(src, SourceSpec) else parse_source(src)
        if spec.transport == REGISTRY_TRANSPORT:
            opened, selector = open_registry_source(spec.path, src_registry), ""
        else:
            opened, selector = open_source(spec), spec.image
    with opened as source:
        items = _items(source, selector, platform=platform, all_platforms=all_platforms)
        if override:
            if len(items) != 1:
                raise InvalidReferenceError(
                    ", ".join(override),
                    f"a name can be given to one image only; the source selects {len(items)}",
                )
            if dest.ref and dest.transport != "docker-archive" and not tags:
                items[0].names = [_Name(ref_name=dest.ref)]
            else:
                items[0].names = [_name_from_tag(t) for t in override]
        if dest.transport == REGISTRY_TRANSPORT:
            # one image or index per reference, named by it; refused before anything is pushed
            if len(items) != 1:
                raise InvalidReferenceError(
                    dest.path, f"a registry reference names one image; the source selects {len(items)}"
                )
            ref = parse_registry_reference(dest.path)
            items[0].names = [_name_from_tag(f"{ref.name}:{ref.tag}")] if ref.tag else []
        writer = _writer(dest, legacy_docker=legacy_docker, source=source, registry=dest_registry)
        with writer:
            # a partial index the destination can't take is refused before any blob goes out
            for item in items:
                if isinstance(item.node, ImageIndex):
                    writer.check_complete([d for d, img in item.node.walk() if img is None])
            conv = _Converter(
                source,
                dest,
                writer,
                compress=compress,
                level=level,
                workers=workers or len(os.sched_getaffinity(0)) or 1,
                progress=progress,
            )
            for item in items:
                conv.plan(item.node)
            conv.run_jobs()
            manifests: list[Descriptor] = []
            results: list[ConvertedImage] = []
            docker_images: list[DockerImage] = []
            for item in items:
                desc = conv.write(item.node)
                names = item.names or [_Name()]
                for name in names:
                    manifests.append(
                        Descriptor(desc.media_type, desc.digest, desc.size, annotations=name.annotations())
                    )
                images = [item.node] if isinstance(item.node, SourceImage) else item.node.images()
                results.append(
                    ConvertedImage(
                        desc.digest,
                        desc.media_type,
                        tuple(img.id for img in images),
                        tuple(n.repo_tag() or n.ref_name for n in item.names),
                    )
                )
                if isinstance(writer, DockerArchiveWriter):
                    repo_tags = [t for t in (n.repo_tag() for n in item.names) if t]
                    platform_images = [img for img in images if is_platform_image(img) and _loadable(img)]
                    for img in platform_images:
                        tagged = img is item.chosen or len(platform_images) == 1
                        docker_images.append(_docker_image(conv, img, repo_tags if tagged else []))
            if not writer.copies_move_bytes:  # an archive: its blobs are streamed now
                conv.progress.phase("writing", writer.pending_bytes())
                writer.progress = conv.progress.add
            if isinstance(writer, DockerArchiveWriter):  # manifest.json lists images, not manifests
                writer.commit_images(_merge_docker(docker_images), manifests)
            else:
                writer.commit(manifests)
    return ConvertResult(dest, tuple(results))


def _docker_image(conv: _Converter, image: SourceImage, repo_tags: list[str]) -> DockerImage:
    new = conv.node_out[image.digest]
    layers = conv.layer_descriptors(image, new)
    diff_ids = [layer.diff_id for layer in image.layers]
    foreign = {
        layer.diff_id: out
        for layer, out in zip(image.layers, layers, strict=True)
        if mt.is_foreign_layer(layer.media_type)
    }
    return DockerImage(image.id, image.raw_config, layers, diff_ids, repo_tags, foreign)


def _loadable(image: SourceImage) -> bool:
    """Whether Docker could load the image: its config has a rootfs matching its layers."""
    try:
        return bool(image.layers) or image.config.rootfs is not None
    except InvalidConfigError:
        return False


def _merge_docker(images: list[DockerImage]) -> list[DockerImage]:
    """One manifest.json entry per image ID, tags merged in order (as ``docker save`` does)."""
    out: dict[Digest, DockerImage] = {}
    for image in images:
        have = out.get(image.config)
        if have is None:
            out[image.config] = image
        else:
            have.repo_tags.extend(t for t in image.repo_tags if t not in have.repo_tags)
    return list(out.values())
