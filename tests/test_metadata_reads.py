"""Metadata commands read no layer bytes: proven by the kernel's count of bytes read."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest

from ocitool.cli import main
from ocitool.ops import query
from tests.bigarchive import build

LIMIT = 1 << 20

pytestmark = pytest.mark.slow  # builds two archives of 335 MB each


def _rchar() -> int:
    with open("/proc/self/io") as fh:
        for line in fh:
            if line.startswith("rchar:"):
                return int(line.split()[1])
    raise AssertionError("no rchar")


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    paths = build(tmp_path_factory.mktemp("big"))
    assert paths["docker"].stat().st_size > 300 << 20
    return paths


def _measure(fn: Callable[[], object]) -> int:
    fn()  # warm up imports and lazy module state so that only the work is counted
    before = _rchar()
    fn()
    return _rchar() - before


@pytest.mark.parametrize("kind", ["docker", "oci"])
def test_library_metadata_reads_stay_small(big: dict[str, Path], kind: str) -> None:
    src = str(big[kind])
    for fn in (
        lambda: query.inspect(src, with_size=False),
        lambda: query.manifests(src, with_size=False),
        lambda: query.raw_config(src),
        lambda: query.raw_manifest(src),
        lambda: query.history(src, with_size=False),
        lambda: query.images([src], with_size=False),
    ):
        assert _measure(fn) < LIMIT


@pytest.mark.parametrize(
    "argv",
    [
        ["inspect", "--format", "{{.Id}} {{.Os}} {{json .RootFS}}"],
        ["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"],
        ["config"],
        ["manifest"],
    ],
)
def test_cli_metadata_reads_stay_small(
    big: dict[str, Path], argv: list[str], capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    cmd = [*argv, str(big["docker"])]
    codes: list[int] = []
    assert _measure(lambda: codes.append(main(cmd, stdout=io.StringIO()))) < LIMIT
    assert codes == [0, 0]


def test_the_counter_sees_layer_reads(big: dict[str, Path]) -> None:
    """Positive control: reading the layers through the same API is counted in full."""
    from ocitool.formats.detect import open_source

    def read_all() -> None:
        with open_source(str(big["docker"])) as src:
            for layer in src.entries[0].images()[0].layers:
                with layer.open_blob() as fh:
                    while fh.read(1 << 20):
                        pass

    assert _measure(read_all) > 4 * (80 << 20)


def test_sizes_come_from_headers_for_uncompressed_layers(big: dict[str, Path]) -> None:
    """Sizes of uncompressed layers need only tar headers, and equal the files' sizes."""
    sizes: list[int] = []
    assert _measure(lambda: sizes.extend(r.size for r in query.inspect(str(big["docker"])))) < LIMIT
    assert sizes[0] == 4 * (80 << 20)
