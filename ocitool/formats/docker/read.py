"""``docker save`` archives of every vintage, and what Jib, Bazel and ggcr write like them.

- Docker 1.10 to 24 (and others): ``manifest.json`` (keys in any case: Go's decoder ignores
  case, and Jib writes them in lowercase), ``repositories``, ``<id>/json``, ``<id>/layer.tar``
  (possibly a symlink to another layer's), configs under any name, ``LayerSources`` for foreign
  layers, several images per file. There is no stored manifest: one is synthesised in the shape
  skopeo gives (compact Docker schema2), with honest layer media types (see README).
- Docker 25+ and containerd (``ctr export``): an OCI layout plus ``manifest.json``. The layout's
  ``index.json`` is the truth for what the archive holds (every platform of a list, those whose
  blobs are absent too); ``manifest.json`` is the legacy view, which names the host's image only,
  and gives ``RepoTags`` (and ``Parent``). Where ``index.json`` says ``"manifests": null``
  (Docker 25's classic store), ``manifest.json`` is all there is: unreferenced manifest blobs are
  matched to its entries by their config digest.
- Before Docker 1.10: no ``manifest.json``; ``repositories`` names v1 image IDs whose
  ``<id>/json`` files chain by ``parent``. The config is built as moby's legacy loader builds it
  (``MakeConfigFromV1Config``), which needs each layer's diff ID, so this vintage alone reads
  layer bytes to list its images.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import IO, Any

from ocitool._go import json as _gojson
from ocitool._io.files import FileView, normalize_name
from ocitool._io.jsondoc import expect_dict, load_json
from ocitool.compression import SNIFF_SIZE, Compression, open_decompressed, sniff
from ocitool.errors import (
    BlobNotFoundError,
    EmptySourceError,
    InvalidDocumentError,
    NotAnImageError,
    OcitoolError,
)
from ocitool.formats.oci.read import LayoutBlobs, is_oci_layout
from ocitool.image.source import Blobs, Entry, Source, SourceImage, open_descriptor
from ocitool.model import mediatypes as mt
from ocitool.model.config import ContainerConfig
from ocitool.model.descriptor import Descriptor
from ocitool.model.digest import Digest, digest_bytes, digest_stream
from ocitool.model.manifest import Manifest
from ocitool.model.reference import try_parse_normalized
from ocitool.model.timestamp import Timestamp

__all__ = ["DockerArchiveSource", "is_docker_archive"]

_LAYER_MEDIA_TYPE = {
    Compression.NONE: mt.DOCKER_UNCOMPRESSED_LAYER,
    Compression.GZIP: mt.DOCKER_LAYER_GZIP,
    Compression.ZSTD: mt.OCI_LAYER_ZSTD,
}


def is_docker_archive(view: FileView) -> bool:
    """``manifest.json`` (1.10+), or ``repositories`` with v1 ``<id>/json`` files (older)."""
    return view.exists("manifest.json") or view.exists("repositories")


def _field(doc: dict[str, Any], name: str) -> Any:
    """A key looked up as Go's decoder does: exact match first, then case-insensitively."""
    if name in doc:
        return doc[name]
    lower = name.lower()
    for key, value in doc.items():
        if key.lower() == lower:
            return value
    return None


