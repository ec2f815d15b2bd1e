"""Keys: PEM public/private keys, cosign's encrypted keys (real ones, password ``hello``),
generate-key-pair's format checked independently, fingerprints, and the key errors."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from pathlib import Path

import nacl.secret
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from ocitool.errors import InvalidKeyError, KeyDecryptionError
from ocitool.ops.signing import ed25519ph, keys
from tests import peers

COSIGN = peers.FIXTURES / "signing" / "cosign"
SIGSTORE_GO = peers.FIXTURES / "signing" / "sigstore-go"


@pytest.mark.parametrize("name", ["cosign-label-ecdsa.key", "sigstore-ecdsa.key"])
def test_real_encrypted_keys_open_with_their_password(name: str) -> None:
    key = keys.load_private_key((COSIGN / name).read_bytes(), password=b"hello")
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert key.curve.name == "secp256r1"


@pytest.mark.parametrize("name", ["cosign-label-ecdsa.key", "sigstore-ecdsa.key", "cosign-ec-sec1.key"])
def test_wrong_password_is_a_decryption_error(name: str) -> None:
    with pytest.raises(KeyDecryptionError) as info:
        keys.load_private_key((COSIGN / name).read_bytes(), password=b"wrong", path=name)
    assert info.value.path == name
    assert "wrong password" in str(info.value)


def test_encrypted_key_needs_a_password() -> None:
    with pytest.raises(InvalidKeyError, match="COSIGN_PASSWORD"):
        keys.load_private_key((COSIGN / "sigstore-ecdsa.key").read_bytes())


def test_sec1_inside_an_encrypted_key_is_refused_as_cosign_does() -> None:
    with pytest.raises(InvalidKeyError, match="not PKCS#8") as info:
        keys.load_private_key((COSIGN / "cosign-ec-sec1.key").read_bytes(), password=b"hello")
    assert not isinstance(info.value, KeyDecryptionError)
    assert info.value.pem_type == "ENCRYPTED COSIGN PRIVATE KEY"


def test_plain_pkcs8_ed25519_signs_pure_ed25519_checked_with_cryptography() -> None:
    """cosign's own Ed25519 test key: ocitool writes pure Ed25519 (what ``cosign verify --key``
    checks), which cryptography verifies on its own; verify takes it, and Ed25519ph over the same
    bytes (what ``cosign sign --key`` writes by default) too."""
    key = keys.load_private_key((COSIGN / "ed25519-pkcs8.key").read_bytes())
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    public = key.public_key()
    signature = keys.sign(key, b"payload")
    assert len(signature) == 64
    public.verify(signature, b"payload")  # independent: raises when wrong
    assert keys.verify(public, signature, b"payload")
    prehashed = keys.sign_ed25519ph(key, b"payload")
    assert prehashed != signature and keys.verify(public, prehashed, b"payload")
    with pytest.raises(InvalidSignature):
        public.verify(prehashed, b"payload")  # not pure Ed25519: the two are told apart
    # the wrong key, a changed payload, garbage: False, never an exception
    other = ed25519.Ed25519PrivateKey.generate().public_key()
    for sig in (signature, prehashed):
        assert not keys.verify(other, sig, b"payload")
        assert not keys.verify(public, sig, b"payloaD")
    for garbage in (b"", b"sig", signature[:63], signature + b"\0", b"\xff" * 64, bytes(64)):
        assert not keys.verify(public, garbage, b"payload")


# RFC 8032 section 7.3, "TEST abc" (Ed25519ph).
_RFC8032_SECRET = "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42"
_RFC8032_PUBLIC = "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf"
_RFC8032_SIGNATURE = (
    "98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae41"
    "31f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406"
)


def test_ed25519ph_matches_rfc8032_test_vector() -> None:
    seed, public = bytes.fromhex(_RFC8032_SECRET), bytes.fromhex(_RFC8032_PUBLIC)
    expected = bytes.fromhex(_RFC8032_SIGNATURE)
    assert ed25519ph.sign(seed, b"abc") == expected
    assert ed25519ph.verify(public, expected, b"abc")
    assert ed25519ph.verify_prehashed(public, expected, hashlib.sha512(b"abc").digest())
    key = ed25519.Ed25519PrivateKey.from_private_bytes(seed)
    assert key.public_key().public_bytes_raw() == public
    assert keys.sign_ed25519ph(key, b"abc") == expected
    assert keys.verify(key.public_key(), expected, b"abc")
    # a message known by its SHA-512 digest only (a bundle's messageSignature): Ed25519ph
    digest = hashlib.sha512(b"abc").digest()
    assert keys.verify_digest(key.public_key(), expected, digest, "sha512")
    assert not keys.verify_digest(key.public_key(), expected, hashlib.sha256(b"abc").digest(), "sha256")
    assert not keys.verify_digest(key.public_key(), expected, hashlib.sha512(b"abd").digest(), "sha512")
    # another context is another signature (dom2 carries it); a non-empty one is not cosign's
    assert ed25519ph.sign(seed, b"abc", context=b"foo") != expected
    assert not ed25519ph.verify(public, expected, b"abc", context=b"foo")
    # tampered signatures and keys
    flipped = bytes([expected[0] ^ 1]) + expected[1:]
    assert not ed25519ph.verify(public, flipped, b"abc")
    big_s = expected[:32] + (2**255 - 1).to_bytes(32, "little")
    assert not ed25519ph.verify(public, big_s, b"abc")
    assert not ed25519ph.verify(bytes(32), expected, b"abc")
    assert not ed25519ph.verify(public[:31], expected, b"abc")
    assert not ed25519ph.verify(public, expected[:63], b"abc")


def test_ed25519ph_round_trips_on_random_keys() -> None:
    for _ in range(20):
        key = ed25519.Ed25519PrivateKey.generate()
        message = os.urandom(100)
        signature = ed25519ph.sign(key.private_bytes_raw(), message)
        assert ed25519ph.verify(key.public_key().public_bytes_raw(), signature, message)
        assert not ed25519ph.verify(key.public_key().public_bytes_raw(), signature, message + b"x")


def _independent_decrypt(pem: bytes, password: bytes) -> bytes:
    """go-securesystemslib's ``encrypted.Decrypt``, written from its format with hashlib and NaCl."""
    lines = pem.decode().strip().splitlines()
    assert lines[0] == "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----"
    assert lines[-1] == "-----END ENCRYPTED SIGSTORE PRIVATE KEY-----"
    assert all(len(line) <= 64 for line in lines[1:-1])
    doc = json.loads(base64.b64decode("".join(lines[1:-1])))
    assert list(doc) == ["kdf", "cipher", "ciphertext"]
    assert doc["kdf"]["name"] == "scrypt" and doc["cipher"]["name"] == "nacl/secretbox"
    params = doc["kdf"]["params"]
    assert params == {"N": 65536, "r": 8, "p": 1} and list(params) == ["N", "r", "p"]
    salt = base64.b64decode(doc["kdf"]["salt"])
    assert len(salt) == 32
    box_key = hashlib.scrypt(password, salt=salt, n=65536, r=8, p=1, maxmem=128 << 20, dklen=32)
    nonce = base64.b64decode(doc["cipher"]["nonce"])
    return bytes(nacl.secret.SecretBox(box_key).decrypt(base64.b64decode(doc["ciphertext"]), nonce))


