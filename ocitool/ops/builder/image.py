"""Building images and indexes in Python: :class:`ImageBuilder` and :class:`IndexBuilder`.

A builder starts from nothing (:meth:`ImageBuilder.from_scratch`) or from an image of any
source (:meth:`ImageBuilder.from_image`), gains layers (:mod:`.layers`), config edits and
history entries, and :meth:`~ImageBuilder.build` returns a :class:`BuiltImage`: a
:class:`~ocitool.image.source.Source` holding one image, so every writer takes it
(:func:`ocitool.convert` to ``oci:``, ``oci-archive:``, ``docker-archive:``, ``docker://``; the
store's ``load``). Base layers are not copied: the built image's blobs fall back to the base's
source, which must stay open while the image is written.

Reproducible by default: every new history entry's ``created``, and the config's once a layer
or history entry is added (config edits alone keep the base's), is the builder's time
(``created``, else ``SOURCE_DATE_EPOCH``, else the epoch), layers are written as
:mod:`.layers` says, and documents are Go's JSON of a fixed key order. The manifest is OCI
(``application/vnd.oci.image.manifest.v1+json``); a base's Docker layer media types become their
OCI equivalents (the bytes are the same).
"""

from __future__ import annotations

import copy
import io
import json
import os
import tempfile
import threading
import weakref
from collections.abc import Mapping, Sequence
from typing import IO, Any

from ocitool._go import json as _gojson
from ocitool._io.output import remove_tree, staging_dir
from ocitool._io.tarwriter import source_date_epoch
from ocitool._record import record
from ocitool.compression import Compression
from ocitool.errors import BlobNotFoundError, InvalidConfigError
from ocitool.formats.detect import SourceLike, SourceSpec, open_source
from ocitool.image.lookup import select_one
from ocitool.image.source import Blobs, Entry, ImageIndex, Layer, Source, SourceImage
from ocitool.model import mediatypes as mt
from ocitool.model.descriptor import Descriptor
from ocitool.model.digest import Digest, digest_bytes
from ocitool.model.platform import Platform, host_platform
from ocitool.model.timestamp import Timestamp
from ocitool.ops.builder.layers import FileSpec, LayerBlob, LayerMaker
from ocitool.ops.recompress import Codec

__all__ = [
    "ANNOTATION_BASE_DIGEST",
    "ANNOTATION_BASE_NAME",
    "BuiltImage",
    "ImageBuilder",
    "IndexBuilder",
]

ANNOTATION_BASE_DIGEST = "org.opencontainers.image.base.digest"
ANNOTATION_BASE_NAME = "org.opencontainers.image.base.name"
_TO_OCI = {
    mt.DOCKER_LAYER_GZIP: mt.OCI_LAYER_GZIP,
    mt.DOCKER_UNCOMPRESSED_LAYER: mt.OCI_LAYER,
    mt.DOCKER_FOREIGN_LAYER: mt.OCI_LAYER_NONDISTRIBUTABLE_GZIP,
}


class _Spool:
    """The scratch directory holding built layers, removed when the builder and every image
    built from it are closed (or at exit)."""

    def __init__(self) -> None:
        self.path = staging_dir(tempfile.gettempdir(), prefix=".ocitool-build-")
        self._refs = 1
        self._lock = threading.Lock()
        self._finalizer = weakref.finalize(self, remove_tree, self.path)

    def acquire(self) -> None:
        with self._lock:
            self._refs += 1

    def release(self) -> None:
        with self._lock:
            self._refs -= 1
            done = self._refs <= 0
        if done:
            self._finalizer()


