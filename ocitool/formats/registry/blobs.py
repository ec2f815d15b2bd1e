"""Blob transfers: streamed, verified downloads that resume, and streaming uploads (one PUT,
or PATCH chunks) that resume from the registry's ``Range`` or start over.

oras-py's ``download_blob`` writes what arrives unchecked (upstream oras-py issue #247); its
``put_upload`` reads the whole file into memory and ``chunked_upload`` cannot resume or mount.
These replace them, over the same session (:mod:`ocitool.formats.registry.transport`).
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Iterable
from typing import IO, TYPE_CHECKING, Any, Final

from ocitool._io.files import read_full
from ocitool.errors import (
    DigestMismatchError,
    RegistryError,
    RegistryProtocolError,
    SizeMismatchError,
)
from ocitool.formats.registry.auth import Scope, repository_scope
from ocitool.formats.registry.transport import Budget, Transport
from ocitool.model.digest import Digest, Digester

if TYPE_CHECKING:
    import requests

__all__ = ["READ_SIZE", "BlobReader", "Upload", "blob_size", "cancel_upload", "start_upload"]

_log = logging.getLogger("ocitool.registry")

READ_SIZE: Final = 1 << 20
_OCTET: Final = "application/octet-stream"


def blob_size(
    transport: Transport, repository: str, digest: Digest, *, scope: Scope | None = None
) -> int | None:
    """HEAD a blob: its size, or None when the repository does not have it. ``scope``
    (default: pull) lets a push ask once for the token its later requests need."""
    resp = transport.request(
        "HEAD",
        f"/v2/{repository}/blobs/{digest}",
        scope=scope or repository_scope(repository),
        repository=repository,
        what=f"HEAD blob {digest}",
        expect=(200, 404),
        digest=str(digest),
    )
    with resp:
        if resp.status_code == 404:
            return None
        length = resp.headers.get("Content-Length", "")
    return int(length) if length.isdigit() else -1


def start_upload(
    transport: Transport, repository: str, digest: Digest, mount_from: str | None = None
) -> tuple[bool, str]:
    """POST an upload (a mount when ``mount_from``): ``(mounted, location)``; the location is
    the upload's when not mounted. Raises RegistryProtocolError without a ``Location``."""
    params = {"mount": str(digest), "from": mount_from} if mount_from else None
    resp = transport.request(
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
            registry=transport.registry,
            repository=repository,
            status=resp.status_code,
            digest=str(digest),
        )
    return False, transport.url(location)


def cancel_upload(transport: Transport, repository: str, location: str) -> None:
    """DELETE an upload; failures are only logged (an abandoned upload expires on its own)."""
    try:
        resp = transport.request(
            "DELETE",
            location,
            scope=repository_scope(repository, push=True),
            repository=repository,
            what="cancel upload",
            expect=(200, 202, 204, 404),
        )
        resp.close()
    except RegistryError as exc:
        _log.debug("cancel upload: %s", exc)


