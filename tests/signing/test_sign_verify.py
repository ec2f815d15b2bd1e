"""sign -> verify-signature round trips on layouts made by umoci and skopeo, OCI archives, dir:
copies and the store; every signature ocitool writes is also checked here with ``cryptography``
alone, following cosign's algorithm (not ocitool's verify code); the real cosign signatures of
containers/image give the results their README states."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

import ocitool
from ocitool.cli import main
from ocitool.errors import InvalidReferenceError
from tests import peers
from tests.signing.test_bundle import _cosign_bundle_check

SIMPLE = "application/vnd.dev.cosign.simplesigning.v1+json"
SIG_ANNOTATION = "dev.cosignproject.cosign/signature"
BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"


# -- an independent verifier: cosign's algorithm with cryptography alone ------------------------


def cosign_check(
    public_pem: bytes, payload: bytes, signature_b64: str, manifest_digest: str
) -> dict[str, Any]:
    """Verify like cosign: ECDSA P-256 over SHA-256 of the payload bytes; then the payload is a
    cosign simple signing document naming ``manifest_digest``. Returns the payload."""
    key = serialization.load_pem_public_key(public_pem)
    assert isinstance(key, ec.EllipticCurvePublicKey)
    key.verify(base64.b64decode(signature_b64, validate=True), payload, ec.ECDSA(hashes.SHA256()))
    doc = json.loads(payload)
    assert doc["critical"]["type"] == "cosign container image signature"
    assert doc["critical"]["image"]["docker-manifest-digest"] == manifest_digest
    assert set(doc) == {"critical", "optional"}
    return dict(doc)


def dsse_check(public_pem: bytes, bundle: bytes, manifest_digest: str) -> None:
    """A v0.3 bundle checked with cryptography alone (the DSSE signature over PAE, the in-toto
    statement naming the digest, the key hint): test_bundle's independent checker."""
    _cosign_bundle_check(bundle, public_pem, manifest_digest)


def layout_blob(layout: Path, digest: str) -> bytes:
    alg, hexpart = digest.split(":")
    return (layout / "blobs" / alg / hexpart).read_bytes()


def index_entries(layout: Path) -> list[dict[str, Any]]:
    return list(json.loads((layout / "index.json").read_text())["manifests"])


def check_sig_image(layout: Path, public_pem: bytes, manifest_digest: str) -> list[dict[str, Any]]:
    """The .sig of ``manifest_digest`` in ``layout`` as cosign writes it, each layer verified
    independently; returns the payloads."""
    tag = manifest_digest.replace(":", "-") + ".sig"
    entries = [
        e
        for e in index_entries(layout)
        if e.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag
    ]
    assert len(entries) == 1
    manifest = json.loads(layout_blob(layout, entries[0]["digest"]))
    assert manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    config = json.loads(layout_blob(layout, manifest["config"]["digest"]))
    assert config["rootfs"]["diff_ids"] == [layer["digest"] for layer in manifest["layers"]]
    payloads = []
    for layer in manifest["layers"]:
        assert layer["mediaType"] == SIMPLE
        payload = layout_blob(layout, layer["digest"])
        assert hashlib.sha256(payload).hexdigest() == layer["digest"].split(":")[1]
        payloads.append(
            cosign_check(public_pem, payload, layer["annotations"][SIG_ANNOTATION], manifest_digest)
        )
    return payloads


# -- keys and images ----------------------------------------------------------------------------


@pytest.fixture
def pkcs8_key(tmp_path: Path) -> tuple[Path, Path, ec.EllipticCurvePrivateKey]:
    """A plain PKCS#8 PEM key pair made with cryptography."""
    key = ec.generate_private_key(ec.SECP256R1())
    priv = tmp_path / "key.pem"
    pub = tmp_path / "key.pub"
    priv.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    pub.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return priv, pub, key


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    assert "Traceback" not in err.getvalue()
    return code, out.getvalue(), err.getvalue()


