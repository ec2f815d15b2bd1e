"""Unpacking an image's merged root filesystem to a directory, or exporting it as one tar.

Both take the merged filesystem from :func:`ocitool.ops.rootfs.iter_merged` (whiteouts applied in
layer order, as Docker and umoci apply them) and are atomic: ``unpack`` builds the tree in a
temporary directory beside the target and renames it into place; ``export`` writes a temporary
file beside the output, fsyncs it and renames it. On any error nothing is left behind.

Safety of ``unpack``: every member is created relative to an open directory descriptor of the
target, each parent component opened with ``O_NOFOLLOW`` (``openat``-style), so no path can
leave the target and nothing is written through a symlink. Hardlinks are made between names
resolved the same way. Device nodes are skipped unless ``devices=True``. Owners are set
(numeric uid/gid) only when running as root; otherwise files belong to the caller and setuid,
setgid and sticky bits are cleared (as ``umoci unpack --rootless`` would not be able to honour
them safely). Extended attributes are set when the kernel allows it and skipped otherwise.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tarfile
from collections.abc import Iterator, Sequence
from typing import Final

from ocitool._io.output import output_dir, output_file
from ocitool._io.tarscan import DEFAULT_MAX_MEMBERS
from ocitool._record import field, record
from ocitool.errors import InvalidArchiveError
from ocitool.formats.detect import SourceLike, open_source, parse_source
from ocitool.image.lookup import select_one
from ocitool.image.source import Layer, SourceImage
from ocitool.model.platform import Platform
from ocitool.ops.progress import ProgressCallback
from ocitool.ops.rootfs import MergedEntry, iter_merged, merged_tar

__all__ = ["DEFAULT_MAX_MEMBERS", "UnpackResult", "export", "resolve_image", "unpack", "unpack_layers"]

_BUFFER: Final = 1 << 20
_DIR_FLAGS: Final = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


@record
class UnpackResult:
    """What ``unpack`` did: the image, how many entries were written, what was skipped."""

    image_id: str
    target: str
    entries: int = 0
    skipped_devices: list[str] = field(default_factory=list)
    skipped_xattrs: list[str] = field(default_factory=list)


@contextlib.contextmanager
def resolve_image(
    source: SourceLike | SourceImage, *, platform: Platform | str | None = None, image: str | None = None
) -> Iterator[SourceImage]:
    """A context manager giving the one image ``source`` (a SOURCE string or path, or an image)
    stands for, the source kept open while the caller uses it. Raises the lookup errors of
    ``select_one`` (several images and none named: ImageRequiredError)."""
    if isinstance(source, SourceImage):
        yield source
        return
    plat = Platform.parse(platform) if isinstance(platform, str) else platform
    spec = parse_source(source)
    with open_source(spec) as src:
        yield select_one(src, image or spec.image, platform=plat).image


class _Extractor:
    """Creates entries below an open directory descriptor, never following a symlink."""

    def __init__(self, root_fd: int, result: UnpackResult, *, devices: bool) -> None:
        self.root_fd = root_fd
        self.result = result
        self.devices = devices
        self.is_root = os.geteuid() == 0
        self.dirs: list[tuple[str, tarfile.TarInfo]] = []
        self._cache: dict[str, int] = {}

    def close(self) -> None:
        for fd in self._cache.values():
            os.close(fd)
        self._cache.clear()

    def _dir_fd(self, path: str, member: str) -> int:
        """An open descriptor of directory ``path`` (relative), creating missing directories;
        InvalidArchiveError if a component is a symlink or not a directory."""
        if not path:
            return self.root_fd
        cached = self._cache.get(path)
        if cached is not None:
            return cached
        head, base = os.path.split(path)
        parent = self._dir_fd(head, member)
        try:
            fd = os.open(base, _DIR_FLAGS, dir_fd=parent)
        except FileNotFoundError:
            os.mkdir(base, 0o755, dir_fd=parent)
            fd = os.open(base, _DIR_FLAGS, dir_fd=parent)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise InvalidArchiveError(
                    f"parent {path!r} is a symlink or not a directory", member=member
                ) from None
            raise
        self._cache[path] = fd
        return fd

    def _mode(self, info: tarfile.TarInfo) -> int:
        mode = info.mode & 0o7777
        return mode if self.is_root else mode & ~0o6000  # setuid/setgid only as root

    def _finish_fd(self, fd: int, info: tarfile.TarInfo) -> None:
        if self.is_root:
            os.fchown(fd, info.uid, info.gid)
        os.fchmod(fd, self._mode(info))
        for key, value in info.pax_headers.items():
            name = key.split(".xattr.", 1)[1]
            try:
                os.setxattr(fd, name, value.encode("utf-8", "surrogateescape"))
            except OSError:
                self.result.skipped_xattrs.append(f"{info.name}:{name}")
        os.utime(fd, ns=(int(info.mtime * 1e9), int(info.mtime * 1e9)))

    def add(self, entry: MergedEntry) -> None:
        if len(self._cache) > 256:
            self.close()  # between members only: descriptors handed out below stay open
        info = entry.info
        name = info.name
        if name in ("", "."):
            self.dirs.append(("", info))
            return
        head, base = os.path.split(name)
        if base in ("", ".", "..") or name.startswith("/") or ".." in name.split("/"):
            raise InvalidArchiveError("unsafe member name", member=name)
        parent = self._dir_fd(head, name)
        if info.isdir():
            try:
                os.mkdir(base, 0o700, dir_fd=parent)
            except FileExistsError:
                st = os.stat(base, dir_fd=parent, follow_symlinks=False)
                if not stat.S_ISDIR(st.st_mode):
                    raise InvalidArchiveError("duplicate member", member=name) from None
            self.dirs.append((name, info))
        elif info.isreg():
            fd = os.open(
                base,
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                0o600,
                dir_fd=parent,
            )
            try:
                remaining = info.size
                src = entry.content
                while remaining > 0 and src is not None:
                    chunk = src.read(min(_BUFFER, remaining))
                    if not chunk:
                        raise InvalidArchiveError("layer ends inside this file (truncated)", member=name)
                    _write_all(fd, chunk)
                    remaining -= len(chunk)
                self._finish_fd(fd, info)
            finally:
                os.close(fd)
        elif info.issym():
            os.symlink(info.linkname, base, dir_fd=parent)
            if self.is_root:
                os.chown(base, info.uid, info.gid, dir_fd=parent, follow_symlinks=False)
            os.utime(base, ns=(int(info.mtime * 1e9),) * 2, dir_fd=parent, follow_symlinks=False)
        elif info.islnk():
            link = info.linkname
            if link.startswith("/") or ".." in link.split("/"):
                raise InvalidArchiveError("unsafe hardlink target", member=name)
            lhead, lbase = os.path.split(link)
            src_fd = self._dir_fd(lhead, name)
            try:
                os.link(lbase, base, src_dir_fd=src_fd, dst_dir_fd=parent, follow_symlinks=False)
            except FileNotFoundError:
                raise InvalidArchiveError(f"hardlink target {link!r} does not exist", member=name) from None
        elif info.isfifo():
            os.mkfifo(base, 0o600, dir_fd=parent)
            self._finish_path(parent, base, info)
        elif info.ischr() or info.isblk():
            if not self.devices:
                self.result.skipped_devices.append(name)
                return
            kind = stat.S_IFCHR if info.ischr() else stat.S_IFBLK
            os.mknod(base, 0o600 | kind, os.makedev(info.devmajor, info.devminor), dir_fd=parent)
            self._finish_path(parent, base, info)
        else:
            raise InvalidArchiveError(f"unsupported member type {info.type!r}", member=name)
        self.result.entries += 1

    def _finish_path(self, parent: int, base: str, info: tarfile.TarInfo) -> None:
        # Special files cannot be opened safely for writing metadata: use the *at calls.
        if self.is_root:
            os.chown(base, info.uid, info.gid, dir_fd=parent, follow_symlinks=False)
        os.chmod(base, self._mode(info), dir_fd=parent)
        os.utime(base, ns=(int(info.mtime * 1e9),) * 2, dir_fd=parent, follow_symlinks=False)

    def finish_dirs(self) -> None:
        """Directory modes and times last (deepest first), so read-only ones could be filled."""
        self.close()
        if not any(path == "" for path, _ in self.dirs):
            os.fchmod(self.root_fd, 0o755)  # as umoci and Docker make a root without an entry
        for path, info in reversed(self.dirs):
            fd = self._open_dir(path)
            try:
                self._finish_fd(fd, info)
            finally:
                if fd != self.root_fd:
                    os.close(fd)
            self.result.entries += 1 if path else 0

    def _open_dir(self, path: str) -> int:
        fd = self.root_fd
        for part in path.split("/") if path else []:
            nxt = os.open(part, _DIR_FLAGS, dir_fd=fd)
            if fd != self.root_fd:
                os.close(fd)
            fd = nxt
        return fd


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def unpack_layers(
    layers: Sequence[Layer],
    target_dir: str | os.PathLike[str],
    *,
    devices: bool = False,
    max_members: int = DEFAULT_MAX_MEMBERS,
    image_id: str = "",
    progress: ProgressCallback | None = None,
    verify: bool = True,
) -> UnpackResult:
    """Unpack the merged filesystem of ``layers`` to ``target_dir`` (absent or an empty
    directory), atomically. With ``verify`` (the default) every layer's bytes are checked
    against its digest and diff ID as they are read (see :func:`~ocitool.ops.rootfs.iter_merged`);
    on a mismatch nothing is left. Raises DigestMismatchError / SizeMismatchError (naming the
    digest and the image), InvalidArchiveError (naming the member), BlobNotFoundError,
    FileExistsError when the target is not empty."""
    target_dir = os.fspath(target_dir)
    target = os.path.abspath(target_dir)
    if os.path.lexists(target) and (
        os.path.islink(target) or not os.path.isdir(target) or os.listdir(target)
    ):
        raise FileExistsError(errno.EEXIST, "target exists and is not an empty directory", target_dir)
    result = UnpackResult(image_id=image_id, target=target_dir)
    with output_dir(target, mode=None) as tmp:  # the extractor sets the root's mode
        root_fd = os.open(tmp, _DIR_FLAGS)
        try:
            extractor = _Extractor(root_fd, result, devices=devices)
            try:
                for entry in iter_merged(layers, max_members=max_members, progress=progress, verify=verify):
                    try:
                        extractor.add(entry)
                    except (tarfile.ReadError, EOFError) as exc:
                        raise InvalidArchiveError(
                            f"layer is truncated: {exc}", member=entry.info.name
                        ) from None
                    except FileExistsError:
                        raise InvalidArchiveError("duplicate member", member=entry.info.name) from None
                extractor.finish_dirs()
            finally:
                extractor.close()
        finally:
            os.close(root_fd)
    return result


def unpack(
    source_or_image: SourceLike | SourceImage,
    target_dir: str | os.PathLike[str],
    *,
    platform: Platform | str | None = None,
    image: str | None = None,
    devices: bool = False,
    max_members: int = DEFAULT_MAX_MEMBERS,
    progress: ProgressCallback | None = None,
    verify: bool = True,
) -> UnpackResult:
    """Unpack the merged root filesystem of one image to ``target_dir`` (see the module doc).

    ``source_or_image`` is a SOURCE string or path (``image`` and ``platform`` choose within it,
    as for ``inspect``) or an opened :class:`SourceImage`. Atomic; every layer verified unless
    ``verify=False``. Raises OcitoolError subclasses and FileExistsError when the target is a
    non-empty directory.
    """
    with resolve_image(source_or_image, platform=platform, image=image) as img:
        return unpack_layers(
            img.layers,
            target_dir,
            devices=devices,
            max_members=max_members,
            image_id=str(img.id),
            progress=progress,
            verify=verify,
        )


def export(
    source_or_image: SourceLike | SourceImage,
    out_path: str | os.PathLike[str],
    *,
    platform: Platform | str | None = None,
    image: str | None = None,
    max_members: int = DEFAULT_MAX_MEMBERS,
    progress: ProgressCallback | None = None,
    verify: bool = True,
) -> str:
    """Write the merged root filesystem of one image to ``out_path`` as one tar (as ``crane
    export``; device nodes are kept as tar entries). Atomic: a temporary file beside
    ``out_path``, fsynced, renamed. Returns the image ID. Raises OcitoolError subclasses.

    With ``verify`` (the default) every layer is read and checked against its digest and diff
    ID before the first byte is written (the merge's first pass), and checked again as its
    contents are copied: on a mismatch a file output is left untouched, and a stream output
    (stdout, a FIFO) has received nothing.
    """
    with resolve_image(source_or_image, platform=platform, image=image) as img:
        with output_file(out_path) as fh:
            merged_tar(img.layers, fh, max_members=max_members, progress=progress, verify=verify)
        return str(img.id)
