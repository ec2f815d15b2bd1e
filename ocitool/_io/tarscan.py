"""Tar headers read the way Go's ``archive/tar`` reads them, seeking over member data.

Docker, containerd and umoci read layers with Go's ``archive/tar``; this module reads the same
headers the same way, several times faster than :mod:`tarfile` (bench/bench_tarscan.py): it
parses each 512-byte block by slicing and never reads member data: on a regular file (or a
:class:`~ocitool._io.files.SectionReader` window of one) headers are read with ``os.pread`` and
data is skipped by arithmetic. A stream that cannot seek (a decompressing reader) is read in
order and member data is discarded unless the caller reads it (:class:`TarReader`).

Two entry points:

* :func:`scan_tar` -- every member of a tar plus how the tar ended (:class:`TarScan`).
* :class:`TarReader` -- members one at a time, with :meth:`TarReader.data` giving the current
  member's stored bytes (for callers that copy or hash contents while streaming).

Formats: V7, USTAR (``prefix``), STAR, GNU (``L`` long names, ``K`` long link names, base-256
numbers, old GNU sparse ``S`` with extension blocks) and PAX (``x`` records: ``path``,
``linkpath``, ``size``, ``uid``, ``gid``, ``uname``, ``gname``, ``mtime`` with sub-second
precision, ``atime``/``ctime`` validated; GNU sparse 0.0, 0.1 and 1.0). Names are decoded as
UTF-8 with ``surrogateescape`` (lossless, as :mod:`tarfile` does) and are Go's: not normalised,
a directory's trailing ``/`` kept (:mod:`tarfile` strips it).

What Go decides, and this module does the same
-----------------------------------------------
* **End of archive.** Two zero blocks end the archive, and nothing after them is read (trailing
  garbage is ignored). One zero block followed by end of file also ends it; one zero block
  followed by a non-zero block is an error, and so is one followed by a partial block. End of
  file where a header would start ends the archive (no end blocks at all). End of file inside
  the padding after the last member's data -- or right after that data, with no padding at all,
  as umoci 0.4.7 ``insert`` wrote layers (umoci#436) -- ends it too: Go reads padding with a
  "try" read whose end of file means "no more entries". :attr:`TarScan.end` says which of these
  happened, so ``verify`` can report a tar that does not end with its two zero blocks.
* **Truncation is an error**: end of file inside member data, inside a header block, or inside
  a PAX / GNU long-name record block.
* **Headers.** The checksum (unsigned, or signed as old Sun tars wrote it) must match; every
  numeric field must parse (octal between optional spaces/NULs, or base-256 when the high bit
  of the first byte is set) within 64 bits; the header's magic decides USTAR / GNU / STAR / V7.
  An old ``\\0`` type flag becomes ``0`` (``5`` when the name ends in ``/``). The six
  header-only types (hard link, symlink, devices, directory, FIFO) have no data, whatever their
  size field says; every other type, unknown ones included, has ``size`` bytes of data.
* **PAX.** Records are ``"%d key=value\\n"`` with the length counting the whole record; a
  malformed record, a NUL in a key or in a ``path``/``linkpath``/``uname``/``gname`` value,
  and an unparsable ``uid``/``gid``/``size``/``mtime``/``atime``/``ctime`` are errors. A record
  with an empty value keeps the header's own field. A second ``x`` header replaces the first.
  A GNU long name (``L``) or link (``K``) overrides ``path``/``linkpath`` records.
* **Global headers** (``g``) are yielded as members of their own (type ``g``, ``pax`` holding
  their records, size 0) and are not applied to later members, as Go returns them; moby and
  containerd then skip them when applying a layer. (:mod:`tarfile` hides them and applies their
  records to every later member.)
* **Meta headers at the end.** A PAX or GNU long-name header followed by the end of the archive
  is dropped silently, as Go does.

Limits and errors: a PAX header, GNU long name or link, or GNU sparse map over
:data:`MAX_LONG_HEADER` (1 MiB, Go's ``maxSpecialFileSize``) is refused before it is read; more
than ``max_members`` members is refused; a negative size, mode, owner or device number in any
header is refused (Go accepts some of these, on header-only types or meta headers; no tar
writer produces them), while a negative modification time is valid. Old GNU sparse extension
blocks are bounded by the same 1 MiB (Go reads any number of them). Every fault raises
:class:`~ocitool.errors.InvalidArchiveError` with ``path`` (the ``label``) and ``member`` (the
member's name when its header could be read), and the offset in the message; nothing else
escapes except ``OSError`` from the underlying file.

How the callers use it (the one tar reader: :mod:`tarfile` only writes tars now)
-------------------------------------------------------------------------------
* ``_io.tarindex.TarView._scan``: ``scan_tar(self._file, label=..., max_members=...)``, skip
  ``g`` members, key :class:`~ocitool._io.tarindex.Member` by ``normalize_name(m.name)`` with
  ``offset=m.data_offset``, ``size=m.data_size``, ``kind=m.type``, ``linkname=m.linkname``.
  (The long-header bound that ``SafeTarInfo`` added to :mod:`tarfile` is applied here.)
* ``image.layersize.tar_unpacked_size``: an uncompressed layer is ``scan_tar`` of the blob reader
  (headers only; a docker-archive layer is a ``SectionReader`` window, read by ``pread``); a
  compressed one is ``TarReader`` over the decompressed stream, which discards data as it goes.
  ``g`` members are skipped; header-only sizes are cached by the file's identity (device,
  inode, size, times, offset), never by the diff ID the archive claims.
* ``analysis.filetree.read_layer``: ``TarReader`` over the layer stream; ``type_flag`` is
  ``m.type[0]`` (already Go's ``0`` for ``\\0``), ``go_file_mode(m.mode, m.type)``; with
  ``hash_contents`` a regular file's bytes come from ``reader.data()``.
* ``ops.rootfs``: ``_stream_layer`` iterates a ``TarReader``, refusing members whose ``sparse`` is
  not None; pass 2 hands ``reader.data()`` to the writer as the content stream; ``_copy_info``
  builds the output header from the member's fields (xattrs from ``m.pax``).
* ``ops.verify``: a layer whose tar may not end with its two zero blocks is scanned for
  :attr:`TarScan.end` (the ``unterminated-tar`` problem).
"""

