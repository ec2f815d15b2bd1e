"""RFC 3161 timestamps: verify that a timestamp authority (TSA) saw a signature at a time.

Sigstore bundles (``timestampVerificationData.rfc3161Timestamps[].signedTimestamp``) and cosign's
``dev.sigstore.cosign/rfc3161timestamp`` annotation carry a DER ``TimeStampResp`` (a bare
``TimeStampToken`` is accepted too). :func:`verify_timestamp` checks, with ``cryptography`` for
every cryptographic step and a strict DER reader for the CMS structure:

1. the response status is granted (0) or granted with modifications (1);
2. the token is CMS ``SignedData`` with exactly one signer, encapsulating a ``TSTInfo``;
3. the signed attributes hold content-type ``id-ct-TSTInfo`` and a message digest equal to the
   hash of the ``TSTInfo``; an ESS signing-certificate(-v2) attribute, when present, names the
   signer certificate's hash;
4. the signer certificate (found by issuer and serial number, or subject key identifier, among the
   token's certificates and the trusted TSA certificates) signed the attributes: ECDSA, RSA PKCS#1
   v1.5 or Ed25519 (RSA-PSS and SHA-1 are refused as unsupported);
5. its extended key usage is exactly time stamping, and critical (RFC 3161 section 2.3), and it
   chains to a trusted TSA root at ``genTime``;
6. the ``messageImprint`` is the hash of the signature bytes being timestamped.

The verified ``genTime`` is returned. BER (indefinite lengths) is refused: TSAs emit DER.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from ocitool._record import record
from ocitool.errors import SignatureError, SignatureVerificationError, UnsupportedSignatureError
from ocitool.ops.signing import _der
from ocitool.ops.signing.certificates import (
    TIME_STAMPING,
    CertificatePool,
    certificate_from_der,
    certificate_public_key,
    names,
    verify_chain,
)
from ocitool.ops.signing.result import TIMESTAMP_AUTHORITY, Failure, SignedTime

__all__ = ["TimestampToken", "parse_timestamp", "verify_timestamp"]

_FORM: Final = "rfc3161"
_SIGNED_DATA: Final = "1.2.840.113549.1.7.2"
_TST_INFO: Final = "1.2.840.113549.1.9.16.1.4"
_ATTR_CONTENT_TYPE: Final = "1.2.840.113549.1.9.3"
_ATTR_MESSAGE_DIGEST: Final = "1.2.840.113549.1.9.4"
_ATTR_SIGNING_CERT: Final = "1.2.840.113549.1.9.16.2.12"
_ATTR_SIGNING_CERT_V2: Final = "1.2.840.113549.1.9.16.2.47"
_DIGESTS: Final[dict[str, type[hashes.HashAlgorithm]]] = {
    "2.16.840.1.101.3.4.2.1": hashes.SHA256,
    "2.16.840.1.101.3.4.2.2": hashes.SHA384,
    "2.16.840.1.101.3.4.2.3": hashes.SHA512,
}
_ECDSA_SIGS: Final[dict[str, type[hashes.HashAlgorithm] | None]] = {
    "1.2.840.10045.2.1": None,  # id-ecPublicKey: the digest algorithm's hash
    "1.2.840.10045.4.3.2": hashes.SHA256,
    "1.2.840.10045.4.3.3": hashes.SHA384,
    "1.2.840.10045.4.3.4": hashes.SHA512,
}
_RSA_SIGS: Final[dict[str, type[hashes.HashAlgorithm] | None]] = {
    "1.2.840.113549.1.1.1": None,  # rsaEncryption: the digest algorithm's hash
    "1.2.840.113549.1.1.11": hashes.SHA256,
    "1.2.840.113549.1.1.12": hashes.SHA384,
    "1.2.840.113549.1.1.13": hashes.SHA512,
}
_ED25519: Final = "1.3.101.112"


@record(frozen=True, slots=True)
class TimestampToken:
    """The parts of a timestamp token that verification uses (nothing here is verified yet)."""

    gen_time: dt.datetime
    imprint_algorithm: type[hashes.HashAlgorithm]
    imprint: bytes
    serial_number: int
    tst_info: bytes
    digest_algorithm: type[hashes.HashAlgorithm]
    signed_attributes: bytes  # DER, re-tagged as SET OF: the bytes the signature covers
    attributes: dict[str, list[_der.Tlv]]
    signature_algorithm: str
    signature: bytes
    sid_issuer: bytes | None  # DER Name, with sid_serial
    sid_serial: int | None
    sid_key_id: bytes | None
    certificates: tuple[x509.Certificate, ...]


def _hash(oid: str, what: str) -> type[hashes.HashAlgorithm]:
    factory = _DIGESTS.get(oid)
    if factory is None:
        raise UnsupportedSignatureError(f"unsupported hash algorithm {oid}", field=what, form=_FORM)
    return factory


def _digest(factory: type[hashes.HashAlgorithm], data: bytes) -> bytes:
    h = hashes.Hash(factory())
    h.update(data)
    return h.finalize()


def _algorithm(tlv: _der.Tlv, what: str) -> str:
    """The OID of an AlgorithmIdentifier (parameters, if any, are not used by these algorithms)."""
    parts = tlv.expect(_der.SEQUENCE, what).children(what)
    if not parts:
        raise _der.DerError(f"{what}: empty AlgorithmIdentifier")
    return parts[0].oid(what)


def parse_timestamp(data: bytes, *, path: str | None = None) -> TimestampToken:
    """Read a DER TimeStampResp (or TimeStampToken). Raises SignatureError when it is malformed
    or not granted, UnsupportedSignatureError for algorithms ocitool cannot check."""
    try:
        return _parse(data)
    except _der.DerError as exc:
        raise SignatureError(f"malformed RFC 3161 timestamp: {exc}", path=path, form=_FORM) from None
    except SignatureError as exc:
        if exc.path is None:
            exc.path = path
        raise


def _parse(data: bytes) -> TimestampToken:
    top = _der.parse(data, "TimeStampResp").expect(_der.SEQUENCE, "TimeStampResp").children("TimeStampResp")
    if top and top[0].tag == _der.SEQUENCE:
        status = top[0].children("PKIStatusInfo")
        code = status[0].integer("PKIStatusInfo.status") if status else -1
        if code not in (0, 1):
            raise SignatureError(f"timestamp was not granted (status {code})", form=_FORM)
        if len(top) < 2:
            raise SignatureError("timestamp response holds no token", form=_FORM)
        token = top[1].expect(_der.SEQUENCE, "TimeStampToken").children("TimeStampToken")
    else:
        token = top
    if len(token) != 2 or token[0].oid("ContentInfo.contentType") != _SIGNED_DATA:
        raise _der.DerError("TimeStampToken: not CMS SignedData")
    explicit = token[1].expect(_der.CONTEXT_0, "ContentInfo.content").children("ContentInfo.content")
    if len(explicit) != 1:
        raise _der.DerError("ContentInfo.content: expected one SignedData")
    signed = explicit[0].expect(_der.SEQUENCE, "SignedData").children("SignedData")
    if len(signed) < 4:
        raise _der.DerError("SignedData: too few fields")
    encap = signed[2].expect(_der.SEQUENCE, "encapContentInfo").children("encapContentInfo")
    if len(encap) != 2 or encap[0].oid("eContentType") != _TST_INFO:
        raise SignatureError("the token does not encapsulate a TSTInfo", field="eContentType", form=_FORM)
    econtent = encap[1].expect(_der.CONTEXT_0, "eContent").children("eContent")
    if len(econtent) != 1:
        raise _der.DerError("eContent: expected one OCTET STRING")
    tst_info = econtent[0].octets("eContent")
    certificates: list[x509.Certificate] = []
    for part in signed[3:-1]:
        if part.tag == _der.CONTEXT_0:
            for item in part.children("certificates"):
                if item.tag == _der.SEQUENCE:
                    certificates.append(certificate_from_der(item.raw, what="SignedData.certificates"))
        elif part.tag != _der.CONTEXT_1:
            raise _der.DerError(f"SignedData: unexpected tag 0x{part.tag:02x}")
    signer_infos = signed[-1].expect(_der.SET, "signerInfos").children("signerInfos")
    if len(signer_infos) != 1:
        raise SignatureError(
            f"expected one signer, found {len(signer_infos)}", field="signerInfos", form=_FORM
        )
    info = signer_infos[0].expect(_der.SEQUENCE, "SignerInfo").children("SignerInfo")
    if len(info) < 6:
        raise _der.DerError("SignerInfo: too few fields")
    sid_issuer = sid_key_id = None
    sid_serial = None
    if info[1].tag == _der.SEQUENCE:
        issuer_serial = info[1].children("IssuerAndSerialNumber")
        if len(issuer_serial) != 2:
            raise _der.DerError("IssuerAndSerialNumber: expected issuer and serial")
        sid_issuer = issuer_serial[0].expect(_der.SEQUENCE, "sid.issuer").raw
        sid_serial = issuer_serial[1].integer("sid.serialNumber")
    else:
        sid_key_id = info[1].expect(_der.CONTEXT_PRIMITIVE_0, "sid.subjectKeyIdentifier").content
    digest_algorithm = _hash(_algorithm(info[2], "SignerInfo.digestAlgorithm"), "SignerInfo.digestAlgorithm")
    if info[3].tag != _der.CONTEXT_0:
        raise SignatureError("the signer has no signed attributes", field="signedAttrs", form=_FORM)
    attributes: dict[str, list[_der.Tlv]] = {}
    for attr in info[3].children("signedAttrs"):
        parts = attr.expect(_der.SEQUENCE, "Attribute").children("Attribute")
        if len(parts) != 2:
            raise _der.DerError("Attribute: expected type and values")
        attributes[parts[0].oid("Attribute.type")] = (
            parts[1].expect(_der.SET, "Attribute.values").children("Attribute.values")
        )
    signature_algorithm = _algorithm(info[4], "SignerInfo.signatureAlgorithm")
    signature = info[5].octets("SignerInfo.signature")

    tst = _der.parse(tst_info, "TSTInfo").expect(_der.SEQUENCE, "TSTInfo").children("TSTInfo")
    if len(tst) < 5:
        raise _der.DerError("TSTInfo: too few fields")
    if tst[0].integer("TSTInfo.version") != 1:
        raise SignatureError("unsupported TSTInfo version", field="TSTInfo.version", form=_FORM)
    tst[1].oid("TSTInfo.policy")
    imprint = tst[2].expect(_der.SEQUENCE, "messageImprint").children("messageImprint")
    if len(imprint) != 2:
        raise _der.DerError("messageImprint: expected algorithm and hash")
    return TimestampToken(
        gen_time=tst[4].generalized_time("TSTInfo.genTime"),
        imprint_algorithm=_hash(_algorithm(imprint[0], "messageImprint.hashAlgorithm"), "messageImprint"),
        imprint=imprint[1].octets("messageImprint.hashedMessage"),
        serial_number=tst[3].integer("TSTInfo.serialNumber"),
        tst_info=tst_info,
        digest_algorithm=digest_algorithm,
        signed_attributes=bytes([_der.SET]) + info[3].raw[1:],
        attributes=attributes,
        signature_algorithm=signature_algorithm,
        signature=signature,
        sid_issuer=sid_issuer,
        sid_serial=sid_serial,
        sid_key_id=sid_key_id,
        certificates=tuple(certificates),
    )


def _matches_sid(cert: x509.Certificate, token: TimestampToken) -> bool:
    if token.sid_issuer is not None:
        return cert.serial_number == token.sid_serial and names(cert)[0] == token.sid_issuer
    try:
        ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        return False
    return ski == token.sid_key_id


def _fail(message: str, path: str | None, field: str | None = None) -> SignatureVerificationError:
    return SignatureVerificationError(
        Failure.BAD_TIMESTAMP.value, message, path=path, field=field, form=_FORM
    )


def _check_attributes(token: TimestampToken, signer: x509.Certificate, path: str | None) -> None:
    content_type = token.attributes.get(_ATTR_CONTENT_TYPE)
    if not content_type or len(content_type) != 1 or content_type[0].oid("content-type") != _TST_INFO:
        raise _fail("the signed content-type attribute is not id-ct-TSTInfo", path, "signedAttrs")
    message_digest = token.attributes.get(_ATTR_MESSAGE_DIGEST)
    if not message_digest or len(message_digest) != 1:
        raise _fail("no message-digest attribute", path, "signedAttrs")
    if message_digest[0].octets("message-digest") != _digest(token.digest_algorithm, token.tst_info):
        raise _fail("the message-digest attribute does not match the TSTInfo", path, "signedAttrs")
    der = signer.public_bytes(Encoding.DER)
    v2 = token.attributes.get(_ATTR_SIGNING_CERT_V2)
    if v2:
        ids = v2[0].expect(_der.SEQUENCE, "SigningCertificateV2").children("SigningCertificateV2")
        first = ids[0].expect(_der.SEQUENCE, "certs").children("certs")[0] if ids else None
        parts = first.expect(_der.SEQUENCE, "ESSCertIDv2").children("ESSCertIDv2") if first else []
        if not parts:
            raise _fail("empty signing-certificate-v2 attribute", path, "signedAttrs")
        factory: type[hashes.HashAlgorithm] = hashes.SHA256
        if parts[0].tag == _der.SEQUENCE:
            factory = _hash(_algorithm(parts[0], "ESSCertIDv2.hashAlgorithm"), "ESSCertIDv2")
            parts = parts[1:]
        if not parts or parts[0].octets("ESSCertIDv2.certHash") != _digest(factory, der):
            raise _fail("the signing-certificate-v2 attribute names another certificate", path, "signedAttrs")
    v1 = token.attributes.get(_ATTR_SIGNING_CERT)
    if v1:
        ids = v1[0].expect(_der.SEQUENCE, "SigningCertificate").children("SigningCertificate")
        first = ids[0].expect(_der.SEQUENCE, "certs").children("certs")[0] if ids else None
        parts = first.expect(_der.SEQUENCE, "ESSCertID").children("ESSCertID") if first else []
        # ESSCertID's hash is SHA-1 by definition (RFC 2634): it names a certificate, it signs nothing.
        if not parts or parts[0].octets("ESSCertID.certHash") != hashlib.sha1(der).digest():
            raise _fail("the signing-certificate attribute names another certificate", path, "signedAttrs")


def _check_signature(token: TimestampToken, signer: x509.Certificate, path: str | None) -> None:
    key = certificate_public_key(signer, path=path)
    data = token.signed_attributes
    oid = token.signature_algorithm
    try:
        if oid in _ECDSA_SIGS and isinstance(key, ec.EllipticCurvePublicKey):
            factory = _ECDSA_SIGS[oid] or token.digest_algorithm
            key.verify(token.signature, data, ec.ECDSA(factory()))
        elif oid in _RSA_SIGS and isinstance(key, rsa.RSAPublicKey):
            factory = _RSA_SIGS[oid] or token.digest_algorithm
            key.verify(token.signature, data, padding.PKCS1v15(), factory())
        elif oid == _ED25519 and isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(token.signature, data)
        else:
            raise UnsupportedSignatureError(
                f"unsupported timestamp signature algorithm {oid} for a {type(key).__name__}",
                path=path,
                form=_FORM,
            )
    except InvalidSignature:
        raise _fail("the timestamp authority's signature does not verify", path, "signature") from None


def verify_timestamp(
    data: bytes, signature: bytes, tsa: CertificatePool, *, path: str | None = None, uri: str = ""
) -> SignedTime:
    """Verify that the RFC 3161 timestamp ``data`` covers ``signature`` and was issued by a TSA
    chaining to ``tsa``'s roots; return its ``genTime`` (kind ``TimestampAuthority``).

    Raises SignatureVerificationError (``bad-timestamp``) when it does not verify,
    SignatureError when it is malformed, UnsupportedSignatureError for algorithms not handled.
    """
    token = parse_timestamp(data, path=path)
    candidates = [c for c in (*token.certificates, *tsa.all()) if _matches_sid(c, token)]
    if not candidates:
        raise _fail("the timestamp's signer certificate is neither in the token nor trusted", path, "sid")
    signer = candidates[0]
    try:
        _check_attributes(token, signer, path)
    except _der.DerError as exc:
        raise SignatureError(f"malformed RFC 3161 timestamp: {exc}", path=path, form=_FORM) from None
    _check_signature(token, signer, path)
    try:
        eku = signer.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        raise _fail("the TSA certificate has no extended key usage", path) from None
    if not eku.critical or list(eku.value) != [TIME_STAMPING]:
        raise _fail("the TSA certificate's extended key usage must be time stamping only, and critical", path)
    try:
        verify_chain(
            signer, tsa, token.gen_time, purpose=TIME_STAMPING, untrusted=token.certificates, path=path
        )
    except SignatureVerificationError as exc:
        raise _fail(f"TSA {exc.message}", path) from None
    if token.imprint != _digest(token.imprint_algorithm, signature):
        raise _fail("the timestamp is for other data: its message imprint is not the signature's hash", path)
    return SignedTime(TIMESTAMP_AUTHORITY, token.gen_time, uri)