def umoci_layout(tmp_path: Path) -> tuple[Path, str]:
    layout = tmp_path / "umoci"
    peers.umoci("init", "--layout", str(layout))
    peers.umoci("new", "--image", f"{layout}:v1")
    return layout, index_entries(layout)[0]["digest"]


# -- round trips --------------------------------------------------------------------------------


@pytest.mark.oracle("umoci", "skopeo")
def test_sign_verify_umoci_layout(tmp_path: Path, pkcs8_key: tuple[Path, Path, Any]) -> None:
    priv, pub, _ = pkcs8_key
    layout, digest = umoci_layout(tmp_path)
    code, out, err = run_cli("sign", "--key", str(priv), f"oci:{layout}:v1")
    assert code == 1 and "give --reference" in err  # a bare tag names no repository
    code, out, err = run_cli(
        "sign",
        "--key",
        str(priv),
        "--reference",
        "registry.example/team/app:1",
        "-a",
        "env=prod",
        f"oci:{layout}:v1",
    )
    assert code == 0, err
    assert digest in out
    payloads = check_sig_image(layout, pub.read_bytes(), digest)
    assert payloads[0]["critical"]["identity"]["docker-reference"] == "registry.example/team/app"
    assert payloads[0]["optional"] == {"env": "prod"}
    # the layout stays readable by skopeo, and skopeo reads the .sig as written
    tag = digest.replace(":", "-") + ".sig"
    raw = peers.skopeo_raw(f"oci:{layout}:{tag}")
    assert json.loads(raw)["layers"][0]["mediaType"] == SIMPLE
    assert peers.skopeo_inspect(f"oci:{layout}:v1")["Digest"] == digest
    code, out, err = run_cli("verify-signature", "--key", str(pub), f"oci:{layout}:v1")
    assert code == 0, err
    assert "OK" in out and "simplesigning-v1" in out
    # a second signature is appended to the same .sig, as cosign appends
    code, _, err = run_cli(
        "sign", "--key", str(priv), "--reference", "registry.example/team/app", f"oci:{layout}:v1"
    )
    assert code == 0, err
    assert len(check_sig_image(layout, pub.read_bytes(), digest)) == 2
    report = ocitool.verify_signature(
        f"oci:{layout}:v1", key=serialization.load_pem_public_key(pub.read_bytes())
    )
    assert [c.result.ok for c in report.checks] == [True, True]


