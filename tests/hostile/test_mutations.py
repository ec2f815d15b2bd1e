"""Property-based: mutated valid archives make every reader and command succeed or raise an
OcitoolError, never another exception, a hang, or unbounded memory; and a mutation that changed
a byte of a blob (a layer, or an OCI config or manifest) makes ``verify`` fail.

Each example runs in a subprocess (tests/hostile/_worker.py) under RLIMIT_AS and a time limit.
Hypothesis explores: inputs are random on every run, failures are kept in the repository's
``.hypothesis/`` database and replayed first, and a failure prints the ``@reproduce_failure``
blob to paste. The quick loop runs a few examples; the ``slow`` run (CI) many.
"""

from __future__ import annotations

import io
import json
import resource
import subprocess
import sys
import tarfile
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase

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
QUICK_EXAMPLES = 6
SLOW_EXAMPLES = 60


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


@cache
def blob_ranges(seed: Path) -> tuple[tuple[int, int], ...]:
    """(start, end) byte ranges of the seed's digest-checked blobs, found with tarfile.

    OCI archives: every ``blobs/<alg>/<hex>`` member (manifests, configs, layers: each is named
    by its digest). Docker archives: the layer tars manifest.json names (their diff IDs are in
    the config); not the config, whose file name a legacy ``docker load`` does not check either.
    """
    with tarfile.open(seed) as tar:
        members = {m.name.removeprefix("./"): m for m in tar.getmembers()}
        if "manifest.json" in members:
            fh = tar.extractfile(members["manifest.json"])
            assert fh is not None
            names = {layer for item in json.loads(fh.read()) for layer in item["Layers"]}
        else:
            names = {n for n in members if n.startswith("blobs/")}
    return tuple(
        sorted(
            (m.offset_data, m.offset_data + m.size) for n, m in members.items() if n in names and m.isfile()
        )
    )


def hit_a_blob(original: bytes, mutated: bytes, ranges: tuple[tuple[int, int], ...]) -> bool:
    """Whether a byte inside a blob changed (a truncation changes every byte from its cut)."""
    return any(len(mutated) < end or original[start:end] != mutated[start:end] for start, end in ranges)


_COMMON = dict(
    deadline=None,
    print_blob=True,
    database=DirectoryBasedExampleDatabase(str(peers.REPO / ".hypothesis" / "examples")),
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
SEED_OPS = dict(seed=st.integers(0, len(SEEDS) - 1), ops=st.lists(OPS, min_size=1, max_size=4))


@settings(max_examples=QUICK_EXAMPLES, **_COMMON)  # type: ignore[arg-type]
@given(**SEED_OPS)
def test_mutated_archives_fail_cleanly_quick(
    seed: int, ops: list[Op], tmp_path_factory: pytest.TempPathFactory
) -> None:
    _check_seed(seed, ops, tmp_path_factory)


@pytest.mark.slow
@settings(max_examples=SLOW_EXAMPLES, **_COMMON)  # type: ignore[arg-type]
@given(**SEED_OPS)
@example(seed=0, ops=[("flip", 0.3, 3)])  # inside oci-good.tar's layer blob: verify must fail
def test_mutated_archives_fail_cleanly(
    seed: int, ops: list[Op], tmp_path_factory: pytest.TempPathFactory
) -> None:
    _check_seed(seed, ops, tmp_path_factory)


@pytest.mark.slow
@settings(max_examples=SLOW_EXAMPLES // 3, **_COMMON)  # type: ignore[arg-type]
@given(ops=st.lists(OPS, min_size=1, max_size=3))
@example(ops=[("flip", 0.125, 0)])  # corrupts the deflate stream: IsalError escapes detect.py
def test_mutated_compressed_archives_fail_cleanly(
    ops: list[Op], tmp_path_factory: pytest.TempPathFactory
) -> None:
    _run_mutated(mutate(COMPRESSED_SEEDS[0].read_bytes(), ops), tmp_path_factory)


def _check_seed(seed: int, ops: list[Op], tmp_path_factory: pytest.TempPathFactory) -> None:
    original = SEEDS[seed].read_bytes()
    mutated = mutate(original, ops)
    outcomes = _run_mutated(mutated, tmp_path_factory)
    if hit_a_blob(original, mutated, blob_ranges(SEEDS[seed])):
        assert outcomes["verify"] != "ok", f"{SEEDS[seed].name} {ops}: a blob changed, verify passed"


def test_the_blob_check_sees_what_it_must(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The oracle of the property above, on known cases: a byte of a layer is a blob hit, a byte
    of manifest.json is not, and verify fails on the first and passes the unmutated seed."""
    seed = SEEDS[1]  # a docker archive
    data = seed.read_bytes()
    ranges = blob_ranges(seed)
    assert ranges and all(0 < a < b <= len(data) for a, b in ranges)
    start, end = ranges[0]
    flipped = bytearray(data)
    flipped[(start + end) // 2] ^= 1
    assert hit_a_blob(data, bytes(flipped), ranges)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        manifest = tar.getmember("manifest.json")
    other = bytearray(data)
    other[manifest.offset_data] ^= 1
    assert not hit_a_blob(data, bytes(other), ranges)
    assert hit_a_blob(data, data[: end - 1], ranges)
    assert _run_mutated(data, tmp_path_factory)["verify"] == "ok"
    assert _run_mutated(bytes(flipped), tmp_path_factory)["verify"] == "fail"


def _run_mutated(data: bytes, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
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
    outcomes = dict(word.split(":", 1) for word in res.stdout.decode().split())
    assert set(outcomes) == {"read", "inspect", "history", "verify", "validate", "unpack", "export", "merged"}
    return outcomes
