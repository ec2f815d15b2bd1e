"""X.509 certificate pools and chain verification for Fulcio (code signing) and timestamp
authorities (time stamping), with ``cryptography``'s path validation.

A :class:`CertificatePool` is what the user trusts: the self-issued certificates are the trust
anchors, the others intermediates that may be used to build a path (cosign's
``--certificate-chain``, or a trusted root's ``certChain``). Validation is RFC 5280 path building
with the Web PKI profile's CA rules, at a given time (the signing time: Fulcio certificates live
ten minutes), requiring the purpose's extended key usage on the leaf and allowing it (or no EKU,
or anyExtendedKeyUsage) on the CAs, as Go's ``x509.Verify`` with ``KeyUsages`` does. A leaf with
a critical extension nobody understands is refused, as Go refuses it.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Final

from cryptography import x509
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    Policy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from ocitool._record import record
from ocitool.errors import InvalidKeyError, SignatureError, SignatureVerificationError
from ocitool.ops.signing import _der
from ocitool.ops.signing.keys import PublicKey, pem_blocks, public_key_from_der
from ocitool.ops.signing.result import Failure

__all__ = [
    "CODE_SIGNING",
    "TIME_STAMPING",
    "CertificatePool",
    "certificate_from_der",
    "certificate_public_key",
    "load_certificates",
    "names",
    "public_key_info",
    "verify_chain",
]

CODE_SIGNING: Final = ExtendedKeyUsageOID.CODE_SIGNING
TIME_STAMPING: Final = ExtendedKeyUsageOID.TIME_STAMPING
_MAX_CERTIFICATES: Final = 64
# What cryptography raises for a malformed certificate (some of these are not ValueErrors).
_X509_ERRORS: Final = (
    ValueError,
    x509.InvalidVersion,
    x509.DuplicateExtension,
    x509.UnsupportedGeneralNameType,
)


def certificate_from_der(der: bytes, *, what: str, path: str | None = None) -> x509.Certificate:
    """A DER certificate, its extensions and names readable. Raises SignatureError naming ``what``,
    also for a negative serial number (RFC 5280 forbids it; Go's x509 refuses it)."""
    try:
        with warnings.catch_warnings():
            # cryptography warns (and will refuse) on negative serials: refused below, by name.
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            cert = x509.load_der_x509_certificate(der)
            # cryptography parses extensions lazily: a malformed one would raise later, anywhere.
            _ = cert.extensions
            serial = cert.serial_number
        names(cert)
    except (*_X509_ERRORS, _der.DerError) as exc:
        raise SignatureError(f"not a valid certificate: {exc}", path=path, field=what) from None
    if serial < 0:
        raise SignatureError("not a valid certificate: negative serial number", path=path, field=what)
    return cert


def _tbs_fields(cert: x509.Certificate) -> tuple[bytes, bytes, bytes]:
    tbs = _der.parse(cert.tbs_certificate_bytes, "tbsCertificate").children("tbsCertificate")
    offset = 1 if tbs and tbs[0].tag == _der.CONTEXT_0 else 0  # the optional [0] version
    if len(tbs) < offset + 6:
        raise _der.DerError("tbsCertificate: too few fields")
    issuer, subject, spki = tbs[offset + 2], tbs[offset + 4], tbs[offset + 5]
    return (
        issuer.expect(_der.SEQUENCE, "issuer").raw,
        subject.expect(_der.SEQUENCE, "subject").raw,
        spki.expect(_der.SEQUENCE, "subjectPublicKeyInfo").raw,
    )


def names(cert: x509.Certificate) -> tuple[bytes, bytes]:
    """The DER issuer and subject names of ``cert``, read from its TBS bytes (comparing
    ``x509.Name`` objects parses them, and ``cryptography`` warns about odd attributes such as a
    three-letter country, which real test CAs have). Raises DerError."""
    issuer, subject, _ = _tbs_fields(cert)
    return issuer, subject


def public_key_info(cert: x509.Certificate) -> bytes:
    """The DER SubjectPublicKeyInfo of ``cert``, as written (``cert.public_key()`` would parse
    the key, and fail on curves ``cryptography`` lacks). Raises DerError."""
    return _tbs_fields(cert)[2]


def certificate_public_key(cert: x509.Certificate, *, path: str | None = None) -> PublicKey:
    """The certificate's public key, if it is a key cosign accepts. Raises SignatureError."""
    try:
        return public_key_from_der(public_key_info(cert), path=path or "<certificate>")
    except (InvalidKeyError, _der.DerError) as exc:
        raise SignatureError(f"the certificate's key is unusable: {exc}", path=path) from None


def load_certificates(data: bytes, *, path: str = "<certificates>") -> list[x509.Certificate]:
    """Every ``CERTIFICATE`` block of PEM ``data``, in order (other block types are skipped).

    Raises SignatureError when there is none, a block is truncated or not a certificate.
    """
    try:
        blocks = pem_blocks(data, path=path)
    except InvalidKeyError as exc:
        raise SignatureError(exc.message, path=path) from None
    certs = [
        certificate_from_der(b.body, what=f"PEM block {i}", path=path)
        for i, b in enumerate(blocks)
        if b.type == "CERTIFICATE"
    ]
    if not certs:
        raise SignatureError("no PEM CERTIFICATE block found", path=path)
    if len(certs) > _MAX_CERTIFICATES:
        raise SignatureError(f"{len(certs)} certificates, over the limit of {_MAX_CERTIFICATES}", path=path)
    return certs


@record(frozen=True, slots=True)
class CertificatePool:
    """Trusted certificates: ``roots`` (trust anchors) and ``intermediates``."""

    roots: tuple[x509.Certificate, ...]
    intermediates: tuple[x509.Certificate, ...] = ()

    @classmethod
    def from_certificates(cls, certs: Iterable[x509.Certificate]) -> CertificatePool:
        """Self-issued certificates become roots, the others intermediates."""
        roots: list[x509.Certificate] = []
        others: list[x509.Certificate] = []
        for cert in certs:
            issuer, subject = names(cert)
            (roots if issuer == subject else others).append(cert)
        return cls(tuple(roots), tuple(others))

    @classmethod
    def from_pem(cls, data: bytes, *, path: str = "<certificate chain>") -> CertificatePool:
        """A pool from PEM certificates (cosign's ``--certificate-chain`` file: intermediates
        and the root, in any order). Raises SignatureError, also when no certificate is a root."""
        pool = cls.from_certificates(load_certificates(data, path=path))
        if not pool.roots:
            raise SignatureError("the certificate chain has no root (self-signed) certificate", path=path)
        return pool

    def merged(self, other: CertificatePool) -> CertificatePool:
        return CertificatePool(self.roots + other.roots, self.intermediates + other.intermediates)

    def all(self) -> tuple[x509.Certificate, ...]:
        return self.roots + self.intermediates


_PURPOSE_NAMES: Final = {CODE_SIGNING: "code signing", TIME_STAMPING: "time stamping"}

EkuCheck = Callable[[Policy, x509.Certificate, x509.ExtendedKeyUsage | None], None]


def _eku_validator(purpose: x509.ObjectIdentifier, *, leaf: bool) -> EkuCheck:
    name = _PURPOSE_NAMES.get(purpose, purpose.dotted_string)

    def check(_policy: Policy, _cert: x509.Certificate, ext: x509.ExtendedKeyUsage | None) -> None:
        if ext is None:
            if leaf:
                raise ValueError(f"no extended key usage (needs {name})")
            return
        if purpose not in ext and (leaf or ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in ext):
            raise ValueError(f"extended key usage does not allow {name}")

    return check


def verify_chain(
    leaf: x509.Certificate,
    pool: CertificatePool,
    at: dt.datetime,
    *,
    purpose: x509.ObjectIdentifier = CODE_SIGNING,
    untrusted: Sequence[x509.Certificate] = (),
    path: str | None = None,
) -> list[x509.Certificate]:
    """The verified path from ``leaf`` to one of ``pool``'s roots, valid at ``at``.

    ``untrusted`` are more intermediates (those a signature carries); they only help build a
    path to a trusted root. Raises SignatureVerificationError (``untrusted-certificate``) saying
    why when there is no such path.
    """
    if not pool.roots:
        raise SignatureVerificationError(
            Failure.UNTRUSTED_CERTIFICATE.value, "no trusted root certificates were given", path=path
        )
    for ext in leaf.extensions:
        if ext.critical and isinstance(ext.value, x509.UnrecognizedExtension):
            raise SignatureVerificationError(
                Failure.UNTRUSTED_CERTIFICATE.value,
                f"certificate has an unhandled critical extension {ext.oid.dotted_string}",
                path=path,
            )
    ee_check = _eku_validator(purpose, leaf=True)
    ca_check = _eku_validator(purpose, leaf=False)
    ee_policy = ExtensionPolicy.permit_all().require_present(
        x509.ExtendedKeyUsage,
        Criticality.AGNOSTIC,
        ee_check,
    )
    ca_policy = ExtensionPolicy.webpki_defaults_ca().may_be_present(
        x509.ExtendedKeyUsage,
        Criticality.AGNOSTIC,
        ca_check,
    )
    verifier = (
        PolicyBuilder()
        .store(Store(list(pool.roots)))
        .time(at)
        .extension_policies(ca_policy=ca_policy, ee_policy=ee_policy)
        .build_client_verifier()
    )
    try:
        return list(verifier.verify(leaf, [*pool.intermediates, *untrusted]).chain)
    except VerificationError as exc:
        when = at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        raise SignatureVerificationError(
            Failure.UNTRUSTED_CERTIFICATE.value,
            f"certificate does not chain to a trusted root at {when}: {exc}",
            path=path,
        ) from None
