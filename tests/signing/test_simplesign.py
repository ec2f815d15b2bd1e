"""Simple signing: the real cosign signatures (containers/image test data) verify, fail on a
changed manifest and with another key; ocitool's own signatures verify with ``cryptography``
alone (cosign's documented algorithm), and keyless signatures need a trusted time."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, load_pem_public_key

from ocitool.errors import InvalidDigestError
from ocitool.ops.signing import keys
from ocitool.ops.signing.certificates import CertificatePool
from ocitool.ops.signing.keyless import KeylessPolicy, RekorKey, TrustedTime
from ocitool.ops.signing.result import Failure, SignatureForm, VerifyResult
from ocitool.ops.signing.sigstore_json import parse_signature_file, signature_file
from ocitool.ops.signing.simplesign import (
    BUNDLE_ANNOTATION,
    CERTIFICATE_ANNOTATION,
    CHAIN_ANNOTATION,
    SIGNATURE_ANNOTATION,
    SimpleSignature,
    sign_image,
    verify_simple_signing,
)
from tests import peers
from tests.signing import _pki

REAL = peers.REAL / "signing"
REFERENCE = "192.168.64.2:5000/cosign-signed-single-sample"


@pytest.fixture(scope="module")
def real() -> Path:
    peers.real_fixture("signing")
    return REAL


def _digest(manifest: Path) -> str:
    return "sha256:" + hashlib.sha256(manifest.read_bytes()).hexdigest()


def _load(path: Path) -> SimpleSignature:
    return parse_signature_file(path.read_bytes(), path=str(path)).simple_signature()


def _verify_real(
    real: Path, signature: str, manifest: str, reference: str | None = None
) -> tuple[VerifyResult, str, keys.PublicKey]:
    """Verify a real signature file against a real manifest with the real cosign.pub."""
    key = keys.load_public_key((real / "cosign.pub").read_bytes())
    digest = _digest(real / manifest)
    result = verify_simple_signing(
        _load(real / signature), key, manifest_digest=digest, docker_reference=reference
    )
    return result, digest, key


def test_real_valid_signature_verifies(real: Path) -> None:
    result, digest, key = _verify_real(
        real, "dir-img-cosign-valid/signature-1", "dir-img-cosign-valid/manifest.json", REFERENCE + ":latest"
    )
    assert result.ok, result.message
    assert result.form is SignatureForm.SIMPLE_SIGNING
    assert result.signed_digest == digest
    assert result.docker_reference == REFERENCE
    assert result.key_fingerprint == keys.fingerprint(key)
    assert result.timestamps == () and result.warnings == ()


def test_real_modified_manifest_is_a_digest_mismatch(real: Path) -> None:
    item = "dir-img-cosign-modified-manifest"
    result, digest, _ = _verify_real(real, f"{item}/signature-1", f"{item}/manifest.json")
    assert not result.ok
    assert result.failure is Failure.DIGEST_MISMATCH
    assert digest in result.message


def test_real_unknown_key_is_a_bad_signature(real: Path) -> None:
    result, _, _ = _verify_real(real, "unknown-cosign-key.signature", "dir-img-cosign-valid/manifest.json")
    assert result.failure is Failure.BAD_SIGNATURE
    assert result.failure.description == "bad signature"


def test_real_reference_mismatch(real: Path) -> None:
    result, _, _ = _verify_real(
        real, "dir-img-cosign-valid/signature-1", "dir-img-cosign-valid/manifest.json", "alpine"
    )
    assert result.failure is Failure.REFERENCE_MISMATCH


def _cosign_verify(signature: SimpleSignature, public_pem: bytes) -> dict[str, object]:
    """cosign's documented check, with cryptography alone: base64-decode the signature
    annotation, ECDSA-P256/SHA-256 verify it over the payload bytes, then read the payload."""
    public = load_pem_public_key(public_pem)
    assert isinstance(public, ec.EllipticCurvePublicKey)
    raw = base64.b64decode(signature.annotations["dev.cosignproject.cosign/signature"], validate=True)
    public.verify(raw, signature.payload, ec.ECDSA(hashes.SHA256()))
    doc = json.loads(signature.payload)
    assert doc["critical"]["type"] == "cosign container image signature"
    return doc  # type: ignore[no-any-return]


def test_round_trip_and_independent_check(tmp_path: Path) -> None:
    pair = keys.generate_key_pair(b"pw")
    manifest = b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}'
    digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
    sig = sign_image(digest, "example.com/app", pair.private_key, optional={"build": "42"})

    doc = _cosign_verify(sig, pair.public_pem)
    assert doc == {
        "critical": {
            "identity": {"docker-reference": "example.com/app"},
            "image": {"docker-manifest-digest": digest},
            "type": "cosign container image signature",
        },
        "optional": {"build": "42"},
    }
    public = keys.load_public_key(pair.public_pem)
    assert verify_simple_signing(sig, public, manifest_digest=digest, docker_reference="example.com/app:1").ok

    # one byte of the manifest changed
    changed = "sha256:" + hashlib.sha256(manifest.replace(b"2", b"3", 1)).hexdigest()
    assert verify_simple_signing(sig, public, manifest_digest=changed).failure is Failure.DIGEST_MISMATCH
    # the wrong key
    other = keys.load_public_key(keys.generate_key_pair(b"").public_pem)
    assert verify_simple_signing(sig, other, manifest_digest=digest).failure is Failure.BAD_SIGNATURE
    # one byte of the payload changed
    tampered = SimpleSignature(sig.payload.replace(b"42", b"43"), sig.annotations)
    assert verify_simple_signing(tampered, public, manifest_digest=digest).failure is Failure.BAD_SIGNATURE

    # through a dir: signature file and back, checked independently again
    blob = signature_file(sig)
    assert blob.startswith(b"\x00sigstore-json\n")
    stored = json.loads(blob[len(b"\x00sigstore-json\n") :])
    assert list(stored) == ["mimeType", "payload", "annotations"]
    assert stored["mimeType"] == "application/vnd.dev.cosign.simplesigning.v1+json"
    again = SimpleSignature(base64.b64decode(stored["payload"]), stored["annotations"])
    _cosign_verify(again, pair.public_pem)
    assert verify_simple_signing(
        parse_signature_file(blob).simple_signature(), public, manifest_digest=digest
    ).ok


def test_bad_manifest_digest_argument_raises() -> None:
    pair = keys.generate_key_pair(b"")
    sig = sign_image("sha256:" + "0" * 64, "r", pair.private_key)
    with pytest.raises(InvalidDigestError):
        verify_simple_signing(sig, pair.private_key.public_key(), manifest_digest="nope")


@pytest.mark.parametrize(
    ("annotations", "failure"),
    [
        ({}, Failure.MALFORMED),
        ({SIGNATURE_ANNOTATION: "%%%not base64%%%"}, Failure.MALFORMED),
        ({SIGNATURE_ANNOTATION: base64.b64encode(b"garbage").decode()}, Failure.BAD_SIGNATURE),
        ({SIGNATURE_ANNOTATION: ""}, Failure.BAD_SIGNATURE),
    ],
)
def test_garbage_signatures(annotations: dict[str, str], failure: Failure) -> None:
    pair = keys.generate_key_pair(b"")
    sig = sign_image("sha256:" + "0" * 64, "r", pair.private_key)
    result = verify_simple_signing(
        SimpleSignature(sig.payload, annotations),
        pair.private_key.public_key(),
        manifest_digest="sha256:" + "0" * 64,
    )
    assert result.failure is failure


def test_signed_hostile_payloads_fail_cleanly() -> None:
    pair = keys.generate_key_pair(b"")
    public = pair.private_key.public_key()
    digest = "sha256:" + "0" * 64
    cases = {
        "deep": b'{"critical":' + b'{"a":' * 100_000 + b"1" + b"}" * 100_000 + b"}",
        "huge": b'{"critical":{},"optional":{"x":"' + b"a" * (5 << 20) + b'"}}',
        "not json": b"\xff\xfe garbage",
        "other type": json.dumps(
            {
                "critical": {
                    "identity": {"docker-reference": "r"},
                    "image": {"docker-manifest-digest": digest},
                    "type": "atomic container signature",
                },
                "optional": None,
            }
        ).encode(),
    }
    for name, payload in cases.items():
        annotations = {SIGNATURE_ANNOTATION: base64.b64encode(keys.sign(pair.private_key, payload)).decode()}
        result = verify_simple_signing(SimpleSignature(payload, annotations), public, manifest_digest=digest)
        expected = Failure.NOT_SIMPLE_SIGNING if name == "other type" else Failure.MALFORMED
        assert result.failure is expected, (name, result)


@pytest.fixture(scope="module")
def keyless_signature() -> tuple[SimpleSignature, _pki.Pki, _pki.Rekor, str]:
    pki = _pki.make_pki()
    rekor = _pki.make_rekor()
    cert, key = pki.leaf("dev@example.com", "https://issuer.example.com")
    digest = "sha256:" + "ab" * 32
    sig = sign_image(digest, "example.com/app", key)
    raw = base64.b64decode(sig.annotations[SIGNATURE_ANNOTATION])
    cert_pem = cert.public_bytes(Encoding.PEM)
    annotations = {
        **sig.annotations,
        CERTIFICATE_ANNOTATION: cert_pem.decode(),
        CHAIN_ANNOTATION: pki.pem(pki.intermediate, pki.root).decode(),
        BUNDLE_ANNOTATION: rekor.bundle_annotation(sig.payload, raw, cert_pem),
    }
    return SimpleSignature(sig.payload, annotations), pki, rekor, digest


def _trust(pki: _pki.Pki, rekor: _pki.Rekor) -> tuple[KeylessPolicy, TrustedTime]:
    """The keyless policy for the fixture's signer, and its Rekor as the trusted log."""
    fulcio = CertificatePool.from_pem(pki.pem(pki.root))
    policy = KeylessPolicy(fulcio, "dev@example.com", "https://issuer.example.com")
    return policy, TrustedTime((RekorKey.from_pem(rekor.public_pem(), uri="https://rekor.test"),))


