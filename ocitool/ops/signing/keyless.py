"""Keyless (Fulcio) verification, offline: certificate identity, trusted signing times from Rekor
signed entry timestamps (SETs) and RFC 3161 timestamps, and the certificate chain at that time.

**Trusted time.** A Fulcio certificate lives ten minutes, so a signature made with it means
something only with proof of *when* it was made. That proof is a Rekor SET or an RFC 3161
timestamp, verified against keys/roots the caller trusts (:class:`TrustedTime`). Without one,
:func:`verify_keyless` raises TrustedTimeRequiredError.

**Rekor SET.** As cosign's ``VerifySET``: ECDSA/SHA-256 over the RFC 8785 canonical JSON of
``{"body": <base64 canonicalized entry>, "integratedTime": <int>, "logIndex": <int>, "logID":
<hex SHA-256 of the log's DER public key>}``, checked with the Rekor key whose log ID matches (and
whose validity period, when known, holds the integrated time). A verified SET proves the entry
only; :func:`check_entry_binding` then proves the entry is *this* signature: the entry's signature
and verifier (certificate or public key) and its payload hash must be the signature's. Entry kinds
understood: ``hashedrekord`` 0.0.1, ``intoto`` 0.0.2, ``dsse`` 0.0.1 (Rekor v1). Inclusion proofs
and checkpoints are not checked (offline, the SET is the log's promise), nor are SCTs.

**Identity.** ``identity`` must equal one of the certificate's subject alternative names (email,
URI, DNS name, IP address or Fulcio's otherName ``1.3.6.1.4.1.57264.1.7``) and ``issuer`` the
OIDC issuer extension (``1.3.6.1.4.1.57264.1.8``, else the deprecated raw ``.1.1``): exact
matches, as cosign's ``--certificate-identity`` / ``--certificate-oidc-issuer``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import warnings
from collections.abc import Sequence
from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from ocitool._record import record
from ocitool.errors import (
    InvalidKeyError,
    SignatureError,
    SignatureVerificationError,
    TrustedTimeRequiredError,
    UnsupportedSignatureError,
)
from ocitool.ops.signing import _der
from ocitool.ops.signing._common import b64decode, b64encode, canonical_json, load_document
from ocitool.ops.signing.certificates import (
    CODE_SIGNING,
    CertificatePool,
    certificate_from_der,
    certificate_public_key,
    public_key_info,
    verify_chain,
)
from ocitool.ops.signing.keys import PublicKey, pem_blocks, public_key_der, public_key_from_der
from ocitool.ops.signing.result import TLOG, Failure, SignedTime, SignerSummary
from ocitool.ops.signing.rfc3161 import verify_timestamp

__all__ = [
    "OIDC_ISSUER",
    "OIDC_ISSUER_V2",
    "OTHERNAME_SAN",
    "KeylessPolicy",
    "LogEntry",
    "RekorKey",
    "Signer",
    "TrustedTime",
    "check_entry_binding",
    "check_identity",
    "check_signer",
    "parse_cosign_bundle_annotation",
    "resolve_signer",
    "signing_times",
    "subject_alternative_names",
    "summarize_certificate",
    "verify_keyless",
    "verify_set",
]

OIDC_ISSUER: Final = "1.3.6.1.4.1.57264.1.1"
OIDC_ISSUER_V2: Final = "1.3.6.1.4.1.57264.1.8"
OTHERNAME_SAN: Final = "1.3.6.1.4.1.57264.1.7"
_FULCIO: Final = "1.3.6.1.4.1.57264.1."
# Fulcio's DER-string extensions, by moby's SignerIdentity field names (OID suffix order).
_EXTENSIONS: Final = {
    "9": "BuildSignerURI",
    "10": "BuildSignerDigest",
    "11": "RunnerEnvironment",
    "12": "SourceRepositoryURI",
    "13": "SourceRepositoryDigest",
    "14": "SourceRepositoryRef",
    "15": "SourceRepositoryIdentifier",
    "16": "SourceRepositoryOwnerURI",
    "17": "SourceRepositoryOwnerIdentifier",
    "18": "BuildConfigURI",
    "19": "BuildConfigDigest",
    "20": "BuildTrigger",
    "21": "RunInvocationURI",
    "22": "SourceRepositoryVisibilityAtSigning",
}
_DER_STRINGS: Final = (_der.UTF8_STRING, 0x13, 0x16)  # UTF8String, PrintableString, IA5String
# Go's pkix.Name.String() spells these attributes differently from RFC 4514's defaults.
_GO_NAMES: Final = {NameOID.POSTAL_CODE: "POSTALCODE", NameOID.SERIAL_NUMBER: "SERIALNUMBER"}
_ENTRY_FORM: Final = "rekor-entry"


@record(frozen=True, slots=True)
class RekorKey:
    """A transparency log's public key. ``log_id`` is SHA-256 of its DER SubjectPublicKeyInfo
    (Rekor's log ID); ``valid_from``/``valid_until`` bound the integrated times it may vouch for
    (from a trusted root; None: unbounded)."""

    key: PublicKey
    log_id: bytes
    uri: str = ""
    valid_from: dt.datetime | None = None
    valid_until: dt.datetime | None = None

    @classmethod
    def from_key(
        cls,
        key: PublicKey,
        *,
        uri: str = "",
        valid_from: dt.datetime | None = None,
        valid_until: dt.datetime | None = None,
    ) -> RekorKey:
        return cls(key, hashlib.sha256(public_key_der(key)).digest(), uri, valid_from, valid_until)

    @classmethod
    def from_pem(cls, data: bytes, *, path: str = "<rekor key>", uri: str = "") -> RekorKey:
        """A Rekor public key from PEM (cosign's ``--rekor-key`` / ``SIGSTORE_REKOR_PUBLIC_KEY``).
        Raises InvalidKeyError."""
        block = pem_blocks(data, path=path)[0]
        if block.type != "PUBLIC KEY":
            raise InvalidKeyError(f"expected a PEM 'PUBLIC KEY' block, found {block.type!r}", path=path)
        return cls.from_key(public_key_from_der(block.body, path=path), uri=uri)


@record(frozen=True, slots=True)
class TrustedTime:
    """What the caller trusts to date a signature: Rekor keys (for SETs) and TSA certificates
    (for RFC 3161 timestamps). Empty: nothing dates a signature."""

    rekor_keys: tuple[RekorKey, ...] = ()
    tsa: CertificatePool | None = None


@record(frozen=True, slots=True)
class KeylessPolicy:
    """A keyless verification's trust: the Fulcio roots (and intermediates) and the identity that
    must have signed: ``identity`` (a SAN) and ``issuer`` (the OIDC issuer)."""

    fulcio: CertificatePool
    identity: str
    issuer: str


@record(frozen=True, slots=True)
class LogEntry:
    """A Rekor entry as a signature carries it. ``body`` is the canonicalized entry (JSON bytes);
    ``signed_entry_timestamp`` the SET, None when the entry has only an inclusion proof."""

    body: bytes
    integrated_time: int
    log_index: int
    log_id: bytes
    signed_entry_timestamp: bytes | None
    kind: str = ""
    version: str = ""


def parse_cosign_bundle_annotation(text: str, *, path: str = "<bundle annotation>") -> LogEntry:
    """cosign's ``dev.sigstore.cosign/bundle`` annotation on a ``.sig`` layer::

        {"SignedEntryTimestamp": <base64>, "Payload": {"body": <base64>, "integratedTime": <int>,
         "logIndex": <int>, "logID": <hex>}}

    Raises SignatureError when it is malformed.
    """
    doc = load_document(text.encode("utf-8"), path=path, form="cosign-bundle")
    payload = doc.obj("Payload")
    log_id_hex = payload.text("logID")
    try:
        log_id = bytes.fromhex(log_id_hex)
    except ValueError:
        raise payload.error("not hex", "logID") from None
    return LogEntry(
        body=payload.blob("body", lenient=False),
        integrated_time=payload.integer("integratedTime"),
        log_index=payload.integer("logIndex"),
        log_id=log_id,
        signed_entry_timestamp=doc.blob("SignedEntryTimestamp", lenient=False),
    )


def _tlog_fail(message: str, path: str | None) -> SignatureVerificationError:
    return SignatureVerificationError(Failure.BAD_TLOG_ENTRY.value, message, path=path, form=_ENTRY_FORM)


def _utc(seconds: int) -> dt.datetime:
    try:
        return dt.datetime.fromtimestamp(seconds, dt.UTC)
    except (OverflowError, OSError, ValueError):
        raise SignatureError(f"integrated time {seconds} is out of range", form=_ENTRY_FORM) from None


def verify_set(entry: LogEntry, rekor_keys: Sequence[RekorKey], *, path: str | None = None) -> SignedTime:
    """Verify ``entry``'s signed entry timestamp with the Rekor key of its log; return the
    integrated time (kind ``Tlog``). Raises SignatureVerificationError (``bad-tlog-entry``)."""
    if entry.signed_entry_timestamp is None:
        raise _tlog_fail("the log entry has no signed entry timestamp", path)
    rekor = next((k for k in rekor_keys if k.log_id == entry.log_id), None)
    if rekor is None:
        raise _tlog_fail(f"no trusted Rekor key for log ID {entry.log_id.hex()}", path)
    when = _utc(entry.integrated_time)
    if (rekor.valid_from and when < rekor.valid_from) or (rekor.valid_until and when > rekor.valid_until):
        raise _tlog_fail("the Rekor key was not valid at the entry's integrated time", path)
    if not isinstance(rekor.key, ec.EllipticCurvePublicKey):
        raise UnsupportedSignatureError("only ECDSA Rekor keys sign SETs", path=path, form=_ENTRY_FORM)
    promise = canonical_json(
        {
            "body": b64encode(entry.body),
            "integratedTime": entry.integrated_time,
            "logID": entry.log_id.hex(),
            "logIndex": entry.log_index,
        }
    )
    try:
        rekor.key.verify(entry.signed_entry_timestamp, promise, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise _tlog_fail("the signed entry timestamp does not verify with the Rekor key", path) from None
    return SignedTime(TLOG, when, rekor.uri)


def _pem_der(blob: bytes, what: str, path: str | None) -> bytes:
    try:
        return pem_blocks(blob, path=path or "<entry>")[0].body
    except InvalidKeyError:
        raise SignatureError("not PEM", path=path, field=what, form=_ENTRY_FORM) from None


def _verifier_matches(pem: bytes, verifier_der: bytes, what: str, path: str | None) -> bool:
    """A log entry's verifier (PEM certificate or public key) against the signature's verifier
    (DER certificate or DER public key): the same certificate, or the same public key."""
    der = _pem_der(pem, what, path)
    if der == verifier_der:
        return True
    try:
        return public_key_info(certificate_from_der(der, what=what, path=path)) == verifier_der
    except (SignatureError, _der.DerError):
        return False


def check_entry_binding(
    entry: LogEntry,
    *,
    signature: bytes,
    verifier_der: bytes,
    payload_sha256: bytes,
    path: str | None = None,
) -> None:
    """Check that the Rekor ``entry`` records this signature: the same signature bytes, the same
    verifier (``verifier_der``: the signing certificate's DER, or the key's SubjectPublicKeyInfo),
    and the SHA-256 of the signed payload (or artifact). Raises SignatureVerificationError
    (``bad-tlog-entry``), UnsupportedSignatureError for other entry kinds."""
    body = load_document(entry.body, path=path or "<entry>", form=_ENTRY_FORM)
    kind, version = body.text("kind"), body.text("apiVersion")
    spec = body.obj("spec")
    pairs: list[tuple[bytes, bytes]] = []  # (signature, verifier PEM)
    if (kind, version) == ("hashedrekord", "0.0.1"):
        signed = spec.obj("signature")
        pairs.append(
            (signed.blob("content", lenient=False), signed.obj("publicKey").blob("content", lenient=False))
        )
        digest = spec.obj("data").obj("hash")
    elif (kind, version) == ("intoto", "0.0.2"):
        content = spec.obj("content")
        for s in content.obj("envelope").objs("signatures"):
            # Rekor stores the DSSE signature base64-encoded once more.
            inner = s.blob("sig", lenient=False).decode("ascii", "replace")
            pairs.append(
                (b64decode(inner, what=s.where("sig"), path=path, form=_ENTRY_FORM), s.blob("publicKey"))
            )
        digest = content.obj("payloadHash")
    elif (kind, version) == ("dsse", "0.0.1"):
        for s in spec.objs("signatures"):
            pairs.append((s.blob("signature", lenient=False), s.blob("verifier", lenient=False)))
        digest = spec.obj("payloadHash")
    else:
        raise UnsupportedSignatureError(
            f"unsupported Rekor entry kind {kind} {version}", path=path, form=_ENTRY_FORM
        )
    if digest.text("algorithm") != "sha256" or digest.text("value") != payload_sha256.hex():
        raise _tlog_fail(f"the {kind} log entry is for another payload", path)
    for recorded, pem in pairs:
        if recorded == signature and _verifier_matches(pem, verifier_der, f"{kind} verifier", path):
            return
    raise _tlog_fail(f"the {kind} log entry holds another signature or signer", path)


def signing_times(
    *,
    signature: bytes,
    verifier_der: bytes,
    payload_sha256: bytes,
    entries: Sequence[LogEntry],
    timestamps: Sequence[bytes],
    trust: TrustedTime,
    path: str | None = None,
) -> tuple[list[SignedTime], list[str]]:
    """The signing times the signature's log entries and RFC 3161 ``timestamps`` prove, with
    warnings for those present but not checkable (no Rekor key / TSA root given, no SET).

    A log entry or timestamp that is checked and fails raises SignatureVerificationError: a
    forged proof is a failure, not a missing one.
    """
    times: list[SignedTime] = []
    warnings: list[str] = []
    for entry in entries:
        if entry.signed_entry_timestamp is None:
            warnings.append("a transparency log entry has no signed entry timestamp: not verified offline")
        elif not trust.rekor_keys:
            warnings.append("a transparency log entry was not verified: no Rekor public key was given")
        else:
            when = verify_set(entry, trust.rekor_keys, path=path)
            check_entry_binding(
                entry,
                signature=signature,
                verifier_der=verifier_der,
                payload_sha256=payload_sha256,
                path=path,
            )
            times.append(when)
    for stamp in timestamps:
        if trust.tsa is None:
            warnings.append("an RFC 3161 timestamp was not verified: no timestamp authority root was given")
        else:
            times.append(verify_timestamp(stamp, signature, trust.tsa, path=path))
    return times, warnings


def _der_string(value: bytes, oid: str) -> str:
    try:
        tlv = _der.parse(value, oid)
        if tlv.tag not in _DER_STRINGS:
            raise _der.DerError(f"{oid}: not a DER string")
        return tlv.content.decode("utf-8")
    except (_der.DerError, UnicodeDecodeError) as exc:
        raise SignatureError(f"malformed certificate extension: {exc}", field=oid, form="fulcio") from None


def subject_alternative_names(cert: x509.Certificate) -> list[str]:
    """Every SAN value of ``cert``, in extension order: emails, URIs, DNS names, IP addresses and
    Fulcio otherNames (UTF8String)."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    out: list[str] = []
    for name in san:
        if isinstance(name, (x509.RFC822Name, x509.UniformResourceIdentifier, x509.DNSName)):
            out.append(name.value)
        elif isinstance(name, x509.IPAddress):
            out.append(str(name.value))
        elif isinstance(name, x509.OtherName) and name.type_id.dotted_string == OTHERNAME_SAN:
            out.append(_der_string(_unwrap_explicit(name.value), OTHERNAME_SAN))
    return out


def _unwrap_explicit(value: bytes) -> bytes:
    """An otherName value as ``cryptography`` gives it: the [0] EXPLICIT wrapper's content, or the
    wrapper itself depending on version; return the inner element's DER."""
    try:
        tlv = _der.parse(value, "otherName")
    except _der.DerError:
        return value
    if tlv.tag == _der.CONTEXT_0:
        inner = tlv.children("otherName")
        return inner[0].raw if len(inner) == 1 else value
    return value


def summarize_certificate(cert: x509.Certificate) -> SignerSummary:
    """sigstore-go's certificate summary: issuer name as Go prints it, the first URI SAN, else
    email, else otherName; the OIDC issuer; Fulcio's build extensions. Raises SignatureError for
    a malformed Fulcio extension."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        san = None
    first = ""
    if san is not None:
        uris = san.get_values_for_type(x509.UniformResourceIdentifier)
        emails = san.get_values_for_type(x509.RFC822Name)
        first = uris[0] if uris else emails[0] if emails else ""
    if not first:
        others = [n for n in subject_alternative_names(cert) if n]
        first = others[0] if others else ""
    issuer = ""
    extensions: dict[str, str] = {}
    legacy_issuer = ""
    for ext in cert.extensions:
        oid = ext.oid.dotted_string
        if not oid.startswith(_FULCIO) or not isinstance(ext.value, x509.UnrecognizedExtension):
            continue
        suffix = oid[len(_FULCIO) :]
        if oid == OIDC_ISSUER:
            legacy_issuer = ext.value.value.decode("utf-8", "replace")
        elif oid == OIDC_ISSUER_V2:
            issuer = _der_string(ext.value.value, oid)
        elif suffix in _EXTENSIONS:
            extensions[_EXTENSIONS[suffix]] = _der_string(ext.value.value, oid)
    ordered = {name: extensions[name] for name in _EXTENSIONS.values() if name in extensions}
    with warnings.catch_warnings():
        # cryptography warns about country names that are not two letters (Fulcio test CAs use "USA").
        warnings.simplefilter("ignore", UserWarning)
        issuer_name = cert.issuer.rfc4514_string(_GO_NAMES)
    return SignerSummary(
        certificate_issuer=issuer_name,
        subject_alternative_name=first,
        issuer=issuer or legacy_issuer,
        extensions=ordered,
    )


def check_identity(
    cert: x509.Certificate, policy: KeylessPolicy, *, path: str | None = None
) -> SignerSummary:
    """The certificate's summary, if ``policy.identity`` is one of its SANs and ``policy.issuer``
    its OIDC issuer. Raises SignatureVerificationError (``identity-mismatch``,
    ``issuer-mismatch``)."""
    summary = summarize_certificate(cert)
    names = subject_alternative_names(cert)
    if policy.identity not in names:
        raise SignatureVerificationError(
            Failure.IDENTITY_MISMATCH.value,
            f"certificate identity {', '.join(names) or '(none)'} is not {policy.identity}",
            path=path,
        )
    if summary.issuer != policy.issuer:
        raise SignatureVerificationError(
            Failure.ISSUER_MISMATCH.value,
            f"certificate OIDC issuer {summary.issuer or '(none)'} is not {policy.issuer}",
            path=path,
        )
    return summary


def verify_keyless(
    cert: x509.Certificate,
    policy: KeylessPolicy,
    times: Sequence[SignedTime],
    *,
    chain: Sequence[x509.Certificate] = (),
    path: str | None = None,
) -> SignerSummary:
    """Check a signing certificate: it chains to ``policy.fulcio`` at every trusted signing time
    in ``times`` (``chain``: intermediates the signature carries, untrusted) with code signing
    usage, and it names ``policy``'s identity and issuer. Returns its summary.

    Raises TrustedTimeRequiredError when ``times`` is empty, SignatureVerificationError
    otherwise. (The signature itself is the caller's to check, with the certificate's key.)
    """
    if not times:
        raise TrustedTimeRequiredError(
            Failure.NO_TRUSTED_TIME.value,
            "a trusted signing time is needed to verify a certificate signature: give a Rekor public "
            "key for the signature's transparency log entry, or a timestamp authority root for its "
            "RFC 3161 timestamp",
            path=path,
        )
    for when in times:
        verify_chain(cert, policy.fulcio, when.time, purpose=CODE_SIGNING, untrusted=chain, path=path)
    return check_identity(cert, policy, path=path)


@record(frozen=True, slots=True)
class Signer:
    """Who must have made a signature: the ``key`` that checks it, and ``verifier_der``, what a
    log entry must name (the certificate's DER, or the key's SubjectPublicKeyInfo); for keyless
    signatures the ``certificate`` and the intermediates the signature carries (``chain``)."""

    key: PublicKey
    verifier_der: bytes
    certificate: x509.Certificate | None = None
    chain: tuple[x509.Certificate, ...] = ()


def resolve_signer(
    verifier: PublicKey | KeylessPolicy,
    certificate: x509.Certificate | None,
    chain: Sequence[x509.Certificate] = (),
    *,
    path: str | None = None,
) -> Signer:
    """The signer to check a signature against: the given key, or (keyless) the signature's
    certificate. Raises SignatureError when keyless verification has no certificate, and
    SignatureVerificationError (``bad-signature``) when a key is given and the signature's
    certificate is for another key."""
    if isinstance(verifier, KeylessPolicy):
        if certificate is None:
            raise SignatureError(
                "keyless verification needs a certificate; the signature has none", path=path
            )
        key = certificate_public_key(certificate, path=path)
        return Signer(key, certificate.public_bytes(Encoding.DER), certificate, tuple(chain))
    if certificate is not None:
        if public_key_info(certificate) != public_key_der(verifier):
            raise SignatureVerificationError(
                Failure.BAD_SIGNATURE.value, "the signature's certificate is for another key", path=path
            )
        return Signer(verifier, certificate.public_bytes(Encoding.DER), certificate, tuple(chain))
    return Signer(verifier, public_key_der(verifier))


def check_signer(
    verifier: PublicKey | KeylessPolicy,
    signer: Signer,
    *,
    signature: bytes,
    payload_sha256: bytes,
    entries: Sequence[LogEntry],
    timestamps: Sequence[bytes],
    trust: TrustedTime,
    path: str | None = None,
) -> tuple[list[SignedTime], list[str], SignerSummary | None]:
    """After the signature itself verified with ``signer.key``: its signing times and warnings
    (:func:`signing_times`) and, keylessly, the certificate checked at those times
    (:func:`verify_keyless`) and summarized. Raises SignatureVerificationError."""
    times, warnings = signing_times(
        signature=signature,
        verifier_der=signer.verifier_der,
        payload_sha256=payload_sha256,
        entries=entries,
        timestamps=timestamps,
        trust=trust,
        path=path,
    )
    summary = None
    if isinstance(verifier, KeylessPolicy) and signer.certificate is not None:
        summary = verify_keyless(signer.certificate, verifier, times, chain=signer.chain, path=path)
    return times, warnings, summary
