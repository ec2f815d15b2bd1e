"""Signing keys as cosign reads and writes them.

* **Public keys:** PEM ``PUBLIC KEY`` (SubjectPublicKeyInfo): ECDSA P-256/P-384/P-521, RSA
  2048-4096 bits, Ed25519 (the keys sigstore's ``goodkey`` accepts).
* **Private keys:** PEM ``PRIVATE KEY`` (PKCS#8), ``EC PRIVATE KEY`` (SEC 1), ``RSA PRIVATE KEY``
  (PKCS#1), ``ENCRYPTED PRIVATE KEY`` (PKCS#8 PBES2), and cosign's own encrypted keys:
  ``ENCRYPTED SIGSTORE PRIVATE KEY`` (what ``cosign generate-key-pair`` writes) and the older
  ``ENCRYPTED COSIGN PRIVATE KEY``. Their PEM body is JSON (go-securesystemslib ``encrypted``)::

      {"kdf": {"name": "scrypt", "params": {"N": 65536, "r": 8, "p": 1}, "salt": <base64>},
       "cipher": {"name": "nacl/secretbox", "nonce": <base64, 24 bytes>},
       "ciphertext": <base64 of the NaCl secretbox of the PKCS#8 DER>}

  The box key is scrypt(password, salt, N, r, p, 32 bytes). Only the three parameter sets
  securesystemslib writes are accepted (N = 2^15, 2^16, 2^17 with r=8, p=1): anything else could
  make key derivation arbitrarily expensive. The password comes from ``COSIGN_PASSWORD`` (the CLI
  reads it; this module takes bytes). The decrypted key must be PKCS#8, as cosign requires.

**Fingerprint.** Neither cosign nor moby defines a display fingerprint for a key; cosign's bundle
``publicKey.hint`` is base64 of SHA-256 over the DER SubjectPublicKeyInfo, and ``cosign bundle
inspect`` prints that hash in hex. :func:`fingerprint` is that hex string (64 characters);
:func:`key_hint` is the base64 form cosign writes into bundles.

**Signature algorithms.** ECDSA signs SHA-256 for P-256 (cosign's default key), SHA-384 for P-384
and SHA-512 for P-521 (cosign 3's defaults); verification also accepts SHA-256 for the larger
curves (cosign 2 signed every ECDSA key with SHA-256). RSA is PKCS#1 v1.5 with SHA-256.

**Ed25519.** cosign is of two minds. ``cosign sign --key`` with an Ed25519 key signs the payload
with Ed25519ph by default (``GetDefaultLoadOptions``: the only form Rekor's hashedrekord takes;
``sign-blob`` without a transparency log, and cosign before 2.6.0, sign pure Ed25519), while
``cosign verify --key`` loads an Ed25519 public key as a pure Ed25519 verifier (sigstore's
``LoadVerifier``), and DSSE envelopes are signed pure. So :func:`sign` writes pure Ed25519
(what ``cosign verify`` and DSSE verifiers check), and :func:`verify` accepts pure Ed25519 or
Ed25519ph (:mod:`.ed25519ph`: SHA-512 prehash, empty context) over the same bytes, so that what
either cosign writes verifies. :func:`verify_digest` (a message known by its digest) can only be
Ed25519ph over a SHA-512 digest.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from typing import Final, TypeAlias

import nacl.exceptions
import nacl.secret
import nacl.utils
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from ocitool._go import json as gojson
from ocitool._io.output import atomic_write
from ocitool._record import record
from ocitool.errors import InvalidKeyError, KeyDecryptionError, SignatureError, UnsupportedSignatureError
from ocitool.ops.signing import _der, ed25519ph
from ocitool.ops.signing._common import HASHES, b64decode, b64encode, load_document

__all__ = [
    "COSIGN_ENCRYPTED_PEM",
    "PASSWORD_ENV",
    "PUBLIC_KEY_PEM",
    "SIGSTORE_ENCRYPTED_PEM",
    "KeyPair",
    "PemBlock",
    "PrivateKey",
    "PublicKey",
    "decrypt_key_document",
    "encrypt_private_key",
    "fingerprint",
    "generate_key_pair",
    "key_hint",
    "load_private_key",
    "load_public_key",
    "pem_blocks",
    "pem_encode",
    "public_key_der",
    "public_key_pem",
    "sign",
    "sign_ed25519ph",
    "verify",
    "verify_digest",
]

PUBLIC_KEY_PEM: Final = "PUBLIC KEY"
SIGSTORE_ENCRYPTED_PEM: Final = "ENCRYPTED SIGSTORE PRIVATE KEY"
COSIGN_ENCRYPTED_PEM: Final = "ENCRYPTED COSIGN PRIVATE KEY"
PASSWORD_ENV: Final = "COSIGN_PASSWORD"

PublicKey: TypeAlias = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey
PrivateKey: TypeAlias = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey

_PLAIN_PRIVATE: Final = ("PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY")
_CURVE_HASHES: Final[dict[str, tuple[type[hashes.HashAlgorithm], ...]]] = {
    "secp256r1": (hashes.SHA256,),
    "secp384r1": (hashes.SHA384, hashes.SHA256),
    "secp521r1": (hashes.SHA512, hashes.SHA256),
}
_RSA_BITS: Final = (2048, 4096)
# go-securesystemslib's Legacy, Standard (what cosign writes today) and OWASP scrypt parameters.
_SCRYPT_PARAMS: Final = ((32768, 8, 1), (65536, 8, 1), (131072, 8, 1))
_SCRYPT_WRITE: Final = (65536, 8, 1)
_KDF_NAME: Final = "scrypt"
_CIPHER_NAME: Final = "nacl/secretbox"
_SALT_SIZE: Final = 32
_MAX_KEY_FILE: Final = 1 << 20
_BEGIN: Final = re.compile(rb"-----BEGIN ([\x20-\x2c\x2e-\x7e]*)-----\r?\n")


@record(frozen=True, slots=True)
class PemBlock:
    """One PEM block: its type, its RFC 1421 headers (``Proc-Type``...) and its decoded body.
    ``text`` is the whole block as it appeared (``cryptography`` re-reads legacy encrypted keys)."""

    type: str
    headers: dict[str, str]
    body: bytes
    text: bytes


def pem_blocks(data: bytes, *, path: str = "<pem>") -> list[PemBlock]:
    """Every PEM block in ``data``, in order; text between blocks is ignored (as Go's ``pem.Decode``).

    Raises InvalidKeyError for a block without its END line (a truncated file), with bad base64,
    or with malformed headers; and when there is no block at all.
    """
    if len(data) > _MAX_KEY_FILE:
        raise InvalidKeyError(
            f"PEM data is {len(data)} bytes, over the {_MAX_KEY_FILE}-byte limit", path=path
        )
    blocks: list[PemBlock] = []
    pos = 0
    while True:
        m = _BEGIN.search(data, pos)
        if m is None:
            break
        kind = m.group(1).decode("ascii")
        end_marker = b"-----END " + m.group(1) + b"-----"
        end = data.find(end_marker, m.end())
        if end < 0:
            raise InvalidKeyError(
                f"PEM block {kind!r} has no END line: the file is truncated", path=path, pem_type=kind
            )
        inner = data[m.end() : end].decode("ascii", "replace").replace("\r", "")
        headers: dict[str, str] = {}
        lines = inner.split("\n")
        if lines and ":" in lines[0]:
            while lines and lines[0].strip():
                key, sep, value = lines.pop(0).partition(":")
                if not sep:
                    raise InvalidKeyError(
                        f"PEM block {kind!r} has a malformed header", path=path, pem_type=kind
                    )
                headers[key.strip()] = value.strip()
            if not lines:
                raise InvalidKeyError(f"PEM block {kind!r} has headers but no body", path=path, pem_type=kind)
        body_text = "".join("".join(line.split()) for line in lines)
        try:
            body = b64decode(body_text, what=f"PEM block {kind!r}", path=path)
        except SignatureError:
            raise InvalidKeyError(
                f"PEM block {kind!r} is not valid base64", path=path, pem_type=kind
            ) from None
        pos = end + len(end_marker)
        blocks.append(PemBlock(kind, headers, body, data[m.start() : pos]))
    if not blocks:
        raise InvalidKeyError("no PEM block found", path=path)
    return blocks


def pem_encode(kind: str, body: bytes) -> bytes:
    """A PEM block as Go's ``pem.EncodeToMemory`` writes it (64-character lines)."""
    text = b64encode(body)
    lines = [text[i : i + 64] for i in range(0, len(text), 64)]
    return ("\n".join([f"-----BEGIN {kind}-----", *lines, f"-----END {kind}-----"]) + "\n").encode("ascii")


def _check_public(key: object, *, path: str, pem_type: str | None) -> PublicKey:
    """The key, if it is of a type and size sigstore's ``goodkey`` accepts."""
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in _CURVE_HASHES:
            raise InvalidKeyError(
                f"ECDSA curve {key.curve.name} is not allowed", path=path, pem_type=pem_type
            )
        return key
    if isinstance(key, rsa.RSAPublicKey):
        if not _RSA_BITS[0] <= key.key_size <= _RSA_BITS[1]:
            raise InvalidKeyError(
                f"RSA key size {key.key_size} is not supported", path=path, pem_type=pem_type
            )
        return key
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key
    raise InvalidKeyError(f"unsupported public key type {type(key).__name__}", path=path, pem_type=pem_type)


def load_public_key(data: bytes, *, path: str = "<public key>") -> PublicKey:
    """The public key in the first PEM block of ``data`` (``PUBLIC KEY``: SubjectPublicKeyInfo).

    Raises InvalidKeyError: no PEM, a truncated or non-key block, an unsupported type or size.
    """
    block = pem_blocks(data, path=path)[0]
    if block.type != PUBLIC_KEY_PEM:
        raise InvalidKeyError(
            f"expected a PEM {PUBLIC_KEY_PEM!r} block, found {block.type!r}", path=path, pem_type=block.type
        )
    return public_key_from_der(block.body, path=path)


def public_key_from_der(der: bytes, *, path: str = "<public key>") -> PublicKey:
    """A DER SubjectPublicKeyInfo as a checked public key. Raises InvalidKeyError."""
    try:
        key = serialization.load_der_public_key(der)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise InvalidKeyError(f"not a valid public key: {exc}", path=path, pem_type=PUBLIC_KEY_PEM) from None
    return _check_public(key, path=path, pem_type=PUBLIC_KEY_PEM)


def load_private_key(
    data: bytes, *, password: bytes | None = None, path: str = "<private key>"
) -> PrivateKey:
    """The private key in the first PEM block of ``data``.

    ``password`` opens cosign's encrypted keys (an empty password is a password: cosign allows
    it) and ``ENCRYPTED PRIVATE KEY`` / legacy encrypted PEM. Raises KeyDecryptionError for a
    wrong password, InvalidKeyError for anything else that is not a usable key.
    """
    block = pem_blocks(data, path=path)[0]
    if block.type in (SIGSTORE_ENCRYPTED_PEM, COSIGN_ENCRYPTED_PEM):
        if password is None:
            raise InvalidKeyError(
                f"the key is encrypted: a password is needed ({PASSWORD_ENV})", path=path, pem_type=block.type
            )
        der = decrypt_key_document(block.body, password, path=path)
        if not _is_pkcs8(der):
            raise InvalidKeyError(
                "the decrypted key is not PKCS#8 (cosign requires PKCS#8 inside its encrypted keys)",
                path=path,
                pem_type=block.type,
            )
        return _private_from(
            lambda: serialization.load_der_private_key(der, None), path=path, pem_type=block.type
        )
    if block.type in _PLAIN_PRIVATE:
        encrypted = block.type == "ENCRYPTED PRIVATE KEY" or "DEK-Info" in block.headers
        if encrypted and password is None:
            raise InvalidKeyError(
                "the key is encrypted: a password is needed", path=path, pem_type=block.type
            )
        secret = password if encrypted else None
        return _private_from(
            lambda: serialization.load_pem_private_key(block.text, secret), path=path, pem_type=block.type
        )
    raise InvalidKeyError(f"unknown private key PEM type {block.type!r}", path=path, pem_type=block.type)


def _private_from(load: Callable[[], object], *, path: str, pem_type: str) -> PrivateKey:
    try:
        key = load()
    except TypeError as exc:  # a password for an unencrypted key, or none for an encrypted one
        raise InvalidKeyError(str(exc), path=path, pem_type=pem_type) from None
    except ValueError as exc:
        if "password" in str(exc).lower() or "decrypt" in str(exc).lower():
            raise KeyDecryptionError(
                "wrong password for the encrypted key", path=path, pem_type=pem_type
            ) from None
        raise InvalidKeyError(f"not a valid private key: {exc}", path=path, pem_type=pem_type) from None
    except UnsupportedAlgorithm as exc:
        raise InvalidKeyError(f"unsupported private key: {exc}", path=path, pem_type=pem_type) from None
    if not isinstance(key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey, ed25519.Ed25519PrivateKey)):
        raise InvalidKeyError(
            f"unsupported private key type {type(key).__name__}", path=path, pem_type=pem_type
        )
    _check_public(key.public_key(), path=path, pem_type=pem_type)
    return key


