"""DSSE and sigstore bundles: real bundles from cosign and sigstore-go verify (keylessly at the
Rekor SET's time, with keys, with an RFC 3161 timestamp); ocitool's bundles verify with
``cryptography`` alone."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key

from ocitool.errors import SignatureError, SignatureVerificationError
from ocitool.ops.signing import keys
from ocitool.ops.signing.bundle import MEDIA_TYPE_V03, parse_bundle, sign_image_bundle, verify_bundle
from ocitool.ops.signing.dsse import (
    COSIGN_SIGN_PREDICATE,
    IN_TOTO_PAYLOAD_TYPE,
    Envelope,
    EnvelopeSignature,
    build_statement,
    pae,
    parse_statement,
    sign_envelope,
    verify_envelope,
)
from ocitool.ops.signing.keyless import KeylessPolicy, TrustedTime
from ocitool.ops.signing.result import Failure, SignatureForm
from ocitool.ops.signing.trustroot import load_trusted_root
from tests import peers

COSIGN = peers.FIXTURES / "signing" / "cosign"
GO = peers.FIXTURES / "signing" / "sigstore-go"
EMPTY_IMAGE = "sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4"
OAUTH = "https://github.com/login/oauth"


def test_pae_spec_example() -> None:
    # The DSSE protocol's worked example.
    assert pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )
    assert pae("t", b"") == b"DSSEv1 1 t 0 "


def test_cosign_v03_bundle_parses() -> None:
    bundle = parse_bundle((COSIGN / "oci-attestation.sigstore.json").read_bytes())
    assert (bundle.media_type, bundle.version) == (MEDIA_TYPE_V03, 3)
    assert bundle.certificate is not None and bundle.chain == ()
    assert bundle.envelope is not None and bundle.envelope.payload_type == IN_TOTO_PAYLOAD_TYPE
    [entry] = bundle.tlog_entries
    assert (entry.kind, entry.version, entry.log_index, entry.integrated_time) == (
        "dsse",
        "0.0.1",
        175508996,
        1740770291,
    )
    statement = parse_statement(bundle.envelope.payload)
    assert statement.predicate_type == "https://cosign.sigstore.dev/attestation/v1"
    assert statement.names_digest(EMPTY_IMAGE)


def test_cosign_v03_bundle_verifies_keylessly() -> None:
    root = load_trusted_root((COSIGN / "trusted_root_pgi.json").read_bytes())
    policy = KeylessPolicy(root.fulcio, "cody@soyland.com", OAUTH)
    result = verify_bundle(
        (COSIGN / "oci-attestation.sigstore.json").read_bytes(),
        policy,
        digest=EMPTY_IMAGE,
        trusted_time=root.trusted_time(),
    )
    assert result.ok, result.message
    assert result.form is SignatureForm.BUNDLE_V03
    assert result.signer is not None and result.signer.to_json() == {
        "CertificateIssuer": "CN=sigstore-intermediate,O=sigstore.dev",
        "SubjectAlternativeName": "cody@soyland.com",
        "Issuer": OAUTH,
    }
    [stamp] = result.timestamps
    assert (stamp.kind, int(stamp.time.timestamp()), stamp.uri) == (
        "Tlog",
        1740770291,
        "https://rekor.sigstore.dev",
    )


def test_cosign_v03_bundle_failures() -> None:
    data = (COSIGN / "oci-attestation.sigstore.json").read_bytes()
    root = load_trusted_root((COSIGN / "trusted_root_pgi.json").read_bytes())
    policy = KeylessPolicy(root.fulcio, "cody@soyland.com", OAUTH)
    trust = root.trusted_time()
    # another image (cosign's test: "provided artifact digest does not match any digest in statement")
    other = verify_bundle(data, policy, digest="sha256:" + "1" * 64, trusted_time=trust)
    assert other.failure is Failure.DIGEST_MISMATCH
    # no trusted time
    assert verify_bundle(data, policy, digest=EMPTY_IMAGE).failure is Failure.NO_TRUSTED_TIME
    # wrong identity (cosign's test: SubjectRegExp "wrong")
    wrong = KeylessPolicy(root.fulcio, "wrong", OAUTH)
    assert verify_bundle(data, wrong, trusted_time=trust).failure is Failure.IDENTITY_MISMATCH
    # roots that did not issue it: the scaffolding test CA
    scaffolding = load_trusted_root((GO / "scaffolding.json").read_bytes())
    stranger = KeylessPolicy(scaffolding.fulcio, "cody@soyland.com", OAUTH)
    assert verify_bundle(data, stranger, trusted_time=trust).failure is Failure.UNTRUSTED_CERTIFICATE
    # a Rekor key of another log
    assert (
        verify_bundle(data, policy, trusted_time=scaffolding.trusted_time()).failure is Failure.BAD_TLOG_ENTRY
    )
    # a key instead of the certificate
    assert verify_bundle(data, ec.generate_private_key(ec.SECP256R1()).public_key()).failure is (
        Failure.BAD_SIGNATURE
    )


def test_real_tlog_entry_of_another_signature_is_refused() -> None:
    """Graft dsse.sigstore.json's genuine Rekor entry (its SET verifies) onto cosign's bundle."""
    doc = json.loads((COSIGN / "oci-attestation.sigstore.json").read_bytes())
    donor = json.loads((GO / "dsse.sigstore.json").read_bytes())
    doc["verificationMaterial"]["tlogEntries"] = donor["verificationMaterial"]["tlogEntries"]
    root = load_trusted_root((COSIGN / "trusted_root_pgi.json").read_bytes())
    policy = KeylessPolicy(root.fulcio, "cody@soyland.com", OAUTH)
    result = verify_bundle(json.dumps(doc).encode(), policy, trusted_time=root.trusted_time())
    assert result.failure is Failure.BAD_TLOG_ENTRY
    assert "another payload" in result.message


def test_tampered_set_fails() -> None:
    doc = json.loads((COSIGN / "oci-attestation.sigstore.json").read_bytes())
    entry = doc["verificationMaterial"]["tlogEntries"][0]
    entry["integratedTime"] = str(int(entry["integratedTime"]) + 1)
    root = load_trusted_root((COSIGN / "trusted_root_pgi.json").read_bytes())
    result = verify_bundle(
        json.dumps(doc).encode(),
        KeylessPolicy(root.fulcio, "cody@soyland.com", OAUTH),
        trusted_time=root.trusted_time(),
    )
    assert result.failure is Failure.BAD_TLOG_ENTRY


@pytest.mark.parametrize(
    ("name", "identity", "issuer", "digest"),
    [
        (
            "sigstore.js@2.0.0-provenance.sigstore.json",
            "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main",
            "https://token.actions.githubusercontent.com",
            None,
        ),
        ("dsse.sigstore.json", "brian@dehamer.com", OAUTH, None),
    ],
)
def test_sigstore_go_v01_bundles_verify(name: str, identity: str, issuer: str, digest: str | None) -> None:
    root = load_trusted_root((GO / "public-good.json").read_bytes())
    result = verify_bundle(
        (GO / name).read_bytes(),
        KeylessPolicy(root.fulcio, identity, issuer),
        digest=digest,
        trusted_time=root.trusted_time(),
    )
    assert result.ok, result.message
    assert result.signer is not None and result.signer.subject_alternative_name == identity


def test_github_actions_signer_summary() -> None:
    root = load_trusted_root((GO / "public-good.json").read_bytes())
    identity = "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main"
    result = verify_bundle(
        (GO / "sigstore.js@2.0.0-provenance.sigstore.json").read_bytes(),
        KeylessPolicy(root.fulcio, identity, "https://token.actions.githubusercontent.com"),
        trusted_time=root.trusted_time(),
    )
    assert result.signer is not None
    summary = result.signer.to_json()
    assert summary["SourceRepositoryURI"] == "https://github.com/sigstore/sigstore-js"
    assert summary["BuildTrigger"] == "push"
    assert summary["SourceRepositoryVisibilityAtSigning"] == "public"
    assert list(summary)[:3] == ["CertificateIssuer", "SubjectAlternativeName", "Issuer"]


def test_othername_san_bundle_verifies() -> None:
    """sigstore-go's TestEntityWithOthernameSan: SAN foo!oidc.local, not an email."""
    root = load_trusted_root((GO / "scaffolding.json").read_bytes())
    data = (GO / "othername.sigstore.json").read_bytes()
    digest = "sha256:bc103b4a84971ef6459b294a2b98568a2bfb72cded09d4acd1e16366a401f95b"
    good = KeylessPolicy(root.fulcio, "foo!oidc.local", "http://oidc.local:8080")
    result = verify_bundle(data, good, digest=digest, trusted_time=root.trusted_time())
    assert result.ok, result.message
    assert result.signer is not None and result.signer.certificate_issuer == (
        "O=Linux Foundation,POSTALCODE=57274,STREET=548 Market St,L=San Francisco,ST=California,C=USA"
    )
    email = KeylessPolicy(root.fulcio, "foo@oidc.local", "http://oidc.local:8080")
    assert verify_bundle(data, email, digest=digest, trusted_time=root.trusted_time()).failure is (
        Failure.IDENTITY_MISMATCH
    )
    assert verify_bundle(
        data, good, digest="sha256:" + "0" * 64, trusted_time=root.trusted_time()
    ).failure is (Failure.DIGEST_MISMATCH)


