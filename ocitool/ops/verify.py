"""``verify``: the integrity of every blob and of the documents that tie them together.

Checked: every referenced blob is present (absent platform manifests of an index and foreign
layers are notes, not problems: partial exports and non-distributable layers are legitimate);
every blob's size and digest; each layer's diff ID against its uncompressed stream; the config
and manifest agree (one diff ID per layer), the chain IDs compute; and for Docker 25+ saves,
``manifest.json`` names the same config and layers as the OCI manifest ``index.json`` leads to;
each layer's tar ends with its two zero blocks (Go's ``archive/tar``, hence Docker, containerd
and umoci, read a tar without them, as umoci 0.4.7's ``insert`` wrote layers: umoci#436, but
other tar readers may not: an ``unterminated-tar`` problem).

All problems are collected, each naming the digest and what referenced it. Hashing streams in
1 MiB chunks and runs in parallel across blobs (threads: hashlib and zlib release the GIL); a
compressed layer is read once, its stored bytes and its decompressed stream hashed together.
"""

from __future__ import annotations

import functools
import io
import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any, Final

from ocitool._io.files import normalize_name
from ocitool._io.jsondoc import load_json
from ocitool._io.tarscan import BLOCK_SIZE, TarEnd, scan_tar
from ocitool._record import field, record
from ocitool.compression import Compression, open_decompressed
from ocitool.errors import (
    BlobNotFoundError,
    DigestMismatchError,
    InvalidDocumentError,
    OcitoolError,
    SizeMismatchError,
)
from ocitool.formats.detect import SourceLike, open_source
from ocitool.image.source import Blobs, ImageIndex, Layer, Source, SourceImage
from ocitool.image.walk import Kind, SkipDescriptor, Step, walk
from ocitool.model import mediatypes as mt
from ocitool.model.config import chain_ids
from ocitool.model.descriptor import Descriptor
from ocitool.model.digest import Digest, Digester, digest_bytes
from ocitool.ops.progress import CountingReader, ProgressCallback, Tracker

__all__ = ["Problem", "VerifyReport", "verify", "verify_source"]

_CHUNK: Final = 1 << 20
# Compressed blobs at least this large are read and hashed in a thread of their own.
_THREADED_MIN: Final = 8 << 20


@record(frozen=True, slots=True)
class Problem:
    """One integrity fault. ``kind`` is one of: missing-blob, size-mismatch, digest-mismatch,
    diff-id-mismatch, unreadable-layer, unterminated-tar, invalid-document, inconsistent."""

    kind: str
    digest: str
    referenced_by: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {
            "Kind": self.kind,
            "Digest": self.digest,
            "ReferencedBy": self.referenced_by,
            "Message": self.message,
        }

    def __str__(self) -> str:
        by = f" (referenced by {self.referenced_by})" if self.referenced_by else ""
        return f"{self.kind}: {self.digest}{by}: {self.message}"


@record
class VerifyReport:
    """The result of :func:`verify`: ``ok`` only when ``problems`` is empty."""

    source: str
    images: int = 0
    blobs: int = 0
    bytes: int = 0
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "Source": self.source,
            "OK": self.ok,
            "Images": self.images,
            "Blobs": self.blobs,
            "Bytes": self.bytes,
            "Problems": [p.to_json() for p in self.problems],
            "Notes": list(self.notes),
        }


@record
class _Job:
    blobs: Blobs
    digest: Digest
    size: int
    referenced_by: list[str]
    layer: Layer | None = None


