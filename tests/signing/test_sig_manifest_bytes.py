"""The ``.sig`` image ocitool writes is byte-for-byte cosign's: for signatures captured from real
cosign runs, the payload, the config and the manifest ocitool builds from the same layer have the
digests and sizes cosign's own had.

The captures (values only: digests, sizes, the signature and the public key, all machine output):

* cosign v3.0.4, ``cosign sign --key … --tlog-upload=false``, the classic attached format, as
  recorded in tobby-fetch/tobby-fetch's sigverify tests: subject ``sha256:f20c…4967268`` signed
  as ``localhost:15381/tobby/fixture``.
* cosign devel with go-containerregistry v0.20.2 (an HTTP trace, 2024): subject
  ``sha256:33735bd6…2735`` signed as ``registry.127-0-10-80.nip.io/alpine``; the registry's
  ``Docker-Content-Digest`` of the ``.sig`` manifest is known. Its signature annotation holds
  newlines, which the JSON must escape as Go does.

cosign 1.13 wrote a config 14 bytes longer (go-containerregistry v0.11): not reproduced.
"""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ocitool.ops.sign import sig_manifest
from ocitool.ops.signing.payload import build_payload
from ocitool.ops.signing.simplesign import SIGNATURE_ANNOTATION, SimpleSignature, verify_simple_signing

SIMPLE = "application/vnd.dev.cosign.simplesigning.v1+json"
V304_PUB = b"""-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEA9oFvTJJuu0cszKBsiuqfFYN3NLV
meleaASYW5l+nqDxoUg4f8177owlgVD89pZQ9jUxP8dbibmDJpvcjBo9RQ==
-----END PUBLIC KEY-----
"""

CAPTURES = {
    "cosign-v3.0.4": {
        "subject": "sha256:f20c43161d73848408ef247f0ec7111b19fe58ffebc0cbcaa0d2c8bda4967268",
        "reference": "localhost:15381/tobby/fixture",
        "payload": ("sha256:3a29d26a2fc848d25ccf9c2288194ca90599e70ef69087644f186e5e7331f28b", 245),
        "signature": "MEUCIEB+pz4s+9yxG+Om/bukeAfwloKFEISUhxLvIYlP02P8AiEAz1oNkilC+cprxcrEHqN0vxM+"
        "zvP34ikHFzi8e7Sevls=",
        "config": ("sha256:2122b6ad0794d3fdae43a4b477cf1d95d4a38d3c5f10631e199676039b876e37", 233),
        "manifest": None,
    },
    "cosign-devel-ggcr-0.20.2": {
        "subject": "sha256:33735bd63cf84d7e388d9f6d297d348c523c044410f553bd878c6d7829612735",
        "reference": "registry.127-0-10-80.nip.io/alpine",
        "payload": ("sha256:4306feade2f8d7aa22ad654dfd61d0ee66a94f8970fba8d825f45641e9087a78", 250),
        "signature": "MEUCIQDBRZD5sNATW5T+7IFug6L4I9gfaNu77Hvf/p15V1PDTQIgTTIFoW+H8y/ZSSNZD5SdNA0b\n"
        "ia5Zhsd26RjgvPb6CXU=\n",
        "config": ("sha256:d748d2b76ebf8a245176858c537a245f62f4cd9271dcad170c107bd399384703", 233),
        "manifest": ("sha256:36570d59b0a2ce9a2ae9da089e72b45c4b51c11bf9a45050dd8cd42e4cb638f4", 562),
    },
}


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("name", sorted(CAPTURES))
def test_sig_image_bytes_match_cosign(name: str) -> None:
    cap = CAPTURES[name]
    payload = build_payload(str(cap["subject"]), str(cap["reference"]))
    assert (_sha256(payload), len(payload)) == cap["payload"]
    layer = {
        "mediaType": SIMPLE,
        "size": len(payload),
        "digest": _sha256(payload),
        "annotations": {SIGNATURE_ANNOTATION: cap["signature"]},
    }
    config, manifest = sig_manifest([layer])
    assert (_sha256(config), len(config)) == cap["config"]
    if cap["manifest"] is not None:
        assert (_sha256(manifest), len(manifest)) == cap["manifest"]


def test_real_cosign_sig_layer_verifies() -> None:
    cap = CAPTURES["cosign-v3.0.4"]
    payload = build_payload(str(cap["subject"]), str(cap["reference"]))
    key = serialization.load_pem_public_key(V304_PUB)
    assert isinstance(key, ec.EllipticCurvePublicKey)
    signature = SimpleSignature(payload, {SIGNATURE_ANNOTATION: str(cap["signature"])})
    result = verify_simple_signing(signature, key, manifest_digest=str(cap["subject"]))
    assert result.ok, result.message
    assert result.key_fingerprint == "dc2bcfdb0402cd0845f59232655c3ab2a53d55849d4665579efe45c6cc753478"
    tampered = SimpleSignature(payload + b" ", signature.annotations)
    assert not verify_simple_signing(tampered, key, manifest_digest=str(cap["subject"])).ok
    assert base64.b64decode(str(cap["signature"]))[0] == 0x30  # an ASN.1 DER SEQUENCE, as cosign writes