def test_key_signed_v01_bundle_with_set() -> None:
    key = keys.load_public_key((GO / "publish_key.pub").read_bytes())
    root = load_trusted_root((GO / "public-good.json").read_bytes())
    data = (GO / "bundle-publish.json").read_bytes()
    result = verify_bundle(data, key, trusted_time=root.trusted_time())
    assert result.ok, result.message
    assert [t.kind for t in result.timestamps] == ["Tlog"]
    unchecked = verify_bundle(data, key)
    assert unchecked.ok and unchecked.timestamps == () and "no Rekor public key" in unchecked.warnings[0]
    other = keys.load_public_key((GO / "public-key-validity.pem").read_bytes())
    assert verify_bundle(data, other).failure is Failure.BAD_SIGNATURE


def test_key_signed_v03_message_signature_with_rfc3161_timestamp() -> None:
    key = keys.load_public_key((GO / "public-key-validity.pem").read_bytes())
    root = load_trusted_root((GO / "public-key-validity.json").read_bytes())
    data = (GO / "public-key-validity.sigstore.json").read_bytes()
    result = verify_bundle(data, key, artifact=b"test content", trusted_time=root.trusted_time())
    assert result.ok, result.message
    [stamp] = result.timestamps
    assert stamp.kind == "TimestampAuthority" and stamp.time.isoformat() == "2026-06-04T17:43:29+00:00"
    assert result.signed_digest == "sha256:" + hashlib.sha256(b"test content").hexdigest()
    assert verify_bundle(data, key, artifact=b"other content").failure is Failure.DIGEST_MISMATCH
    assert "not verified" in verify_bundle(data, key, artifact=b"test content").warnings[0]


