"""The simple signing payload: cosign's exact bytes, strict parsing, identities."""

from __future__ import annotations

import base64
import json

import pytest

from ocitool.errors import InvalidDigestError, SignatureError, SignatureVerificationError
from ocitool.ops.signing.payload import (
    COSIGN_SIGNATURE_TYPE,
    build_payload,
    claimed_identity,
    parse_payload,
    reference_matches,
)
from tests import peers

REAL = peers.REAL / "signing"
DIGEST = "sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00"


def _real_payload() -> bytes:
    peers.real_fixture("signing")
    raw = (REAL / "dir-img-cosign-valid" / "signature-1").read_bytes()
    return base64.b64decode(json.loads(raw[len(b"\x00sigstore-json\n") :])["payload"])


@pytest.mark.real
def test_build_matches_the_payload_real_cosign_wrote() -> None:
    assert build_payload(DIGEST, "192.168.64.2:5000/cosign-signed-single-sample") == _real_payload()


def test_build_layout_with_annotations_sorted_and_go_escaped() -> None:
    out = build_payload(DIGEST, "example.com/app", {"z": "1", "a": "<b>&"})
    assert out == (
        b'{"critical":{"identity":{"docker-reference":"example.com/app"},'
        b'"image":{"docker-manifest-digest":"' + DIGEST.encode() + b'"},'
        b'"type":"cosign container image signature"},'
        b'"optional":{"a":"\\u003cb\\u003e\\u0026","z":"1"}}'
    )
    assert not out.endswith(b"\n")


def test_build_refuses_a_bad_digest() -> None:
    with pytest.raises(InvalidDigestError):
        build_payload("sha256:xyz", "example.com/app")


@pytest.mark.real
def test_parse_real_payload() -> None:
    p = parse_payload(_real_payload())
    assert p.docker_reference == "192.168.64.2:5000/cosign-signed-single-sample"
    assert str(p.manifest_digest) == DIGEST
    assert p.optional is None


def _doc(**critical: object) -> bytes:
    base: dict[str, object] = {
        "identity": {"docker-reference": "r"},
        "image": {"docker-manifest-digest": DIGEST},
        "type": COSIGN_SIGNATURE_TYPE,
    }
    base.update(critical)
    return json.dumps(
        {"critical": {k: v for k, v in base.items() if v is not None}, "optional": None}
    ).encode()


def test_wrong_type_is_not_simple_signing() -> None:
    with pytest.raises(SignatureVerificationError) as info:
        parse_payload(_doc(type="atomic container signature"))
    assert info.value.reason == "not-simple-signing"
    assert info.value.field == "/critical/type"


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        (_doc(type=None), "/critical/type"),
        (_doc(image=None), "/critical/image"),
        (_doc(identity={}), "/critical/identity/docker-reference"),
        (_doc(image={"docker-manifest-digest": "sha256:nothex"}), "/critical/image/docker-manifest-digest"),
        (_doc(image={"docker-manifest-digest": 5}), "/critical/image/docker-manifest-digest"),
        (_doc(extra="x"), "/critical"),
        (b'{"optional":null}', "/critical"),
        (b"[1,2]", "/"),
        (b'{"critical":{}, "optional":null, "more":1}', "/"),
    ],
)
def test_parse_is_strict(doc: bytes, field: str) -> None:
    with pytest.raises(SignatureError) as info:
        parse_payload(doc, path="sig")
    assert not isinstance(info.value, SignatureVerificationError)
    assert info.value.field == field
    assert info.value.path == "sig"


def test_claimed_identity_is_go_containerregistry_repository_name() -> None:
    assert claimed_identity("alpine:3.19") == "index.docker.io/library/alpine"
    assert claimed_identity("ghcr.io/org/app@sha256:" + "a" * 64) == "ghcr.io/org/app"
    assert claimed_identity("localhost:5000/x:1") == "localhost:5000/x"


@pytest.mark.parametrize(
    ("claimed", "expected", "ok"),
    [
        ("index.docker.io/library/alpine", "alpine:latest", True),
        ("docker.io/library/alpine", "alpine", True),
        ("alpine:3.19", "alpine:3.19", True),
        ("alpine:3.19", "alpine:3.20", False),
        ("ghcr.io/a/b", "ghcr.io/a/c", False),
        ("not a reference", "not a reference", True),
        ("not a reference", "alpine", False),
    ],
)
def test_reference_matches(claimed: str, expected: str, ok: bool) -> None:
    assert reference_matches(claimed, expected) is ok
