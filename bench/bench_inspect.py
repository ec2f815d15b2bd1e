#!/usr/bin/env python3
"""``ocitool inspect`` of a large archive beside ``skopeo inspect`` and ``docker load`` +
``docker image inspect``, measured in the same run: wall time (median of N runs) and the peak
RSS of each command (GNU time, the same for every tool: see bench/_measure.py).

    python bench/bench_inspect.py [--layers 4] [--layer-mb 100] [--runs 5] [--keep DIR]

The docker columns need a daemon (``DOCKER_HOST``, e.g. from ``eval "$(.ci/dockerd.sh start)"``);
without one they are left out. Results are printed as a Markdown table and written to
``bench/results/inspect.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench._measure import measure as _measure  # noqa: E402
from tests.bigarchive import build  # noqa: E402 - the same generator the tests use


def measure(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, int]:
    """(wall seconds, peak RSS in KiB) of one command run to completion (see bench/_measure.py)."""
    m = _measure(argv, env)
    return m.wall, m.rss_kib


def series(name: str, argv: list[str], runs: int, env: dict[str, str] | None = None) -> dict[str, object]:
    measure(argv, env)  # warm the page cache and any on-disk caches equally for every tool
    samples = [measure(argv, env) for _ in range(runs)]
    walls = [w for w, _ in samples]
    return {
        "tool": name,
        "argv": argv,
        "wall_median_s": statistics.median(walls),
        "wall_min_s": min(walls),
        "peak_rss_kib": max(r for _, r in samples),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--layer-mb", type=int, default=100)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--keep", help="build the archive here and keep it")
    args = ap.parse_args()

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="ocitool-bench-"))
    try:
        paths = build(work, layers=args.layers, layer_size=args.layer_mb << 20)
        archive = str(paths["docker"])
        size_mb = os.path.getsize(archive) / 1e6
        ocitool = [sys.executable, "-m", "ocitool"]
        # An installed package has its bytecode compiled by pip; an editable checkout under
        # PYTHONDONTWRITEBYTECODE=1 would recompile every module on every run instead.
        py = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        rows = [
            series("python -c pass (interpreter start-up)", [sys.executable, "-c", "pass"], args.runs, py),
            series(
                "ocitool inspect (metadata only)",
                [*ocitool, "inspect", "--format", "{{.Id}}", archive],
                args.runs,
                py,
            ),
            series("ocitool inspect (with Size)", [*ocitool, "inspect", archive], args.runs, py),
            series(
                "ocitool manifests", [*ocitool, "manifests", "--format", "{{.ID}}", archive], args.runs, py
            ),
        ]
        if shutil.which("skopeo"):
            rows.append(
                series("skopeo inspect", ["skopeo", "inspect", f"docker-archive:{archive}"], args.runs)
            )
            rows.append(
                series(
                    "skopeo inspect --raw",
                    ["skopeo", "inspect", "--raw", f"docker-archive:{archive}"],
                    args.runs,
                )
            )
        if os.environ.get("DOCKER_HOST") and shutil.which("docker"):
            env = dict(os.environ)
            loads = []
            for _ in range(args.runs):
                subprocess.run(["docker", "rmi", "-f", "big/image:latest"], env=env, capture_output=True)
                loads.append(measure(["docker", "load", "-q", "-i", archive], env))
            rows.append(
                {
                    "tool": "docker load",
                    "wall_median_s": statistics.median(w for w, _ in loads),
                    "wall_min_s": min(w for w, _ in loads),
                    "peak_rss_kib": max(r for _, r in loads),
                    "note": "client RSS only; the daemon does the work",
                }
            )
            rows.append(
                series(
                    "docker image inspect (after load)",
                    ["docker", "image", "inspect", "big/image:latest"],
                    args.runs,
                    env,
                )
            )
            subprocess.run(["docker", "rmi", "-f", "big/image:latest"], env=env, capture_output=True)
        print(f"archive: {size_mb:.0f} MB, {args.layers} layers, {args.runs} runs (median wall)\n")
        print("| tool | wall (median) | wall (min) | peak RSS |")
        print("|---|---:|---:|---:|")
        for r in rows:
            print(
                f"| {r['tool']} | {r['wall_median_s']:.3f} s | {r['wall_min_s']:.3f} s | "
                f"{int(r['peak_rss_kib']) / 1024:.1f} MiB |"
            )
        base = next((r for r in rows if r["tool"] == "skopeo inspect"), None)
        if base:
            ours = rows[1]
            print(
                f"\nocitool inspect (metadata) / skopeo inspect wall ratio: "
                f"{float(ours['wall_median_s']) / float(base['wall_median_s']):.2f}"
            )
        out = REPO / "bench" / "results"
        out.mkdir(parents=True, exist_ok=True)
        (out / "inspect.json").write_text(json.dumps({"archive_mb": size_mb, "rows": rows}, indent=2))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