class BlobReader(io.RawIOBase):
    """A blob streamed from the registry, hashed as it goes.

    The read that reaches the end raises SizeMismatchError or DigestMismatchError when the
    blob is not what its digest (and size, when given) says, and reading past the declared
    size raises at once: a consumer that reads to EOF cannot miss corruption, so it must not
    commit what it wrote before then. A connection lost mid-blob is resumed with a ``Range``
    request (within the retry policy); a registry that ignores ``Range`` is read again from
    the start, skipping what was already delivered.
    """

    def __init__(self, transport: Transport, repository: str, digest: Digest, size: int | None) -> None:
        super().__init__()
        self._transport = transport
        self._repository = repository
        self._digest = digest
        self._size = size
        self._hasher = Digester(digest.algorithm)
        self._budget = Budget(transport.retry)
        self._resp: requests.Response | None = None
        self._done = False
        self._opened_at = 0
        self._resp = self._open(0)

    @property
    def location(self) -> str:
        return f"docker://{self._transport.registry}/{self._repository}@{self._digest}"

    @property
    def verified_digest(self) -> Digest:
        """What this reader checks when it reaches the end (see model.digest.verified_digest)."""
        return self._digest

    def _open(self, offset: int) -> requests.Response:
        self._opened_at = offset
        headers = {"Accept-Encoding": "identity"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        resp = self._transport.request(
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
                    registry=self._transport.registry,
                    repository=self._repository,
                    status=206,
                    digest=str(self._digest),
                )
        elif offset:
            # 200: the whole blob again; drop what was already delivered
            skip = offset
            while skip:
                chunk = resp.raw.read(min(skip, READ_SIZE), decode_content=True)
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
        while chunk := self.read(READ_SIZE):
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
            self._budget = Budget(self._transport.retry)
            self._budget.take()
        delay = self._budget.next_wait(None)
        if delay is None:
            self._done = True
            raise RegistryError(
                f"GET blob {self._digest}: connection lost at byte {offset} ({self._budget.used} attempt(s))",
                registry=self._transport.registry,
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


class Upload:
    """One blob upload: POST, then PUT (small) or PATCH chunks + PUT.

    Retries follow the policy per step that makes progress (the single PUT, each chunk, the
    final PUT): a lost connection mid-chunk is resumed from the registry's ``Range``, or the
    upload starts over (at most ``attempts`` times) when the registry cannot resume. A PUT
    whose answer was lost is checked with HEAD before anything is sent again.
    """

    def __init__(
        self,
        transport: Transport,
        repository: str,
        digest: Digest,
        size: int,
        source: bytes | IO[bytes],
        *,
        chunk_size: int,
        location: str | None = None,
    ) -> None:
        self.t = transport
        self.chunk_size = max(chunk_size, 1)
        self.repository = repository
        self.digest = digest
        self.size = size
        self.source = source
        self.location = location
        self.scope = repository_scope(repository, push=True)
        self.where = f"docker://{transport.registry}/{repository}@{digest}"
        self.restarts = 0

    def run(self) -> None:
        try:
            if self.size <= self.chunk_size:
                self._monolithic()
            else:
                self._chunked()
        except (DigestMismatchError, SizeMismatchError):
            if self.location:
                cancel_upload(self.t, self.repository, self.location)
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
                registry=self.t.registry,
                repository=self.repository,
                digest=str(self.digest),
            ) from None

    def _chunks(self) -> Iterable[bytes]:
        """The source in chunks of ``chunk_size``, hashed; checked against digest and size."""
        hasher = Digester(self.digest.algorithm)
        if isinstance(self.source, bytes):
            view = memoryview(self.source)
            for start in range(0, len(view), self.chunk_size):
                chunk = bytes(view[start : start + self.chunk_size])
                hasher.update(chunk)
                yield chunk
        else:
            while True:
                want = min(self.chunk_size, self.size + 1 - hasher.size)
                chunk = read_full(self.source, want) if want > 0 else b""
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
        _, self.location = start_upload(self.t, self.repository, self.digest)

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
            return blob_size(self.t, self.repository, self.digest, scope=self.scope) == self.size
        except RegistryError:
            return False

    def _send(
        self, method: str, what: str, headers: dict[str, str], body: bytes, budget: Budget, **kw: Any
    ) -> requests.Response:
        """One upload request to the current location; lost connections are not re-sent here
        (the caller finds out what arrived)."""
        assert self.location
        return self.t.request(
            method,
            self.location,
            scope=self.scope,
            repository=self.repository,
            what=what,
            headers={"Content-Type": _OCTET, **headers},
            body=body,
            digest=str(self.digest),
            budget=budget,
            resend=False,
            **kw,
        )

    def _put(self, body: bytes, budget: Budget) -> None:
        what = f"finish upload of {self.digest}"
        params = [("digest", str(self.digest))]
        with self._send("PUT", what, {}, body, budget, params=params, expect=(201, 204)) as resp:
            header = resp.headers.get("Docker-Content-Digest")
        if header and header.strip() != str(self.digest):
            raise RegistryProtocolError(
                f"{what}: the registry stored {header.strip()}",
                registry=self.t.registry,
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
        end = offset + len(data) - 1
        what = f"upload of {self.digest} (bytes {offset}-{end})"
        with self._send(
            "PATCH", what, {"Content-Range": f"{offset}-{end}"}, data, budget, expect=(202, 204)
        ) as resp:
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
    """The upload cannot resume; start a new one. Never escapes :class:`Upload`."""

    def __init__(self, cause: RegistryError) -> None:
        super().__init__(str(cause))
        self.cause = cause