class MappedBlobs(Blobs):
    """Blobs of a docker archive: digests mapped to member names, plus synthesised documents."""

    def __init__(self, view: FileView, fallback: Blobs | None = None) -> None:
        self.view = view
        self.label = view.label
        self.members: dict[Digest, str] = {}
        self.documents: dict[Digest, bytes] = {}
        self.fallback = fallback

    def add_member(self, digest: Digest, name: str) -> None:
        self.members.setdefault(digest, name)

    def add_document(self, data: bytes) -> Digest:
        digest = digest_bytes(data)
        self.documents[digest] = data
        return digest

    def read_document(self, desc: Descriptor, *, referenced_by: str) -> bytes:
        # A document held here was hashed when it was added (synthesised, or read to learn its
        # digest): it is its digest's bytes, and is not read and hashed again.
        held = self.documents.get(desc.digest) if desc.data is None else None
        if held is not None and len(held) == desc.size:
            return held
        return super().read_document(desc, referenced_by=referenced_by)

    def has(self, digest: Digest) -> bool:
        if digest in self.documents:
            return True
        name = self.members.get(digest)
        if name is not None:
            return self.view.exists(name)
        return self.fallback.has(digest) if self.fallback else False

    def size(self, digest: Digest) -> int:
        if digest in self.documents:
            return len(self.documents[digest])
        name = self.members.get(digest)
        if name is not None and self.view.exists(name):
            return self.view.size(name)
        if self.fallback:
            return self.fallback.size(digest)
        raise BlobNotFoundError(str(digest), path=self.label)

    def open(self, digest: Digest, *, buffered: bool = True) -> IO[bytes]:
        if digest in self.documents:
            return io.BytesIO(self.documents[digest])
        name = self.members.get(digest)
        if name is not None and self.view.exists(name):
            return self.view.open(name, buffered=buffered)
        if self.fallback:
            return self.fallback.open(digest, buffered=buffered)
        raise BlobNotFoundError(str(digest), path=self.label)

    def head(self, digest: Digest, n: int) -> bytes:
        name = self.members.get(digest)
        if name is not None and self.view.exists(name):
            return self.view.read_head(name, n)
        return super().head(digest, n)

    def where(self, digest: Digest) -> str:
        name = self.members.get(digest)
        return self.view.where(name) if name else f"{self.label}:{digest}"