def test_keyless_simple_signing(keyless_signature: tuple[SimpleSignature, _pki.Pki, _pki.Rekor, str]) -> None:
    sig, pki, rekor, digest = keyless_signature
    policy, trust = _trust(pki, rekor)
    result = verify_simple_signing(sig, policy, manifest_digest=digest, trusted_time=trust)
    assert result.ok, result.message
    assert result.signer is not None
    assert result.signer.subject_alternative_name == "dev@example.com"
    assert result.signer.issuer == "https://issuer.example.com"
    assert result.signer.certificate_issuer == "CN=test-intermediate,O=test"
    assert [(t.kind, t.time, t.uri) for t in result.timestamps] == [
        ("Tlog", _pki.SIGNED_AT, "https://rekor.test")
    ]

    # without a trusted time
    no_time = verify_simple_signing(sig, policy, manifest_digest=digest)
    assert no_time.failure is Failure.NO_TRUSTED_TIME
    assert "trusted signing time is needed" in no_time.message
    assert no_time.failure.description == "a trusted signing time is needed"

    # identity and issuer are exact
    for other in (
        KeylessPolicy(policy.fulcio, "eve@example.com", policy.issuer),
        KeylessPolicy(policy.fulcio, policy.identity, "https://other.example.com"),
    ):
        failure = verify_simple_signing(sig, other, manifest_digest=digest, trusted_time=trust).failure
        assert failure in (Failure.IDENTITY_MISMATCH, Failure.ISSUER_MISMATCH)

    # a Fulcio root that did not issue it: does not chain
    stranger = _pki.make_pki()
    untrusted = KeylessPolicy(
        CertificatePool.from_pem(stranger.pem(stranger.root)), policy.identity, policy.issuer
    )
    result = verify_simple_signing(sig, untrusted, manifest_digest=digest, trusted_time=trust)
    assert result.failure is Failure.UNTRUSTED_CERTIFICATE

    # another Rekor's key: the SET does not verify
    wrong_rekor = TrustedTime((RekorKey.from_pem(_pki.make_rekor().public_pem()),))
    assert verify_simple_signing(sig, policy, manifest_digest=digest, trusted_time=wrong_rekor).failure is (
        Failure.BAD_TLOG_ENTRY
    )