# No ``from __future__ import annotations`` here, unlike the rest of the package: typing's
# NamedTuple compiles each string annotation into a ForwardRef, and TarMember's 17 fields made
# that 2 ms of every command's start-up (issue 11). Annotations here are evaluated, so they name
# only what is defined before them (or are quoted).

import enum
import io
import os
import re
import stat
import struct
import zlib
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import IO, Final, NamedTuple, Protocol, TypeVar

from ocitool._io.files import SectionReader
from ocitool.errors import InvalidArchiveError

__all__ = [
    "BLOCK_SIZE",
    "DEFAULT_MAX_MEMBERS",
    "MAX_LONG_HEADER",
    "TarEnd",
    "TarMember",
    "TarReader",
    "TarScan",
    "TarSource",
    "scan_tar",
]

BLOCK_SIZE: Final = 512
# A PAX header, GNU long name/link or GNU sparse map is read whole into memory: bound it
# (Go's maxSpecialFileSize, and libarchive's).
MAX_LONG_HEADER: Final = 1 << 20
# The default bound on members per tar (an archive or a layer); callers may pass their own.
DEFAULT_MAX_MEMBERS: Final = 1_000_000

_T = TypeVar("_T")
# What the scanner reads: a binary file object; raw readers (SectionReader) included.
TarSource = IO[bytes] | io.RawIOBase | io.BufferedIOBase
_ZERO_BLOCK: Final = bytes(BLOCK_SIZE)
_ZERO_FIELD: Final = bytes(8)
_SKIP_CHUNK: Final = 1 << 20
_INT64: Final = 1 << 63
_HEADER_ONLY: Final = frozenset((b"1", b"2", b"3", b"4", b"5", b"6"))
_REGULAR: Final = frozenset((b"0", b"7", b"S"))
_META: Final = frozenset((b"x", b"g", b"L", b"K"))
# Types the fast path leaves to TarReader._slow: meta headers, an old "\0" flag, GNU sparse.
_SLOW: Final = _META | {b"\x00", b"S"}
_EMPTY: Final[Mapping[str, str]] = MappingProxyType({})
_GO_INT: Final = re.compile(rb"[+-]?[0-9]+")
_NUL: Final = b"\x00"

# Header layouts (byte ranges), as in POSIX ustar and GNU tar's documentation.
_USTAR_MAGIC: Final = b"ustar\x00"
_GNU_MAGIC: Final = b"ustar "
_GNU_VERSION: Final = b" \x00"
_STAR_TRAILER: Final = b"tar\x00"


class TarEnd(enum.Enum):
    """How a tar ended (Go accepts all four)."""

    END_BLOCKS = "end-blocks"  # two zero blocks: the only clean end
    ONE_ZERO_BLOCK = "one-zero-block"  # one zero block, then end of file
    NO_END_BLOCKS = "no-end-blocks"  # end of file where a header would start
    UNPADDED = "unpadded"  # end of file inside (or instead of) the last member's padding


class TarMember(NamedTuple):
    """One tar entry as Go's ``tar.Reader.Next`` returns it, plus where it lies.

    (A NamedTuple rather than a frozen dataclass: it is built once per member on the hot path,
    and a tuple is several times cheaper to construct.)

    ``type`` is the one-byte type flag (``b"0"`` for an old ``b"\\0"``); ``size`` is Go's
    ``Header.Size`` (the logical size of a sparse file); ``mtime_ns`` the modification time in
    nanoseconds (PAX sub-second precision kept); ``pax`` the member's PAX records (from its ``x``
    header; for a ``g`` member, the global records). ``header_offset`` is where the member's
    first header block lies (its PAX or GNU long-name header when it has one), ``data_offset``
    and ``data_size`` where its stored bytes lie (``data_size`` is 0 for header-only types and
    the stored, not logical, size of a sparse file); offsets count from where the scan began.
    ``sparse`` is a sparse file's map of (offset, length) data fragments, else None.
    """

    name: str
    linkname: str
    type: bytes
    size: int
    mode: int
    uid: int
    gid: int
    uname: str
    gname: str
    mtime_ns: int
    devmajor: int
    devminor: int
    pax: Mapping[str, str]
    header_offset: int
    data_offset: int
    data_size: int
    sparse: tuple[tuple[int, int], ...] | None = None

    @property
    def mtime(self) -> float:
        """Modification time in seconds (an int when it has no fractional part)."""
        secs, nanos = divmod(self.mtime_ns, 1_000_000_000)
        return secs + nanos / 1e9 if nanos else secs

    def isreg(self) -> bool:
        """A regular file (``0``, ``7`` or GNU sparse ``S``), as :meth:`tarfile.TarInfo.isreg`."""
        return self.type in _REGULAR

    def isdir(self) -> bool:
        return self.type == b"5"

    def issym(self) -> bool:
        return self.type == b"2"

    def islnk(self) -> bool:
        return self.type == b"1"

    def is_global(self) -> bool:
        """A PAX global header (``g``): metadata for the archive, not a file."""
        return self.type == b"g"


