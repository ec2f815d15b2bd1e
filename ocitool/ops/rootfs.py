"""Merging image layers into one root filesystem, as Docker and umoci apply them.

The merge happens in two streaming passes over the layers and never holds file contents in
memory:

1. **Headers.** Each layer's tar is read in order (decompressed as it streams) and only its
   headers are kept, in a tree of the merged filesystem. Whiteouts (``.wh.NAME``) delete a path
   and everything below it; an opaque whiteout (``.wh..wh..opq``) deletes what lower layers put
   in its directory, keeping what the same layer adds (moby's ``UnpackLayer``). A non-directory
   replaces whatever was at its path; a directory over a directory keeps the children. Parent
   components that are symlinks planted by an earlier layer are followed *inside* the root
   filesystem, as Docker (in its chroot) and umoci (securejoin) do, so every path in the tree is
   a real path made of real directories. Hardlinks share an inode with their target.
2. **Contents.** The directories are written first (parents before children), then each layer is
   streamed again and every surviving member is copied to the output at its place, then the
   extra names of each hardlinked inode.

Safety: names climbing out with ``..`` and symlinks whose relative target climbs above the root
raise :class:`~ocitool.errors.InvalidArchiveError` (as moby's breakout check); absolute names are
taken relative to the root, as Docker does; hardlinks must name an existing non-directory inside
the tree; PAX/GNU long headers are bounded (``MAX_LONG_HEADER``) and members per layer counted
(``max_members``). Memory grows with the number of paths in the image (headers), never with
file sizes.
"""

from __future__ import annotations

import io
import posixpath
import tarfile
from collections.abc import Iterator, Sequence
from typing import IO, Any, Final

from ocitool._io.tarscan import DEFAULT_MAX_MEMBERS, TarMember, TarReader
from ocitool._record import field, record
from ocitool.errors import InvalidArchiveError, OcitoolError
from ocitool.image.source import Layer
from ocitool.ops.progress import ProgressCallback, Tracker, layer_tracker

__all__ = [
    "MAX_SYMLINK_HOPS",
    "OPAQUE",
    "WHITEOUT_PREFIX",
    "MergedEntry",
    "iter_merged",
    "merged_tar",
]

WHITEOUT_PREFIX: Final = ".wh."
OPAQUE: Final = ".wh..wh..opq"
MAX_SYMLINK_HOPS: Final = 40  # Linux's MAXSYMLINKS
_COPY_BUFFER: Final = 1 << 20
_DEVICES: Final = (b"3", b"4", b"6")  # character and block devices, FIFOs

InodeKey = tuple[int, int]  # (layer index, member ordinal) of the member that made the object


@record(eq=False)
class _Node:
    info: TarMember | None = None  # a directory's header (None: implied, never written)
    inode: InodeKey | None = None  # non-directories: the object this name is a link to
    layer: int = -1  # the last layer that wrote this name (for opaque whiteouts)
    children: dict[str, _Node] | None = None  # directories only
    opaque: bool = False  # keep_whiteouts: emit an opaque marker
    whiteouts: set[str] = field(default_factory=set)  # keep_whiteouts: names deleted here

    @property
    def is_dir(self) -> bool:
        return self.children is not None


@record(frozen=True, slots=True)
class MergedEntry:
    """One member of the merged filesystem, in output order.

    ``info`` is a fresh header (name relative to the root, no leading ``./``); ``content`` is the
    open stream of a regular file's bytes (read it before advancing the iterator) or None.
    ``whiteout`` marks ``.wh.`` entries kept by ``keep_whiteouts``.
    """

    info: tarfile.TarInfo
    content: IO[bytes] | None = None
    whiteout: bool = False


def _where(layer: Layer) -> str:
    return layer.blobs.where(layer.digest)


def _root_relative(name: str, *, where: str, member: str | None = None) -> str:
    """A member name relative to the root, or InvalidArchiveError when it climbs out."""
    norm = posixpath.normpath("/" + name).lstrip("/") if name else ""
    raw_parts = [p for p in name.split("/") if p not in ("", ".")]
    depth = 0
    for part in raw_parts:
        depth = depth - 1 if part == ".." else depth + 1
        if depth < 0:
            raise InvalidArchiveError(
                f"path {name!r} climbs out of the root filesystem", path=where, member=member or name
            )
    return "" if norm == "." else norm


