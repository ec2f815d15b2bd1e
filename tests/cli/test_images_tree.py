"""``images --tree`` (docker v28's tree view), checked against facts ocitool does not compute:
the digests and sizes skopeo recorded for the fixtures, layer contents read with tarfile, and
the Size docker 20.10 reported after loading the docker archive.

(The docker daemon here is 20.10, whose classic store has no tree view, so there is no live
oracle: docker v28 shows it only with the containerd image store.)
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile

import pytest

from ocitool.cli import main
from tests import peers

pytestmark = pytest.mark.oracle("skopeo", "docker", recorded=True)


def go_human_size(n: float) -> str:
    """docker's ``units.HumanSizeWithPrecision(n, 3)``: decimal units, Go's %.3g."""
    units = ["B", "kB", "MB", "GB", "TB", "PB"]
    i = 0
    while n >= 1000 and i < len(units) - 1:
        n /= 1000
        i += 1
    return f"{n:.3g}{units[i]}"


def tree(*sources: str) -> list[list[str]]:
    out, err = io.StringIO(), io.StringIO()
    assert main(["images", "--tree", *sources], stdout=out, stderr=err) == 0, err.getvalue()
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["IMAGE", "ID", "DISK", "USAGE", "CONTENT", "SIZE"]
    # columns: the name (with its tree prefix) up to the ID column, then the other three
    start = lines[0].index("ID")
    return [[line[:start].rstrip(), *line[start:].split()] for line in lines[1:]]


def _unpacked(blob: bytes) -> int:
    """Regular file bytes of a gzip layer (these layers hold regular files and directories)."""
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob))) as tar:
        assert all(m.isfile() or m.isdir() for m in tar.getmembers())
        return sum(m.size for m in tar.getmembers() if m.isfile())


def test_tree_of_a_multi_platform_index() -> None:
    facts = peers.expected("oci/multiplatform")
    layout = peers.fixture("oci/multiplatform")
    rows = tree(str(layout))
    children = []
    for plat in facts["platforms"]:
        manifest = json.loads(plat["instance_manifest_blob"]["raw"])
        content = plat["descriptor"]["size"] + plat["skopeo_inspect_config_raw"]["size"]
        content += sum(layer["size"] for layer in manifest["layers"])
        blobs = layout / "blobs" / "sha256"
        usage = sum(_unpacked((blobs / layer["digest"][7:]).read_bytes()) for layer in manifest["layers"])
        p = plat["platform"]
        name = "/".join(x for x in (p["os"], p["architecture"], p.get("variant")) if x)
        children.append((name, plat["descriptor"]["digest"][7:19], usage, content))
    index_digest = facts["index"]["skopeo_inspect_raw"]["digest"]
    want = [
        [
            "multi",
            index_digest[7:19],
            go_human_size(sum(c[2] for c in children)),
            go_human_size(sum(c[3] for c in children)),
        ]
    ]
    for i, (name, short, usage, content) in enumerate(children):
        branch = "└─ " if i == len(children) - 1 else "├─ "
        want.append([branch + name, short, go_human_size(usage), go_human_size(content)])
    assert rows == want
    # the three platforms' layers: "shared by every platform\n" and the platform string
    assert [c[2] for c in children] == [
        len("shared by every platform\n") + len(f"{name}\n") for name, *_ in children
    ]


def test_tree_of_a_docker_archive_names_each_tag_once_with_its_platform() -> None:
    rel = "docker/two-images.tar"
    facts = peers.expected(rel)
    rows = tree(str(peers.fixture(rel)))
    size_of = {im["id"]: im["docker_image_inspect"][0]["Size"] for im in facts["docker"]["images"]}
    want_names = []
    for im in facts["images"]:
        for tag in im["manifest_json_entry"]["RepoTags"]:
            want_names.append((tag, go_human_size(size_of[im["image_id"]])))
    names = [(r[0], r[2]) for r in rows if not r[0].startswith(("├─", "└─"))]
    assert sorted(names) == sorted(want_names)
    for top, child in zip(rows[::2], rows[1::2], strict=True):
        assert child[0] == "└─ linux/amd64"
        assert child[1:] == top[1:]  # one platform: the image's own figures