def test_keyless_set_for_another_signature_is_refused(
    keyless_signature: tuple[SimpleSignature, _pki.Pki, _pki.Rekor, str],
) -> None:
    sig, pki, rekor, digest = keyless_signature
    # A genuine SET from the same log, but for another signature: it proves nothing about this one.
    cert, key = pki.leaf("dev@example.com", "https://issuer.example.com")
    other = sign_image(digest, "example.com/app", key)
    raw = base64.b64decode(other.annotations[SIGNATURE_ANNOTATION])
    annotations = dict(sig.annotations)
    annotations[BUNDLE_ANNOTATION] = rekor.bundle_annotation(
        other.payload, raw, cert.public_bytes(Encoding.PEM)
    )
    policy, trust = _trust(pki, rekor)
    result = verify_simple_signing(
        SimpleSignature(sig.payload, annotations), policy, manifest_digest=digest, trusted_time=trust
    )
    assert result.failure is Failure.BAD_TLOG_ENTRY
    assert "another signature" in result.message


def test_keyless_time_outside_the_certificate(
    keyless_signature: tuple[SimpleSignature, _pki.Pki, _pki.Rekor, str],
) -> None:
    sig, pki, rekor, digest = keyless_signature
    cert_pem = sig.annotations[CERTIFICATE_ANNOTATION].encode()
    raw = base64.b64decode(sig.annotations[SIGNATURE_ANNOTATION])
    late = dict(sig.annotations)
    late[BUNDLE_ANNOTATION] = rekor.bundle_annotation(
        sig.payload, raw, cert_pem, when=_pki.SIGNED_AT + dt.timedelta(hours=1)
    )
    policy, trust = _trust(pki, rekor)
    result = verify_simple_signing(
        SimpleSignature(sig.payload, late), policy, manifest_digest=digest, trusted_time=trust
    )
    assert result.failure is Failure.UNTRUSTED_CERTIFICATE
    assert "not valid" in result.message


