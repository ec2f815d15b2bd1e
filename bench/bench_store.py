#!/usr/bin/env python3
"""The image store with 100,000 images: per-operation times and how they grow, and a fresh
``ocitool --root`` process answering ``inspect PREFIX``, ``images`` and ``history``.

    python bench/bench_store.py [--sizes 1000,10000,100000] [--ops 500] [--keep DIR]

For each size N the store is filled to N images (configs without layers, written through
``ImageStore.create``; the fill skips fsync, the measured operations do not), then ``create``,
``search`` (a unique 12-hex prefix), ``children``, ``get_parent``, ``set_parent`` and ``delete``
are timed over ``--ops`` operations each (mean µs per op). At the largest size a fresh process
runs the CLI (wall time and peak RSS via GNU time). With a Docker daemon (``DOCKER_HOST``) the
same CLI questions are timed against ``docker`` in the same run, on the daemon's own images
(its image count is reported: loading 100,000 images into a daemon is out of reach here).
Results: a Markdown table on stdout and ``bench/results/store.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench._measure import measure as _measure  # noqa: E402
from ocitool.model.digest import Digest  # noqa: E402
from ocitool.store._index import open_index  # noqa: E402
from ocitool.store.backend import FSBackend  # noqa: E402
from ocitool.store.images import ImageStore  # noqa: E402
from ocitool.store.root import DRIVER  # noqa: E402


def config(i: int) -> bytes:
    return json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "created": f"2024-01-01T00:00:{i % 60:02d}.{i:09d}Z",
            "config": {"Labels": {"n": str(i)}},
            "rootfs": {"type": "layers"},
            "comment": f"image {i}",
        }
    ).encode()


def open_store(root: str, *, sync: bool) -> ImageStore:
    d = os.path.join(root, "image", DRIVER)
    os.makedirs(d, exist_ok=True)
    db = open_index(os.path.join(d, "ocitool-index.sqlite"))
    return ImageStore(FSBackend(os.path.join(d, "imagedb"), sync=sync), db)


def per_op(fn, items) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    for item in items:
        fn(item)
    return (time.perf_counter() - start) / max(1, len(items)) * 1e6


def measure(argv: list[str], env: dict[str, str]) -> tuple[float, int]:
    m = _measure(argv, env)
    return m.wall, m.rss_kib


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--ops", type=int, default=500)
    ap.add_argument("--keep", help="build the root in this directory and keep it")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    root = args.keep or tempfile.mkdtemp(prefix="ocitool-bench-store-")
    rng = random.Random(42)
    results: dict[str, object] = {"sizes": sizes, "ops": args.ops, "per_op_us": {}, "cli": {}}
    try:
        fill = open_store(root, sync=False)
        measured = open_store(root, sync=True)
        n = len(fill)
        next_i = n
        for size in sizes:
            t0 = time.perf_counter()
            while n < size:
                fill.create(config(next_i))
                next_i += 1
                n += 1
            fill_s = time.perf_counter() - t0
            ids = measured.ids()
            sample = rng.sample(ids, min(args.ops, len(ids)))
            new = [config(next_i + k) for k in range(args.ops)]
            next_i += args.ops
            row = {
                "fill_s": round(fill_s, 2),
                "create": per_op(measured.create, new),
                "search": per_op(lambda d: measured.search(d.encoded[:12]), sample),
                "children": per_op(measured.children, sample),
                "get_parent": per_op(measured.get_parent, sample),
                "set_parent": per_op(
                    lambda d, first=sample[0]: measured.set_parent(d, first) if d != first else None, sample
                ),
            }
            created = [Digest.parse("sha256:" + __import__("hashlib").sha256(c).hexdigest()) for c in new]
            row["delete"] = per_op(measured.delete, created)
            for d in sample:  # undo the set_parent
                measured.backend.delete_metadata(d, "parent")
            measured.db.execute("UPDATE images SET parent=''")
            measured.db.commit()
            results["per_op_us"][str(size)] = {k: round(v, 1) for k, v in row.items()}  # type: ignore[index]
            print(f"N={size}: " + ", ".join(f"{k}={v:.1f}" for k, v in row.items()), flush=True)
        # a parent chain of 20 for history
        chain = measured.ids()[:20]
        for child, parent in zip(chain[1:], chain[:-1], strict=True):
            measured.set_parent(child, parent)
        fill.db.close()
        measured.db.close()
        env = dict(os.environ)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        ocitool = [sys.executable, "-m", "ocitool", "--root", root]
        top = chain[-1]
        cli = {
            "inspect PREFIX": [*ocitool, "inspect", top.encoded[:12]],
            "images -q": [*ocitool, "images", "-q"],
            "images (table)": [*ocitool, "images"],
            "history": [*ocitool, "history", top.encoded[:12]],
            "python -c pass": [sys.executable, "-c", "pass"],
        }
        for name, argv in cli.items():
            measure(argv, env)
            runs = [measure(argv, env) for _ in range(3)]
            wall = sorted(w for w, _ in runs)[1]
            rss = max(r for _, r in runs)
            results["cli"][name] = {"wall_s": round(wall, 3), "rss_kib": rss}  # type: ignore[index]
        if os.environ.get("DOCKER_HOST") and shutil.which("docker"):
            docker = shutil.which("docker") or "docker"
            ids = subprocess.run([docker, "images", "-aq", "--no-trunc"], capture_output=True, env=env)
            have = ids.stdout.decode().split()
            loaded_here = False
            if not have:  # give the daemon something to answer about
                fixture = str(REPO / "fixtures" / "docker" / "two-images.tar")
                subprocess.run([docker, "load", "-i", fixture], capture_output=True, env=env, check=True)
                have = (
                    subprocess.run([docker, "images", "-aq", "--no-trunc"], capture_output=True, env=env)
                    .stdout.decode()
                    .split()
                )
                loaded_here = True
            results["docker_images_in_daemon"] = len(have)
            if have:
                for name, argv in {
                    "docker image inspect PREFIX": [docker, "image", "inspect", have[0][7:19]],
                    "docker images -q": [docker, "images", "-q"],
                    "docker images (table)": [docker, "images"],
                    "docker history": [docker, "history", have[0][7:19]],
                }.items():
                    measure(argv, env)
                    runs = [measure(argv, env) for _ in range(3)]
                    results["cli"][name] = {  # type: ignore[index]
                        "wall_s": round(sorted(w for w, _ in runs)[1], 3),
                        "rss_kib": max(r for _, r in runs),
                    }
            if loaded_here:
                subprocess.run([docker, "rmi", "-f", *have], capture_output=True, env=env)
        print("\n| command | wall (s) | peak RSS (MiB) |\n|---|---|---|")
        for name, v in results["cli"].items():  # type: ignore[attr-defined]
            print(f"| {name} | {v['wall_s']} | {v['rss_kib'] / 1024:.1f} |")
        out = REPO / "bench" / "results" / "store.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2) + "\n")
        print(f"\nwrote {out}")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
