"""Generated images for analyze: many files per layer, files rewritten across layers, whiteouts.

:func:`build` writes the same image as a legacy ``docker save`` (uncompressed layers) and as an
OCI archive with gzip layers; contents are pseudo-random from a fixed seed (deterministic).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
import tarfile
from pathlib import Path

__all__ = ["build"]


def _layer(entries: list[tuple[str, bytes | None]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 1_600_000_000
            if data is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            else:
                info.size = len(data)
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def build(workdir: Path, layers: int, files: int) -> tuple[Path, Path]:
    """(docker-archive, oci-archive with gzip layers) of the same generated image."""
    rng = random.Random(6)
    blobs: list[bytes] = []
    for i in range(layers):
        entries: list[tuple[str, bytes | None]] = [("data", None), (f"data/l{i}", None), ("shared", None)]
        for j in range(files):
            size = rng.choice((100, 1000, 4000, 16000, 60000))
            entries.append((f"data/l{i}/f{j}", rng.randbytes(size)))
        for j in range(files // 10):  # rewritten in every layer: wasted space
            entries.append((f"shared/s{j}", rng.randbytes(8000)))
        if i:
            entries += [(f"data/l{i - 1}/.wh.f{j}", b"") for j in range(0, files, 7)]
        blobs.append(_layer(entries))
    diff_ids = ["sha256:" + hashlib.sha256(b).hexdigest() for b in blobs]
    history = [{"created_by": f"/bin/sh -c generate layer {i}"} for i in range(layers)]
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"User": "1000"},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": history,
        }
    ).encode()
    config_hex = hashlib.sha256(config).hexdigest()

    def add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mtime = 1_600_000_000
        tar.addfile(info, io.BytesIO(data))

    docker = workdir / "generated-docker.tar"
    with tarfile.open(docker, "w") as tar:
        paths = []
        for d, blob in zip(diff_ids, blobs, strict=True):
            hexd = d.split(":")[1]
            add(tar, f"{hexd}/layer.tar", blob)
            add(tar, f"{hexd}/VERSION", b"1.0")
            paths.append(f"{hexd}/layer.tar")
        add(tar, f"{config_hex}.json", config)
        manifest = [{"Config": f"{config_hex}.json", "RepoTags": ["bench/analyze:1"], "Layers": paths}]
        add(tar, "manifest.json", json.dumps(manifest).encode())

    oci = workdir / "generated-oci-gzip.tar"
    with tarfile.open(oci, "w") as tar:
        layer_descs = []
        for blob in blobs:
            gz = gzip.compress(blob, compresslevel=1, mtime=0)
            h = hashlib.sha256(gz).hexdigest()
            add(tar, f"blobs/sha256/{h}", gz)
            layer_descs.append(
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": f"sha256:{h}",
                    "size": len(gz),
                }
            )
        add(tar, f"blobs/sha256/{config_hex}", config)
        manifest_doc = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {
                    "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": f"sha256:{config_hex}",
                    "size": len(config),
                },
                "layers": layer_descs,
            }
        ).encode()
        mh = hashlib.sha256(manifest_doc).hexdigest()
        add(tar, f"blobs/sha256/{mh}", manifest_doc)
        index = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": f"sha256:{mh}",
                    "size": len(manifest_doc),
                    "annotations": {"org.opencontainers.image.ref.name": "1"},
                }
            ],
        }
        add(tar, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        add(tar, "index.json", json.dumps(index).encode())
    return docker, oci
