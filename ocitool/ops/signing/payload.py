"""cosign's simple signing payload: the bytes a ``.sig`` layer holds and its signature covers.

cosign (sigstore ``payload.Cosign``) marshals, with Go's ``json.Marshal``::

    {"critical":{"identity":{"docker-reference":"<repository>"},
                 "image":{"docker-manifest-digest":"sha256:<hex>"},
                 "type":"cosign container image signature"},
     "optional":<null, or an object of annotations>}

on one line, with no trailing newline, struct fields in that order (which is also sorted order),
``optional``'s keys sorted, and Go's HTML-safe string escaping. :func:`build_payload` writes
exactly those bytes; :func:`parse_payload` reads one strictly, as containers/image reads its
signatures (no other fields; ``optional`` may be absent), within the bounded-JSON limits.

``docker-reference`` is what the signer claims the image is. cosign writes the repository as
go-containerregistry names it (``index.docker.io/library/alpine`` for Docker Hub images):
:func:`claimed_identity` gives that form. :func:`reference_matches` is the check a verifier makes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ocitool._go import json as gojson
from ocitool._record import field, record
from ocitool.errors import (
    InvalidDigestError,
    InvalidReferenceError,
    SignatureVerificationError,
)
from ocitool.model.digest import Digest
from ocitool.model.reference import DEFAULT_DOMAIN, Reference, parse_normalized
from ocitool.ops.signing._common import load_document
from ocitool.ops.signing.result import Failure, SignatureForm

__all__ = [
    "COSIGN_SIGNATURE_TYPE",
    "MEDIA_TYPE",
    "SimpleSigningPayload",
    "build_payload",
    "claimed_identity",
    "parse_payload",
    "reference_matches",
]

COSIGN_SIGNATURE_TYPE: Final = "cosign container image signature"
MEDIA_TYPE: Final = "application/vnd.dev.cosign.simplesigning.v1+json"
_FORM: Final = SignatureForm.SIMPLE_SIGNING.value
_GGCR_DOCKER_HUB: Final = "index.docker.io"


@record(frozen=True, slots=True)
class SimpleSigningPayload:
    """A parsed payload: the claimed ``docker_reference``, the signed ``manifest_digest`` and
    the ``optional`` annotations (None when the payload says ``null``)."""

    docker_reference: str
    manifest_digest: Digest
    optional: Mapping[str, Any] | None = field(default=None)


def build_payload(
    manifest_digest: Digest | str, docker_reference: str, optional: Mapping[str, Any] | None = None
) -> bytes:
    """The exact bytes cosign writes for ``manifest_digest`` signed as ``docker_reference``.

    ``optional`` holds the annotations (``cosign sign -a k=v``); None or empty writes ``null``,
    as cosign does when no annotation is given. Raises InvalidDigestError for a bad digest.
    """
    digest = Digest.parse(manifest_digest)
    document = {
        "critical": {
            "identity": {"docker-reference": docker_reference},
            "image": {"docker-manifest-digest": str(digest)},
            "type": COSIGN_SIGNATURE_TYPE,
        },
        "optional": dict(optional) if optional else None,
    }
    return gojson.dumps(document, sort_keys=True).encode("utf-8")


def parse_payload(data: bytes, *, path: str = "<payload>") -> SimpleSigningPayload:
    """Parse a simple signing payload strictly.

    Raises SignatureVerificationError (reason ``not-simple-signing``) when ``critical.type`` is
    not cosign's, SignatureError for anything else: not JSON, over the size or depth limits, a
    missing, extra or mistyped field, a malformed digest.
    """
    doc = load_document(data, path=path, form=_FORM)
    doc.require_keys(("critical", "optional"), ("critical",))
    critical = doc.obj("critical")
    critical.require_keys(("identity", "image", "type"), ("identity", "image", "type"))
    kind = critical.text("type")
    if kind != COSIGN_SIGNATURE_TYPE:
        raise SignatureVerificationError(
            Failure.NOT_SIMPLE_SIGNING.value,
            f"not a simple-signing payload: type is {kind!r}, not {COSIGN_SIGNATURE_TYPE!r}",
            path=path,
            field="/critical/type",
            form=_FORM,
        )
    identity = critical.obj("identity")
    identity.require_keys(("docker-reference",), ("docker-reference",))
    image = critical.obj("image")
    image.require_keys(("docker-manifest-digest",), ("docker-manifest-digest",))
    try:
        digest = Digest.parse(image.text("docker-manifest-digest"))
    except InvalidDigestError as exc:
        raise image.error(f"invalid digest: {exc.reason}", "docker-manifest-digest") from None
    optional = doc.get_obj("optional")
    return SimpleSigningPayload(
        identity.text("docker-reference"), digest, optional.raw if optional is not None else None
    )


def claimed_identity(reference: Reference | str) -> str:
    """The ``docker-reference`` cosign writes for an image: its repository as go-containerregistry
    names it (``Repository.Name()``; Docker Hub as ``index.docker.io``). Raises
    InvalidReferenceError."""
    ref = reference if isinstance(reference, Reference) else parse_normalized(reference)
    domain = _GGCR_DOCKER_HUB if ref.domain == DEFAULT_DOMAIN else ref.domain
    return f"{domain}/{ref.path}"


def reference_matches(claimed: str, expected: str) -> bool:
    """Whether a payload's ``claimed`` docker-reference vouches for the ``expected`` image.

    Both are normalized as docker does (``alpine`` = ``docker.io/library/alpine``, and
    ``index.docker.io`` = ``docker.io``). They match when the repositories are the same and the
    claim is the bare repository (what cosign writes) or names the same tag and digest as
    ``expected``. A claim that does not parse matches only itself, character for character.
    """
    if claimed == expected:
        return True
    try:
        have = parse_normalized(claimed)
        want = parse_normalized(expected)
    except InvalidReferenceError:
        return False
    if have.name != want.name:
        return False
    if not have.tag and not have.digest:
        return True
    return (have.tag, have.digest) == (want.tag, want.digest)
