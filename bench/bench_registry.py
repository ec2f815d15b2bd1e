#!/usr/bin/env python3
"""Push and pull through a real registry: ``ocitool copy`` beside ``skopeo copy``, same run.

    python bench/bench_registry.py --venv /tmp/venv [--archive big/docker.tar] [--runs 2]

Each run starts a fresh docker-registry (distribution 2.8, plain http on 127.0.0.1, filesystem
storage in a temporary directory), so that neither tool finds a blob the other pushed:

- **push**: the docker archive (uncompressed layers, the 566 MB ``big/docker.tar`` that
  ``bench_issue11.py`` builds) to ``docker://127.0.0.1:PORT/bench/TOOL:1``; both tools gzip the
  layers on the way (ocitool at its default level, skopeo at Go's default).
- **pull**: that image back into a new OCI layout (``oci:DIR``), layers verified as read.

Wall time, CPU (user + sys) and peak RSS come from ``bench/_measure.py``. The goal of issue 12:
no slower than skopeo, aiming for 0.7x. Results go to ``bench/results/registry.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench._measure import measure  # noqa: E402
from tests.registry.servers import start_registry  # noqa: E402 - the tests' own registry starter


def _run(argv: list[str], env: dict[str, str]) -> dict[str, float]:
    m = measure(argv, env)
    return {"wall": m.wall, "cpu": m.cpu, "rss_mib": m.rss_kib / 1024}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--venv", type=Path, required=True, help="a venv with ocitool pip-installed")
    ap.add_argument("--archive", type=Path, default=Path("/tmp/ocitool-bench11/big/docker.tar"))
    ap.add_argument("--runs", type=int, default=2)
    args = ap.parse_args()
    registry_exe = shutil.which("docker-registry") or shutil.which("registry")
    skopeo = shutil.which("skopeo")
    if registry_exe is None or skopeo is None:
        raise SystemExit("docker-registry and skopeo are needed (Debian: docker-registry skopeo)")
    if not args.archive.is_file():
        raise SystemExit(f"{args.archive}: build it with bench/bench_issue11.py first")
    ocitool = str(args.venv / "bin" / "ocitool")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")}
    best: dict[str, dict[str, float]] = {}
    print(f"load average before: {os.getloadavg()}; archive {args.archive.stat().st_size / 1e6:.0f} MB")
    for _ in range(args.runs):
        for tool in ("ocitool", "skopeo"):  # alternating: both see the same machine state
            work = Path(tempfile.mkdtemp(prefix=f"bench-registry-{tool}-"))
            reg = start_registry(registry_exe, work / "registry")
            try:
                ref = f"docker://{reg.host}/bench/{tool}:1"
                out = work / "pulled"
                if tool == "ocitool":
                    push = [ocitool, "copy", "-q", f"docker-archive:{args.archive}", ref]
                    pull = [ocitool, "copy", "-q", ref, f"oci:{out}:1"]
                else:
                    archive = f"docker-archive:{args.archive}"
                    push = [skopeo, "copy", "-q", "--dest-tls-verify=false", archive, ref]
                    pull = [skopeo, "copy", "-q", "--src-tls-verify=false", ref, f"oci:{out}:1"]
                for phase, argv in (("push", push), ("pull", pull)):
                    r = _run(argv, env)
                    key = f"{phase}/{tool}"
                    if key not in best or r["wall"] < best[key]["wall"]:
                        best[key] = r
            finally:
                reg.stop()
                shutil.rmtree(work, ignore_errors=True)
    rows: list[dict[str, Any]] = []
    print("| work | ocitool | skopeo | ratio | CPU s ocitool / skopeo | RSS ocitool / skopeo | goal |")
    print("|---|---|---|---|---|---|---|")
    for phase in ("push", "pull"):
        o, s = best[f"{phase}/ocitool"], best[f"{phase}/skopeo"]
        ratio = o["wall"] / s["wall"]
        rows.append({"work": phase, "ocitool": o, "skopeo": s, "ratio": ratio})
        print(
            f"| {phase} {args.archive.stat().st_size / 1e6:.0f} MB | {o['wall']:.2f} s | {s['wall']:.2f} s | "
            f"{ratio:.2f}x | {o['cpu']:.2f} / {s['cpu']:.2f} | {o['rss_mib']:.0f} / {s['rss_mib']:.0f} MiB "
            "| <= 1x (aim 0.7x) |"
        )
    print(f"load average after: {os.getloadavg()}")
    results = REPO / "bench" / "results"
    results.mkdir(exist_ok=True)
    doc = {"load": os.getloadavg(), "rows": rows}
    (results / "registry.json").write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
