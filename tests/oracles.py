"""Independent views of image files for oracle tests: nothing here imports ocitool.

An oracle must not share code with what it checks. These helpers read archives and layouts with
the standard library (tarfile, json, hashlib, gzip/lzma and zstandard for whole-file compression)
and hand single images to the real tools:

* :func:`snapshot` describes a directory tree (what ``umoci unpack`` made): every path's type,
  mode, size, content hash, link target, mtime and owner.
* :func:`images_in` lists the images of a docker-archive, OCI layout or OCI archive, each with a
  skopeo reference that names exactly that one image (``docker-archive:PATH:@N``, or
  ``oci:DIR:t`` of a single-image layout that shares the original's blobs), so that skopeo and
  umoci can be pointed at every image, including those behind an index or a duplicated ref name.
* :func:`layer_diff_ids` hashes each layer of one image after decompressing it (by its magic
  bytes): the diff IDs the image's layers really have, to hold against its config.
* :func:`umoci_rootfs` unpacks one image with umoci (through ``skopeo copy`` for archives umoci
  cannot open) and returns its :func:`snapshot`.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import lzma
import os
import stat
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests import peers

INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
IMAGE_CONFIG_TYPES = (
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.container.image.v1+json",
)


# docker image inspect: the 20.10 daemon (API 1.41) against ocitool's Engine v28 shapes. The
# key list restates moby's DockerOCIImageConfig on purpose: an oracle does not borrow the list
# from the code it checks (ocitool.model.config.OCI_CONFIG_FIELDS).
# Config: 1.41 returns container.Config, v28 DockerOCIImageConfig with these keys (omitempty);
# VirtualSize, Container, ContainerConfig are gone in v28; GraphDriver is the daemon's storage.
V28_CONFIG_KEYS = (
    "User",
    "ExposedPorts",
    "Env",
    "Entrypoint",
    "Cmd",
    "Volumes",
    "WorkingDir",
    "Labels",
    "StopSignal",
    "ArgsEscaped",
    "Healthcheck",
    "OnBuild",
    "Shell",
)
SAME_INSPECT_FIELDS = (
    "Id",
    "RepoDigests",
    "Parent",
    "Comment",
    "Created",
    "DockerVersion",
    "Author",
    "Architecture",
    "Os",
    "Size",
    "RootFS",
)


def _empty(value: Any) -> bool:
    return value in (None, "", [], {}, False, 0)


def config_v28(config_141: dict[str, Any] | None) -> dict[str, Any]:
    """API 1.41's container.Config as v28's DockerOCIImageConfig (empty fields left out)."""
    if not config_141:
        return {}
    return {k: config_141[k] for k in V28_CONFIG_KEYS if not _empty(config_141.get(k))}


def assert_inspect_equal(mine: dict[str, Any], theirs: dict[str, Any]) -> None:
    """ocitool's inspect JSON against docker 20.10's, field by field (the mapping above)."""
    for key in SAME_INSPECT_FIELDS:
        assert mine.get(key, "") == theirs.get(key, ""), key
    assert sorted(mine["RepoTags"]) == sorted(theirs["RepoTags"])
    assert mine.get("Variant", "") == theirs.get("Variant", "")
    assert mine.get("OsVersion", "") == theirs.get("OsVersion", "")
    assert (mine["Config"] or {}) == config_v28(theirs["Config"])
    assert mine["Metadata"] == theirs["Metadata"]


def snapshot(root: Path) -> dict[str, tuple[Any, ...]]:
    """Every path below ``root``: type, mode, size, link target, content hash, mtime, owner."""
    out: dict[str, tuple[Any, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root)
            st = os.lstat(full)
            kind = stat.S_IFMT(st.st_mode)
            link = os.readlink(full) if stat.S_ISLNK(st.st_mode) else ""
            digest = hashlib.sha256(Path(full).read_bytes()).hexdigest() if stat.S_ISREG(st.st_mode) else ""
            size = st.st_size if stat.S_ISREG(st.st_mode) else 0
            mtime = int(st.st_mtime)
            out[rel] = (kind, stat.S_IMODE(st.st_mode), size, link, digest, mtime, st.st_uid, st.st_gid)
    return out


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def plain_tar(path: Path, work: Path) -> Path:
    """``path`` itself, or a decompressed copy when it is compressed whole (gzip, xz, zstd, bzip2)."""
    head = path.read_bytes()[:6] if path.is_file() else b""
    if head.startswith(b"\x1f\x8b"):
        data = gzip.decompress(path.read_bytes())
    elif head.startswith(b"\xfd7zXZ"):
        data = lzma.decompress(path.read_bytes())
    elif head.startswith(b"\x28\xb5\x2f\xfd"):
        import zstandard

        data = zstandard.ZstdDecompressor().decompressobj().decompress(path.read_bytes())
    elif head.startswith(b"BZh"):
        import bz2

        data = bz2.decompress(path.read_bytes())
    else:
        return path
    out = work / "plain.tar"
    out.write_bytes(data)
    return out


@dataclass(frozen=True)
class ImageRef:
    """One image of a file: its skopeo reference and, for OCI, the manifest descriptor."""

    ref: str  # skopeo reference naming this image only
    transport: str  # "docker-archive", "oci" or "dir"
    manifest_descriptor: dict[str, Any] | None = None

    @property
    def path(self) -> Path:
        """The archive, single-image layout or dir: directory the reference names."""
        rest = self.ref.split(":", 1)[1]
        return Path(rest.rsplit(":", 1)[0] if self.transport != "dir" else rest)


def _is_docker_archive(path: Path) -> bool:
    if not path.is_file():
        return False
    with tarfile.open(path) as tar:
        names = {n.removeprefix("./") for n in tar.getnames()}
    return "manifest.json" in names or "repositories" in names


def images_in(path: Path, work: Path) -> list[ImageRef]:
    """Every image (not artifact) in ``path``: docker-archive, OCI layout or OCI archive.

    ``work`` receives extracted archives and single-image layouts. A docker archive also holding
    an OCI layout (Docker 25+) is listed as a docker archive, as ``docker load`` reads it.
    """
    work.mkdir(parents=True, exist_ok=True)
    path = plain_tar(path, work)
    if path.is_dir() and (path / "version").is_file() and not (path / "index.json").exists():
        return [ImageRef(f"dir:{path}", "dir")]  # skopeo's dir: transport
    if _is_docker_archive(path):
        with tarfile.open(path) as tar:
            found = [m for m in tar.getmembers() if m.name.removeprefix("./") == "manifest.json"]
            if not found:
                raise ValueError(f"{path}: a pre-1.10 docker save (no manifest.json): skopeo cannot read it")
            fh = tar.extractfile(found[0])
            assert fh is not None
            manifest = json.loads(fh.read())
        return [ImageRef(f"docker-archive:{path}:@{i}", "docker-archive") for i in range(len(manifest))]
    if path.is_file():
        layout = work / "extracted"
        with tarfile.open(path) as tar:
            tar.extractall(layout, filter="data")
    else:
        layout = path
    blobs = layout / "blobs"
    out: list[ImageRef] = []
    seen: set[str] = set()

    def walk(descriptors: list[dict[str, Any]]) -> None:
        for desc in descriptors or []:
            digest = desc["digest"]
            if digest in seen:
                continue
            seen.add(digest)
            blob = blobs / digest.replace(":", "/")
            if not blob.is_file():
                continue  # an absent platform of a partial index
            doc = json.loads(blob.read_bytes())
            media_type = desc.get("mediaType") or doc.get("mediaType", "")
            if media_type in INDEX_TYPES or "manifests" in doc:
                walk(doc.get("manifests") or [])
            elif doc.get("config", {}).get("mediaType") in IMAGE_CONFIG_TYPES:
                single = work / f"single-{len(out)}"
                single.mkdir()
                (single / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
                (single / "blobs").symlink_to(blobs.resolve())
                one = {k: v for k, v in desc.items() if k in ("mediaType", "digest", "size")}
                one["annotations"] = {"org.opencontainers.image.ref.name": "t"}
                index = {"schemaVersion": 2, "manifests": [one]}
                (single / "index.json").write_text(json.dumps(index))
                out.append(ImageRef(f"oci:{single}:t", "oci", desc))

    walk(json.loads((layout / "index.json").read_bytes()).get("manifests") or [])
    return out


def config_bytes(ref: ImageRef) -> bytes:
    """The image's config bytes, read from the file by this module (no tool, no ocitool)."""
    if ref.transport == "docker-archive":
        with tarfile.open(ref.path) as tar:
            members = {m.name.removeprefix("./"): m for m in tar.getmembers()}
            fh = tar.extractfile(members["manifest.json"])
            assert fh is not None
            item = json.loads(fh.read())[int(ref.ref.rsplit("@", 1)[1])]
            cfg = tar.extractfile(members[item.get("Config") or item.get("config")])
            assert cfg is not None
            return cfg.read()
    if ref.transport == "dir":
        manifest = json.loads((ref.path / "manifest.json").read_bytes())
        return (ref.path / manifest["config"]["digest"].split(":", 1)[1]).read_bytes()
    assert ref.manifest_descriptor is not None
    blobs = ref.path / "blobs"
    manifest = json.loads((blobs / ref.manifest_descriptor["digest"].replace(":", "/")).read_bytes())
    return (blobs / manifest["config"]["digest"].replace(":", "/")).read_bytes()


