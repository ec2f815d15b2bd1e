"""Read-only views of a set of named files: a directory, or the members of a tar.

Every format reader works on a :class:`FileView`, so an OCI layout reads the same whether it is
a directory or a tar (an OCI archive), and a docker-save archive the same whether it is a tar or
was unpacked. Names are ``/``-separated and relative; a view never opens anything outside its
root (a directory view refuses names and symlinks that leave it).
"""

from __future__ import annotations

import io
import os
import posixpath
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import IO, Final

from ocitool._io.jsondoc import MAX_DOCUMENT_SIZE
from ocitool.errors import InvalidArchiveError, InvalidDocumentError

__all__ = ["DirView", "FileView", "SectionReader", "normalize_name", "read_full"]

_BUFFER: Final = 1 << 20


def read_full(stream: IO[bytes], n: int) -> bytes:
    """Exactly ``n`` bytes, fewer only at EOF: one ``read`` may return less (pipes, sockets,
    raw files), and block or chunk boundaries must not depend on the reader."""
    parts = []
    left = n
    while left > 0:
        chunk = stream.read(left)
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def normalize_name(name: str) -> str:
    """A member name in canonical form: no leading ``/`` or ``./``, no ``.`` segments.

    Returns '' for the root. Names that climb above the root keep their ``..`` (callers refuse
    them), so ``../x`` never silently becomes ``x``.
    """
    norm = posixpath.normpath(name.lstrip("/"))
    return "" if norm == "." else norm


class SectionReader(io.RawIOBase):
    """A seekable reader of ``size`` bytes at ``offset`` of a file descriptor, by ``os.pread``.

    It shares the descriptor with other readers safely (no shared file position) and reads only
    what is asked for.
    """

    def __init__(self, fd: int, offset: int, size: int) -> None:
        self._fd = fd
        self._offset = offset
        self._size = size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def window(self) -> tuple[int, int, int]:
        """(file descriptor, offset, size) of the section, for readers that ``pread`` directly."""
        return self._fd, self._offset, self._size

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        remaining = self._size - self._pos
        if remaining <= 0:
            return 0
        n = min(len(buffer), remaining)
        data = os.pread(self._fd, n, self._offset + self._pos)
        if not data:
            raise InvalidArchiveError("file ends inside a member (truncated)")
        memoryview(buffer)[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def seek(self, pos: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + pos)
        return self._pos

    def tell(self) -> int:
        return self._pos


class FileView(ABC):
    """A read-only set of named files. ``label`` names the whole for error messages."""

    label: str

    @abstractmethod
    def names(self) -> Iterator[str]:
        """Every regular file's name (after resolving links), in storage order."""

    @abstractmethod
    def exists(self, name: str) -> bool:
        """Whether ``name`` is a regular file here (links followed)."""

    @abstractmethod
    def size(self, name: str) -> int:
        """Size in bytes of ``name``. Raises FileNotFoundError."""

    @abstractmethod
    def open(self, name: str, *, buffered: bool = True) -> IO[bytes]:
        """A seekable reader of ``name``; unbuffered readers read exactly what is asked
        (for scanning tar headers by seeking). Raises FileNotFoundError."""

    def read(self, name: str, limit: int = MAX_DOCUMENT_SIZE) -> bytes:
        """All of ``name``, refusing files over ``limit`` bytes (JSON documents are small)."""
        size = self.size(name)
        if size > limit:
            raise InvalidDocumentError(
                f"{size} bytes, over the {limit}-byte limit for a document", path=self.where(name)
            )
        with self.open(name) as fh:
            return fh.read(limit + 1)

    def where(self, name: str) -> str:
        """``label:name``, how errors name a file inside this view."""
        return f"{self.label}:{name}" if name else self.label

    def close(self) -> None:  # noqa: B027 - optional hook: directory views hold nothing open
        """Release what the view holds open."""

    def read_head(self, name: str, n: int) -> bytes:
        """The first ``n`` bytes of ``name`` (for sniffing), reading no more than that."""
        with self.open(name) as fh:
            return fh.read(n)


class DirView(FileView):
    """The files below a directory; symlinks are followed only while they stay inside it."""

    def __init__(self, root: str) -> None:
        self.root = os.path.realpath(root)
        self.label = root

    def _path(self, name: str) -> str:
        norm = normalize_name(name)
        if norm.startswith("..") or os.path.isabs(norm):
            raise FileNotFoundError(name)
        path = os.path.realpath(os.path.join(self.root, norm))
        if path != self.root and not path.startswith(self.root + os.sep):
            raise FileNotFoundError(name)
        return path

    def names(self) -> Iterator[str]:
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames.sort()
            for filename in sorted(filenames):
                full = os.path.join(dirpath, filename)
                yield os.path.relpath(full, self.root).replace(os.sep, "/")

    def exists(self, name: str) -> bool:
        try:
            return os.path.isfile(self._path(name))
        except FileNotFoundError:
            return False

    def size(self, name: str) -> int:
        return os.stat(self._path(name)).st_size

    def open(self, name: str, *, buffered: bool = True) -> IO[bytes]:
        path = self._path(name)
        if not os.path.isfile(path):
            raise FileNotFoundError(name)
        return open(path, "rb", buffering=_BUFFER if buffered else 0)

    def read_head(self, name: str, n: int) -> bytes:
        with open(self._path(name), "rb", buffering=0) as fh:
            return fh.read(n)