class TarScan(NamedTuple):
    """Every member of a tar, in archive order, and how the tar ended.

    ``end_offset`` is where the tar's content ends (after its end blocks, or at end of file);
    ``size`` the number of bytes from where the scan began to the end of the file, when known
    (a seekable source), so ``trailing`` bytes after the end blocks were present and ignored.
    """

    members: list[TarMember]
    end: TarEnd
    end_offset: int
    size: int | None

    @property
    def clean(self) -> bool:
        """Whether the tar ended with its two zero blocks, as every tar writer ends one."""
        return self.end is TarEnd.END_BLOCKS

    @property
    def trailing(self) -> int:
        """Bytes after the end of the tar (ignored, as Go ignores them); 0 when unknown."""
        return 0 if self.size is None else self.size - self.end_offset


# -- reading blocks ---------------------------------------------------------------------------


class _Source(Protocol):
    pos: int
    size: int | None

    def read(self, n: int) -> bytes:
        """Up to ``n`` bytes at ``pos`` (fewer only at end of file); advances ``pos``."""

    def skip(self, n: int) -> int:
        """Advance by up to ``n`` bytes; returns how many there were."""


class _FdSource:
    """A window of a regular file read with ``os.pread``: skipping costs nothing."""

    def __init__(self, fd: int, base: int, size: int) -> None:
        self.fd = fd
        self.base = base
        self.size: int | None = size
        self.end = size
        self.pos = 0

    def read(self, n: int) -> bytes:
        pos = self.pos
        end = self.end
        if pos + n > end:
            n = end - pos
            if n <= 0:
                return b""
        data = os.pread(self.fd, n, self.base + pos)
        while len(data) < n:  # a short read from a regular file means it shrank under us
            more = os.pread(self.fd, n - len(data), self.base + pos + len(data))
            if not more:
                break
            data += more
        self.pos = pos + len(data)
        return data

    def skip(self, n: int) -> int:
        pos = self.pos
        if pos + n > self.end:
            n = max(0, self.end - pos)
        self.pos = pos + n
        return n


class _SeekSource:
    """Any seekable binary file object: seek, then read."""

    def __init__(self, fh: TarSource) -> None:
        self.fh = fh
        self.base = fh.tell()
        self.size: int | None = fh.seek(0, io.SEEK_END) - self.base
        fh.seek(self.base)
        self.pos = 0

    def read(self, n: int) -> bytes:
        assert self.size is not None
        n = min(n, self.size - self.pos)
        if n <= 0:
            return b""
        self.fh.seek(self.base + self.pos)
        data = _read_full(self.fh, n)
        self.pos += len(data)
        return data

    def skip(self, n: int) -> int:
        assert self.size is not None
        n = max(0, min(n, self.size - self.pos))
        self.pos += n
        return n


class _StreamSource:
    """A stream read in order; skipping reads and discards."""

    def __init__(self, fh: TarSource) -> None:
        self.fh = fh
        self.size: int | None = None
        self.pos = 0

    def read(self, n: int) -> bytes:
        data = _read_full(self.fh, n)
        self.pos += len(data)
        return data

    def skip(self, n: int) -> int:
        done = 0
        while done < n:
            chunk = self.fh.read(min(_SKIP_CHUNK, n - done))
            if not chunk:
                break
            done += len(chunk)
        self.pos += done
        return done


def _read_full(fh: TarSource, n: int) -> bytes:
    data: bytes | None = fh.read(n)
    if data is None:  # a non-blocking raw reader with nothing ready: treat as a stream error
        raise OSError("tar source returned no data (non-blocking reader)")
    while len(data) < n:
        more: bytes | None = fh.read(n - len(data))
        if not more:
            break
        data += more
    return data


def _open_source(fh: TarSource) -> _Source:
    """The cheapest way to read ``fh``: pread on a regular file (or a window of one), else seek,
    else read in order. A reader that only wraps a file descriptor (a decompressor's
    ``fileno()`` is the compressed file's) is never read by descriptor."""
    if isinstance(fh, SectionReader):
        fd, offset, size = fh.window()
        pos = fh.tell()
        return _FdSource(fd, offset + pos, max(0, size - pos))
    raw: object = fh
    if isinstance(fh, io.BufferedReader | io.BufferedRandom):
        raw = fh.raw  # (a BufferedRandom flushes what it wrote when it seeks to the scan's start)
    if isinstance(raw, io.FileIO):
        fd = raw.fileno()
        st = os.fstat(fd)
        if stat.S_ISREG(st.st_mode):
            base = fh.tell()
            return _FdSource(fd, base, max(0, st.st_size - base))
    seekable = getattr(fh, "seekable", None)  # plain readers (a hashing wrapper) need only read
    if seekable is not None and seekable():
        return _SeekSource(fh)
    return _StreamSource(fh)


# -- parsing fields ---------------------------------------------------------------------------


class _Bad(Exception):
    """A header fault, turned into InvalidArchiveError with the label, member and offset."""


def _number(field: bytes) -> int:
    """A numeric header field as Go's ``parseNumeric``: base-256 when the first byte's high bit
    is set (two's complement, within 64 bits), else octal between spaces/NULs (up to a NUL)."""
    if field[-1] == 0 and field[0] != 0 and (digits := field[:-1]).isdigit():
        # The common spelling, "0000644\0": digits and one NUL.
        try:
            return int(digits, 8)
        except ValueError:
            raise _Bad(f"numeric field {field!r} is not octal") from None
    if field[0] & 0x80:
        negative = bool(field[0] & 0x40)
        body = bytes([field[0] & 0x7F ^ (0x7F if negative else 0)]) + (
            bytes(b ^ 0xFF for b in field[1:]) if negative else field[1:]
        )
        value = int.from_bytes(body, "big")
        if value >= _INT64:
            raise _Bad("base-256 number does not fit in 64 bits")
        return -value - 1 if negative else value
    text = field.strip(b" \x00")
    cut = text.find(_NUL)
    if cut >= 0:
        text = text[:cut]
    if not text:
        return 0
    if not text.isdigit() or b"8" in text or b"9" in text:
        raise _Bad(f"numeric field {field!r} is not octal")
    return int(text, 8)


