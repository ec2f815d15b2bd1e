"""The exception hierarchy of ocitool.

Every error ocitool raises on purpose derives from :class:`OcitoolError`, and each
also extends the builtin it resembles, so callers may catch either::

    OcitoolError
    ├── InvalidDigestError(ValueError)          a string is not ``algorithm:encoded``
    ├── UnsupportedAlgorithmError(ValueError)   a well-formed digest with an unknown algorithm
    ├── DigestMismatchError(ValueError)         content hashed to something else
    ├── SizeMismatchError(ValueError)           content is longer or shorter than declared
    ├── InvalidPlatformError(ValueError)        a platform specifier does not parse
    ├── InvalidReferenceError(ValueError)       an image name or transport reference does not parse
    ├── InvalidDocumentError(ValueError)        a JSON document is malformed or breaks its schema
    ├── InvalidConfigError(InvalidDocumentError) an image config moby would refuse
    ├── InvalidArchiveError(ValueError)         a tar (or compressed stream) is corrupt or unsafe
    ├── UnsupportedMediaTypeError(ValueError)   a media type ocitool cannot handle here
    ├── NotAnImageError(ValueError)             a file is readable but holds no image format
    ├── EmptySourceError(LookupError)           an image source holds no image at all
    ├── BlobNotFoundError(LookupError)          a referenced blob is absent
    ├── ImageNotFoundError(LookupError)         no image matches a name, ID or index
    ├── AmbiguousImageError(LookupError)        an ID prefix matches several images
    ├── PlatformNotFoundError(LookupError)      no manifest for the requested platform
    ├── ImageRequiredError(LookupError)         several images and none named: the choices
    ├── ImageReadError(ValueError)              one image of a source cannot be read (names, ID, why)
    ├── ArtifactError(ValueError)               a manifest is an artifact, not a runnable image
    ├── ImageConflictError(ValueError)          an image store refuses a delete (moby's conflicts)
    ├── ReferenceConflictError(ValueError)      a tag already names another image
    ├── DockerfileError(ValueError)             a Dockerfile the classic builder refuses (``line``)
    │   └── DockerfileSyntaxError               it does not parse, or a word does not expand
    ├── BuildContextError(ValueError)           a COPY/ADD source is absent from, or escapes, the
    │                                           build context (``source``, ``reason``)
    ├── LayerInputError(ValueError)             a layer's input (directory, tar, file) cannot be used
    ├── BaseMismatchError(ValueError)           rebase: the old base is not the image's bottom
    ├── InvalidKeyError(ValueError)             a key file does not parse, or its key is unsupported
    │   └── KeyDecryptionError                  an encrypted key does not open (wrong password)
    ├── SignatureError(ValueError)              a signature, payload, envelope, bundle or
    │   │                                       certificate is malformed
    │   ├── UnsupportedSignatureError           well-formed, but a kind ocitool cannot check
    │   └── SignatureVerificationError          well-formed, but it does not verify (``reason``)
    │       └── TrustedTimeRequiredError        keyless verification without a trusted time
    ├── InvalidCredentialsError(ValueError)     credentials given by the user do not parse
    └── RegistryError(ConnectionError)          a registry could not be reached or refused a request
        ├── RegistryAuthError(PermissionError)  credentials missing or rejected, access denied
        ├── RegistryNotFoundError(LookupError)  the registry has no such repository, manifest or blob
        └── RegistryProtocolError(ValueError)   the registry answered something malformed

Errors carry structured fields (``path``, ``digest``, ``member``, ``field``, ``prefix``,
``referenced_by``; ``registry``, ``repository``, ``status`` for registries) so that callers
can act on them without parsing messages; ``str()`` of an error is one line fit to show to a
user.
"""

from __future__ import annotations

