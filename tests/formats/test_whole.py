"""Every archive read whole (issue 10, section 3).

- containerd exports (``ctr export``, fixtures/containerd/, made by make_fixtures.sh's ``whole``
  stage): index.json is the truth for platforms, manifest.json gives RepoTags; a sparse export
  lists every platform, available only where its blobs are;
- skopeo's ``dir:`` copy of a list (fixtures/dir/list): each platform's ``<hex>.manifest.json``;
- one broken image hides no other; artifacts are noted and skipped; several images and no IMAGE
  is refused with the choices; ``SOURCE [IMAGE] TARGET`` and ``x.tar:name`` everywhere.
"""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from pathlib import Path

import peers
import pytest
from peers import fixture, skopeo

import ocitool
from ocitool.cli import main
from ocitool.errors import ArtifactError, ImageReadError, ImageRequiredError
from ocitool.formats.detect import SourceSpec, parse_source

HYBRID = fixture("containerd/hybrid-5.tar")
SPARSE = fixture("containerd/sparse-amd64.tar")
DIR_LIST = fixture("dir/list")
TWO = fixture("docker/two-images.tar")
PLATFORMS = ["linux/amd64", "linux/arm64/v8", "linux/arm/v7", "linux/ppc64le", "linux/s390x"]


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def _platform(p: dict[str, str]) -> str:
    return "/".join(p[k] for k in ("os", "architecture", "variant") if p.get(k))


def _member(archive: Path, name: str) -> bytes:
    with tarfile.open(archive) as tar:
        fh = tar.extractfile(name)
        assert fh is not None
        return fh.read()


def _list_of(archive: Path) -> dict[str, object]:
    """The manifest list the archive's index.json names, as ctr wrote it."""
    index = json.loads(_member(archive, "index.json"))
    (top,) = index["manifests"]
    digest: str = top["digest"]
    listed: dict[str, object] = json.loads(_member(archive, f"blobs/sha256/{digest[7:]}"))
    return listed


# -- containerd exports ----------------------------------------------------------------------


def test_a_containerd_export_shows_every_platform_of_its_index() -> None:
    listed = _list_of(HYBRID)
    wanted = [(m["digest"], _platform(m["platform"])) for m in listed["manifests"]]  # type: ignore[index]
    # manifest.json, the legacy view, names one image only: the host's.
    assert len(json.loads(_member(HYBRID, "manifest.json"))) == 1
    code, out, err = run("manifests", str(HYBRID), "--format", "{{.ID}} {{.Kind}} {{.Available}}")
    assert code == 0, err
    assert out.splitlines() == [f"{d} image true" for d, _ in wanted]
    code, out, err = run(
        "inspect", "--all-platforms", str(HYBRID), "--format", "{{json .RepoTags}} {{.Os}}/{{.Architecture}}"
    )
    assert code == 0, err
    assert len(out.splitlines()) == 5
    assert all(line.startswith('["ocitool-fixture/multi:5"] linux/') for line in out.splitlines())
    code, out, err = run("images", "--tree", str(HYBRID))
    assert code == 0, err
    rows = out.splitlines()
    assert rows[1].split()[0] == "ocitool-fixture/multi:5"
    assert [r.split()[1] for r in rows[2:]] == [p for _, p in wanted] == PLATFORMS
    # The legacy view still gives the RepoTags of the image it names.
    code, out, err = run("images", str(HYBRID), "--format", "{{.Repository}}:{{.Tag}}")
    assert (code, out) == (0, "ocitool-fixture/multi:5\n"), err


def test_a_sparse_containerd_export_lists_every_entry_available_only_where_present() -> None:
    listed = _list_of(SPARSE)
    with tarfile.open(SPARSE) as tar:
        present = {n.rsplit("/", 1)[1] for n in tar.getnames() if n.startswith("blobs/sha256/")}
    summaries = ocitool.manifests(str(SPARSE))
    assert [str(s.descriptor.digest) for s in summaries] == [
        m["digest"]
        for m in listed["manifests"]  # type: ignore[attr-defined]
    ]
    for summary in summaries:
        assert summary.available == (summary.descriptor.digest.encoded in present)
    assert [_platform(s.descriptor.platform.to_json()) for s in summaries if s.available] == ["linux/amd64"]  # type: ignore[union-attr]


