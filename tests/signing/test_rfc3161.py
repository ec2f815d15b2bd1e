"""RFC 3161 timestamps: the real sigstore TSA token verifies; every tampering is caught."""

from __future__ import annotations

import base64
import json

import pytest

from ocitool.errors import SignatureError, SignatureVerificationError
from ocitool.ops.signing.certificates import CertificatePool
from ocitool.ops.signing.rfc3161 import parse_timestamp, verify_timestamp
from ocitool.ops.signing.trustroot import load_trusted_root
from tests import peers

GO = peers.FIXTURES / "signing" / "sigstore-go"


def _material() -> tuple[bytes, bytes, CertificatePool]:
    bundle = json.loads((GO / "public-key-validity.sigstore.json").read_bytes())
    material = bundle["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][0]
    token = base64.b64decode(material["signedTimestamp"])
    signature = base64.b64decode(bundle["messageSignature"]["signature"])
    tsa = load_trusted_root((GO / "public-key-validity.json").read_bytes()).tsa
    assert tsa is not None
    return token, signature, tsa


def test_real_token_verifies() -> None:
    token, signature, tsa = _material()
    stamp = verify_timestamp(token, signature, tsa, uri="https://tsa.test")
    assert (stamp.kind, stamp.time.isoformat(), stamp.uri) == (
        "TimestampAuthority",
        "2026-06-04T17:43:29+00:00",
        "https://tsa.test",
    )
    parsed = parse_timestamp(token)
    assert parsed.certificates == () and parsed.sid_serial is not None


def test_timestamp_of_other_data() -> None:
    token, signature, tsa = _material()
    with pytest.raises(SignatureVerificationError, match="message imprint") as info:
        verify_timestamp(token, signature[:-1] + bytes([signature[-1] ^ 1]), tsa)
    assert info.value.reason == "bad-timestamp"


def test_changed_gen_time_breaks_the_message_digest() -> None:
    token, signature, tsa = _material()
    assert token.count(b"20260604174329Z") == 1
    forged = token.replace(b"20260604174329Z", b"20260604174328Z")
    with pytest.raises(SignatureVerificationError, match="message-digest"):
        verify_timestamp(forged, signature, tsa)


def test_changed_signed_attribute_breaks_the_signature() -> None:
    token, signature, tsa = _material()
    assert token.count(b"260604174329Z") == 2  # genTime and the signing-time attribute (UTCTime)
    at = token.rindex(b"260604174329Z")
    forged = token[:at] + b"260604174328Z" + token[at + 13 :]
    with pytest.raises(SignatureVerificationError, match="signature does not verify"):
        verify_timestamp(forged, signature, tsa)


def test_untrusted_tsa() -> None:
    token, signature, tsa = _material()
    only_root = CertificatePool(tsa.roots)
    with pytest.raises(SignatureVerificationError, match="signer certificate"):
        verify_timestamp(token, signature, only_root)
    fulcio = load_trusted_root((GO / "public-good.json").read_bytes()).fulcio
    # the signer is known, but its chain ends at a root that is not trusted
    with pytest.raises(SignatureVerificationError, match="TSA certificate does not chain"):
        verify_timestamp(token, signature, CertificatePool(fulcio.roots, tsa.intermediates))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "truncated"),
        (b"\x30\x80\x00\x00", "indefinite length"),
        (b"\x30\x05\x30\x03\x02\x01\x02", "not granted"),
        (b"\x30\x03\x30\x01\x02", "truncated"),
        (b"\x30\x00", "not CMS SignedData"),
        (b"\x04\x01\x00", "expected SEQUENCE"),
    ],
)
def test_malformed_tokens(data: bytes, message: str) -> None:
    _, signature, tsa = _material()
    with pytest.raises(SignatureError, match=message) as info:
        verify_timestamp(data, signature, tsa, path="ts.der")
    assert info.value.path == "ts.der"


def test_every_truncation_is_a_typed_error() -> None:
    token, signature, tsa = _material()
    for end in range(len(token)):
        with pytest.raises(SignatureError):
            verify_timestamp(token[:end], signature, tsa)