def test_generate_key_pair_writes_cosigns_format(tmp_path: Path) -> None:
    pair = keys.generate_key_pair(b"s3cret")
    der = _independent_decrypt(pair.private_pem, b"s3cret")
    private = serialization.load_der_private_key(der, None)
    assert isinstance(private, ec.EllipticCurvePrivateKey) and private.curve.name == "secp256r1"
    public = serialization.load_pem_public_key(pair.public_pem)
    assert pair.public_pem.startswith(b"-----BEGIN PUBLIC KEY-----\n")
    assert public == private.public_key()
    # the pair signs and verifies with cryptography alone
    sig = private.sign(b"data", ec.ECDSA(hashes.SHA256()))
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(sig, b"data", ec.ECDSA(hashes.SHA256()))

    key_path, pub_path = pair.write(str(tmp_path))
    assert (Path(key_path).name, Path(pub_path).name) == ("cosign.key", "cosign.pub")
    assert stat.S_IMODE(os.stat(key_path).st_mode) == 0o600
    assert Path(key_path).read_bytes() == pair.private_pem
    loaded = keys.load_private_key(Path(key_path).read_bytes(), password=b"s3cret")
    assert loaded.public_key() == public
    with pytest.raises(FileExistsError):
        keys.generate_key_pair(b"").write(str(tmp_path))
    assert Path(key_path).read_bytes() == pair.private_pem


def test_empty_password_is_a_password() -> None:
    pair = keys.generate_key_pair(b"")
    assert keys.load_private_key(pair.private_pem, password=b"").public_key() == pair.private_key.public_key()
    with pytest.raises(KeyDecryptionError):
        keys.load_private_key(pair.private_pem, password=b"x")


def test_legacy_cosign_label_is_written_on_request() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = keys.encrypt_private_key(key, b"pw", pem_type=keys.COSIGN_ENCRYPTED_PEM)
    assert pem.startswith(b"-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\n")
    assert keys.load_private_key(pem, password=b"pw").public_key() == key.public_key()


def test_plain_private_key_formats() -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    for fmt in (serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL):
        pem = key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())
        assert keys.load_private_key(pem).public_key() == key.public_key()
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    )
    assert keys.load_private_key(encrypted, password=b"pw").public_key() == key.public_key()
    with pytest.raises(KeyDecryptionError):
        keys.load_private_key(encrypted, password=b"nope")
    with pytest.raises(InvalidKeyError, match="password is needed"):
        keys.load_private_key(encrypted)


