"""Making layer blobs: from a directory, a tar (plain, gzip, zstd, xz, bzip2) or in-memory files.

A layer is written to a file in a scratch directory (the builder's), streaming, never held in
memory: the tar is written in a thread into a pipe that the compressor
(:func:`ocitool.ops.recompress.recompress`, whose pinned gzip makes the bytes depend only on the
tar and the codec) reads. A tar given as input
is taken as it is (its members and bytes, so its diff ID is kept; a compressed one is
decompressed first); directories and files are written reproducibly
(:mod:`ocitool._io.tarwriter`):

* entries sorted by their UTF-8 bytes, every parent directory present (mode 0755);
* uid and gid 0 with empty user and group names unless a :class:`FileSpec` gives them;
* mtime from the ``mtime`` given, else ``SOURCE_DATE_EPOCH``, else 0; no atime or ctime;
* permission bits (and setuid/setgid/sticky) kept from the directory, 0644 / 0755 by default
  for in-memory files and directories;
* a PAX header only when a field does not fit ustar; xattrs only with ``xattrs=True``;
* symlinks as symlinks, a second name of a hard-linked file as a hard link, FIFOs and devices
  as themselves; sockets left out (tar has no type for them).
"""

from __future__ import annotations

import contextlib
import io
import os
import posixpath
import stat
import tarfile
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Final

from ocitool._io.files import read_full
from ocitool._io.tarwriter import TarWriter, sorted_members, source_date_epoch
from ocitool._record import field, record
from ocitool.compression import SNIFF_SIZE, Compression, is_tar_header, open_decompressed, sniff
from ocitool.errors import InvalidArchiveError, LayerInputError
from ocitool.model import mediatypes as mt
from ocitool.model.digest import Digest
from ocitool.ops.recompress import ANNOTATION_COMPRESSOR, Codec, recompress

__all__ = [
    "FileSpec",
    "LayerBlob",
    "LayerMaker",
    "clean_member_path",
]

_CHUNK: Final = 1 << 20


@record(frozen=True)
class FileSpec:
    """One entry of an in-memory layer.

    ``data`` is a regular file's content, or ``source`` names a file on disk to stream it from;
    ``symlink`` makes a symbolic link to that target; ``directory`` a directory. ``mode`` is the
    permission bits (default 0644, 0755 for a directory, 0777 for a symlink); ``uid``/``gid``
    and ``uname``/``gname`` the owner (default root with empty names); ``mtime`` seconds
    since the epoch (default: the layer's time).
    """

    data: bytes = b""
    source: str | None = None
    symlink: str | None = None
    directory: bool = False
    mode: int | None = None
    uid: int = 0
    gid: int = 0
    uname: str = ""
    gname: str = ""
    mtime: int | None = None


@record(frozen=True)
class LayerBlob:
    """A layer written to ``path``: its blob digest and size, diff ID, media type and the
    annotations its descriptor gets (the gzip implementation, so equal annotations mean equal
    bytes)."""

    path: str
    digest: Digest
    size: int
    diff_id: Digest
    media_type: str
    annotations: dict[str, str] = field(default_factory=dict)


def clean_member_path(name: str, *, where: str = "") -> str:
    """``name`` as a layer member path: relative, cleaned, never climbing out (LayerInputError)."""
    cleaned = posixpath.normpath("/" + name).lstrip("/")
    if not cleaned or cleaned == ".":
        raise LayerInputError(f"{name!r} names the root, not a file", path=where or None, member=name)
    if any(part == ".." for part in name.split("/")):
        raise LayerInputError(f"{name!r} climbs out of the layer's root", path=where or None, member=name)
    return cleaned


