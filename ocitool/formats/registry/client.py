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
      the registry's ``Range`` after a lost connection, and mount with ``?mount=&from=``.
    * There is no referrers API in oras-py (upstream oras-py issue #224); see
      :mod:`ocitool.formats.registry.referrers`.

Every request goes through :class:`~ocitool.formats.registry.transport.Transport` (retries,
tokens per scope, TLS). A client may be shared by threads; :func:`map_bounded` runs blob
transfers a few at a time.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from enum import Enum
from typing import IO, TYPE_CHECKING, Final, TypeVar

from ocitool._io.jsondoc import MAX_DOCUMENT_SIZE, expect_dict, load_json
from ocitool.errors import (
    DigestMismatchError,
    InvalidDocumentError,
    RegistryError,
    RegistryNotFoundError,
    RegistryProtocolError,
    SizeMismatchError,
)
from ocitool.formats.registry import referrers as refs
from ocitool.formats.registry.auth import Credentials, Scope, find_credentials, parse_creds, repository_scope
from ocitool.formats.registry.reference import RegistryReference
from ocitool.formats.registry.transport import Budget, RetryPolicy, Transport
from ocitool.model import mediatypes as mt
from ocitool.model.descriptor import Descriptor
from ocitool.model.digest import Digest, Digester

if TYPE_CHECKING:
    import requests

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_CONCURRENCY",
    "MANIFEST_MEDIA_TYPES",
    "BlobReader",
    "FetchedManifest",
    "ManifestInfo",
    "PushOutcome",
    "PushedManifest",
    "Referrers",
    "RegistryClient",
    "map_bounded",
]

_log = logging.getLogger("ocitool.registry")

DEFAULT_CONCURRENCY: Final = 4
DEFAULT_CHUNK_SIZE: Final = 16 << 20
MANIFEST_MEDIA_TYPES: Final = (mt.OCI_MANIFEST, mt.OCI_INDEX, mt.DOCKER_MANIFEST, mt.DOCKER_MANIFEST_LIST)
_ACCEPT: Final = ", ".join(MANIFEST_MEDIA_TYPES)
_OCTET: Final = "application/octet-stream"
_READ_SIZE: Final = 1 << 20
_REFERRERS_PAGES: Final = 1000
_TAG_PAGES: Final = 10000

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class FetchedManifest:
    """A manifest or index as the registry holds it: exact bytes, media type, digest."""

    raw: bytes
    media_type: str
    digest: Digest

    @property
    def size(self) -> int:
        return len(self.raw)


@dataclass(frozen=True)
class ManifestInfo:
    """What a manifest HEAD tells: digest, size and media type, without the body."""

    digest: Digest
    size: int
    media_type: str


@dataclass(frozen=True)
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


@dataclass(frozen=True)
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


