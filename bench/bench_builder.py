#!/usr/bin/env python3
"""Building a directory into a layer: ``ImageBuilder.add_directory`` (a reproducible tar,
spooled, then ocitool's block gzip) beside ``tar -c DIR | gzip`` of the same tree, in the same
run: wall time (median of N runs) and the compressed size of each.

    python bench/bench_builder.py [--runs 3] [--source DIR ...]

The tree is a copy of real files (by default the Python standard library and /usr/share/doc,
about 200 MB). Results are printed as a Markdown table and written to
``bench/results/builder.json``. The goal (issue 13): at most half the time of ``tar | gzip``, at
most 1.1 times its size.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench._measure import measure, python_env  # noqa: E402

_BUILD = """
import sys
from ocitool import ImageBuilder
with ImageBuilder.from_scratch("linux/amd64") as b, b.add_directory(sys.argv[1]).build() as img:
    layer = img.image.layers[0]
    open(sys.argv[2], "w").write(str(layer.descriptor.size))
"""


def _default_sources() -> list[str]:
    found = [*sorted(glob.glob("/usr/lib/python3*")), "/usr/share/doc"]
    return [p for p in found if os.path.isdir(p)]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--source", action="append", default=[])
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-builder-"))
    try:
        tree = work / "tree"
        tree.mkdir()
        for src in args.source or _default_sources():
            shutil.copytree(src, tree / os.path.basename(src), symlinks=True, dirs_exist_ok=True)
        env = {**python_env(), "PYTHONPATH": str(REPO)}
        size_file = work / "size"
        ours, theirs = [], []
        for _ in range(args.runs):
            ours.append(measure([sys.executable, "-c", _BUILD, str(tree), str(size_file)], env).wall)
            theirs.append(measure(["sh", "-c", f"tar -C {tree} -c . | gzip > {work / 'ref.tar.gz'}"]).wall)
        our_size = int(size_file.read_text())
        their_size = (work / "ref.tar.gz").stat().st_size
        tree_bytes = sum(p.stat().st_size for p in tree.rglob("*") if p.is_file() and not p.is_symlink())
        result = {
            "tree_bytes": tree_bytes,
            "ocitool_seconds": statistics.median(ours),
            "tar_gzip_seconds": statistics.median(theirs),
            "ocitool_bytes": our_size,
            "tar_gzip_bytes": their_size,
            "cores": len(os.sched_getaffinity(0)),
        }
        result["time_ratio"] = result["ocitool_seconds"] / result["tar_gzip_seconds"]
        result["size_ratio"] = our_size / their_size
        print(f"tree: {tree_bytes / 1e6:.0f} MB, {result['cores']} cores, median of {args.runs}")
        print("| | seconds | bytes |\n|---|---|---|")
        print(f"| ocitool add_directory | {result['ocitool_seconds']:.2f} | {our_size} |")
        print(f"| tar -c \\| gzip | {result['tar_gzip_seconds']:.2f} | {their_size} |")
        print(
            f"time ratio {result['time_ratio']:.2f} (goal <= 0.5), "
            f"size ratio {result['size_ratio']:.3f} (goal <= 1.1)"
        )
        out = REPO / "bench/results/builder.json"
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