__all__ = [
    "AmbiguousImageError",
    "ArtifactError",
    "BaseMismatchError",
    "BlobNotFoundError",
    "BuildContextError",
    "DigestMismatchError",
    "DockerfileError",
    "DockerfileSyntaxError",
    "EmptySourceError",
    "ImageConflictError",
    "ImageNotFoundError",
    "ImageReadError",
    "ImageRequiredError",
    "InvalidArchiveError",
    "InvalidConfigError",
    "InvalidCredentialsError",
    "InvalidDigestError",
    "InvalidDocumentError",
    "InvalidKeyError",
    "InvalidPlatformError",
    "InvalidReferenceError",
    "KeyDecryptionError",
    "LayerInputError",
    "NotAnImageError",
    "OutputError",
    "OutputNotFoundError",
    "OutputPermissionError",
    "OcitoolError",
    "PlatformNotFoundError",
    "ReferenceConflictError",
    "SignatureError",
    "SignatureVerificationError",
    "RegistryAuthError",
    "RegistryError",
    "RegistryNotFoundError",
    "RegistryProtocolError",
    "SizeMismatchError",
    "TrustedTimeRequiredError",
    "UnsupportedAlgorithmError",
    "UnsupportedMediaTypeError",
    "UnsupportedSignatureError",
]


class OcitoolError(Exception):
    """Base of every error ocitool raises on purpose.

    ``path`` names the file (archive, layout or member) the error is about when one is known.
    """

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path

    def __str__(self) -> str:
        if self.path and self.path not in self.message:
            return f"{self.path}: {self.message}"
        return self.message


class OutputError(OcitoolError, OSError):
    """An output could not be written: ``cannot write PATH: REASON``. ``path`` and ``filename``
    are the path the user gave (never a temporary name); ``errno`` and ``strerror`` are the
    system's. The common causes are also the matching builtin (FileNotFoundError,
    PermissionError), so ``except OSError`` callers keep working."""

    def __init__(self, path: str, err: int | None, reason: str) -> None:
        super().__init__(f"cannot write {path}: {reason}", path=path)
        self.errno = err
        self.strerror = reason
        self.filename = path


class OutputNotFoundError(OutputError, FileNotFoundError):
    """The output's directory does not exist."""


class OutputPermissionError(OutputError, PermissionError):
    """The output's directory (or file) may not be written."""


class InvalidDigestError(OcitoolError, ValueError):
    """A string is not a digest by the OCI descriptor grammar."""

    def __init__(self, value: str, reason: str, *, path: str | None = None) -> None:
        super().__init__(f"invalid digest {value!r}: {reason}", path=path)
        self.value = value
        self.reason = reason


class UnsupportedAlgorithmError(InvalidDigestError):
    """A grammatical digest whose algorithm ocitool cannot compute."""

    def __init__(self, value: str, algorithm: str, *, path: str | None = None) -> None:
        super().__init__(value, f"unsupported digest algorithm {algorithm!r}", path=path)
        self.algorithm = algorithm


class DigestMismatchError(OcitoolError, ValueError):
    """Content hashed to a digest other than the one declared."""

    def __init__(self, expected: str, actual: str, *, path: str | None = None, what: str = "content") -> None:
        super().__init__(f"{what} digest mismatch: expected {expected}, got {actual}", path=path)
        self.digest = expected
        self.expected = expected
        self.actual = actual


class SizeMismatchError(OcitoolError, ValueError):
    """Content is longer or shorter than its descriptor says."""

    def __init__(self, digest: str, expected: int, actual: int, *, path: str | None = None) -> None:
        super().__init__(f"size mismatch for {digest}: expected {expected} bytes, got {actual}", path=path)
        self.digest = digest
        self.expected = expected
        self.actual = actual


class InvalidPlatformError(OcitoolError, ValueError):
    """A platform specifier such as ``linux/arm64/v8`` does not parse."""

    def __init__(self, value: str, reason: str) -> None:
        super().__init__(f"invalid platform {value!r}: {reason}")
        self.value = value


class InvalidReferenceError(OcitoolError, ValueError):
    """An image reference, image name or transport string does not parse."""

    def __init__(self, value: str, reason: str) -> None:
        super().__init__(f"invalid reference {value!r}: {reason}")
        self.value = value


