"""Recognising compressed streams by their bytes, and streaming decompression.

Formats are told from magic bytes, never from file names. Decompressors are streaming file
objects (memory does not grow with the data), and every codec failure surfaces as
:class:`~ocitool.errors.InvalidArchiveError` naming the file. gzip uses ISA-L (``isal``) when it is
installed, which decompresses several times faster than zlib, and zlib otherwise.

The codec modules (isal, zstandard, lzma, bz2, gzip) are imported when a stream first needs
one, not with this module: reading an uncompressed archive loads none of them.
"""

from __future__ import annotations

import enum
import functools
import io
from typing import IO, Any, Final, cast

from ocitool.errors import InvalidArchiveError

__all__ = [
    "DEFAULT_LEVELS",
    "Compression",
    "LayerCompression",
    "compressors",
    "describe",
    "gzip_implementation",
    "have_isal",
    "is_tar_header",
    "open_decompressed",
    "sniff",
]

_CHUNK: Final = 1 << 20


class LayerCompression(enum.Enum):
    """How a layer blob is compressed, as its media type declares (see
    :func:`ocitool.model.mediatypes.layer_compression`)."""

    NONE = "none"
    GZIP = "gzip"
    ZSTD = "zstd"
    ZSTD_CHUNKED = "zstd:chunked"
    UNKNOWN = "unknown"


class Compression(enum.Enum):
    """A stream's compression, as its first bytes show."""

    NONE = "none"
    GZIP = "gzip"
    ZSTD = "zstd"
    XZ = "xz"
    BZIP2 = "bzip2"

    def matches(self, declared: LayerCompression) -> bool:
        """Whether content compressed this way fits a media type that declares ``declared``."""
        if declared in (LayerCompression.ZSTD, LayerCompression.ZSTD_CHUNKED):
            return self is Compression.ZSTD
        if declared is LayerCompression.GZIP:
            return self is Compression.GZIP
        if declared is LayerCompression.NONE:
            return self is Compression.NONE
        return True


_MAGIC: Final = (
    (b"\x1f\x8b", Compression.GZIP),
    (b"\x28\xb5\x2f\xfd", Compression.ZSTD),
    (b"\xfd7zXZ\x00", Compression.XZ),
    (b"BZh", Compression.BZIP2),
)
SNIFF_SIZE: Final = 6


# Default compression levels when writing layers (see ocitool.ops.recompress). gzip 1: with
# ISA-L, level 1 is the fastest and stays within 1.1x of skopeo's output size (docs/benchmarks.md).
DEFAULT_LEVELS: Final = {Compression.GZIP: 1, Compression.ZSTD: 3, Compression.NONE: 0}


@functools.cache
def _igzip() -> Any:
    """isal's ``igzip`` module, or None where isal has no wheel (zlib is used there)."""
    try:  # pragma: no cover - depends on what is installed
        from isal import igzip

        return igzip
    except ImportError:  # pragma: no cover
        return None


@functools.cache
def have_isal() -> bool:
    """Whether ISA-L does gzip here. Imports only isal's C codec module: ``--version`` asks, and
    ``igzip`` would bring ``gzip``, ``shutil`` and the other codecs with it (issue 11)."""
    try:  # pragma: no cover - depends on what is installed
        from isal import isal_zlib  # noqa: F401 - imported to see that the wheel loads
    except ImportError:  # pragma: no cover
        return False
    return True


@functools.cache
def _codec_errors() -> tuple[type[Exception], ...]:
    """The errors a codec raises on corrupt input; each becomes an InvalidArchiveError."""
    import lzma
    import zlib

    import zstandard

    errors: tuple[type[Exception], ...] = (OSError, EOFError, zlib.error, lzma.LZMAError, zstandard.ZstdError)
    if have_isal():
        from isal.igzip_lib import IsalError

        errors = (*errors, cast("type[Exception]", IsalError))
    return errors


