"""Builds large image archives for tests that must prove metadata reads stay small.

The archives are written by streaming (random layer contents, constant memory) in the two
layouts real tools write: a legacy ``docker save`` (``<id>/layer.tar`` + ``manifest.json``) and
an OCI archive with uncompressed layers. Random bytes keep any compression from shrinking them.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

CHUNK = 1 << 20


def _layer_tar(path: Path, size: int, seed: int) -> str:
    """A layer tar holding one file of ``size`` random bytes; returns its sha256 hex."""
    with open(path, "wb") as raw, tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(f"data/blob-{seed}.bin")
        info.size = size
        info.mode = 0o644
        tar.addfile(info, _RandomReader(size))
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


class _RandomReader(io.RawIOBase):
    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        self.left -= n
        return os.urandom(n)


def _add_file(tar: tarfile.TarFile, name: str, path: Path) -> None:
    info = tarfile.TarInfo(name)
    info.size = path.stat().st_size
    with open(path, "rb") as fh:
        tar.addfile(info, fh)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def build(workdir: Path, *, layers: int = 4, layer_size: int = 80 << 20) -> dict[str, Path]:
    """Write ``docker.tar`` and ``oci.tar`` under ``workdir``; returns their paths."""
    workdir.mkdir(parents=True, exist_ok=True)
    layer_files = []
    for i in range(layers):
        path = workdir / f"layer{i}.tar"
        layer_files.append((path, _layer_tar(path, layer_size, i)))
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "2024-01-02T03:04:05.123456789Z",
        "config": {"Env": ["PATH=/bin"], "Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{h}" for _, h in layer_files]},
        "history": [
            {"created": "2024-01-02T03:04:05Z", "created_by": f"ADD layer {i}"} for i in range(layers)
        ],
    }
    config_bytes = json.dumps(config, separators=(",", ":")).encode()
    config_hex = hashlib.sha256(config_bytes).hexdigest()

    docker = workdir / "docker.tar"
    with tarfile.open(docker, "w") as tar:
        _add_bytes(tar, f"{config_hex}.json", config_bytes)
        for path, h in layer_files:
            _add_file(tar, f"{h}/layer.tar", path)
        manifest = [
            {
                "Config": f"{config_hex}.json",
                "RepoTags": ["big/image:latest"],
                "Layers": [f"{h}/layer.tar" for _, h in layer_files],
            }
        ]
        _add_bytes(tar, "manifest.json", json.dumps(manifest).encode())

    oci = workdir / "oci.tar"
    image_manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": f"sha256:{config_hex}",
            "size": len(config_bytes),
        },
        "layers": [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": f"sha256:{h}",
                "size": path.stat().st_size,
            }
            for path, h in layer_files
        ],
    }
    manifest_bytes = json.dumps(image_manifest).encode()
    manifest_hex = hashlib.sha256(manifest_bytes).hexdigest()
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": f"sha256:{manifest_hex}",
                "size": len(manifest_bytes),
                "annotations": {"org.opencontainers.image.ref.name": "big"},
            }
        ],
    }
    with tarfile.open(oci, "w") as tar:
        _add_bytes(tar, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        _add_bytes(tar, "index.json", json.dumps(index).encode())
        _add_bytes(tar, f"blobs/sha256/{config_hex}", config_bytes)
        _add_bytes(tar, f"blobs/sha256/{manifest_hex}", manifest_bytes)
        for path, h in layer_files:
            _add_file(tar, f"blobs/sha256/{h}", path)
    for path, _ in layer_files:
        path.unlink()
    return {"docker": docker, "oci": oci}
