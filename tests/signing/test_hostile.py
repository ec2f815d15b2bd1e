"""Hostile input everywhere: truncated, bit-flipped, garbage, huge and deep inputs give a typed
error (or a failed result), never another exception."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from ocitool.errors import OcitoolError
from ocitool.ops.signing import keys
from ocitool.ops.signing.bundle import parse_bundle, verify_bundle
from ocitool.ops.signing.certificates import load_certificates
from ocitool.ops.signing.keyless import KeylessPolicy, parse_cosign_bundle_annotation
from ocitool.ops.signing.result import Failure
from ocitool.ops.signing.sigstore_json import parse_signature_file
from ocitool.ops.signing.simplesign import SimpleSignature, sign_image, verify_simple_signing
from ocitool.ops.signing.trustroot import load_trusted_root
from tests import peers

COSIGN = peers.FIXTURES / "signing" / "cosign"
GO = peers.FIXTURES / "signing" / "sigstore-go"


def _variants(data: bytes, count: int, seed: int) -> list[bytes]:
    """Truncations, single-byte changes and garbage splices of ``data`` (deterministic)."""
    rng = random.Random(seed)
    out = [b"", data[:1], data[: len(data) // 2], data[:-1], data + b"\x00", bytes(len(data))]
    for _ in range(count):
        i = rng.randrange(len(data))
        choice = rng.randrange(4)
        if choice == 0:
            out.append(data[:i])
        elif choice == 1:
            out.append(data[:i] + bytes([data[i] ^ (1 << rng.randrange(8))]) + data[i + 1 :])
        elif choice == 2:
            out.append(data[:i] + bytes(rng.randrange(256) for _ in range(8)) + data[i:])
        else:
            out.append(data[:i] + b'\xff\xfe{["\\' + data[i + 1 :])
    return out


def _only_typed(call: Callable[[bytes], object], inputs: list[bytes]) -> int:
    """Run ``call`` on every input; return how many raised a typed error (others returned)."""
    typed = 0
    for item in inputs:
        try:
            call(item)
        except OcitoolError:
            typed += 1
    return typed


@pytest.mark.parametrize(
    "path",
    [
        COSIGN / "oci-attestation.sigstore.json",
        GO / "public-key-validity.sigstore.json",
        GO / "sigstore.js@2.0.0-provenance.sigstore.json",
    ],
)
def test_mutated_bundles(path: object) -> None:
    from pathlib import Path

    assert isinstance(path, Path)
    data = path.read_bytes()
    root = load_trusted_root((COSIGN / "trusted_root_pgi.json").read_bytes())
    policy = KeylessPolicy(root.fulcio, "cody@soyland.com", "https://github.com/login/oauth")
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    variants = _variants(data, 300, seed=len(data))
    assert _only_typed(lambda b: parse_bundle(b), variants) > 0
    for item in variants:
        # verification never raises for a bad bundle: it returns a failed result
        for verifier in (policy, key):
            result = verify_bundle(item, verifier, trusted_time=root.trusted_time())
            assert isinstance(result.failure, Failure) or result.ok


def test_mutated_signature_files() -> None:
    pair_key = ec.generate_private_key(ec.SECP256R1())
    digest = "sha256:" + hashlib.sha256(b"m").hexdigest()
    sig = sign_image(digest, "example.com/app", pair_key)
    blob = (
        b"\x00sigstore-json\n"
        + json.dumps(
            {
                "mimeType": "application/vnd.dev.cosign.simplesigning.v1+json",
                "payload": __import__("base64").b64encode(sig.payload).decode(),
                "annotations": dict(sig.annotations),
            }
        ).encode()
    )

    def check(item: bytes) -> None:
        parsed = parse_signature_file(item).simple_signature()
        result = verify_simple_signing(parsed, pair_key.public_key(), manifest_digest=digest)
        assert result.ok or isinstance(result.failure, Failure)

    assert _only_typed(check, _variants(blob, 400, seed=1)) > 0


def test_mutated_payloads_and_annotations() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    digest = "sha256:" + "1" * 64
    sig = sign_image(digest, "r", key)
    for payload in _variants(sig.payload, 200, seed=2):
        result = verify_simple_signing(
            SimpleSignature(payload, sig.annotations), key.public_key(), manifest_digest=digest
        )
        assert result.ok == (payload == sig.payload)
    text = sig.annotations["dev.cosignproject.cosign/signature"].encode()
    for garbage in _variants(text, 200, seed=3):
        annotations = {"dev.cosignproject.cosign/signature": garbage.decode("latin-1")}
        result = verify_simple_signing(
            SimpleSignature(sig.payload, annotations), key.public_key(), manifest_digest=digest
        )
        assert result.ok == (garbage == text) or result.failure in (Failure.MALFORMED, Failure.BAD_SIGNATURE)


def test_mutated_keys_and_certificates() -> None:
    public = (GO / "publish_key.pub").read_bytes()
    _only_typed(lambda b: keys.load_public_key(b), _variants(public, 300, seed=4))
    plain = (COSIGN / "ed25519-pkcs8.key").read_bytes()
    _only_typed(lambda b: keys.load_private_key(b), _variants(plain, 300, seed=5))
    encrypted = (COSIGN / "sigstore-ecdsa.key").read_bytes()
    # scrypt costs ~0.1 s a try: a few dozen variants
    assert (
        _only_typed(lambda b: keys.load_private_key(b, password=b"hello"), _variants(encrypted, 30, seed=6))
        > 0
    )
    doc = json.loads((COSIGN / "oci-attestation.sigstore.json").read_bytes())
    der = __import__("base64").b64decode(doc["verificationMaterial"]["certificate"]["rawBytes"])
    pem = keys.pem_encode("CERTIFICATE", der)
    _only_typed(lambda b: load_certificates(b), _variants(pem, 300, seed=7))
    _only_typed(lambda b: load_certificates(keys.pem_encode("CERTIFICATE", b)), _variants(der, 300, seed=8))


def test_mutated_trusted_roots_and_annotations() -> None:
    data = (GO / "public-key-validity.json").read_bytes()
    _only_typed(lambda b: load_trusted_root(b), _variants(data, 300, seed=9))
    _only_typed(
        lambda b: parse_cosign_bundle_annotation(b.decode("latin-1")),
        _variants(b'{"Payload":{}}', 50, seed=10),
    )


def test_huge_and_deep_bundles() -> None:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    huge = b'{"mediaType":"' + b"a" * (5 << 20) + b'"}'
    deep = b'{"x":' * 50_000 + b"1" + b"}" * 50_000
    for data in (huge, deep, b"\x00" * 100, "ünïcode".encode("utf-16")):
        result = verify_bundle(data, key)
        assert result.failure is Failure.MALFORMED, result