class InvalidDocumentError(OcitoolError, ValueError):
    """A JSON document is not JSON, is too large or deep, or has a field of the wrong shape.

    ``field`` is a JSON pointer (``/rootfs/diff_ids/0``) when the fault is in one field.
    """

    def __init__(self, message: str, *, path: str | None = None, field: str | None = None) -> None:
        where = f" (field {field})" if field else ""
        super().__init__(f"{message}{where}", path=path)
        self.field = field


class InvalidConfigError(InvalidDocumentError):
    """An image configuration that moby's ``NewFromJSON`` or ``Store.Create`` would refuse."""


class InvalidArchiveError(OcitoolError, ValueError):
    """A tar or compressed stream is corrupt, truncated, or breaks a safety limit."""

    def __init__(self, message: str, *, path: str | None = None, member: str | None = None) -> None:
        where = f" (member {member!r})" if member else ""
        super().__init__(f"{message}{where}", path=path)
        self.member = member


class UnsupportedMediaTypeError(OcitoolError, ValueError):
    """A media type ocitool cannot read in the place it was found."""

    def __init__(self, media_type: str, *, path: str | None = None, digest: str | None = None) -> None:
        where = f" ({digest})" if digest else ""
        super().__init__(f"unsupported media type {media_type!r}{where}", path=path)
        self.media_type = media_type
        self.digest = digest


class NotAnImageError(OcitoolError, ValueError):
    """A file or directory exists and reads, but is no image format ocitool knows."""

    def __init__(self, path: str, detail: str = "") -> None:
        extra = f" ({detail})" if detail else ""
        super().__init__(f"{path}: not an image archive or layout{extra}", path=path)


class EmptySourceError(OcitoolError, LookupError):
    """A well-formed source that holds no image, e.g. a docker-save whose manifest.json is null."""

    def __init__(self, path: str, detail: str = "") -> None:
        extra = f" ({detail})" if detail else ""
        super().__init__(f"{path}: holds no image{extra}", path=path)


class BlobNotFoundError(OcitoolError, LookupError):
    """A blob named by a descriptor is absent. ``referenced_by`` says what named it."""

    def __init__(self, digest: str, *, referenced_by: str | None = None, path: str | None = None) -> None:
        by = f", referenced by {referenced_by}" if referenced_by else ""
        super().__init__(f"blob {digest} not found{by}", path=path)
        self.digest = digest
        self.referenced_by = referenced_by


class ImageNotFoundError(OcitoolError, LookupError):
    """No image matches a name, ID, ID prefix or ``@N`` index."""

    def __init__(self, ref: str, *, path: str | None = None) -> None:
        super().__init__(f"no such image: {ref}", path=path)
        self.ref = ref


class AmbiguousImageError(OcitoolError, LookupError):
    """An ID prefix matches more than one image."""

    def __init__(self, prefix: str, *, path: str | None = None) -> None:
        super().__init__(f"ambiguous image ID prefix {prefix!r}: it matches several images", path=path)
        self.prefix = prefix


class PlatformNotFoundError(OcitoolError, LookupError):
    """An index has no manifest for the requested platform."""

    def __init__(self, platform: str, available: list[str], *, path: str | None = None) -> None:
        have = ", ".join(available) if available else "none"
        super().__init__(f"no image for platform {platform} (available: {have})", path=path)
        self.platform = platform
        self.available = available


class ImageRequiredError(OcitoolError, LookupError):
    """A command works on one image, the source holds several, and none was named.
    ``choices`` are the names (or IDs of unnamed images) to choose from."""

    def __init__(self, choices: list[str], *, path: str | None = None) -> None:
        listed = "\n  ".join(choices)
        super().__init__(f"{len(choices)} images here; name one as IMAGE:\n  {listed}", path=path)
        self.choices = choices


class ImageReadError(OcitoolError, ValueError):
    """One image of a source cannot be read; the others still can. ``names`` are its tags
    (empty when untagged), ``image_id`` its ID (or manifest digest), ``cause`` the failure."""

    def __init__(self, names: list[str], image_id: str, cause: OcitoolError) -> None:
        who = ", ".join(names) if names else "<none>"
        super().__init__(f"image {who} ({image_id}): {cause}")
        self.names = names
        self.image_id = image_id
        self.cause = cause


