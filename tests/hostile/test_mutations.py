"""Property-based: mutated valid archives make every reader and command succeed or raise an
OcitoolError, never another exception, a hang, or unbounded memory.

Each example runs in a subprocess (tests/hostile/_worker.py) under RLIMIT_AS and a time limit.
"""

from __future__ import annotations

import resource
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests import peers

SEEDS = [
    peers.FIXTURES / "hostile" / "oci-good.tar",
    peers.FIXTURES / "hostile" / "whiteouts.tar",
    peers.FIXTURES / "buildah" / "opaque.tar",
    peers.FIXTURES / "oci-archive" / "base.tar",  # gzip layers
]
# Archives compressed whole go through ocitool.compression before any format code.
COMPRESSED_SEEDS = [peers.FIXTURES / "compressed" / "two-images.tar.gz"]
MEMORY_LIMIT = 512 << 20
TIME_LIMIT = 20.0


def _cap() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


Op = tuple[str, float, int]  # (kind, relative position, value)

OPS = st.tuples(
    st.sampled_from(["flip", "byte", "truncate", "zero-block", "digits"]),
    st.floats(0, 1, allow_nan=False),
    st.integers(0, 255),
)


def mutate(data: bytes, ops: list[Op]) -> bytes:
    """Apply the ops (small to print; hypothesis shrinks them) to a seed archive."""
    buf = bytearray(data)
    for kind, rel, value in ops:
        if not buf:
            break
        pos = min(int(rel * len(buf)), len(buf) - 1)
        if kind == "flip":
            buf[pos] ^= 1 << (value % 8)
        elif kind == "byte":
            buf[pos] = value
        elif kind == "truncate":
            del buf[pos:]
        elif kind == "zero-block":
            start = pos - pos % 512
            buf[start : start + 512] = bytes(min(512, len(buf) - start))
        else:
            # Digits over a header field area (sizes, modes, checksums).
            buf[pos : pos + 12] = b"777777777777"[: len(buf) - pos]
    return bytes(buf) or b"\0"


_COMMON = dict(
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


@pytest.mark.slow
@settings(max_examples=30, **_COMMON)  # type: ignore[arg-type]
@given(seed=st.integers(0, len(SEEDS) - 1), ops=st.lists(OPS, min_size=1, max_size=4))
def test_mutated_archives_fail_cleanly(
    seed: int, ops: list[Op], tmp_path_factory: pytest.TempPathFactory
) -> None:
    _run_mutated(mutate(SEEDS[seed].read_bytes(), ops), tmp_path_factory)


@pytest.mark.slow
@settings(max_examples=15, **_COMMON)  # type: ignore[arg-type]
@given(ops=st.lists(OPS, min_size=1, max_size=3))
@example(ops=[("flip", 0.125, 0)])  # corrupts the deflate stream: IsalError escapes detect.py
def test_mutated_compressed_archives_fail_cleanly(
    ops: list[Op], tmp_path_factory: pytest.TempPathFactory
) -> None:
    _run_mutated(mutate(COMPRESSED_SEEDS[0].read_bytes(), ops), tmp_path_factory)


def _run_mutated(data: bytes, tmp_path_factory: pytest.TempPathFactory) -> None:
    work = tmp_path_factory.mktemp("mut")
    archive = work / "archive.tar"
    archive.write_bytes(data)
    try:
        res = subprocess.run(
            [sys.executable, "-m", "tests.hostile._worker", str(archive), str(work / "out")],
            preexec_fn=_cap,
            capture_output=True,
            timeout=TIME_LIMIT,
            cwd=peers.REPO,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"hang: over {TIME_LIMIT}s")
    assert res.returncode == 0, res.stderr.decode()[-3000:]
    # Nothing was written outside the work directory's two outputs.
    assert {p.name for p in work.iterdir()} <= {"archive.tar", "out"}
    assert {p.name for p in (work / "out").iterdir()} <= {"rootfs", "out.tar"}
