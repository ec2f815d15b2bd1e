"""dive's file tree model, built from layer tar headers.

Two views of the same layer listings:

* :class:`FileTree` reproduces dive 0.13's ``filetree`` package: one tree per layer, whiteout
  entries kept as ``.wh.NAME`` leaves, opaque whiteouts (``.wh..wh..opq``) never entering a tree
  (dive's ``AddPath`` drops them), ``Stack`` applying plain whiteouts only. :func:`dive_efficiency`
  computes dive's efficiency score and inefficient paths over these trees exactly as
  ``filetree.Efficiency`` does, quirks included (see its docstring).
* :class:`MergedFS` is the OCI image-spec overlay: whiteouts remove a path and everything under
  it, opaque whiteouts hide what lower layers had in a directory. The root filesystem diff and the
  per-layer added/modified/removed figures use it.

Layer listings come from :func:`read_layer`, which streams one layer tar (never holding file
contents in memory) and returns its :class:`FileInfo` records in archive order.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Final

from ocitool._go import path as gopath
from ocitool._io.tarscan import TarReader
from ocitool._record import field, record

__all__ = [
    "FileInfo",
    "FileNode",
    "FileTree",
    "InefficientPath",
    "MergedFS",
    "OPAQUE_WHITEOUT",
    "WHITEOUT_PREFIX",
    "dive_efficiency",
    "go_file_mode",
    "read_layer",
]

WHITEOUT_PREFIX = ".wh."
OPAQUE_WHITEOUT = ".wh..wh..opq"
_DOUBLE_WHITEOUT_PREFIX = ".wh..wh.."

# Go's io/fs.FileMode type bits, as archive/tar's FileInfo().Mode() sets them.
_GO_MODE_DIR = 1 << 31
_GO_MODE_SYMLINK = 1 << 27
_GO_MODE_DEVICE = 1 << 26
_GO_MODE_NAMED_PIPE = 1 << 25
_GO_MODE_SETUID = 1 << 23
_GO_MODE_SETGID = 1 << 22
_GO_MODE_CHAR_DEVICE = 1 << 21
_GO_MODE_STICKY = 1 << 20
_CHUNK = 1 << 20
# Go's tar type flags, as go_file_mode compares them.
_SYMLINK: Final = b"2"
_CHAR: Final = b"3"
_BLOCK: Final = b"4"
_DIR: Final = b"5"
_FIFO: Final = b"6"


@record(frozen=True, slots=True)
class FileInfo:
    """One tar entry as dive records it (``filetree.FileInfo``) plus a content digest.

    ``path`` is the member name cleaned as Go's ``path.Clean`` does (relative, no ``./``);
    ``type_flag`` the tar type byte as an int (``'0'`` is 48); ``mode`` Go's ``os.FileMode``
    (permission bits plus Go's type, setuid/setgid/sticky bits); ``digest`` the ``sha256:`` of a
    regular file's contents when the layer was read with ``hash_contents``, else ``None``.
    """

    path: str
    type_flag: int
    link_name: str
    size: int
    mode: int
    uid: int
    gid: int
    is_dir: bool
    digest: str | None = None

    @property
    def name(self) -> str:
        return posixpath.basename(self.path)

    @property
    def is_whiteout(self) -> bool:
        return self.name.startswith(WHITEOUT_PREFIX)

    @property
    def is_opaque(self) -> bool:
        return self.name == OPAQUE_WHITEOUT

    @property
    def is_regular(self) -> bool:
        return self.type_flag in (ord("0"), 0, ord("7"))

    @property
    def perm(self) -> int:
        """The Unix permission bits including setuid (0o4000), setgid (0o2000), sticky (0o1000)."""
        bits = self.mode & 0o777
        if self.mode & _GO_MODE_SETUID:
            bits |= 0o4000
        if self.mode & _GO_MODE_SETGID:
            bits |= 0o2000
        if self.mode & _GO_MODE_STICKY:
            bits |= 0o1000
        return bits

    def to_json(self) -> dict[str, object]:
        """dive's JSON shape of a file (``fileList`` items)."""
        return {
            "path": self.path,
            "typeFlag": self.type_flag,
            "linkName": self.link_name,
            "size": self.size,
            "fileMode": self.mode,
            "uid": self.uid,
            "gid": self.gid,
            "isDir": self.is_dir,
        }


def go_file_mode(unix_mode: int, type_flag: bytes) -> int:
    """Go's ``tar.Header.FileInfo().Mode()`` for a header's mode and type flag."""
    mode = unix_mode & 0o777
    if unix_mode & 0o4000:
        mode |= _GO_MODE_SETUID
    if unix_mode & 0o2000:
        mode |= _GO_MODE_SETGID
    if unix_mode & 0o1000:
        mode |= _GO_MODE_STICKY
    fmt = unix_mode & 0o170000
    if fmt == 0o040000:
        mode |= _GO_MODE_DIR
    elif fmt == 0o120000:
        mode |= _GO_MODE_SYMLINK
    elif fmt == 0o020000:
        mode |= _GO_MODE_DEVICE | _GO_MODE_CHAR_DEVICE
    elif fmt == 0o060000:
        mode |= _GO_MODE_DEVICE
    elif fmt == 0o010000:
        mode |= _GO_MODE_NAMED_PIPE
    if type_flag == _SYMLINK:
        mode |= _GO_MODE_SYMLINK
    elif type_flag == _CHAR:
        mode |= _GO_MODE_DEVICE | _GO_MODE_CHAR_DEVICE
    elif type_flag == _BLOCK:
        mode |= _GO_MODE_DEVICE
    elif type_flag == _DIR:
        mode |= _GO_MODE_DIR
    elif type_flag == _FIFO:
        mode |= _GO_MODE_NAMED_PIPE
    return mode


def read_layer(stream: IO[bytes], *, label: str = "", hash_contents: bool = False) -> list[FileInfo]:
    """The entries of one layer tar, in archive order, streamed (headers; contents only hashed).

    The tar is read as Go's ``archive/tar`` reads it (:class:`~ocitool._io.tarscan.TarReader`,
    as dive does): PAX global headers are not entries, an old ``\0`` type is ``0``. Entries
    named ``.`` are skipped, as dive skips them. With ``hash_contents`` each regular file's
    contents are hashed (SHA-256) in 1 MiB chunks. Raises InvalidArchiveError naming ``label``
    (and the member) when the tar is corrupt or truncated. Does not close ``stream``.
    """
    out: list[FileInfo] = []
    reader = TarReader(stream, label=label)
    for info in reader:
        flag = info.type
        if flag == b"g":
            continue
        name = gopath.clean(info.name)
        if name == ".":
            continue
        mode = go_file_mode(info.mode, flag)
        digest: str | None = None
        if hash_contents and info.isreg():
            h = hashlib.sha256()
            data = reader.data()
            while chunk := data.read(_CHUNK):
                h.update(chunk)
            digest = "sha256:" + h.hexdigest()
        out.append(
            FileInfo(
                path=name,
                type_flag=flag[0],
                link_name=info.linkname,
                size=info.size,
                mode=mode,
                uid=info.uid,
                gid=info.gid,
                is_dir=bool(mode & _GO_MODE_DIR),
                digest=digest,
            )
        )
    return out


# -- dive's tree ------------------------------------------------------------------------------


class FileNode:
    """A node of a :class:`FileTree`; ``info`` is None for a directory only implied by a path."""

    __slots__ = ("children", "info", "name", "parent")

    def __init__(self, name: str, parent: FileNode | None, info: FileInfo | None) -> None:
        self.name = name
        self.parent = parent
        self.info = info
        self.children: dict[str, FileNode] = {}

    @property
    def size(self) -> int:
        return self.info.size if self.info is not None else 0

    @property
    def is_dir(self) -> bool:
        return self.info is not None and self.info.is_dir

    @property
    def is_whiteout(self) -> bool:
        return self.name.startswith(WHITEOUT_PREFIX)

    @property
    def is_leaf(self) -> bool:
        return not self.children

    def path(self) -> str:
        """dive's ``FileNode.Path``: absolute; a whiteout leaf names the path it removes."""
        names: list[str] = []
        node: FileNode | None = self
        while node is not None and node.parent is not None:
            name = node.name
            if node is self and name.startswith(WHITEOUT_PREFIX):
                name = name[len(WHITEOUT_PREFIX) :]
            names.append(name)
            node = node.parent
        return ("/" + "/".join(reversed(names))).replace("//", "/")

    def walk_child_first(self) -> Iterator[FileNode]:
        """dive's ``VisitDepthChildFirst``: children in sorted name order, then the node."""
        stack: list[tuple[FileNode, bool]] = [(self, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded or not node.children:
                yield node
                continue
            stack.append((node, True))
            for key in sorted(node.children, reverse=True):
                stack.append((node.children[key], False))

    def subtree_size(self) -> int:
        return sum(n.size for n in self.walk_child_first())

    def copy(self, parent: FileNode | None) -> FileNode:
        new = FileNode(self.name, parent, self.info)
        for key, child in self.children.items():
            new.children[key] = child.copy(new)
        return new


@record
class FileTree:
    """dive's per-layer ``FileTree``: ``file_size`` is the sum of the layer's header sizes."""

    root: FileNode = field(default_factory=lambda: FileNode("", None, None))
    file_size: int = 0

    @classmethod
    def from_entries(cls, entries: Sequence[FileInfo]) -> FileTree:
        tree = cls()
        for info in entries:
            tree.file_size += info.size
            tree.add_path(info.path, info)
        return tree

    def add_path(self, path: str, info: FileInfo | None) -> FileNode | None:
        """dive's ``AddPath``: intermediate nodes get no payload; a new ``.wh..wh..`` name ends it."""
        node = self.root
        names = [n for n in gopath.clean(path).strip("/").split("/") if n]
        for idx, name in enumerate(names):
            child = node.children.get(name)
            if child is None:
                if name.startswith(_DOUBLE_WHITEOUT_PREFIX):
                    return None
                child = FileNode(name, node, None)
                node.children[name] = child
            node = child
            if idx == len(names) - 1:
                node.info = info
        return node

    def get_node(self, path: str) -> FileNode | None:
        node = self.root
        for name in path.strip("/").split("/"):
            if not name:
                continue
            child = node.children.get(name)
            if child is None:
                return None
            node = child
        return node

    def remove_path(self, path: str) -> None:
        node = self.get_node(path)
        if node is not None and node.parent is not None:
            del node.parent.children[node.name]

    def copy(self) -> FileTree:
        return FileTree(self.root.copy(None), self.file_size)

    def stack(self, upper: FileTree) -> None:
        """dive's ``Stack``: whiteouts remove their path; other nodes are added (payload replaced)."""
        for node in upper.root.walk_child_first():
            if node is upper.root:
                continue
            if node.is_whiteout:
                self.remove_path(node.path())
            else:
                self.add_path(node.path(), node.info)

    def leaves(self) -> Iterator[FileNode]:
        for node in self.root.walk_child_first():
            if node is not self.root and node.is_leaf:
                yield node


@record(frozen=True, slots=True)
class InefficientPath:
    """dive's ``EfficiencyData``: a path seen in several layers (or removed after being added)."""

    path: str
    count: int
    cumulative_size: int


def dive_efficiency(trees: Sequence[FileTree]) -> tuple[float, list[InefficientPath]]:
    """dive 0.13's ``filetree.Efficiency``: (score, inefficient paths, largest waste first).

    For each layer, each leaf of the layer's tree is charged its size at its path; a whiteout
    leaf is charged the total size of the directory it removes in the layers below (a removed
    file costs 0, as in dive). The score is the sum of each path's smallest charge over the sum
    of all charges (1.0 when nothing is charged). Reproduced quirks: a whiteout for a path absent
    below ends the walk of that layer (dive's visitor returns an error); the tree "below" layer
    ``i`` is layer 0 stacked on a copy of itself, then layers 1..i-1 (``StackTreeRange(0, i-1)``);
    opaque whiteouts are ignored. Paths are ordered as dive sorts them (ascending by size, in
    discovery order within a size; exact for dive's insertion sort, up to 12 paths) and then
    reversed, as dive's exporter lists them.
    """
    charges: dict[str, list[int]] = {}
    matches: list[str] = []
    lower: FileTree | None = None
    for tree in trees:
        if lower is None:
            lower = trees[0].copy()
        for node in tree.leaves():
            path = node.path()
            # dive creates the path's record before it sizes a whiteout: a failed lookup leaves
            # a record with minDiscoveredSize -1 and no size, which the score then counts.
            seen = charges.setdefault(path, [])
            if node.is_whiteout:
                previous = lower.get_node(path)
                if previous is None:
                    break  # dive: GetNode fails, the visitor errors, this layer's walk stops
                size = previous.subtree_size() if previous.is_dir else 0
            else:
                size = node.size
            seen.append(size)
            if len(seen) == 2:
                matches.append(path)
        lower.stack(tree)
    minimum = sum(min(v) if v else -1 for v in charges.values())
    discovered = sum(sum(v) for v in charges.values())
    score = 1.0 if discovered == 0 else minimum / discovered
    found = [InefficientPath(p, len(charges[p]), sum(charges[p])) for p in matches]
    found.sort(key=lambda e: e.cumulative_size)  # stable, as Go's insertion sort for <= 12 items
    found.reverse()
    return score, found


# -- the OCI overlay ---------------------------------------------------------------------------


class MergedFS:
    """A root filesystem as the OCI image spec applies layers (whiteouts and opaque whiteouts).

    ``files`` maps an absolute path to its FileInfo; directories are kept as entries too.
    """

    def __init__(self) -> None:
        self.files: dict[str, FileInfo] = {}
        self._children: dict[str, set[str]] = {"/": set()}

    def _link(self, path: str) -> None:
        parent = posixpath.dirname(path)
        while True:
            kids = self._children.setdefault(parent, set())
            if path in kids:
                return
            kids.add(path)
            if parent == "/":
                return
            path, parent = parent, posixpath.dirname(parent)

    def _descendants(self, path: str) -> Iterator[str]:
        stack = list(self._children.get(path, ()))
        while stack:
            p = stack.pop()
            yield p
            stack.extend(self._children.get(p, ()))

    def remove(self, path: str, *, contents_only: bool = False) -> list[FileInfo]:
        """Remove ``path`` (or only what is under it); returns the removed files."""
        gone: list[FileInfo] = []
        victims = list(self._descendants(path))
        if not contents_only:
            victims.append(path)
        for p in victims:
            info = self.files.pop(p, None)
            if info is not None:
                gone.append(info)
            self._children.pop(p, None)
        if contents_only:
            self._children[path] = set()
        else:
            self._children.get(posixpath.dirname(path), set()).discard(path)
        return gone

    def apply(
        self, entries: Sequence[FileInfo], on_change: Callable[[str, FileInfo | None, FileInfo | None], None]
    ) -> None:
        """Apply one layer: removals first (they concern lower layers), then the entries.

        ``on_change(path, old, new)`` is called for every file added (old None), changed, or
        removed (new None) by the layer.
        """
        for info in entries:
            if not info.is_whiteout:
                continue
            parent = "/" + posixpath.dirname(info.path).strip("/")
            parent = gopath.clean(parent)
            if info.is_opaque:
                removed = self.remove(parent, contents_only=True)
            else:
                removed = self.remove(posixpath.join(parent, info.name[len(WHITEOUT_PREFIX) :]))
            for gone in removed:
                on_change("/" + gone.path.lstrip("/"), gone, None)
        for info in entries:
            if info.is_whiteout:
                continue
            path = gopath.clean("/" + info.path)
            old = self.files.get(path)
            if old is not None and old.is_dir and not info.is_dir:
                # a file replacing a directory replaces what was under it too
                for gone in self.remove(path, contents_only=True):
                    on_change("/" + gone.path.lstrip("/"), gone, None)
            self.files[path] = info
            self._link(path)
            on_change(path, old, info)
