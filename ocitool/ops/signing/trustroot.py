"""Sigstore's ``trusted_root.json`` (``application/vnd.dev.sigstore.trustedroot+json;version=0.1``):
the Fulcio certificate authorities, Rekor keys and timestamp authorities a verifier trusts, as
cosign's ``--trusted-root`` and sigstore-go read it. It is an alternative to giving
``--certificate-chain``, ``--rekor-key`` and TSA roots one by one; CT logs are read past (SCTs
are not checked).

Rekor keys keep their ``validFor`` window (a SET is only trusted for integrated times inside it)
and their log ID. Certificate authorities' ``validFor`` is not applied: their certificates carry
their own validity, checked at the signing time.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from ocitool._record import record
from ocitool.errors import InvalidKeyError, SignatureError
from ocitool.ops.signing._common import Doc, load_document
from ocitool.ops.signing.certificates import CertificatePool, certificate_from_der
from ocitool.ops.signing.keyless import RekorKey, TrustedTime
from ocitool.ops.signing.keys import public_key_from_der

__all__ = ["MEDIA_TYPE", "TrustedRoot", "load_trusted_root"]

MEDIA_TYPE: Final = "application/vnd.dev.sigstore.trustedroot+json;version=0.1"
_FORM: Final = "trusted-root"


@record(frozen=True, slots=True)
class TrustedRoot:
    """The trusted material: Fulcio CAs, Rekor keys, timestamp authorities (None when none)."""

    fulcio: CertificatePool
    rekor_keys: tuple[RekorKey, ...]
    tsa: CertificatePool | None

    def trusted_time(self) -> TrustedTime:
        """What dates a signature under this root: its Rekor keys and TSAs."""
        return TrustedTime(self.rekor_keys, self.tsa)


def _time(doc: Doc, key: str) -> dt.datetime | None:
    text = doc.get_text(key)
    if text is None:
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise doc.error(f"not an RFC 3339 time: {text!r}", key) from None
    if value.tzinfo is None:
        raise doc.error(f"time without a zone: {text!r}", key)
    return value


def _pool(authorities: list[Doc], path: str) -> CertificatePool:
    certs = []
    for authority in authorities:
        for c in authority.obj("certChain").objs("certificates", required=True):
            certs.append(certificate_from_der(c.blob("rawBytes"), what=c.where("rawBytes"), path=path))
    return CertificatePool.from_certificates(certs)


def load_trusted_root(data: bytes, *, path: str = "<trusted root>") -> TrustedRoot:
    """Parse a trusted root. Raises SignatureError for a malformed document, an unknown media
    type, a certificate or key that does not parse."""
    doc = load_document(data, path=path, form=_FORM)
    media_type = doc.text("mediaType")
    if media_type != MEDIA_TYPE:
        raise doc.error(f"unsupported trusted root media type {media_type!r}", "mediaType")
    rekor: list[RekorKey] = []
    for tlog in doc.objs("tlogs"):
        public = tlog.obj("publicKey")
        validity = public.get_obj("validFor")
        try:
            key = public_key_from_der(public.blob("rawBytes"), path=path)
        except InvalidKeyError as exc:
            raise SignatureError(exc.message, path=path, field=public.where("rawBytes"), form=_FORM) from None
        rekor.append(
            RekorKey(
                key,
                tlog.obj("logId").blob("keyId"),
                tlog.get_text("baseUrl") or "",
                _time(validity, "start") if validity else None,
                _time(validity, "end") if validity else None,
            )
        )
    tsas = doc.objs("timestampAuthorities")
    return TrustedRoot(
        fulcio=_pool(doc.objs("certificateAuthorities"), path),
        rekor_keys=tuple(rekor),
        tsa=_pool(tsas, path) if tsas else None,
    )