def _copy_info(src: TarMember, name: str) -> tarfile.TarInfo:
    """A fresh output header named ``name`` from a layer member's fields."""
    info = tarfile.TarInfo(name)
    info.mode = src.mode
    info.uid = src.uid
    info.gid = src.gid
    info.uname = src.uname
    info.gname = src.gname
    info.mtime = src.mtime
    info.type = src.type
    info.linkname = src.linkname
    info.size = src.size if src.isreg() else 0
    info.devmajor = src.devmajor
    info.devminor = src.devminor
    # Only extended attributes survive: other PAX keys (path, size, mtime) describe the old
    # member and would override the fields set above when the header is written again.
    info.pax_headers = {
        k: v for k, v in src.pax.items() if k.startswith(("SCHILY.xattr.", "LIBARCHIVE.xattr."))
    }
    return info


class _Tree:
    """The merged filesystem's headers (pass 1)."""

    def __init__(self, *, keep_whiteouts: bool) -> None:
        self.root = _Node(children={})
        self.inodes: dict[InodeKey, TarMember] = {}
        self.keep = keep_whiteouts

    # -- path resolution, symlinks followed inside the root ---------------------------------

    def _lookup_dir(
        self, parts: list[str], *, create: bool, where: str, member: str, hops: int = 0
    ) -> _Node | None:
        """The directory node at ``parts`` (symlinks followed inside the root), creating implied
        directories when ``create``; None when absent and not creating."""
        stack: list[tuple[str, _Node]] = []  # (name, node) from the root, for ".."
        node = self.root
        todo = list(parts)
        while todo:
            part = todo.pop(0)
            if part in ("", "."):
                continue
            if part == "..":
                if stack:
                    stack.pop()
                node = stack[-1][1] if stack else self.root
                continue
            assert node.children is not None
            child = node.children.get(part)
            if child is None:
                if not create:
                    return None
                child = _Node(children={})
                node.children[part] = child
            if not child.is_dir:
                target = self.inodes.get(child.inode) if child.inode is not None else None
                if target is not None and target.issym():
                    hops += 1
                    if hops > MAX_SYMLINK_HOPS:
                        raise InvalidArchiveError(
                            "too many levels of symbolic links", path=where, member=member
                        )
                    link = target.linkname
                    if link.startswith("/"):
                        stack, node = [], self.root
                    todo = [p for p in link.split("/") if p] + todo
                    continue
                if not create:
                    return None
                raise InvalidArchiveError(
                    "a parent of this member is not a directory", path=where, member=member
                )
            stack.append((part, child))
            node = child
        return node

    def _parent(self, path: str, *, create: bool, where: str, member: str) -> tuple[_Node | None, str]:
        head, base = posixpath.split(path)
        parent = self._lookup_dir(head.split("/") if head else [], create=create, where=where, member=member)
        return parent, base

    # -- applying one member ----------------------------------------------------------------

    def _remove_lower(self, node: _Node, layer: int) -> None:
        """Opaque whiteout: drop what earlier layers put below ``node``."""
        assert node.children is not None
        for name, child in list(node.children.items()):
            if child.layer != layer:
                del node.children[name]
            elif child.is_dir:
                self._remove_lower(child, layer)

    def apply(self, info: TarMember, layer: int, ordinal: int, *, where: str) -> None:
        path = _root_relative(info.name, where=where)
        if not path:
            if info.isdir():
                self.root.info = info
            return
        base = posixpath.basename(path)
        if base == OPAQUE:
            parent, _ = self._parent(path, create=self.keep, where=where, member=info.name)
            if parent is not None:
                self._remove_lower(parent, layer)
                parent.opaque = parent.opaque or self.keep
            return
        if base.startswith(WHITEOUT_PREFIX):
            parent, _ = self._parent(path, create=self.keep, where=where, member=info.name)
            name = base[len(WHITEOUT_PREFIX) :]
            if parent is not None and name not in ("", ".", ".."):
                assert parent.children is not None
                parent.children.pop(name, None)
                if self.keep:
                    parent.whiteouts.add(name)
            return
        parent, base = self._parent(path, create=True, where=where, member=info.name)
        assert parent is not None and parent.children is not None
        existing = parent.children.get(base)
        recreated = base in parent.whiteouts
        parent.whiteouts.discard(base)
        if info.isdir():
            if existing is not None and existing.is_dir:
                existing.info = info
                existing.layer = layer
                return
            parent.children[base] = _Node(info=info, layer=layer, children={}, opaque=recreated and self.keep)
            return
        if info.islnk():
            inode = self._link_target(info, where=where)
        elif info.issym():
            self._check_symlink(path, info, where=where)
            inode = (layer, ordinal)
        elif info.isreg() or info.type in _DEVICES:
            inode = (layer, ordinal)
        else:
            raise InvalidArchiveError(
                f"unsupported tar member type {info.type!r}", path=where, member=info.name
            )
        if inode == (layer, ordinal):
            self.inodes[inode] = info
        parent.children[base] = _Node(inode=inode, layer=layer)

    def _check_symlink(self, path: str, info: TarMember, *, where: str) -> None:
        # moby refuses a relative target that climbs above the root (a "breakout").
        if info.linkname.startswith("/"):
            return
        joined = posixpath.join(posixpath.dirname(path), info.linkname)
        depth = 0
        for part in joined.split("/"):
            if part in ("", "."):
                continue
            depth = depth - 1 if part == ".." else depth + 1
            if depth < 0:
                raise InvalidArchiveError(
                    f"symlink target {info.linkname!r} points outside the root filesystem",
                    path=where,
                    member=info.name,
                )

    def _link_target(self, info: TarMember, *, where: str) -> InodeKey:
        target = _root_relative(info.linkname, where=where, member=info.name)
        parent, base = (
            self._parent(target, create=False, where=where, member=info.name) if target else (None, "")
        )
        node = parent.children.get(base) if parent is not None and parent.children is not None else None
        if node is None or node.is_dir or node.inode is None:
            raise InvalidArchiveError(
                f"hardlink target {info.linkname!r} is not a file in the image", path=where, member=info.name
            )
        return node.inode

    # -- output -----------------------------------------------------------------------------

    def walk(self) -> Iterator[tuple[str, _Node]]:
        """Every node, parents before children, names sorted."""
        stack: list[tuple[str, _Node]] = [("", self.root)]
        while stack:
            path, node = stack.pop()
            yield path, node
            if node.children:
                for name in sorted(node.children, reverse=True):
                    stack.append((f"{path}/{name}" if path else name, node.children[name]))


