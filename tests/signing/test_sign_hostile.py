"""Hand-made layouts around one image: hostile signatures (each listed with a clear reason; exit 2,
or 0 when another verifies; never a traceback), cosign save's layout form, keyless signatures."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ocitool.cli import main
from tests.signing import _pki

SIMPLE = "application/vnd.dev.cosign.simplesigning.v1+json"
SIG_ANNOTATION = "dev.cosignproject.cosign/signature"
REF_NAME = "org.opencontainers.image.ref.name"


class Layout:
    """A hand-made OCI layout: one image, and whatever .sig manifests a test adds."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "blobs" / "sha256").mkdir(parents=True)
        (root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
        config = self.blob(b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}')
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
            "layers": [],
        }
        raw = json.dumps(manifest).encode()
        self.image = self.blob(raw)
        self.digest = self.image["digest"]
        self.entries: list[dict[str, Any]] = [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                **self.image,
                "annotations": {REF_NAME: "example.com/app:1"},
            }
        ]
        self.save()

    def blob(self, data: bytes, *, store: bool = True) -> dict[str, Any]:
        digest = hashlib.sha256(data).hexdigest()
        if store:
            (self.root / "blobs" / "sha256" / digest).write_bytes(data)
        return {"digest": f"sha256:{digest}", "size": len(data)}

    def save(self) -> None:
        (self.root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": self.entries}))

    def add_sig(
        self, layers: list[dict[str, Any]], *, raw: bytes | None = None, tag: str | None = None
    ) -> None:
        if raw is None:
            raw = json.dumps(
                {
                    "schemaVersion": 2,
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **self.blob(b"{}")},
                    "layers": layers,
                }
            ).encode()
        name = tag or self.digest.replace(":", "-") + ".sig"
        self.entries.append(
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                **self.blob(raw),
                "annotations": {REF_NAME: name},
            }
        )
        self.save()


def payload_for(digest: str) -> bytes:
    return json.dumps(
        {
            "critical": {
                "identity": {"docker-reference": "example.com/app"},
                "image": {"docker-manifest-digest": digest},
                "type": "cosign container image signature",
            },
            "optional": None,
        },
        separators=(",", ":"),
    ).encode()


def signed_layer(
    layout: Layout,
    key: ec.EllipticCurvePrivateKey,
    payload: bytes,
    *,
    media_type: str = SIMPLE,
    signature: str | None = None,
    store: bool = True,
) -> dict[str, Any]:
    sig = (
        signature
        if signature is not None
        else base64.b64encode(key.sign(payload, ec.ECDSA(hashes.SHA256()))).decode()
    )
    return {
        "mediaType": media_type,
        **layout.blob(payload, store=store),
        "annotations": {SIG_ANNOTATION: sig},
    }


