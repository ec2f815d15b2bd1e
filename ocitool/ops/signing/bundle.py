"""Sigstore bundles (the protobuf-specs ``Bundle`` in its JSON mapping): read v0.1 to v0.3, write
v0.3, verify with a key or keylessly.

A bundle is ``{"mediaType", "verificationMaterial", "dsseEnvelope" | "messageSignature"}``:

* ``verificationMaterial`` holds the signer: ``publicKey.hint`` (cosign writes base64 of SHA-256
  over the key's DER), or ``certificate.rawBytes`` (v0.3), or ``x509CertificateChain.certificates``
  (v0.1/v0.2, leaf first); ``tlogEntries`` (Rekor entries: ``logIndex``, ``logId.keyId``,
  ``kindVersion``, ``integratedTime``, ``inclusionPromise.signedEntryTimestamp``,
  ``canonicalizedBody``; integers as decimal strings) and
  ``timestampVerificationData.rfc3161Timestamps[].signedTimestamp``;
* ``dsseEnvelope`` (an in-toto statement: cosign 3's image signatures and attestations) or
  ``messageSignature`` (``messageDigest {algorithm: SHA2_256, digest}``, ``signature``: blobs).

Bytes fields are base64, standard or URL-safe, padded or not (protobuf's JSON mapping).
cosign 3 stores an image's bundle as an OCI 1.1 referrer whose ``artifactType`` is
:data:`MEDIA_TYPE_V03`; finding it is the formats' business, this module takes its bytes.
"""

from __future__ import annotations

import hashlib
from typing import Final

from cryptography import x509

from ocitool._go import json as gojson
from ocitool._record import record
from ocitool.errors import SignatureError, SignatureVerificationError
from ocitool.model.digest import Digest
from ocitool.ops.signing import keys
from ocitool.ops.signing._common import Doc, load_document
from ocitool.ops.signing.certificates import certificate_from_der
from ocitool.ops.signing.dsse import (
    IN_TOTO_PAYLOAD_TYPE,
    Envelope,
    build_statement,
    parse_envelope,
    parse_statement,
    sign_envelope,
    verify_envelope,
)
from ocitool.ops.signing.keyless import KeylessPolicy, LogEntry, TrustedTime, check_signer, resolve_signer
from ocitool.ops.signing.result import Failure, SignatureForm, VerifyResult

__all__ = [
    "MEDIA_TYPE_V03",
    "Bundle",
    "MessageSignature",
    "build_bundle",
    "parse_bundle",
    "sign_image_bundle",
    "verify_bundle",
]

MEDIA_TYPE_V03: Final = "application/vnd.dev.sigstore.bundle.v0.3+json"
_MEDIA_TYPES: Final = {
    "application/vnd.dev.sigstore.bundle+json;version=0.1": 1,
    "application/vnd.dev.sigstore.bundle+json;version=0.2": 2,
    "application/vnd.dev.sigstore.bundle+json;version=0.3": 3,
    MEDIA_TYPE_V03: 3,
}
_HASH_NAMES: Final = {"SHA2_256": "sha256", "SHA2_384": "sha384", "SHA2_512": "sha512"}
_FORM: Final = SignatureForm.BUNDLE_V03


@record(frozen=True, slots=True)
class MessageSignature:
    """A signature over an artifact known by its digest (``algorithm``: sha256/sha384/sha512)."""

    algorithm: str
    digest: bytes
    signature: bytes


@record(frozen=True, slots=True)
class Bundle:
    """A parsed bundle. Exactly one of ``envelope`` and ``message_signature`` is set; at most
    one of ``certificate`` and ``public_key_hint`` (``chain``: the intermediates after the leaf,
    from a v0.1/v0.2 ``x509CertificateChain``)."""

    media_type: str
    version: int
    certificate: x509.Certificate | None
    chain: tuple[x509.Certificate, ...]
    public_key_hint: str | None
    tlog_entries: tuple[LogEntry, ...]
    rfc3161_timestamps: tuple[bytes, ...]
    envelope: Envelope | None
    message_signature: MessageSignature | None

    @property
    def signature(self) -> bytes:
        """The signature bytes (the DSSE envelope's only signature, or the message signature)."""
        if self.envelope is not None:
            return self.envelope.signatures[0].sig
        assert self.message_signature is not None
        return self.message_signature.signature