def check_layers(path: Path, work: Path) -> dict[str, list[str]]:
    """Image ID -> diff IDs of every image in ``path``, after checking, without ocitool, that each
    layer's bytes (decompressed) hash to the diff ID its config names. Artifacts are skipped."""
    out: dict[str, list[str]] = {}
    for ref in images_in(path, work):
        raw = config_bytes(ref)
        rootfs = json.loads(raw).get("rootfs") or {}
        if rootfs.get("type") != "layers":
            continue
        diff_ids = list(rootfs.get("diff_ids") or [])
        assert layer_diff_ids(ref) == diff_ids, f"{ref.ref}: a layer's bytes do not match its diff ID"
        out[sha256(raw)] = diff_ids
    return out


def skopeo_config(ref: ImageRef) -> bytes:
    """The image's config bytes, as skopeo reads them."""
    return peers.skopeo_raw(ref.ref, config=True)


def skopeo_manifest(ref: ImageRef) -> bytes:
    """The image's manifest bytes as skopeo reads them (synthesised for docker archives)."""
    return peers.skopeo_raw(ref.ref)


def umoci_rootfs(ref: ImageRef, work: Path) -> dict[str, tuple[Any, ...]]:
    """umoci's unpack of the image, as a :func:`snapshot`.

    umoci reads OCI layouts with gzip or plain layers, so every image first goes through
    ``skopeo copy`` into a gzip layout of its own (skopeo checks each blob's digest on the way).
    """
    layout = work / "umoci-layout"
    gzip_layers = ("--dest-compress", "--dest-compress-format", "gzip")
    peers.skopeo("copy", "-q", *gzip_layers, ref.ref, f"oci:{layout}:t")
    bundle = work / "bundle"
    args = ["unpack", "--image", f"{layout}:t", str(bundle)]
    if os.geteuid() != 0:
        args.insert(1, "--rootless")
    peers.umoci(*args)
    return snapshot(bundle / "rootfs")