class LayerMaker:
    """Writes layers into ``scratch`` (a private directory the caller owns and removes), each
    compressed with ``codec``; layer ``n`` goes to ``scratch/layer-n``."""

    def __init__(self, scratch: str, codec: Codec, *, mtime: int | None = None) -> None:
        self.scratch = scratch
        self.codec = codec
        self.mtime = source_date_epoch() if mtime is None else mtime
        self._count = 0

    def _next_path(self) -> str:
        self._count += 1
        return os.path.join(self.scratch, f"layer-{self._count}")

    def _compress(self, tar_stream: IO[bytes], out_path: str) -> LayerBlob:
        workers = max(len(os.sched_getaffinity(0)), 1)
        with (
            open(out_path, "xb") as out,
            ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ocitool-layer") as pool,
        ):
            result = recompress(tar_stream, out, self.codec, executor=pool, in_flight=workers * 2)
        annotations = {}
        if self.codec.compression is Compression.GZIP:
            annotations[ANNOTATION_COMPRESSOR] = self.codec.compressor
        return LayerBlob(
            out_path,
            result.digest,
            result.size,
            result.diff_id,
            mt.OCI_LAYER_TYPES[self.codec.compression],
            annotations,
        )

    def from_tar(self, stream: IO[bytes], *, where: str) -> LayerBlob:
        """A layer holding the tar ``stream`` (plain or compressed) as it is (``stream`` is
        read to its end, not closed). Raises LayerInputError when it is no tar."""
        head = read_full(stream, SNIFF_SIZE)
        compression = sniff(head)
        out = self._next_path()
        plain = open_decompressed(_Prefixed(head, stream), compression, path=where)  # type: ignore[arg-type]
        try:
            first = read_full(plain, 512)
            if first.strip(b"\0") and not is_tar_header(first):
                raise LayerInputError("not a tar archive", path=where)
            try:
                return self._compress(_Prefixed(first, plain), out)  # type: ignore[arg-type]
            except InvalidArchiveError as exc:
                raise LayerInputError(f"cannot read the layer: {exc.message}", path=where) from None
        finally:
            plain.close()

    def from_tar_file(self, path: str) -> LayerBlob:
        """A layer holding the tar (or compressed tar) file at ``path`` as it is."""
        try:
            fh = open(path, "rb")  # noqa: SIM115 - closed by the with below; the error is ours
        except OSError as exc:
            raise LayerInputError(f"cannot read the layer: {exc.strerror}", path=path) from None
        with fh:
            return self.from_tar(fh, where=path)

    def _write_tar(self, entries: Iterator[_Entry], out: str) -> LayerBlob:
        def write(fh: IO[bytes]) -> None:
            writer = TarWriter(fh, mtime=self.mtime)
            for entry in entries:
                entry.write(writer)
            writer.finish()

        return self.from_tar_writer(write, out=out)

    def from_tar_writer(self, write: Callable[[IO[bytes]], None], *, out: str = "") -> LayerBlob:
        """A layer of the tar ``write(fh)`` writes, compressed as it is written: ``write`` runs
        in a thread feeding a pipe that the compressor reads, so the tar is never stored. An
        error on either side stops both and is raised here (the writer's first)."""
        out = out or self._next_path()
        read_fd, write_fd = os.pipe()
        reader = os.fdopen(read_fd, "rb", buffering=_CHUNK)
        failure: list[BaseException] = []

        def produce() -> None:
            try:
                with os.fdopen(write_fd, "wb", buffering=_CHUNK) as fh:
                    write(fh)
            except BaseException as exc:  # raised in the caller's thread below
                failure.append(exc)

        thread = threading.Thread(target=produce, name="ocitool-tar", daemon=True)
        thread.start()
        try:
            try:
                blob = self._compress(reader, out)
            finally:
                reader.close()  # a writer still writing gets EPIPE and ends
                thread.join()
            if failure:
                raise failure[0]
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(out)
            if failure and not isinstance(failure[0], BrokenPipeError):
                raise failure[0] from None
            raise
        return blob

    def from_directory(self, root: str, *, prefix: str = "", xattrs: bool = False) -> LayerBlob:
        """A layer of the tree under ``root`` (its contents, not ``root`` itself), placed under
        ``prefix`` inside the layer. Raises LayerInputError naming ``root``."""
        if not os.path.isdir(root):
            raise LayerInputError("not a directory", path=root)
        base = clean_member_path(prefix, where=root) if prefix.strip("/") else ""
        return self._write_tar(_directory_entries(root, base, xattrs=xattrs), self._next_path())

    def from_files(self, files: Mapping[str, bytes | FileSpec]) -> LayerBlob:
        """A layer of in-memory files: ``{path: bytes | FileSpec}``; parents added."""
        return self._write_tar(_file_entries(files), self._next_path())