def _entry(doc: Doc, version: int) -> LogEntry:
    kind = doc.obj("kindVersion")
    promise = doc.get_obj("inclusionPromise")
    entry = LogEntry(
        body=doc.blob("canonicalizedBody"),
        integrated_time=doc.integer("integratedTime") if doc.has("integratedTime") else 0,
        log_index=doc.integer("logIndex"),
        log_id=doc.obj("logId").blob("keyId"),
        signed_entry_timestamp=promise.blob("signedEntryTimestamp") if promise is not None else None,
        kind=kind.text("kind"),
        version=kind.text("version"),
    )
    if version == 1 and entry.signed_entry_timestamp is None:
        raise doc.error("a v0.1 bundle's log entry needs an inclusion promise", "inclusionPromise")
    return entry


def parse_bundle(data: bytes, *, path: str = "<bundle>") -> Bundle:
    """Parse a bundle (v0.1, v0.2 or v0.3) within the bounded-JSON limits.

    Raises SignatureError: unknown media type, bad base64 or certificates, both or neither of
    the signature kinds or of the verification materials, a DSSE envelope without exactly one
    signature, a message digest algorithm other than SHA-2.
    """
    doc = load_document(data, path=path, form=_FORM.value)
    media_type = doc.text("mediaType")
    version = _MEDIA_TYPES.get(media_type)
    if version is None:
        raise doc.error(f"unsupported bundle media type {media_type!r}", "mediaType")
    material = doc.obj("verificationMaterial")
    kinds = [k for k in ("publicKey", "x509CertificateChain", "certificate") if material.has(k)]
    if len(kinds) != 1:
        raise material.error("needs exactly one of publicKey, x509CertificateChain, certificate")
    certificate: x509.Certificate | None = None
    chain: tuple[x509.Certificate, ...] = ()
    hint: str | None = None
    if kinds[0] == "publicKey":
        hint = material.obj("publicKey").get_text("hint") or ""
    elif kinds[0] == "certificate":
        cert = material.obj("certificate")
        certificate = certificate_from_der(cert.blob("rawBytes"), what=cert.where("rawBytes"), path=path)
    else:
        certs = material.obj("x509CertificateChain").objs("certificates", required=True)
        if not certs:
            raise material.error("empty certificate chain", "x509CertificateChain")
        parsed = [
            certificate_from_der(c.blob("rawBytes"), what=c.where("rawBytes"), path=path) for c in certs
        ]
        certificate, chain = parsed[0], tuple(parsed[1:])
    entries = tuple(_entry(e, version) for e in material.objs("tlogEntries"))
    timestamps: tuple[bytes, ...] = ()
    tvd = material.get_obj("timestampVerificationData")
    if tvd is not None:
        timestamps = tuple(t.blob("signedTimestamp") for t in tvd.objs("rfc3161Timestamps"))
    if doc.has("dsseEnvelope") == doc.has("messageSignature"):
        raise doc.error("needs exactly one of dsseEnvelope, messageSignature")
    envelope: Envelope | None = None
    message: MessageSignature | None = None
    if doc.has("dsseEnvelope"):
        envelope = parse_envelope(doc.obj("dsseEnvelope"), path=path)
        if len(envelope.signatures) != 1:
            raise doc.error("a bundle's DSSE envelope must have exactly one signature", "dsseEnvelope")
    else:
        ms = doc.obj("messageSignature")
        md = ms.obj("messageDigest")
        algorithm = _HASH_NAMES.get(md.text("algorithm"))
        if algorithm is None:
            raise md.error(f"unsupported message digest algorithm {md.text('algorithm')!r}", "algorithm")
        message = MessageSignature(algorithm, md.blob("digest"), ms.blob("signature"))
    return Bundle(media_type, version, certificate, chain, hint, entries, timestamps, envelope, message)


def build_bundle(envelope: Envelope, key: keys.PublicKey) -> bytes:
    """A v0.3 bundle for a DSSE ``envelope`` signed by ``key``, as cosign writes one without a
    transparency log or timestamp authority (``--tlog-upload=false``): the key hint, the envelope.
    Compact JSON, fields in protobuf order."""
    document = {
        "mediaType": MEDIA_TYPE_V03,
        "verificationMaterial": {"publicKey": {"hint": keys.key_hint(key)}},
        "dsseEnvelope": envelope.to_json(),
    }
    return gojson.dumps(document, escape_html=False).encode("utf-8")


def sign_image_bundle(manifest_digest: Digest | str, key: keys.PrivateKey) -> bytes:
    """Sign an image as cosign 3 does by default: a v0.3 bundle whose DSSE envelope signs an
    in-toto statement naming the manifest digest (predicate ``https://sigstore.dev/cosign/sign/v1``).
    Raises InvalidDigestError, UnsupportedSignatureError."""
    envelope = sign_envelope(IN_TOTO_PAYLOAD_TYPE, build_statement(manifest_digest), key)
    return build_bundle(envelope, key.public_key())


