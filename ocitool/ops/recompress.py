"""Streaming recompression of layers: gzip, zstd or none, with pinned, reproducible output.

A layer is decompressed (by what its bytes are) and compressed again block by block; memory is
bounded by a few blocks whatever the layer's size. The uncompressed bytes are hashed on the way,
so the caller can check that the diff ID did not change.

Reproducibility: the bytes written depend only on the input and the :class:`Codec` settings,
never on the number of threads or on which optional libraries are installed.

* gzip: ISA-L (``isal``) when it is installed, several times faster than zlib, else zlib; the
  two give different (equally valid) bytes, so :attr:`Codec.compressor` names the
  implementation and level (``isal:1``, ``zlib:6``) and the converter records it in each
  rewritten layer descriptor's ``io.github.ocitool.compressor`` annotation: equal annotations,
  equal bytes. Levels are gzip's 1-9, default 1: the fastest, and on bench/'s images within
  1.04x of ``skopeo copy``'s output size (docs/benchmarks.md). ISA-L's levels stand for 1-6
  (1 for 1, 2 for 2-3, 3 for 4-6: ISA-L level 3 is within about 8% of zlib level 6 in size on
  real file systems, at eight times the speed); 7-9 always use zlib. As pigz does, the stream is cut
  into 1 MiB blocks compressed independently, each primed with the previous 32 KiB as
  dictionary and ended on a byte boundary (sync flush): blocks are compressed in parallel
  threads and the result is one ordinary deflate stream, the same whatever the thread count.
  A block none of whose eight samples compresses (already compressed or random data) is stored
  (zlib level 0) instead of being searched in vain. The fixed 10-byte header has no file name,
  mtime 0, XFL 0 and OS 255 ("unknown"), as Go writes it.
* zstd: one frame, single-threaded (so the frame layout never depends on the core count),
  content checksum on, no content size (streams have none), level 1-19 (default 3).
* none: the tar as it is.
"""

from __future__ import annotations

import collections
import queue
import threading
import zlib
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import IO, Any, Final

import zstandard

from ocitool._io.files import read_full
from ocitool._record import record
from ocitool.compression import DEFAULT_LEVELS, Compression, gzip_implementation
from ocitool.model.digest import Digest, Digester

_isal_zlib: Any
try:  # pragma: no cover - depends on what is installed
    from isal import isal_zlib as _isal_zlib
except ImportError:  # pragma: no cover
    _isal_zlib = None

__all__ = [
    "ANNOTATION_COMPRESSOR",
    "Codec",
    "RecompressResult",
    "recompress",
]

ANNOTATION_COMPRESSOR: Final = "io.github.ocitool.compressor"
_LEVEL_RANGE: Final = {Compression.GZIP: (1, 9), Compression.ZSTD: (1, 19), Compression.NONE: (0, 0)}
_CHUNK: Final = 1 << 20
_GZ_BLOCK: Final = 1 << 20
_GZ_DICT: Final = 32 << 10
_PROBE: Final = 4 << 10
_PROBES: Final = 8
# gzip member header: magic, CM=deflate, FLG=0, MTIME=0, XFL=0, OS=255 (unknown), as Go writes it.
_GZIP_HEADER: Final = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"


@record(frozen=True)
class Codec:
    """A target compression and its level (None: the default for that compression).

    An unsupported compression or an out-of-range level raises ValueError at construction.
    """

    compression: Compression
    level: int | None = None

    def __post_init__(self) -> None:
        if self.compression not in _LEVEL_RANGE:
            raise ValueError(f"cannot compress layers with {self.compression.value}")
        if self.level is not None:
            lo, hi = _LEVEL_RANGE[self.compression]
            if not lo <= self.level <= hi:
                raise ValueError(f"{self.compression.value} level {self.level} is not in {lo}-{hi}")

    @property
    def effective_level(self) -> int:
        return DEFAULT_LEVELS[self.compression] if self.level is None else self.level

    @property
    def compressor(self) -> str:
        """The implementation and its level, as recorded in annotations (``isal:1``, ``zstd:3``)."""
        if self.compression is Compression.GZIP:
            impl, level = gzip_implementation(self.effective_level)
            return f"{impl}:{level}"
        if self.compression is Compression.ZSTD:
            return f"zstd:{self.effective_level}"
        return "none"


def _incompressible(block: bytes) -> bool:
    """Whether every one of eight 4 KiB samples of ``block``, spread evenly, gains under 3% at
    zlib level 1. Each sample is judged alone: a block that mixes random files with text (a
    256 KiB text file always holds a sample) is compressed, not stored."""
    if len(block) < _PROBES * _PROBE:
        return False
    step = (len(block) - _PROBE) // (_PROBES - 1)
    for i in range(_PROBES):
        sample = block[i * step : i * step + _PROBE]
        if len(zlib.compress(sample, 1)) <= 0.97 * len(sample):
            return False
    return True


