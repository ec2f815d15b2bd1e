"""moby/buildkit's parser and shell-lexer test data (fixtures/dockerfile/README.md), read from
its xz tar into memory: ``{"parser/testfiles/env/Dockerfile": b"...", ...}``."""

from __future__ import annotations

import tarfile
from functools import cache
from pathlib import Path

ARCHIVE = Path(__file__).resolve().parents[2] / "fixtures" / "dockerfile" / "buildkit-testdata.tar.xz"


@cache
def buildkit_files() -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    with tarfile.open(ARCHIVE, "r:xz") as tf:
        for member in tf:
            data = tf.extractfile(member) if member.isfile() else None
            if data is not None:
                out[member.name] = data.read()
    return out


def cases(prefix: str) -> list[str]:
    """The directory names under ``prefix`` (``parser/testfiles``), sorted."""
    start = prefix.rstrip("/") + "/"
    names = [name[len(start) :] for name in buildkit_files() if name.startswith(start)]
    return sorted({name.split("/", 1)[0] for name in names})
