"""What a signature verification found: :class:`VerifyResult`, with the failure codes, verified
timestamps and the signer's certificate summary it carries.

Verification functions return a result for every signature they are given, good or bad, so a
caller can list each one (``verify-signature``, ``inspect``'s ``Identity``); they raise only for
bad *arguments* (an unreadable key). The shapes follow moby's ``image.SignatureIdentity``:
``SignatureType`` values are :class:`SignatureForm`, timestamps are ``Tlog`` or
``TimestampAuthority``, and :class:`SignerSummary` holds sigstore-go's certificate summary.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Final

from ocitool._record import field, record
from ocitool.errors import SignatureError, SignatureVerificationError, UnsupportedSignatureError

__all__ = [
    "TIMESTAMP_AUTHORITY",
    "TLOG",
    "Failure",
    "SignatureForm",
    "SignedTime",
    "SignerSummary",
    "VerifyResult",
]

TLOG: Final = "Tlog"
TIMESTAMP_AUTHORITY: Final = "TimestampAuthority"


class SignatureForm(StrEnum):
    """The signature formats (moby's ``SignatureType``)."""

    SIMPLE_SIGNING = "simplesigning-v1"
    BUNDLE_V03 = "bundle-v0.3"


class Failure(StrEnum):
    """Why a signature did not verify. :attr:`description` is the text to show."""

    MALFORMED = "malformed"
    UNSUPPORTED = "unsupported"
    NOT_SIMPLE_SIGNING = "not-simple-signing"
    BAD_SIGNATURE = "bad-signature"
    DIGEST_MISMATCH = "digest-mismatch"
    REFERENCE_MISMATCH = "reference-mismatch"
    UNTRUSTED_CERTIFICATE = "untrusted-certificate"
    IDENTITY_MISMATCH = "identity-mismatch"
    ISSUER_MISMATCH = "issuer-mismatch"
    NO_TRUSTED_TIME = "no-trusted-time"
    BAD_TIMESTAMP = "bad-timestamp"
    BAD_TLOG_ENTRY = "bad-tlog-entry"

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self]


_DESCRIPTIONS: Final = {
    Failure.MALFORMED: "malformed signature",
    Failure.UNSUPPORTED: "unsupported signature",
    Failure.NOT_SIMPLE_SIGNING: "not a simple-signing payload",
    Failure.BAD_SIGNATURE: "bad signature",
    Failure.DIGEST_MISMATCH: "digest mismatch",
    Failure.REFERENCE_MISMATCH: "docker-reference mismatch",
    Failure.UNTRUSTED_CERTIFICATE: "certificate not trusted",
    Failure.IDENTITY_MISMATCH: "certificate identity mismatch",
    Failure.ISSUER_MISMATCH: "OIDC issuer mismatch",
    Failure.NO_TRUSTED_TIME: "a trusted signing time is needed",
    Failure.BAD_TIMESTAMP: "timestamp does not verify",
    Failure.BAD_TLOG_ENTRY: "transparency log entry does not verify",
}


@record(frozen=True, slots=True)
class SignedTime:
    """A verified signing time: ``kind`` is ``Tlog`` (a Rekor SET's integrated time) or
    ``TimestampAuthority`` (an RFC 3161 timestamp); ``uri`` names the log or authority when
    known (moby's ``SignatureTimestamp``)."""

    kind: str
    time: dt.datetime
    uri: str = ""


@record(frozen=True, slots=True)
class SignerSummary:
    """A Fulcio certificate's identity (sigstore-go's ``certificate.Summary``): the issuing CA's
    name, the subject alternative name (URI, else email, else Fulcio's otherName), the OIDC
    issuer, and the other Fulcio extensions keyed by moby's ``SignerIdentity`` field names."""

    certificate_issuer: str
    subject_alternative_name: str
    issuer: str
    extensions: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """moby's ``SignerIdentity`` shape (empty optional fields omitted)."""
        out: dict[str, Any] = {
            "CertificateIssuer": self.certificate_issuer,
            "SubjectAlternativeName": self.subject_alternative_name,
        }
        if self.issuer:
            out["Issuer"] = self.issuer
        out.update((k, v) for k, v in self.extensions.items() if v)
        return out


@record(frozen=True, slots=True)
class VerifyResult:
    """One signature's verification. ``ok`` when ``failure`` is None; ``message`` says what was
    checked or what failed, in one line.

    ``key_fingerprint`` is the verifying key's (key signatures), ``signer`` the certificate's
    identity (keyless), ``timestamps`` the signing times that verified, ``docker_reference`` and
    ``signed_digest`` what the signature claims (when it could be read), ``warnings`` what was
    present but not checked.
    """

    form: SignatureForm
    failure: Failure | None
    message: str
    key_fingerprint: str = ""
    signer: SignerSummary | None = None
    timestamps: tuple[SignedTime, ...] = ()
    docker_reference: str = ""
    signed_digest: str = ""
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.failure is None

    @classmethod
    def failed(
        cls,
        form: SignatureForm,
        exc: SignatureError,
        *,
        key_fingerprint: str = "",
        docker_reference: str = "",
        signed_digest: str = "",
    ) -> VerifyResult:
        """The result for a signature that failed with ``exc`` (with what it claims, when that
        could be read)."""
        return cls(
            form,
            cls.failure_of(exc),
            exc.message,
            key_fingerprint=key_fingerprint,
            docker_reference=docker_reference,
            signed_digest=signed_digest,
        )

    @classmethod
    def verified(
        cls,
        form: SignatureForm,
        *,
        key_fingerprint: str,
        signer: SignerSummary | None,
        timestamps: list[SignedTime],
        warnings: list[str],
        docker_reference: str = "",
        signed_digest: str = "",
    ) -> VerifyResult:
        """The result for a signature that verified."""
        who = f"certificate of {signer.subject_alternative_name}" if signer else f"key {key_fingerprint[:16]}"
        return cls(
            form,
            None,
            f"verified with the {who}",
            key_fingerprint=key_fingerprint,
            signer=signer,
            timestamps=tuple(timestamps),
            warnings=tuple(warnings),
            docker_reference=docker_reference,
            signed_digest=signed_digest,
        )

    @staticmethod
    def failure_of(exc: SignatureError) -> Failure:
        """The failure code a SignatureError stands for."""
        if isinstance(exc, SignatureVerificationError):
            try:
                return Failure(exc.reason)
            except ValueError:
                return Failure.BAD_SIGNATURE
        if isinstance(exc, UnsupportedSignatureError):
            return Failure.UNSUPPORTED
        return Failure.MALFORMED
