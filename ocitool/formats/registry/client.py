"""A client of one registry, per the OCI distribution spec v1.1: manifests as exact bytes,
verified blob streams, streaming (chunked, resumable) uploads, cross-repository mounts, tags
and referrers.

What oras-py 0.2.43 does and what this module does instead
    * ``get_manifest`` returns parsed JSON: no bytes, no media type, no digest check; here a
      manifest comes back as its exact bytes, its media type and its digest, checked against
      the reference or ``Docker-Content-Digest``.
    * ``upload_manifest`` validates against its own schema, re-serialises the JSON and always
      sends the OCI manifest media type, so it cannot push an index, a Docker manifest or
      exact bytes (upstream oras-py issue #108); here :meth:`RegistryClient.put_manifest`
      sends the bytes it is given with their own media type.
    * ``download_blob`` writes what arrives without checking it (upstream oras-py issue
      #247); here every blob is hashed as it streams and a short, long or wrong blob raises
      :class:`~ocitool.errors.DigestMismatchError` / ``SizeMismatchError`` naming it.
    * ``put_upload`` reads the whole file into memory and ``chunked_upload`` cannot resume;
      neither mounts. Uploads here stream from a file object, chunk large blobs, resume from
      the registry's ``Range`` after a lost connection, and mount with ``?mount=&from=``
      (both in :mod:`ocitool.formats.registry.blobs`).
    * There is no referrers API in oras-py (upstream oras-py issue #224); see
      :mod:`ocitool.formats.registry.referrers`.

Every request goes through :class:`~ocitool.formats.registry.transport.Transport` (retries,
tokens per scope, TLS). A client may be shared by threads; :func:`map_bounded` runs blob
transfers a few at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from enum import Enum
from typing import IO, TYPE_CHECKING, Any, Final, TypeVar

from ocitool._io.jsondoc import MAX_DOCUMENT_SIZE, expect_dict, load_json
from ocitool._record import record
from ocitool.errors import (
    DigestMismatchError,
    InvalidDocumentError,
    RegistryError,
    RegistryNotFoundError,
    RegistryProtocolError,
    SizeMismatchError,
)
from ocitool.formats.registry import referrers as refs
from ocitool.formats.registry.auth import Credentials, find_credentials, parse_creds, repository_scope
from ocitool.formats.registry.blobs import (
    READ_SIZE,
    BlobReader,
    Upload,
    blob_size,
    cancel_upload,
    start_upload,
)
from ocitool.formats.registry.reference import RegistryReference
from ocitool.formats.registry.transport import RetryPolicy, Transport
from ocitool.model import mediatypes as mt
from ocitool.model.descriptor import Descriptor
from ocitool.model.digest import Digest, Digester

if TYPE_CHECKING:
    import requests

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_CONCURRENCY",
    "MANIFEST_MEDIA_TYPES",
    "FetchedManifest",
    "ManifestInfo",
    "PushOutcome",
    "PushedManifest",
    "Referrers",
    "RegistryClient",
    "map_bounded",
]

DEFAULT_CONCURRENCY: Final = 4
DEFAULT_CHUNK_SIZE: Final = 16 << 20
MANIFEST_MEDIA_TYPES: Final = (mt.OCI_MANIFEST, mt.OCI_INDEX, mt.DOCKER_MANIFEST, mt.DOCKER_MANIFEST_LIST)
_ACCEPT: Final = ", ".join(MANIFEST_MEDIA_TYPES)
_REFERRERS_PAGES: Final = 1000
_TAG_PAGES: Final = 10000

T = TypeVar("T")
R = TypeVar("R")


@record(frozen=True)
class FetchedManifest:
    """A manifest or index as the registry holds it: exact bytes, media type, digest."""

    raw: bytes
    media_type: str
    digest: Digest

    @property
    def size(self) -> int:
        return len(self.raw)


@record(frozen=True)
class ManifestInfo:
    """What a manifest HEAD tells: digest, size and media type, without the body."""

    digest: Digest
    size: int
    media_type: str


@record(frozen=True)
class PushedManifest:
    """A pushed manifest's digest, and how its subject's referrers were recorded:
    ``"api"`` (the registry answered ``OCI-Subject``), ``"tag"`` (the fallback index was
    updated), ``"present"`` (the fallback index already listed it) or ``""`` (no subject)."""

    digest: Digest
    referrers: str = ""


class PushOutcome(Enum):
    """What pushing a blob took."""

    EXISTS = "exists"
    MOUNTED = "mounted"
    UPLOADED = "uploaded"


@record(frozen=True)
class Referrers:
    """The referrers of a digest; ``via_api`` False when read from the fallback tag."""

    descriptors: list[Descriptor]
    via_api: bool


def map_bounded(fn: Callable[[T], R], items: Iterable[T], *, limit: int = DEFAULT_CONCURRENCY) -> list[R]:
    """``[fn(x) for x in items]`` with at most ``limit`` calls running at once, results in
    order. The first exception cancels what has not started and is raised once the running
    calls end."""
    work = list(items)
    if limit <= 1 or len(work) <= 1:
        return [fn(x) for x in work]
    with ThreadPoolExecutor(max_workers=min(limit, len(work)), thread_name_prefix="ocitool-registry") as pool:
        futures: list[Future[R]] = [pool.submit(fn, x) for x in work]
        done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        failed = [f for f in futures if f in done and f.exception() is not None]
        if failed:
            for f in pending:
                f.cancel()
            exc = failed[0].exception()
            assert exc is not None
            raise exc
        return [f.result() for f in futures]


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip()


class RegistryClient:
    """The distribution API of one registry (``host[:port]``, ``docker.io`` for Docker Hub).

    ``creds`` is ``"USER:PASSWORD"`` or :class:`Credentials`; without it credentials are
    looked up (on first need) as skopeo does, ``authfile`` first. ``tls_verify`` None means
    verify, with plain http allowed for loopback registries; False waives verification and
    allows http. ``cert_dir`` is a containers-certs.d directory. Close the client (or use it
    as a context manager) to release connections and the private CA bundle.
    """

    def __init__(
        self,
        registry: str,
        *,
        creds: str | Credentials | None = None,
        authfile: str | None = None,
        tls_verify: bool | None = None,
        cert_dir: str | None = None,
        retry: RetryPolicy | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        concurrency: int = DEFAULT_CONCURRENCY,
        connect_timeout: float = 10.0,
        read_timeout: float = 120.0,
        repository_hint: str = "",
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.registry = registry
        self.chunk_size = max(chunk_size, 1)
        self.concurrency = max(concurrency, 1)
        credentials: Credentials | Callable[[], Credentials | None]
        if isinstance(creds, Credentials):
            credentials = creds
        elif creds is not None:
            credentials = parse_creds(creds)
        else:

            def credentials() -> Credentials | None:
                return find_credentials(registry, repository_hint, authfile=authfile, env=env)

        self.transport = Transport(
            registry,
            credentials=credentials,
            tls_verify=tls_verify,
            cert_dir=cert_dir,
            retry=retry,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            pool_size=max(2 * self.concurrency, 4),
            env=env,
        )

    @classmethod
    def for_reference(cls, ref: RegistryReference, **options: Any) -> RegistryClient:
        """A client for ``ref``'s registry (credentials looked up for its repository too);
        ``options`` as for the constructor."""
        return cls(ref.registry, repository_hint=ref.repository, **options)

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.transport.close()

    def ping(self) -> None:
        """Check that the registry answers ``/v2/``. Raises RegistryError."""
        self.transport.ping()

    def _where(self, repository: str, ref: str = "") -> str:
        sep = "@" if ref.startswith(("sha256:", "sha512:")) else ":"
        return f"docker://{self.registry}/{repository}{sep + ref if ref else ''}"

    # ------------------------------------------------------------------ manifests

    def get_manifest(
        self,
        repository: str,
        reference: str,
        *,
        size: int | None = None,
        accept: Sequence[str] = MANIFEST_MEDIA_TYPES,
    ) -> FetchedManifest:
        """GET a manifest or index by tag or digest: its exact bytes, media type and digest.

        The bytes are checked against a digest reference, else against ``Docker-Content-Digest``
        when the registry sends one (DigestMismatchError), against ``size`` when the caller
        knows it from a descriptor (SizeMismatchError), and bounded to 4 MiB. Raises
        RegistryNotFoundError, RegistryError, RegistryProtocolError.
        """
        expected = Digest.parse(reference) if ":" in reference else None
        what = f"GET manifest {reference}"
        resp = self.transport.request(
            "GET",
            f"/v2/{repository}/manifests/{reference}",
            scope=repository_scope(repository),
            repository=repository,
            what=what,
            headers={"Accept": ", ".join(accept)},
            stream=True,
            digest=str(expected) if expected else None,
        )
        with resp:
            raw = self._read_document(resp, repository, what)
        header = resp.headers.get("Docker-Content-Digest")
        claimed = expected or (self._parse_digest(header, repository, what) if header else None)
        digest = _digest_of(raw, claimed.algorithm if claimed else "sha256")
        if size is not None and len(raw) != size:
            raise SizeMismatchError(
                str(claimed or digest), size, len(raw), path=self._where(repository, reference)
            )
        if claimed is not None and digest != claimed:
            raise DigestMismatchError(
                str(claimed), str(digest), path=self._where(repository, reference), what="manifest"
            )
        media_type = _media_type(resp.headers.get("Content-Type"))
        if media_type not in MANIFEST_MEDIA_TYPES:
            media_type = _declared_media_type(raw) or media_type
        return FetchedManifest(raw=raw, media_type=media_type, digest=digest)

    def head_manifest(self, repository: str, reference: str) -> ManifestInfo | None:
        """HEAD a manifest: digest, size and media type, or None when there is none.

        Falls back to GET when the registry sends no ``Docker-Content-Digest``.
        """
        resp = self.transport.request(
            "HEAD",
            f"/v2/{repository}/manifests/{reference}",
            scope=repository_scope(repository),
            repository=repository,
            what=f"HEAD manifest {reference}",
            headers={"Accept": _ACCEPT},
            expect=(200, 404),
        )
        with resp:
            if resp.status_code == 404:
                return None
            header = resp.headers.get("Docker-Content-Digest")
            length = resp.headers.get("Content-Length", "")
            media_type = _media_type(resp.headers.get("Content-Type"))
        if header and length.isdigit():
            return ManifestInfo(
                self._parse_digest(header, repository, "HEAD manifest"), int(length), media_type
            )
        try:
            got = self.get_manifest(repository, reference)
        except RegistryNotFoundError:
            return None
        return ManifestInfo(got.digest, got.size, got.media_type)

    def put_manifest(
        self,
        repository: str,
        reference: str,
        raw: bytes,
        media_type: str,
        *,
        update_referrers: bool = True,
    ) -> PushedManifest:
        """PUT ``raw`` exactly, as ``media_type``, under a tag or its digest.

        When the manifest has a ``subject`` and the registry does not answer ``OCI-Subject``,
        the subject's referrers tag is updated (``update_referrers``). Raises RegistryError,
        RegistryProtocolError (the registry stored other bytes than sent).
        """
        subject = refs.subject_of(raw, path=self._where(repository, reference))
        digest = _digest_of(raw, "sha256")
        if ":" in reference:
            digest = _digest_of(raw, Digest.parse(reference).algorithm)
            if str(digest) != reference:
                raise DigestMismatchError(
                    reference, str(digest), path=self._where(repository), what="manifest"
                )
        what = f"PUT manifest {reference}"
        resp = self.transport.request(
            "PUT",
            f"/v2/{repository}/manifests/{reference}",
            scope=repository_scope(repository, push=True),
            repository=repository,
            what=what,
            headers={"Content-Type": media_type},
            body=raw,
            expect=(200, 201, 202),
            digest=str(digest),
        )
        with resp:
            header = resp.headers.get("Docker-Content-Digest")
            subject_header = resp.headers.get(refs.SUBJECT_HEADER)
        if header:
            stored = self._parse_digest(header, repository, what)
            if stored != _digest_of(raw, stored.algorithm):
                raise RegistryProtocolError(
                    f"{what}: the registry stored {stored}, not the {digest} sent",
                    registry=self.registry,
                    repository=repository,
                    status=resp.status_code,
                    digest=str(digest),
                )
        if subject is None:
            return PushedManifest(digest)
        if subject_header or not update_referrers:
            return PushedManifest(digest, "api" if subject_header else "")
        descriptor = refs.referrer_descriptor(
            raw, media_type, digest, path=self._where(repository, reference)
        )
        added = self._add_to_fallback(repository, subject.digest, descriptor)
        return PushedManifest(digest, "tag" if added else "present")

    def _add_to_fallback(self, repository: str, subject: Digest, descriptor: Descriptor) -> bool:
        tag = refs.fallback_tag(subject)
        try:
            current: bytes | None = self.get_manifest(repository, tag, accept=(mt.OCI_INDEX,)).raw
        except RegistryNotFoundError:
            current = None
        updated = refs.add_referrer(current, descriptor, path=self._where(repository, tag))
        if updated is None:
            return False
        self.put_manifest(repository, tag, updated, mt.OCI_INDEX, update_referrers=False)
        return True

    def delete_manifest(self, repository: str, digest: str) -> None:
        """DELETE a manifest by digest (registries refuse deleting by tag)."""
        resp = self.transport.request(
            "DELETE",
            f"/v2/{repository}/manifests/{Digest.parse(digest)}",
            scope=(f"repository:{repository}:delete",),
            repository=repository,
            what=f"DELETE manifest {digest}",
            expect=(200, 202),
            digest=digest,
        )
        resp.close()

    # ------------------------------------------------------------------ blobs: reading

    def blob_size(self, repository: str, digest: str | Digest) -> int | None:
        """HEAD a blob: its size, or None when the repository does not have it."""
        return blob_size(self.transport, repository, Digest.parse(digest))

    def open_blob(self, repository: str, digest: str | Digest, size: int | None = None) -> BlobReader:
        """A :class:`BlobReader` streaming the blob; verified as it reaches the end."""
        return BlobReader(self.transport, repository, Digest.parse(digest), size)

    def read_blob(
        self,
        repository: str,
        digest: str | Digest,
        size: int | None = None,
        *,
        limit: int = MAX_DOCUMENT_SIZE,
    ) -> bytes:
        """A whole (small) blob, such as a config, verified before it is returned. Raises
        RegistryProtocolError beyond ``limit`` bytes."""
        if size is not None and size > limit:
            raise RegistryProtocolError(
                f"blob {digest} is {size} bytes, over the {limit}-byte limit for documents",
                registry=self.registry,
                repository=repository,
                digest=str(digest),
            )
        out = bytearray()
        with self.open_blob(repository, digest, size) as reader:
            while chunk := reader.read(READ_SIZE):
                out += chunk
                if len(out) > limit:
                    raise RegistryProtocolError(
                        f"blob {digest} is over the {limit}-byte limit for documents",
                        registry=self.registry,
                        repository=repository,
                        digest=str(digest),
                    )
        return bytes(out)

    def read_blob_head(self, repository: str, digest: str | Digest, n: int) -> bytes:
        """The first ``n`` bytes of a blob (for sniffing its compression), asked with a
        ``Range`` request; unverified, as a prefix cannot be. A registry that ignores
        ``Range`` is read for ``n`` bytes and the connection dropped."""
        d = Digest.parse(digest)
        resp = self.transport.request(
            "GET",
            f"/v2/{repository}/blobs/{d}",
            scope=repository_scope(repository),
            repository=repository,
            what=f"GET blob {d} (first bytes)",
            headers={"Range": f"bytes=0-{max(n, 1) - 1}", "Accept-Encoding": "identity"},
            stream=True,
            expect=(200, 206),
            digest=str(d),
        )
        with resp:
            try:
                return bytes(resp.raw.read(n, decode_content=True))
            except Exception as exc:  # urllib3 ProtocolError (cut short), timeouts
                raise RegistryError(
                    f"GET blob {d}: connection lost while reading its first bytes",
                    registry=self.registry,
                    repository=repository,
                    digest=str(d),
                ) from exc

    def copy_blob(self, repository: str, digest: str | Digest, size: int | None, out: IO[bytes]) -> int:
        """Stream a blob into ``out``; returns its size. Raises (after writing) when it is not
        what ``digest``/``size`` say: discard ``out`` then (write to a temporary file and
        commit it only when this returns)."""
        total = 0
        with self.open_blob(repository, digest, size) as reader:
            while chunk := reader.read(READ_SIZE):
                out.write(chunk)
                total += len(chunk)
        return total

    # ------------------------------------------------------------------ blobs: writing

    def mount_blob(self, repository: str, digest: str | Digest, from_repository: str) -> bool:
        """Mount a blob from another repository of this registry; False when the registry
        would not (the upload it started instead is abandoned)."""
        d = Digest.parse(digest)
        mounted, location = start_upload(self.transport, repository, d, from_repository)
        if not mounted and location:
            cancel_upload(self.transport, repository, location)
        return mounted

    def push_blob(
        self,
        repository: str,
        digest: str | Digest,
        size: int,
        source: bytes | IO[bytes],
        *,
        mount_from: str | None = None,
        check_exists: bool = True,
    ) -> PushOutcome:
        """Upload a blob unless the repository has it (HEAD), mounting it from ``mount_from``
        when that repository of the same registry has it.

        ``source`` is the content or a file object positioned at its start, read once
        (seekable sources can be read again when an upload must restart). Up to
        ``chunk_size`` bytes go in one PUT; larger blobs in PATCH chunks of ``chunk_size``.
        A connection lost mid-chunk is resumed from the offset the registry reports
        (``Range`` of the upload), or the upload restarts when it cannot resume.
        The content is hashed on the way: a source that is not ``digest``/``size`` raises
        DigestMismatchError/SizeMismatchError and the upload is cancelled.
        """
        d = Digest.parse(digest)
        mount_from = mount_from if mount_from != repository else None
        scope = repository_scope(repository, push=True, mount_from=[mount_from] if mount_from else [])
        if check_exists and blob_size(self.transport, repository, d, scope=scope) is not None:
            return PushOutcome.EXISTS
        location: str | None = None
        if mount_from:
            mounted, location = start_upload(self.transport, repository, d, mount_from)
            if mounted:
                return PushOutcome.MOUNTED
        Upload(
            self.transport, repository, d, size, source, chunk_size=self.chunk_size, location=location
        ).run()
        return PushOutcome.UPLOADED

    # ------------------------------------------------------------------ tags and referrers

    def list_tags(self, repository: str, *, page_size: int | None = None) -> list[str]:
        """All tags of ``repository``, following ``Link`` pagination."""
        tags: list[str] = []
        path: str | None = f"/v2/{repository}/tags/list"
        params: dict[str, str] | None = {"n": str(page_size)} if page_size else None
        for _ in range(_TAG_PAGES):
            if path is None:
                return tags
            resp = self.transport.request(
                "GET",
                path,
                scope=repository_scope(repository),
                repository=repository,
                what="list tags",
                params=params,
                stream=True,
            )
            with resp:
                doc = expect_dict(
                    load_json(
                        self._read_document(resp, repository, "list tags"), path=self._where(repository)
                    ),
                    path=self._where(repository),
                )
                page = doc.get("tags") or []
                if not isinstance(page, list) or not all(isinstance(t, str) for t in page):
                    raise InvalidDocumentError(
                        "tags is not a list of strings", path=self._where(repository), field="/tags"
                    )
                tags.extend(page)
                path = _next_link(resp)
                params = None
        raise RegistryProtocolError(
            "list tags: too many pages", registry=self.registry, repository=repository
        )

    def referrers(
        self, repository: str, digest: str | Digest, *, artifact_type: str | None = None
    ) -> Referrers:
        """The manifests whose ``subject`` is ``digest``: from the referrers API, or, when the
        registry answers 404 there, from the ``<alg>-<hex>`` tag. Filtered by
        ``artifact_type`` here when the registry did not filter."""
        d = Digest.parse(digest)
        params = {"artifactType": artifact_type} if artifact_type else None
        path: str | None = f"/v2/{repository}/referrers/{d}"
        found: list[Descriptor] = []
        for _ in range(_REFERRERS_PAGES):
            if path is None:
                return Referrers(found, via_api=True)
            resp = self.transport.request(
                "GET",
                path,
                scope=repository_scope(repository),
                repository=repository,
                what=f"GET referrers of {d}",
                headers={"Accept": mt.OCI_INDEX},
                params=params,
                stream=True,
                expect=(200, 404),
                digest=str(d),
            )
            with resp:
                if resp.status_code == 404:
                    if found:  # a later page vanished: report, do not mix in the fallback
                        raise RegistryProtocolError(
                            f"GET referrers of {d}: a next page answered 404",
                            registry=self.registry,
                            repository=repository,
                            status=404,
                        )
                    return self._fallback_referrers(repository, d, artifact_type)
                raw = self._read_document(resp, repository, f"GET referrers of {d}")
                page = refs.parse_referrers(raw, path=self._where(repository, str(d)))
                applied = {f.strip() for f in resp.headers.get(refs.FILTERS_APPLIED_HEADER, "").split(",")}
                found.extend(
                    page if "artifactType" in applied else refs.filter_artifact_type(page, artifact_type)
                )
                path = _next_link(resp)
                params = None
        raise RegistryProtocolError(
            "GET referrers: too many pages", registry=self.registry, repository=repository
        )

    def _fallback_referrers(self, repository: str, digest: Digest, artifact_type: str | None) -> Referrers:
        tag = refs.fallback_tag(digest)
        try:
            index = self.get_manifest(repository, tag, accept=(mt.OCI_INDEX,))
        except RegistryNotFoundError:
            return Referrers([], via_api=False)
        listed = refs.parse_referrers(index.raw, path=self._where(repository, tag))
        return Referrers(refs.filter_artifact_type(listed, artifact_type), via_api=False)

    # ------------------------------------------------------------------ helpers

    def _read_document(self, resp: requests.Response, repository: str, what: str) -> bytes:
        """A response body of at most 4 MiB (urllib3 checks it against Content-Length)."""
        declared = resp.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > MAX_DOCUMENT_SIZE:
            raise RegistryProtocolError(
                f"{what}: {declared} bytes, over the {MAX_DOCUMENT_SIZE}-byte limit for documents",
                registry=self.registry,
                repository=repository,
                status=resp.status_code,
            )
        try:
            raw = resp.raw.read(MAX_DOCUMENT_SIZE + 1, decode_content=True)
        except Exception as exc:  # urllib3 ProtocolError (cut short), timeouts
            raise RegistryError(
                f"{what}: connection lost while reading the answer",
                registry=self.registry,
                repository=repository,
                status=resp.status_code,
            ) from exc
        if len(raw) > MAX_DOCUMENT_SIZE:
            raise RegistryProtocolError(
                f"{what}: over the {MAX_DOCUMENT_SIZE}-byte limit for documents",
                registry=self.registry,
                repository=repository,
                status=resp.status_code,
            )
        return bytes(raw)

    def _parse_digest(self, value: str, repository: str, what: str) -> Digest:
        try:
            return Digest.parse(value.strip())
        except ValueError:
            raise RegistryProtocolError(
                f"{what}: malformed Docker-Content-Digest {value[:80]!r}",
                registry=self.registry,
                repository=repository,
            ) from None


def _digest_of(raw: bytes, algorithm: str) -> Digest:
    d = Digester(algorithm)
    d.update(raw)
    return d.digest()


def _declared_media_type(raw: bytes) -> str:
    try:
        doc = load_json(raw, path="")
    except InvalidDocumentError:
        return ""
    value = doc.get("mediaType") if isinstance(doc, dict) else None
    return value if isinstance(value, str) else ""


def _next_link(resp: requests.Response) -> str | None:
    """The ``rel="next"`` target of a ``Link`` header (RFC 5988), or None."""
    nxt = resp.links.get("next", {}).get("url")
    return nxt or None
