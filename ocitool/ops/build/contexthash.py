"""Docker's build-context content hashes: the ``file:<hex>``, ``dir:<hex>`` and ``multi:<hex>``
that the classic builder writes into ``COPY``/``ADD`` history (``COPY file:... in /dst``) and
compares in its build cache.

How Docker 20.10 computes them (moby ``builder/remotecontext`` ``archive.go``, ``tarsum.go``,
``pkg/tarsum``, ``builder/dockerfile/copy.go`` and ``internals.go``):

1. The client tars the context (:func:`ocitool.ops.build.dockerignore.walk` picks the files):
   names relative to the context, directories with a trailing ``/``, uid and gid 0 (the CLI's
   ``ChownOpts``), mode = permission bits plus setuid/setgid/sticky -- and, from clients up to
   Docker 22 (moby's ``fillGo18FileTypeBits``), the ``S_IFMT`` file type bits too
   (``type_bits=True``); a second name of a hard-linked inode becomes a hard link entry of
   size 0; sockets are left out; the ``security.capability`` xattr is carried (a revision 3
   capability as revision 2).
2. The daemon hashes each entry as ``tarsum.v1`` does while it extracts the tar: SHA-256 of
   ``name<name>mode<mode>uid<uid>gid<gid>size<size>typeflag<t>linkname<l>uname gname
   devmajor<n>devminor<n>`` (decimal numbers, user and group *names* blanked) followed by each
   xattr's name and value, then the file's bytes. The sum is filed under the cleaned name.
3. When the context has a ``.dockerignore`` that matches them, the daemon deletes the
   Dockerfile and ``.dockerignore`` from the extracted tree (their sums stay, unused).
4. ``COPY``/``ADD`` of one file: ``file:`` + that sum, symlinks followed (inside the context,
   absolute targets taken from the context root). A directory: ``dir:`` + SHA-256 of the sums
   of everything under it (itself included, the context root excluded), sorted and joined with
   ``,``; a name without a sum (an entry the tar did not have, a dangling symlink) contributes
   the *path* instead. A source with wildcards (``* ? [``) stands for every entry it matches
   (``filepath.Match``). Several files in all: ``multi:`` + SHA-256 of their hashes, in order,
   joined with ``,``.

:class:`BuildContext` holds the sums and the extracted tree; :meth:`BuildContext.from_directory`
plays the client's and the daemon's part on a directory, :meth:`BuildContext.from_tar` the
daemon's on a context tarball (``docker build - < ctx.tar``); :class:`StageSource` hashes an
image's files for ``COPY --from`` (moby's ``lazySource``: type bits, real owners and their
*names* kept). File contents are streamed, never held. Not reproduced: contexts from git or URLs,
a Dockerfile outside the context (the CLI adds it under a random name).
"""

from __future__ import annotations

import grp
import hashlib
import os
import posixpath
import pwd
import stat
import tarfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, Final

from ocitool._go import path as gopath
from ocitool._go import strings as gostrings
from ocitool._io.safetar import SafeTarInfo
from ocitool._record import record
from ocitool.errors import BuildContextError, InvalidArchiveError
from ocitool.ops.build import dockerignore

__all__ = [
    "BuildContext",
    "ContextEntry",
    "StageSource",
    "TarHeader",
    "contains_wildcards",
    "file_sum",
    "hash_strings",
    "tarsum_header",
]

_CHUNK: Final = 1 << 20
_MAX_LINKS: Final = 255  # moby/sys/symlink's maxIter: path components and links followed
_CAPABILITY: Final = "security.capability"
# S_IFMT bits Go 1.8's archive/tar kept in the mode, by tar type flag (moby's fillGo18FileTypeBits).
_TYPE_BITS: Final = {
    "0": 0o100000,
    "1": 0o100000,
    "2": 0o120000,
    "3": 0o020000,
    "4": 0o060000,
    "5": 0o040000,
    "6": 0o010000,
}