def _is_pkcs8(der: bytes) -> bool:
    """PrivateKeyInfo ::= SEQUENCE { version INTEGER, privateKeyAlgorithm SEQUENCE, ... } (SEC 1
    has an OCTET STRING where PKCS#8 has the algorithm)."""
    try:
        parts = _der.parse(der, "private key").expect(_der.SEQUENCE, "private key").children("private key")
    except _der.DerError:
        return False
    return len(parts) >= 3 and parts[0].tag == _der.INTEGER and parts[1].tag == _der.SEQUENCE


def decrypt_key_document(document: bytes, password: bytes, *, path: str = "<private key>") -> bytes:
    """Open go-securesystemslib's ``encrypted`` JSON (the body of cosign's encrypted PEM).

    Raises KeyDecryptionError when the box does not open (wrong password), InvalidKeyError for a
    malformed document or refused KDF parameters.
    """
    try:
        doc = load_document(document, path=path, form="encrypted-key")
        kdf = doc.obj("kdf")
        cipher = doc.obj("cipher")
        params = kdf.obj("params")
        kdf_name, cipher_name = kdf.text("name"), cipher.text("name")
        n, r, p = params.integer("N"), params.integer("r"), params.integer("p")
        salt = kdf.blob("salt", lenient=False)
        nonce = cipher.blob("nonce", lenient=False)
        ciphertext = doc.blob("ciphertext", lenient=False)
    except SignatureError as exc:
        raise InvalidKeyError(f"malformed encrypted key: {exc.message}", path=path) from None
    if kdf_name != _KDF_NAME:
        raise InvalidKeyError(f"unknown kdf name {kdf_name!r}", path=path)
    if cipher_name != _CIPHER_NAME:
        raise InvalidKeyError(f"unknown cipher name {cipher_name!r}", path=path)
    if (n, r, p) not in _SCRYPT_PARAMS:
        raise InvalidKeyError(f"unsupported scrypt parameters N={n} r={r} p={p}", path=path)
    if len(nonce) != nacl.secret.SecretBox.NONCE_SIZE:
        raise InvalidKeyError(f"incorrect nonce size {len(nonce)}", path=path)
    box_key = Scrypt(salt=salt, length=nacl.secret.SecretBox.KEY_SIZE, n=n, r=r, p=p).derive(password)
    try:
        return bytes(nacl.secret.SecretBox(box_key).decrypt(ciphertext, nonce))
    except nacl.exceptions.CryptoError:
        raise KeyDecryptionError(
            "decryption failed: wrong password, or the key is damaged", path=path
        ) from None


