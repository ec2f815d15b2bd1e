"""Keyless pieces on their own: Rekor SETs of real bundles, certificate chains and identities,
cosign's bundle annotation, trusted roots, the certificate-chain file."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

from ocitool.errors import (
    InvalidKeyError,
    SignatureError,
    SignatureVerificationError,
    TrustedTimeRequiredError,
)
from ocitool.ops.signing import keys
from ocitool.ops.signing.certificates import CertificatePool, load_certificates, verify_chain
from ocitool.ops.signing.keyless import (
    KeylessPolicy,
    LogEntry,
    RekorKey,
    check_identity,
    parse_cosign_bundle_annotation,
    subject_alternative_names,
    summarize_certificate,
    verify_keyless,
    verify_set,
)
from ocitool.ops.signing.result import TLOG, SignedTime
from ocitool.ops.signing.trustroot import load_trusted_root
from tests import peers
from tests.signing import _pki

COSIGN = peers.FIXTURES / "signing" / "cosign"
GO = peers.FIXTURES / "signing" / "sigstore-go"


def _entry(name: str) -> LogEntry:
    doc = json.loads((GO / name if (GO / name).exists() else COSIGN / name).read_bytes())
    e = doc["verificationMaterial"]["tlogEntries"][0]
    return LogEntry(
        body=base64.b64decode(e["canonicalizedBody"]),
        integrated_time=int(e["integratedTime"]),
        log_index=int(e["logIndex"]),
        log_id=base64.b64decode(e["logId"]["keyId"]),
        signed_entry_timestamp=base64.b64decode(e["inclusionPromise"]["signedEntryTimestamp"]),
    )


@pytest.mark.parametrize(
    ("bundle", "root"),
    [
        ("oci-attestation.sigstore.json", COSIGN / "trusted_root_pgi.json"),
        ("bundle-publish.json", GO / "public-good.json"),
        ("sigstore.js@2.0.0-provenance.sigstore.json", GO / "public-good.json"),
        ("dsse.sigstore.json", GO / "public-good.json"),
        ("othername.sigstore.json", GO / "scaffolding.json"),
    ],
)
def test_real_sets_verify(bundle: str, root: object) -> None:
    from pathlib import Path

    assert isinstance(root, Path)
    rekor = load_trusted_root(root.read_bytes()).rekor_keys
    entry = _entry(bundle)
    when = verify_set(entry, rekor)
    assert when.kind == TLOG and int(when.time.timestamp()) == entry.integrated_time
    for changed in (
        LogEntry(
            entry.body, entry.integrated_time + 1, entry.log_index, entry.log_id, entry.signed_entry_timestamp
        ),
        LogEntry(
            entry.body, entry.integrated_time, entry.log_index + 1, entry.log_id, entry.signed_entry_timestamp
        ),
        LogEntry(
            entry.body + b" ",
            entry.integrated_time,
            entry.log_index,
            entry.log_id,
            entry.signed_entry_timestamp,
        ),
    ):
        with pytest.raises(SignatureVerificationError, match="does not verify") as info:
            verify_set(changed, rekor)
        assert info.value.reason == "bad-tlog-entry"


def test_set_outside_the_rekor_keys_validity() -> None:
    rekor = load_trusted_root((COSIGN / "trusted_root_pgi.json").read_bytes()).rekor_keys[0]
    entry = _entry("oci-attestation.sigstore.json")
    retired = RekorKey(rekor.key, rekor.log_id, valid_until=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    with pytest.raises(SignatureVerificationError, match="not valid at"):
        verify_set(entry, [retired])
    with pytest.raises(SignatureVerificationError, match="no trusted Rekor key"):
        verify_set(entry, [])


def test_rekor_key_log_id_is_sha256_of_its_der() -> None:
    root = load_trusted_root((COSIGN / "trusted_root_pgi.json").read_bytes())
    key = root.rekor_keys[0]
    assert RekorKey.from_key(key.key).log_id == key.log_id
    assert base64.b64encode(key.log_id).decode() == "wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0="
    with pytest.raises(InvalidKeyError):
        RekorKey.from_pem(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")


def test_cosign_bundle_annotation() -> None:
    rekor = _pki.make_rekor()
    text = rekor.bundle_annotation(b"payload", b"sig", b"pem")
    entry = parse_cosign_bundle_annotation(text)
    assert entry.log_id.hex() == rekor.log_id() and entry.log_index == 7
    assert verify_set(entry, [RekorKey.from_pem(rekor.public_pem())]).time == _pki.SIGNED_AT
    for bad in ("{}", '{"Payload":{"logID":"zz"}}', "[]", '{"SignedEntryTimestamp":"!","Payload":{}}'):
        with pytest.raises(SignatureError):
            parse_cosign_bundle_annotation(bad)


def test_chain_purposes_and_times() -> None:
    pki = _pki.make_pki()
    pool = CertificatePool.from_pem(pki.pem(pki.intermediate, pki.root))
    assert pool.roots == (pki.root,) and pool.intermediates == (pki.intermediate,)
    cert, _ = pki.leaf("a@b.c", "https://i")
    chain = verify_chain(cert, pool, _pki.SIGNED_AT)
    assert [c.subject for c in chain] == [cert.subject, pki.intermediate.subject, pki.root.subject]
    # the intermediate may come from the signature instead of the trusted file
    verify_chain(cert, CertificatePool((pki.root,)), _pki.SIGNED_AT, untrusted=[pki.intermediate])
    with pytest.raises(SignatureVerificationError, match="does not chain"):
        verify_chain(cert, CertificatePool((pki.root,)), _pki.SIGNED_AT)
    with pytest.raises(SignatureVerificationError, match="not valid"):
        verify_chain(cert, pool, _pki.SIGNED_AT + dt.timedelta(minutes=6))
    tsa_cert, _ = pki.leaf("a@b.c", "https://i", eku=ExtendedKeyUsageOID.TIME_STAMPING)
    with pytest.raises(SignatureVerificationError, match="code signing"):
        verify_chain(tsa_cert, pool, _pki.SIGNED_AT)
    with pytest.raises(SignatureVerificationError, match="no trusted root"):
        verify_chain(cert, CertificatePool(()), _pki.SIGNED_AT)


def test_certificate_chain_file_errors() -> None:
    pki = _pki.make_pki()
    with pytest.raises(SignatureError, match="no root"):
        CertificatePool.from_pem(pki.pem(pki.intermediate))
    with pytest.raises(SignatureError, match="no PEM CERTIFICATE"):
        load_certificates(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    with pytest.raises(SignatureError, match="not a valid certificate"):
        load_certificates(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    pem = pki.pem(pki.root)
    with pytest.raises(SignatureError, match="truncated"):
        load_certificates(pem[: len(pem) // 2])
    # a negative serial number (the builder refuses one: patch the DER)
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "n")])
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(0x7A5A3C)
        .not_valid_before(_pki.SIGNED_AT)
        .not_valid_after(_pki.SIGNED_AT + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    der = cert.public_bytes(Encoding.DER)
    assert der.count(b"\x02\x03\x7a\x5a\x3c") == 1
    negative = der.replace(b"\x02\x03\x7a\x5a\x3c", b"\x02\x03\xfa\x5a\x3c")
    with pytest.raises(SignatureError, match="negative serial"):
        load_certificates(keys.pem_encode("CERTIFICATE", negative))


def test_identity_and_issuer() -> None:
    pki = _pki.make_pki()
    pool = CertificatePool((pki.root,), (pki.intermediate,))
    cert, _ = pki.leaf("a@b.c", "https://issuer")
    assert subject_alternative_names(cert) == ["a@b.c"]
    summary = check_identity(cert, KeylessPolicy(pool, "a@b.c", "https://issuer"))
    assert (summary.subject_alternative_name, summary.issuer) == ("a@b.c", "https://issuer")
    with pytest.raises(SignatureVerificationError) as info:
        check_identity(cert, KeylessPolicy(pool, "a@b.c", "https://other"))
    assert info.value.reason == "issuer-mismatch"
    legacy, _ = pki.leaf("a@b.c", "https://old", legacy_issuer=True)
    assert summarize_certificate(legacy).issuer == "https://old"
    at = SignedTime(TLOG, _pki.SIGNED_AT)
    assert (
        verify_keyless(cert, KeylessPolicy(pool, "a@b.c", "https://issuer"), [at]).issuer == "https://issuer"
    )
    with pytest.raises(TrustedTimeRequiredError) as missing:
        verify_keyless(cert, KeylessPolicy(pool, "a@b.c", "https://issuer"), [])
    assert missing.value.reason == "no-trusted-time"


def test_real_fulcio_summary_extensions() -> None:
    doc = json.loads((COSIGN / "oci-attestation.sigstore.json").read_bytes())
    cert = x509.load_der_x509_certificate(
        base64.b64decode(doc["verificationMaterial"]["certificate"]["rawBytes"])
    )
    assert subject_alternative_names(cert) == ["cody@soyland.com"]
    assert summarize_certificate(cert).issuer == "https://github.com/login/oauth"
    assert cert.public_bytes(Encoding.DER)


def test_trusted_root_errors() -> None:
    good = json.loads((COSIGN / "trusted_root_pgi.json").read_bytes())
    for mutate in (
        lambda d: d.update(mediaType="x"),
        lambda d: d["tlogs"][0]["publicKey"].update(rawBytes="AAAA"),
        lambda d: d["tlogs"][0]["publicKey"]["validFor"].update(start="yesterday"),
        lambda d: d["certificateAuthorities"][0]["certChain"]["certificates"][0].update(rawBytes="@"),
    ):
        doc = json.loads(json.dumps(good))
        mutate(doc)
        with pytest.raises(SignatureError):
            load_trusted_root(json.dumps(doc).encode())
    root = load_trusted_root(json.dumps(good).encode())
    assert root.tsa is None and len(root.rekor_keys) == 1 and len(root.fulcio.roots) == 2