@record(frozen=True, slots=True)
class TarHeader:
    """The fields of a tar header that ``tarsum.v1`` hashes. ``typeflag`` is the one-character
    tar type (``0`` file, ``1`` hard link, ``2`` symlink, ``3``/``4`` devices, ``5`` directory,
    ``6`` FIFO); ``xattrs`` are (name, value) pairs; ``uname``/``gname`` are blanked when a
    context is hashed, kept for a stage's files."""

    name: str
    mode: int
    uid: int = 0
    gid: int = 0
    size: int = 0
    typeflag: str = "0"
    linkname: str = ""
    uname: str = ""
    gname: str = ""
    devmajor: int = 0
    devminor: int = 0
    xattrs: tuple[tuple[str, bytes], ...] = ()


def tarsum_header(header: TarHeader, *, names: bool = False) -> bytes:
    """The bytes ``tarsum.v1`` hashes for a header (``names``: keep uname/gname, as moby's
    ``WriteV1Header`` for ``COPY --from`` does; the context's tarsum blanks them)."""
    fields = (
        ("name", header.name),
        ("mode", str(header.mode)),
        ("uid", str(header.uid)),
        ("gid", str(header.gid)),
        ("size", str(header.size)),
        ("typeflag", header.typeflag),
        ("linkname", header.linkname),
        ("uname", header.uname if names else ""),
        ("gname", header.gname if names else ""),
        ("devmajor", str(header.devmajor)),
        ("devminor", str(header.devminor)),
    )
    out = b"".join(k.encode() + gostrings.to_bytes(v) for k, v in fields)
    for key, value in sorted(header.xattrs, key=lambda kv: gostrings.to_bytes(kv[0])):
        out += gostrings.to_bytes(key) + value
    return out


def file_sum(header: TarHeader, content: Iterable[bytes] = (), *, names: bool = False) -> str:
    """The hex SHA-256 of a header (:func:`tarsum_header`) followed by the entry's bytes."""
    h = hashlib.sha256(tarsum_header(header, names=names))
    for chunk in content:
        h.update(chunk)
    return h.hexdigest()


def hash_strings(prefix: str, items: Sequence[str]) -> str:
    """moby's ``hashStringSlice``: ``prefix:`` + hex SHA-256 of the items joined with ``,``."""
    return prefix + ":" + hashlib.sha256(gostrings.to_bytes(",".join(items))).hexdigest()


def contains_wildcards(name: str) -> bool:
    """moby's ``containsWildcards`` (Unix): an unescaped ``*``, ``?`` or ``[``."""
    i = 0
    while i < len(name):
        ch = name[i]
        if ch == "\\":
            i += 1
        elif ch in "*?[":
            return True
        i += 1
    return False


@record(frozen=True, slots=True)
class ContextEntry:
    """One entry of the context tar: its header and its ``tarsum.v1`` sum (hex)."""

    header: TarHeader
    sum: str

    @property
    def key(self) -> str:
        """The name the sum is filed under: ``path.Join(".", path.Join("/", name))``."""
        return gopath.join(".", gopath.join("/", self.header.name))


