"""A throwaway Fulcio-like PKI and Rekor for tests, built with ``cryptography`` alone.

Real sigstore bundles cover compatibility (fixtures/signing); this covers what no public fixture
has: a keyless *simple signing* signature (certificate, chain and Rekor bundle annotations), and
certificates that do not chain. Rekor entries and SETs are made the way Rekor makes them: a
``hashedrekord`` body, canonical JSON of {body, integratedTime, logID, logIndex}, ECDSA P-256.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ISSUER_OID = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8")
LEGACY_ISSUER_OID = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
SIGNED_AT = dt.datetime(2025, 3, 1, 12, 0, 0, tzinfo=dt.UTC)


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "test"), x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    )


def _ca(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer[0].subject if issuer else _name(subject))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(SIGNED_AT - dt.timedelta(days=365))
        .not_valid_after(SIGNED_AT + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    signer = issuer[1] if issuer else key
    if issuer:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer[1].public_key()), critical=False
        )
    return builder.sign(signer, hashes.SHA256())


@dataclass
class Pki:
    root: x509.Certificate
    intermediate: x509.Certificate
    intermediate_key: ec.EllipticCurvePrivateKey

    def pem(self, *certs: x509.Certificate) -> bytes:
        return b"".join(c.public_bytes(Encoding.PEM) for c in certs)

    def leaf(
        self,
        email: str,
        issuer: str,
        *,
        eku: x509.ObjectIdentifier = ExtendedKeyUsageOID.CODE_SIGNING,
        legacy_issuer: bool = False,
    ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        """A ten-minute certificate around SIGNED_AT, as Fulcio issues them."""
        key = ec.generate_private_key(ec.SECP256R1())
        issuer_ext = (
            x509.UnrecognizedExtension(LEGACY_ISSUER_OID, issuer.encode())
            if legacy_issuer
            else x509.UnrecognizedExtension(ISSUER_OID, b"\x0c" + bytes([len(issuer)]) + issuer.encode())
        )
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([]))
            .issuer_name(self.intermediate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(SIGNED_AT - dt.timedelta(minutes=5))
            .not_valid_after(SIGNED_AT + dt.timedelta(minutes=5))
            .add_extension(
                x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True
            )
            .add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(email)]), critical=True)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.intermediate_key.public_key()),
                critical=False,
            )
            .add_extension(issuer_ext, critical=False)
            .sign(self.intermediate_key, hashes.SHA256())
        )
        return cert, key


def make_pki() -> Pki:
    root_key = ec.generate_private_key(ec.SECP384R1())
    root = _ca("test-root", root_key, None)
    inter_key = ec.generate_private_key(ec.SECP256R1())
    inter = _ca("test-intermediate", inter_key, (root, root_key))
    return Pki(root, inter, inter_key)


@dataclass
class Rekor:
    key: ec.EllipticCurvePrivateKey

    def public_pem(self) -> bytes:
        return self.key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)

    def log_id(self) -> str:
        der = self.key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        return hashlib.sha256(der).hexdigest()

    def bundle_annotation(
        self,
        payload: bytes,
        signature: bytes,
        signer_pem: bytes,
        *,
        when: dt.datetime = SIGNED_AT,
        index: int = 7,
    ) -> str:
        """cosign's ``dev.sigstore.cosign/bundle`` for a hashedrekord entry of this signature."""
        body = {
            "apiVersion": "0.0.1",
            "kind": "hashedrekord",
            "spec": {
                "data": {"hash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()}},
                "signature": {
                    "content": base64.b64encode(signature).decode(),
                    "publicKey": {"content": base64.b64encode(signer_pem).decode()},
                },
            },
        }
        body_b64 = base64.b64encode(json.dumps(body, separators=(",", ":"), sort_keys=True).encode()).decode()
        promise = {
            "body": body_b64,
            "integratedTime": int(when.timestamp()),
            "logID": self.log_id(),
            "logIndex": index,
        }
        # RFC 8785 for these ASCII strings and small integers is sorted keys, no whitespace.
        canonical = json.dumps(promise, separators=(",", ":"), sort_keys=True).encode()
        set_ = self.key.sign(canonical, ec.ECDSA(hashes.SHA256()))
        return json.dumps({"SignedEntryTimestamp": base64.b64encode(set_).decode(), "Payload": promise})


def make_rekor() -> Rekor:
    return Rekor(ec.generate_private_key(ec.SECP256R1()))