class _Guarded(io.RawIOBase):
    """A decompressed layer stream whose decoder errors (zlib, ISA-L, zstd, lzma: each library
    has its own exception type) become InvalidArchiveError naming the layer, wherever the
    read happens (header scan, or a consumer copying a member's content)."""

    def __init__(self, inner: IO[bytes], where: str, tracker: Tracker | None = None) -> None:
        super().__init__()
        self._inner = inner
        self._where = where
        self._tracker = tracker

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        try:
            data = self._inner.read(n)
        except OcitoolError:
            raise
        except Exception as exc:
            raise InvalidArchiveError(f"layer cannot be decompressed: {exc}", path=self._where) from None
        if self._tracker is not None:
            self._tracker.add(len(data))
        return data

    def readinto(self, buf: Any) -> int:
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            if self._tracker is not None and not self.closed:
                self._tracker.finish()
            super().close()


def _stream_layer(
    layer: Layer, *, max_members: int, verify: bool, progress: ProgressCallback | None = None, phase: str = ""
) -> Iterator[tuple[int, TarMember, TarReader]]:
    """(ordinal, member, reader) for each member of ``layer``, streaming; the current member's
    bytes are ``reader.data()``; the bytes read are reported to ``progress`` as ``phase``. With
    ``verify`` the layer's digest and diff ID are checked once the caller stops (the rest of the
    layer is read for that). Raises OcitoolError."""
    where = _where(layer)
    tracker = layer_tracker(layer, progress, phase)
    with layer.reading(verify=verify) as stream:
        guarded = _Guarded(stream, where, tracker)  # type: ignore[arg-type]
        reader = TarReader(guarded, label=where, max_members=max_members)
        completed = False
        try:
            for ordinal, member in enumerate(reader):
                if member.type == b"g":
                    continue  # a PAX global header describes the archive, not a file (moby skips it)
                if member.sparse is not None:
                    raise InvalidArchiveError(
                        "sparse files are not supported", path=where, member=member.name
                    )
                yield ordinal, member, reader
            completed = True
        finally:
            # What the caller left (the end blocks; or the rest of a layer it stopped reading,
            # which verification reads anyway) is read here, so the layer's progress is whole.
            if tracker is not None and (completed or verify):
                while guarded.read(1 << 16):
                    pass
            if tracker is not None:
                tracker.finish()