def _deflate_block(block: bytes, zdict: bytes, impl: str, level: int, last: bool) -> bytes:
    """One block of the raw deflate stream: byte-aligned (sync flush) unless ``last``."""
    mod: Any = _isal_zlib if impl == "isal" else zlib
    if _incompressible(block):
        mod, level = zlib, 0
    args: tuple[Any, ...] = (level, mod.DEFLATED, -15, 8 if mod is zlib else 9, mod.Z_DEFAULT_STRATEGY)
    if zdict and level:
        args += (zdict,)
    obj = mod.compressobj(*args)
    return bytes(obj.compress(block) + obj.flush(mod.Z_FINISH if last else mod.Z_SYNC_FLUSH))


@record(frozen=True)
class RecompressResult:
    """What was written: the blob's digest and size, and the uncompressed digest and size."""

    digest: Digest
    size: int
    diff_id: Digest
    uncompressed_size: int


class _Sink:
    """Hashes and writes to ``out`` in a writer thread, fed through a bounded queue.

    Writing (page-cache copies, a third of convert's time here) and hashing the output release
    the GIL, so they overlap reading, hashing and compressing the input on the other core; the
    bytes and their order are those given to :meth:`write`. A write error is raised by the next
    :meth:`write` or by :meth:`finish`; :meth:`finish` (or :meth:`abort`) ends the thread.
    """

    def __init__(self, out: IO[bytes], depth: int) -> None:
        self.out = out
        self.digester = Digester()
        self._queue: queue.Queue[bytes | None] = queue.Queue(max(depth, 1))
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="ocitool-write", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (data := self._queue.get()) is not None:
            if self._error is not None:
                continue  # keep draining so the producer never blocks
            try:
                self.digester.update(data)
                self.out.write(data)
            except BaseException as exc:  # raised to the producer by write() or finish()
                self._error = exc

    def write(self, data: bytes) -> None:
        if self._error is not None:
            raise self._error
        if data:
            self._queue.put(data)

    def finish(self) -> None:
        self.abort()
        if self._error is not None:
            raise self._error

    def abort(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()


def recompress(
    tar_stream: IO[bytes],
    out: IO[bytes],
    codec: Codec,
    *,
    executor: Executor | None = None,
    in_flight: int = 4,
    progress: Callable[[int], None] | None = None,
) -> RecompressResult:
    """Compress the uncompressed ``tar_stream`` into ``out`` with ``codec``, streaming.

    With ``executor``, gzip blocks are compressed there, at most ``in_flight`` at a time (the
    output is the same either way). ``progress`` is called with the number of uncompressed bytes
    consumed, block by block. Read errors (InvalidArchiveError from a decoder) propagate.
    """
    sink = _Sink(out, in_flight + 1)
    try:
        diff = _compress(tar_stream, sink, codec, executor, in_flight, progress)
        sink.finish()
    finally:
        sink.abort()
    return RecompressResult(sink.digester.digest(), sink.digester.size, diff.digest(), diff.size)


def _compress(
    tar_stream: IO[bytes],
    sink: _Sink,
    codec: Codec,
    executor: Executor | None,
    in_flight: int,
    progress: Callable[[int], None] | None,
) -> Digester:
    """Write ``tar_stream`` compressed with ``codec`` to ``sink``; the uncompressed digester."""
    diff = Digester()
    comp = codec.compression
    level = codec.effective_level
    if comp is Compression.GZIP:
        impl, impl_level = gzip_implementation(level)
        sink.write(_GZIP_HEADER)
        crc = 0
        pending: collections.deque[Future[bytes] | bytes] = collections.deque()
        tail = b""
        block = read_full(tar_stream, _GZ_BLOCK)
        while True:
            following = read_full(tar_stream, _GZ_BLOCK) if len(block) == _GZ_BLOCK else b""
            last = not following
            diff.update(block)
            crc = zlib.crc32(block, crc)
            if executor is not None:
                pending.append(executor.submit(_deflate_block, block, tail, impl, impl_level, last))
            else:
                pending.append(_deflate_block(block, tail, impl, impl_level, last))
            tail = (tail + block)[-_GZ_DICT:] if len(block) < _GZ_DICT else block[-_GZ_DICT:]
            if progress is not None:
                progress(len(block))
            while len(pending) > max(in_flight, 1) or (last and pending):
                head = pending.popleft()
                sink.write(head if isinstance(head, bytes) else head.result())
            if last:
                break
            block = following
        sink.write((crc & 0xFFFFFFFF).to_bytes(4, "little") + (diff.size & 0xFFFFFFFF).to_bytes(4, "little"))
    else:
        zobj = (
            zstandard.ZstdCompressor(
                level=level, write_checksum=True, write_content_size=False, threads=0
            ).compressobj()
            if comp is Compression.ZSTD
            else None
        )
        while chunk := tar_stream.read(_CHUNK):
            diff.update(chunk)
            sink.write(zobj.compress(chunk) if zobj is not None else chunk)
            if progress is not None:
                progress(len(chunk))
        if zobj is not None:
            sink.write(zobj.flush())
    return diff
