"""Run every reader and command on one (possibly mutated) archive; used by test_mutations.

Usage: python -m tests.hostile._worker ARCHIVE WORKDIR. Prints one line of ``step:outcome``
words, the outcome being ``ok``, the OcitoolError's class name, or for ``verify`` ``fail`` when
the report found problems; any other exception escapes (traceback, exit 1), which the test
treats as a failure. The parent sets RLIMIT_AS and a time limit.
"""

from __future__ import annotations

import io
import os
import sys


def run(archive: str, workdir: str) -> str:
    from ocitool.errors import OcitoolError
    from ocitool.formats.detect import open_source
    from ocitool.ops import query
    from ocitool.ops.rootfs import merged_tar
    from ocitool.ops.unpack import export, unpack
    from ocitool.ops.validate import validate
    from ocitool.ops.verify import verify

    os.makedirs(workdir, exist_ok=True)
    outcomes = []
    steps = {
        "read": lambda: _read_all(open_source, archive),
        "inspect": lambda: query.inspect(archive),
        "history": lambda: query.history(archive),
        "verify": lambda: _verified(verify, archive),
        "validate": lambda: validate(archive),
        "unpack": lambda: unpack(archive, os.path.join(workdir, "rootfs")),
        "export": lambda: export(archive, os.path.join(workdir, "out.tar")),
        "merged": lambda: _merged(open_source, merged_tar, archive),
    }
    for name, step in steps.items():
        try:
            step()
            outcomes.append(f"{name}:ok")
        except _VerifyFailed:
            outcomes.append(f"{name}:fail")
        except OcitoolError as exc:
            outcomes.append(f"{name}:{type(exc).__name__}")
    return " ".join(outcomes)


class _VerifyFailed(Exception):
    pass


def _verified(verify, archive):  # type: ignore[no-untyped-def]
    if not verify(archive).ok:
        raise _VerifyFailed


class _Null(io.RawIOBase):
    """A sink: the merged tar is produced and thrown away (memory stays flat)."""

    def writable(self) -> bool:
        return True

    def write(self, data):  # type: ignore[no-untyped-def,override]
        return len(data)


def _read_all(open_source, archive):  # type: ignore[no-untyped-def]
    with open_source(archive) as src:
        for entry in src.entries:
            for image in entry.images():
                _ = image.config, image.platform, image.id
                for layer in image.layers:
                    if layer.present:
                        with layer.open_uncompressed() as fh:
                            while fh.read(1 << 20):
                                pass


def _merged(open_source, merged_tar, archive):  # type: ignore[no-untyped-def]
    with open_source(archive) as src:
        for entry in src.entries:
            for image in entry.images():
                merged_tar(image.layers, _Null(), keep_whiteouts=True)


if __name__ == "__main__":
    print(run(sys.argv[1], sys.argv[2]))