def iter_merged(
    layers: Sequence[Layer],
    *,
    keep_whiteouts: bool = False,
    max_members: int = DEFAULT_MAX_MEMBERS,
    progress: ProgressCallback | None = None,
    verify: bool = True,
) -> Iterator[MergedEntry]:
    """The merged filesystem of ``layers`` (applied in order) as entries in tar order.

    Directories come first (parents before children, sorted), each followed, with
    ``keep_whiteouts``, by its opaque marker and ``.wh.`` entries; then every other surviving
    member in layer order, regular files with an open ``content`` stream; then the other names of
    hardlinked inodes as hardlinks to the first. Reads every layer twice, streaming, holding only
    headers; ``progress`` gets each layer's bytes (phases ``Reading``, then ``Extracting``).

    With ``verify`` (the default) every layer's bytes are checked against its digest and diff ID
    on both passes: the first pass reads and verifies every layer whole before the first entry
    is yielded, so a consumer writing to a stream (stdout, a FIFO) never writes a byte of an
    image with a tampered layer; the second pass checks again what is copied (a layer changed
    between the passes fails at the end of that layer). Raises DigestMismatchError /
    SizeMismatchError (naming the digest and image), InvalidArchiveError (naming the layer and
    member), BlobNotFoundError.
    """
    tree = _Tree(keep_whiteouts=keep_whiteouts)
    for index, layer in enumerate(layers):
        where = _where(layer)
        for ordinal, info, _reader in _stream_layer(
            layer, max_members=max_members, verify=verify, progress=progress, phase="Reading"
        ):
            tree.apply(info, index, ordinal, where=where)

    # Which names each surviving inode has; the first in walk order holds the content.
    names: dict[InodeKey, list[str]] = {}
    for path, node in tree.walk():
        if node.is_dir:
            # An implied directory (no header in any layer) gets none here either: extractors
            # create missing parents, and a made-up header would change a parent's metadata.
            if node.info is not None:
                yield MergedEntry(_copy_info(node.info, path or "."))
            prefix = f"{path}/" if path else ""
            if node.opaque:
                yield MergedEntry(_marker(prefix + OPAQUE), whiteout=True)
            for name in sorted(node.whiteouts):
                yield MergedEntry(_marker(prefix + WHITEOUT_PREFIX + name), whiteout=True)
        elif node.inode is not None:
            names.setdefault(node.inode, []).append(path)

    wanted: dict[int, dict[int, str]] = {}
    for (layer_index, ordinal), paths in names.items():
        wanted.setdefault(layer_index, {})[ordinal] = paths[0]
    for index, layer in enumerate(layers):
        todo = wanted.get(index)
        if not todo:
            continue
        remaining = len(todo)
        for ordinal, info, reader in _stream_layer(
            layer, max_members=max_members, verify=verify, progress=progress, phase="Extracting"
        ):
            survivor = todo.get(ordinal)
            if survivor is None:
                continue
            out = _copy_info(info, survivor)
            if info.isreg():
                yield MergedEntry(out, reader.data())
            else:
                yield MergedEntry(out)
            remaining -= 1
            if not remaining:
                break  # the rest of this layer was overwritten or deleted above it (still verified)
    for key, paths in names.items():
        for extra in paths[1:]:
            link = _copy_info(tree.inodes[key], extra)  # the inode's mode, owner, mtime (as Docker)
            link.type = tarfile.LNKTYPE
            link.linkname = paths[0]
            link.size = 0
            yield MergedEntry(link)


def _marker(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.REGTYPE
    info.mode = 0o644
    return info


def merged_tar(
    layers: Sequence[Layer],
    out: IO[bytes],
    *,
    keep_whiteouts: bool = False,
    max_members: int = DEFAULT_MAX_MEMBERS,
    progress: ProgressCallback | None = None,
    verify: bool = True,
) -> None:
    """Write ONE tar (PAX format) of the merged filesystem of ``layers`` to ``out``.

    Layers are applied in order with whiteouts applied. With ``keep_whiteouts`` (for squashing
    the layers above a parent into one diff layer) a path deleted and not re-created stays as a
    ``.wh.NAME`` entry and an opaque directory keeps its ``.wh..wh..opq`` marker; a path deleted
    and re-created as a directory is marked opaque, so the result is a valid diff layer on top of
    the parent. Streaming: layers are read twice (headers, then contents copied straight from
    the layer stream); nothing is spooled and no file is held in memory. ``out`` is written
    sequentially (a pipe will do); on error it holds a partial tar, so callers writing files
    should write to a temporary file and rename (as :func:`ocitool.ops.unpack.export` does). Raises
    InvalidArchiveError, BlobNotFoundError, and (with ``verify``, the default) the mismatch errors
    of :func:`iter_merged`, before anything is written when a layer is tampered with.
    """
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT, bufsize=_COPY_BUFFER) as tar:
        for entry in iter_merged(
            layers, keep_whiteouts=keep_whiteouts, max_members=max_members, progress=progress, verify=verify
        ):
            try:
                tar.addfile(entry.info, entry.content)
            except (tarfile.ReadError, EOFError) as exc:
                raise InvalidArchiveError(
                    f"layer member is truncated: {exc}", member=entry.info.name
                ) from None
