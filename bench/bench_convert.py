#!/usr/bin/env python3
"""``ocitool convert`` beside ``skopeo copy``, in the same run, on the same large docker archives:
to a gzip OCI layout, and to a zstd one (``--compress zstd`` / ``--dest-compress-format zstd``).

Three archives, so output sizes mean something: ``random`` (tests/bigarchive.py: random bytes,
which no codec shrinks), ``text`` (synthetic word salad from a 90-word vocabulary: compressible,
but unlike real files) and ``fs`` (real files from this machine's /usr, as base images hold).
For each command: wall seconds, CPU seconds (user + sys) and peak RSS from GNU
time (``/usr/bin/time -f "%e %U %S %M"``), and the output's size; the best wall time of N runs.

    python bench/bench_convert.py [--layers 4] [--layer-mb 80] [--runs 2] [--keep DIR]

Prints a Markdown table and writes ``bench/results/convert.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench._measure import measure as _measure  # noqa: E402
from tests.bigarchive import build  # noqa: E402 - the same generator the tests use

_WORDS = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "that",
    "for",
    "it",
    "as",
    "with",
    "was",
    "on",
    "be",
    "by",
    "at",
    "this",
    "are",
    "from",
    "or",
    "have",
    "an",
    "they",
    "which",
    "one",
    "you",
    "were",
    "her",
    "all",
    "she",
    "there",
    "would",
    "their",
    "we",
    "him",
    "been",
    "has",
    "when",
    "who",
    "will",
    "more",
    "no",
    "if",
    "out",
    "so",
    "said",
    "what",
    "up",
    "its",
    "about",
    "into",
    "than",
    "them",
    "can",
    "only",
    "other",
    "new",
    "some",
    "could",
    "time",
    "these",
    "two",
    "may",
    "then",
    "do",
    "first",
    "any",
    "usr",
    "lib",
    "bin",
    "share",
    "include",
    "local",
    "etc",
    "var",
    "opt",
    "python3",
    "site-packages",
    "__init__",
    "py",
    "so",
    "0",
    "1",
    "2",
    "3",
    "4",
    "5",
    "6",
    "7",
    "8",
    "9",
]


class _TextReader:
    """Text-like bytes (words, numbers, line breaks) of a given length, generated as read."""

    def __init__(self, size: int, rng: random.Random) -> None:
        self.left = size
        self.rng = rng

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        out = bytearray()
        while len(out) < n:
            words = self.rng.choices(_WORDS, k=4096)
            line = " ".join(words).encode()
            out += line.replace(b" 9 ", b"\n")
        self.left -= n
        return bytes(out[:n])


def add_text_files(tar: tarfile.TarFile, prefix: str, total: int, rng: random.Random) -> None:
    """Text files of 64 KiB - 2 MiB under ``prefix``, ``total`` bytes in all."""
    left, j = total, 0
    while left > 0:
        size = min(left, rng.randint(64 << 10, 2 << 20))
        info = tarfile.TarInfo(f"{prefix}/file{j:05d}.txt")
        info.size = size
        info.mode = 0o644
        tar.addfile(info, _TextReader(size, rng))  # type: ignore[arg-type]
        left -= size
        j += 1


def build_text(workdir: Path, *, layers: int, layer_size: int) -> Path:
    """A legacy docker save with ``layers`` layers of text files (~1 MiB each)."""
    workdir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(42)
    diff_ids = []
    layer_paths = []
    for i in range(layers):
        path = workdir / f"layer{i}.tar"
        with open(path, "wb") as raw, tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
            add_text_files(tar, f"usr/share/doc/layer{i}", layer_size, rng)
        diff_ids.append(_sha256(path))
        layer_paths.append(path)
    return _save(workdir, diff_ids, layer_paths, "big/text:latest")


def _system_files() -> list[str]:
    """Regular files under /usr, in a stable order: real file-system content for layers."""
    out = []
    for root in ("/usr/lib", "/usr/share", "/usr/bin", "/usr/libexec", "/usr/local"):
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames):
                path = os.path.join(dirpath, name)
                if os.path.isfile(path) and not os.path.islink(path) and os.access(path, os.R_OK):
                    out.append(path)
    return out


def build_fs(workdir: Path, *, layers: int, layer_size: int) -> Path:
    """A legacy docker save whose layers hold real files from /usr (as base images do)."""
    workdir.mkdir(parents=True, exist_ok=True)
    files = _system_files()
    pos = 0
    diff_ids, layer_paths = [], []
    for i in range(layers):
        path = workdir / f"layer{i}.tar"
        with open(path, "wb") as raw, tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
            while raw.tell() < layer_size:
                src = files[pos % len(files)]
                pos += 1
                try:
                    tar.add(src, arcname=f"layer{i}{src}", recursive=False)
                except OSError:
                    continue
        diff_ids.append(_sha256(path))
        layer_paths.append(path)
    return _save(workdir, diff_ids, layer_paths, "big/fs:latest")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _save(workdir: Path, diff_ids: list[str], layer_paths: list[Path], tag: str) -> Path:
    layers = len(diff_ids)
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "2024-01-02T03:04:05Z",
        "config": {"Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{d}" for d in diff_ids]},
        "history": [{"created": "2024-01-02T03:04:05Z", "created_by": f"ADD {i}"} for i in range(layers)],
    }
    config_bytes = json.dumps(config, separators=(",", ":")).encode()
    config_hex = hashlib.sha256(config_bytes).hexdigest()
    out = workdir / "docker.tar"
    with tarfile.open(out, "w") as tar:
        info = tarfile.TarInfo(f"{config_hex}.json")
        info.size = len(config_bytes)
        tar.addfile(info, _bytes(config_bytes))
        for path, d in zip(layer_paths, diff_ids, strict=True):
            tar.add(path, arcname=f"{d}/layer.tar")
        items = [
            {
                "Config": f"{config_hex}.json",
                "RepoTags": [tag],
                "Layers": [f"{d}/layer.tar" for d in diff_ids],
            }
        ]
        manifest = json.dumps(items).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(manifest)
        tar.addfile(info, _bytes(manifest))
    for path in layer_paths:
        path.unlink()
    return out


def _bytes(data: bytes) -> Any:
    import io

    return io.BytesIO(data)


def measure(argv: list[str], env: dict[str, str]) -> dict[str, float]:
    """Wall, user+sys CPU seconds and peak RSS (KiB) of one run, from GNU time."""
    m = _measure(argv, env)
    return {"wall": m.wall, "cpu": m.cpu, "rss_kib": m.rss_kib}


def size_of(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--layer-mb", type=int, default=80)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--keep", type=Path, help="build the archives here and keep them")
    args = ap.parse_args()
    skopeo = shutil.which("skopeo")
    ocitool = shutil.which("ocitool") or "ocitool"
    work = args.keep or Path(tempfile.mkdtemp(prefix="ocitool-bench-convert-"))
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("SOURCE_DATE_EPOCH", None)
    archives = {}
    random_dir = work / "random"
    archives["random"] = (
        random_dir / "docker.tar"
        if (random_dir / "docker.tar").exists()
        else build(random_dir, layers=args.layers, layer_size=args.layer_mb << 20)["docker"]
    )
    text_dir = work / "text"
    archives["text"] = (
        text_dir / "docker.tar"
        if (text_dir / "docker.tar").exists()
        else build_text(text_dir, layers=args.layers, layer_size=args.layer_mb << 20)
    )
    fs_dir = work / "fs"
    archives["fs"] = (
        fs_dir / "docker.tar"
        if (fs_dir / "docker.tar").exists()
        else build_fs(fs_dir, layers=args.layers, layer_size=args.layer_mb << 20)
    )
    rows: list[dict[str, Any]] = []
    try:
        for kind, archive in archives.items():
            for codec in ("gzip", "zstd"):
                commands = {
                    "ocitool": [ocitool, "convert", "-q", "--compress", codec, str(archive), "oci:{out}"],
                }
                if skopeo:
                    extra = ["--dest-compress-format", "zstd"] if codec == "zstd" else []
                    commands["skopeo"] = [
                        skopeo,
                        "copy",
                        "-q",
                        *extra,
                        f"docker-archive:{archive}",
                        "oci:{out}:x",
                    ]
                for tool, argv in commands.items():
                    best: dict[str, float] | None = None
                    out_size = 0
                    for _ in range(args.runs):
                        out = work / f"out-{tool}"
                        shutil.rmtree(out, ignore_errors=True)
                        m = measure([a.replace("{out}", str(out)) for a in argv], env)
                        out_size = size_of(out)
                        shutil.rmtree(out, ignore_errors=True)
                        if best is None or m["wall"] < best["wall"]:
                            best = m
                    assert best is not None
                    rows.append(
                        {
                            "archive": kind,
                            "codec": codec,
                            "tool": tool,
                            **best,
                            "output_bytes": out_size,
                            "input_bytes": archive.stat().st_size,
                        }
                    )
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print(
        "| archive | codec | tool | wall s | cpu s | peak RSS MiB | output MB "
        "| wall vs skopeo | size vs skopeo |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        peer = next(
            (
                p
                for p in rows
                if p["tool"] == "skopeo" and p["archive"] == r["archive"] and p["codec"] == r["codec"]
            ),
            None,
        )
        wall_ratio = f"{r['wall'] / peer['wall']:.2f}" if peer else "-"
        size_ratio = f"{r['output_bytes'] / peer['output_bytes']:.3f}" if peer else "-"
        print(
            f"| {r['archive']} | {r['codec']} | {r['tool']} | {r['wall']:.2f} | {r['cpu']:.2f} | "
            f"{r['rss_kib'] / 1024:.0f} | {r['output_bytes'] / 1e6:.1f} | {wall_ratio} | {size_ratio} |"
        )
    results = REPO / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "convert.json").write_text(json.dumps({"cpus": os.cpu_count(), "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
