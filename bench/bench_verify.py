#!/usr/bin/env python3
"""``ocitool verify`` of a large OCI layout beside hashlib's single-core rate and ``sha256sum``
of the same blobs, measured in the same run: wall time (median of N runs) and peak RSS.

    python bench/bench_verify.py [--layers 4] [--layer-mb 100] [--runs 3] [--keep DIR]

The layout is ``tests/bigarchive.py``'s OCI archive (random, uncompressed layers) unpacked to a
directory. Rows: ``sha256sum`` of every blob (one process, sequential), ``sha256sum`` run on
each blob in parallel (``xargs -P <cores>``), a Python process hashing every blob with hashlib
in 1 MiB chunks on one core, and ``ocitool verify`` (which also checks sizes, diff IDs and the
documents). Results are printed as a Markdown table and written to ``bench/results/verify.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.bench_inspect import series  # noqa: E402 - the same measuring code as the other bench
from tests.bigarchive import build  # noqa: E402 - the same generator the tests use

HASHLIB_ONE_CORE = """
import hashlib, sys
buf = bytearray(1 << 20)
view = memoryview(buf)
for path in sys.argv[1:]:
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as fh:
        while n := fh.readinto(buf):
            h.update(view[:n])
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--layer-mb", type=int, default=100)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--keep", help="build the layout here and keep it")
    args = ap.parse_args()

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="ocitool-bench-verify-"))
    try:
        paths = build(work, layers=args.layers, layer_size=args.layer_mb << 20)
        layout = work / "layout"
        if not layout.exists():
            with tarfile.open(paths["oci"]) as tar:
                tar.extractall(layout, filter="data")
        for name in ("docker.tar", "oci.tar", *(f"layer{i}.tar" for i in range(args.layers))):
            (work / name).unlink(missing_ok=True)  # keep the page cache for the layout only
        blobs = sorted(str(p) for p in (layout / "blobs" / "sha256").iterdir())
        total = sum(os.path.getsize(p) for p in blobs)
        cores = os.cpu_count() or 1
        py = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        rows = [
            series("sha256sum (sequential)", ["sha256sum", *blobs], args.runs),
            series(
                f"sha256sum (xargs -P{cores})",
                ["sh", "-c", f'printf "%s\\n" "$@" | xargs -P{cores} -n1 sha256sum', "sh", *blobs],
                args.runs,
            ),
            series("hashlib, one core", [sys.executable, "-c", HASHLIB_ONE_CORE, *blobs], args.runs, py),
            series("ocitool verify", [sys.executable, "-m", "ocitool", "verify", str(layout)], args.runs, py),
        ]
        print(f"layout: {total / 1e6:.0f} MB in {len(blobs)} blobs, {cores} cores, {args.runs} runs\n")
        print("| tool | wall (median) | MB/s | peak RSS |")
        print("|---|---:|---:|---:|")
        for r in rows:
            wall = float(r["wall_median_s"])  # type: ignore[arg-type]
            r["mb_per_s"] = total / 1e6 / wall
            rss = int(r["peak_rss_kib"]) / 1024  # type: ignore[call-overload]
            print(f"| {r['tool']} | {wall:.3f} s | {r['mb_per_s']:.0f} | {rss:.1f} MiB |")
        base = rows[2]
        ours = rows[3]
        ratio = float(base["wall_median_s"]) / float(ours["wall_median_s"])  # type: ignore[arg-type]
        print(f"\nocitool verify runs at {ratio:.2f}x hashlib's single-core rate")
        out = REPO / "bench" / "results" / "verify.json"
        out.write_text(
            json.dumps({"bytes": total, "blobs": len(blobs), "cores": cores, "rows": rows}, indent=2) + "\n"
        )
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
