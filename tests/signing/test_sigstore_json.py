"""containers/image ``signature-N`` files: real ones parse and re-encode byte for byte; other
formats are refused by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from ocitool.errors import SignatureError, UnsupportedSignatureError
from ocitool.ops.signing.payload import MEDIA_TYPE
from ocitool.ops.signing.sigstore_json import (
    SigstoreSignature,
    parse_signature_file,
    signature_file,
    signature_file_name,
)
from tests import peers

REAL = peers.REAL / "signing"


def _real_files() -> list[Path]:
    peers.real_fixture("signing")
    return [REAL / "dir-img-cosign-valid" / "signature-1", REAL / "unknown-cosign-key.signature"]


@pytest.mark.real
def test_real_files_round_trip_byte_for_byte() -> None:
    for path in _real_files():
        raw = path.read_bytes()
        sig = parse_signature_file(raw, path=str(path))
        assert sig.mime_type == MEDIA_TYPE
        assert set(sig.annotations) == {"dev.cosignproject.cosign/signature"}
        assert sig.payload.startswith(b'{"critical":')
        # containers/image writes no newline; unknown-cosign-key.signature (hand-copied test data)
        # ends with one, which JSON decoding ignores.
        assert signature_file(sig) == (raw[:-1] if path.name.endswith(".signature") else raw)


def test_annotations_are_written_sorted_with_go_escaping() -> None:
    blob = signature_file(SigstoreSignature(MEDIA_TYPE, b"<p>", {"z": "&", "a": "1"}))
    assert blob == (
        b'\x00sigstore-json\n{"mimeType":"application/vnd.dev.cosign.simplesigning.v1+json",'
        b'"payload":"PHA+","annotations":{"a":"1","z":"\\u0026"}}'
    )


def test_file_names() -> None:
    assert signature_file_name(1) == "signature-1"
    with pytest.raises(ValueError):
        signature_file_name(0)


@pytest.mark.parametrize(
    ("data", "kind", "message"),
    [
        (b"", SignatureError, "empty"),
        (b"\xa3\x01gpg", UnsupportedSignatureError, "GPG"),
        (b"\x00simple-signing\n\xa3", UnsupportedSignatureError, "GPG"),
        (b"\x00cosign-v9\n{}", UnsupportedSignatureError, "unrecognized signature format"),
        (b"\x00sigstore-json", SignatureError, "no newline"),
        (b"\x00sig\x01\n{}", SignatureError, "non-ASCII"),
        (b"\x00sigstore-json\n{", SignatureError, "not valid JSON"),
        (b'\x00sigstore-json\n{"mimeType":"x","payload":"@@"}', SignatureError, "base64"),
        (b'\x00sigstore-json\n{"payload":""}', SignatureError, "missing"),
        (b'\x00sigstore-json\n{"mimeType":"m","payload":"","annotations":{"k":1}}', SignatureError, "string"),
    ],
)
def test_bad_files(data: bytes, kind: type[Exception], message: str) -> None:
    with pytest.raises(kind, match=message) as info:
        parse_signature_file(data, path="dir/signature-1")
    assert isinstance(info.value, SignatureError) and info.value.path == "dir/signature-1"


def test_other_mime_type_is_unsupported() -> None:
    sig = SigstoreSignature("application/x-other", b"{}")
    with pytest.raises(UnsupportedSignatureError, match="MIME type"):
        sig.simple_signature()