def _cosign_bundle_check(data: bytes, public_pem: bytes, digest: str) -> None:
    """A sigstore bundle's key-signed DSSE check, with cryptography alone."""
    doc = json.loads(data)
    assert doc["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
    public = load_pem_public_key(public_pem)
    assert isinstance(public, (ec.EllipticCurvePublicKey, ed25519.Ed25519PublicKey))
    spki = public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    assert (
        doc["verificationMaterial"]["publicKey"]["hint"]
        == base64.b64encode(hashlib.sha256(spki).digest()).decode()
    )
    envelope = doc["dsseEnvelope"]
    payload = base64.b64decode(envelope["payload"])
    kind = envelope["payloadType"].encode()
    message = (
        b"DSSEv1 "
        + str(len(kind)).encode()
        + b" "
        + kind
        + b" "
        + str(len(payload)).encode()
        + b" "
        + payload
    )
    [sig] = envelope["signatures"]
    if isinstance(public, ed25519.Ed25519PublicKey):
        public.verify(base64.b64decode(sig["sig"]), message)  # DSSE is pure Ed25519
    else:
        public.verify(base64.b64decode(sig["sig"]), message, ec.ECDSA(hashes.SHA256()))
    statement = json.loads(payload)
    algorithm, hex_ = digest.split(":")
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["subject"] == [{"digest": {algorithm: hex_}}]
    assert statement["predicateType"] == "https://sigstore.dev/cosign/sign/v1"


def test_sign_image_bundle_round_trip() -> None:
    pair = keys.generate_key_pair(b"")
    digest = "sha256:" + hashlib.sha256(b"manifest").hexdigest()
    data = sign_image_bundle(digest, pair.private_key)
    _cosign_bundle_check(data, pair.public_pem, digest)
    public = pair.private_key.public_key()
    result = verify_bundle(data, public, digest=digest)
    assert result.ok and result.signed_digest == digest and result.key_fingerprint == keys.fingerprint(public)
    changed = "sha256:" + hashlib.sha256(b"manifesT").hexdigest()
    assert verify_bundle(data, public, digest=changed).failure is Failure.DIGEST_MISMATCH
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    assert verify_bundle(data, other, digest=digest).failure is Failure.BAD_SIGNATURE
    # keyless verification of a key-signed bundle
    root = load_trusted_root((COSIGN / "trusted_root_pgi.json").read_bytes())
    assert verify_bundle(data, KeylessPolicy(root.fulcio, "a", "b")).failure is Failure.MALFORMED


def test_envelope_sign_verify() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    statement = build_statement("sha256:" + "a" * 64, name="registry/app")
    assert json.loads(statement)["subject"] == [{"name": "registry/app", "digest": {"sha256": "a" * 64}}]
    env = sign_envelope(IN_TOTO_PAYLOAD_TYPE, statement, key, keyid="k1")
    assert env.to_json()["signatures"] == [
        {"sig": base64.b64encode(env.signatures[0].sig).decode(), "keyid": "k1"}
    ]
    assert verify_envelope(env, key.public_key()).keyid == "k1"
    retyped = Envelope("text/plain", env.payload, env.signatures)
    with pytest.raises(SignatureVerificationError) as info:
        verify_envelope(retyped, key.public_key())
    assert info.value.reason == "bad-signature"
    two = Envelope(env.payload_type, env.payload, (EnvelopeSignature(b"junk"), *env.signatures))
    assert verify_envelope(two, key.public_key()).sig == env.signatures[0].sig
    assert parse_statement(statement).predicate_type == COSIGN_SIGN_PREDICATE


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(mediaType="application/json"), "unsupported bundle media type"),
        (lambda d: d["verificationMaterial"].update(publicKey={"hint": "x"}), "exactly one of publicKey"),
        (lambda d: d.pop("dsseEnvelope"), "exactly one of dsseEnvelope"),
        (lambda d: d["dsseEnvelope"].update(signatures=[]), "no signature"),
        (lambda d: d["dsseEnvelope"]["signatures"].append({"sig": "AAAA"}), "exactly one signature"),
        (lambda d: d["dsseEnvelope"].update(payload="!!!"), "base64"),
        (
            lambda d: d["verificationMaterial"]["certificate"].update(rawBytes="AAAA"),
            "not a valid certificate",
        ),
        (lambda d: d["verificationMaterial"]["tlogEntries"][0].update(logIndex="x"), "integer"),
    ],
)
def test_malformed_bundles(mutate: object, message: str) -> None:
    doc = json.loads((COSIGN / "oci-attestation.sigstore.json").read_bytes())
    assert callable(mutate)
    mutate(doc)
    data = json.dumps(doc).encode()
    with pytest.raises(SignatureError, match=message):
        parse_bundle(data, path="b.json")
    assert (
        verify_bundle(data, ec.generate_private_key(ec.SECP256R1()).public_key()).failure is Failure.MALFORMED
    )


def test_statement_parsing_is_strict() -> None:
    for bad in (
        b'{"_type":"x","subject":[],"predicateType":"p"}',
        b'{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"p"}',
        b'{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{}}],"predicateType":"p"}',
        b'{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":1}}],"predicateType":"p"}',
    ):
        with pytest.raises(SignatureError):
            parse_statement(bad)


def test_unused_trust_is_harmless() -> None:
    pair = keys.generate_key_pair(b"")
    data = sign_image_bundle("sha256:" + "0" * 64, pair.private_key)
    assert verify_bundle(data, pair.private_key.public_key(), trusted_time=TrustedTime()).ok


def test_fixture_paths_exist() -> None:
    for d in (COSIGN, GO):
        assert (d / "LICENSE").is_file()
    assert Path(peers.FIXTURES / "signing" / "README.md").is_file()
