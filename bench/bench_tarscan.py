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

Wall and CPU time are each the best of ``--runs`` (the page cache is warm after the first).
Prints a Markdown table and the tarfile / tarscan ratios; writes ``bench/results/tarscan.json``.
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


def best(fn: Callable[[Path], int], path: Path, runs: int) -> tuple[float, float, int]:
    """(best wall seconds, best CPU seconds, members) of ``runs`` calls. CPU time is the steadier
    figure on a shared machine: waiting for a core does not count."""
    walls, cpus = [], []
    count = 0
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        count = fn(path)
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - start_cpu)
    return min(walls), min(cpus), count


_WAYS: dict[str, Callable[[Path], int]] = {
    "tarscan": tarscan,
    "tarscan_section": tarscan_section,
    "tarfile_raw": tarfile_raw,
    "tarfile_section": tarfile_section,
    "tarfile_path": tarfile_path,
}


def measure_layer(layer: Path, runs: int) -> dict[str, float]:
    """Best wall and CPU times of every way of scanning ``layer``; its member count and size."""
    row: dict[str, float] = {"bytes": layer.stat().st_size}
    for name, fn in _WAYS.items():
        wall, cpu, members = best(fn, layer, runs)
        row.setdefault("members", members)
        assert row["members"] == members, (name, members, row["members"])
        row[f"{name}_s"], row[f"{name}_cpu_s"] = wall, cpu
    return row


def report(sources: list[str], runs: int, rows: dict[str, dict[str, float]]) -> None:
    print(f"layers: tar -cf of {' '.join(sources)}; best of {runs} runs\n")
    print(
        "| layer | members | MB | time | tarscan | tarfile (raw file) | tarfile (section) | tarfile (path) |"
    )
    print("|---|---:|---:|---|---:|---:|---:|---:|")
    for fmt, r in rows.items():
        for kind, suffix in (("wall", "_s"), ("CPU", "_cpu_s")):
            scan, section = r["tarscan" + suffix], r["tarscan_section" + suffix]
            raw, sec, path = (r[f"tarfile_{way}{suffix}"] for way in ("raw", "section", "path"))
            print(
                f"| {fmt} | {r['members']:.0f} | {r['bytes'] / 1e6:.0f} | {kind} | {scan * 1000:.1f} ms | "
                f"{raw * 1000:.1f} ms ({raw / scan:.1f}x) | {sec * 1000:.1f} ms ({sec / section:.1f}x) | "
                f"{path * 1000:.1f} ms ({path / scan:.1f}x) |"
            )
    for fmt, r in rows.items():
        for kind, suffix in (("wall", "_s"), ("CPU", "_cpu_s")):
            scan, section = r["tarscan" + suffix], r["tarscan_section" + suffix]
            print(
                f"ratio tarfile/tarscan ({fmt}, {kind}): raw file {r['tarfile_raw' + suffix] / scan:.2f}, "
                f"section {r['tarfile_section' + suffix] / section:.2f}, "
                f"path {r['tarfile_path' + suffix] / scan:.2f}"
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
