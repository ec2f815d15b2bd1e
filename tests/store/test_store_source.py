"""A store read as an image source: the generic queries and ``convert`` over it, a Docker data
root read-only, and the one filter parser and time parser both modes share."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from ocitool.engineapi.filters import PRUNE_FILTERS, ImageFilters, filter_images
from ocitool.engineapi.summary import Summary
from ocitool.engineapi.timetypes import get_timestamp
from ocitool.errors import BlobNotFoundError, ImageNotFoundError, InvalidReferenceError
from ocitool.ops import query
from ocitool.ops.convert import convert
from ocitool.service.list import docker_root_images
from ocitool.service.service import ImageService
from ocitool.store.dockerroot import open_docker_root
from ocitool.store.source import open_store
from tests import peers

TWO = str(peers.FIXTURES / "docker" / "two-images.tar")
IMPORTED = str(peers.FIXTURES / "docker" / "imported.tar")


@pytest.fixture
def loaded(tmp_path: Path) -> tuple[Path, ImageService]:
    """Two archives loaded, the base tagged once more (a LastTagTime to read back)."""
    svc = ImageService(str(tmp_path / "root"))
    for archive in (TWO, IMPORTED):
        svc.load(archive)
    svc.tag("ocitool-fixture/base:1.0", "mybase:v1")
    return tmp_path / "root", svc


def _tree(path: Path) -> dict[str, str]:
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in sorted(path.rglob("*"))
    }


def test_the_generic_queries_read_a_store_as_the_service_does(loaded: tuple[Path, ImageService]) -> None:
    root, svc = loaded
    with open_store(str(root)) as src:
        assert query.images([src]) == svc.images()
        listed = {s.id: s for s in query.images([src], all_images=True)}
        assert query.inspect(src, ["mybase:v1"]) == svc.inspect(["mybase:v1"])
        (resp,) = query.inspect(src, ["mybase:v1"])
        assert resp.repo_tags == ["mybase:v1", "ocitool-fixture/base:1.0"]
        assert not resp.metadata.last_tag_time.is_zero()  # tagged: moby's SetLastUpdated
        assert resp.size == listed[resp.id].size
        # every image as an entry: the archive rules (@N) apply to a whole store too
        assert {str(img.id) for e in src.entries for img in e.images()} == set(listed)
        assert query.history(src, "ocitool-fixture/child:latest") == svc.history(
            "ocitool-fixture/child:latest"
        )
        with pytest.raises(ImageNotFoundError) as info:
            query.inspect(src, ["nosuch"])
        assert info.value.ref == "nosuch:latest"  # moby's wording, not the archive rules'


def test_convert_from_a_store_writes_nothing_into_it(
    loaded: tuple[Path, ImageService], tmp_path: Path
) -> None:
    root, svc = loaded
    before = _tree(root / "content")
    layout = tmp_path / "all"
    with open_store(str(root)) as src:
        result = convert(src, f"oci:{layout}")
    assert {str(i) for c in result.images for i in c.image_ids} == {s.id for s in svc.images()}
    rows = query.images([str(layout)])
    assert sorted(t for r in rows for t in r.repo_tags) == sorted(
        t for s in svc.images() for t in s.repo_tags
    )
    assert {r.id: r.size for r in rows} == {s.id: s.size for s in svc.images()}
    svc.save(["mybase"], f"docker-archive:{tmp_path / 'one.tar'}")
    assert _tree(root / "content") == before


def test_a_docker_root_is_read_without_writing(loaded: tuple[Path, ImageService], tmp_path: Path) -> None:
    root, svc = loaded
    # Docker's layerdb entries have no blob: drop ocitool's, and the blobs, from a copy
    docker_root = tmp_path / "docker"
    shutil.copytree(root / "image", docker_root / "image")
    driver = docker_root / "image" / "overlay2"
    for name in ("ocitool-index.sqlite", "ocitool-index.sqlite-wal", "ocitool-index.sqlite-shm"):
        (driver / name).unlink(missing_ok=True)
    for blob in (driver / "layerdb" / "sha256").glob("*/ocitool-blob"):
        blob.unlink()
    before = _tree(docker_root)
    assert docker_root_images(str(docker_root), all_images=True) == svc.images(all_images=True)
    with open_docker_root(str(docker_root)) as src:
        assert query.inspect(src, ["mybase:v1"]) == svc.inspect(["mybase:v1"])
        assert query.history(src, "ocitool-fixture/child:extra") == svc.history("ocitool-fixture/child:extra")
        with pytest.raises(BlobNotFoundError):
            convert(src, f"oci:{tmp_path / 'out'}")  # the layers are not kept as blobs
    assert _tree(docker_root) == before
    assert not os.path.exists(tmp_path / "out")
    with pytest.raises(ImageNotFoundError), open_docker_root(str(tmp_path / "empty")):
        pass


def test_one_filter_parser_for_images_and_prune() -> None:
    f = ImageFilters.parse(["dangling=1", "label=a=b", "before=x", "before=y", "until=1h", "Reference=r"])
    assert f == ImageFilters(
        dangling=True, labels=("a=b",), before=("x", "y"), until=("1h",), references=("r",)
    )
    with pytest.raises(InvalidReferenceError, match="invalid filter 'label!'"):
        ImageFilters.parse(["label!=x"])  # docker images has no label!
    assert ImageFilters.parse(["label=!x"]).labels == ("!x",)
    prune = ImageFilters.parse(["label!=x", "label=!y", "until=10m"], allowed=PRUNE_FILTERS)
    assert prune.not_labels == ("x", "y") and prune.until == ("10m",)
    for bad in (["before=x"], ["nonsense"], ["dangling=maybe"]):
        with pytest.raises(InvalidReferenceError):
            ImageFilters.parse(bad, allowed=PRUNE_FILTERS)


def test_docker_time_values() -> None:
    now = 1_700_000_000.0
    assert get_timestamp("1h30m", now) == now - 5400
    assert get_timestamp("1500ms", now) == now - 1.5
    assert get_timestamp("1600000000.25", now) == 1_600_000_000.25
    assert get_timestamp("2020-01-02", now) == 1_577_923_200.0
    assert get_timestamp("2020-01-02T03:04:05Z", now) == 1_577_934_245.0
    with pytest.raises(InvalidReferenceError):
        get_timestamp("yesterday", now)


def test_an_image_without_a_creation_time_never_passes_a_time_filter() -> None:
    def summary(id: str, created: int, *, created_set: bool = True) -> Summary:
        return Summary(id, "", [f"r:{id}"], [], created, 1, {}, created_set=created_set)

    rows = [summary("a", 0, created_set=False), summary("b", 0), summary("c", 100)]
    named = {r.id: r for r in rows}
    got = filter_images(rows, ImageFilters(before=("c",)), all_images=False, image_named=named.__getitem__)
    assert [r.id for r in got] == ["b"]  # created at the epoch is a time; no time is not
    got = filter_images(rows, ImageFilters(until=("50",)), all_images=False, image_named=named.__getitem__)
    assert [r.id for r in got] == ["b"]
    # an image named by before/since that has no time leaves the filter unset
    got = filter_images(rows, ImageFilters(since=("a",)), all_images=False, image_named=named.__getitem__)
    assert [r.id for r in got] == ["c", "a", "b"]