def _cstr(field: bytes) -> bytes:
    """Go's ``parseString``: up to the first NUL."""
    cut = field.find(_NUL)
    return field if cut < 0 else field[:cut]


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _go_int(raw: str | bytes) -> int:
    """Go's ``strconv.ParseInt(s, 10, 64)``: an optional sign and decimal digits, in range."""
    if raw.isascii() and raw.isdigit() and len(raw) < 19:
        return int(raw)  # the usual case: plain digits, too few to overflow
    data = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else raw
    if _GO_INT.fullmatch(data) is None:
        raise _Bad(f"{raw[:40]!r} is not a decimal integer")
    value = int(data)
    if not -_INT64 <= value < _INT64:
        raise _Bad(f"{raw[:40]!r} does not fit in 64 bits")
    return value


# A PAX time that certainly parses: seconds that fit in 64 bits, an optional fraction.
_PAX_TIME: Final = re.compile(r"[+-]?[0-9]{1,18}(?:\.[0-9]*)?")


def _pax_time_ns(raw: str) -> int:
    """Go's ``parsePAXTime``: ``SECONDS[.FRACTION]``, the fraction cut to 9 digits, the sign of
    the seconds applying to the fraction too."""
    secs_text, _, frac = raw.partition(".")
    if frac:
        if not frac.isascii() or not frac.isdigit():
            raise _Bad(f"time {raw[:40]!r} has a non-digit fraction")
        nanos = int(frac[:9].ljust(9, "0"))
        if secs_text.startswith("-"):
            nanos = -nanos
    else:
        nanos = 0
    return _go_int(secs_text) * 1_000_000_000 + nanos


_NAME_KEYS: Final = frozenset(("path", "linkpath", "uname", "gname"))
_SPARSE_OFFSET: Final = "GNU.sparse.offset"
_SPARSE_NUMBYTES: Final = "GNU.sparse.numbytes"
_SPARSE_PAIR: Final = frozenset((_SPARSE_OFFSET, _SPARSE_NUMBYTES))
# Any of these in a member's records may make it a GNU sparse file.
_SPARSE_KEYS: Final = frozenset(("GNU.sparse.major", "GNU.sparse.minor", "GNU.sparse.map"))


# An ASCII record with no newline or NUL in its value, and no sign in its length.
_SIMPLE_RECORD: Final = re.compile(r"([0-9]+) ([^=\n\x00]+)=([^\n\x00]*)\n")


def _parse_pax(buf: bytes) -> dict[str, str]:
    """PAX records, as Go's ``parsePAX`` reads them (GNU sparse 0.0 pairs become a
    ``GNU.sparse.map`` record)."""
    if buf.isascii():
        # The usual header: simple records, all found by one regex pass. Their lengths must
        # match and add up to the whole buffer (so nothing lies between them); anything else
        # (and GNU sparse 0.0 pairs, whose order matters) takes the exact way below.
        records: dict[str, str] = {}
        total = 0
        for length, key, value in _SIMPLE_RECORD.findall(buf.decode("ascii")):
            size = int(length)
            if size != len(length) + len(key) + len(value) + 3 or key in _SPARSE_PAIR:
                break
            total += size
            records[key] = value
        else:
            if total == len(buf):
                return records
    return _parse_pax_exactly(buf)


def _parse_pax_exactly(buf: bytes) -> dict[str, str]:
    records: dict[str, str] = {}
    sparse_map: list[str] = []
    pos, end = 0, len(buf)
    while pos < end:
        space = buf.find(b" ", pos)
        if space < 0:
            raise _Bad("PAX record without a length")
        length_text = buf[pos:space]
        if not length_text.isdigit() and _GO_INT.fullmatch(length_text) is None:
            raise _Bad(f"PAX record length {length_text[:20]!r} is not a number")
        length = int(length_text)
        stop = pos + length  # one past the record's newline
        if length < 5 or length > end - pos or stop - 1 <= space:
            raise _Bad(f"PAX record length {length} does not fit the header")
        if buf[stop - 1] != 0x0A:
            raise _Bad("PAX record does not end with a newline")
        record = buf[space + 1 : stop - 1]
        eq = record.find(b"=")
        if eq <= 0:
            raise _Bad("PAX record without a key")
        key = record[:eq].decode("utf-8", "surrogateescape")
        value = record[eq + 1 :].decode("utf-8", "surrogateescape")
        if _NUL in record and ((key in _NAME_KEYS and _NUL in record[eq + 1 :]) or _NUL in record[:eq]):
            raise _Bad(f"PAX record {key!r} holds a NUL")
        if key in _SPARSE_PAIR:
            # GNU sparse 0.0: offset/numbytes pairs, in that order, no commas.
            wanted = _SPARSE_OFFSET if len(sparse_map) % 2 == 0 else _SPARSE_NUMBYTES
            if key != wanted or "," in value:
                raise _Bad("GNU sparse 0.0 records out of order")
            sparse_map.append(value)
        else:
            records[key] = value
        pos = stop
    if sparse_map:
        records["GNU.sparse.map"] = ",".join(sparse_map)
    return records


def _valid_sparse(fragments: tuple[tuple[int, int], ...], size: int) -> bool:
    """Go's ``validateSparseEntries``: in order, not overlapping, inside ``size``."""
    if size < 0:
        return False
    previous_end = 0
    for offset, length in fragments:
        if offset < 0 or length < 0 or offset > _INT64 - 1 - length:
            return False
        if offset + length > size or previous_end > offset:
            return False
        previous_end = offset + length
    return True


