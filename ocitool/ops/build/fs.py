"""The file system side of Docker 20.10's classic builder: the build context as the daemon
extracts it, a stage's root file system on disk, ``COPY``/``ADD``/``WORKDIR`` applied to it as
moby's ``builder/dockerfile/copy.go`` and ``pkg/archive`` apply them, and the layer a step
leaves (what an overlay upper directory would hold).

What is reproduced (moby v20.10):

* the context: every file the CLI sends (``.dockerignore`` applied, sockets left out, second
  names of an inode as hard links), owned by 0:0 with its permission and setuid/setgid/sticky
  bits, the build files ``.dockerignore`` names deleted (:func:`extract_context`);
* ``COPY``/``ADD`` of one source (``performCopyForInfo``): the destination resolved inside the
  root (symlinks followed), a file copied *into* a destination that ends with ``/`` or is an
  existing directory (named by the source's own base name), a directory's *contents* copied
  into the destination (created 0755 when new); new parent directories made 0755 -- owned by
  the ``--chown`` identity for a file, by root for a directory; the copied entries keep their
  modes and (``COPY --from``) owners, or are chowned to the identity (0:0 without ``--chown``),
  the destination directory itself only when it was new (``fixPermissions``);
* ``ADD`` of a local tar (plain or compressed): extracted into the destination with the tar's
  owners and modes, ``--chown`` not applied (``UntarPath``);
* ``WORKDIR``: the directory made (0755, root) when it is missing -- the step has a layer only
  then;
* the layer: every path a step wrote, with its parent directories (overlay copies them up),
  parents first, in lexical order; hard links within the layer as link entries.

Nothing here touches an image store: :class:`WorkTree` is a directory the caller fills.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import shutil
import stat
import tarfile
from collections.abc import Iterator
from typing import IO, Final

from ocitool._go import path as gopath
from ocitool._io.tarwriter import TarWriter
from ocitool._record import field, record
from ocitool.errors import BuildContextError
from ocitool.ops.build import dockerignore
from ocitool.ops.build.contexthash import StageSource

__all__ = ["Identity", "WorkTree", "extract_context", "is_archive"]

_CHUNK: Final = 1 << 20
_ROOT: Final = (0, 0)
_DEVICE_TYPES: Final = {
    stat.S_IFIFO: tarfile.FIFOTYPE,
    stat.S_IFCHR: tarfile.CHRTYPE,
    stat.S_IFBLK: tarfile.BLKTYPE,
}


@record(frozen=True, slots=True)
class Identity:
    """The owner ``COPY``/``ADD`` give what they copy (``--chown``; 0:0 without it)."""

    uid: int = 0
    gid: int = 0


def _copy_metadata(src_st: os.stat_result, dest: str, *, owner: tuple[int, int] | None = None) -> None:
    uid, gid = owner if owner is not None else (src_st.st_uid, src_st.st_gid)
    os.lchown(dest, uid, gid)
    if not stat.S_ISLNK(src_st.st_mode):
        os.chmod(dest, stat.S_IMODE(src_st.st_mode))
    with contextlib.suppress(OSError):
        os.utime(dest, ns=(src_st.st_mtime_ns, src_st.st_mtime_ns), follow_symlinks=False)


def _make(
    src: str,
    st: os.stat_result,
    dest: str,
    links: dict[tuple[int, int], str],
    owner: tuple[int, int] | None = None,
) -> None:
    """Create ``dest`` (absent) as a copy of ``src`` (not followed), mode kept, owned by
    ``owner`` (default: the source's owner) -- chowned before the chmod, as untar does, so
    setuid/setgid bits survive."""
    fmt = stat.S_IFMT(st.st_mode)
    key = (st.st_dev, st.st_ino)
    if fmt != stat.S_IFDIR and st.st_nlink > 1 and key in links and os.path.lexists(links[key]):
        os.link(links[key], dest, follow_symlinks=False)
        return
    if fmt == stat.S_IFREG:
        with open(src, "rb") as fin, open(dest, "xb") as fout:
            shutil.copyfileobj(fin, fout, _CHUNK)
    elif fmt == stat.S_IFDIR:
        os.mkdir(dest, 0o700)
    elif fmt == stat.S_IFLNK:
        os.symlink(os.readlink(src), dest)
    elif fmt in (stat.S_IFIFO, stat.S_IFCHR, stat.S_IFBLK):
        os.mknod(dest, 0o600 | fmt, st.st_rdev)
    else:
        return  # sockets: archive/tar cannot carry them
    if fmt != stat.S_IFDIR and st.st_nlink > 1:
        links[key] = dest
    _copy_metadata(st, dest, owner=owner)


def _clear(path: str, *, keep_dir: bool) -> None:
    """moby's untar: whatever is at ``path`` goes, unless a directory meets a directory."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        if not keep_dir:
            shutil.rmtree(path)
    else:
        os.unlink(path)


def extract_context(root: str, target: str, *, dockerfile: str = "Dockerfile") -> None:
    """Fill the empty directory ``target`` with the build context ``docker build ROOT`` sends,
    as the daemon extracts it (see the module docstring). BuildContextError as
    :func:`~ocitool.ops.build.dockerignore.walk` raises it, or for a bad ``.dockerignore``."""
    ignore_path = os.path.join(root, ".dockerignore")
    excludes: list[str] = []
    has_ignore = os.path.lexists(ignore_path)
    if has_ignore:
        with open(ignore_path, "rb") as f:
            excludes = dockerignore.read_all(f.read(), path=ignore_path)
    links: dict[tuple[int, int], str] = {}
    dirs: list[tuple[os.stat_result, str]] = []
    for item in dockerignore.walk(root, dockerignore.trim_build_files(excludes, dockerfile)):
        st = item.stat
        if stat.S_ISSOCK(st.st_mode):
            continue
        dest = os.path.join(target, item.path)
        parent = os.path.dirname(dest)
        if not os.path.isdir(parent):
            # an excluded directory whose exception sends files below it: untar makes it
            os.makedirs(parent, 0o755, exist_ok=True)
        _make(os.path.join(root, item.path), st, dest, links, _ROOT)  # the CLI sends uid and gid 0
        if stat.S_ISDIR(st.st_mode):
            dirs.append((st, dest))
    for st, dest in reversed(dirs):
        with contextlib.suppress(OSError):
            os.utime(dest, ns=(st.st_mtime_ns, st.st_mtime_ns))
    if has_ignore:
        for name in dockerignore.removed_by_daemon(excludes, dockerfile):
            full = os.path.join(target, name)
            if os.path.lexists(full) and not os.path.isdir(full):
                os.unlink(full)


def is_archive(path: str) -> bool:
    """moby's ``isArchivePath``: the file decompresses (gzip, bzip2, xz or none) and has a
    first tar header."""
    try:
        with tarfile.open(path, mode="r:*") as tf:
            return tf.next() is not None
    except (tarfile.TarError, EOFError, OSError, ValueError):
        return False


@record
class WorkTree:
    """A stage's root file system at ``root`` (root-owned files need a root process) and the
    paths the current step changed (``changed``, relative, for :meth:`write_layer`)."""

    root: str
    changed: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._scope = StageSource(self.root)

    def full(self, rel: str) -> str:
        return self.root if rel in (".", "") else os.path.join(self.root, rel)

    def resolve(self, path: str) -> str:
        """``path`` (absolute in the image) with its symlinks followed inside the root."""
        return self._scope.resolve(path)

    # -- directories --

    def mkdir_all(self, rel: str, mode: int, owner: tuple[int, int]) -> bool:
        """``MkdirAllAndChownNew``: make the missing directories of the resolved ``rel`` with
        ``mode`` and ``owner``; existing ones are left as they are. True when it made any.
        BuildContextError when a component is not a directory."""
        made = False
        cur = ""
        for part in [p for p in rel.split("/") if p and p != "."]:
            cur = f"{cur}/{part}" if cur else part
            full = self.full(cur)
            try:
                st = os.stat(full)
            except FileNotFoundError:
                os.mkdir(full, 0o700)
                os.chmod(full, mode)
                os.lchown(full, *owner)
                self.changed.add(cur)
                made = True
                continue
            if not stat.S_ISDIR(st.st_mode):
                raise BuildContextError(
                    "/" + cur, "not-a-directory", f"mkdir {'/' + cur}: not a directory", path=None
                )
        return made

    def workdir(self, path: str) -> bool:
        """``ContainerCreateWorkdir``: make the working directory (0755, root) when missing.
        True when it did (the step then has a layer)."""
        return self.mkdir_all(self.resolve(path), 0o755, _ROOT)

    # -- COPY / ADD --

    def copy(
        self,
        src_root: str,
        source: str,
        dest: str,
        *,
        identity: Identity | None,
        decompress: bool = False,
    ) -> None:
        """Copy ``source`` (a path as ``COPY`` names it, inside ``src_root``, symlinks followed
        there) to ``dest`` (absolute, workdir applied, a trailing ``/`` kept), as
        ``performCopyForInfo`` does. ``identity`` None keeps the owners (``COPY --from``
        without ``--chown``); ``decompress`` extracts a local tar (``ADD``)."""
        scope = StageSource(src_root)
        src_rel = scope.resolve(source)
        src_full = src_root if src_rel == "." else os.path.join(src_root, src_rel)
        dest_rel = self.resolve(dest)
        dest_full = self.full(dest_rel)
        src_st = os.lstat(src_full)
        if stat.S_ISDIR(src_st.st_mode):
            self._copy_dir(src_full, dest_rel, identity)
            return
        if decompress and stat.S_ISREG(src_st.st_mode) and is_archive(src_full):
            self._untar(src_full, dest_rel)
            return
        if dest.endswith("/") or os.path.isdir(dest_full):
            base = posixpath.basename(gopath.clean("/" + source))
            dest_rel = self.resolve("/" + gopath.join(dest_rel, base))
        parent = posixpath.dirname(dest_rel)
        owner = (identity.uid, identity.gid) if identity is not None else _ROOT
        self.mkdir_all(parent, 0o755, owner)
        target = self.full(dest_rel)
        _clear(target, keep_dir=False)
        _make(src_full, src_st, target, {})
        if identity is not None:
            os.lchown(target, identity.uid, identity.gid)
        self.changed.add(dest_rel)

    def _copy_dir(self, src: str, dest_rel: str, identity: Identity | None) -> None:
        dest_full = self.full(dest_rel)
        existed = os.path.isdir(dest_full)
        if not existed:
            self.mkdir_all(dest_rel, 0o755, _ROOT)
        links: dict[tuple[int, int], str] = {}
        dirs: list[tuple[os.stat_result, str]] = []
        for rel, st in _walk(src):
            target = os.path.join(dest_full, rel)
            out_rel = posixpath.join(dest_rel, rel) if dest_rel != "." else rel
            is_dir = stat.S_ISDIR(st.st_mode)
            if is_dir and os.path.isdir(target) and not os.path.islink(target):
                _copy_metadata(st, target)
            else:
                _clear(target, keep_dir=False)
                _make(os.path.join(src, rel), st, target, links)
            if is_dir:
                dirs.append((st, target))
            if identity is not None:
                os.lchown(target, identity.uid, identity.gid)
            self.changed.add(out_rel)
        if identity is not None and not existed:
            os.lchown(dest_full, identity.uid, identity.gid)
        for st, target in reversed(dirs):
            with contextlib.suppress(OSError):
                os.utime(target, ns=(st.st_mtime_ns, st.st_mtime_ns))

    def _untar(self, archive: str, dest_rel: str) -> None:
        with tarfile.open(archive, mode="r:*") as tf:
            for info in tf:
                name = gopath.clean(info.name)
                if name in (".", "/"):
                    continue
                if name.startswith("../") or name == ".." or name.startswith("/"):
                    name = gopath.clean("/" + name).lstrip("/")
                out_rel = gopath.join(dest_rel, name) if dest_rel != "." else name
                parent = self.resolve("/" + posixpath.dirname(out_rel)) if "/" in out_rel else "."
                self.mkdir_all(parent, 0o755, _ROOT)
                out_rel = (
                    posixpath.join(parent, posixpath.basename(out_rel))
                    if parent != "."
                    else (posixpath.basename(out_rel))
                )
                target = self.full(out_rel)
                _clear(target, keep_dir=info.isdir())
                if info.isdir():
                    if not os.path.isdir(target):
                        os.mkdir(target, 0o700)
                elif info.isreg():
                    data = tf.extractfile(info)
                    with open(target, "xb") as fout:
                        if data is not None:
                            shutil.copyfileobj(data, fout, _CHUNK)
                elif info.issym():
                    os.symlink(info.linkname, target)
                elif info.islnk():
                    link = gopath.clean("/" + info.linkname).lstrip("/")
                    src = self.full(gopath.join(dest_rel, link) if dest_rel != "." else link)
                    os.link(src, target, follow_symlinks=False)
                    self.changed.add(out_rel)
                    continue
                elif info.isfifo() or info.ischr() or info.isblk():
                    kind = stat.S_IFIFO if info.isfifo() else stat.S_IFCHR if info.ischr() else stat.S_IFBLK
                    os.mknod(target, 0o600 | kind, os.makedev(info.devmajor, info.devminor))
                else:
                    continue
                os.lchown(target, info.uid, info.gid)
                if not info.issym():
                    os.chmod(target, info.mode & 0o7777)
                with contextlib.suppress(OSError):
                    os.utime(target, (info.mtime, info.mtime), follow_symlinks=False)
                self.changed.add(out_rel)

    # -- the layer --

    def write_layer(self, out: IO[bytes], *, mtime: int | None = None) -> int:
        """Write the changed paths and their parents as a layer tar to ``out``; return the
        number of entries (0: the step left an empty layer). ``mtime`` (SOURCE_DATE_EPOCH)
        replaces every entry's time."""
        paths: set[str] = set()
        for rel in self.changed:
            cur = rel
            while cur and cur != "." and cur not in paths:
                paths.add(cur)
                cur = posixpath.dirname(cur)
        writer = TarWriter(out, mtime=0)
        seen: dict[tuple[int, int], str] = {}
        count = 0
        for rel in sorted(paths, key=lambda p: [os.fsencode(c) for c in p.split("/")]):
            full = self.full(rel)
            try:
                st = os.lstat(full)
            except FileNotFoundError:
                continue
            fmt = stat.S_IFMT(st.st_mode)
            key = (st.st_dev, st.st_ino)
            name, linkname, size, rdev = rel, "", 0, 0
            if fmt != stat.S_IFDIR and st.st_nlink > 1 and key in seen:
                kind, linkname = tarfile.LNKTYPE, seen[key]
            elif fmt == stat.S_IFREG:
                kind, size = tarfile.REGTYPE, st.st_size
            elif fmt == stat.S_IFDIR:
                kind, name = tarfile.DIRTYPE, rel + "/"
            elif fmt == stat.S_IFLNK:
                kind, linkname = tarfile.SYMTYPE, os.readlink(full)
            elif fmt in _DEVICE_TYPES:
                kind, rdev = _DEVICE_TYPES[fmt], st.st_rdev
            else:
                continue
            with open(full, "rb") if size else contextlib.nullcontext() as data:
                writer.add_entry(
                    name,
                    kind,
                    mode=stat.S_IMODE(st.st_mode),
                    owner=(st.st_uid, st.st_gid, "", ""),
                    mtime=int(st.st_mtime) if mtime is None else mtime,
                    size=size,
                    stream=data,
                    linkname=linkname,
                    device=(os.major(rdev), os.minor(rdev)) if rdev else (0, 0),
                    where=full,
                )
            if fmt != stat.S_IFDIR and st.st_nlink > 1:
                seen.setdefault(key, rel)
            count += 1
        writer.finish()
        return count


def _walk(top: str) -> Iterator[tuple[str, os.stat_result]]:
    """filepath.Walk below ``top`` (itself excluded): parents first, lexical, links not followed."""
    try:
        names = sorted(os.listdir(os.fsencode(top)))
    except OSError:
        return
    for raw in names:
        name = os.fsdecode(raw)
        full = os.path.join(top, name)
        st = os.lstat(full)
        yield name, st
        if stat.S_ISDIR(st.st_mode):
            for rel, sub in _walk(full):
                yield f"{name}/{rel}", sub