def _repo_tags(value: Any, *, path: str, field: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise InvalidDocumentError("RepoTags must be a list of strings", path=path, field=field)
    tags = []
    for tag in value:
        ref = try_parse_normalized(tag)
        tags.append(ref.with_default_tag().familiar() if ref else tag)
    return tags


class DockerArchiveSource(Source):
    """A docker-save archive over a :class:`FileView`."""

    transport = "docker-archive"

    def __init__(self, view: FileView, *, path: str) -> None:
        self.view = view
        self.path = path
        self._layout = LayoutBlobs(view) if is_oci_layout(view) else None
        self.blobs: MappedBlobs = MappedBlobs(view, fallback=self._layout)
        # Each layer member's descriptor, learnt once: images of one archive share layers, and a
        # compressed member is hashed to learn its digest.
        self._member_descriptors: dict[tuple[str, str | None], Descriptor] = {}

    def close(self) -> None:
        self.view.close()

    def _load_entries(self) -> list[Entry]:
        if self.view.exists("manifest.json"):
            indexed = self._index_entries()
            try:
                legacy = self._load_manifest_json()
            except EmptySourceError:
                if indexed:
                    return indexed
                raise
            return _merge_entries(indexed, legacy) if indexed else legacy
        if self.view.exists("repositories"):
            return _LegacyV1Loader(self).entries()
        raise NotAnImageError(self.path, "no manifest.json or repositories")

    # -- Docker 1.10+ ----------------------------------------------------------------------

    def _load_manifest_json(self) -> list[Entry]:
        where = self.view.where("manifest.json")
        doc = load_json(self.view.read("manifest.json"), path=where)
        if doc is None or doc == []:
            raise EmptySourceError(self.path, "manifest.json lists no image")
        if not isinstance(doc, list):
            raise InvalidDocumentError("manifest.json is not a list", path=where, field="/")
        oci_manifests = self._oci_manifests_by_config() if self._layout else {}
        entries = []
        for i, item in enumerate(doc):
            item = expect_dict(item, path=where, field=f"/{i}")
            entries.append(self._entry(i, item, where, oci_manifests))
        return entries

    def _index_entries(self) -> list[Entry]:
        """The layout's ``index.json`` entries (none without a layout or with ``"manifests":
        null``), one per stored manifest or index: a digest listed once per name (Docker 25
        lists an image once per tag) is one entry with all the names."""
        if self._layout is None:
            return []
        from ocitool.formats.oci.read import OCILayoutSource, index_entries

        layout = OCILayoutSource(self.view, transport="oci", path=self.path)
        entries = index_entries(
            self.blobs, layout.read_index(), label=self.path, where=self.view.where("index.json")
        )
        by_digest: dict[Digest, Entry] = {}
        for entry in entries:
            first = by_digest.setdefault(entry.descriptor.digest, entry)
            if first is not entry:
                first.repo_tags = list(dict.fromkeys([*first.repo_tags, *entry.repo_tags]))
                first.ref_names = list(dict.fromkeys([*first.ref_names, *entry.ref_names]))
        return list(by_digest.values())

    def _oci_manifests_by_config(self) -> dict[Digest, tuple[bytes, Descriptor]]:
        """Docker 25+: the layout's image manifests, keyed by config digest."""
        assert self._layout is not None
        from ocitool.formats.oci.read import OCILayoutSource

        found: dict[Digest, tuple[bytes, Descriptor]] = {}
        layout = OCILayoutSource(self.view, transport="oci", path=self.path)
        for entry in layout.entries:
            for img in entry.images():
                found.setdefault(img.manifest.config.digest, (img.raw_manifest, img.descriptor))
        return found

    def _find_unreferenced_manifest(
        self, config: Digest, exclude: set[Digest]
    ) -> tuple[bytes, Descriptor] | None:
        """A manifest blob naming ``config`` that index.json does not list (Docker 25's
        classic store writes ``"manifests": null``). Only small blobs starting with ``{`` are read."""
        assert self._layout is not None
        for name in self.view.names():
            if not name.startswith(f"blobs/{config.algorithm}/"):
                continue
            try:
                digest = Digest.parse(f"{config.algorithm}:{name.rsplit('/', 1)[1]}")
            except OcitoolError:
                continue
            if digest in exclude or self.view.size(name) > 64 << 10 or self.view.read_head(name, 1) != b"{":
                continue
            raw = self.view.read(name)
            try:
                manifest = Manifest.from_bytes(raw, path=self.view.where(name))
            except OcitoolError:
                continue
            if manifest.config.digest == config and digest_bytes(raw) == digest:
                return raw, Descriptor(manifest.media_type, digest, len(raw))
        return None

    def _entry(
        self, i: int, item: dict[str, Any], where: str, oci_manifests: dict[Digest, tuple[bytes, Descriptor]]
    ) -> Entry:
        config_name = _field(item, "Config")
        if not isinstance(config_name, str) or not config_name:
            raise InvalidDocumentError("entry has no Config", path=where, field=f"/{i}/Config")
        layer_names = _field(item, "Layers") or []
        if not isinstance(layer_names, list) or not all(isinstance(n, str) for n in layer_names):
            raise InvalidDocumentError("Layers must be a list of strings", path=where, field=f"/{i}/Layers")
        repo_tags = _repo_tags(_field(item, "RepoTags"), path=where, field=f"/{i}/RepoTags")
        parent = _field(item, "Parent") or ""
        config_name = normalize_name(config_name)
        if not self.view.exists(config_name):
            raise BlobNotFoundError(config_name, referenced_by=f"{where} /{i}/Config", path=self.path)
        raw_config = self.view.read(config_name)
        config_digest = digest_bytes(raw_config)
        self.blobs.add_member(config_digest, config_name)
        self.blobs.documents.setdefault(config_digest, raw_config)  # hashed just now

        real = oci_manifests.get(config_digest)
        if real is None and self._layout is not None:
            real = self._find_unreferenced_manifest(config_digest, exclude={config_digest})
        if real is not None:
            raw, desc = real
            node = open_descriptor(self.blobs, desc, label=self.path, referenced_by=f"{where} /{i}")
            self.blobs.documents.setdefault(desc.digest, raw)
        else:
            raw = self._synthesise_manifest(i, item, raw_config, config_digest, layer_names, where)
            desc = Descriptor(mt.DOCKER_MANIFEST, digest_bytes(raw), len(raw))
            node = SourceImage(self.blobs, raw, desc, label=self.path)
        return Entry(
            position=i,
            node=node,
            descriptor=desc,
            repo_tags=repo_tags,
            parent=parent if isinstance(parent, str) else "",
        )

    def _synthesise_manifest(
        self,
        i: int,
        item: dict[str, Any],
        raw_config: bytes,
        config_digest: Digest,
        layer_names: list[str],
        where: str,
    ) -> bytes:
        config_doc = expect_dict(
            load_json(raw_config, path=self.view.where(normalize_name(_field(item, "Config")))), path=where
        )
        rootfs = config_doc.get("rootfs") or {}
        diff_ids = rootfs.get("diff_ids") or [] if isinstance(rootfs, dict) else []
        sources = _field(item, "LayerSources") or {}
        if not isinstance(sources, dict):
            raise InvalidDocumentError(
                "LayerSources is not an object", path=where, field=f"/{i}/LayerSources"
            )
        layers = []
        for j, layer_name in enumerate(layer_names):
            member = normalize_name(layer_name)
            field = f"/{i}/Layers/{j}"
            diff_id = diff_ids[j] if j < len(diff_ids) else None
            source = sources.get(diff_id) if isinstance(diff_id, str) else None
            if isinstance(source, dict) and mt.is_foreign_layer(str(source.get("mediaType", ""))):
                desc = Descriptor.from_dict(source, path=where, field_path=f"/{i}/LayerSources/{diff_id}")
                if self.view.exists(member) and self.view.size(member) == desc.size:
                    self.blobs.add_member(desc.digest, member)
                layers.append(desc)
                continue
            if not self.view.exists(member):
                raise BlobNotFoundError(member, referenced_by=f"{where} {field}", path=self.path)
            layers.append(self._member_descriptor(member, diff_id, where=f"{where} {field}"))
        doc: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": mt.DOCKER_MANIFEST,
            "config": {"mediaType": mt.DOCKER_CONFIG, "size": len(raw_config), "digest": str(config_digest)},
            "layers": [],
        }
        for d in layers:
            layer_doc: dict[str, Any] = {"mediaType": d.media_type, "size": d.size, "digest": str(d.digest)}
            if d.urls:
                layer_doc["urls"] = list(d.urls)
            doc["layers"].append(layer_doc)
        return _gojson.dumps(doc).encode()

    def _member_descriptor(self, member: str, diff_id: Any, *, where: str) -> Descriptor:
        """The descriptor of a stored layer member: uncompressed members are their diff ID;
        compressed ones (which Docker also loads) are hashed to learn their digest."""
        key = (member, diff_id if isinstance(diff_id, str) else None)
        known = self._member_descriptors.get(key)
        if known is None:
            known = self._learn_member_descriptor(member, diff_id, where=where)
            self._member_descriptors[key] = known
        return known

    def _learn_member_descriptor(self, member: str, diff_id: Any, *, where: str) -> Descriptor:
        size = self.view.size(member)
        compression = sniff(self.view.read_head(member, SNIFF_SIZE))
        media_type = _LAYER_MEDIA_TYPE.get(compression, mt.DOCKER_LAYER_GZIP)
        if compression is Compression.NONE and isinstance(diff_id, str):
            try:
                digest = Digest.parse(diff_id)
            except OcitoolError:
                raise InvalidDocumentError(f"bad diff ID {diff_id!r}", path=where) from None
        else:
            with self.view.open(member) as fh:
                digest, size = digest_stream(fh)
        self.blobs.add_member(digest, member)
        return Descriptor(media_type, digest, size)