class _ScopeError(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _file_chunks(path: str) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            yield chunk


def _capability(path: str) -> tuple[tuple[str, bytes], ...]:
    try:
        value = os.getxattr(path, _CAPABILITY, follow_symlinks=False)
    except OSError:
        return ()
    if len(value) > 3 and value[3] == 3:
        # VFS_CAP_REVISION_3 is written as revision 2 (its root uid means nothing elsewhere).
        value = value[:3] + b"\x02" + value[4:20]
    return ((_CAPABILITY, value),)


class _Source:
    """moby's ``builder.Source`` as ``COPY``/``ADD`` use it: symlinks resolved inside the root,
    directory walks, and the ``file:``/``dir:``/``multi:`` hashes. Subclasses say what the
    tree holds and what each path's sum is."""

    label: str | None = None
    _not_found: str = "file not found in build context or excluded by .dockerignore: "

    def _lstat(self, key: str) -> str | None:
        """The tar type of ``key`` (None when absent); _ScopeError ENOTDIR under a file."""
        raise NotImplementedError

    def _readlink(self, key: str) -> str:
        raise NotImplementedError

    def _names(self, key: str) -> Iterable[str]:
        """The entries of directory ``key``."""
        raise NotImplementedError

    def _sum(self, key: str) -> str | None:
        """The sum of the resolved ``key``, None when there is none."""
        raise NotImplementedError

    def _missing(self, path: str, target: str) -> str:
        """What stands for a sum the source has not got (moby: a path)."""
        raise NotImplementedError

    def _resolve(self, rel: str) -> str:
        """moby/sys/symlink ``FollowSymlinkInScope(root/rel, root)`` as a cleaned relative
        path (``.`` for the root)."""
        c = gopath.clean(rel)
        if c.startswith("/"):
            c = gopath.clean(c.lstrip("/")) if c != "/" else "."
        if c == ".":
            return "."
        if c == ".." or c.startswith("../"):
            raise _ScopeError("outside", "is not in the build context")
        path = c
        b = ""
        n = 0
        while path:
            if n > _MAX_LINKS:
                raise _ScopeError("too-many-links", "too many links")
            n += 1
            p, _, path = path.partition("/")
            if not p:
                continue
            clean_p = gopath.clean("/" + b + p)
            if clean_p == "/":
                b = ""
                continue
            if self._lstat(clean_p[1:]) != "2":
                b += p + "/"
                continue
            dest = self._readlink(clean_p[1:])
            if dest.startswith("/"):
                b = ""
            path = dest + "/" + path
        out = gopath.clean("/" + b)[1:]
        return out or "."

    def _walk(self, key: str) -> Iterator[str]:
        """filepath.Walk from ``key``: itself, then its tree in lexical order (no symlinks followed)."""
        yield key
        try:
            is_dir = key == "." or self._lstat(key) == "5"
        except _ScopeError:
            return
        if is_dir:
            for name in sorted(self._names(key), key=gostrings.to_bytes):
                yield from self._walk(name if key == "." else f"{key}/{name}")

    def _error(self, source: str, reason: str, message: str) -> BuildContextError:
        return BuildContextError(source, reason, message, path=self.label)

    def resolve(self, path: str) -> str:
        """``FollowSymlinkInScope``: ``path`` with every symlink followed inside the root, as a
        cleaned relative path (``.`` for the root). BuildContextError when it climbs out."""
        try:
            return self._resolve(path)
        except _ScopeError as e:
            raise self._error(path, e.reason, f"forbidden path outside the build context: {path}") from None

    def hash(self, path: str) -> str:
        """``Source.Hash``: the sum of what ``path`` resolves to, or (moby's compatibility)
        a path when there is none. BuildContextError when it cannot resolve or hash."""
        try:
            target = self._resolve(path)
            found = self._sum(target)
        except _ScopeError as e:
            raise self._error(path, e.reason, f"forbidden path outside the build context: {path}") from None
        return found if found is not None else self._missing(path, target)

    def _info(self, orig: str) -> str:
        """``copyInfoForFile`` (+ ``walkSource``): the hash of one source without wildcards."""
        try:
            target = self._resolve(orig)
            kind = self._lstat(target) if target != "." else "5"
        except _ScopeError as e:
            raise self._error(orig, e.reason, f"forbidden path outside the build context: {orig}") from None
        if kind is None:
            raise self._error(orig, "not-found", f"{self._not_found}stat {orig}: file does not exist")
        if kind != "5":
            return "file:" + self.hash(orig)
        sums: list[str] = []
        for rel in self._walk(target):
            if rel == ".":
                continue
            try:
                sums.append(self.hash(rel))
            except BuildContextError:
                continue  # walkSource skips what does not hash
        return hash_strings("dir", sorted(sums, key=gostrings.to_bytes))

    def source_hashes(self, source: str) -> list[str]:
        """``calcCopyInfo`` of one ``COPY``/``ADD`` source (after variable substitution): the
        hash of each file it stands for (several for wildcards, none when they match nothing).
        BuildContextError: not found (or ignored), outside the context, a URL."""
        if source.startswith(("http://", "https://")):
            raise self._error(source, "url", f"source can't be a URL here (no network): {source}")
        return [self._info(path) for path in self.expand(source)]

    def expand(self, source: str) -> list[str]:
        """The paths one ``COPY``/``ADD`` source stands for: itself (without a leading ``/``
        or ``./``), or every entry its wildcards match, in walk order."""
        orig = source.removeprefix("/").removeprefix("./")
        if not contains_wildcards(orig):
            return [orig]
        return [rel for rel in self._walk(".") if rel != "." and gopath.match(orig, rel)]

    def copy_hash(self, sources: Sequence[str]) -> str:
        """The hash ``COPY``/``ADD`` sources get in ``created_by``: one file's or directory's
        hash, or ``multi:`` over several (moby's ``getSourceHashFromInfos``)."""
        infos: list[str] = []
        for source in sources:
            infos += self.source_hashes(source)
        if not infos:
            raise self._error(",".join(sources), "not-found", "no source files were specified")
        if len(infos) == 1:
            return infos[0]
        return hash_strings("multi", infos)


class BuildContext(_Source):
    """A build context as Docker 20.10's daemon holds it: the sums of the tar it received and
    the tree it extracted (minus the build files ``.dockerignore`` made it delete).

    ``entries`` are in tar order; ``label`` names the context in errors. Lookups never touch
    the file system: :meth:`source_hashes` and :meth:`copy_hash` answer from the tree.
    """

    def __init__(
        self, entries: Sequence[ContextEntry], *, removed: Iterable[str] = (), label: str | None = None
    ) -> None:
        self.entries = tuple(entries)
        self.label = label
        self._sums: dict[str, str] = {}
        self._kind: dict[str, str] = {".": "5"}
        self._target: dict[str, str] = {}
        self._children: dict[str, set[str]] = {".": set()}
        for entry in self.entries:
            key = entry.key
            self._sums.setdefault(key, entry.sum)
            raw = gopath.clean(entry.header.name)
            if raw == ".." or raw.startswith("../"):
                # the daemon's Untar refuses to write outside its directory
                raise InvalidArchiveError("entry outside the context", path=label, member=entry.header.name)
            if key == ".":
                continue
            self._add(key, entry.header)
        for name in removed:
            try:
                target = self._resolve(name)
            except _ScopeError:
                continue
            self._remove(target)

    # -- the extracted tree --

    def _add(self, key: str, header: TarHeader) -> None:
        parent = posixpath.dirname(key) or "."
        if parent not in self._kind:
            self._add(parent, TarHeader(name=parent + "/", mode=0o755, typeflag="5"))
        if self._kind.get(parent) != "5":
            self._remove(parent)
            self._add(parent, TarHeader(name=parent + "/", mode=0o755, typeflag="5"))
        kind = "0" if header.typeflag == "1" else header.typeflag
        if key in self._kind and not (kind == "5" and self._kind[key] == "5"):
            self._remove(key)
        if key not in self._kind:
            self._kind[key] = kind
            self._children[parent].add(key.rsplit("/", 1)[-1])
            if kind == "5":
                self._children[key] = set()
        if kind == "2":
            self._target[key] = header.linkname

    def _remove(self, key: str) -> None:
        if key == "." or key not in self._kind:
            return
        for child in list(self._children.get(key, ())):
            self._remove(f"{key}/{child}")
        self._children.pop(key, None)
        self._kind.pop(key)
        self._target.pop(key, None)
        parent = posixpath.dirname(key) or "."
        self._children[parent].discard(key.rsplit("/", 1)[-1])

    def _lstat(self, key: str) -> str | None:
        """The type of ``key`` (``None`` when absent); ENOTDIR under a non-directory."""
        kind = self._kind.get(key)
        if kind is not None:
            return kind  # the tree holds entries only under directories
        parent = posixpath.dirname(key)
        while parent and parent not in self._kind:
            parent = posixpath.dirname(parent)
        if parent and self._kind[parent] != "5":
            raise _ScopeError("not-a-directory", f"lstat {key}: not a directory")
        return None

    def _readlink(self, key: str) -> str:
        return self._target[key]

    def _names(self, key: str) -> Iterable[str]:
        return self._children.get(key, ())

    def _sum(self, key: str) -> str | None:
        return self._sums.get(key)

    def _missing(self, path: str, target: str) -> str:
        return path  # archiveContext.Hash: the path as asked

    # -- constructors --

    @classmethod
    def from_directory(
        cls, root: str | os.PathLike[str], *, dockerfile: str = "Dockerfile", type_bits: bool = False
    ) -> BuildContext:
        """The context ``docker build ROOT`` sends (``.dockerignore`` applied, the build
        files kept), hashed and pruned as Docker 20.10's daemon does.

        ``dockerfile`` is the Dockerfile's path relative to the context; ``type_bits`` makes
        the headers of a docker CLI up to 22.x (file type bits in the mode). Raises
        BuildContextError for an unreadable file or a malformed ``.dockerignore``.
        """
        base = os.fspath(root)
        label = base
        ignore_path = os.path.join(base, ".dockerignore")
        excludes: list[str] = []
        if os.path.lexists(ignore_path):
            with open(ignore_path, "rb") as f:
                excludes = dockerignore.read_all(f.read(), path=ignore_path)
        sent = dockerignore.trim_build_files(excludes, dockerfile)
        entries: list[ContextEntry] = []
        seen_inodes: dict[int, str] = {}
        for item in dockerignore.walk(base, sent):
            entry = _entry_from_stat(base, item, seen_inodes, type_bits)
            if entry is not None:
                entries.append(entry)
        removed: list[str] = []
        if excludes or os.path.lexists(ignore_path):
            removed = dockerignore.removed_by_daemon(excludes, dockerfile)
        return cls(entries, removed=removed, label=label)

    @classmethod
    def from_tar(cls, path: str | os.PathLike[str], *, dockerfile: str = "Dockerfile") -> BuildContext:
        """A context tarball as the daemon receives it (``docker build - < ctx.tar``; plain,
        gzip, bzip2 or xz), headers hashed as they are. InvalidArchiveError for a bad tar."""
        name = os.fspath(path)
        entries: list[ContextEntry] = []
        ignore: bytes | None = None
        try:
            with tarfile.open(name, mode="r:*", tarinfo=_RawNameTarInfo) as tf:
                for info in tf:
                    assert isinstance(info, _RawNameTarInfo)
                    header = _header_from_tarinfo(info)
                    data = tf.extractfile(info) if info.isreg() and header.size > 0 else None
                    if data is not None and gopath.clean(header.name) == ".dockerignore":
                        ignore = data.read()
                        chunks: Iterable[bytes] = (ignore,)
                    else:
                        chunks = _stream(data)
                    entries.append(ContextEntry(header, file_sum(header, chunks)))
        except (tarfile.TarError, EOFError, OSError) as e:
            raise InvalidArchiveError(f"cannot read the build context: {e}", path=name) from None
        context = cls(entries, label=name)
        has_ignore = any(e.key == ".dockerignore" for e in entries)
        if not has_ignore:
            return context
        excludes = dockerignore.read_all(ignore or b"", path=".dockerignore")
        return cls(entries, removed=dockerignore.removed_by_daemon(excludes, dockerfile), label=name)


_FMT_TYPES: Final = {
    stat.S_IFREG: "0",
    stat.S_IFDIR: "5",
    stat.S_IFLNK: "2",
    stat.S_IFCHR: "3",
    stat.S_IFBLK: "4",
    stat.S_IFIFO: "6",
}


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except (KeyError, OverflowError):
        return ""


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except (KeyError, OverflowError):
        return ""


class StageSource(_Source):
    """The files of an image (a build stage) for ``COPY --from``: moby's ``lazySource`` over
    the image's root file system, here a directory holding it (ownership, modes and xattrs as
    in the image).

    Each file is hashed when first asked, as Docker 20.10's daemon hashes it: its own
    ``archive.FileInfoHeader`` (file type bits in the mode, the real uid and gid *and* the user
    and group names the daemon's host gives them -- ``user_name``/``group_name``, by default
    this host's ``pwd``/``grp``; ``""`` when unknown), ``security.capability``, the content;
    no hard-link entries. A path without a file hashes as its resolved relative path.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        label: str | None = None,
        user_name: Callable[[int], str] = _user_name,
        group_name: Callable[[int], str] = _group_name,
    ) -> None:
        self.root = os.fspath(root)
        self.label = label or self.root
        self.user_name = user_name
        self.group_name = group_name
        self._sums: dict[str, str] = {}
        self._not_found = ""  # moby words a missing image file without the context's hint

    def _full(self, key: str) -> str:
        return self.root if key == "." else os.path.join(self.root, key)

    def _stat(self, key: str) -> os.stat_result | None:
        try:
            return os.lstat(self._full(key))
        except FileNotFoundError:
            return None
        except NotADirectoryError:
            raise _ScopeError("not-a-directory", f"lstat {key}: not a directory") from None
        except OSError as e:
            raise _ScopeError("unreadable", f"lstat {key}: {e.strerror}") from None

    def _lstat(self, key: str) -> str | None:
        st = self._stat(key)
        return None if st is None else _FMT_TYPES.get(stat.S_IFMT(st.st_mode), "s")

    def _readlink(self, key: str) -> str:
        return os.fsdecode(os.readlink(os.fsencode(self._full(key))))

    def _names(self, key: str) -> Iterable[str]:
        try:
            return [os.fsdecode(n) for n in os.listdir(os.fsencode(self._full(key)))]
        except OSError:
            return []

    def _missing(self, path: str, target: str) -> str:
        return target  # lazySource.Hash: the resolved relative path

    def _sum(self, key: str) -> str | None:
        cached = self._sums.get(key)
        if cached is not None:
            return cached
        st = self._stat(key)
        if st is None:
            return None
        typeflag = _FMT_TYPES.get(stat.S_IFMT(st.st_mode))
        if typeflag is None:
            raise _ScopeError(
                "unreadable", f"failed to create hash for {key}: archive/tar: sockets not supported"
            )
        full = self._full(key)
        devmajor = devminor = 0
        if typeflag in ("3", "4"):
            devmajor, devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
        header = TarHeader(
            name=key + "/" if typeflag == "5" else key,
            mode=stat.S_IMODE(st.st_mode) | _TYPE_BITS[typeflag],
            uid=st.st_uid,
            gid=st.st_gid,
            size=st.st_size if typeflag == "0" else 0,
            typeflag=typeflag,
            linkname=self._readlink(key) if typeflag == "2" else "",
            uname=self.user_name(st.st_uid),
            gname=self.group_name(st.st_gid),
            devmajor=devmajor,
            devminor=devminor,
            xattrs=_capability(full),
        )
        chunks = _file_chunks(full) if typeflag == "0" and st.st_size > 0 else ()
        try:
            digest = file_sum(header, chunks, names=True)
        except OSError as e:
            raise _ScopeError("unreadable", f"failed to open {key}: {e.strerror}") from None
        self._sums[key] = digest
        return digest


def _stream(data: IO[bytes] | None) -> Iterator[bytes]:
    if data is None:
        return
    while chunk := data.read(_CHUNK):
        yield chunk


def _entry_from_stat(
    base: str, item: dockerignore.WalkEntry, seen: dict[int, str], type_bits: bool
) -> ContextEntry | None:
    st = item.stat
    fmt = stat.S_IFMT(st.st_mode)
    full = os.path.join(base, item.path)
    name = item.path
    linkname = ""
    size = 0
    devmajor = devminor = 0
    if fmt == stat.S_IFREG:
        typeflag, size = "0", st.st_size
    elif fmt == stat.S_IFDIR:
        typeflag, name = "5", name + "/"
    elif fmt == stat.S_IFLNK:
        typeflag, linkname = "2", os.fsdecode(os.readlink(os.fsencode(full)))
    elif fmt in (stat.S_IFCHR, stat.S_IFBLK):
        typeflag = "3" if fmt == stat.S_IFCHR else "4"
        devmajor, devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
    elif fmt == stat.S_IFIFO:
        typeflag = "6"
    else:
        return None  # archive/tar: sockets not supported; the CLI logs and leaves them out
    mode = stat.S_IMODE(st.st_mode)
    if type_bits:
        mode |= _TYPE_BITS[typeflag]
    if fmt != stat.S_IFDIR and st.st_nlink > 1:
        first = seen.get(st.st_ino)
        if first is not None:
            typeflag, linkname, size = "1", first, 0
        else:
            seen[st.st_ino] = name
    header = TarHeader(
        name=name,
        mode=mode,
        size=size,
        typeflag=typeflag,
        linkname=linkname,
        devmajor=devmajor,
        devminor=devminor,
        xattrs=_capability(full),
    )
    chunks = _file_chunks(full) if typeflag == "0" and size > 0 else ()
    return ContextEntry(header, file_sum(header, chunks))


class _RawNameTarInfo(SafeTarInfo):
    """A TarInfo that remembers the header name before ``tarfile`` strips a directory's
    trailing ``/`` (Go's reader keeps it, and tarsum hashes it)."""

    raw_name: str = ""
    _short: str = ""

    @classmethod
    def frombuf(cls, buf: bytes | bytearray, encoding: str, errors: str) -> _RawNameTarInfo:
        obj = super().frombuf(buf, encoding, errors)
        assert isinstance(obj, _RawNameTarInfo)
        raw = tarfile.nts(buf[0:100], encoding, errors)  # type: ignore[attr-defined]
        prefix = tarfile.nts(buf[345:500], encoding, errors)  # type: ignore[attr-defined]
        if prefix and obj.type not in tarfile.GNU_TYPES:
            raw = prefix + "/" + raw
        obj.raw_name = raw
        obj._short = obj.name
        return obj


def _header_from_tarinfo(info: _RawNameTarInfo) -> TarHeader:
    if "path" in info.pax_headers:
        name = info.pax_headers["path"]
    elif info.name == info._short:
        name = info.raw_name
    else:
        name = info.name  # a GNU long name
    typeflag = info.type.decode("latin-1")
    if typeflag == "\x00":  # Go's reader: an old regular file (a directory with a trailing /)
        typeflag = "5" if name.endswith("/") else "0"
    xattrs = tuple(
        (key[len("SCHILY.xattr.") :], gostrings.to_bytes(value))
        for key, value in info.pax_headers.items()
        if key.startswith("SCHILY.xattr.")
    )
    return TarHeader(
        name=name,
        mode=info.mode,
        uid=info.uid,
        gid=info.gid,
        size=info.size,
        typeflag=typeflag,
        linkname=info.linkname,
        devmajor=info.devmajor,
        devminor=info.devminor,
        xattrs=xattrs,
    )
