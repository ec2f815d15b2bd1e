#!/usr/bin/env python3
"""Issue 11's table in one run: ocitool beside its peers, interleaved, as users install it.

    python bench/bench_issue11.py --venv /tmp/venv [--runs 2] [--work DIR] [--rows convert,verify,...]

``--venv`` is a virtual environment with ocitool installed by ``pip install .`` (a wheel with
bytecode); its ``ocitool`` script and its ``python`` are what is timed. Inputs are built once
under ``--work`` (kept between runs):

* ``big.tar`` (~567 MB docker save): a Debian-like root file system (thousands of small real
  files from this machine's /usr), 800 x 256 KiB random files, and 150 MB of compressible text;
* its gzip OCI layout (written by the ocitool under test, ~413 MB);
* ``tiny.tar`` (one small image) and ``many-N.tar`` (N images sharing one layer).

Rows (each the best wall time of ``--runs``; peers and ocitool alternate in the same run):
convert vs ``skopeo copy``, verify vs the loop (one thread reads each blob, hashes it,
isal-decompresses it and hashes the result), ``manifests`` repeated vs ``skopeo inspect``,
start-up vs a bare ``python -c pass``, ``images`` of archives of 1 to 1,000 images, and scale
rows (``--scale-sizes`` MB in one layer, ``--scale-layers`` layers of 100 MB in all): convert vs
skopeo and verify vs the loop, peak RSS each.
Prints a Markdown table with ratios and writes ``bench/results/issue11.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench._measure import measure  # noqa: E402
from bench.bench_convert import _save, _sha256, _system_files, _TextReader, add_text_files  # noqa: E402

THE_LOOP = """
import hashlib, os, sys
from isal import isal_zlib
buf = bytearray(1 << 20)
view = memoryview(buf)
blobs = sys.argv[1]
for name in sorted(os.listdir(blobs)):
    path = os.path.join(blobs, name)
    h = hashlib.sha256()
    d = hashlib.sha256()
    head = b""
    with open(path, "rb", buffering=0) as fh:
        dec = None
        while n := fh.readinto(buf):
            chunk = view[:n]
            h.update(chunk)
            if dec is None:
                dec = isal_zlib.decompressobj(31) if bytes(chunk[:2]) == b"\\x1f\\x8b" else False
            if dec:
                d.update(dec.decompress(chunk))