@pytest.fixture
def key(tmp_path: Path) -> ec.EllipticCurvePrivateKey:
    k = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "k.pub").write_bytes(
        k.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return k


def verify(tmp_path: Path, target: str) -> tuple[int, dict[str, Any], str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["verify-signature", "--format", "json", "--key", str(tmp_path / "k.pub"), target],
        stdout=out,
        stderr=err,
    )
    assert "Traceback" not in err.getvalue() and "internal error" not in err.getvalue()
    return code, json.loads(out.getvalue()) if out.getvalue() else {}, err.getvalue()


def test_hostile_sig_layers_each_fail_clearly(tmp_path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    layout = Layout(tmp_path / "layout")
    d = layout.digest
    nested = b'{"critical":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    not_cosign = payload_for(d).replace(b"cosign container image signature", b"something else")
    huge = payload_for(d) + b" " * (5 << 20)
    layers = [
        signed_layer(layout, key, nested),  # deeply nested, validly signed
        signed_layer(layout, key, payload_for(d), signature="!!not*base64@@"),
        signed_layer(layout, key, not_cosign),
        signed_layer(layout, key, huge),  # over the size limit: never read
        signed_layer(layout, key, payload_for(d), media_type="application/octet-stream"),
        signed_layer(layout, key, payload_for(d) + b"\n", store=False),  # the blob is absent
        signed_layer(layout, key, payload_for("sha256:" + "0" * 64)),  # a signature for another image
    ]
    layout.add_sig(layers)
    code, doc, err = verify(tmp_path, f"oci:{layout.root}")
    assert code == 2, err
    got = [(s["Failure"], s["Message"]) for s in doc["Signatures"]]
    assert len(got) == len(layers)
    assert got[0][0] == "malformed" and "nested deeper" in got[0][1]
    assert got[1][0] == "malformed" and "not valid base64" in got[1][1]
    assert got[2][0] == "not-simple-signing"
    assert got[3][0] == "malformed" and "limit" in got[3][1]
    assert got[4][0] == "malformed" and "not a simple signing layer" in got[4][1]
    assert got[5][0] == "malformed" and "not found" in got[5][1].lower()
    assert got[6][0] == "digest-mismatch"
    # one good signature among them: exit 0, the bad ones still listed
    layout.add_sig([*layers, signed_layer(layout, key, payload_for(d))])
    code, doc, err = verify(tmp_path, f"oci:{layout.root}")
    assert code == 0, err
    assert [s["Verified"] for s in doc["Signatures"]].count(True) == 1


@pytest.mark.parametrize(
    "raw",
    [b"not json", b"[]", json.dumps({"schemaVersion": 2, "layers": "x"}).encode(), b"{" * 5000],
    ids=["garbage", "array", "bad-layers", "nested"],
)
def test_malformed_sig_manifest(tmp_path: Path, key: ec.EllipticCurvePrivateKey, raw: bytes) -> None:
    layout = Layout(tmp_path / "layout")
    layout.add_sig([], raw=raw)
    code, doc, err = verify(tmp_path, f"oci:{layout.root}")
    assert code == 2, err
    assert [s["Failure"] for s in doc["Signatures"]] == ["malformed"]


def test_no_signature_and_unreadable_input(tmp_path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    layout = Layout(tmp_path / "layout")
    code, _, err = verify(tmp_path, f"oci:{layout.root}")
    assert code == 2 and "no signatures found" in err
    code, _, err = verify(tmp_path, f"oci:{tmp_path / 'absent'}")
    assert code == 1
    (tmp_path / "bad.pub").write_bytes(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    out, err_io = io.StringIO(), io.StringIO()
    code = main(
        ["verify-signature", "--key", str(tmp_path / "bad.pub"), f"oci:{layout.root}"],
        stdout=out,
        stderr=err_io,
    )
    assert code == 1 and "Traceback" not in err_io.getvalue()


@pytest.mark.parametrize(
    ("data", "failure"),
    [
        (b"\x00sigstore-json\n" + b"{not json", "malformed"),
        (
            b"\x00sigstore-json\n"
            + json.dumps({"mimeType": SIMPLE, "payload": "@@@", "annotations": {}}).encode(),
            "malformed",
        ),
        (b"-----BEGIN PGP MESSAGE-----", "unsupported"),
        (b"\x00simple-signing\n", "unsupported"),
        (b"", "malformed"),
    ],
    ids=["json", "base64", "gpg", "gpg-marked", "empty"],
)
def test_hostile_dir_signature_files(
    tmp_path: Path, key: ec.EllipticCurvePrivateKey, data: bytes, failure: str
) -> None:
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "manifest.json").write_bytes(b'{"schemaVersion":2}')
    (copy / "signature-1").write_bytes(data)
    code, doc, err = verify(tmp_path, f"dir:{copy}")
    assert code == 2, err
    assert [s["Failure"] for s in doc["Signatures"]] == [failure]


def test_cosign_save_layout_form(tmp_path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    """``cosign save``'s layout: the image and its signatures told apart by ``kind``, no ref names."""
    layout = Layout(tmp_path / "layout")
    layout.entries[0]["annotations"] = {"kind": "dev.cosignproject.cosign/image"}
    layout.add_sig([signed_layer(layout, key, payload_for(layout.digest))])
    layout.entries[1]["annotations"] = {"kind": "dev.cosignproject.cosign/sigs"}
    layout.save()
    code, doc, err = verify(tmp_path, f"oci:{layout.root}")
    assert code == 0, err
    assert [(s["Verified"], "cosign save" in s["Where"]) for s in doc["Signatures"]] == [(True, True)]


def test_keyless_needs_a_trusted_time(tmp_path: Path) -> None:
    pki = _pki.make_pki()
    rekor = _pki.make_rekor()
    cert, leaf_key = pki.leaf("dev@example.com", "https://issuer.example.com")
    layout = Layout(tmp_path / "layout")
    payload = payload_for(layout.digest)
    signature = leaf_key.sign(payload, ec.ECDSA(hashes.SHA256()))
    cert_pem = pki.pem(cert)
    layer = {
        "mediaType": SIMPLE,
        **layout.blob(payload),
        "annotations": {
            SIG_ANNOTATION: base64.b64encode(signature).decode(),
            "dev.sigstore.cosign/certificate": cert_pem.decode(),
            "dev.sigstore.cosign/chain": pki.pem(pki.intermediate, pki.root).decode(),
            "dev.sigstore.cosign/bundle": rekor.bundle_annotation(payload, signature, cert_pem),
        },
    }
    layout.add_sig([layer])
    (tmp_path / "fulcio.pem").write_bytes(pki.pem(pki.root))
    (tmp_path / "rekor.pub").write_bytes(rekor.public_pem())
    keyless = [
        "--certificate-chain", str(tmp_path / "fulcio.pem"),
        "--certificate-identity", "dev@example.com",
        "--certificate-oidc-issuer", "https://issuer.example.com",
    ]  # fmt: skip

    def run(*extra: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        code = main(["verify-signature", *keyless, *extra, f"oci:{layout.root}"], stdout=out, stderr=err)
        assert "Traceback" not in err.getvalue()
        return code, out.getvalue(), err.getvalue()

    code, out, err = run()
    assert code == 2 and "a trusted signing time is needed" in out
    code, out, err = run("--rekor-key", str(tmp_path / "rekor.pub"))
    assert code == 0, out + err
    assert "dev@example.com (https://issuer.example.com)" in out
    code, out, err = run(
        "--rekor-key", str(tmp_path / "rekor.pub"), "--certificate-identity", "eve@example.com"
    )
    assert code == 2 and "identity mismatch" in out
    # a chain from another PKI: the certificate does not chain to it
    stranger = _pki.make_pki()
    (tmp_path / "fulcio.pem").write_bytes(stranger.pem(stranger.root))
    code, out, err = run("--rekor-key", str(tmp_path / "rekor.pub"))
    assert code == 2 and "certificate not trusted" in out
    out_io, err_io = io.StringIO(), io.StringIO()
    both = ["verify-signature", "--key", str(tmp_path / "rekor.pub"), *keyless, f"oci:{layout.root}"]
    assert main(both, stdout=out_io, stderr=err_io) == 125
