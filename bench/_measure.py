"""Measuring one command the same way in every benchmark.

GNU time (``/usr/bin/time``) reports the child's own peak RSS: a child forked from a Python
benchmark process would report the benchmark's size as its own, because ``ru_maxrss`` carries
across ``exec``. Wall time is measured around the whole run, the same way for every tool.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Collection
from dataclasses import dataclass

__all__ = ["GNU_TIME", "Measurement", "measure", "python_env"]

GNU_TIME = "/usr/bin/time"


@dataclass(frozen=True)
class Measurement:
    wall: float
    cpu: float
    rss_kib: int
    returncode: int


def measure(argv: list[str], env: dict[str, str] | None = None, *, ok: Collection[int] = (0,)) -> Measurement:
    """Run ``argv`` to completion under GNU time. Exits the benchmark when the exit code is not
    in ``ok`` (analysis tools exit non-zero for a failed rule, which is a result, not an error)."""
    if not os.path.exists(GNU_TIME):
        raise SystemExit(f"{GNU_TIME} is needed (Debian package 'time')")
    start = time.perf_counter()
    proc = subprocess.run(
        [GNU_TIME, "-f", "%U %S %M", *argv], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    wall = time.perf_counter() - start  # GNU time's own %e has 10 ms resolution
    err = proc.stderr.decode(errors="replace")
    if proc.returncode not in ok:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}): {err[-2000:]}")
    user, system, rss = err.strip().splitlines()[-1].split()
    return Measurement(wall, float(user) + float(system), int(rss), proc.returncode)


def python_env() -> dict[str, str]:
    """The environment for timing Python CLIs: bytecode caching on, as in an installed package
    (pip compiles bytecode at install; PYTHONDONTWRITEBYTECODE=1 would recompile every run)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
