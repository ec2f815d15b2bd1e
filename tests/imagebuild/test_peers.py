"""Built images as the peers see them: umoci unpacks them, skopeo copies them, Docker 20.10
loads them and ``docker inspect`` shows the config the builder set."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from peers import DockerDaemon, fixture, skopeo, skopeo_inspect, skopeo_raw, umoci

import ocitool
from ocitool import FileSpec, ImageBuilder, IndexBuilder
from ocitool.cli import main


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), stdout=out, stderr=err), out.getvalue(), err.getvalue()


def _app(tmp: Path) -> ImageBuilder:
    (tmp / "tree/bin").mkdir(parents=True)
    (tmp / "tree/bin/app").write_bytes(b"#!/bin/sh\necho hi\n")
    (tmp / "tree/bin/app").chmod(0o755)
    (tmp / "tree/bin/alias").symlink_to("app")
    b = ImageBuilder.from_scratch("linux/amd64")
    b.add_directory(tmp / "tree", prefix="/opt", created_by="COPY tree /opt")
    b.add_files({"etc/motd": b"hello\n", "etc/secret": FileSpec(data=b"s", mode=0o600, uid=1000, gid=1000)})
    b.set_env(["PATH=/opt/bin:/usr/bin", "APP=1"]).set_entrypoint(["/opt/bin/app"]).set_cmd(["--serve"])
    b.set_labels({"org.example.team": "infra"}).set_user("1000:1000").set_workdir("/opt")
    b.set_exposed_ports(["8080", "53/udp"]).set_volumes(["/data"]).set_stop_signal("SIGTERM")
    b.set_healthcheck(["CMD", "/opt/bin/app", "--check"], interval=30_000_000_000, retries=3)
    b.add_history("ENV APP=1")
    return b


@pytest.mark.peers
@pytest.mark.oracle("umoci", "skopeo")
def test_umoci_unpacks_and_skopeo_copies(tmp_path: Path) -> None:
    with _app(tmp_path) as b, b.build() as img:
        ocitool.convert(img, f"oci:{tmp_path / 'layout'}:app")
        ocitool.convert(img, f"oci-archive:{tmp_path / 'app.tar'}:app")
        ocitool.convert(img, f"docker-archive:{tmp_path / 'docker.tar'}:app:1")
    umoci("unpack", "--rootless", "--image", f"{tmp_path / 'layout'}:app", str(tmp_path / "bundle"))
    rootfs = tmp_path / "bundle/rootfs"
    assert (rootfs / "opt/bin/app").read_bytes() == b"#!/bin/sh\necho hi\n"
    assert os.stat(rootfs / "opt/bin/app").st_mode & 0o777 == 0o755
    assert os.readlink(rootfs / "opt/bin/alias") == "app"
    assert (rootfs / "etc/motd").read_bytes() == b"hello\n"
    assert os.stat(rootfs / "etc/secret").st_mode & 0o777 == 0o600
    for ref in (f"oci-archive:{tmp_path / 'app.tar'}:app", f"docker-archive:{tmp_path / 'docker.tar'}"):
        target = tmp_path / f"copy-{ref.split(':')[0]}"
        skopeo("copy", ref, f"oci:{target}:x")
        info = skopeo_inspect(f"oci:{target}:x")
        assert info["Env"] == ["PATH=/opt/bin:/usr/bin", "APP=1"]
        assert info["Labels"] == {"org.example.team": "infra"} and len(info["Layers"]) == 2


@pytest.mark.peers
@pytest.mark.oracle("docker")
def test_docker_loads_and_inspect_shows_the_config(tmp_path: Path, docker: DockerDaemon) -> None:
    with _app(tmp_path) as b, b.build() as img:
        ocitool.convert(img, f"docker-archive:{tmp_path / 'app.tar'}:ocitool-built:1")
        image_id = str(img.image.id)
    with docker.loaded(tmp_path / "app.tar"):
        info = docker.inspect("ocitool-built:1")
        assert info["Id"] == image_id
        cfg = info["Config"]
        assert cfg["Env"] == ["PATH=/opt/bin:/usr/bin", "APP=1"]
        assert cfg["Entrypoint"] == ["/opt/bin/app"] and cfg["Cmd"] == ["--serve"]
        assert cfg["User"] == "1000:1000" and cfg["WorkingDir"] == "/opt"
        assert cfg["ExposedPorts"] == {"53/udp": {}, "8080/tcp": {}}
        assert cfg["Volumes"] == {"/data": {}} and cfg["StopSignal"] == "SIGTERM"
        assert cfg["Healthcheck"] == {
            "Test": ["CMD", "/opt/bin/app", "--check"],
            "Interval": 30_000_000_000,
            "Retries": 3,
        }
        assert cfg["Labels"] == {"org.example.team": "infra"}
        assert info["Created"] == "1970-01-01T00:00:00Z" and info["Architecture"] == "amd64"
        assert len(info["RootFS"]["Layers"]) == 2
        history = docker.history("ocitool-built:1")
        assert [h["CreatedBy"] for h in history][:3] == ["ENV APP=1", "ocitool add-files", "COPY tree /opt"]


@pytest.mark.peers
@pytest.mark.oracle("skopeo")
def test_skopeo_copies_a_built_index(tmp_path: Path) -> None:
    index = IndexBuilder(annotations={"org.example.set": "1"})
    for plat in ("linux/amd64", "linux/arm64/v8"):
        with ImageBuilder.from_scratch(plat) as b:
            index.add(b.add_files({"p": plat.encode()}).build())
    with index.build() as built:
        ocitool.convert(built, f"oci-archive:{tmp_path / 'multi.tar'}:m", all_platforms=True)
    skopeo("copy", "--all", f"oci-archive:{tmp_path / 'multi.tar'}:m", f"oci:{tmp_path / 'copy'}:m")
    arm = skopeo_inspect(f"oci:{tmp_path / 'copy'}:m", overrides=("--override-arch", "arm64"))
    assert arm["Architecture"] == "arm64" and len(arm["Layers"]) == 1
    index_doc = json.loads(skopeo_raw(f"oci:{tmp_path / 'copy'}:m"))
    assert [m["platform"] for m in index_doc["manifests"]] == [
        {"architecture": "amd64", "os": "linux"},
        {"architecture": "arm64", "os": "linux", "variant": "v8"},
    ]
    assert index_doc["annotations"] == {"org.example.set": "1"}


@pytest.mark.peers
@pytest.mark.oracle("docker")
def test_docker_loads_an_append_and_a_flatten_of_a_docker_saved_base(
    tmp_path: Path, docker: DockerDaemon
) -> None:
    base = f"docker-archive:{fixture('docker/single.tar')}"
    (tmp_path / "add/etc").mkdir(parents=True)
    (tmp_path / "add/etc/added").write_bytes(b"added\n")
    appended = tmp_path / "appended.tar"
    code, _, err = _cli(
        "append", base, f"docker-archive:{appended}:ocitool-appended:1", str(tmp_path / "add")
    )
    assert code == 0, err
    flat = tmp_path / "flat.tar"
    code, _, err = _cli("flatten", f"docker-archive:{appended}", f"docker-archive:{flat}:ocitool-flat:1")
    assert code == 0, err
    with docker.loaded(fixture("docker/single.tar")) as base_load:
        base_info = docker.inspect(base_load.image_ids[0])
    with docker.loaded(appended):
        info = docker.inspect("ocitool-appended:1")
        assert info["RootFS"]["Layers"] == [*base_info["RootFS"]["Layers"], info["RootFS"]["Layers"][-1]]
        assert info["Config"]["Env"] == base_info["Config"]["Env"]
        history = docker.history("ocitool-appended:1")
        assert history[0]["CreatedBy"] == f"ocitool append {tmp_path / 'add'}"
    with docker.loaded(flat):
        info = docker.inspect("ocitool-flat:1")
        assert len(info["RootFS"]["Layers"]) == 1 and info["Config"]["Env"] == base_info["Config"]["Env"]
        (top,) = docker.history("ocitool-flat:1")[:1]
        assert top["CreatedBy"].startswith("ocitool flatten sha256:")