# -- skopeo dir: of a list ------------------------------------------------------------------


@pytest.mark.oracle("skopeo")
def test_a_skopeo_dir_copy_of_a_list_reads_every_platform() -> None:
    raw = skopeo("inspect", "--raw", f"dir:{DIR_LIST}").stdout
    listed = json.loads(raw)
    code, out, err = run("manifests", str(DIR_LIST), "--format", "{{.ID}} {{.Available}}")
    assert code == 0, err
    assert out.splitlines() == [f"{m['digest']} true" for m in listed["manifests"]]
    code, out, err = run("images", "--tree", str(DIR_LIST))
    assert code == 0, err
    assert [r.split()[1] for r in out.splitlines()[2:]] == PLATFORMS
    # Each platform's config, as skopeo reads it for that platform.
    arm = skopeo("inspect", "--config", "--raw", "--override-arch", "arm64", f"dir:{DIR_LIST}").stdout
    assert ocitool.raw_config(str(DIR_LIST), platform=ocitool.Platform.parse("linux/arm64")) == arm


# -- one broken image hides no other -----------------------------------------------------------


@pytest.fixture
def broken_layout(tmp_path: Path) -> tuple[Path, str]:
    """two-images.tar as an OCI layout whose child image (two tags) lost its top layer."""
    layout = tmp_path / "layout"
    ocitool.convert(str(TWO), f"oci:{layout}")
    index = json.loads((layout / "index.json").read_text())
    child = next(
        m for m in index["manifests"] if m["annotations"]["io.containerd.image.name"].endswith("child:latest")
    )
    manifest = json.loads((layout / "blobs/sha256" / child["digest"][7:]).read_text())
    (layout / "blobs/sha256" / manifest["layers"][-1]["digest"][7:]).unlink()
    return layout, manifest["config"]["digest"]


def test_images_lists_the_readable_images_and_names_the_broken_one(broken_layout: tuple[Path, str]) -> None:
    layout, child_id = broken_layout
    # Sizes read the layers: the child's cannot be measured.
    code, out, err = run("images", str(layout), "--format", "{{.Repository}}:{{.Tag}} {{.Size}}")
    assert code == 1
    assert out.split() == ["ocitool-fixture/base:1.0", "5.54kB"]
    assert "ocitool-fixture/child:latest" in err and child_id in err and "not found" in err
    code, out, err = run("inspect", "--all-platforms", str(layout), "--format", "{{.Id}} {{.Size}}")
    assert code == 1 and len(out.splitlines()) == 1 and child_id in err
    problems: list[ocitool.OcitoolError] = []
    rows = ocitool.images(str(layout), errors=problems)
    assert [r.repo_tags for r in rows] == [["ocitool-fixture/base:1.0"]]
    assert problems and all(isinstance(p, ImageReadError) for p in problems)
    assert {p.image_id for p in problems if isinstance(p, ImageReadError)} == {child_id}
    with pytest.raises(ocitool.BlobNotFoundError):  # without ``errors``, the first failure raises
        ocitool.images(str(layout))


def test_manifests_and_the_tree_list_the_readable_entries(broken_layout: tuple[Path, str]) -> None:
    layout, child_id = broken_layout
    (layout / "blobs/sha256" / child_id[7:]).write_bytes(b'{"broken": true}')
    code, out, err = run("manifests", str(layout), "--format", "{{.ID}}")
    assert code == 1 and len(out.splitlines()) == 1
    assert "ocitool-fixture/child:latest" in err and "ocitool-fixture/child:extra" in err
    code, out, err = run("images", "--tree", str(layout))
    assert code == 1 and "ocitool-fixture/base:1.0" in out and "child" not in out and "child" in err


# -- artifacts --------------------------------------------------------------------------------