def _fail(reason: Failure, message: str, path: str | None) -> SignatureVerificationError:
    return SignatureVerificationError(reason.value, message, path=path, form=_FORM.value)


def _check_subject(bundle: Bundle, digest: Digest | None, artifact: bytes | None, path: str | None) -> str:
    """The signed subject digest, after checking it is ``digest`` (or the artifact's)."""
    if bundle.envelope is not None:
        if bundle.envelope.payload_type != IN_TOTO_PAYLOAD_TYPE:
            raise SignatureError(
                f"unsupported DSSE payload type {bundle.envelope.payload_type!r}", path=path, form=_FORM.value
            )
        statement = parse_statement(bundle.envelope.payload, path=path or "<bundle>")
        want = digest or (
            Digest("sha256", hashlib.sha256(artifact).hexdigest()) if artifact is not None else None
        )
        first = statement.subjects[0]
        signed = next(iter(first.digest.items()))
        if want is None:
            return f"{signed[0]}:{signed[1]}"
        if not statement.names_digest(want):
            raise _fail(Failure.DIGEST_MISMATCH, f"no subject of the statement is {want}", path)
        return str(want)
    message = bundle.message_signature
    assert message is not None
    signed_digest = f"{message.algorithm}:{message.digest.hex()}"
    if artifact is not None and hashlib.new(message.algorithm, artifact).digest() != message.digest:
        raise _fail(Failure.DIGEST_MISMATCH, f"the signature is for {signed_digest}, not this artifact", path)
    if digest is not None and (digest.algorithm, digest.encoded) != (message.algorithm, message.digest.hex()):
        raise _fail(
            Failure.DIGEST_MISMATCH, f"the signature is for {signed_digest}, the subject is {digest}", path
        )
    return signed_digest


def verify_bundle(
    bundle: Bundle | bytes,
    verifier: keys.PublicKey | KeylessPolicy,
    *,
    digest: Digest | str | None = None,
    artifact: bytes | None = None,
    trusted_time: TrustedTime | None = None,
    path: str | None = None,
) -> VerifyResult:
    """Verify a bundle (or its bytes) for a subject: ``digest`` (an image manifest digest, or an
    artifact's) and/or the ``artifact`` bytes; with neither, only the signature and signer are
    checked.

    With a key, the signature must verify with it (a bundle carrying a certificate for another
    key fails). Keylessly, the bundle's certificate must chain to ``verifier.fulcio`` at a
    signing time proved by a verified Rekor SET or RFC 3161 timestamp (``trusted_time``) and
    name the policy's identity and issuer. Log entries are also checked against the signature.

    Never raises for a bad bundle: the result says what failed. Raises InvalidDigestError for a
    bad ``digest`` argument.
    """
    expected = Digest.parse(digest) if digest is not None else None
    trust = trusted_time or TrustedTime()
    fingerprint = keys.fingerprint(verifier) if not isinstance(verifier, KeylessPolicy) else ""
    signed = ""
    try:
        parsed = bundle if isinstance(bundle, Bundle) else parse_bundle(bundle, path=path or "<bundle>")
        signer = resolve_signer(verifier, parsed.certificate, parsed.chain, path=path)
        if parsed.envelope is not None:
            verify_envelope(parsed.envelope, signer.key, path=path)
            payload_sha256 = hashlib.sha256(parsed.envelope.payload).digest()
        else:
            message = parsed.message_signature
            assert message is not None
            # The signature covers the artifact; checking it against the bundle's digest of the
            # artifact is the same check, and _check_subject then compares that digest.
            if not keys.verify_digest(signer.key, message.signature, message.digest, message.algorithm):
                raise _fail(Failure.BAD_SIGNATURE, "the message signature does not verify with the key", path)
            payload_sha256 = message.digest
        signed = _check_subject(parsed, expected, artifact, path)
        times, warnings, summary = check_signer(
            verifier,
            signer,
            signature=parsed.signature,
            payload_sha256=payload_sha256,
            entries=parsed.tlog_entries,
            timestamps=parsed.rfc3161_timestamps,
            trust=trust,
            path=path,
        )
    except SignatureError as exc:
        return VerifyResult.failed(_FORM, exc, key_fingerprint=fingerprint, signed_digest=signed)
    return VerifyResult.verified(
        _FORM,
        key_fingerprint=fingerprint,
        signer=summary,
        timestamps=times,
        warnings=warnings,
        signed_digest=signed,
    )