def _merge_entries(indexed: list[Entry], legacy: list[Entry]) -> list[Entry]:
    """index.json's entries, given the RepoTags (first, in manifest.json's order) and Parent of
    the manifest.json entries naming one of their images; manifest.json entries no index entry
    holds are kept after them."""
    by_id: dict[Digest, Entry] = {}
    for entry in indexed:
        for image in entry.images():
            by_id.setdefault(image.id, entry)
    extra: list[Entry] = []
    for old in legacy:
        ids = [image.id for image in old.images()]
        target = next((by_id[i] for i in ids if i in by_id), None)
        if target is None:
            extra.append(old)
            continue
        target.repo_tags = list(dict.fromkeys([*old.repo_tags, *target.repo_tags]))
        target.parent = target.parent or old.parent
    merged = [*indexed, *extra]
    for position, entry in enumerate(merged):
        entry.position = position
    return merged


class _LegacyV1Loader:
    """Images of a pre-1.10 save, built as moby's ``legacyLoadImage`` builds them."""

    def __init__(self, source: DockerArchiveSource) -> None:
        self.source = source
        self.view = source.view
        # v1 ID -> (config bytes, diff IDs, history docs)
        self.loaded: dict[str, tuple[bytes, list[str], list[dict[str, Any]]]] = {}

    def entries(self) -> list[Entry]:
        where = self.view.where("repositories")
        repos = expect_dict(load_json(self.view.read("repositories"), path=where), path=where)
        tops: dict[str, list[str]] = {}
        for repo, tags in repos.items():
            tags = expect_dict(tags, path=where, field=f"/{repo}")
            for tag, v1_id in tags.items():
                if not isinstance(v1_id, str):
                    raise InvalidDocumentError("image ID is not a string", path=where, field=f"/{repo}/{tag}")
                ref = try_parse_normalized(f"{repo}:{tag}")
                tops.setdefault(v1_id, []).append(ref.familiar() if ref else f"{repo}:{tag}")
        if not tops:
            raise EmptySourceError(self.source.path, "repositories names no image")
        entries = []
        for i, (v1_id, tags) in enumerate(tops.items()):
            raw_config, _, _ = self._load(v1_id, depth=0)
            config_digest = self.source.blobs.add_document(raw_config)
            layers = []
            for v1 in self._chain(v1_id):
                member = f"{v1}/layer.tar"
                layers.append(self.source._member_descriptor(member, self.loaded[v1][1][-1], where=where))
            doc = {
                "schemaVersion": 2,
                "mediaType": mt.DOCKER_MANIFEST,
                "config": {
                    "mediaType": mt.DOCKER_CONFIG,
                    "size": len(raw_config),
                    "digest": str(config_digest),
                },
                "layers": [
                    {"mediaType": d.media_type, "size": d.size, "digest": str(d.digest)} for d in layers
                ],
            }
            raw = _gojson.dumps(doc).encode()
            desc = Descriptor(mt.DOCKER_MANIFEST, digest_bytes(raw), len(raw))
            node = SourceImage(self.source.blobs, raw, desc, label=self.source.path)
            entries.append(Entry(position=i, node=node, descriptor=desc, repo_tags=tags))
        return entries

    def _chain(self, v1_id: str) -> Iterator[str]:
        chain = []
        current: str = v1_id
        while current:
            chain.append(current)
            current = self._parent(current)
        return reversed(chain)

    def _v1_json(self, v1_id: str) -> tuple[bytes, dict[str, Any]]:
        name = f"{normalize_name(v1_id)}/json"
        if "/" in v1_id or not self.view.exists(name):
            raise BlobNotFoundError(
                name, referenced_by=self.view.where("repositories"), path=self.source.path
            )
        raw = self.view.read(name)
        return raw, expect_dict(load_json(raw, path=self.view.where(name)), path=self.view.where(name))

    def _parent(self, v1_id: str) -> str:
        parent = self._v1_json(v1_id)[1].get("parent") or ""
        return parent if isinstance(parent, str) else ""

    def _load(self, v1_id: str, depth: int) -> tuple[bytes, list[str], list[dict[str, Any]]]:
        if v1_id in self.loaded:
            return self.loaded[v1_id]
        if depth > 512:
            raise InvalidDocumentError("v1 parent chain is too long or loops", path=self.source.path)
        raw_json, doc = self._v1_json(v1_id)
        diff_ids: list[str] = []
        history: list[dict[str, Any]] = []
        parent = self._parent(v1_id)
        if parent:
            _, diff_ids, history = self._load(parent, depth + 1)
            diff_ids, history = list(diff_ids), list(history)
        member = f"{v1_id}/layer.tar"
        if not self.view.exists(member):
            raise BlobNotFoundError(
                member, referenced_by=self.view.where(f"{v1_id}/json"), path=self.source.path
            )
        with self.view.open(member) as fh:
            compression = sniff(fh.read(SNIFF_SIZE))
            fh.seek(0)
            with open_decompressed(fh, compression, path=self.view.where(member)) as tar:
                diff_id, _ = digest_stream(tar)
        diff_ids.append(str(diff_id))
        history.append(_history_from_v1(doc))
        config = _config_from_v1(raw_json, diff_ids, history)
        self.loaded[v1_id] = (config, diff_ids, history)
        return self.loaded[v1_id]