class _Prefixed(io.RawIOBase):
    """``head`` then the rest of ``inner`` (left open: the caller owns it)."""

    def __init__(self, head: bytes, inner: IO[bytes]) -> None:
        super().__init__()
        self._head = head
        self._inner = inner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(buffer), len(self._head))
            memoryview(buffer)[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._inner.read(len(buffer))
        memoryview(buffer)[: len(data)] = data
        return len(data)


@record
class _Entry:
    name: str
    kind: bytes
    mode: int
    size: int = 0
    linkname: str = ""
    owner: tuple[int, int, str, str] = (0, 0, "", "")
    mtime: int | None = None
    device: tuple[int, int] = (0, 0)
    pax: dict[str, str] | None = None
    data: bytes | None = None
    source: str | None = None

    def write(self, writer: TarWriter) -> None:
        if self.kind != tarfile.REGTYPE or not self.size:
            writer.add_entry(
                self.name,
                self.kind,
                mode=self.mode,
                linkname=self.linkname,
                owner=self.owner,
                mtime=self.mtime,
                device=self.device,
                pax=self.pax,
            )
            return
        stream: IO[bytes]
        if self.source is not None:
            try:
                stream = open(self.source, "rb")  # noqa: SIM115 - closed by the with below
            except OSError as exc:
                raise LayerInputError(f"cannot read: {exc.strerror}", path=self.source) from None
        else:
            stream = io.BytesIO(self.data or b"")
        with stream:
            writer.add_entry(
                self.name,
                self.kind,
                mode=self.mode,
                size=self.size,
                stream=stream,
                owner=self.owner,
                mtime=self.mtime,
                pax=self.pax,
                where=self.source or self.name,
            )


def _parents(name: str) -> Iterator[str]:
    parts = name.split("/")[:-1]
    for i in range(1, len(parts) + 1):
        yield "/".join(parts[:i])


def _file_entries(files: Mapping[str, bytes | FileSpec]) -> Iterator[_Entry]:
    entries: dict[str, _Entry] = {}
    for raw_name, value in files.items():
        name = clean_member_path(raw_name)
        spec = value if isinstance(value, FileSpec) else FileSpec(data=bytes(value))
        owner = (spec.uid, spec.gid, spec.uname, spec.gname)
        if spec.directory:
            entry = _Entry(name, tarfile.DIRTYPE, 0o755 if spec.mode is None else spec.mode, owner=owner)
        elif spec.symlink is not None:
            entry = _Entry(
                name, tarfile.SYMTYPE, 0o777 if spec.mode is None else spec.mode, linkname=spec.symlink
            )
            entry.owner = owner
        elif spec.source is not None:
            try:
                st = os.stat(spec.source)
            except OSError as exc:
                raise LayerInputError(
                    f"cannot read: {exc.strerror}", path=spec.source, member=raw_name
                ) from None
            mode = stat.S_IMODE(st.st_mode) if spec.mode is None else spec.mode
            entry = _Entry(name, tarfile.REGTYPE, mode, size=st.st_size, owner=owner, source=spec.source)
        else:
            entry = _Entry(
                name,
                tarfile.REGTYPE,
                0o644 if spec.mode is None else spec.mode,
                size=len(spec.data),
                data=spec.data,
            )
            entry.owner = owner
        entry.mtime = spec.mtime
        entries[name] = entry
    for name in list(entries):
        for parent in _parents(name):
            if parent not in entries:
                entries[parent] = _Entry(parent, tarfile.DIRTYPE, 0o755)
            elif entries[parent].kind != tarfile.DIRTYPE:
                raise LayerInputError(f"{parent!r} is a file and a parent directory", member=parent)
    for name in sorted_members(entries):
        yield entries[name]


def _xattrs(path: str) -> dict[str, str] | None:
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return None
    pax = {}
    for attr in sorted(names):
        try:
            value = os.getxattr(path, attr, follow_symlinks=False)
        except OSError:
            continue
        pax["SCHILY.xattr." + attr] = value.decode("utf-8", "surrogateescape")
    return pax or None


def _directory_entries(root: str, base: str, *, xattrs: bool) -> Iterator[_Entry]:
    """The tree under ``root`` in sorted order, parents first, hard links after their first name."""
    for parent in [*_parents(base + "/x")] if base else []:
        yield _Entry(parent, tarfile.DIRTYPE, 0o755)
    seen: dict[tuple[int, int], str] = {}
    names: list[tuple[str, str]] = []  # (member name, disk path)

    def scan(disk: str, member: str) -> None:
        try:
            children = list(os.scandir(disk))
        except OSError as exc:
            raise LayerInputError(f"cannot read directory: {exc.strerror}", path=disk) from None
        for child in children:
            name = f"{member}/{child.name}" if member else child.name
            names.append((name, child.path))
            if child.is_dir(follow_symlinks=False):
                scan(child.path, name)

    scan(root, base)
    names.sort(key=lambda pair: pair[0].encode("utf-8", "surrogateescape"))
    for name, disk in names:
        try:
            st = os.lstat(disk)
        except OSError as exc:
            raise LayerInputError(f"cannot read: {exc.strerror}", path=disk) from None
        mode = stat.S_IMODE(st.st_mode)
        pax = _xattrs(disk) if xattrs else None
        if stat.S_ISDIR(st.st_mode):
            yield _Entry(name, tarfile.DIRTYPE, mode, pax=pax)
        elif stat.S_ISLNK(st.st_mode):
            yield _Entry(name, tarfile.SYMTYPE, mode, linkname=os.readlink(disk), pax=pax)
        elif stat.S_ISREG(st.st_mode):
            key = (st.st_dev, st.st_ino)
            if st.st_nlink > 1 and key in seen:
                yield _Entry(name, tarfile.LNKTYPE, mode, linkname=seen[key], pax=pax)
                continue
            if st.st_nlink > 1:
                seen[key] = name
            yield _Entry(name, tarfile.REGTYPE, mode, size=st.st_size, source=disk, pax=pax)
        elif stat.S_ISFIFO(st.st_mode):
            yield _Entry(name, tarfile.FIFOTYPE, mode, pax=pax)
        elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            kind = tarfile.CHRTYPE if stat.S_ISCHR(st.st_mode) else tarfile.BLKTYPE
            yield _Entry(name, kind, mode, device=(os.major(st.st_rdev), os.minor(st.st_rdev)), pax=pax)
        # sockets: tar has no type for them (as GNU tar, skipped)
