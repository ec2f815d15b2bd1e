"""Sign and verify cosign's simple signing signatures (the layers of a ``.sig`` image, and the
``signature-N`` files of a ``dir:`` copy).

A signature is the payload (:mod:`.payload`) plus annotations; the signature itself is
``dev.cosignproject.cosign/signature``: base64 of the key's signature over the payload bytes
(ECDSA P-256: an ASN.1 DER signature over SHA-256 of the payload). Keyless signatures add the
Fulcio certificate (``dev.sigstore.cosign/certificate``, PEM), its chain (``.../chain``, PEM),
the Rekor entry (``.../bundle``, see :func:`~.keyless.parse_cosign_bundle_annotation`) and an
RFC 3161 timestamp (``.../rfc3161timestamp``: ``{"SignedRFC3161Timestamp": <base64 DER>}``).

:func:`verify_simple_signing` checks, in cosign's order: the signature over the payload bytes
(with the key, or the certificate's key), then what the payload claims (cosign's type, the signed
manifest digest against the image's, optionally the docker-reference), then the log entry and
timestamp, and for keyless signatures the certificate chain at the trusted signing time and the
signer's identity. It returns a :class:`~.result.VerifyResult` for good and bad signatures alike.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, Final

from cryptography import x509

from ocitool._record import field, record
from ocitool.errors import SignatureError, SignatureVerificationError
from ocitool.model.digest import Digest
from ocitool.ops.signing import keys
from ocitool.ops.signing._common import b64decode, b64encode, load_document
from ocitool.ops.signing.certificates import load_certificates
from ocitool.ops.signing.keyless import (
    KeylessPolicy,
    LogEntry,
    TrustedTime,
    check_signer,
    parse_cosign_bundle_annotation,
    resolve_signer,
)
from ocitool.ops.signing.payload import build_payload, parse_payload, reference_matches
from ocitool.ops.signing.result import Failure, SignatureForm, VerifyResult

__all__ = [
    "BUNDLE_ANNOTATION",
    "CERTIFICATE_ANNOTATION",
    "CHAIN_ANNOTATION",
    "RFC3161_ANNOTATION",
    "SIGNATURE_ANNOTATION",
    "SimpleSignature",
    "sign_image",
    "sign_payload",
    "verify_simple_signing",
]

SIGNATURE_ANNOTATION: Final = "dev.cosignproject.cosign/signature"
CERTIFICATE_ANNOTATION: Final = "dev.sigstore.cosign/certificate"
CHAIN_ANNOTATION: Final = "dev.sigstore.cosign/chain"
BUNDLE_ANNOTATION: Final = "dev.sigstore.cosign/bundle"
RFC3161_ANNOTATION: Final = "dev.sigstore.cosign/rfc3161timestamp"
_FORM: Final = SignatureForm.SIMPLE_SIGNING


@record(frozen=True, slots=True)
class SimpleSignature:
    """A simple signing signature as stored: the payload bytes and the annotations (the ``.sig``
    layer's, or a ``signature-N`` file's)."""

    payload: bytes
    annotations: Mapping[str, str] = field(default_factory=dict)

    def signature(self, *, path: str | None = None) -> bytes:
        """The decoded signature annotation. Raises SignatureError when absent or not base64."""
        text = self.annotations.get(SIGNATURE_ANNOTATION)
        if text is None:
            raise SignatureError(
                f"no {SIGNATURE_ANNOTATION} annotation", path=path, field="annotations", form=_FORM.value
            )
        return b64decode(text, what=f"annotations/{SIGNATURE_ANNOTATION}", path=path, form=_FORM.value)


def sign_payload(payload: bytes, key: keys.PrivateKey) -> str:
    """The ``dev.cosignproject.cosign/signature`` value for ``payload``: base64 of ``key``'s
    signature over the payload bytes (see :func:`keys.sign`)."""
    return b64encode(keys.sign(key, payload))


def sign_image(
    manifest_digest: Digest | str,
    docker_reference: str,
    key: keys.PrivateKey,
    *,
    optional: Mapping[str, Any] | None = None,
) -> SimpleSignature:
    """Sign an image manifest digest as cosign does: its payload (:func:`.payload.build_payload`)
    and the signature annotation. Raises InvalidDigestError, UnsupportedSignatureError."""
    payload = build_payload(manifest_digest, docker_reference, optional)
    return SimpleSignature(payload, {SIGNATURE_ANNOTATION: sign_payload(payload, key)})


def _timestamps(annotations: Mapping[str, str], path: str | None) -> list[bytes]:
    text = annotations.get(RFC3161_ANNOTATION)
    if text is None:
        return []
    doc = load_document(text.encode("utf-8"), path=path or "<rfc3161 annotation>", form=_FORM.value)
    return [doc.blob("SignedRFC3161Timestamp", lenient=False)]


def _entries(annotations: Mapping[str, str], path: str | None) -> list[LogEntry]:
    text = annotations.get(BUNDLE_ANNOTATION)
    return [] if text is None else [parse_cosign_bundle_annotation(text, path=path or "<bundle annotation>")]


def verify_simple_signing(
    signature: SimpleSignature,
    verifier: keys.PublicKey | KeylessPolicy,
    *,
    manifest_digest: Digest | str,
    docker_reference: str | None = None,
    trusted_time: TrustedTime | None = None,
    path: str | None = None,
) -> VerifyResult:
    """Verify one simple signing signature for the image whose manifest digest is
    ``manifest_digest``.

    ``verifier`` is the public key (``--key``; certificate annotations are then not used, as
    cosign ignores them) or a keyless policy (Fulcio roots, identity, issuer).
    ``docker_reference``, when given, must be vouched for by the payload's claim (see
    :func:`.payload.reference_matches`). ``trusted_time`` says which Rekor keys and TSA roots to
    trust; keyless signatures need one of them to verify.

    Never raises for a bad signature: the result says what failed (``bad-signature``,
    ``digest-mismatch``, ``not-simple-signing``, ``malformed``, ...). Raises InvalidDigestError
    for a bad ``manifest_digest`` argument.
    """
    expected = Digest.parse(manifest_digest)
    trust = trusted_time or TrustedTime()
    fingerprint = keys.fingerprint(verifier) if not isinstance(verifier, KeylessPolicy) else ""
    claim: tuple[str, str] = ("", "")
    try:
        raw_signature = signature.signature(path=path)
        cert, chain = (
            _certificates(signature.annotations, path) if isinstance(verifier, KeylessPolicy) else (None, [])
        )
        signer = resolve_signer(verifier, cert, chain, path=path)
        if not keys.verify(signer.key, raw_signature, signature.payload):
            raise SignatureVerificationError(
                Failure.BAD_SIGNATURE.value,
                "the signature does not verify with the " + ("certificate's key" if cert else "key"),
                path=path,
            )
        payload = parse_payload(signature.payload, path=path or "<payload>")
        claim = (payload.docker_reference, str(payload.manifest_digest))
        if payload.manifest_digest != expected:
            raise SignatureVerificationError(
                Failure.DIGEST_MISMATCH.value,
                f"the signature is for {payload.manifest_digest}, the image is {expected}",
                path=path,
            )
        if docker_reference is not None and not reference_matches(payload.docker_reference, docker_reference):
            raise SignatureVerificationError(
                Failure.REFERENCE_MISMATCH.value,
                f"the signature is for {payload.docker_reference}, not {docker_reference}",
                path=path,
            )
        times, warnings, summary = check_signer(
            verifier,
            signer,
            signature=raw_signature,
            payload_sha256=hashlib.sha256(signature.payload).digest(),
            entries=_entries(signature.annotations, path),
            timestamps=_timestamps(signature.annotations, path),
            trust=trust,
            path=path,
        )
    except SignatureError as exc:
        return VerifyResult.failed(
            _FORM, exc, key_fingerprint=fingerprint, docker_reference=claim[0], signed_digest=claim[1]
        )
    return VerifyResult.verified(
        _FORM,
        key_fingerprint=fingerprint,
        signer=summary,
        timestamps=times,
        warnings=warnings,
        docker_reference=claim[0],
        signed_digest=claim[1],
    )


def _certificates(
    annotations: Mapping[str, str], path: str | None
) -> tuple[x509.Certificate, list[x509.Certificate]]:
    text = annotations.get(CERTIFICATE_ANNOTATION)
    if not text:
        raise SignatureError(
            f"keyless verification needs a certificate: no {CERTIFICATE_ANNOTATION} annotation",
            path=path,
            form=_FORM.value,
        )
    cert = load_certificates(text.encode("utf-8"), path=path or "<certificate annotation>")[0]
    chain_text = annotations.get(CHAIN_ANNOTATION)
    chain = (
        load_certificates(chain_text.encode("utf-8"), path=path or "<chain annotation>") if chain_text else []
    )
    return cert, chain