def _history_from_v1(doc: dict[str, Any]) -> dict[str, Any]:
    """moby's ``v1.HistoryFromConfig``: author, created, the container command, comment."""
    out: dict[str, Any] = {}
    created = doc.get("created")
    if isinstance(created, str):
        out["created"] = Timestamp.parse(created).rfc3339nano()
    cmd = (
        (doc.get("container_config") or {}).get("Cmd")
        if isinstance(doc.get("container_config"), dict)
        else None
    )
    if isinstance(cmd, str):
        cmd = [cmd]
    created_by = " ".join(c for c in cmd if isinstance(c, str)) if isinstance(cmd, list) else ""
    if created_by:
        out["created_by"] = created_by
    for key in ("author", "comment"):
        if isinstance(doc.get(key), str) and doc[key]:
            out[key] = doc[key]
    return out


_NO_FALLBACK_MIN_VERSION = "1.8.3"


def _version_less(v1: str, v2: str) -> bool:
    """moby's ``versions.LessThan``: dotted numbers compared part by part (non-numbers are 0)."""

    def parts(v: str) -> list[int]:
        return [int(p) if p.isdigit() else 0 for p in v.split(".")]

    a, b = parts(v1), parts(v2)
    width = max(len(a), len(b))
    a += [0] * (width - len(a))
    b += [0] * (width - len(b))
    return a < b


