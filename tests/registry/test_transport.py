"""``docker://`` as a transport: read commands, convert/copy to and from a real registry
(distribution 2.8), with skopeo as the oracle and the fault proxy counting requests."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from ocitool.cli import main
from ocitool.errors import DigestMismatchError, RegistryError
from ocitool.formats.detect import open_source
from ocitool.formats.registry.read import RegistryOptions, RegistrySource, open_registry_source
from ocitool.model import mediatypes as mt
from ocitool.model.platform import Platform
from ocitool.ops.convert import convert
from tests import peers
from tests.peers import FIXTURES, skopeo
from tests.registry import content, servers
from tests.registry.servers import Fault

pytestmark = pytest.mark.peers

MULTI = FIXTURES / "oci" / "multiplatform"
SINGLE_TAR = FIXTURES / "docker" / "single.tar"


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def _top(layout: Path) -> dict[str, object]:
    top: dict[str, object] = json.loads((layout / "index.json").read_bytes())["manifests"][0]
    return top


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCITOOL_CACHE_DIR", str(tmp_path / "cache"))


@pytest.mark.oracle("skopeo")
def test_a_layout_pushed_by_copy_all_keeps_its_index_digest_and_skopeo_pulls_it(
    registry: servers.Registry, tmp_path: Path
) -> None:
    ref = f"docker://{registry.host}/transport/multi:v1"
    code, _, err = cli("copy", "--all", f"oci:{MULTI}", ref)
    assert code == 0, err
    with open_source(ref) as src:  # the tag resolves to the layout's own index, byte for byte
        assert isinstance(src, RegistrySource)
        assert str(src.descriptor.digest) == _top(MULTI)["digest"]
        assert src.descriptor.media_type == mt.OCI_INDEX
    skopeo("copy", "--all", "--src-tls-verify=false", ref, f"oci:{tmp_path / 'back'}:x")
    assert _top(tmp_path / "back")["digest"] == _top(MULTI)["digest"]
    # a second push finds every blob present and uploads nothing
    code, _, err = cli("copy", "--all", f"oci:{MULTI}", ref)
    assert code == 0, err


@pytest.mark.oracle("skopeo")
def test_an_image_pushed_by_skopeo_is_pulled_into_a_layout_verify_accepts(
    registry: servers.Registry, tmp_path: Path
) -> None:
    ref = f"docker://{registry.host}/transport/single:v1"
    skopeo("copy", "--dest-tls-verify=false", f"docker-archive:{SINGLE_TAR}", ref)
    out = tmp_path / "pulled"
    code, _, err = cli("convert", ref, f"oci:{out}")
    assert code == 0, err
    code, text, err = cli("verify", f"oci:{out}")
    assert code == 0 and text.endswith("OK\n"), err
    # the same image: inspect of the registry equals inspect of the pulled copy
    code, remote, err = cli("inspect", ref)
    assert code == 0, err
    code, local, err = cli("inspect", f"oci:{out}")
    assert code == 0, err
    r, loc = json.loads(remote)[0], json.loads(local)[0]
    for key in ("Id", "Config", "RootFS", "Size", "Architecture", "Os", "Created", "History"):
        assert r.get(key) == loc.get(key), key
    assert r["RepoTags"] == [f"{registry.host}/transport/single:v1"]
    # skopeo reads the same config (image ID) from the registry
    assert r["Id"] == "sha256:" + _sha(
        skopeo("inspect", "--raw", "--config", "--tls-verify=false", ref).stdout
    )


def _sha(data: bytes) -> str:
    return content.sha256(data).removeprefix("sha256:")


def test_inspect_id_fetches_no_layer_and_size_streams_each_layer_once(
    registry: servers.Registry, fault_proxy: servers.FaultProxy
) -> None:
    convert(f"oci:{MULTI}", f"docker://{registry.host}/transport/counted:v1", all_platforms=True)
    ref = f"docker://{fault_proxy.host}/transport/counted:v1"
    code, text, err = cli("inspect", "--platform", "linux/amd64", "--format", "{{.Id}}", ref)
    assert code == 0, err
    blob_gets = fault_proxy.outcomes("GET", r"/blobs/sha256:")
    assert len(blob_gets) == 1, fault_proxy.log  # the config only
    with open_source(f"docker://{registry.host}/transport/counted:v1") as src:
        ids = {str(img.id) for img in src.entries[0].images() if str(img.platform) == "linux/amd64"}
    assert text.strip() in ids
    fault_proxy.log.clear()
    code, text, err = cli("images", ref)
    assert code == 0, err
    first = len(fault_proxy.outcomes("GET", r"/blobs/sha256:"))
    fault_proxy.log.clear()
    code, again, err = cli("images", ref)
    assert code == 0 and again == text, err
    second = len(fault_proxy.outcomes("GET", r"/blobs/sha256:"))
    assert second < first  # compressed layers' sizes come from the cache by diff ID


def test_an_image_argument_beside_a_registry_source_is_refused(registry: servers.Registry) -> None:
    code, _, err = cli("inspect", f"docker://{registry.host}/transport/any:v1", "alpine")
    assert code == 125
    assert "no IMAGE argument" in err


def test_a_partial_index_is_refused_unless_platform_picks_a_present_image(
    registry: servers.Registry, tmp_path: Path
) -> None:
    layout = tmp_path / "partial"
    shutil.copytree(MULTI, layout)
    index = json.loads((layout / "blobs" / "sha256" / str(_top(MULTI)["digest"]).split(":")[1]).read_bytes())
    gone = index["manifests"][0]
    (layout / "blobs" / "sha256" / gone["digest"].split(":")[1]).unlink()
    ref = f"docker://{registry.host}/transport/partial:v1"
    code, _, err = cli("copy", "--all", f"oci:{layout}", ref)
    assert code == 1
    assert "partial index" in err and gone["digest"] in err
    kept = index["manifests"][1]["platform"]
    plat = f"{kept['os']}/{kept['architecture']}" + (f"/{kept['variant']}" if kept.get("variant") else "")
    code, _, err = cli("copy", "--platform", plat, f"oci:{layout}", ref)
    assert code == 0, err
    with open_source(ref) as src:
        assert str(src.entries[0].descriptor.digest) == index["manifests"][1]["digest"]


def test_a_copy_within_one_registry_mounts_the_blobs(
    registry: servers.Registry, fault_proxy: servers.FaultProxy
) -> None:
    convert(f"docker-archive:{SINGLE_TAR}", f"docker://{registry.host}/transport/mount-a:v1")
    code, _, err = cli(
        "copy",
        f"docker://{fault_proxy.host}/transport/mount-a:v1",
        f"docker://{fault_proxy.host}/transport/mount-b:v1",
    )
    assert code == 0, err
    assert fault_proxy.outcomes("POST", r"/transport/mount-b/blobs/uploads/")
    assert not fault_proxy.outcomes("PATCH", r"/transport/mount-b/blobs/uploads/")
    assert not fault_proxy.outcomes("PUT", r"/transport/mount-b/blobs/uploads/")
    # the config is read (for the diff IDs); of layers only their first bytes (206, to sniff)
    assert fault_proxy.outcomes("GET", r"/transport/mount-a/blobs/").count("200") == 1
    with (
        open_source(f"docker://{registry.host}/transport/mount-b:v1") as b,
        open_source(f"docker://{registry.host}/transport/mount-a:v1") as a,
    ):
        assert b.entries[0].descriptor == a.entries[0].descriptor


def test_a_docker_manifest_is_pushed_as_its_exact_bytes(registry: servers.Registry) -> None:
    ref_a = f"docker://{registry.host}/transport/exact-a:v1"
    convert(f"docker-archive:{SINGLE_TAR}", ref_a)
    with open_source(ref_a) as a:
        raw = a.entries[0].images()[0].raw_manifest
        media_type = a.entries[0].descriptor.media_type
    ref_b = f"docker://{registry.host}/transport/exact-b:v1"
    convert(ref_a, ref_b)
    with open_source(ref_b) as b:
        assert b.entries[0].images()[0].raw_manifest == raw
        assert b.entries[0].descriptor.media_type == media_type


def test_a_corrupt_blob_leaves_nothing_in_the_destination_layout(
    registry: servers.Registry, fault_proxy: servers.FaultProxy, tmp_path: Path
) -> None:
    convert(f"oci:{MULTI}", f"docker://{registry.host}/transport/corrupt:v1", platform=_amd64())
    fault_proxy.add(Fault("GET", r"/blobs/sha256:", "corrupt", times=100))
    out = tmp_path / "out"
    with pytest.raises(DigestMismatchError):
        convert(f"docker://{fault_proxy.host}/transport/corrupt:v1", f"oci:{out}")
    assert not out.exists()


def test_503_and_a_cut_blob_are_retried(
    registry: servers.Registry, fault_proxy: servers.FaultProxy, tmp_path: Path
) -> None:
    convert(f"oci:{MULTI}", f"docker://{registry.host}/transport/retried:v1", platform=_amd64())
    fault_proxy.add(
        Fault("GET", r"/manifests/", "status", status=503, retry_after="0"),
        Fault("GET", r"/blobs/sha256:", "cut"),
    )
    out = tmp_path / "out"
    convert(f"docker://{fault_proxy.host}/transport/retried:v1", f"oci:{out}")
    code, text, err = cli("verify", f"oci:{out}")
    assert code == 0 and text.endswith("OK\n"), err
    assert "fault 503" in fault_proxy.outcomes("GET", r"/manifests/")
    assert "cut" in fault_proxy.outcomes("GET", r"/blobs/sha256:")


def test_an_unreachable_registry_is_reported_without_the_password(tmp_path: Path) -> None:
    port = servers.free_port()
    code, _, err = cli("inspect", "--creds", "user:s3cr3t-pw", f"docker://127.0.0.1:{port}/x/y:v1")
    assert code == 1
    assert "s3cr3t-pw" not in err and f"127.0.0.1:{port}" in err
    with pytest.raises(RegistryError):
        open_registry_source(f"docker://127.0.0.1:{port}/x/y:v1", RegistryOptions(creds="user:s3cr3t-pw"))


def test_referrers_of_a_registry_image_through_the_fallback_tag(registry: servers.Registry) -> None:
    ref = f"docker://{registry.host}/transport/referred:v1"
    convert(f"docker-archive:{SINGLE_TAR}", ref)
    with open_source(ref) as src:
        assert isinstance(src, RegistrySource)
        target = src.descriptor
        config = content.Blob(b"{}", "application/vnd.example.sbom")
        layer = content.Blob(b"an sbom")
        for blob in (config, layer):
            src.client.push_blob("transport/referred", blob.digest, len(blob.data), blob.data)
        raw = content.manifest(
            config,
            [layer],
            subject=(target.media_type, str(target.digest), target.size),
            artifact_type="application/vnd.example.sbom",
            annotations={"org.example": "yes"},
        )
        src.client.put_manifest("transport/referred", content.sha256(raw), raw, mt.OCI_MANIFEST)
    code, text, err = cli("referrers", ref)
    assert code == 0, err
    lines = text.splitlines()
    assert lines[0].split() == ["DIGEST", "ARTIFACT", "TYPE", "SIZE", "ANNOTATIONS"]
    assert content.sha256(raw) in lines[1] and "application/vnd.example.sbom" in lines[1]
    assert "org.example=yes" in lines[1]
    code, text, err = cli("referrers", "--format", "json", ref)
    assert code == 0, err
    assert [d["digest"] for d in json.loads(text)] == [content.sha256(raw)]


def test_referrers_of_a_layout_image(tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    shutil.copytree(FIXTURES / "oci" / "gzip", layout)
    index = json.loads((layout / "index.json").read_bytes())
    target = index["manifests"][0]
    config = content.Blob(b"{}", "application/vnd.example.sig")
    raw = content.manifest(
        config,
        [],
        subject=(target["mediaType"], target["digest"], target["size"]),
        artifact_type="application/vnd.example.sig",
    )
    for data in (config.data, raw):
        (layout / "blobs" / "sha256" / content.sha256(data).split(":")[1]).write_bytes(data)
    index["manifests"].append({"mediaType": mt.OCI_MANIFEST, "digest": content.sha256(raw), "size": len(raw)})
    (layout / "index.json").write_text(json.dumps(index))
    code, text, err = cli("referrers", f"oci:{layout}", "@0")
    assert code == 0, err
    assert content.sha256(raw) in text and "application/vnd.example.sig" in text
    code, text, err = cli("referrers", "--format", "json", f"oci:{layout}", "@1")
    assert code == 0 and json.loads(text) == [], err


def _amd64() -> Platform:
    return Platform.parse("linux/amd64")


@pytest.mark.oracle("docker")
def test_the_docker_daemon_pulls_what_ocitool_pushed(
    registry: servers.Registry, docker: peers.DockerDaemon
) -> None:
    # docker treats 127.0.0.0/8 registries as insecure by default: plain http, no flag needed
    name = f"{registry.host}/transport/daemon:v1"
    convert(f"docker-archive:{SINGLE_TAR}", f"docker://{name}")
    with open_source(f"docker://{name}") as src:
        image_id = str(src.entries[0].images()[0].id)
        digest = str(src.entries[0].descriptor.digest)
    docker.run("pull", name)
    try:
        theirs = json.loads(docker.run("image", "inspect", name).stdout)[0]
        assert theirs["Id"] == image_id
        assert f"{registry.host}/transport/daemon@{digest}" in theirs["RepoDigests"]
    finally:
        docker.run("rmi", "-f", name, check=False)


def test_convert_to_a_registry_names_the_pushed_reference_and_takes_one_image(
    registry: servers.Registry,
) -> None:
    ref = f"docker://{registry.host}/transport/named:v3"
    code, out, err = cli("convert", f"docker-archive:{SINGLE_TAR}", ref)
    assert code == 0, err
    digest, name = out.split()
    assert name == f"{registry.host}/transport/named:v3"
    with open_source(ref) as src:
        assert str(src.entries[0].descriptor.digest) == digest
    code, _, err = cli("convert", f"docker-archive:{FIXTURES / 'docker' / 'two-images.tar'}", ref)
    assert code == 1 and "names one image; the source selects 2" in err
