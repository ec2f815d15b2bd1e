"""Signatures and attestations, offline: the crypto and format core of cosign compatibility.

* :mod:`.payload`: cosign's simple signing payload (build the exact bytes, parse strictly).
* :mod:`.keys`: PEM public/private keys, cosign's encrypted keys, key generation, fingerprints;
  signing and verifying with ECDSA, RSA and Ed25519 (pure, and Ed25519ph on verification).
* :mod:`.ed25519ph`: RFC 8032's pre-hashed Ed25519, which ``cryptography`` lacks (libsodium's
  group operations through PyNaCl).
* :mod:`.simplesign`: sign and verify a simple signing payload (the ``.sig`` image's layers).
* :mod:`.sigstore_json`: containers/image ``dir:`` signature files (``signature-N``).
* :mod:`.dsse`, :mod:`.bundle`: DSSE envelopes, in-toto statements, sigstore bundles v0.1-v0.3.
* :mod:`.certificates`: certificate pools and chain verification (code signing, time stamping).
* :mod:`.keyless`: Fulcio identities, Rekor signed entry timestamps, trusted signing times.
* :mod:`.rfc3161`: RFC 3161 timestamp responses.
* :mod:`.trustroot`: sigstore ``trusted_root.json``.
* :mod:`.result`: what a verification found.

Nothing here touches the network or the image formats: callers bring bytes.

**Ed25519.** ``cosign sign --key`` signs with Ed25519ph by default, ``cosign verify --key``
checks pure Ed25519, DSSE envelopes are pure: ocitool signs pure Ed25519 and verifies either
(see :mod:`.keys`).

Not supported, each refused with a typed error that says so: RSA-PSS and SHA-1 in timestamps,
Rekor entry kinds
other than hashedrekord 0.0.1 / intoto 0.0.2 / dsse 0.0.1 (Rekor v2's tiles are not read), GPG
simple-signing files. Not checked offline (the SET and the certificate chain are): Rekor
inclusion proofs and checkpoints, certificate transparency SCTs. Identities match exactly (no
regular expressions yet).
"""

__all__: list[str] = []
