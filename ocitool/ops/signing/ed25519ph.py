"""Ed25519ph (RFC 8032 §5.1, the pre-hashed variant), which ``cryptography`` does not offer.

cosign signs with an Ed25519 key using Ed25519ph by default (``GetDefaultLoadOptions`` in
cosign's ``pkg/cosign/keys.go``: the only Ed25519 form Rekor's hashedrekord entries take), and
sigstore bundles carry Ed25519ph for a ``messageSignature`` whose message is known only by its
SHA-512 digest. Go implements it as ``ed25519.Options{Hash: crypto.SHA512}`` with an empty
context; so does this module.

The scheme, with ``PH = SHA-512`` and ``dom2 = "SigEd25519 no Ed25519 collisions" || 0x01 ||
len(context) || context`` (phflag 1, the context empty here)::

    h = SHA-512(seed); s = clamp(h[:32]); prefix = h[32:]; A = [s]B
    r = SHA-512(dom2 || prefix || PH(M)) mod L;  R = [r]B
    k = SHA-512(dom2 || R || A || PH(M)) mod L;  S = (r + k·s) mod L;  signature = R || S

and a signature verifies when ``S < L`` and the encoding of ``[S]B - [k]A`` is ``R`` (Go's
cofactorless check, byte for byte). The group operations are libsodium's, through PyNaCl's
low-level bindings; scalars are reduced mod L as Python integers. Tested against RFC 8032's
Ed25519ph vector (message ``abc``).
"""

from __future__ import annotations

import hashlib
from typing import Final

import nacl.bindings as sodium
import nacl.exceptions

__all__ = ["sign", "sign_prehashed", "verify", "verify_prehashed"]

#: The order of the base point (RFC 8032's L).
_L: Final = 2**252 + 27742317777372353535851937790883648493
_DOM2_PREFIX: Final = b"SigEd25519 no Ed25519 collisions"
_SIZE: Final = 32


def _dom2(context: bytes) -> bytes:
    if len(context) > 255:
        raise ValueError("an Ed25519ph context is at most 255 bytes")
    return _DOM2_PREFIX + bytes([1, len(context)]) + context


def _scalar(data: bytes) -> int:
    """A little-endian SHA-512 output reduced mod L."""
    return int.from_bytes(hashlib.sha512(data).digest(), "little") % _L


def _encode(n: int) -> bytes:
    return n.to_bytes(_SIZE, "little")


def sign_prehashed(seed: bytes, digest: bytes, *, context: bytes = b"") -> bytes:
    """The Ed25519ph signature (64 bytes) of a message whose SHA-512 is ``digest``, by the
    private key whose 32-byte seed is ``seed``."""
    if len(seed) != _SIZE or len(digest) != 64:
        raise ValueError("Ed25519ph wants a 32-byte seed and a 64-byte SHA-512 digest")
    h = hashlib.sha512(seed).digest()
    clamped = bytearray(h[:_SIZE])
    clamped[0] &= 248
    clamped[31] &= 127
    clamped[31] |= 64
    s = int.from_bytes(clamped, "little")
    public = sodium.crypto_scalarmult_ed25519_base_noclamp(_encode(s % _L))
    dom = _dom2(context)
    r = _scalar(dom + h[_SIZE:] + digest)
    big_r = sodium.crypto_scalarmult_ed25519_base_noclamp(_encode(r))
    k = _scalar(dom + big_r + public + digest)
    return big_r + _encode((r + k * s) % _L)


def sign(seed: bytes, message: bytes, *, context: bytes = b"") -> bytes:
    """The Ed25519ph signature of ``message`` (see :func:`sign_prehashed`)."""
    return sign_prehashed(seed, hashlib.sha512(message).digest(), context=context)


def verify_prehashed(public: bytes, signature: bytes, digest: bytes, *, context: bytes = b"") -> bool:
    """Whether ``signature`` is the Ed25519ph signature, by the 32-byte public key ``public``, of
    a message whose SHA-512 is ``digest``. False for anything malformed (a short signature, a
    public key that is no valid point, ``S`` not below L), never an exception."""
    if len(public) != _SIZE or len(signature) != 2 * _SIZE or len(digest) != 64 or len(context) > 255:
        return False
    s = int.from_bytes(signature[_SIZE:], "little")
    if s >= _L or not sodium.crypto_core_ed25519_is_valid_point(public):
        return False
    big_r = signature[:_SIZE]
    k = _scalar(_dom2(context) + big_r + public + digest)
    try:
        sb = sodium.crypto_scalarmult_ed25519_base_noclamp(_encode(s))
        ka = sodium.crypto_scalarmult_ed25519_noclamp(_encode(k), public)
        computed = sodium.crypto_core_ed25519_sub(sb, ka)
    except (nacl.exceptions.CryptoError, nacl.exceptions.RuntimeError, ValueError):
        # libsodium refuses a zero scalar and an identity result: no honest signature has them
        return False
    return bool(computed == big_r)


def verify(public: bytes, signature: bytes, message: bytes, *, context: bytes = b"") -> bool:
    """Whether ``signature`` is the Ed25519ph signature of ``message`` (see
    :func:`verify_prehashed`)."""
    return verify_prehashed(public, signature, hashlib.sha512(message).digest(), context=context)