@pytest.mark.real
def test_artifacts_are_noted_and_skipped_by_images_and_history() -> None:
    repo = peers.real_fixture("regclient-testrepo")
    code, out, err = run("images", str(repo))
    assert code == 0, err
    assert len(out.splitlines()) > 1
    notes = err.splitlines()
    assert notes and all(line.startswith("Note: skipping ") for line in notes)
    assert any("a-docker" in line and "{} config" in line for line in notes)
    code, out, err = run("history", str(repo), "a-docker")
    assert (code, out) == (0, "") and err.startswith("Note: skipping a-docker")
    problems: list[ocitool.OcitoolError] = []
    ocitool.images(str(repo), errors=problems)
    assert problems and all(isinstance(p, ArtifactError) for p in problems)
    code, out, err = run("manifests", str(repo), "a-docker", "--format", "{{.Kind}}")
    assert (code, out) == (0, "unknown\n"), err
    code, out, err = run("images", "--tree", str(repo))
    assert code == 0 and any(line.split()[0] == "a-docker" for line in out.splitlines()), err


# -- several images, no IMAGE -------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["history"],
        ["config"],
        ["manifest"],
        ["analyze"],
        ["unpack", "{tmp}/root"],
        ["export", "{tmp}/out.tar"],
        ["diff", str(TWO)],
    ],
)
def test_several_images_and_no_image_is_refused_with_the_choices(argv: list[str], tmp_path: Path) -> None:
    args = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    code, out, err = run(args[0], str(TWO), *args[1:])
    assert code == 1 and out == ""
    assert "name one as IMAGE" in err
    assert "ocitool-fixture/base:1.0" in err and "ocitool-fixture/child:latest" in err
    assert not any(tmp_path.iterdir())


def test_inspect_and_images_keep_showing_all() -> None:
    assert run("inspect", str(TWO), "--format", "{{.Id}}")[1].count("\n") == 2
    assert run("images", str(TWO), "-q")[1].count("\n") == 3
    with pytest.raises(ImageRequiredError) as info:
        ocitool.history(str(TWO))
    assert len(info.value.choices) == 2


# -- one way to choose an image ------------------------------------------------------------------


def test_unpack_and_export_take_image_as_an_argument_a_suffix_or_an_option(tmp_path: Path) -> None:
    base = ocitool.inspect(str(TWO), "ocitool-fixture/base:1.0")[0].id
    for i, argv in enumerate(
        (
            ["unpack", str(TWO), "ocitool-fixture/base:1.0", "{t}"],
            ["unpack", f"{TWO}:ocitool-fixture/base:1.0", "{t}"],
            ["unpack", "--image", "ocitool-fixture/base:1.0", str(TWO), "{t}"],
            ["export", str(TWO), "ocitool-fixture/base:1.0", "{t}"],
            ["export", f"docker-archive:{TWO}:@0", "{t}"],
        )
    ):
        target = str(tmp_path / f"t{i}")
        code, out, err = run(*[a.replace("{t}", target) for a in argv])
        assert code == 0, (argv, err)
        assert out.startswith(f"{base}: ")
    code, _, err = run("unpack", "--image", "@1", str(TWO), "@0", str(tmp_path / "x"))
    assert code == 125 and "IMAGE given twice" in err
    code, _, err = run("export", str(TWO), "@0", str(tmp_path / "x"), "extra")
    assert code == 125


def test_diff_takes_each_image_as_a_suffix() -> None:
    code, out, err = run("diff", f"{TWO}:ocitool-fixture/base:1.0", f"{TWO}:@1")
    assert code == 0, err
    assert out.startswith(f"--- {TWO}:ocitool-fixture/base:1.0\n+++ {TWO}:@1\n")


def test_a_bare_source_splits_at_the_last_colon_only_when_the_path_before_it_exists(tmp_path: Path) -> None:
    tar = tmp_path / "x.tar"
    tar.write_bytes(b"")
    assert parse_source(f"{tar}:name") == SourceSpec("", str(tar), "name")
    assert parse_source(f"{tar}:repo/name:1.0") == SourceSpec("", str(tar), "repo/name:1.0")
    assert parse_source(f"{tmp_path}/nothere.tar:name").image == ""
    colon = tmp_path / "a:b"
    shutil.copy(tar, colon)
    assert parse_source(str(colon)) == SourceSpec("", str(colon))
    assert parse_source(f"{colon}:img") == SourceSpec("", str(colon), "img")