def encrypt_private_key(key: PrivateKey, password: bytes, *, pem_type: str = SIGSTORE_ENCRYPTED_PEM) -> bytes:
    """The PEM of ``key`` encrypted as cosign writes it: PKCS#8 DER in go-securesystemslib's
    ``encrypted`` JSON (scrypt N=65536 r=8 p=1, fresh 32-byte salt and 24-byte nonce)."""
    if pem_type not in (SIGSTORE_ENCRYPTED_PEM, COSIGN_ENCRYPTED_PEM):
        raise InvalidKeyError(f"not a cosign encrypted key type: {pem_type!r}")
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    n, r, p = _SCRYPT_WRITE
    salt = os.urandom(_SALT_SIZE)
    nonce = nacl.utils.random(nacl.secret.SecretBox.NONCE_SIZE)
    box_key = Scrypt(salt=salt, length=nacl.secret.SecretBox.KEY_SIZE, n=n, r=r, p=p).derive(password)
    ciphertext = nacl.secret.SecretBox(box_key).encrypt(der, nonce).ciphertext
    # Field order of securesystemslib's Go structs, as json.Marshal writes them.
    document = {
        "kdf": {"name": _KDF_NAME, "params": {"N": n, "r": r, "p": p}, "salt": b64encode(salt)},
        "cipher": {"name": _CIPHER_NAME, "nonce": b64encode(nonce)},
        "ciphertext": b64encode(ciphertext),
    }
    return pem_encode(pem_type, gojson.dumps(document).encode("utf-8"))


