"""DSSE envelopes and the in-toto statements they sign.

**DSSE** (Dead Simple Signing Envelope, v1): a signature covers the pre-authentication encoding
``PAE(type, payload) = "DSSEv1" SP len(type) SP type SP len(payload) SP payload`` (lengths in
ASCII decimal, of the UTF-8 type and the raw payload), never the JSON around it. The envelope is
``{"payload": <base64>, "payloadType": <type>, "signatures": [{"sig": <base64>, "keyid": <str>}]}``.

**in-toto statements** (``_type`` ``https://in-toto.io/Statement/v0.1`` or ``/v1``) name their
``subject`` artifacts by digest; cosign 3 signs an image as a statement whose one subject is the
image manifest digest and whose ``predicateType`` is ``https://sigstore.dev/cosign/sign/v1``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ocitool._go import json as gojson
from ocitool._record import record
from ocitool.errors import SignatureVerificationError
from ocitool.model.digest import Digest
from ocitool.ops.signing import keys
from ocitool.ops.signing._common import Doc, b64encode, load_document
from ocitool.ops.signing.result import Failure

__all__ = [
    "COSIGN_SIGN_PREDICATE",
    "IN_TOTO_PAYLOAD_TYPE",
    "STATEMENT_V01",
    "STATEMENT_V1",
    "Envelope",
    "EnvelopeSignature",
    "Statement",
    "Subject",
    "build_statement",
    "pae",
    "parse_envelope",
    "parse_statement",
    "sign_envelope",
    "verify_envelope",
]

IN_TOTO_PAYLOAD_TYPE: Final = "application/vnd.in-toto+json"
STATEMENT_V01: Final = "https://in-toto.io/Statement/v0.1"
STATEMENT_V1: Final = "https://in-toto.io/Statement/v1"
COSIGN_SIGN_PREDICATE: Final = "https://sigstore.dev/cosign/sign/v1"
_FORM: Final = "dsse"


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1's pre-authentication encoding: the bytes a DSSE signature covers."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


@record(frozen=True, slots=True)
class EnvelopeSignature:
    """One signature of an envelope: the raw signature bytes and the optional key ID."""

    sig: bytes
    keyid: str = ""


@record(frozen=True, slots=True)
class Envelope:
    """A DSSE envelope (``payload`` decoded)."""

    payload_type: str
    payload: bytes
    signatures: tuple[EnvelopeSignature, ...]

    def to_json(self) -> dict[str, Any]:
        """The envelope's JSON object, fields in the protobuf order sigstore bundles use; an empty
        ``keyid`` is omitted, as protojson omits it."""
        signatures: list[dict[str, str]] = []
        for s in self.signatures:
            item = {"sig": b64encode(s.sig)}
            if s.keyid:
                item["keyid"] = s.keyid
            signatures.append(item)
        return {
            "payload": b64encode(self.payload),
            "payloadType": self.payload_type,
            "signatures": signatures,
        }


def parse_envelope(source: bytes | Doc, *, path: str = "<dsse envelope>") -> Envelope:
    """An envelope from JSON bytes or a JSON object already read (a bundle's ``dsseEnvelope``).

    Raises SignatureError: not JSON, bad base64, missing fields, no signature.
    """
    doc = source if isinstance(source, Doc) else load_document(source, path=path, form=_FORM)
    signatures = tuple(
        EnvelopeSignature(s.blob("sig"), s.get_text("keyid") or "")
        for s in doc.objs("signatures", required=True)
    )
    if not signatures:
        raise doc.error("the envelope has no signature", "signatures")
    return Envelope(doc.text("payloadType"), doc.blob("payload"), signatures)


def sign_envelope(payload_type: str, payload: bytes, key: keys.PrivateKey, *, keyid: str = "") -> Envelope:
    """An envelope with one signature by ``key`` over the PAE (see :func:`keys.sign`)."""
    return Envelope(
        payload_type, payload, (EnvelopeSignature(keys.sign(key, pae(payload_type, payload)), keyid),)
    )


def verify_envelope(envelope: Envelope, key: keys.PublicKey, *, path: str | None = None) -> EnvelopeSignature:
    """The first of the envelope's signatures that ``key`` made over the PAE.

    Raises SignatureVerificationError (``bad-signature``) when none verifies.
    """
    message = pae(envelope.payload_type, envelope.payload)
    for signature in envelope.signatures:
        if keys.verify(key, signature.sig, message):
            return signature
    raise SignatureVerificationError(
        Failure.BAD_SIGNATURE.value, "no DSSE signature verifies with the key", path=path, form=_FORM
    )


@record(frozen=True, slots=True)
class Subject:
    """A statement subject: an optional name and its digests (algorithm -> lowercase hex)."""

    name: str
    digest: Mapping[str, str]


@record(frozen=True, slots=True)
class Statement:
    """An in-toto statement: its ``_type``, subjects, predicate type and predicate (raw JSON)."""

    type: str
    subjects: tuple[Subject, ...]
    predicate_type: str
    predicate: Any

    def names_digest(self, digest: Digest | str) -> bool:
        """Whether one of the subjects has ``digest`` (same algorithm, same hex)."""
        d = Digest.parse(digest)
        return any(s.digest.get(d.algorithm, "").lower() == d.encoded for s in self.subjects)


def parse_statement(payload: bytes, *, path: str = "<in-toto statement>") -> Statement:
    """An in-toto statement (v0.1 or v1) from a DSSE payload.

    Raises SignatureError: not JSON (bounded size and depth), an unknown ``_type``, no subject,
    a subject without digests, a digest that is not a string.
    """
    doc = load_document(payload, path=path, form="in-toto")
    kind = doc.text("_type")
    if kind not in (STATEMENT_V01, STATEMENT_V1):
        raise doc.error(f"not an in-toto statement type: {kind!r}", "_type")
    subjects: list[Subject] = []
    for s in doc.objs("subject", required=True):
        digests = s.obj("digest")
        values = {alg: digests.text(alg).lower() for alg in digests.raw}
        if not values:
            raise s.error("the subject has no digest", "digest")
        subjects.append(Subject(s.get_text("name") or "", values))
    if not subjects:
        raise doc.error("the statement has no subject", "subject")
    return Statement(kind, tuple(subjects), doc.text("predicateType"), doc.raw.get("predicate"))


def build_statement(
    manifest_digest: Digest | str,
    *,
    predicate_type: str = COSIGN_SIGN_PREDICATE,
    predicate: Mapping[str, Any] | None = None,
    name: str = "",
) -> bytes:
    """A v1 statement with one subject, the image manifest digest (cosign 3's image signature
    form: no subject name unless ``name``; an empty predicate unless ``predicate``). Compact JSON
    in the in-toto field order. Raises InvalidDigestError."""
    d = Digest.parse(manifest_digest)
    subject: dict[str, Any] = {"name": name} if name else {}
    subject["digest"] = {d.algorithm: d.encoded}
    document = {
        "_type": STATEMENT_V1,
        "subject": [subject],
        "predicateType": predicate_type,
        "predicate": dict(predicate) if predicate else {},
    }
    return gojson.dumps(document, escape_html=False).encode("utf-8")
