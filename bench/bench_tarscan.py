#!/usr/bin/env python3
"""The tar header scanner (``ocitool._io.tarscan``) beside ``tarfile`` on the same layer.

    python bench/bench_tarscan.py [--source /usr/share/doc ...] [--runs 7] [--keep DIR]

Builds a realistic layer -- thousands of small files -- with ``tar -cf`` from directories of
this machine (by default ``/usr/lib/python3*`` and ``/usr/share/doc``), once in tar's default
GNU format and once in POSIX (PAX) format, where GNU tar writes a PAX header for every file.
Each layer is then scanned in this process, headers only, the ways ocitool reads tars:

* ``tarscan``: ``scan_tar`` of the file (``os.pread`` per header, data skipped by arithmetic);
* ``tarfile (raw file)``: ``tarfile.open(fileobj=<unbuffered file>, tarinfo=SafeTarInfo)``, as
  ``TarView`` scans an archive today;
* ``tarfile (section)``: ``tarfile`` over a ``SectionReader``, as ``layersize`` scans a layer
  inside a docker archive today (the scanner reads the same window by ``pread``);
* ``tarfile (path)``: ``tarfile.open(path)``, buffered: tarfile's fastest way.

Wall time is the best of ``--runs`` (the page cache is warm after the first). Prints a Markdown
table and the tarfile / tarscan ratios; writes ``bench/results/tarscan.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ocitool._io.files import SectionReader  # noqa: E402
from ocitool._io.tarindex import SafeTarInfo  # noqa: E402
from ocitool._io.tarscan import scan_tar  # noqa: E402


def _default_sources() -> list[str]:
    found = [*sorted(glob.glob("/usr/lib/python3*")), "/usr/share/doc"]
    return [p for p in found if os.path.isdir(p)]


def build(work: Path, sources: list[str], fmt: str) -> Path:
    """``tar -cf`` of ``sources`` (relative to /) in GNU tar's ``fmt`` format."""
    out = work / f"layer-{fmt}.tar"
    if not out.exists():
        rel = [os.path.relpath(s, "/") for s in sources]
        subprocess.run(
            ["tar", f"--format={fmt}", "-cf", str(out), "-C", "/", *rel],
            check=False,  # unreadable files make tar exit 1 after writing the rest
            stderr=subprocess.DEVNULL,
        )
    return out


def tarscan(path: Path) -> int:
    return len(scan_tar(path).members)


def tarfile_raw(path: Path) -> int:
    with open(path, "rb", buffering=0) as fh, tarfile.open(fileobj=fh, mode="r:", tarinfo=SafeTarInfo) as tar:
        return sum(1 for _ in tar)


def tarfile_section(path: Path) -> int:
    fd = os.open(path, os.O_RDONLY)
    try:
        section = SectionReader(fd, 0, os.fstat(fd).st_size)
        with tarfile.open(fileobj=section, mode="r:", tarinfo=SafeTarInfo) as tar:
            return sum(1 for _ in tar)
    finally:
        os.close(fd)


def tarscan_section(path: Path) -> int:
    fd = os.open(path, os.O_RDONLY)
    try:
        return len(scan_tar(SectionReader(fd, 0, os.fstat(fd).st_size)).members)
    finally:
        os.close(fd)


def tarfile_path(path: Path) -> int:
    with tarfile.open(path, mode="r:", tarinfo=SafeTarInfo) as tar:
        return sum(1 for _ in tar)


def best(fn: Callable[[Path], int], path: Path, runs: int) -> tuple[float, int]:
    """(best wall seconds, members) of ``runs`` calls."""
    times = []
    count = 0
    for _ in range(runs):
        start = time.perf_counter()
        count = fn(path)
        times.append(time.perf_counter() - start)
    return min(times), count


def measure_layer(layer: Path, runs: int) -> dict[str, float]:
    """Best wall times of every way of scanning ``layer``, and its member count and size."""
    scan, members = best(tarscan, layer, runs)
    raw, n_raw = best(tarfile_raw, layer, runs)
    assert n_raw == members, (n_raw, members)
    return {
        "members": members,
        "bytes": layer.stat().st_size,
        "tarscan_s": scan,
        "tarscan_section_s": best(tarscan_section, layer, runs)[0],
        "tarfile_raw_s": raw,
        "tarfile_section_s": best(tarfile_section, layer, runs)[0],
        "tarfile_path_s": best(tarfile_path, layer, runs)[0],
    }


def report(sources: list[str], runs: int, rows: dict[str, dict[str, float]]) -> None:
    print(f"layers: tar -cf of {' '.join(sources)}; best of {runs} runs (wall)\n")
    print("| layer | members | MB | tarscan | tarfile (raw file) | tarfile (section) | tarfile (path) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for fmt, r in rows.items():
        scan, section = r["tarscan_s"], r["tarscan_section_s"]
        print(
            f"| {fmt} | {r['members']:.0f} | {r['bytes'] / 1e6:.0f} | {scan * 1000:.1f} ms | "
            f"{r['tarfile_raw_s'] * 1000:.1f} ms ({r['tarfile_raw_s'] / scan:.1f}x) | "
            f"{r['tarfile_section_s'] * 1000:.1f} ms ({r['tarfile_section_s'] / section:.1f}x) | "
            f"{r['tarfile_path_s'] * 1000:.1f} ms ({r['tarfile_path_s'] / scan:.1f}x) |"
        )
    for fmt, r in rows.items():
        print(
            f"\nratio tarfile/tarscan ({fmt}): raw file {r['tarfile_raw_s'] / r['tarscan_s']:.2f}, "
            f"section {r['tarfile_section_s'] / r['tarscan_section_s']:.2f}, "
            f"path {r['tarfile_path_s'] / r['tarscan_s']:.2f}"
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", action="append", help="a directory to put in the layer (repeatable)")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--keep", help="build the layers here and keep them")
    args = ap.parse_args()
    if shutil.which("tar") is None:
        raise SystemExit("GNU tar is needed to build the layers")
    sources = args.source or _default_sources()
    with contextlib.ExitStack() as stack:
        if args.keep:
            work = Path(args.keep)
            work.mkdir(parents=True, exist_ok=True)
        else:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ocitool-bench-")))
        rows = {fmt: measure_layer(build(work, sources, fmt), args.runs) for fmt in ("gnu", "posix")}
    report(sources, args.runs, rows)
    results = REPO / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "tarscan.json").write_text(json.dumps({"sources": sources, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