def public_key_der(key: PublicKey) -> bytes:
    """The DER SubjectPublicKeyInfo of ``key``."""
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def public_key_pem(key: PublicKey) -> bytes:
    """``key`` as PEM ``PUBLIC KEY`` (what ``cosign.pub`` holds)."""
    return pem_encode(PUBLIC_KEY_PEM, public_key_der(key))


def fingerprint(key: PublicKey) -> str:
    """Hex SHA-256 of the DER SubjectPublicKeyInfo (``cosign bundle inspect``'s key hint, in hex)."""
    return hashlib.sha256(public_key_der(key)).hexdigest()


def key_hint(key: PublicKey) -> str:
    """Base64 SHA-256 of the DER SubjectPublicKeyInfo: cosign's bundle ``publicKey.hint``."""
    return b64encode(hashlib.sha256(public_key_der(key)).digest())


@record(frozen=True, slots=True)
class KeyPair:
    """A generated key pair: ``private_pem`` is cosign's encrypted PEM, ``public_pem`` the PEM
    public key."""

    private_key: PrivateKey
    private_pem: bytes
    public_pem: bytes

    def write(self, directory: str, *, prefix: str = "cosign", overwrite: bool = False) -> tuple[str, str]:
        """Write ``<prefix>.key`` (mode 0600) and ``<prefix>.pub`` (0644) into ``directory``, each
        atomically; returns their paths. Raises FileExistsError when either exists and not
        ``overwrite`` (nothing is written then), OSError for I/O failures."""
        key_path = os.path.join(directory, f"{prefix}.key")
        pub_path = os.path.join(directory, f"{prefix}.pub")
        if not overwrite:
            for existing in (key_path, pub_path):
                if os.path.lexists(existing):
                    raise FileExistsError(17, "file exists", existing)
        atomic_write(key_path, self.private_pem, mode=0o600)
        atomic_write(pub_path, self.public_pem, mode=0o644)
        return key_path, pub_path


