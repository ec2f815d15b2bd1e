"""Signatures in a registry (distribution 2.8): ``sign`` pushes cosign's ``.sig`` under
``sha256-<hex>.sig`` (appending a layer when one exists) and bundle referrers through the
fallback tag; ``verify-signature`` finds and checks them there. skopeo reads what was pushed."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

import ocitool
from ocitool.cli import main
from ocitool.formats.registry.client import RegistryClient
from ocitool.formats.registry.referrers import fallback_tag
from ocitool.model import mediatypes as mt
from tests.peers import FIXTURES, skopeo
from tests.registry import content, servers
from tests.signing.test_sign_verify import BUNDLE, SIG_ANNOTATION, SIMPLE, cosign_check, dsse_check

pytestmark = pytest.mark.peers


@pytest.fixture
def client(registry: servers.Registry) -> Iterator[RegistryClient]:
    with RegistryClient(registry.host) as c:
        yield c


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    assert "Traceback" not in err.getvalue()
    return code, out.getvalue(), err.getvalue()


@pytest.mark.oracle("skopeo")
def test_sign_push_and_verify_from_the_registry(
    registry: servers.Registry, client: RegistryClient, tmp_path: Path
) -> None:
    repo = "sig/multi"
    top = content.push_layout(client, repo, FIXTURES / "oci" / "multiplatform", "v1")
    digest = content.sha256(top)
    key = ec.generate_private_key(ec.SECP256R1())
    pub_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    ref = f"docker://{registry.host}/{repo}:v1"
    written = ocitool.sign(ref, key=key, recursive=True)
    children = [d["digest"] for d in json.loads(top)["manifests"]]
    assert [str(w.digest) for w in written] == [digest, *children]
    assert {w.docker_reference for w in written} == {f"{registry.host}/{repo}"}
    ocitool.sign(ref, key=key)  # a second signature of the index: a second layer
    tag = digest.replace(":", "-") + ".sig"
    sig = client.get_manifest(repo, tag)
    doc = json.loads(sig.raw)
    assert [layer["mediaType"] for layer in doc["layers"]] == [SIMPLE, SIMPLE]
    for layer in doc["layers"]:
        payload = client.read_blob(repo, layer["digest"], layer["size"])
        claimed = cosign_check(pub_pem, payload, layer["annotations"][SIG_ANNOTATION], digest)
        assert claimed["critical"]["identity"]["docker-reference"] == f"{registry.host}/{repo}"
    # skopeo reads the pushed .sig as an image of the repository
    raw = skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{registry.host}/{repo}:{tag}").stdout
    assert raw == sig.raw
    report = ocitool.verify_signature(ref, key=key.public_key())
    assert report.ok and [c.result.ok for c in report.checks] == [True, True]
    # a child manifest was signed too (--recursive), and verifies by digest
    child_ref = f"docker://{registry.host}/{repo}@{children[0]}"
    assert ocitool.verify_signature(child_ref, key=key.public_key()).ok
    # the CLI: OK with the key, exit 2 with another key
    pub = tmp_path / "k.pub"
    pub.write_bytes(pub_pem)
    code, out, err = _cli("verify-signature", "--key", str(pub), ref)
    assert code == 0, err
    other = tmp_path / "other.pub"
    other.write_bytes(
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    code, out, err = _cli("verify-signature", "--key", str(other), ref)
    assert code == 2 and "bad signature" in out


def test_bundle_referrer_through_the_fallback_tag(registry: servers.Registry, client: RegistryClient) -> None:
    repo = "sig/bundle"
    config = content.Blob(
        b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}', mt.OCI_CONFIG
    )
    top = content.push_image(client, repo, "v1", config, [])
    digest = content.sha256(top)
    key = ec.generate_private_key(ec.SECP256R1())
    ref = f"docker://{registry.host}/{repo}:v1"
    assert run_ok(ocitool.sign(ref, key=key, fmt="bundle"))
    listed = client.get_manifest(repo, fallback_tag(ocitool.Digest.parse(digest)))
    entries = json.loads(listed.raw)["manifests"]
    assert [e["artifactType"] for e in entries] == [BUNDLE]
    manifest = json.loads(client.get_manifest(repo, entries[0]["digest"]).raw)
    assert manifest["subject"]["digest"] == digest
    bundle = client.read_blob(repo, manifest["layers"][0]["digest"], manifest["layers"][0]["size"])
    pub_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    dsse_check(pub_pem, bundle, digest)
    report = ocitool.verify_signature(ref, key=key.public_key())
    assert [(c.found.form, c.result.ok) for c in report.checks] == [("bundle-v0.3", True)]


def run_ok(written: list[ocitool.SignedImage]) -> bool:
    return len(written) == 1 and written[0].form == "bundle-v0.3"