def test_keyless_needs_the_certificate_annotation() -> None:
    pair = keys.generate_key_pair(b"")
    sig = sign_image("sha256:" + "0" * 64, "r", pair.private_key)
    pki = _pki.make_pki()
    policy = KeylessPolicy(CertificatePool.from_pem(pki.pem(pki.root)), "a", "b")
    result = verify_simple_signing(sig, policy, manifest_digest="sha256:" + "0" * 64)
    assert result.failure is Failure.MALFORMED
    assert "certificate" in result.message


def test_key_signature_with_unverifiable_tlog_entry_warns(
    keyless_signature: tuple[SimpleSignature, _pki.Pki, _pki.Rekor, str],
) -> None:
    pair = keys.generate_key_pair(b"")
    digest = "sha256:" + "0" * 64
    sig = sign_image(digest, "r", pair.private_key)
    raw = base64.b64decode(sig.annotations[SIGNATURE_ANNOTATION])
    rekor = keyless_signature[2]
    annotations = {
        **sig.annotations,
        BUNDLE_ANNOTATION: rekor.bundle_annotation(sig.payload, raw, pair.public_pem),
    }
    public = pair.private_key.public_key()
    result = verify_simple_signing(SimpleSignature(sig.payload, annotations), public, manifest_digest=digest)
    assert result.ok and result.warnings and "no Rekor public key" in result.warnings[0]
    trust = TrustedTime((RekorKey.from_pem(rekor.public_pem()),))
    result = verify_simple_signing(
        SimpleSignature(sig.payload, annotations), public, manifest_digest=digest, trusted_time=trust
    )
    assert result.ok and [t.kind for t in result.timestamps] == ["Tlog"] and not result.warnings
