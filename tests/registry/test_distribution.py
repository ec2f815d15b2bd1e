"""The client against a real registry (Debian's docker-registry, distribution 2.8), with
skopeo as the oracle: exact bytes in and out, digests, mounts, chunked and resumed uploads."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ocitool.errors import DigestMismatchError, RegistryNotFoundError, SizeMismatchError
from ocitool.formats.registry.client import PushOutcome, RegistryClient
from ocitool.model import mediatypes as mt
from ocitool.model.digest import digest_bytes
from tests.peers import FIXTURES, skopeo
from tests.registry import content, servers

pytestmark = pytest.mark.peers

MULTI = FIXTURES / "oci" / "multiplatform"


@pytest.fixture
def client(registry: servers.Registry) -> Iterator[RegistryClient]:
    with RegistryClient(registry.host) as c:
        yield c


def test_plain_http_is_chosen_for_a_loopback_registry(
    client: RegistryClient, registry: servers.Registry
) -> None:
    client.ping()
    assert client.transport.base_url == f"http://{registry.host}"


@pytest.mark.oracle("skopeo")
def test_pushed_index_has_the_layout_digest_and_skopeo_reads_the_exact_bytes(
    client: RegistryClient, registry: servers.Registry, tmp_path: Path
) -> None:
    top = content.push_layout(client, "dist/multi", MULTI, "v1")
    index_desc = json.loads((MULTI / "index.json").read_bytes())["manifests"][0]
    assert content.sha256(top) == index_desc["digest"]
    ref = f"docker://{registry.host}/dist/multi:v1"
    assert _skopeo_raw(ref) == top
    # pulled back by the client: same bytes, media type and digest, by tag and by digest
    got = client.get_manifest("dist/multi", "v1")
    assert (got.raw, got.media_type, str(got.digest)) == (top, mt.OCI_INDEX, index_desc["digest"])
    assert client.get_manifest("dist/multi", index_desc["digest"]).raw == top
    info = client.head_manifest("dist/multi", "v1")
    assert info is not None and (str(info.digest), info.size) == (index_desc["digest"], len(top))
    # every child manifest and blob comes back verified, and skopeo copies the whole index
    for child in json.loads(top)["manifests"]:
        m = client.get_manifest("dist/multi", child["digest"])
        assert _skopeo_raw(f"docker://{registry.host}/dist/multi@{child['digest']}") == m.raw
        doc = json.loads(m.raw)
        for blob in [doc["config"], *doc["layers"]]:
            data = client.read_blob("dist/multi", blob["digest"], blob["size"], limit=1 << 30)
            assert content.sha256(data) == blob["digest"]
    skopeo("copy", "--all", "--src-tls-verify=false", ref, f"oci:{tmp_path / 'copy'}:v1")
    copied = json.loads((tmp_path / "copy" / "index.json").read_bytes())["manifests"][0]
    assert copied["digest"] == index_desc["digest"]


def _skopeo_raw(ref: str) -> bytes:
    out: bytes = skopeo("inspect", "--raw", "--tls-verify=false", ref).stdout
    return out


@pytest.mark.oracle("skopeo")
def test_image_pushed_by_skopeo_is_pulled_with_matching_digests(
    client: RegistryClient, registry: servers.Registry
) -> None:
    ref = f"docker://{registry.host}/dist/skopeo-single:latest"
    skopeo("copy", "--dest-tls-verify=false", f"docker-archive:{FIXTURES / 'docker' / 'single.tar'}", ref)
    inspect = json.loads(skopeo("inspect", "--tls-verify=false", ref).stdout)
    got = client.get_manifest("dist/skopeo-single", "latest")
    assert str(got.digest) == inspect["Digest"]
    assert got.media_type == mt.DOCKER_MANIFEST  # skopeo pushes what the archive has: schema2
    doc = json.loads(got.raw)
    config = client.read_blob("dist/skopeo-single", doc["config"]["digest"], doc["config"]["size"])
    assert config == skopeo("inspect", "--config", "--raw", "--tls-verify=false", ref).stdout
    assert [layer["digest"] for layer in doc["layers"]] == inspect["Layers"]
    for layer in doc["layers"]:
        with client.open_blob("dist/skopeo-single", layer["digest"], layer["size"]) as reader:
            total = 0
            while chunk := reader.read(4096):
                total += len(chunk)
        assert total == layer["size"]
        with client.open_blob("dist/skopeo-single", layer["digest"]) as reader:
            assert content.sha256(reader.read()) == layer["digest"]  # read() is all of it
    with pytest.raises(SizeMismatchError):
        client.get_manifest("dist/skopeo-single", "latest", size=got.size + 1)


@pytest.mark.oracle("skopeo")
def test_docker_manifest_list_goes_up_as_exact_bytes(
    client: RegistryClient, registry: servers.Registry
) -> None:
    ref = f"docker://{registry.host}/dist/list:base"
    skopeo("copy", "--dest-tls-verify=false", f"docker-archive:{FIXTURES / 'docker' / 'single.tar'}", ref)
    child = client.get_manifest("dist/list", "base")
    # hand-formatted bytes, as no JSON re-serialiser writes them
    listing = (
        f'{{\n   "schemaVersion": 2,\n   "mediaType": "{mt.DOCKER_MANIFEST_LIST}",\n   "manifests": [\n'
        f'      {{"mediaType": "{child.media_type}", "size": {child.size}, "digest": "{child.digest}", '
        '"platform": {"architecture": "amd64", "os": "linux"}}\n   ]\n}\n'
    ).encode()
    pushed = client.put_manifest("dist/list", "list", listing, mt.DOCKER_MANIFEST_LIST)
    assert pushed.digest == digest_bytes(listing) and pushed.referrers == ""
    assert _skopeo_raw(f"docker://{registry.host}/dist/list:list") == listing
    got = client.get_manifest("dist/list", "list")
    assert (got.raw, got.media_type) == (listing, mt.DOCKER_MANIFEST_LIST)


def test_mount_across_repositories(client: RegistryClient, registry: servers.Registry) -> None:
    blob = content.Blob(os.urandom(3000))
    assert client.push_blob("dist/mount-src", blob.digest, len(blob.data), blob.data) is PushOutcome.UPLOADED
    assert client.blob_size("dist/mount-dst", blob.digest) is None
    outcome = client.push_blob(
        "dist/mount-dst", blob.digest, len(blob.data), blob.data, mount_from="dist/mount-src"
    )
    assert outcome is PushOutcome.MOUNTED
    assert client.blob_size("dist/mount-dst", blob.digest) == len(blob.data)
    again = client.push_blob(
        "dist/mount-dst", blob.digest, len(blob.data), blob.data, mount_from="dist/mount-src"
    )
    assert again is PushOutcome.EXISTS
    # a source that lacks the blob: the registry starts an upload instead, and the bytes go up
    fresh = content.Blob(os.urandom(1000))
    outcome = client.push_blob(
        "dist/mount-dst", fresh.digest, len(fresh.data), fresh.data, mount_from="dist/nothing"
    )
    assert outcome is PushOutcome.UPLOADED
    assert client.mount_blob("dist/mount-dst2", fresh.digest, "dist/mount-dst") is True
    assert client.mount_blob("dist/mount-dst2", content.sha256(b"absent"), "dist/mount-dst") is False


def test_chunked_upload_of_a_multi_megabyte_blob_from_a_file(
    registry: servers.Registry, tmp_path: Path
) -> None:
    data = os.urandom(9 << 20) + b"tail"
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    digest = content.sha256(data)
    with RegistryClient(registry.host, chunk_size=2 << 20) as client, open(path, "rb") as fh:
        assert client.push_blob("dist/chunked", digest, len(data), fh) is PushOutcome.UPLOADED
        out = io.BytesIO()
        assert client.copy_blob("dist/chunked", digest, len(data), out) == len(data)
    assert out.getvalue() == data
    log = registry.log()
    assert log.count("http.request.method=PATCH") >= 5  # 9 MiB in 2 MiB chunks


def test_a_source_that_is_not_its_digest_is_refused_and_the_upload_cancelled(
    client: RegistryClient, registry: servers.Registry
) -> None:
    data = os.urandom(5000)
    wrong = content.sha256(b"something else")
    with pytest.raises(DigestMismatchError) as info:
        client.push_blob("dist/bad-source", wrong, len(data), data)
    assert info.value.digest == wrong
    with pytest.raises(SizeMismatchError):
        client.push_blob("dist/bad-source", content.sha256(data), len(data) + 1, io.BytesIO(data))
    assert client.blob_size("dist/bad-source", wrong) is None


def test_missing_things_are_not_found_errors(client: RegistryClient) -> None:
    with pytest.raises(RegistryNotFoundError) as info:
        client.get_manifest("dist/nowhere", "latest")
    assert info.value.status == 404 and info.value.code in ("NAME_UNKNOWN", "MANIFEST_UNKNOWN")
    assert "dist/nowhere" in str(info.value)
    assert client.head_manifest("dist/nowhere", "latest") is None
    with pytest.raises(RegistryNotFoundError):
        client.read_blob("dist/nowhere", content.sha256(b"x"))


def test_tags_are_listed_across_pages(client: RegistryClient) -> None:
    config = content.Blob(b"{}", mt.OCI_CONFIG)
    raw = content.push_image(client, "dist/tags", "t0", config, [])
    for i in range(1, 5):
        client.put_manifest("dist/tags", f"t{i}", raw, mt.OCI_MANIFEST)
    # distribution 2.8 ignores n= and answers every tag, unsorted, in one page (the Link
    # pagination is exercised against the referrers double)
    assert sorted(client.list_tags("dist/tags", page_size=2)) == [f"t{i}" for i in range(5)]


def test_concurrent_pushes_share_one_client(client: RegistryClient) -> None:
    from ocitool.formats.registry.client import map_bounded

    blobs = [content.Blob(os.urandom(20000 + i)) for i in range(12)]
    outcomes = map_bounded(lambda b: client.push_blob("dist/parallel", b.digest, len(b.data), b.data), blobs)
    assert outcomes == [PushOutcome.UPLOADED] * 12
    sizes = map_bounded(lambda b: client.blob_size("dist/parallel", b.digest), blobs, limit=4)
    assert sizes == [len(b.data) for b in blobs]
