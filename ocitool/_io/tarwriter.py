"""Deterministic tar writing for the archives ocitool produces.

Every member gets the same metadata whatever the machine: mtime from ``SOURCE_DATE_EPOCH`` when
set, else 0; uid and gid 0 with empty user and group names; mode 0644 for files and 0755 for
directories. Headers are ustar, with a PAX extended header only when a field does not fit
(long or non-ASCII names, sizes of 8 GiB and more). The caller adds members in the order it
wants them; :func:`sorted_members` gives the canonical order (byte order of names).

Data is streamed from file objects in fixed-size chunks, so memory does not depend on member
size; a digest can be checked as the bytes pass through (``expect``).
"""

from __future__ import annotations

import os
import tarfile
from collections.abc import Callable, Iterable
from typing import IO, Final, Protocol

from ocitool.errors import DigestMismatchError, SizeMismatchError

__all__ = ["Expected", "TarWriter", "source_date_epoch", "sorted_members"]

_CHUNK: Final = 1 << 20


class _Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...

    def digest(self) -> object: ...


class Expected(Protocol):
    """What :meth:`TarWriter.add_stream` checks a stream against: a value that makes its own
    hasher, and equals what that hasher's ``digest()`` returns for the right bytes (a
    :class:`~ocitool.model.digest.Digest`; this layer does not know the model)."""

    def hasher(self) -> _Hasher: ...


_BLOCK: Final = 512
_RECORD: Final = 20 * _BLOCK


def source_date_epoch() -> int:
    """``SOURCE_DATE_EPOCH`` as an integer when set and valid, else 0."""
    value = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if value.isdigit():
        return int(value)
    return 0


def sorted_members(names: Iterable[str]) -> list[str]:
    """Names in the canonical order: by their UTF-8 bytes."""
    return sorted(names, key=lambda n: n.encode())


class TarWriter:
    """Writes a tar stream member by member to ``out`` (not closed here).

    Not a context manager on purpose: :meth:`finish` writes the end-of-archive marker and must be
    called only when every member was written; an aborted archive is the caller's temp file.
    """

    def __init__(self, out: IO[bytes], *, mtime: int | None = None) -> None:
        self._out = out
        self._mtime = source_date_epoch() if mtime is None else mtime
        self._written = 0

    def _header(
        self,
        name: str,
        *,
        size: int,
        kind: bytes,
        mode: int,
        linkname: str = "",
        owner: tuple[int, int, str, str] = (0, 0, "", ""),
        mtime: int | None = None,
        device: tuple[int, int] = (0, 0),
        pax: dict[str, str] | None = None,
    ) -> None:
        info = tarfile.TarInfo(name)
        info.size = size
        info.type = kind
        info.mode = mode
        info.linkname = linkname
        info.mtime = self._mtime if mtime is None else mtime
        info.uid, info.gid, info.uname, info.gname = owner
        info.devmajor, info.devminor = device
        if pax:
            info.pax_headers = dict(pax)
        # PAX_FORMAT writes an extended header only for what ustar cannot hold (or ``pax``).
        buf = info.tobuf(format=tarfile.PAX_FORMAT, encoding="utf-8", errors="surrogateescape")
        self._write(buf)

    def _write(self, data: bytes | memoryview) -> None:
        self._out.write(data)
        self._written += len(data)

    def _pad(self, size: int) -> None:
        rem = size % _BLOCK
        if rem:
            self._write(b"\0" * (_BLOCK - rem))

    def add_dir(self, name: str) -> None:
        """A directory member (``name`` gets a trailing ``/``)."""
        self._header(name.rstrip("/") + "/", size=0, kind=tarfile.DIRTYPE, mode=0o755)

    def add_bytes(self, name: str, data: bytes) -> None:
        """A regular file holding ``data``."""
        self._header(name, size=len(data), kind=tarfile.REGTYPE, mode=0o644)
        self._write(data)
        self._pad(len(data))

    def add_stream(
        self,
        name: str,
        size: int,
        stream: IO[bytes],
        *,
        expect: Expected | None = None,
        where: str = "",
        progress: Callable[[int], None] | None = None,
    ) -> None:
        """A regular file of ``size`` bytes read from ``stream``.

        Raises SizeMismatchError when the stream ends early or has more, and DigestMismatchError
        when ``expect`` is given and the bytes hash to something else (the archive is then
        incomplete: callers write to a temp file and discard it).
        """
        self._header(name, size=size, kind=tarfile.REGTYPE, mode=0o644)
        digester = expect.hasher() if expect is not None else None
        left = size
        while left:
            chunk = stream.read(min(_CHUNK, left))
            if not chunk:
                raise SizeMismatchError(str(expect or name), size, size - left, path=where or name)
            if digester is not None:
                digester.update(chunk)
            self._write(chunk)
            left -= len(chunk)
            if progress is not None:
                progress(len(chunk))
        if stream.read(1):
            raise SizeMismatchError(str(expect or name), size, size + 1, path=where or name)
        if digester is not None and expect is not None:
            actual = digester.digest()
            if actual != expect:
                raise DigestMismatchError(str(expect), str(actual), path=where or name)
        self._pad(size)

    def add_entry(
        self,
        name: str,
        kind: bytes,
        *,
        mode: int,
        size: int = 0,
        stream: IO[bytes] | None = None,
        linkname: str = "",
        owner: tuple[int, int, str, str] = (0, 0, "", ""),
        mtime: int | None = None,
        device: tuple[int, int] = (0, 0),
        pax: dict[str, str] | None = None,
        where: str = "",
    ) -> None:
        """Any member, its metadata given: ``kind`` a tarfile type (REGTYPE, DIRTYPE, SYMTYPE,
        LNKTYPE, CHRTYPE, BLKTYPE, FIFOTYPE); ``owner`` (uid, gid, uname, gname); ``mtime``
        (default: the writer's); ``pax`` extra PAX records (xattrs). A regular file's ``size``
        bytes are read from ``stream`` (SizeMismatchError when it has fewer or more)."""
        if kind == tarfile.DIRTYPE:
            name = name.rstrip("/") + "/"
        regular = kind in (tarfile.REGTYPE, tarfile.AREGTYPE)
        self._header(
            name,
            size=size if regular else 0,
            kind=kind,
            mode=mode,
            linkname=linkname,
            owner=owner,
            mtime=mtime,
            device=device,
            pax=pax,
        )
        if not regular or not size:
            return
        assert stream is not None
        left = size
        while left:
            chunk = stream.read(min(_CHUNK, left))
            if not chunk:
                raise SizeMismatchError(name, size, size - left, path=where or name)
            self._write(chunk)
            left -= len(chunk)
        if stream.read(1):
            raise SizeMismatchError(name, size, size + 1, path=where or name)
        self._pad(size)

    def finish(self) -> None:
        """The end-of-archive marker (two zero blocks), padded to a whole 10 KiB record as tar does."""
        self._write(b"\0" * (2 * _BLOCK))
        rem = self._written % _RECORD
        if rem:
            self._write(b"\0" * (_RECORD - rem))