def _checksum_ok(block: bytes, unsigned: int) -> bool:
    """Whether the stored checksum matches the unsigned sum (or the signed one of old Sun tars)."""
    field = block[148:156]
    if field[0] & 0x80:
        return False  # Go parses the checksum as octal only
    try:
        stored = _number(field)
    except _Bad:
        return False
    if stored == unsigned:
        return True
    # Signed sum: every byte >= 0x80 outside the checksum field counts 256 less.
    high = sum(1 for b in block[:148] if b & 0x80) + sum(1 for b in block[156:] if b & 0x80)
    return stored == unsigned - 256 * high


# type, link name, owner name, group name, devmajor, devminor, prefix, GNU format, header-only
_Tail = tuple[bytes, str, str, str, int, int, bytes, bool, bool]
# The per-reader caches of parsed header parts are cleared when they reach this size.
_CACHE_MAX: Final = 1024


def _size(block: bytes) -> int:
    """The size field not spelled as usual (base-256, spaces): not negative."""
    size = _number(block[124:136])
    if size < 0:
        raise _Bad("negative size")
    return size


def _ids(field: bytes) -> tuple[int, int, int]:
    """Mode, owner and group (header bytes 100..124), none negative."""
    ids = _number(field[0:8]), _number(field[8:16]), _number(field[16:24])
    if min(ids) < 0:
        raise _Bad("negative mode, owner or group")
    return ids


def _tail(block: bytes) -> _Tail:
    """The fields of bytes 156..512 of a header, by format (Go's readHeader, format part)."""
    flag = block[156:157]
    linkname = _text(_cstr(block[157:257]))
    gnu = block.startswith(_GNU_MAGIC_VERSION, 257)
    if gnu or block.startswith(_USTAR_MAGIC, 257):
        uname, gname = _text(_cstr(block[265:297])), _text(_cstr(block[297:329]))
        major, minor = _number(block[329:337]), _number(block[337:345])
        if gnu:
            prefix = b""
            # GNU keeps atime/ctime where USTAR has its prefix. Go before 1.8 wrote a USTAR
            # prefix into GNU headers: when those times do not parse, Go takes an ASCII prefix.
            try:
                if block[345]:
                    _number(block[345:357])
                if block[357]:
                    _number(block[357:369])
            except _Bad:
                candidate = _cstr(block[345:500])
                prefix = candidate if candidate.isascii() else b""
        elif block.startswith(_STAR_TRAILER, 508):
            _number(block[476:488])  # STAR atime and ctime: parsed, so a bad one is an error
            _number(block[488:500])
            prefix = _cstr(block[345:476])
        else:
            prefix = _cstr(block[345:500])
    else:  # V7: no owner names, device numbers or prefix
        uname = gname = ""
        major = minor = 0
        prefix = b""
    if major < 0 or minor < 0:
        raise _Bad("negative device number")
    return flag, linkname, uname, gname, major, minor, prefix, gnu, flag in _HEADER_ONLY


# The fields that differ from header to header but for the name, split so the usual spellings
# need no further slicing: size digits, size terminator, mtime digits, mtime terminator,
# checksum.
_LAYOUT: Final = struct.Struct("124x11sc11sc8s")
# Bound once: the hot path runs per header.
_unpack: Final = _LAYOUT.unpack_from
_adler32: Final = zlib.adler32
_new_tuple: Final = tuple.__new__
_GNU_MAGIC_VERSION: Final = _GNU_MAGIC + _GNU_VERSION


# -- the reader -------------------------------------------------------------------------------