class _BuiltBlobs(Blobs):
    """Documents in memory, built layers in files, everything else from the bases' blobs."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.docs: dict[Digest, bytes] = {}
        self.files: dict[Digest, str] = {}
        self.parents: list[Blobs] = []
        self._found: dict[Digest, Blobs] = {}

    def _parent(self, digest: Digest) -> Blobs | None:
        # remembered: a registry's ``has`` is a round trip, and writers ask several times
        found = self._found.get(digest)
        if found is not None:
            return found
        for parent in self.parents:
            if parent.has(digest):
                self._found[digest] = parent
                return parent
        return None

    def has(self, digest: Digest) -> bool:
        return digest in self.docs or digest in self.files or self._parent(digest) is not None

    def size(self, digest: Digest) -> int:
        if digest in self.docs:
            return len(self.docs[digest])
        if digest in self.files:
            return os.path.getsize(self.files[digest])
        parent = self._parent(digest)
        if parent is None:
            raise BlobNotFoundError(str(digest), path=self.label)
        return parent.size(digest)

    def open(self, digest: Digest, *, buffered: bool = True) -> IO[bytes]:
        if digest in self.docs:
            return io.BytesIO(self.docs[digest])
        if digest in self.files:
            return open(self.files[digest], "rb", buffering=-1 if buffered else 0)
        parent = self._parent(digest)
        if parent is None:
            raise BlobNotFoundError(str(digest), path=self.label)
        return parent.open(digest, buffered=buffered)

    def where(self, digest: Digest) -> str:
        if digest in self.docs or digest in self.files:
            return f"{self.label}:{digest}"
        parent = self._parent(digest)
        return parent.where(digest) if parent is not None else f"{self.label}:{digest}"

    def put(self, data: bytes) -> Digest:
        digest = digest_bytes(data)
        self.docs[digest] = data
        return digest

    def merge(self, other: _BuiltBlobs) -> None:
        self.docs.update(other.docs)
        self.files.update(other.files)
        for parent in other.parents:
            if parent not in self.parents:
                self.parents.append(parent)


class BuiltImage(Source):
    """A built image or index: a :class:`~ocitool.image.source.Source` with one entry, named by
    ``names`` (references, for ``RepoTags``). ``node`` is the image or index; ``digest`` its
    manifest's. Close it (or use it as a context manager) to remove its spooled layers once
    written; sources it was built from are closed too when the builder opened them."""

    transport = "built"

    def __init__(
        self,
        blobs: _BuiltBlobs,
        node: SourceImage | ImageIndex,
        *,
        spools: Sequence[_Spool] = (),
        owned: Sequence[Source] = (),
        names: Sequence[str] = (),
    ) -> None:
        self.path = blobs.label
        self.blobs = blobs
        self.node = node
        self.names = list(names)
        self._spools = list(spools)
        self._owned = list(owned)
        self._closed = False

    @property
    def digest(self) -> Digest:
        return self.node.digest

    @property
    def image(self) -> SourceImage:
        """The image (ValueError for an index)."""
        if not isinstance(self.node, SourceImage):
            raise ValueError("the built node is an index")
        return self.node

    def named(self, *names: str) -> BuiltImage:
        """The same image under ``names`` (references) instead."""
        self.names = list(names)
        self.__dict__.pop("entries", None)
        return self

    def _load_entries(self) -> list[Entry]:
        return [Entry(0, self.node, self.node.descriptor, repo_tags=list(self.names))]

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for spool in self._spools:
            spool.release()
        for source in self._owned:
            source.close()


def _epoch(created: Timestamp | int | None) -> Timestamp:
    if isinstance(created, Timestamp):
        return created
    return Timestamp.from_unix(source_date_epoch() if created is None else created)


@record
class _LayerRef:
    blobs: Blobs
    descriptor: Descriptor
    diff_id: Digest


def _split_env(item: str) -> tuple[str, str]:
    key, _, value = item.partition("=")
    return key, value


class ImageBuilder:
    """An image under construction. Methods return ``self``, so calls chain.

    ``compression`` (GZIP by default; ZSTD or NONE) and ``level`` say how new layers are
    compressed; ``created`` (a Timestamp or Unix seconds) is the time of the config, of new
    history entries and of new files' mtimes (default ``SOURCE_DATE_EPOCH``, else the epoch).
    """

    def __init__(
        self,
        *,
        platform: Platform | None = None,
        compression: Compression = Compression.GZIP,
        level: int | None = None,
        created: Timestamp | int | None = None,
    ) -> None:
        self.created = _epoch(created)
        self._codec = Codec(compression, level)
        self._spool: _Spool | None = None
        self._maker: LayerMaker | None = None
        self._blobs = _BuiltBlobs("built image")
        self._owned: list[Source] = []
        self._layers: list[_LayerRef] = []
        self.annotations: dict[str, str] = {}
        self.base: SourceImage | None = None
        p = platform or host_platform()
        self.config: dict[str, Any] = {"created": self.created.rfc3339nano(), "architecture": p.architecture}
        if p.variant:
            self.config["variant"] = p.variant
        self.config["os"] = p.os
        if p.os_version:
            self.config["os.version"] = p.os_version
        self.config["config"] = {}
        self.config["rootfs"] = {"type": "layers", "diff_ids": []}
        self.config["history"] = []

    # -- starting points --------------------------------------------------------------------

    @classmethod
    def from_scratch(cls, platform: Platform | str, **options: Any) -> ImageBuilder:
        """An empty image for ``platform`` (``linux/amd64``, a :class:`Platform`)."""
        p = Platform.parse(platform) if isinstance(platform, str) else platform
        return cls(platform=p, **options)

    @classmethod
    def from_image(
        cls,
        source: SourceLike | SourceSpec | Source | SourceImage,
        image: str | None = None,
        *,
        platform: Platform | None = None,
        **options: Any,
    ) -> ImageBuilder:
        """Start from an image: a :class:`SourceImage`, or the one ``image`` names in ``source``
        (a SOURCE string or an opened Source; of an index, ``platform``'s or the host's). The
        config, layers, history and manifest annotations are the base's; a source opened here
        is closed when the built image is."""
        builder = cls(**options)
        if isinstance(source, SourceImage):
            base = source
        else:
            opened = source if isinstance(source, Source) else open_source(source)
            if opened is not source:
                builder._owned.append(opened)
            base = select_one(opened, image or "", platform=platform).image
        builder._start_from(base)
        return builder

    def _start_from(self, base: SourceImage) -> None:
        self.base = base
        doc = json.loads(base.raw_config)
        if not isinstance(doc, dict):
            raise InvalidConfigError("config is not a JSON object", path=base.where)
        self.config = doc
        self.config.setdefault("config", {})
        if self.config["config"] is None:
            self.config["config"] = {}
        self._layers = [_LayerRef(base.blobs, layer.descriptor, layer.diff_id) for layer in base.layers]
        rootfs = self.config.setdefault("rootfs", {"type": "layers", "diff_ids": []})
        rootfs["diff_ids"] = [str(layer.diff_id) for layer in self._layers]
        self.annotations = dict(base.manifest.annotations or {})
        if base.blobs not in self._blobs.parents:
            self._blobs.parents.append(base.blobs)

    # -- layers -----------------------------------------------------------------------------

    def _layer_maker(self) -> LayerMaker:
        if self._maker is None:
            self._spool = _Spool()
            self._maker = LayerMaker(self._spool.path, self._codec, mtime=self.created.unix())
        return self._maker

    def _history(
        self, created_by: str, comment: str, author: str, *, empty_layer: bool = False
    ) -> dict[str, Any]:
        entry: dict[str, Any] = {"created": self.created.rfc3339nano()}
        if created_by:
            entry["created_by"] = created_by
        if author:
            entry["author"] = author
        if comment:
            entry["comment"] = comment
        if empty_layer:
            entry["empty_layer"] = True
        return entry

    def _add_blob(self, blob: LayerBlob, history: Mapping[str, Any] | None) -> ImageBuilder:
        self._blobs.files[blob.digest] = blob.path
        desc = Descriptor(blob.media_type, blob.digest, blob.size, annotations=dict(blob.annotations))
        return self.add_layer(_LayerRef(self._blobs, desc, blob.diff_id), history=history)

    def add_layer(
        self, layer: Layer | _LayerRef, *, history: Mapping[str, Any] | None = None
    ) -> ImageBuilder:
        """Append an existing layer (of any image), with a history entry when ``history`` is
        given (a dict in the config's form: ``created_by``, ``comment``, ...)."""
        ref = (
            layer if isinstance(layer, _LayerRef) else _LayerRef(layer.blobs, layer.descriptor, layer.diff_id)
        )
        if ref.blobs is not self._blobs and ref.blobs not in self._blobs.parents:
            self._blobs.parents.append(ref.blobs)
        self._layers.append(ref)
        self.config.setdefault("rootfs", {"type": "layers", "diff_ids": []})
        self.config["rootfs"].setdefault("diff_ids", [])
        self.config["rootfs"]["diff_ids"] = [*self.config["rootfs"]["diff_ids"], str(ref.diff_id)]
        if history is not None:
            entry = {"created": self.created.rfc3339nano(), **history}
            self.config["history"] = [*(self.config.get("history") or []), entry]
            self.config["created"] = self.created.rfc3339nano()  # the image changed: built now
        return self

    def add_directory(
        self,
        path: str | os.PathLike[str],
        *,
        prefix: str = "",
        xattrs: bool = False,
        created_by: str = "",
        comment: str = "",
        author: str = "",
    ) -> ImageBuilder:
        """A layer of the tree under ``path`` (placed under ``prefix`` in the image), with a
        history entry (``created_by`` defaults to ``ocitool add-directory PATH``)."""
        blob = self._layer_maker().from_directory(os.fspath(path), prefix=prefix, xattrs=xattrs)
        hist = self._history(created_by or f"ocitool add-directory {os.fspath(path)}", comment, author)
        return self._add_blob(blob, hist)

    def add_tar(
        self,
        tar: str | os.PathLike[str] | IO[bytes],
        *,
        created_by: str = "",
        comment: str = "",
        author: str = "",
    ) -> ImageBuilder:
        """A layer holding a tar file or stream (plain, gzip, zstd, xz, bzip2) as it is: its
        members and bytes are kept, so its diff ID is the tar's digest."""
        maker = self._layer_maker()
        if isinstance(tar, (str, os.PathLike)):
            blob = maker.from_tar_file(os.fspath(tar))
            label = os.fspath(tar)
        else:
            blob = maker.from_tar(tar, where="stream")
            label = "stream"
        hist = self._history(created_by or f"ocitool add-tar {label}", comment, author)
        return self._add_blob(blob, hist)

    def add_files(
        self,
        files: Mapping[str, bytes | FileSpec],
        *,
        created_by: str = "",
        comment: str = "",
        author: str = "",
    ) -> ImageBuilder:
        """A layer of in-memory files ``{path: bytes | FileSpec}`` (parents added)."""
        blob = self._layer_maker().from_files(files)
        hist = self._history(created_by or "ocitool add-files", comment, author)
        return self._add_blob(blob, hist)

    def add_history(
        self, created_by: str = "", *, comment: str = "", author: str = "", empty_layer: bool = True
    ) -> ImageBuilder:
        """A history entry (by default for no layer, as ENV or CMD make)."""
        entry = self._history(created_by, comment, author, empty_layer=empty_layer)
        self.config["history"] = [*(self.config.get("history") or []), entry]
        self.config["created"] = self.created.rfc3339nano()
        return self

    # -- config -----------------------------------------------------------------------------

    @property
    def _cfg(self) -> dict[str, Any]:
        cfg = self.config.get("config")
        if not isinstance(cfg, dict):
            cfg = self.config["config"] = {}
        return cfg

    def set_env(self, env: Mapping[str, str] | Sequence[str]) -> ImageBuilder:
        """Set variables: an existing key is replaced where it stands, new keys are appended in
        order (crane's rule). ``env`` is a mapping or ``K=V`` strings."""
        pairs = list(env.items()) if isinstance(env, Mapping) else [_split_env(e) for e in env]
        wanted = dict(pairs)
        out: list[str] = []
        for item in self._cfg.get("Env") or []:
            key = item.partition("=")[0]
            if key in wanted:
                out.append(f"{key}={wanted.pop(key)}")
            else:
                out.append(item)
        windows = self.config.get("os") == "windows"
        for key, value in wanted.items():
            out.append(f"{key.upper() if windows else key}={value}")
        self._cfg["Env"] = out
        return self

    def set_entrypoint(self, entrypoint: Sequence[str] | None, *, keep_cmd: bool = False) -> ImageBuilder:
        """Set the entrypoint; Cmd is cleared (as Docker and crane do) unless ``keep_cmd``."""
        self._set("Entrypoint", list(entrypoint) if entrypoint is not None else None)
        if not keep_cmd:
            self._cfg.pop("Cmd", None)
        return self

    def set_cmd(self, cmd: Sequence[str] | None) -> ImageBuilder:
        return self._set("Cmd", list(cmd) if cmd is not None else None)

    def set_labels(self, labels: Mapping[str, str]) -> ImageBuilder:
        """Add or replace labels."""
        merged = dict(self._cfg.get("Labels") or {})
        merged.update(labels)
        return self._set("Labels", merged)

    def set_user(self, user: str) -> ImageBuilder:
        return self._set("User", user)

    def set_workdir(self, workdir: str) -> ImageBuilder:
        return self._set("WorkingDir", workdir)

    def set_exposed_ports(self, ports: Sequence[str]) -> ImageBuilder:
        """Add exposed ports (``80``, ``53/udp``; ``/tcp`` is the default protocol)."""
        have = dict(self._cfg.get("ExposedPorts") or {})
        for port in ports:
            have[f"{port}/tcp" if "/" not in port else port] = {}
        return self._set("ExposedPorts", dict(sorted(have.items())))

    def set_volumes(self, volumes: Sequence[str]) -> ImageBuilder:
        have = dict(self._cfg.get("Volumes") or {})
        for volume in volumes:
            have[volume] = {}
        return self._set("Volumes", dict(sorted(have.items())))

    def set_stop_signal(self, signal: str) -> ImageBuilder:
        return self._set("StopSignal", signal)

    def set_healthcheck(
        self,
        test: Sequence[str],
        *,
        interval: int = 0,
        timeout: int = 0,
        start_period: int = 0,
        retries: int = 0,
    ) -> ImageBuilder:
        """Docker's Healthcheck (durations in nanoseconds, 0 for the default)."""
        hc: dict[str, Any] = {"Test": list(test)}
        for key, value in (
            ("Interval", interval),
            ("Timeout", timeout),
            ("StartPeriod", start_period),
            ("Retries", retries),
        ):
            if value:
                hc[key] = value
        return self._set("Healthcheck", hc)

    def set_annotations(self, annotations: Mapping[str, str]) -> ImageBuilder:
        """Add or replace manifest annotations."""
        self.annotations.update(annotations)
        return self

    def set_platform(self, platform: Platform | str) -> ImageBuilder:
        """Set the config's os, architecture and variant (crane's ``--set-platform``)."""
        p = Platform.parse(platform) if isinstance(platform, str) else platform
        self.config["os"] = p.os
        self.config["architecture"] = p.architecture
        if p.variant:
            self.config["variant"] = p.variant
        else:
            self.config.pop("variant", None)
        if p.os_version:
            self.config["os.version"] = p.os_version
        return self

    def set_created(self, created: Timestamp | int) -> ImageBuilder:
        """Set the config's ``created`` (and the time of later history entries)."""
        self.created = _epoch(created)
        self.config["created"] = self.created.rfc3339nano()
        return self

    def _set(self, key: str, value: Any) -> ImageBuilder:
        if value is None:
            self._cfg.pop(key, None)
        else:
            self._cfg[key] = value
        return self

    # -- surgery for the verbs ----------------------------------------------------------------

    @property
    def layers(self) -> list[_LayerRef]:
        return list(self._layers)

    def replace_layers(
        self, layers: Sequence[Layer | _LayerRef], history: list[dict[str, Any]]
    ) -> ImageBuilder:
        """Replace every layer and the whole history (rebase, flatten)."""
        self._layers = []
        self.config.setdefault("rootfs", {"type": "layers"})["diff_ids"] = []
        self.config["history"] = []
        for layer in layers:
            self.add_layer(layer)
        self.config["history"] = copy.deepcopy(history)
        return self

    def add_layer_blob(self, blob: LayerBlob, history: Mapping[str, Any] | None) -> ImageBuilder:
        """A layer the builder's :class:`LayerMaker` wrote."""
        return self._add_blob(blob, history)

    @property
    def layer_maker(self) -> LayerMaker:
        return self._layer_maker()

    # -- result -----------------------------------------------------------------------------

    def build(self, *, names: Sequence[str] = ()) -> BuiltImage:
        """The image as built so far (the builder may go on). ``names`` (references) become its
        ``RepoTags``/ref names in the outputs."""
        blobs = _BuiltBlobs("built image")
        blobs.merge(self._blobs)
        config = dict(self.config)
        if not config.get("history"):
            config.pop("history", None)
        raw_config = _gojson.dumps(config).encode()
        config_digest = blobs.put(raw_config)
        manifest: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": mt.OCI_MANIFEST,
            "config": {"mediaType": mt.OCI_CONFIG, "digest": str(config_digest), "size": len(raw_config)},
            "layers": [self._layer_json(ref) for ref in self._layers],
        }
        if self.annotations:
            manifest["annotations"] = dict(sorted(self.annotations.items()))
        raw = _gojson.dumps(manifest).encode()
        digest = blobs.put(raw)
        desc = Descriptor(mt.OCI_MANIFEST, digest, len(raw))
        node = SourceImage(blobs, raw, desc, label="built image")
        spools = [self._spool] if self._spool is not None else []
        for spool in spools:
            spool.acquire()
        owned, self._owned = self._owned, []
        return BuiltImage(blobs, node, spools=spools, owned=owned, names=names)

    @staticmethod
    def _layer_json(ref: _LayerRef) -> dict[str, Any]:
        d = ref.descriptor
        media_type = _TO_OCI.get(d.media_type, d.media_type)
        return Descriptor(
            media_type, d.digest, d.size, urls=d.urls, annotations=dict(d.annotations)
        ).to_json()

    def close(self) -> None:
        """Release the builder's hold on its spooled layers (built images keep theirs)."""
        if self._spool is not None:
            self._spool.release()
            self._spool = None
            self._maker = None
        for source in self._owned:
            source.close()
        self._owned = []

    def __enter__(self) -> ImageBuilder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class IndexBuilder:
    """A multi-platform OCI index of built (or any) images, with annotations.

    ``add`` takes a :class:`BuiltImage` or a :class:`SourceImage`; the descriptor's platform is
    the one given, else the image's config's."""

    def __init__(self, *, annotations: Mapping[str, str] | None = None) -> None:
        self.annotations = dict(annotations or {})
        self._children: list[tuple[Descriptor, SourceImage | ImageIndex, Blobs]] = []
        self._built: list[BuiltImage] = []

    def add(
        self,
        image: BuiltImage | SourceImage | ImageIndex,
        *,
        platform: Platform | None = None,
        annotations: Mapping[str, str] | None = None,
    ) -> IndexBuilder:
        node: SourceImage | ImageIndex
        if isinstance(image, BuiltImage):
            self._built.append(image)
            node = image.node
        else:
            node = image
        if platform is None and isinstance(node, SourceImage):
            platform = node.descriptor.platform or node.config.platform()
        desc = Descriptor(
            node.descriptor.media_type,
            node.digest,
            node.descriptor.size,
            annotations=dict(annotations if annotations is not None else node.descriptor.annotations),
            platform=platform,
            artifact_type=node.descriptor.artifact_type,
        )
        self._children.append((desc, node, node.blobs))
        return self

    def set_annotations(self, annotations: Mapping[str, str]) -> IndexBuilder:
        self.annotations.update(annotations)
        return self

    def build(self, *, names: Sequence[str] = ()) -> BuiltImage:
        """The index; closing it closes the built images added."""
        blobs = _BuiltBlobs("built index")
        for _, node, child_blobs in self._children:
            if isinstance(child_blobs, _BuiltBlobs):
                blobs.merge(child_blobs)
            elif child_blobs not in blobs.parents:
                blobs.parents.append(child_blobs)
            if node.descriptor.digest not in blobs.docs and not blobs.has(node.digest):
                blobs.docs[node.digest] = node.raw_manifest
        doc: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": mt.OCI_INDEX,
            "manifests": [desc.to_json() for desc, _, _ in self._children],
        }
        if self.annotations:
            doc["annotations"] = dict(sorted(self.annotations.items()))
        raw = _gojson.dumps(doc).encode()
        digest = blobs.put(raw)
        node = ImageIndex(blobs, raw, Descriptor(mt.OCI_INDEX, digest, len(raw)), label="built index")
        built, self._built = self._built, []
        return BuiltImage(blobs, node, owned=built, names=names)