def test_public_key_fingerprint_is_cosigns_bundle_hint() -> None:
    # sigstore-go's bundle carries cosign's key hint: base64 SHA-256 of the DER SubjectPublicKeyInfo.
    bundle = json.loads((SIGSTORE_GO / "public-key-validity.sigstore.json").read_bytes())
    hint = bundle["verificationMaterial"]["publicKey"]["hint"]
    key = keys.load_public_key((SIGSTORE_GO / "public-key-validity.pem").read_bytes())
    assert keys.key_hint(key) == hint
    assert keys.fingerprint(key) == base64.b64decode(hint).hex()


@pytest.mark.real
def test_real_cosign_public_key_loads() -> None:
    peers.real_fixture("signing")
    key = keys.load_public_key((peers.REAL / "signing" / "cosign.pub").read_bytes())
    assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"
    assert keys.public_key_pem(key) == (peers.REAL / "signing" / "cosign.pub").read_bytes()


def test_rsa_and_curve_limits() -> None:
    small = rsa.generate_private_key(65537, 1024)
    pem = small.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(InvalidKeyError, match="RSA key size 1024"):
        keys.load_public_key(pem)
    p224 = ec.generate_private_key(ec.SECP224R1()).public_key()
    pem = p224.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(InvalidKeyError, match="secp224r1"):
        keys.load_public_key(pem)


def test_rsa_signs_pkcs1v15_sha256() -> None:
    key = rsa.generate_private_key(65537, 2048)
    sig = keys.sign(key, b"payload")
    key.public_key().verify(sig, b"payload", padding.PKCS1v15(), hashes.SHA256())
    assert keys.verify(key.public_key(), sig, b"payload")
    assert not keys.verify(key.public_key(), sig, b"other")


def test_p384_verifies_sha384_and_cosign2_sha256() -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    assert keys.verify(key.public_key(), keys.sign(key, b"m"), b"m")
    assert keys.verify(key.public_key(), key.sign(b"m", ec.ECDSA(hashes.SHA256())), b"m")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "no PEM block"),
        (b"just text", "no PEM block"),
        (b"-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n", "truncated"),
        (b"-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n", "base64"),
        (b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "not a valid public key"),
        (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "found 'CERTIFICATE'"),
    ],
)
def test_bad_public_keys(data: bytes, message: str) -> None:
    with pytest.raises(InvalidKeyError, match=message) as info:
        keys.load_public_key(data, path="k.pub")
    assert info.value.path == "k.pub"


def test_truncated_encrypted_key() -> None:
    pem = (COSIGN / "sigstore-ecdsa.key").read_bytes()
    with pytest.raises(InvalidKeyError, match="truncated"):
        keys.load_private_key(pem[: len(pem) // 2], password=b"hello")
    lines = pem.splitlines(keepends=True)
    cut = b"".join(lines[:3] + lines[-1:])  # the JSON inside is cut short
    with pytest.raises(InvalidKeyError, match=r"malformed encrypted key|not valid base64"):
        keys.load_private_key(cut, password=b"hello")


def _encrypted_doc(**changes: object) -> bytes:
    doc: dict[str, object] = {
        "kdf": {
            "name": "scrypt",
            "params": {"N": 32768, "r": 8, "p": 1},
            "salt": base64.b64encode(b"s" * 32).decode(),
        },
        "cipher": {"name": "nacl/secretbox", "nonce": base64.b64encode(b"n" * 24).decode()},
        "ciphertext": base64.b64encode(b"c" * 48).decode(),
    }
    for path, value in changes.items():
        *parents, last = path.split("__")
        node: dict[str, object] = doc
        for p in parents:
            child = node[p]
            assert isinstance(child, dict)
            node = child
        node[last] = value
    return keys.pem_encode(keys.SIGSTORE_ENCRYPTED_PEM, json.dumps(doc).encode())


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"kdf__params__N": 1 << 30}, "unsupported scrypt parameters"),
        ({"kdf__params__r": 1}, "unsupported scrypt parameters"),
        ({"kdf__name": "pbkdf2"}, "unknown kdf name"),
        ({"cipher__name": "aes"}, "unknown cipher name"),
        ({"cipher__nonce": base64.b64encode(b"short").decode()}, "nonce size"),
        ({"ciphertext": "@@@"}, "base64"),
        ({"kdf__params": "N"}, "malformed encrypted key"),
    ],
)
def test_hostile_encrypted_key_documents(changes: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidKeyError, match=message) as info:
        keys.load_private_key(_encrypted_doc(**changes), password=b"pw")
    assert not isinstance(info.value, KeyDecryptionError)


def test_garbage_ciphertext_is_a_decryption_error() -> None:
    with pytest.raises(KeyDecryptionError):
        keys.load_private_key(_encrypted_doc(), password=b"pw")