class TarReader:
    """The members of a tar read in order from ``source``, as Go's ``tar.Reader`` returns them.

    Iterate it once. While a member is current, :meth:`data` reads its stored bytes; moving to
    the next member skips what was not read (seeking when ``source`` is a regular file or a
    :class:`~ocitool._io.files.SectionReader`, reading otherwise). After iteration ``end`` and
    ``end_offset`` say how the tar ended. Raises InvalidArchiveError (see the module docstring);
    does not close ``source``. Offsets count from ``source``'s position when it is given.
    """

    def __init__(self, source: TarSource, *, label: str = "", max_members: int = DEFAULT_MAX_MEMBERS) -> None:
        self.label = label
        self.max_members = max_members
        self.end: TarEnd | None = None
        self.end_offset: int | None = None
        self._src = _open_source(source)
        self._left = 0  # unread stored bytes of the current member
        self._started = False
        self._ids: dict[bytes, tuple[int, int, int]] = {}
        self._tails: dict[bytes, tuple[int, _Tail]] = {}
        # The previous header's bytes 100..124 and 156..512 and what they parsed to. To start
        # with: NULs, which do parse to zeros, and a key one byte too long to match any header.
        self._last_ids_f = bytes(24)
        self._last_ids = (0, 0, 0)
        self._last_key = bytes(357)
        self._last_tail: tuple[int, _Tail] = (0, (b"", "", "", "", 0, 0, b"", False, False))
        self._short = False  # see _slow

    @property
    def size(self) -> int | None:
        """Bytes from the start of the tar to the end of the file, when the source can seek."""
        return self._src.size

    def __iter__(self) -> Iterator[TarMember]:
        if self._started:
            raise RuntimeError("a TarReader is iterated once")
        self._started = True
        return self._members()

    def data(self) -> IO[bytes]:
        """The current member's stored bytes (a sparse file's packed fragments), readable until
        the iteration moves on. Raises InvalidArchiveError when the tar ends inside them."""
        return _MemberData(self)  # type: ignore[return-value]

    def _fail(self, message: str, member: str | None = None) -> InvalidArchiveError:
        return InvalidArchiveError(message, path=self.label or None, member=member or None)

    def _finish(self, end: TarEnd) -> None:
        self.end = end
        self.end_offset = self._src.pos

    def _header(self, block: bytes, start: int, offset: int) -> TarMember | None:
        """The member a header block read at ``offset`` describes on its own, as Go's
        ``readHeader`` (checksum verified, every numeric field parsed; data offset and size as
        for a plain member), or None (and ``end`` set) at the end of the archive. ``start`` is
        where the member's first header block lies."""
        if len(block) < BLOCK_SIZE:
            if not block:
                self._finish(TarEnd.NO_END_BLOCKS)
                return None
            raise self._fail(f"tar ends inside a header at offset {offset} (truncated)")
        size_f, size_end, mtime_f, mtime_end, field = _unpack(block)
        # Exact byte sums from adler32: while a sum stays below adler's modulus (65521: true of
        # 148 bytes, and of 256) the low 16 bits are 1 + the sum. The sum of bytes 156..512 is
        # kept with their parse: most headers share those bytes with the one before.
        head_sum = (_adler32(block[:148]) & 0xFFFF) - 1
        tail: _Tail | None = None
        if block.startswith(self._last_key, 156):
            tail_sum, tail = self._last_tail
            key = self._last_key
        else:
            key = block[156:]
            tail_sum = (_adler32(key[:256]) & 0xFFFF) + (_adler32(key[256:]) & 0xFFFF) - 2
        if not (head_sum or tail_sum) and field == _ZERO_FIELD:
            self._zero_block(offset)
            return None
        # The checksum counts its own field as spaces; every writer spells it "%06o\0 ".
        unsigned = head_sum + tail_sum + 256
        if field != b"%06o\x00 " % unsigned and not _checksum_ok(block, unsigned):
            raise self._bad(block, offset, "checksum mismatch")
        try:
            # Sizes and times are usually 11 octal digits and a NUL.
            try:
                size = int(size_f, 8) if size_end == _NUL and size_f.isdigit() else _size(block)
            except ValueError:
                size = _number(block[124:136])  # an 8 or a 9: raises
            try:
                mtime = (
                    int(mtime_f, 8) if mtime_end == _NUL and mtime_f.isdigit() else _number(block[136:148])
                )
            except ValueError:
                mtime = _number(block[136:148])
            # Mode, owner and group (and the tail, above) are parsed once per spelling, and
            # compared in place with the previous header's first.
            if block.startswith(self._last_ids_f, 100):
                ids = self._last_ids
            else:
                field = block[100:124]
                ids = self._ids.get(field) or self._remember(self._ids, field, _ids(field))
                self._last_ids_f, self._last_ids = field, ids
            if tail is None:
                known = self._tails.get(key) or self._remember(self._tails, key, (tail_sum, _tail(block)))
                self._last_key, self._last_tail = key, known
                tail = known[1]
        except _Bad as exc:
            raise self._bad(block, offset, str(exc)) from None
        mode, uid, gid = ids
        flag, linkname, uname, gname, major, minor, prefix, _, header_only = tail
        cut = block.find(0, 0, 100)
        name = block[: cut if cut >= 0 else 100]
        if prefix:
            name = prefix + b"/" + name
        return _new_tuple(
            TarMember,
            (
                name.decode("utf-8", "surrogateescape"),
                linkname,
                flag,
                size,
                mode,
                uid,
                gid,
                uname,
                gname,
                mtime * 1_000_000_000,
                major,
                minor,
                _EMPTY,
                start,
                offset + BLOCK_SIZE,
                0 if header_only else size,
                None,
            ),
        )

    def _bad(self, block: bytes, offset: int, why: str) -> InvalidArchiveError:
        return self._fail(f"invalid tar header at offset {offset}: {why}", _text(_cstr(block[:100])))

    @staticmethod
    def _remember(cache: dict[bytes, _T], key: bytes, value: _T) -> _T:
        if len(cache) >= _CACHE_MAX:
            cache.clear()
        cache[key] = value
        return value

    def _members(self) -> Iterator[TarMember]:
        """Go's ``Reader.Next`` in a loop: one member yielded at a time, then its unread data and
        padding skipped. Plain headers stay on this loop; meta headers go to :meth:`_slow`."""
        src = self._src
        pread = os.pread
        eof = src.size  # known for seekable sources: skipping is then arithmetic
        # A regular file: headers are read with pread directly (the hot path).
        fd, base = (src.fd, src.base) if isinstance(src, _FdSource) else (-1, 0)
        count = 0
        limit = self.max_members
        slow = _SLOW
        while True:
            offset = src.pos
            if fd >= 0 and offset + BLOCK_SIZE <= eof:  # type: ignore[operator]
                block = pread(fd, BLOCK_SIZE, base + offset)
                src.pos = offset + len(block)
            else:
                block = src.read(BLOCK_SIZE)
            member = self._header(block, offset, offset)
            if member is None:
                return
            short = False
            if member[2] in slow:
                member = self._slow(member, block, offset)
                if member is None:
                    return
                short = self._short
            count += 1
            if count > limit:
                raise self._fail(f"more than {limit} members", member[0])
            stored = self._left = member[15]
            yield member
            # Skip what the caller did not read, and the padding after it (which follows the
            # stored size; a GNU 1.0 sparse map read from the data is whole blocks, so the
            # padding is the same with or without it). Go: data short of its size is an
            # error, padding short of a block is the end of the archive.
            left = self._left
            step = left + (-stored % BLOCK_SIZE)
            if step:
                pos = src.pos
                if eof is not None and pos + step <= eof:
                    src.pos = pos + step
                    self._left = 0
                else:
                    got = src.skip(step)
                    self._left = 0
                    if got < left:
                        raise self._fail(
                            f"tar ends inside the data of the member at offset {member.data_offset} "
                            "(truncated)",
                            member[0],
                        )
                    short = got < step
            if short:
                self._finish(TarEnd.UNPADDED)
                return

    def _slow(self, member: TarMember, block: bytes, offset: int) -> TarMember | None:
        """A member whose header needs more than its own block: PAX (``x``) and GNU long name or
        link (``L``, ``K``) headers gathered until the member they describe, a PAX global
        header (``g``) returned as its own member, an old ``\\0`` type or GNU sparse header
        resolved. None (and ``end`` set) when the archive ends after meta headers, as Go drops
        them. Sets ``_short`` when the file ends inside a ``g`` header's padding."""
        self._short = False
        start = offset
        pax: dict[str, str] | None = None
        long_name: str | None = None
        long_link: str | None = None
        while True:
            flag = member[2]
            if flag not in _META:
                return self._merge(member, block, pax, long_name, long_link, offset)
            body, pending = self._special(member[0], member[3], offset, lookahead=flag != b"g")
            if flag == b"L":
                long_name = _text(_cstr(body))
            elif flag == b"K":
                long_link = _text(_cstr(body))
            else:
                try:
                    records = _parse_pax(body)
                except _Bad as exc:
                    raise self._fail(f"invalid PAX header at offset {offset}: {exc}", member[0]) from None
                if flag == b"g":
                    self._short = pending is None
                    return self._global(member, records)
                pax = records
            if pending is None:
                self._finish(TarEnd.UNPADDED)  # a dangling meta header: Go drops it
                return None
            offset = self._src.pos - len(pending)
            block = pending
            found = self._header(block, start, offset)
            if found is None:
                return None
            member = found

    def _zero_block(self, offset: int) -> None:
        """After a zero block: two end the tar; one then end of file ends it too."""
        after = self._src.read(BLOCK_SIZE)
        if not after:
            self._finish(TarEnd.ONE_ZERO_BLOCK)
        elif after == _ZERO_BLOCK:
            self._finish(TarEnd.END_BLOCKS)
        elif len(after) < BLOCK_SIZE:
            raise self._fail(f"tar ends inside a header at offset {offset + BLOCK_SIZE} (truncated)")
        else:
            raise self._fail(f"a zero block at offset {offset} is followed by a header")

    @staticmethod
    def _global(header: TarMember, records: dict[str, str]) -> TarMember:
        """A PAX global header as Go returns it: its name (a ``path`` record applies), records."""
        return TarMember(
            records.get("path") or header.name,
            "",
            b"g",
            0,
            0,
            0,
            0,
            "",
            "",
            0,
            0,
            0,
            MappingProxyType(records),
            header.header_offset,
            header.data_offset,
            0,
        )

    def _special(self, name: str, size: int, offset: int, *, lookahead: bool) -> tuple[bytes, bytes | None]:
        """The body of a PAX header or GNU long name/link (bounded by MAX_LONG_HEADER) and what
        follows its padding: with ``lookahead``, the next block -- always a header, so it is read
        in the same call -- which is short or empty at end of file; else b"". None when the file
        ends inside the padding."""
        if size > MAX_LONG_HEADER:
            raise self._fail(
                f"extended header of {size} bytes, over the {MAX_LONG_HEADER}-byte limit "
                f"(at offset {offset})",
                name,
            )
        pad = -size % BLOCK_SIZE
        data = self._src.read(size + pad + (BLOCK_SIZE if lookahead else 0))
        if len(data) < size:
            raise self._fail(f"tar ends inside the extended header at offset {offset} (truncated)", name)
        if len(data) < size + pad:
            return data[:size], None
        return data[:size], data[size + pad :]

    def _merge(
        self,
        header: TarMember,
        block: bytes,
        pax: dict[str, str] | None,
        long_name: str | None,
        long_link: str | None,
        offset: int,
    ) -> TarMember:
        """A member from its own header and the meta headers before it, as Go's ``next``:
        PAX records merged, GNU long name and link applied, an old ``\\0`` type resolved, and
        a sparse file's map read."""
        name, linkname, flag, size, _, uid, gid, uname, gname, mtime_ns = header[:10]
        if pax:
            # Go's mergePAX; an empty record keeps the header's own field.
            get = pax.get
            try:
                name = get("path") or name
                linkname = get("linkpath") or linkname
                uname = get("uname") or uname
                gname = get("gname") or gname
                if value := get("size"):
                    size = _go_int(value)
                if value := get("uid"):
                    uid = _go_int(value)
                if value := get("gid"):
                    gid = _go_int(value)
                if value := get("mtime"):
                    mtime_ns = _pax_time_ns(value)
                # Go validates atime and ctime too; the usual spelling needs no arithmetic.
                if (value := get("atime")) and _PAX_TIME.fullmatch(value) is None:
                    _pax_time_ns(value)
                if (value := get("ctime")) and _PAX_TIME.fullmatch(value) is None:
                    _pax_time_ns(value)
            except _Bad as exc:
                raise self._fail(
                    f"invalid PAX record for the member at offset {offset}: {exc}", name
                ) from None
        if long_name:
            name = long_name
        if long_link:
            linkname = long_link
        if flag == b"\x00":
            flag = b"5" if name.endswith("/") else b"0"
        if (size | uid | gid) < 0:
            raise self._fail(f"negative number in the header at offset {offset}", name)
        stored = 0 if flag in _HEADER_ONLY else size
        sparse: tuple[tuple[int, int], ...] | None = None
        try:
            if flag == b"S":
                if not block.startswith(_GNU_MAGIC_VERSION, 257):
                    raise _Bad("a sparse header that is not in GNU format")
                fragments, size = self._old_gnu_sparse(block)
                sparse = tuple(fragments)
            elif pax and not _SPARSE_KEYS.isdisjoint(pax):
                found = self._pax_sparse(pax, stored)
                if found is not None:
                    fragments, logical, sparse_name, used = found
                    if sparse_name:
                        name = sparse_name
                    if logical is not None:
                        size = logical
                    sparse = tuple(fragments)
                    stored -= used
            if sparse is not None and (flag in _HEADER_ONLY or not _valid_sparse(sparse, size)):
                raise _Bad("invalid sparse map")
        except _Bad as exc:
            raise self._fail(f"invalid sparse file at offset {offset}: {exc}", name) from None
        fields = (name, linkname, flag, size, header.mode, uid, gid, uname, gname, mtime_ns)
        pax_map = MappingProxyType(pax) if pax else _EMPTY
        where = (header.header_offset, self._src.pos, stored, sparse)
        return _new_tuple(TarMember, (*fields, header.devmajor, header.devminor, pax_map, *where))

    def _old_gnu_sparse(self, block: bytes) -> tuple[list[tuple[int, int]], int]:
        """An old GNU sparse header's map (4 entries in the header, 21 per extension block read
        before the data) and real size."""
        real_size = _number(block[483:495])
        fragments: list[tuple[int, int]] = []
        entries, table, extended = 4, block[386:482], block[482]
        budget = MAX_LONG_HEADER
        while True:
            for i in range(entries):
                entry = table[i * 24 : i * 24 + 24]
                if entry[0] == 0:
                    break  # GNU and BSD tar stop at the first empty entry
                fragments.append((_number(entry[:12]), _number(entry[12:24])))
            if not extended:
                return fragments, real_size
            budget -= BLOCK_SIZE
            if budget < 0:
                raise _Bad(f"sparse map over the {MAX_LONG_HEADER}-byte limit")
            ext = self._src.read(BLOCK_SIZE)
            if len(ext) < BLOCK_SIZE:
                raise _Bad("tar ends inside the sparse map (truncated)")
            entries, table, extended = 21, ext[:504], ext[504]

    def _pax_sparse(
        self, pax: dict[str, str], stored: int
    ) -> tuple[list[tuple[int, int]], int | None, str, int] | None:
        """GNU sparse in PAX records (0.0, 0.1, 1.0), as Go's ``readGNUSparsePAXHeaders``:
        (fragments, logical size, name, bytes of map read from the data) or None."""
        major, minor = pax.get("GNU.sparse.major", ""), pax.get("GNU.sparse.minor", "")
        if major == "0" and minor in ("0", "1"):
            version_1 = False
        elif major == "1" and minor == "0":
            version_1 = True
        elif major or minor:
            return None  # an unknown version: Go reads the member as a plain file
        elif pax.get("GNU.sparse.map"):
            version_1 = False
        else:
            return None
        size_text = pax.get("GNU.sparse.size") or pax.get("GNU.sparse.realsize") or ""
        logical = _go_int(size_text) if size_text else None
        name = pax.get("GNU.sparse.name", "")
        if version_1:
            fragments, used = self._sparse_map_1(stored)
            return fragments, logical, name, used
        count = _go_int(pax.get("GNU.sparse.numblocks", ""))
        if count < 0:
            raise _Bad("negative sparse block count")
        values = pax.get("GNU.sparse.map", "")
        fields = values.split(",") if values else []
        if len(fields) != 2 * count:
            raise _Bad("sparse map does not match its block count")
        numbers = [_go_int(v) for v in fields]
        return list(zip(numbers[::2], numbers[1::2], strict=True)), logical, name, 0

    def _sparse_map_1(self, stored: int) -> tuple[list[tuple[int, int]], int]:
        """GNU sparse 1.0: the map is newline-separated decimals in whole blocks at the start
        of the member's data. Returns (fragments, bytes read)."""
        src = self._src
        blocks: list[bytes] = []
        newlines = 0
        used = 0

        def need(lines: int) -> None:
            nonlocal newlines, used
            while newlines < lines:
                if used + BLOCK_SIZE > MAX_LONG_HEADER:
                    raise _Bad(f"sparse map over the {MAX_LONG_HEADER}-byte limit")
                if used + BLOCK_SIZE > stored:
                    raise _Bad("sparse map runs past the member's data")
                block = src.read(BLOCK_SIZE)
                if len(block) < BLOCK_SIZE:
                    raise _Bad("tar ends inside the sparse map (truncated)")
                used += BLOCK_SIZE
                newlines += block.count(b"\n")
                blocks.append(block)

        need(1)
        count = _go_int(b"".join(blocks).split(b"\n", 1)[0])
        if count < 0:
            raise _Bad("negative sparse entry count")
        need(1 + 2 * count)
        lines = b"".join(blocks).split(b"\n", 1 + 2 * count)
        numbers = [_go_int(line) for line in lines[1 : 1 + 2 * count]]
        return list(zip(numbers[::2], numbers[1::2], strict=True)), used