def generate_key_pair(password: bytes) -> KeyPair:
    """A fresh ECDSA P-256 key pair in cosign's format (``ENCRYPTED SIGSTORE PRIVATE KEY``), as
    ``cosign generate-key-pair`` makes it. An empty password is allowed, as cosign allows it."""
    private = ec.generate_private_key(ec.SECP256R1())
    return KeyPair(private, encrypt_private_key(private, password), public_key_pem(private.public_key()))


def _hashes_for(key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey) -> tuple[type[hashes.HashAlgorithm], ...]:
    if isinstance(key, ec.EllipticCurvePublicKey):
        return _CURVE_HASHES.get(key.curve.name, (hashes.SHA256,))
    return (hashes.SHA256,)


def sign(key: PrivateKey, data: bytes) -> bytes:
    """Sign ``data``: ECDSA (ASN.1 DER signature) with the curve's hash, RSA PKCS#1 v1.5 SHA-256,
    or pure Ed25519 (see the module notes; :func:`sign_ed25519ph` writes cosign's default)."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(data)
    algorithm = _hashes_for(key.public_key())[0]()
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(algorithm))
    return key.sign(data, padding.PKCS1v15(), algorithm)


def sign_ed25519ph(key: ed25519.Ed25519PrivateKey, data: bytes) -> bytes:
    """The Ed25519ph signature of ``data`` (SHA-512 prehash, empty context): what ``cosign sign
    --key`` writes with an Ed25519 key by default."""
    return ed25519ph.sign(key.private_bytes_raw(), data)


def _check(
    key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey,
    signature: bytes,
    data: bytes,
    algorithm: hashes.HashAlgorithm | Prehashed,
) -> bool:
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(algorithm))
        else:
            key.verify(signature, data, padding.PKCS1v15(), algorithm)
    except InvalidSignature:
        return False
    return True


def _check_ed25519(key: ed25519.Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    """Pure Ed25519, else Ed25519ph, over ``data``."""
    try:
        key.verify(signature, data)
        return True
    except InvalidSignature:
        return ed25519ph.verify(key.public_bytes_raw(), signature, data)


def verify(key: PublicKey, signature: bytes, data: bytes) -> bool:
    """Whether ``signature`` is ``key``'s signature over ``data`` (see the module notes for the
    hashes and Ed25519 forms tried). False for any bad or garbled signature."""
    if isinstance(key, ed25519.Ed25519PublicKey):
        return _check_ed25519(key, signature, data)
    return any(_check(key, signature, data, algorithm()) for algorithm in _hashes_for(key))


def verify_digest(key: PublicKey, signature: bytes, digest: bytes, algorithm: str) -> bool:
    """:func:`verify` for a message known only by its digest (a bundle's ``messageSignature``).
    ``algorithm`` is ``sha256``, ``sha384`` or ``sha512``; a digest of another length is False.
    An Ed25519 key verifies Ed25519ph over a SHA-512 digest only (pure Ed25519 needs the
    message itself)."""
    factory = HASHES.get(algorithm)
    if factory is None:
        raise UnsupportedSignatureError(f"unsupported digest algorithm {algorithm!r}")
    if len(digest) != factory().digest_size:
        return False
    if isinstance(key, ed25519.Ed25519PublicKey):
        return algorithm == "sha512" and ed25519ph.verify_prehashed(key.public_bytes_raw(), signature, digest)
    if factory not in _hashes_for(key):
        return False
    return _check(key, signature, digest, Prehashed(factory()))
