"""containers/image's stored signatures: the ``signature-N`` files of a ``dir:`` copy (skopeo).

A file starts with a zero byte, the format name and a newline. The ``sigstore-json`` format
(cosign signatures) continues with Go's ``json.Marshal`` of::

    {"mimeType": "application/vnd.dev.cosign.simplesigning.v1+json",
     "payload": <base64 of the simple signing payload>,
     "annotations": {"dev.cosignproject.cosign/signature": <base64>, ...}}

Files without the zero byte are the historical GPG (``simple-signing``) format, and
``\\x00simple-signing\\n`` marks the same: ocitool does not verify GPG signatures, and says so.
Files are numbered from 1 (``signature-1``, ``signature-2``, ...), with no gaps.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from ocitool._go import json as gojson
from ocitool._record import field, record
from ocitool.errors import SignatureError, UnsupportedSignatureError
from ocitool.ops.signing._common import b64encode, load_document
from ocitool.ops.signing.payload import MEDIA_TYPE
from ocitool.ops.signing.simplesign import SimpleSignature

__all__ = [
    "SIGSTORE_JSON_PREFIX",
    "SigstoreSignature",
    "parse_signature_file",
    "signature_file",
    "signature_file_name",
]

SIGSTORE_JSON_PREFIX: Final = b"\x00sigstore-json\n"
_SIMPLE_SIGNING: Final = "simple-signing"
_SIGSTORE_JSON: Final = "sigstore-json"
_FORM: Final = "sigstore-json"
_MAX_SIZE: Final = 4 << 20


@record(frozen=True, slots=True)
class SigstoreSignature:
    """A ``sigstore-json`` signature: the MIME type, the payload and the annotations."""

    mime_type: str
    payload: bytes
    annotations: Mapping[str, str] = field(default_factory=dict)

    def simple_signature(self, *, path: str | None = None) -> SimpleSignature:
        """The cosign simple signing signature this holds. Raises UnsupportedSignatureError for
        another MIME type."""
        if self.mime_type != MEDIA_TYPE:
            raise UnsupportedSignatureError(
                f"unsupported sigstore signature MIME type {self.mime_type!r}",
                path=path,
                field="/mimeType",
                form=_FORM,
            )
        return SimpleSignature(self.payload, dict(self.annotations))


def signature_file_name(index: int) -> str:
    """The name of the ``index``-th (from 1) signature file: ``signature-<index>``."""
    if index < 1:
        raise ValueError(f"signature files are numbered from 1, not {index}")
    return f"signature-{index}"


def parse_signature_file(data: bytes, *, path: str = "<signature>") -> SigstoreSignature:
    """Parse a ``signature-N`` file.

    Raises UnsupportedSignatureError for GPG (simple-signing) signatures and unknown formats,
    SignatureError for a malformed file: empty, no newline after the format name, bad JSON or
    base64, a missing or mistyped field, an annotation that is not a string.
    """
    if not data:
        raise SignatureError("empty signature file", path=path, form=_FORM)
    if len(data) > _MAX_SIZE:
        raise SignatureError(
            f"signature file is {len(data)} bytes, over the {_MAX_SIZE}-byte limit", path=path, form=_FORM
        )
    if data[0] != 0:
        raise UnsupportedSignatureError(
            "GPG (simple-signing) signatures are not supported, only sigstore (cosign) ones",
            path=path,
            form=_FORM,
        )
    name, newline, chunk = data[1:].partition(b"\n")
    if not newline:
        raise SignatureError(
            "invalid signature format: no newline after the format name", path=path, form=_FORM
        )
    if any(b < 0x20 or b >= 0x7F for b in name):
        raise SignatureError("invalid signature format: non-ASCII format name", path=path, form=_FORM)
    fmt = name.decode("ascii")
    if fmt == _SIMPLE_SIGNING:
        raise UnsupportedSignatureError(
            "GPG (simple-signing) signatures are not supported, only sigstore (cosign) ones",
            path=path,
            form=_FORM,
        )
    if fmt != _SIGSTORE_JSON:
        raise UnsupportedSignatureError(f"unrecognized signature format {fmt!r}", path=path, form=_FORM)
    doc = load_document(chunk, path=path, form=_FORM)
    annotations_doc = doc.get_obj("annotations")
    annotations: dict[str, str] = {}
    if annotations_doc is not None:
        for key in annotations_doc.raw:
            annotations[key] = annotations_doc.text(key)
    return SigstoreSignature(doc.text("mimeType"), doc.blob("payload", lenient=False), annotations)


def signature_file(signature: SigstoreSignature | SimpleSignature) -> bytes:
    """The bytes of a ``signature-N`` file for ``signature``, as containers/image writes them
    (field order mimeType, payload, annotations; annotation keys sorted; Go's escaping)."""
    if isinstance(signature, SimpleSignature):
        signature = SigstoreSignature(MEDIA_TYPE, signature.payload, signature.annotations)
    document = {
        "mimeType": signature.mime_type,
        "payload": b64encode(signature.payload),
        "annotations": dict(sorted(signature.annotations.items())),
    }
    return SIGSTORE_JSON_PREFIX + gojson.dumps(document).encode("utf-8")