class _MemberData(io.RawIOBase):
    """The current member's stored bytes, read through its TarReader."""

    def __init__(self, reader: TarReader) -> None:
        super().__init__()
        self._reader = reader

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        reader = self._reader
        n = min(len(buffer), reader._left)
        if n <= 0:
            return 0
        data = reader._src.read(n)
        if not data:
            raise reader._fail("tar ends inside a member's data (truncated)")
        memoryview(buffer)[: len(data)] = data
        reader._left -= len(data)
        return len(data)


def scan_tar(
    source: TarSource | str | os.PathLike[str],
    *,
    label: str = "",
    max_members: int = DEFAULT_MAX_MEMBERS,
) -> TarScan:
    """Every member of the tar ``source`` (a path or a binary file object), reading headers only.

    A regular file, or a :class:`~ocitool._io.files.SectionReader` window of one, is read with
    ``os.pread`` from its current position and never has member data read; any other seekable
    object is seeked; a stream is read through (data discarded). ``label`` names the tar in
    errors (default: the path, when given one). Raises InvalidArchiveError; does not close a
    file object it is given.
    """
    if isinstance(source, str | os.PathLike):
        path = os.fspath(source)
        with open(path, "rb", buffering=0) as fh:
            return scan_tar(fh, label=label or path, max_members=max_members)
    reader = TarReader(source, label=label, max_members=max_members)
    members = list(reader)
    assert reader.end is not None and reader.end_offset is not None
    return TarScan(members, reader.end, reader.end_offset, reader.size)