class ArtifactError(OcitoolError, ValueError):
    """A manifest is an artifact (an ``artifactType``, a config that is no image config, or a
    ``{}`` config), not a runnable image: listed by ``manifests``, skipped by ``images``."""

    def __init__(self, names: list[str], digest: str, artifact_type: str) -> None:
        who = ", ".join(names) if names else digest
        super().__init__(f"skipping {who}: an artifact ({artifact_type or 'no image config'}), not an image")
        self.names = names
        self.digest = digest
        self.artifact_type = artifact_type


class ImageConflictError(OcitoolError, ValueError):
    """An image cannot be deleted (moby's ``imageDeleteConflict``).

    ``hard`` conflicts (dependent child images) cannot be forced; soft ones (the image is
    referenced in several repositories) can, with ``force``. ``image_id`` is the full ID,
    ``reason`` moby's message (``image has dependent child images``).
    """

    def __init__(self, image_id: str, reason: str, *, hard: bool, path: str | None = None) -> None:
        short = image_id.split(":", 1)[-1][:12]
        forced = "cannot be forced" if hard else "must be forced"
        super().__init__(f"conflict: unable to delete {short} ({forced}) - {reason}", path=path)
        self.image_id = image_id
        self.reason = reason
        self.hard = hard


class ReferenceConflictError(OcitoolError, ValueError):
    """A tag or digest reference already names another image, or may not be created."""

    def __init__(self, ref: str, message: str, *, path: str | None = None) -> None:
        super().__init__(message, path=path)
        self.ref = ref


class DockerfileError(OcitoolError, ValueError):
    """A Dockerfile Docker's classic builder refuses: an instruction it cannot evaluate (an
    unknown build stage, an invalid stop signal, ``RUN`` where nothing can run it).

    ``path`` names the Dockerfile, ``line`` and ``end_line`` the 1-based lines of the
    instruction (``None`` when the fault is not in one instruction, or not yet placed: see
    :meth:`at`); ``reason`` is the message without the location. ``str()`` reads
    ``Dockerfile:3: reason`` (just the reason when it has no place).
    """

    def __init__(
        self,
        reason: str,
        *,
        path: str | None = None,
        line: int | None = None,
        end_line: int | None = None,
    ) -> None:
        super().__init__(reason, path=path)
        self.reason = reason
        self.line = line
        self.end_line = line if end_line is None and line is not None else end_line

    def __str__(self) -> str:
        where = self.path
        if self.line is not None:
            where = f"{self.path or 'Dockerfile'}:{self.line}"
        return f"{where}: {self.reason}" if where else self.reason

    def at(self, *, path: str | None, line: int | None, end_line: int | None = None) -> DockerfileError:
        """This error placed at ``path``/``line`` when it has no place yet (the same object)."""
        if self.path is None:
            self.path = path
        if self.line is None:
            self.line = line
            self.end_line = line if end_line is None else end_line
        return self


class DockerfileSyntaxError(DockerfileError):
    """A Dockerfile that does not parse (an unknown instruction, a bad flag, a bad ``escape``
    directive, a line longer than Go's scanner reads) or a word whose variable substitution is
    malformed (``${x``, an unterminated quote, ``${x:?unset}``)."""


class BuildContextError(OcitoolError, ValueError):
    """A ``COPY``/``ADD`` source that the build context does not provide.

    ``source`` is the source as written; ``reason`` is ``not-found`` (absent, or excluded by
    ``.dockerignore``), ``outside`` (it resolves outside the context) or ``too-many-links``
    (a symlink loop); ``path`` names the context directory or archive when known.
    """

    def __init__(self, source: str, reason: str, message: str, *, path: str | None = None) -> None:
        super().__init__(message, path=path)
        self.source = source
        self.reason = reason


class LayerInputError(OcitoolError, ValueError):
    """What a layer is made from cannot be used: a directory or tar that is absent or
    unreadable, a file path that climbs out of the root, a stream that is no tar. ``path`` names
    the input; ``member`` the entry, when one is at fault."""

    def __init__(self, message: str, *, path: str | None = None, member: str | None = None) -> None:
        super().__init__(message, path=path)
        self.member = member