def gzip_implementation(level: int) -> tuple[str, int]:
    """The deflate implementation and its own level that write gzip ``level``: ISA-L's levels
    stand for gzip's 1-6 (1 for 1, 2 for 2-3, 3 for 4-6); 7-9, or no isal, use zlib."""
    if level <= 6 and have_isal():
        return "isal", 1 if level <= 1 else 2 if level <= 3 else 3
    return "zlib", level


def compressors() -> str:
    """What writes compressed layers here, and at which default levels, for ``--version``:
    ``gzip: isal, default level 1 -> isal 1; zstd level 3``. Digests of recompressed layers are
    reproducible for the same implementation and level."""
    gzip_default = DEFAULT_LEVELS[Compression.GZIP]
    impl, level = gzip_implementation(gzip_default)
    return (
        f"gzip: {'isal' if have_isal() else 'zlib'}, default level {gzip_default} -> {impl} {level}; "
        f"zstd level {DEFAULT_LEVELS[Compression.ZSTD]}"
    )


def sniff(head: bytes) -> Compression:
    """The compression whose magic bytes start ``head`` (6 bytes suffice), else NONE."""
    for magic, comp in _MAGIC:
        if head.startswith(magic):
            return comp
    return Compression.NONE


def is_tar_header(block: bytes) -> bool:
    """Whether a 512-byte block is a valid tar header (ustar magic or a correct v7 checksum)."""
    if len(block) < 512:
        return False
    if block[257:262] == b"ustar":
        return True
    try:
        stored = int(block[148:156].replace(b"\x00", b" ").strip() or b"-1", 8)
    except ValueError:
        return False
    computed = sum(block[:148]) + 8 * 32 + sum(block[156:512])
    return stored == computed


def describe(path: str) -> str:
    """What python-magic (libmagic) says a file is, for error messages; '' when unavailable."""
    try:
        import magic

        return str(magic.from_file(path))
    except Exception:  # libmagic missing or unreadable file: the description is optional
        return ""


class _Decompressing(io.RawIOBase):
    """Adapts a codec reader: maps its errors to InvalidArchiveError naming ``path``."""

    def __init__(self, reader: IO[bytes], stream: IO[bytes], path: str) -> None:
        self._errors = _codec_errors()
        self._reader = reader
        self._stream = stream
        self._path = path

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        try:
            data = self._reader.read(len(buffer))
        except self._errors as exc:
            raise InvalidArchiveError(f"corrupt compressed data: {exc}", path=self._path) from None
        n = len(data)
        memoryview(buffer)[:n] = data
        return n

    def close(self) -> None:
        try:
            self._reader.close()
            self._stream.close()
        finally:
            super().close()


def open_decompressed(stream: IO[bytes], compression: Compression, *, path: str = "") -> IO[bytes]:
    """A streaming reader of ``stream``'s decompressed bytes (``stream`` itself for NONE).

    Closing the result closes ``stream``. Corruption raises InvalidArchiveError while reading.
    """
    reader: IO[bytes]
    if compression is Compression.NONE:
        return stream
    if compression is Compression.GZIP:
        igzip = _igzip()
        if igzip is not None:
            reader = igzip.IGzipFile(fileobj=stream, mode="rb")  # ISA-L: same format, faster
        else:  # pragma: no cover
            import gzip

            reader = cast(IO[bytes], gzip.GzipFile(fileobj=stream, mode="rb"))
    elif compression is Compression.ZSTD:
        import zstandard

        reader = zstandard.ZstdDecompressor().stream_reader(
            stream, read_size=_CHUNK, read_across_frames=True, closefd=True
        )
    elif compression is Compression.XZ:
        import lzma

        reader = lzma.LZMAFile(stream, mode="rb")  # noqa: SIM115 - closed with the returned reader
    else:
        import bz2

        reader = bz2.BZ2File(stream, mode="rb")
    return io.BufferedReader(_Decompressing(reader, stream, path), buffer_size=_CHUNK)