"""


def _layer(path: Path, fill: Any) -> str:
    with open(path, "wb") as raw, tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        fill(tar)
    return _sha256(path)


def build_big(
    work: Path, *, total: int = 567_000_000, random_files: int = 800, text: int = 150_000_000
) -> Path:
    """The ~567 MB docker archive: a root file system of small real files (what is left of
    ``total``), ``random_files`` x 256 KiB random files, and ``text`` bytes of compressible text."""
    out = work / "big" / "docker.tar"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(11)
    paths = [out.parent / f"layer{i}.tar" for i in range(3)]

    def rootfs(tar: tarfile.TarFile) -> None:
        raw = tar.fileobj
        assert raw is not None
        budget = total - random_files * ((256 << 10) + 1024) - text - (1 << 20)
        for src in _system_files():
            if raw.tell() >= budget:
                break
            if os.path.getsize(src) > 4 << 20:  # base images are mostly small files
                continue
            try:
                tar.add(src, arcname=src.lstrip("/"), recursive=False)
            except OSError:
                continue

    def randoms(tar: tarfile.TarFile) -> None:
        for i in range(random_files):
            info = tarfile.TarInfo(f"opt/data/blob{i:04d}.bin")
            info.size = 256 << 10
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(rng.randbytes(info.size)))

    def texts(tar: tarfile.TarFile) -> None:
        add_text_files(tar, "usr/share/doc/text", text, rng)

    diff_ids = [_layer(p, f) for p, f in zip(paths, (rootfs, randoms, texts), strict=True)]
    return _save(out.parent, diff_ids, paths, "bench/big:latest")


def build_scaled(work: Path, total_mb: int, layers: int) -> Path:
    """A docker save of ``layers`` equal layers, ``total_mb`` MB in all, each half compressible
    text and half random files of 256 KiB (for the scale rows)."""
    out = work / f"scaled-{total_mb}mb-{layers}l" / "docker.tar"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(total_mb * 1000 + layers)
    per_layer = total_mb * 1_000_000 // layers
    paths = [out.parent / f"layer{i}.tar" for i in range(layers)]

    def fill(i: int) -> Any:
        def run(tar: tarfile.TarFile) -> None:
            left, j = per_layer, 0
            while left > 0:
                size = min(left, 256 << 10)
                info = tarfile.TarInfo(f"data/l{i}/f{j:06d}")
                info.size = size
                data: Any = io.BytesIO(rng.randbytes(size)) if j % 2 else _TextReader(size, rng)
                tar.addfile(info, data)
                left -= size
                j += 1

        return run

    diff_ids = [_layer(p, fill(i)) for i, p in enumerate(paths)]
    return _save(out.parent, diff_ids, paths, "bench/scaled:latest")


def build_many(work: Path, count: int) -> Path:
    """A docker archive of ``count`` images sharing one small layer (``count`` = 1: tiny.tar)."""
    out = work / f"many-{count}.tar"
    if out.exists():
        return out
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        info = tarfile.TarInfo("etc/hostname")
        data = b"bench\n"
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    layer_bytes = layer.getvalue()
    diff = hashlib.sha256(layer_bytes).hexdigest()
    items = []
    with tarfile.open(out, "w") as tar:

        def add(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        add(f"{diff}/layer.tar", layer_bytes)
        for i in range(count):
            config = {
                "architecture": "amd64",
                "os": "linux",
                "created": "2024-01-02T03:04:05Z",
                "config": {"Env": [f"N={i}"]},
                "rootfs": {"type": "layers", "diff_ids": [f"sha256:{diff}"]},
            }
            raw = json.dumps(config, separators=(",", ":")).encode()
            hexd = hashlib.sha256(raw).hexdigest()
            add(f"{hexd}.json", raw)
            items.append(
                {
                    "Config": f"{hexd}.json",
                    "RepoTags": [f"bench/img{i}:latest"],
                    "Layers": [f"{diff}/layer.tar"],
                }
            )
        add("manifest.json", json.dumps(items).encode())
    return out


def du(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


class Bench:
    def __init__(self, venv: Path, runs: int) -> None:
        self.ocitool = str(venv / "bin" / "ocitool")
        self.python = str(venv / "bin" / "python")
        self.runs = runs
        self.env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")}
        self.rows: list[dict[str, Any]] = []

    def best(
        self,
        commands: dict[str, list[str]],
        prepare: Any = None,
        runs: int | None = None,
        ok: tuple[int, ...] = (0,),
    ) -> dict[str, Any]:
        """Each command ``runs`` times, alternating; the best wall time and the peak RSS of each.
        An exit status in ``ok`` is a result (a CI verdict), any other a failure."""
        result: dict[str, Any] = {name: {"wall": float("inf"), "rss_mib": 0.0} for name in commands}
        for _ in range(runs or self.runs):
            for name, argv in commands.items():
                if prepare is not None:
                    prepare(name)
                m = measure(argv, self.env, ok=ok)
                r = result[name]
                r["wall"] = min(r["wall"], m.wall)
                r["rss_mib"] = max(r["rss_mib"], m.rss_kib / 1024)
                r["cpu"] = min(r.get("cpu", float("inf")), m.cpu)
        return result

    def row(
        self, work: str, ours: dict[str, Any], peer_name: str, peer: dict[str, Any], goal: str, **extra: Any
    ) -> None:
        ratio = ours["wall"] / peer["wall"]
        extra = {"cpu_s": f"{ours['cpu']:.2f}/{peer['cpu']:.2f}", **extra}
        self.rows.append(
            {
                "work": work,
                "ocitool_s": ours["wall"],
                "peer": peer_name,
                "peer_s": peer["wall"],
                "ratio": ratio,
                "rss_mib": ours["rss_mib"],
                "goal": goal,
                **extra,
            }
        )
        print(
            f"| {work} | {ours['wall']:.3f} s | {peer_name} {peer['wall']:.3f} s | {ratio:.2f}x | "
            f"{ours['rss_mib']:.0f} MiB | {goal} | {' '.join(f'{k}={v}' for k, v in extra.items())} |",
            flush=True,
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--venv", type=Path, required=True)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--work", type=Path, default=Path("/tmp/ocitool-bench11"))
    ap.add_argument("--rows", default="startup,convert,verify,manifests,images,analyze,scale")
    ap.add_argument("--scale-sizes", default="100,500", help="MB of layers for the size scale (up to 2000)")
    ap.add_argument("--scale-layers", default="1,20,200", help="layer counts at 100 MB")
    args = ap.parse_args()
    rows = set(args.rows.split(","))
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    b = Bench(args.venv, args.runs)
    print(f"load average before: {os.getloadavg()}; cores: {os.cpu_count()}")
    print(f"{subprocess.run([b.ocitool, '--version'], capture_output=True, text=True).stdout.strip()}")
    print(
        "| work | ocitool | peer | ratio | ocitool peak RSS | goal | notes |\n|---|---|---|---|---|---|---|"
    )
    loop = work / "the_loop.py"
    loop.write_text(THE_LOOP)
    tiny = build_many(work, 1)
    if "startup" in rows:
        cmds = {
            "pass": [b.python, "-c", "pass"],
            "--version": [b.ocitool, "--version"],
            "images --help": [b.ocitool, "images", "--help"],
            "images tiny.tar": [b.ocitool, "images", str(tiny)],
        }
        r = b.best(cmds, runs=max(10, args.runs))
        for name in ("--version", "images --help", "images tiny.tar"):
            b.row(f"`ocitool {name}`", r[name], "python -c pass", r["pass"], "<= 4x")
    big = build_big(work)
    layout = work / "layout"
    skopeo = shutil.which("skopeo")
    if "convert" in rows and skopeo:
        outs = {"ocitool": work / "conv-ocitool", "skopeo": work / "conv-skopeo"}

        def clean(name: str) -> None:
            shutil.rmtree(outs[name], ignore_errors=True)

        r = b.best(
            {
                "ocitool": [b.ocitool, "convert", f"docker-archive:{big}", f"oci:{outs['ocitool']}:big"],
                "skopeo": [skopeo, "copy", "-q", f"docker-archive:{big}", f"oci:{outs['skopeo']}:big"],
            },
            prepare=clean,
        )
        size_ratio = du(outs["ocitool"]) / du(outs["skopeo"])
        b.row(
            f"convert {du(big) / 1e6:.0f} MB docker archive -> OCI gzip",
            r["ocitool"],
            "skopeo copy",
            r["skopeo"],
            "<= 0.5x, size <= 1.1x, RSS <= 200 MiB",
            size_vs_skopeo=f"{size_ratio:.3f}",
            skopeo_rss_mib=f"{r['skopeo']['rss_mib']:.0f}",
        )
        if not layout.exists():
            outs["ocitool"].rename(layout)
    if "verify" in rows:
        if not layout.exists():
            subprocess.run(
                [b.ocitool, "convert", f"docker-archive:{big}", f"oci:{layout}:big"], check=True, env=b.env
            )
        r = b.best(
            {
                "ocitool": [b.ocitool, "verify", f"oci:{layout}"],
                "loop": [b.python, str(loop), str(layout / "blobs" / "sha256")],
            }
        )
        b.row(f"verify {du(layout) / 1e6:.0f} MB gzip layout", r["ocitool"], "the loop", r["loop"], "<= 0.7x")
    if "manifests" in rows and skopeo:
        subprocess.run(
            [b.ocitool, "manifests", str(big)], env=b.env, capture_output=True
        )  # fill the size cache
        r = b.best(
            {
                "ocitool": [b.ocitool, "manifests", str(big)],
                "skopeo": [skopeo, "inspect", f"docker-archive:{big}"],
                "pass": [b.python, "-c", "pass"],
            },
            runs=max(5, args.runs),
        )
        bound = max(2 * r["skopeo"]["wall"], 3 * r["pass"]["wall"])
        b.row(
            "`manifests` of the big archive, repeated",
            r["ocitool"],
            "skopeo inspect",
            r["skopeo"],
            "<= max(2x skopeo, 3x python -c pass)",
            bound_s=f"{bound:.3f}",
        )
    if "images" in rows:
        for n in (1, 10, 100, 1000):
            archive = build_many(work, n)
            r = b.best(
                {"ocitool": [b.ocitool, "images", str(archive)], "pass": [b.python, "-c", "pass"]},
                runs=max(3, args.runs),
            )
            b.row(
                f"`images` of a docker archive of {n} images",
                r["ocitool"],
                "python -c pass",
                r["pass"],
                "<= 0.5 s at 1,000",
            )
    dive = shutil.which("dive")
    if "analyze" in rows and dive:
        # tests/analyze/generate.py's image at 6 x 2,300 files: 243 MB of layers with files rewritten
        # in every layer and whiteouts, as the 220 MB analyze input.
        from tests.analyze.generate import build as build_whiteouts

        (work / "analyze").mkdir(exist_ok=True)
        archive, _ = build_whiteouts(work / "analyze", 6, 2300)
        env = {**b.env, "CI": "true"}
        saved, b.env = b.env, env
        r = b.best(
            {
                "ocitool": [b.ocitool, "analyze", "--ci", str(archive)],
                "dive": [dive, "--source", "docker-archive", str(archive), "--ci"],
            },
            runs=1,
            ok=(0, 1, 2),  # dive --ci fails a rule with 1, ocitool with 2
        )
        b.env = saved
        b.row(
            f"analyze {du(archive) / 1e6:.0f} MB docker archive",
            r["ocitool"],
            "dive --ci",
            r["dive"],
            "<= 0.3x",
        )
    if "scale" in rows and skopeo:
        cases = [(int(mb), 1) for mb in args.scale_sizes.split(",")]
        cases += [(100, int(n)) for n in args.scale_layers.split(",") if (100, int(n)) not in cases]
        scale_outs = {"ocitool": work / "scale-ocitool", "skopeo": work / "scale-skopeo"}

        def clean_scale(name: str) -> None:
            shutil.rmtree(scale_outs[name], ignore_errors=True)

        for mb, n in cases:
            archive = build_scaled(work, mb, n)
            outs = scale_outs

            r = b.best(
                {
                    "ocitool": [
                        b.ocitool,
                        "convert",
                        f"docker-archive:{archive}",
                        f"oci:{outs['ocitool']}:s",
                    ],
                    "skopeo": [skopeo, "copy", "-q", f"docker-archive:{archive}", f"oci:{outs['skopeo']}:s"],
                },
                prepare=clean_scale,
                runs=1,
            )
            b.row(
                f"scale: convert {mb} MB in {n} layer(s)",
                r["ocitool"],
                "skopeo copy",
                r["skopeo"],
                "RSS flat",
                size_vs_skopeo=f"{du(outs['ocitool']) / du(outs['skopeo']):.3f}",
            )
            v = b.best(
                {
                    "ocitool": [b.ocitool, "verify", f"oci:{outs['ocitool']}"],
                    "loop": [b.python, str(work / "the_loop.py"), str(outs["ocitool"] / "blobs" / "sha256")],
                },
                runs=1,
            )
            b.row(f"scale: verify {mb} MB in {n} layer(s)", v["ocitool"], "the loop", v["loop"], "RSS flat")
    print(f"load average after: {os.getloadavg()}")
    results = REPO / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "issue11.json").write_text(
        json.dumps({"load": os.getloadavg(), "rows": b.rows}, indent=1) + "\n"
    )


if __name__ == "__main__":
    main()
