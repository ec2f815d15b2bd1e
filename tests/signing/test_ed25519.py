"""Ed25519 keys end to end. ``ocitool sign`` writes pure Ed25519 (what ``cosign verify --key``
checks, and what DSSE takes), verified here with ``cryptography`` alone; ``verify-signature``
also accepts Ed25519ph over the payload, what ``cosign sign --key`` writes with an Ed25519 key by
default; the wrong key and a changed payload fail."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

import ocitool
from ocitool.ops.signing import keys
from ocitool.ops.signing.simplesign import SimpleSignature, sign_image, verify_simple_signing
from tests import peers
from tests.signing.test_sign_verify import SIG_ANNOTATION, dsse_check, index_entries, layout_blob, run_cli

COSIGN_KEY = peers.FIXTURES / "signing" / "cosign" / "ed25519-pkcs8.key"


@pytest.fixture
def layout(tmp_path: Path) -> Path:
    out = tmp_path / "gzip"
    shutil.copytree(peers.fixture("oci/gzip"), out)
    return out


def _pub(tmp_path: Path, key: ed25519.Ed25519PrivateKey, name: str) -> Path:
    path = tmp_path / name
    path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path


def _sig_layers(layout: Path, digest: str) -> list[dict[str, object]]:
    tag = digest.replace(":", "-") + ".sig"
    [entry] = [
        e
        for e in index_entries(layout)
        if e.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag
    ]
    return list(json.loads(layout_blob(layout, entry["digest"]))["layers"])


def test_cli_round_trip_with_cosigns_ed25519_key(layout: Path, tmp_path: Path) -> None:
    key = keys.load_private_key(COSIGN_KEY.read_bytes())
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    pub = _pub(tmp_path, key, "ed.pub")
    digest = index_entries(layout)[0]["digest"]
    for fmt in ("simplesigning", "bundle"):
        code, out, err = run_cli(
            "sign", "--key", str(COSIGN_KEY), "--format", fmt, "--reference", "example.com/app", str(layout)
        )
        assert code == 0, err
    # the .sig layer: pure Ed25519 over the payload bytes, checked with cryptography alone
    [layer] = _sig_layers(layout, digest)
    payload = layout_blob(layout, str(layer["digest"]))
    annotations = layer["annotations"]
    assert isinstance(annotations, dict)
    key.public_key().verify(base64.b64decode(annotations[SIG_ANNOTATION]), payload)
    assert json.loads(payload)["critical"]["image"]["docker-manifest-digest"] == digest
    # the bundle: pure Ed25519 over the DSSE PAE
    referrer = next(e for e in index_entries(layout) if e.get("artifactType"))
    bundle = json.loads(layout_blob(layout, referrer["digest"]))["layers"][0]["digest"]
    dsse_check(pub.read_bytes(), layout_blob(layout, bundle), digest)

    code, out, err = run_cli("verify-signature", "--key", str(pub), str(layout))
    assert code == 0, err
    rows = out.splitlines()[2:]
    assert len(rows) == 2 and all(row.endswith("OK") for row in rows), out
    # the wrong Ed25519 key: both fail, exit 2
    wrong = _pub(tmp_path, ed25519.Ed25519PrivateKey.generate(), "wrong.pub")
    code, out, err = run_cli("verify-signature", "--key", str(wrong), str(layout))
    assert code == 2 and "none of the 2 signatures verifies" in err
    assert all("FAILED" in row for row in out.splitlines()[2:])


def test_cosigns_default_ed25519ph_signature_verifies_and_tampering_fails() -> None:
    """A ``.sig`` layer as ``cosign sign --key`` writes it with an Ed25519 key (Ed25519ph of the
    payload): verified; a payload changed by one byte, or another key: not."""
    key = keys.load_private_key(COSIGN_KEY.read_bytes())
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    digest = "sha256:" + "ab" * 32
    pure = sign_image(digest, "example.com/app", key)
    prehashed = SimpleSignature(
        pure.payload,
        {SIG_ANNOTATION: base64.b64encode(keys.sign_ed25519ph(key, pure.payload)).decode()},
    )
    for signature in (pure, prehashed):
        result = verify_simple_signing(signature, key.public_key(), manifest_digest=digest)
        assert result.ok and result.key_fingerprint == keys.fingerprint(key.public_key())
        tampered = SimpleSignature(
            signature.payload.replace(b"example.com", b"example.org"), signature.annotations
        )
        bad = verify_simple_signing(tampered, key.public_key(), manifest_digest=digest)
        assert not bad.ok and bad.failure is not None and bad.failure.value == "bad-signature", bad
        other = ed25519.Ed25519PrivateKey.generate().public_key()
        assert not verify_simple_signing(signature, other, manifest_digest=digest).ok


def test_library_signs_and_verifies_with_an_ed25519_key(layout: Path) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    [signed] = ocitool.sign(f"oci:{layout}", key=key, reference="example.com/app")
    report = ocitool.verify_signature(f"oci:{layout}", key=key.public_key())
    assert report.ok and str(report.digest) == str(signed.digest)
    other = ocitool.verify_signature(f"oci:{layout}", key=ed25519.Ed25519PrivateKey.generate().public_key())
    assert not other.ok and len(other.checks) == 1