@pytest.mark.oracle("umoci")
def test_wrong_key_and_changed_manifest_fail(tmp_path: Path, pkcs8_key: tuple[Path, Path, Any]) -> None:
    priv, pub, _ = pkcs8_key
    layout, digest = umoci_layout(tmp_path)
    assert run_cli("sign", "--key", str(priv), "--reference", "example.com/app", f"oci:{layout}")[0] == 0
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    other_pub = tmp_path / "other.pub"
    other_pub.write_bytes(
        other.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    code, out, err = run_cli("verify-signature", "--key", str(other_pub), f"oci:{layout}:v1")
    assert code == 2
    assert "bad signature" in out and "none of the 1 signatures verifies" in err
    # one byte of the image manifest changed (its trailing newline): a new digest, so the
    # signature no longer names the image
    raw = layout_blob(layout, digest)
    assert raw.endswith(b"\n")
    changed = raw[:-1] + b" "
    new_digest = "sha256:" + hashlib.sha256(changed).hexdigest()
    (layout / "blobs" / "sha256" / new_digest.split(":")[1]).write_bytes(changed)
    index = json.loads((layout / "index.json").read_text())
    index["manifests"][0]["digest"] = new_digest
    (layout / "index.json").write_text(json.dumps(index))
    code, out, err = run_cli("verify-signature", "--key", str(pub), f"oci:{layout}:v1")
    assert code == 2 and f"no signatures found for {new_digest}" in err
    # the old .sig put under the new digest's tag: a .sig for another digest
    for entry in index["manifests"]:
        name = entry.get("annotations", {}).get("org.opencontainers.image.ref.name", "")
        if name.endswith(".sig"):
            entry["annotations"]["org.opencontainers.image.ref.name"] = new_digest.replace(":", "-") + ".sig"
    (layout / "index.json").write_text(json.dumps(index))
    code, out, err = run_cli("verify-signature", "--key", str(pub), f"oci:{layout}:v1")
    assert code == 2
    assert "digest mismatch" in out and digest in out


@pytest.mark.oracle("umoci")
def test_bundle_format_and_recursive_cli(tmp_path: Path, pkcs8_key: tuple[Path, Path, Any]) -> None:
    priv, pub, _ = pkcs8_key
    layout, digest = umoci_layout(tmp_path)
    code, out, err = run_cli("sign", "--key", str(priv), "--format", "bundle", f"oci:{layout}:v1")
    assert code == 0, err
    referrers = [e for e in index_entries(layout) if e.get("artifactType") == BUNDLE]
    assert len(referrers) == 1
    manifest = json.loads(layout_blob(layout, referrers[0]["digest"]))
    assert manifest["subject"]["digest"] == digest
    assert manifest["artifactType"] == BUNDLE
    assert json.loads(layout_blob(layout, manifest["config"]["digest"])) == {}
    dsse_check(pub.read_bytes(), layout_blob(layout, manifest["layers"][0]["digest"]), digest)
    code, out, err = run_cli("verify-signature", "--format", "json", "--key", str(pub), f"oci:{layout}:v1")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["Verified"] is True
    assert [(s["Form"], s["Verified"]) for s in doc["Signatures"]] == [("bundle-v0.3", True)]


@pytest.mark.oracle("skopeo")
@pytest.mark.real
def test_oci_archive_and_encrypted_cosign_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = tmp_path / "app.tar"
    src = peers.real_fixture("docker25-hello-world.tar")
    peers.skopeo("copy", f"docker-archive:{src}", f"oci-archive:{archive}:example.com/hello:1")
    monkeypatch.setenv("COSIGN_PASSWORD", "s3cret")
    code, _, err = run_cli("generate-key-pair", str(tmp_path))
    assert code == 0, err
    assert (
        (tmp_path / "cosign.key").read_bytes().startswith(b"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----")
    )
    assert run_cli("generate-key-pair", str(tmp_path))[0] == 1  # never overwrites without --force
    code, out, err = run_cli("sign", "--key", str(tmp_path / "cosign.key"), f"oci-archive:{archive}")
    assert code == 0, err
    digest = peers.skopeo_inspect(f"oci-archive:{archive}:example.com/hello:1")["Digest"]
    assert digest in out
    extracted = tmp_path / "x"
    extracted.mkdir()
    shutil.unpack_archive(archive, extracted, format="tar")
    payloads = check_sig_image(extracted, (tmp_path / "cosign.pub").read_bytes(), digest)
    assert payloads[0]["critical"]["identity"]["docker-reference"] == "example.com/hello"
    code, out, err = run_cli("verify-signature", "--key", str(tmp_path / "cosign.pub"), str(archive))
    assert code == 0, err
    monkeypatch.setenv("COSIGN_PASSWORD", "wrong")
    code, _, err = run_cli("sign", "--key", str(tmp_path / "cosign.key"), f"oci-archive:{archive}")
    assert code == 1 and "wrong password" in err


@pytest.mark.oracle("umoci", "skopeo")
def test_store_round_trip_keeps_signatures_out_of_images(
    tmp_path: Path, pkcs8_key: tuple[Path, Path, Any]
) -> None:
    priv, pub, _ = pkcs8_key
    layout, _ = umoci_layout(tmp_path)
    archive = tmp_path / "app.tar"
    peers.skopeo("copy", f"oci:{layout}:v1", f"docker-archive:{archive}:example.com/app:1")
    root = tmp_path / "root"
    assert run_cli("--root", str(root), "load", "-i", str(archive))[0] == 0
    code, out, err = run_cli("--root", str(root), "sign", "--key", str(priv), "example.com/app:1")
    assert code == 0, err
    assert "as example.com/app" in out
    code, out, _ = run_cli("--root", str(root), "images", "--format", "{{.Repository}}:{{.Tag}}")
    assert out.split() == ["example.com/app:1"]
    code, out, err = run_cli("--root", str(root), "verify-signature", "--key", str(pub), "example.com/app:1")
    assert code == 0, err
    digest = out.split()[1]
    check_sig_image(root / "signatures", pub.read_bytes(), digest)
    code, out, err = run_cli("--root", str(root), "inspect", "--verify-key", str(pub), "example.com/app:1")
    assert code == 0, err
    [identity] = json.loads(out)[0]["Identity"]["Signature"]
    assert identity["SignatureType"] == "simplesigning-v1"
    assert identity["DockerReference"] == "example.com/app"


@pytest.mark.real
@pytest.mark.parametrize(
    ("item", "code", "reason"),
    [
        ("dir-img-cosign-valid", 0, "OK"),
        ("dir-img-cosign-modified-manifest", 2, "digest mismatch"),
        ("unknown-cosign-key.signature", 2, "bad signature"),
    ],
)
def test_real_cosign_dir_signatures(tmp_path: Path, item: str, code: int, reason: str) -> None:
    real = peers.real_fixture("signing")
    if item.endswith(".signature"):  # the valid image, signed by another key
        copy = tmp_path / "copy"
        copy.mkdir()
        shutil.copy(real / "dir-img-cosign-valid" / "manifest.json", copy / "manifest.json")
        shutil.copy(real / item, copy / "signature-1")
        target = f"dir:{copy}"
    else:
        target = f"dir:{real / item}"
    got, out, err = run_cli("verify-signature", "--key", str(real / "cosign.pub"), target)
    assert got == code, err
    assert reason in out
    manifest = (real / "dir-img-cosign-valid" / "manifest.json").read_bytes()
    if item == "dir-img-cosign-valid":
        assert "sha256:" + hashlib.sha256(manifest).hexdigest() in out


@pytest.mark.real
def test_sign_dir_copy_appends_a_signature_file(tmp_path: Path, pkcs8_key: tuple[Path, Path, Any]) -> None:
    priv, pub, _ = pkcs8_key
    real = peers.real_fixture("signing")
    copy = tmp_path / "copy"
    shutil.copytree(real / "dir-img-cosign-valid", copy)
    code, _, err = run_cli("sign", "--key", str(priv), "--reference", "example.com/app", f"dir:{copy}")
    assert code == 0, err
    data = (copy / "signature-2").read_bytes()
    assert data.startswith(b"\x00sigstore-json\n")
    doc = json.loads(data[len(b"\x00sigstore-json\n") :])
    digest = "sha256:" + hashlib.sha256((copy / "manifest.json").read_bytes()).hexdigest()
    cosign_check(
        pub.read_bytes(), base64.b64decode(doc["payload"]), doc["annotations"][SIG_ANNOTATION], digest
    )
    code, out, _ = run_cli("verify-signature", "--key", str(pub), f"dir:{copy}")
    assert code == 0
    assert "bad signature" in out  # signature-1 is cosign's, by another key: listed, not hidden


@pytest.mark.real
def test_docker_archive_is_refused(tmp_path: Path, pkcs8_key: tuple[Path, Path, Any]) -> None:
    priv, _, key = pkcs8_key
    src = peers.real_fixture("docker25-hello-world.tar")
    before = src.read_bytes()
    code, _, err = run_cli("sign", "--key", str(priv), "--reference", "x/y", str(src))
    assert code == 1 and "a docker-archive cannot hold signatures" in err
    with pytest.raises(InvalidReferenceError):
        ocitool.sign(f"docker-archive:{src}", key=key, reference="x/y")
    assert src.read_bytes() == before


# moby v1.54.2 api/types/image (the seed): the JSON names of Identity and SignatureIdentity.
IDENTITY_FIELDS = {"Signature", "Pull", "Build"}
SIGNATURE_IDENTITY_FIELDS = {
    "Name", "Timestamps", "KnownSigner", "DockerReference", "Signer", "SignatureType", "Error", "Warnings",
}  # fmt: skip


@pytest.mark.oracle("umoci")
def test_inspect_identity(tmp_path: Path, pkcs8_key: tuple[Path, Path, Any]) -> None:
    _, pub, key = pkcs8_key
    layout, _ = umoci_layout(tmp_path)
    assert "Identity" not in ocitool.inspect(f"oci:{layout}:v1")[0].to_json()  # omitempty pointer
    ocitool.sign(f"oci:{layout}:v1", key=key, reference="example.com/app")
    ocitool.sign(f"oci:{layout}:v1", key=key, fmt="bundle")
    doc = ocitool.inspect(f"oci:{layout}:v1")[0].to_json()
    assert list(doc)[-1] == "Identity" and set(doc["Identity"]) <= IDENTITY_FIELDS
    unverified = doc["Identity"]["Signature"]
    assert [s["SignatureType"] for s in unverified] == ["simplesigning-v1", "bundle-v0.3"]
    assert all(
        s["Warnings"] == ["signature not verified: no key was given (--verify-key)"] for s in unverified
    )
    assert unverified[0]["DockerReference"] == "example.com/app"
    code, out, err = run_cli("inspect", "--verify-key", str(pub), f"oci:{layout}:v1")
    assert code == 0, err
    verified = json.loads(out)[0]["Identity"]["Signature"]
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for sig in verified:
        assert set(sig) <= SIGNATURE_IDENTITY_FIELDS
        assert sig["Name"] == hashlib.sha256(der).hexdigest()  # a key signature: its fingerprint
        assert "Signer" not in sig and "Error" not in sig and "Warnings" not in sig
    other = ec.generate_private_key(ec.SECP256R1())
    failed = ocitool.inspect(f"oci:{layout}:v1", verify_key=other.public_key())[0].to_json()["Identity"]
    assert [set(s) for s in failed["Signature"]] == [{"Error"}, {"Error"}]


def test_recursive_sign_of_an_index_layout(tmp_path: Path, pkcs8_key: tuple[Path, Path, Any]) -> None:
    """``--recursive`` signs the index and each platform's manifest; inspect of one platform
    shows the signatures of its manifest and of the index."""
    priv, pub, _ = pkcs8_key
    layout = tmp_path / "multi"
    shutil.copytree(peers.fixture("oci/multiplatform"), layout)
    top = index_entries(layout)[0]
    children = [d["digest"] for d in json.loads(layout_blob(layout, top["digest"]))["manifests"]]
    code, out, err = run_cli(
        "sign", "--key", str(priv), "--recursive", "--reference", "example.com/multi", str(layout)
    )
    assert code == 0, err
    assert len(out.splitlines()) == 1 + len(children)
    for digest in [top["digest"], *children]:
        check_sig_image(layout, pub.read_bytes(), digest)
    code, out, err = run_cli("inspect", "--platform", "linux/arm64", "--verify-key", str(pub), str(layout))
    assert code == 0, err
    signatures = json.loads(out)[0]["Identity"]["Signature"]
    assert len(signatures) == 2 and all("Error" not in s for s in signatures)
    assert run_cli("verify-signature", "--key", str(pub), str(layout))[0] == 0


@pytest.mark.oracle("umoci")
def test_analyze_reports_signatures(tmp_path: Path, pkcs8_key: tuple[Path, Path, Any]) -> None:
    _, _, key = pkcs8_key
    layout, _ = umoci_layout(tmp_path)
    assert ocitool.analyze(f"oci:{layout}:v1").to_json()["signatures"] == {
        "count": 0,
        "types": [],
        "unreadable": 0,
        "verified": False,
    }
    ocitool.sign(f"oci:{layout}:v1", key=key, reference="example.com/app")
    ocitool.sign(f"oci:{layout}:v1", key=key, fmt="bundle")
    analysis = ocitool.analyze(f"oci:{layout}:v1")
    assert analysis.to_json()["signatures"] == {
        "count": 2,
        "types": ["bundle-v0.3", "simplesigning-v1"],
        "unreadable": 0,
        "verified": False,
    }
    from ocitool.analysis.report import render_html

    page = render_html(analysis, [])
    assert '<p id="signatures" data-count="2">2 signature(s), not verified' in page