def _v1_image_json(doc: dict[str, Any]) -> dict[str, Any]:
    """The v1 JSON decoded into moby's ``V1Image`` and encoded again (fields in struct order,
    their omitempty rules, container configs in ``container.Config``'s shape, other keys gone)."""
    out: dict[str, Any] = {}
    for key in ("id", "parent", "comment"):
        if isinstance(doc.get(key), str) and doc[key]:
            out[key] = doc[key]
    created = doc.get("created")
    out["created"] = Timestamp.parse(created).rfc3339nano() if isinstance(created, str) else None
    if isinstance(doc.get("container"), str) and doc["container"]:
        out["container"] = doc["container"]
    container_config = ContainerConfig.from_dict(doc.get("container_config") or {})
    out["container_config"] = container_config.to_json(keep_unknown=False)
    for key in ("docker_version", "author"):
        if isinstance(doc.get(key), str) and doc[key]:
            out[key] = doc[key]
    if isinstance(doc.get("config"), dict):
        out["config"] = ContainerConfig.from_dict(doc["config"]).to_json(keep_unknown=False)
    for key in ("architecture", "variant", "os"):
        if isinstance(doc.get(key), str) and doc[key]:
            out[key] = doc[key]
    if isinstance(doc.get("Size"), int) and doc["Size"]:
        out["Size"] = doc["Size"]
    return out


def _config_from_v1(raw_json: bytes, diff_ids: list[str], history: list[dict[str, Any]]) -> bytes:
    """moby's ``v1.MakeConfigFromV1Config``: the v1 JSON's fields, less the v1-only ones, plus
    rootfs and history, marshalled as Go marshals a map (sorted keys, values compacted).

    JSON written by Docker before 1.8.3 (or with no ``docker_version``) is first normalised
    through ``V1Image``, as moby does for it.
    """
    doc = _load_preserving_numbers(raw_json)
    version = doc.get("docker_version")
    if _version_less(version if isinstance(version, str) else "", _NO_FALLBACK_MIN_VERSION):
        doc = _v1_image_json(doc)
    for key in ("id", "parent", "Size", "parent_id", "layer_id", "throwaway"):
        doc.pop(key, None)
    doc["rootfs"] = {"type": "layers", "diff_ids": diff_ids}
    doc["history"] = history
    return _gojson.dumps(dict(sorted(doc.items()))).encode()


def _load_preserving_numbers(raw: bytes) -> dict[str, Any]:
    import json

    doc = json.loads(raw, parse_int=_gojson.RawJSON, parse_float=_gojson.RawJSON)
    if not isinstance(doc, dict):
        raise InvalidDocumentError("v1 image JSON is not an object")
    return doc
