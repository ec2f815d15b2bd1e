"""Store mode without ``--root``: ``$OCITOOL_ROOT``, else the user data directory; and ``save``
in each format, read back without ocitool (tests/oracles.py) and by the real tools."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ocitool.cli import main
from tests import oracles, peers

TWO = str(peers.FIXTURES / "docker" / "two-images.tar")
IMPORTED = str(peers.FIXTURES / "docker" / "imported.tar")


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    rc = main(list(argv), stdout=out, stderr=err)
    return rc, out.getvalue(), err.getvalue()


def recorded(rel: str) -> dict[str, list[str]]:
    """Image ID -> RepoTags of a fixture, as recorded from its manifest.json and skopeo."""
    return {
        im["image_id"]: sorted(im["manifest_json_entry"]["RepoTags"] or [])
        for im in peers.expected(rel)["images"]
    }


@pytest.mark.oracle("skopeo", recorded=True)
def test_store_commands_use_ocitool_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "from-env"
    monkeypatch.setenv("OCITOOL_ROOT", str(root))
    rc, out, err = cli("load", "-i", TWO)
    assert rc == 0, err
    assert (root / "image" / "overlay2" / "repositories.json").is_file()
    repos = json.loads((root / "image" / "overlay2" / "repositories.json").read_text())
    tags = sorted(t for names in repos["Repositories"].values() for t in names)
    assert tags == sorted(t for ts in recorded("docker/two-images.tar").values() for t in ts)  # docker's form
    # the same store, named explicitly
    rc, out, _ = cli("--root", str(root), "images", "--format", "{{.Repository}}:{{.Tag}}")
    assert rc == 0 and sorted(out.split()) == sorted(
        t for ts in recorded("docker/two-images.tar").values() for t in ts
    )


def test_without_ocitool_root_the_store_is_in_the_user_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OCITOOL_ROOT")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    env = {k: v for k, v in os.environ.items() if k != "OCITOOL_ROOT"}
    p = subprocess.run(
        [sys.executable, "-m", "ocitool", "load", "-i", IMPORTED], capture_output=True, text=True, env=env
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout == "Loaded image: ocitool-fixture/imported:1\n"
    assert (tmp_path / "data" / "ocitool" / "root" / "image" / "overlay2" / "repositories.json").is_file()


@pytest.mark.oracle("docker", recorded=True)
@pytest.mark.parametrize("fmt", ["docker-archive", "oci-archive", "oci"])
def test_save_in_each_format_holds_the_images_and_their_layers(fmt: str, tmp_path: Path) -> None:
    rc, _, err = cli("load", "-i", TWO)
    assert rc == 0, err
    out = tmp_path / ("saved" if fmt == "oci" else "saved.tar")
    rc, stdout, err = cli(
        "save", "--format", fmt, "-o", str(out), "ocitool-fixture/base:1.0", "ocitool-fixture/child"
    )
    assert rc == 0 and stdout == "", err
    # read back without ocitool: every layer's bytes match its diff ID, the configs are the images
    layers = oracles.check_layers(out, tmp_path / "check")
    rootfs = {
        im["id"]: im["docker_image_inspect"][0]["RootFS"]["Layers"]
        for im in peers.expected("docker/two-images.tar")["docker"]["images"]
    }
    assert layers == rootfs  # the layers docker 20.10 listed after loading the fixture
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([out.name, "check"])


@pytest.mark.oracle("docker")
def test_docker_loads_what_the_cli_saves(docker: peers.DockerDaemon, tmp_path: Path) -> None:
    rc, _, err = cli("load", "-i", TWO)
    assert rc == 0, err
    out = tmp_path / "saved.tar"
    rc, _, err = cli("save", "-o", str(out), "ocitool-fixture/child:extra", "ocitool-fixture/base:1.0")
    assert rc == 0, err
    want = recorded("docker/two-images.tar")
    for image_id in want:  # docker reports what it loads only when the images are new to it
        docker.rmi(image_id)
    with docker.loaded(out) as res:
        assert res.exit_code == 0, res.stderr
        assert set(res.image_ids) == set(want)
        for image_id in want:
            assert docker.inspect(image_id)["Id"] == image_id