class BlobReader(io.RawIOBase):
    """A blob streamed from the registry, hashed as it goes.

    The read that reaches the end raises SizeMismatchError or DigestMismatchError when the
    blob is not what its digest (and size, when given) says, and reading past the declared
    size raises at once: a consumer that reads to EOF cannot miss corruption, so it must not
    commit what it wrote before then. A connection lost mid-blob is resumed with a ``Range``
    request (within the retry policy); a registry that ignores ``Range`` is read again from
    the start, skipping what was already delivered.
    """

    def __init__(self, client: RegistryClient, repository: str, digest: Digest, size: int | None) -> None:
        super().__init__()
        self._client = client
        self._repository = repository
        self._digest = digest
        self._size = size
        self._hasher = Digester(digest.algorithm)
        self._budget = Budget(client.transport.retry)
        self._resp: requests.Response | None = None
        self._done = False
        self._opened_at = 0
        self._resp = self._open(0)

    @property
    def location(self) -> str:
        return f"docker://{self._client.registry}/{self._repository}@{self._digest}"

    def _open(self, offset: int) -> requests.Response:
        self._opened_at = offset
        headers = {"Accept-Encoding": "identity"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        resp = self._client.transport.request(
            "GET",
            f"/v2/{self._repository}/blobs/{self._digest}",
            scope=repository_scope(self._repository),
            repository=self._repository,
            what=f"GET blob {self._digest}",
            headers=headers,
            stream=True,
            expect=(200, 206),
            digest=str(self._digest),
            budget=self._budget,
        )
        if offset and resp.status_code == 206:
            start = (resp.headers.get("Content-Range") or "").removeprefix("bytes ").split("-", 1)[0]
            if start != str(offset):
                resp.close()
                raise RegistryProtocolError(
                    f"GET blob {self._digest}: asked for bytes from {offset}, got range {start or '?'}",
                    registry=self._client.registry,
                    repository=self._repository,
                    status=206,
                    digest=str(self._digest),
                )
        elif offset:
            # 200: the whole blob again; drop what was already delivered
            skip = offset
            while skip:
                chunk = resp.raw.read(min(skip, _READ_SIZE), decode_content=True)
                if not chunk:
                    break
                skip -= len(chunk)
        return resp

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        n = len(data)
        memoryview(buffer)[:n] = data
        return n

    def readall(self) -> bytes:
        parts: list[bytes] = []
        while chunk := self.read(_READ_SIZE):
            parts.append(chunk)
        return b"".join(parts)

    def read(self, size: int | None = -1) -> bytes:
        """Up to ``size`` bytes (all that is left when ``size`` is None or negative)."""
        if size is None or size < 0:
            return self.readall()
        if self._done or size == 0:
            return b""
        want = size
        while True:
            assert self._resp is not None
            try:
                data = self._resp.raw.read(want, decode_content=True)
            except Exception as exc:  # urllib3 ProtocolError/ReadTimeoutError, OSError: a cut
                self._resume(exc)
                continue
            break
        if not data:
            self._finish()
            return b""
        self._hasher.update(data)
        if self._size is not None and self._hasher.size > self._size:
            self.close()
            raise SizeMismatchError(str(self._digest), self._size, self._hasher.size, path=self.location)
        if self._size is not None and self._hasher.size == self._size:
            # the declared size is reached: check now, so no caller ever sees the last byte
            # of a blob without its verdict
            self._finish()
        return data

    def _resume(self, exc: BaseException) -> None:
        offset = self._hasher.size
        if self._resp is not None:
            self._resp.close()
        if offset > self._opened_at:
            # bytes came since the last (re)open: progress, so the retry policy starts afresh
            self._budget = Budget(self._client.transport.retry)
            self._budget.take()
        delay = self._budget.next_wait(None)
        if delay is None:
            self._done = True
            raise RegistryError(
                f"GET blob {self._digest}: connection lost at byte {offset} ({self._budget.used} attempt(s))",
                registry=self._client.registry,
                repository=self._repository,
                digest=str(self._digest),
            ) from exc
        _log.info("blob %s: connection lost at byte %d; resuming in %.1f s", self._digest, offset, delay)
        time.sleep(delay)
        self._resp = self._open(offset)

    def _finish(self) -> None:
        if self._done:
            return
        self._done = True
        if self._resp is not None:
            self._resp.close()
        got = self._hasher.size
        if self._size is not None and got != self._size:
            raise SizeMismatchError(str(self._digest), self._size, got, path=self.location)
        actual = self._hasher.digest()
        if actual != self._digest:
            raise DigestMismatchError(str(self._digest), str(actual), path=self.location, what="blob")

    def close(self) -> None:
        if self._resp is not None:
            self._resp.close()
        super().close()


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
    def for_reference(cls, ref: RegistryReference, **options: object) -> RegistryClient:
        """A client for ``ref``'s registry (credentials looked up for its repository too)."""
        return cls(ref.registry, repository_hint=ref.repository, **options)  # type: ignore[arg-type]

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

    def blob_size(self, repository: str, digest: str | Digest, *, scope: Scope | None = None) -> int | None:
        """HEAD a blob: its size, or None when the repository does not have it. ``scope``
        (default: pull) lets a push ask once for the token its later requests need."""
        d = Digest.parse(digest)
        resp = self.transport.request(
            "HEAD",
            f"/v2/{repository}/blobs/{d}",
            scope=scope or repository_scope(repository),
            repository=repository,
            what=f"HEAD blob {d}",
            expect=(200, 404),
            digest=str(d),
        )
        with resp:
            if resp.status_code == 404:
                return None
            length = resp.headers.get("Content-Length", "")
        return int(length) if length.isdigit() else -1

    def open_blob(self, repository: str, digest: str | Digest, size: int | None = None) -> BlobReader:
        """A :class:`BlobReader` streaming the blob; verified as it reaches the end."""
        return BlobReader(self, repository, Digest.parse(digest), size)

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
            while chunk := reader.read(_READ_SIZE):
                out += chunk
                if len(out) > limit:
                    raise RegistryProtocolError(
                        f"blob {digest} is over the {limit}-byte limit for documents",
                        registry=self.registry,
                        repository=repository,
                        digest=str(digest),
                    )
        return bytes(out)

    def copy_blob(self, repository: str, digest: str | Digest, size: int | None, out: IO[bytes]) -> int:
        """Stream a blob into ``out``; returns its size. Raises (after writing) when it is not
        what ``digest``/``size`` say: discard ``out`` then (write to a temporary file and
        commit it only when this returns)."""
        total = 0
        with self.open_blob(repository, digest, size) as reader:
            while chunk := reader.read(_READ_SIZE):
                out.write(chunk)
                total += len(chunk)
        return total

    # ------------------------------------------------------------------ blobs: writing

    def mount_blob(self, repository: str, digest: str | Digest, from_repository: str) -> bool:
        """Mount a blob from another repository of this registry; False when the registry
        would not (the upload it started instead is abandoned)."""
        d = Digest.parse(digest)
        mounted, location = self._start_upload(repository, d, from_repository)
        if not mounted and location:
            self._cancel_upload(repository, location)
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
        if check_exists and self.blob_size(repository, d, scope=scope) is not None:
            return PushOutcome.EXISTS
        location: str | None = None
        if mount_from:
            mounted, location = self._start_upload(repository, d, mount_from)
            if mounted:
                return PushOutcome.MOUNTED
        _Upload(self, repository, d, size, source, location).run()
        return PushOutcome.UPLOADED

    def _start_upload(
        self, repository: str, digest: Digest, mount_from: str | None = None
    ) -> tuple[bool, str]:
        """POST an upload (a mount when ``mount_from``): (mounted, upload location)."""
        params = {"mount": str(digest), "from": mount_from} if mount_from else None
        resp = self.transport.request(
            "POST",
            f"/v2/{repository}/blobs/uploads/",
            scope=repository_scope(repository, push=True, mount_from=[mount_from] if mount_from else []),
            repository=repository,
            what=f"mount blob {digest} from {mount_from}" if mount_from else f"start upload of {digest}",
            headers={"Content-Length": "0"},
            params=params,
            expect=(201, 202),
            digest=str(digest),
        )
        with resp:
            location = resp.headers.get("Location", "")
        if resp.status_code == 201:
            return True, location
        if not location:
            raise RegistryProtocolError(
                f"start upload of {digest}: no Location in the answer",
                registry=self.registry,
                repository=repository,
                status=resp.status_code,
                digest=str(digest),
            )
        return False, self.transport.url(location)

    def _cancel_upload(self, repository: str, location: str) -> None:
        try:
            resp = self.transport.request(
                "DELETE",
                location,
                scope=repository_scope(repository, push=True),
                repository=repository,
                what="cancel upload",
                expect=(200, 202, 204, 404),
            )
            resp.close()
        except RegistryError as exc:  # an abandoned upload expires on its own
            _log.debug("cancel upload: %s", exc)

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


class _Upload:
    """One blob upload: POST, then PUT (small) or PATCH chunks + PUT.

    Retries follow the policy per step that makes progress (the single PUT, each chunk, the
    final PUT): a lost connection mid-chunk is resumed from the registry's ``Range``, or the
    upload starts over (at most ``attempts`` times) when the registry cannot resume. A PUT
    whose answer was lost is checked with HEAD before anything is sent again.
    """

    def __init__(
        self,
        client: RegistryClient,
        repository: str,
        digest: Digest,
        size: int,
        source: bytes | IO[bytes],
        location: str | None,
    ) -> None:
        self.client = client
        self.t = client.transport
        self.repository = repository
        self.digest = digest
        self.size = size
        self.source = source
        self.location = location
        self.scope = repository_scope(repository, push=True)
        self.where = f"docker://{client.registry}/{repository}@{digest}"
        self.restarts = 0

    def run(self) -> None:
        try:
            if self.size <= self.client.chunk_size:
                self._monolithic()
            else:
                self._chunked()
        except (DigestMismatchError, SizeMismatchError):
            if self.location:
                self.client._cancel_upload(self.repository, self.location)
            raise

    # the source ---------------------------------------------------------------------------

    def _rewind(self) -> None:
        if isinstance(self.source, bytes):
            return
        try:
            self.source.seek(0)
        except (AttributeError, OSError, io.UnsupportedOperation):
            raise RegistryError(
                f"upload of {self.digest} was interrupted and cannot resume, "
                "and its source cannot be read again",
                registry=self.client.registry,
                repository=self.repository,
                digest=str(self.digest),
            ) from None

    def _chunks(self) -> Iterable[bytes]:
        """The source in chunks of ``chunk_size``, hashed; checked against digest and size."""
        hasher = Digester(self.digest.algorithm)
        if isinstance(self.source, bytes):
            view = memoryview(self.source)
            for start in range(0, len(view), self.client.chunk_size):
                chunk = bytes(view[start : start + self.client.chunk_size])
                hasher.update(chunk)
                yield chunk
        else:
            while True:
                want = min(self.client.chunk_size, self.size + 1 - hasher.size)
                chunk = _read_exactly(self.source, want) if want > 0 else b""
                if not chunk:
                    break
                hasher.update(chunk)
                if hasher.size > self.size:
                    raise SizeMismatchError(str(self.digest), self.size, hasher.size, path=self.where)
                yield chunk
        if hasher.size != self.size:
            raise SizeMismatchError(str(self.digest), self.size, hasher.size, path=self.where)
        actual = hasher.digest()
        if actual != self.digest:
            raise DigestMismatchError(str(self.digest), str(actual), path=self.where, what="blob")

    # the protocol -------------------------------------------------------------------------

    def _start(self) -> None:
        _, self.location = self.client._start_upload(self.repository, self.digest)

    def _lost(self, exc: RegistryError, budget: Budget) -> None:
        """Wait before trying again after a lost connection; raise ``exc`` when it was an
        answer (not a lost connection) or the step's budget is spent."""
        delay = budget.next_wait(None)
        if exc.status is not None or delay is None:
            raise exc
        _log.info("upload of %s: %s; retrying in %.1f s", self.digest, exc.message, delay)
        time.sleep(delay)

    def _landed(self) -> bool:
        """Whether the blob is in the repository after all (a PUT whose answer was lost)."""
        try:
            return self.client.blob_size(self.repository, self.digest, scope=self.scope) == self.size
        except RegistryError:
            return False

    def _put(self, body: bytes, budget: Budget) -> None:
        assert self.location
        resp = self.t.request(
            "PUT",
            self.location,
            scope=self.scope,
            repository=self.repository,
            what=f"finish upload of {self.digest}",
            headers={"Content-Type": _OCTET},
            params=[("digest", str(self.digest))],
            body=body,
            expect=(201, 204),
            digest=str(self.digest),
            budget=budget,
            resend=False,
        )
        with resp:
            header = resp.headers.get("Docker-Content-Digest")
        if header and header.strip() != str(self.digest):
            raise RegistryProtocolError(
                f"finish upload of {self.digest}: the registry stored {header.strip()}",
                registry=self.client.registry,
                repository=self.repository,
                digest=str(self.digest),
            )

    def _monolithic(self) -> None:
        body = b"".join(self._chunks())
        budget = Budget(self.t.retry)
        while True:
            if not self.location:
                self._start()
            try:
                self._put(body, budget)
                return
            except RegistryError as exc:
                self._lost(exc, budget)
                if self._landed():
                    return
                self.location = None  # the PUT may have half-arrived: that upload is spent

    def _chunked(self) -> None:
        while True:
            if not self.location:
                self._start()
            try:
                self._send_chunks()
            except _Restart as restart:
                self.restarts += 1
                if self.restarts >= self.t.retry.attempts:
                    raise restart.cause from None
                _log.info("upload of %s: the registry cannot resume it; starting over", self.digest)
                self._rewind()
                self.location = None
                continue
            budget = Budget(self.t.retry)
            while True:
                try:
                    self._put(b"", budget)
                    return
                except RegistryError as exc:
                    self._lost(exc, budget)
                    if self._landed():
                        return

    def _send_chunks(self) -> None:
        offset = 0  # bytes the registry has acknowledged
        for chunk in self._chunks():
            budget = Budget(self.t.retry)  # each chunk that goes through is progress
            pending = chunk
            while pending:
                try:
                    self._patch(offset, pending, budget)
                    offset += len(pending)
                    pending = b""
                except RegistryError as exc:
                    self._lost(exc, budget)
                    have = self._registry_offset(budget)
                    if have is None or not offset <= have <= offset + len(pending):
                        raise _Restart(exc) from exc
                    _log.info("upload of %s: resuming at byte %d", self.digest, have)
                    pending = pending[have - offset :]
                    offset = have

    def _patch(self, offset: int, data: bytes, budget: Budget) -> None:
        assert self.location
        end = offset + len(data) - 1
        resp = self.t.request(
            "PATCH",
            self.location,
            scope=self.scope,
            repository=self.repository,
            what=f"upload of {self.digest} (bytes {offset}-{end})",
            headers={"Content-Type": _OCTET, "Content-Range": f"{offset}-{end}"},
            body=data,
            expect=(202, 204),
            digest=str(self.digest),
            budget=budget,
            resend=False,
        )
        with resp:
            location = resp.headers.get("Location")
        if location:
            self.location = self.t.url(location)

    def _registry_offset(self, budget: Budget) -> int | None:
        """How many bytes the upload holds (GET on its location, ``Range: 0-N``), or None when
        the registry no longer knows it (distribution 2.8 cancels an upload whose size moved
        under its state token, so a half-arrived chunk means starting over)."""
        assert self.location
        try:
            resp = self.t.request(
                "GET",
                self.location,
                scope=self.scope,
                repository=self.repository,
                what=f"status of upload of {self.digest}",
                expect=(200, 204, 400, 404, 416),
                budget=budget,
            )
        except RegistryError:
            return None
        with resp:
            if resp.status_code not in (200, 204):
                return None
            location = resp.headers.get("Location")
            span = resp.headers.get("Range", "")
        if location:
            self.location = self.t.url(location)
        start, _, end = span.removeprefix("bytes=").partition("-")
        if start != "0" or not end.isdigit():
            return None
        # "0-0" is both "nothing" and "one byte" in distribution's answer; nothing is the safe
        # reading (a byte too many fails the digest check at the end, never silently)
        return 0 if end == "0" else int(end) + 1


class _Restart(Exception):
    """The upload cannot resume; start a new one. Never escapes :class:`_Upload`."""

    def __init__(self, cause: RegistryError) -> None:
        super().__init__(str(cause))
        self.cause = cause


def _read_exactly(stream: IO[bytes], n: int) -> bytes:
    parts: list[bytes] = []
    left = n
    while left > 0:
        data = stream.read(left)
        if not data:
            break
        parts.append(data)
        left -= len(data)
    return b"".join(parts)


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
