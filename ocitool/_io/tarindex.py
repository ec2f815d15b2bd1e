"""One scan of a tar for its members' offsets; members are then read by seeking.

The scan reads only headers (:func:`~ocitool._io.tarscan.scan_tar`, as Go's ``archive/tar``
reads them, seeking over member data), so indexing a multi-gigabyte archive reads one block per
member. Member data is read later, on demand,
with ``os.pread``. Archives compressed as a whole cannot be seeked in, so they are decompressed
once, streaming, into an anonymous temporary file that is indexed instead.
"""

from __future__ import annotations

import io
import os
import posixpath
from collections.abc import Iterator
from typing import IO, Final

from ocitool._io.files import FileView, SectionReader, normalize_name
from ocitool._io.tarscan import DEFAULT_MAX_MEMBERS, MAX_LONG_HEADER, scan_tar
from ocitool._record import record
from ocitool.compression import SNIFF_SIZE, Compression, open_decompressed, sniff
from ocitool.errors import InvalidArchiveError

__all__ = ["DEFAULT_MAX_MEMBERS", "MAX_LINK_HOPS", "MAX_LONG_HEADER", "Member", "TarView"]

MAX_LINK_HOPS: Final = 16
_BUFFER: Final = 1 << 20
_REGULAR: Final = frozenset((b"0", b"7"))
_SYMLINK: Final = b"2"
_HARDLINK: Final = b"1"


@record(frozen=True, slots=True)
class Member:
    """Where one tar member's data lies."""

    name: str
    offset: int
    size: int
    kind: bytes  # the tar type flag (Go's: "0" for an old "\0")
    linkname: str


class TarView(FileView):
    """The members of a tar file as a :class:`FileView`.

    ``path`` may be a plain tar or a tar compressed whole (gzip, zstd, xz, bzip2): the content
    decides, not the name. Symlinked and hardlinked members (``<id>/layer.tar`` pointing at
    another layer) resolve within the archive; a link that leaves it, or loops, is an error.
    When a name appears twice, the last member wins, as for ``tar -x``.
    """

    def __init__(
        self, path: str, *, label: str | None = None, max_members: int = DEFAULT_MAX_MEMBERS
    ) -> None:
        self.label = label or path
        self.max_members = max_members
        self.path = path
        self.compression = Compression.NONE
        self.duplicates: list[str] = []
        self._file = self._open_seekable(path)
        self._fd = self._file.fileno()
        self._members: dict[str, Member] = {}
        try:
            self._scan()
        except BaseException:
            self._file.close()
            raise

    def _open_seekable(self, path: str) -> IO[bytes]:
        raw = open(path, "rb", buffering=0)  # noqa: SIM115 - owned by the view, closed in close()
        try:
            self.compression = sniff(raw.read(SNIFF_SIZE))
            raw.seek(0)
            if self.compression is Compression.NONE:
                return raw
            import shutil
            import tempfile

            spool = tempfile.TemporaryFile(prefix="ocitool-")  # noqa: SIM115
            with open_decompressed(raw, self.compression, path=path) as src:
                shutil.copyfileobj(src, spool, _BUFFER)
            spool.flush()
            spool.seek(0)
            return spool
        except BaseException:
            raw.close()
            raise

    def _scan(self) -> None:
        # Headers only, by pread (the file is a plain tar or the decompressed spool).
        scan = scan_tar(self._file, label=self.label, max_members=self.max_members)
        for info in scan.members:
            if info.type == b"g":
                continue  # a PAX global header is not a file
            name = normalize_name(info.name)
            if not name:
                continue
            if name in self._members:
                self.duplicates.append(name)
            self._members[name] = Member(
                name=name,
                offset=info.data_offset,
                size=info.data_size,
                kind=info.type,
                linkname=info.linkname,
            )

    def member_names(self) -> Iterator[str]:
        """Every member's name (of any type), in archive order."""
        return iter(self._members)

    def resolve(self, name: str) -> Member:
        """The regular-file member ``name`` stands for, following links inside the archive."""
        norm = normalize_name(name)
        for _ in range(MAX_LINK_HOPS):
            member = self._members.get(norm)
            if member is None:
                raise FileNotFoundError(name)
            if member.kind in _REGULAR:
                return member
            if member.kind == _SYMLINK:
                target = member.linkname
                base = posixpath.dirname(norm)
                joined = target if target.startswith("/") else posixpath.join(base, target)
                norm = normalize_name(joined)
            elif member.kind == _HARDLINK:
                norm = normalize_name(member.linkname)
            else:
                raise FileNotFoundError(name)
            if norm.startswith(".."):
                raise InvalidArchiveError("link points outside the archive", path=self.label, member=name)
        raise InvalidArchiveError("too many levels of links", path=self.label, member=name)

    def names(self) -> Iterator[str]:
        for name, member in self._members.items():
            if member.kind in _REGULAR:
                yield name

    def exists(self, name: str) -> bool:
        try:
            self.resolve(name)
        except (FileNotFoundError, InvalidArchiveError):
            return False
        return True

    def size(self, name: str) -> int:
        return self.resolve(name).size

    def open(self, name: str, *, buffered: bool = True) -> IO[bytes]:
        member = self.resolve(name)
        section = SectionReader(self._fd, member.offset, member.size)
        return io.BufferedReader(section, _BUFFER) if buffered else section  # type: ignore[return-value]

    def read_head(self, name: str, n: int) -> bytes:
        member = self.resolve(name)
        return os.pread(self._fd, min(n, member.size), member.offset)

    def read(self, name: str, limit: int = 4 << 20) -> bytes:
        member = self.resolve(name)
        if member.size > limit:
            return super().read(name, limit)  # raises the size error
        data = os.pread(self._fd, member.size, member.offset)
        if len(data) != member.size:
            raise InvalidArchiveError(
                "archive ends inside a member (truncated)", path=self.label, member=name
            )
        return data

    def close(self) -> None:
        self._file.close()