class BaseMismatchError(OcitoolError, ValueError):
    """``rebase``: the old base's layers are not the bottom layers of the image. ``layer`` is
    the index of the first layer that differs (or the old base's layer count when the image has
    fewer layers)."""

    def __init__(self, message: str, *, layer: int, path: str | None = None) -> None:
        super().__init__(message, path=path)
        self.layer = layer


class InvalidKeyError(OcitoolError, ValueError):
    """A key (or key file) does not parse, or holds a key type or size cosign would refuse.

    ``pem_type`` is the PEM block's type (``PUBLIC KEY``, ``ENCRYPTED SIGSTORE PRIVATE KEY``)
    when one was read.
    """

    def __init__(self, message: str, *, path: str | None = None, pem_type: str | None = None) -> None:
        super().__init__(message, path=path)
        self.pem_type = pem_type


class KeyDecryptionError(InvalidKeyError):
    """An encrypted private key did not open: the password is wrong, or the ciphertext is damaged."""


class SignatureError(OcitoolError, ValueError):
    """A signature, signed payload, DSSE envelope, sigstore bundle, timestamp or certificate is
    malformed: bad base64, bad JSON, a missing or mistyped field, truncated DER.

    ``field`` is a JSON pointer (``/critical/type``) or a structure name when the fault is in one
    part; ``form`` names the format (``simplesigning-v1``, ``bundle-v0.3``, ``dsse``, ...).
    """

    def __init__(
        self, message: str, *, path: str | None = None, field: str | None = None, form: str | None = None
    ) -> None:
        where = f" (field {field})" if field else ""
        super().__init__(f"{message}{where}", path=path)
        self.field = field
        self.form = form


class UnsupportedSignatureError(SignatureError):
    """A well-formed signature of a kind ocitool cannot check (an algorithm, a log entry kind)."""


class SignatureVerificationError(SignatureError):
    """A well-formed signature that does not verify. ``reason`` is a short code saying what
    failed (``bad-signature``, ``digest-mismatch``, ``untrusted-certificate``, ...)."""

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        path: str | None = None,
        field: str | None = None,
        form: str | None = None,
    ) -> None:
        super().__init__(message, path=path, field=field, form=form)
        self.reason = reason


class TrustedTimeRequiredError(SignatureVerificationError):
    """Keyless verification found no trusted signing time (no verified Rekor SET, no verified
    RFC 3161 timestamp), so a short-lived certificate cannot be checked."""


class InvalidCredentialsError(OcitoolError, ValueError):
    """Credentials given by the user (``--creds``) do not parse. ``source`` names where they
    came from; the value itself is never repeated (it holds a password)."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source


class RegistryError(OcitoolError, ConnectionError):
    """A registry could not be reached, or answered a request with an error.

    ``registry`` is the host[:port] and ``repository`` the repository the request was about
    (``""`` for registry-wide requests); ``status`` is the HTTP status (``None`` when no answer
    came), ``code`` the first OCI error code of the body (``MANIFEST_UNKNOWN``), ``digest`` the
    blob or manifest concerned. Messages never hold credentials, tokens or request headers.
    """

    def __init__(
        self,
        message: str,
        *,
        registry: str,
        repository: str = "",
        status: int | None = None,
        digest: str | None = None,
        code: str = "",
    ) -> None:
        where = f"{registry}/{repository}" if repository else registry
        super().__init__(message if message.startswith(where) else f"{where}: {message}")
        self.registry = registry
        self.repository = repository
        self.status = status
        self.digest = digest
        self.code = code


class RegistryAuthError(RegistryError, PermissionError):
    """Credentials are missing or rejected, or the token server refused the requested access."""


class RegistryNotFoundError(RegistryError, LookupError):
    """The registry has no such repository, manifest, tag or blob (HTTP 404)."""


class RegistryProtocolError(RegistryError, ValueError):
    """The registry answered, but not as the distribution spec says (a missing ``Location``,
    a malformed document or header, a digest header that contradicts the content)."""