def _uncompressed_sha256(fh: Any) -> str:
    """sha256 of a layer read from the seekable ``fh``, decompressed by its magic bytes."""
    import zstandard

    head = fh.read(4)
    fh.seek(0)
    if head.startswith(b"\x1f\x8b"):
        stream: Any = gzip.GzipFile(fileobj=fh)
    elif head.startswith(b"\x28\xb5\x2f\xfd"):
        stream = zstandard.ZstdDecompressor().stream_reader(fh, read_across_frames=True)
    else:
        stream = fh
    h = hashlib.sha256()
    while chunk := stream.read(1 << 20):
        h.update(chunk)
    return "sha256:" + h.hexdigest()


def layer_diff_ids(ref: ImageRef) -> list[str]:
    """The sha256 of each layer of the image, uncompressed: what its config's diff IDs must be.

    OCI and dir: images also have each blob's digest checked against its descriptor.
    """
    if ref.transport == "docker-archive":
        archive, index = ref.path, int(ref.ref.rsplit("@", 1)[1])
        with tarfile.open(archive) as tar:
            members = {m.name.removeprefix("./"): m for m in tar.getmembers()}
            fh = tar.extractfile(members["manifest.json"])
            assert fh is not None
            item = json.loads(fh.read())[index]
            out = []
            for name in item.get("Layers") or item.get("layers"):
                member = members[name]
                while member.issym():  # docker save links a repeated layer.tar to the first
                    target = os.path.normpath(os.path.join(os.path.dirname(name), member.linkname))
                    name, member = target, members[target]
                data = tar.extractfile(member)
                assert data is not None
                out.append(_uncompressed_sha256(data))
            return out
    if ref.transport == "dir":
        manifest = json.loads((ref.path / "manifest.json").read_bytes())
        blob_of = lambda d: ref.path / d.split(":", 1)[1]  # noqa: E731
    else:
        assert ref.manifest_descriptor is not None
        blobs = ref.path / "blobs"
        blob_of = lambda d: blobs / d.replace(":", "/")  # noqa: E731
        manifest = json.loads(blob_of(ref.manifest_descriptor["digest"]).read_bytes())
    out = []
    for layer in manifest["layers"]:
        blob = blob_of(layer["digest"])
        assert sha256(blob.read_bytes()) == layer["digest"], f"{blob}: bytes do not match the descriptor"
        with open(blob, "rb") as fh:
            out.append(_uncompressed_sha256(fh))
    return out