class _HashingReader(io.RawIOBase):
    """The stored bytes of a compressed layer, read and hashed ahead by a reader thread.

    The thread reads ``raw`` to its end in 1 MiB chunks, hashes every chunk into ``digester``
    and hands it over through a bounded queue (memory: a few chunks), so reading and hashing the
    stored bytes overlap decompressing and hashing them on the other core (hashlib and the
    codecs release the GIL). Bytes after the compressed stream are hashed too. A read error is
    raised to the consumer where it reads (or in :meth:`drain`), as a direct read would. With
    ``threaded`` False (small blobs, where a thread costs more than it saves) the consumer
    reads and hashes itself.
    """

    _DEPTH: Final = 4

    def __init__(self, raw: IO[bytes], digester: Digester, *, threaded: bool = True) -> None:
        super().__init__()
        self._raw = raw
        self._digester = digester
        self._queue: queue.Queue[bytes | BaseException] = queue.Queue(self._DEPTH)
        self._stop = threading.Event()
        self._pending = memoryview(b"")
        self._done = False
        self._thread: threading.Thread | None = None
        if threaded:
            self._thread = threading.Thread(target=self._produce, name="ocitool-verify-read", daemon=True)
            self._thread.start()

    def _next(self) -> bytes | BaseException:
        if self._thread is not None:
            return self._queue.get()
        try:
            item = self._raw.read(_CHUNK)
        except Exception as exc:
            return exc
        self._digester.update(item)
        return item

    def _produce(self) -> None:
        item: bytes | BaseException
        try:
            while not self._stop.is_set():
                item = self._raw.read(_CHUNK)
                self._digester.update(item)
                self._put(item)
                if not item:
                    return
        except BaseException as exc:  # handed to the consumer, which raises it where it reads
            self._put(exc)

    def _put(self, item: bytes | BaseException) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        if not self._pending:
            if self._done:
                return 0
            item = self._next()
            if isinstance(item, BaseException):
                self._done = True
                raise item
            if not item:
                self._done = True
                return 0
            self._pending = memoryview(item)
        n = min(len(buf), len(self._pending))
        memoryview(buf).cast("B")[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def drain(self) -> None:
        """Consume what the decompressor left (trailing bytes still count for the blob)."""
        self._pending = memoryview(b"")
        while not self._done:
            item = self._next()
            if isinstance(item, BaseException):
                self._done = True
                raise item
            self._done = not item

    def close(self) -> None:
        if not self.closed:
            self._stop.set()
            if self._thread is not None:
                self._thread.join()
            self._raw.close()
        super().close()


class _TarTail:
    """A digester that also keeps a layer tar's length and last two blocks: whether the tar can
    end with its two zero blocks, without parsing it."""

    def __init__(self, digester: Digester) -> None:
        self.digester = digester
        self.tail = b""

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self.digester.update(data)
        if len(data) >= 2 * BLOCK_SIZE:
            self.tail = bytes(data[-2 * BLOCK_SIZE :])
        else:
            self.tail = (self.tail + bytes(data))[-2 * BLOCK_SIZE :]

    def maybe_clean(self) -> bool:
        return self.digester.size % BLOCK_SIZE == 0 and self.tail == bytes(2 * BLOCK_SIZE)


def _tar_end_problem(layer: Layer, by: str, where: str) -> Problem | None:
    """A layer whose tar does not end with two zero blocks (read again: rare, only when its
    last bytes say so), or None."""
    try:
        with layer.open_uncompressed() as fh:
            end = scan_tar(fh, label=where).end
    except OcitoolError as exc:
        return Problem("unreadable-layer", str(layer.digest), by, str(exc))
    if end is TarEnd.END_BLOCKS:
        return None
    return Problem(
        "unterminated-tar",
        str(layer.digest),
        by,
        f"{where}: the layer's tar ends without its two zero blocks ({end.value}); Go's archive/tar "
        "(Docker, containerd, umoci) reads it, other tar readers may refuse it",
    )


# One read buffer per worker thread, reused from blob to blob: a fresh 1 MiB bytearray is zeroed
# and faulted in each time, which was most of the cost of a small blob (200 layers of 0.5 MB:
# 0.5 ms a blob, more than hashing and decompressing it).
_BUFFERS = threading.local()


def _read_buffer() -> memoryview:
    view: memoryview | None = getattr(_BUFFERS, "view", None)
    if view is None:
        view = _BUFFERS.view = memoryview(bytearray(_CHUNK))
    return view


def _hash_all(stream: Any, digester: Digester | _TarTail) -> None:
    view = _read_buffer()
    while True:
        n = stream.readinto(view)
        if not n:
            return
        digester.update(view[:n])


def _run_job(job: _Job, progress: ProgressCallback | None = None) -> list[Problem]:
    by = ", ".join(job.referenced_by)
    where = job.blobs.where(job.digest)
    problems: list[Problem] = []
    diff: Digest | None = None
    diff_known = True
    tail: _TarTail | None = None
    try:
        stored = job.digest.hasher()
        raw = job.blobs.open(job.digest, buffered=False)
        if progress is not None:
            raw = CountingReader(raw, Tracker(progress, "Verifying", job.size, job.digest.hex[:12]))  # type: ignore[assignment]
        layer = job.layer
        with raw:
            if layer is None:
                _hash_all(raw, stored)
            elif layer.compression is Compression.NONE:
                tail = _TarTail(stored)
                _hash_all(raw, tail)
            else:
                tee = _HashingReader(raw, stored, threaded=job.size >= _THREADED_MIN)
                try:
                    diff_hasher = layer.diff_id.hasher()
                    tail = _TarTail(diff_hasher)
                    try:
                        plain = open_decompressed(tee, layer.compression, path=where)  # type: ignore[arg-type]
                        _hash_all(plain, tail)
                        diff = diff_hasher.digest()
                    except Exception as exc:  # zlib.error, EOFError, zstd errors: a corrupt stream
                        diff_known = False
                        problems.append(
                            Problem(
                                "unreadable-layer",
                                str(job.digest),
                                by,
                                f"{where}: cannot be decompressed: {exc}",
                            )
                        )
                    # Bytes after (or after a fault in) the compressed stream still count for the blob.
                    tee.drain()
                finally:
                    tee.close()  # the reader thread has ended before ``raw`` closes
    except OcitoolError as exc:
        return [
            Problem("unreadable-layer" if job.layer else "unreadable-blob", str(job.digest), by, str(exc))
        ]
    if stored.size != job.size:
        problems.append(
            Problem(
                "size-mismatch",
                str(job.digest),
                by,
                f"{where}: {stored.size} bytes, descriptor says {job.size}",
            )
        )
    actual = stored.digest()
    if actual != job.digest:
        problems.append(
            Problem("digest-mismatch", str(job.digest), by, f"{where}: content hashes to {actual}")
        )
    if job.layer is not None and diff_known:
        diff_actual = diff if diff is not None else actual
        if diff_actual != job.layer.diff_id:
            problems.append(
                Problem(
                    "diff-id-mismatch",
                    str(job.digest),
                    by,
                    f"uncompressed layer hashes to {diff_actual}, config says diff ID {job.layer.diff_id}",
                )
            )
    if job.layer is not None and not problems and tail is not None and not tail.maybe_clean():
        end_problem = _tar_end_problem(job.layer, by, where)
        if end_problem is not None:
            problems.append(end_problem)
    return problems


class _Verifier:
    def __init__(self, source: Source, report: VerifyReport) -> None:
        self.source = source
        self.report = report
        self.jobs: dict[Digest, _Job] = {}
        self.seen: set[Digest] = set()  # manifests and indexes checked (tags may repeat them)

    def problem(self, kind: str, digest: object, by: str, message: str) -> None:
        self.report.problems.append(Problem(kind, str(digest), by, message))

    def from_error(self, exc: OcitoolError, by: str, digest_hint: object = "") -> None:
        digest = getattr(exc, "digest", None) or str(digest_hint or "") or str(exc.path or "")
        if isinstance(exc, BlobNotFoundError):
            kind = "missing-blob"
        elif isinstance(exc, SizeMismatchError):
            kind = "size-mismatch"
        elif isinstance(exc, DigestMismatchError):
            kind = "digest-mismatch"
        else:
            kind = "invalid-document"
        self.problem(kind, digest, by, str(exc))

    def schedule(self, blobs: Blobs, digest: Digest, size: int, by: str, layer: Layer | None = None) -> None:
        job = self.jobs.get(digest)
        if job is None:
            self.jobs[digest] = _Job(blobs, digest, size, [by], layer)
        else:
            if by not in job.referenced_by:
                job.referenced_by.append(by)
            if job.layer is None:
                job.layer = layer

    def node(self, root: SourceImage | ImageIndex) -> None:
        """Check ``root`` and everything below it, each manifest and index once per report."""
        walk(root, self.visit, report_errors=True)

    def visit(self, step: Step) -> None:
        node = step.node
        by = f"index {step.parent.descriptor.digest}" if step.parent is not None else ""
        desc = step.descriptor
        if isinstance(node, SourceImage | ImageIndex):
            if node.digest in self.seen:
                raise SkipDescriptor
            self.seen.add(node.digest)
            if isinstance(node, SourceImage):
                self.image(node)
                return
            try:
                node.index.manifests  # noqa: B018 - parsed here so that a bad index is a problem
            except OcitoolError as exc:
                self.from_error(exc, f"index {node.digest}", node.digest)
                raise SkipDescriptor from None
        elif step.kind is Kind.ABSENT:
            self.absent(desc, by)
        elif step.kind is Kind.BLOB and desc.data is None and isinstance(step.parent, ImageIndex):
            if step.parent.blobs.has(desc.digest):
                self.schedule(step.parent.blobs, desc.digest, desc.size, by)  # an artifact's blob
            else:
                self.absent(desc, by)
        elif step.kind is Kind.TOO_DEEP:
            self.problem("invalid-document", desc.digest, by, "indexes nested too deep")
        elif step.kind is Kind.FAILED and step.error is not None:
            self.from_error(step.error, by, desc.digest)

    def absent(self, desc: Descriptor, by: str) -> None:
        plat = f" ({desc.platform})" if desc.platform else ""
        self.report.notes.append(f"{desc.digest}{plat} listed by {by} is absent (partial export)")

    def image(self, image: SourceImage) -> None:
        self.report.images += 1
        me = f"manifest {image.digest}"
        try:
            manifest = image.manifest
        except OcitoolError as exc:
            self.from_error(exc, me, image.digest)
            return
        if not manifest.is_image:
            return  # an artifact or attestation: its blobs are not an image's
        cfg = manifest.config
        if not image.blobs.has(cfg.digest) and cfg.data is None:
            self.problem("missing-blob", cfg.digest, me, "config blob is absent")
            return
        self.schedule(image.blobs, cfg.digest, cfg.size, me)
        if cfg.media_type not in ("", mt.OCI_CONFIG, mt.DOCKER_CONFIG):
            # An artifact (e.g. an SBOM with the empty config): its blobs are checked as blobs.
            for desc in manifest.layers:
                if desc.data is None and image.blobs.has(desc.digest):
                    self.schedule(image.blobs, desc.digest, desc.size, me)
                elif desc.data is None and not desc.urls:
                    self.problem("missing-blob", desc.digest, me, "blob is absent")
            return
        try:
            config = image.config
            layers = image.layers
        except OcitoolError as exc:
            self.from_error(exc, me, cfg.digest)
            return
        if config.rootfs is not None:
            try:
                chain_ids(config.rootfs.diff_ids)
            except OcitoolError as exc:
                self.problem("invalid-document", cfg.digest, me, f"chain IDs: {exc}")
        for layer in layers:
            if not layer.present:
                if mt.is_foreign_layer(layer.media_type) or layer.descriptor.urls:
                    self.report.notes.append(f"foreign layer {layer.digest} of {me} is not in the source")
                else:
                    self.problem("missing-blob", layer.digest, me, "layer blob is absent")
                continue
            if "in-toto" in layer.media_type or layer.media_type.endswith(("+json", "+dsse")):
                # A document in a layer's place (a BuildKit attestation manifest's in-toto
                # statements, DSSE envelopes): checked against its digest, not read as a tar.
                self.schedule(image.blobs, layer.digest, layer.descriptor.size, me)
                continue
            self.schedule(image.blobs, layer.digest, layer.descriptor.size, me, layer)

    def docker_manifest_json(self) -> None:
        """Docker 25+ saves: manifest.json must name what the OCI manifest names."""
        view = getattr(self.source, "view", None)
        if view is None or getattr(self.source, "transport", "") != "docker-archive":
            return
        if not (view.exists("manifest.json") and view.exists("index.json")):
            return
        where = view.where("manifest.json")
        doc = load_json(view.read("manifest.json"), path=where)
        if not isinstance(doc, list):
            return
        # Entries follow index.json; each manifest.json item is paired with the OCI manifest
        # of the config it stores (hashed, as the reader matches them).
        by_config: dict[Digest, SourceImage] = {}
        for entry in self.source.entries:
            try:
                images = entry.images()
            except OcitoolError:
                continue
            for image in images:
                if mt.is_manifest(image.descriptor.media_type):
                    by_config.setdefault(image.manifest.config.digest, image)
        for i, raw_item in enumerate(doc):
            if not isinstance(raw_item, dict):
                continue
            item = {k.lower(): v for k, v in raw_item.items()}
            config_member = item.get("config")
            if not isinstance(config_member, str) or not view.exists(normalize_name(config_member)):
                continue
            node = by_config.get(digest_bytes(view.read(normalize_name(config_member))))
            if node is None:
                continue
            names = item.get("layers") or []
            listed = [str(n).rsplit("/", 1)[-1] for n in names if isinstance(n, str)]
            try:
                wanted = [d.digest.hex for d in node.manifest.layers]
            except OcitoolError:
                continue
            if listed and all(len(x) == 64 for x in listed) and listed != wanted:
                self.problem(
                    "inconsistent",
                    node.digest,
                    f"{where} /{i}/Layers",
                    "manifest.json lists other layers than the OCI manifest in index.json",
                )
            config_name = item.get("config")
            if isinstance(config_name, str) and config_name.startswith("blobs/"):
                named = config_name.rsplit("/", 1)[-1]
                if named != node.manifest.config.digest.hex:
                    self.problem(
                        "inconsistent",
                        node.digest,
                        f"{where} /{i}/Config",
                        f"manifest.json names config {named}, the OCI manifest {node.manifest.config.digest}",
                    )


def verify_source(
    source: Source, *, label: str = "", workers: int | None = None, progress: ProgressCallback | None = None
) -> VerifyReport:
    """Verify an opened source (see the module doc); ``progress`` gets each blob's bytes
    (phase ``Verifying``). Never raises for integrity faults: they are problems in the report.
    Raises OcitoolError only when the source cannot be read at all."""
    report = VerifyReport(source=label)
    v = _Verifier(source, report)
    try:
        entries = source.entries
    except (BlobNotFoundError, DigestMismatchError, SizeMismatchError, InvalidDocumentError) as exc:
        v.from_error(exc, label or "source")
        return report
    for entry in entries:
        by = entry.repo_tags[0] if entry.repo_tags else f"entry {entry.position}"
        if entry.node is None:
            # A top-level entry must be present (only an index's platforms may be left out).
            reason = entry.missing_reason or "absent"
            v.problem("missing-blob", entry.descriptor.digest, by, f"not in the source: {reason}")
            continue
        v.node(entry.node)
    try:
        v.docker_manifest_json()
    except OcitoolError as exc:
        v.from_error(exc, "manifest.json")
    jobs = sorted(v.jobs.values(), key=lambda j: -j.size)
    report.blobs = len(jobs)
    report.bytes = sum(j.size for j in jobs)
    n = workers or min(len(jobs), os.cpu_count() or 1) or 1
    run: Callable[[_Job], list[Problem]] = (
        _run_job if progress is None else functools.partial(_run_job, progress=progress)
    )
    with ThreadPoolExecutor(max_workers=n) as pool:
        for found in pool.map(run, jobs):
            report.problems.extend(found)
    return report


def verify(
    source: SourceLike, *, workers: int | None = None, progress: ProgressCallback | None = None
) -> VerifyReport:
    """Verify the SOURCE ``source`` (a string or a path; any format ``open_source`` reads).

    Returns a report whose ``ok`` is True only when every check passed; raises OcitoolError
    (NotAnImageError, InvalidArchiveError) when the input cannot be read at all.
    """
    with open_source(source) as src:
        return verify_source(src, label=os.fspath(source), workers=workers, progress=progress)
