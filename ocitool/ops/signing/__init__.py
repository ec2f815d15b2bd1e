"""Signatures and attestations, offline: the crypto and format core of cosign compatibility.

* :mod:`.payload`: cosign's simple signing payload (build the exact bytes, parse strictly).
* :mod:`.keys`: PEM public/private keys, cosign's encrypted keys, key generation, fingerprints.
* :mod:`.simplesign`: sign and verify a simple signing payload (the ``.sig`` image's layers).
* :mod:`.sigstore_json`: containers/image ``dir:`` signature files (``signature-N``).
* :mod:`.dsse`, :mod:`.bundle`: DSSE envelopes, in-toto statements, sigstore bundles v0.1-v0.3.
* :mod:`.certificates`: certificate pools and chain verification (code signing, time stamping).
* :mod:`.keyless`: Fulcio identities, Rekor signed entry timestamps, trusted signing times.
* :mod:`.rfc3161`: RFC 3161 timestamp responses.
* :mod:`.trustroot`: sigstore ``trusted_root.json``.
* :mod:`.result`: what a verification found.

Nothing here touches the network or the image formats: callers bring bytes.

Not supported, each refused with a typed error that says so: Ed25519 signatures (cosign uses
Ed25519ph, which ``cryptography`` lacks), RSA-PSS and SHA-1 in timestamps, Rekor entry kinds
other than hashedrekord 0.0.1 / intoto 0.0.2 / dsse 0.0.1 (Rekor v2's tiles are not read), GPG
simple-signing files. Not checked offline (the SET and the certificate chain are): Rekor
inclusion proofs and checkpoints, certificate transparency SCTs. Identities match exactly (no
regular expressions yet).
"""

__all__: list[str] = []
