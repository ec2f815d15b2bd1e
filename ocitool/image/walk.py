"""The one walk over a tree of descriptors: an index or manifest, and the indexes and manifests
below it, depth first, in document order (as umoci's ``casext.Walk``).

:func:`walk` calls ``visit`` with a :class:`Step` for every descriptor it meets: the root, then
each child of each index. A step carries the :class:`DescriptorPath` from the root and what the
walker made of the descriptor (:class:`Kind`): an opened manifest or index, a plain blob, an
absent blob, a loop, or a descriptor below the depth limit. Raising :class:`SkipDescriptor`
from ``visit`` keeps the walk out of the descriptor's children (umoci's ``ErrSkipDescriptor``);
``leave`` is called after a node's children, for rewrites that build a parent from its children.

The guards live here only: a descriptor already on its own path is a loop and is not opened
again; indexes are opened at most :data:`MAX_DEPTH` levels below the root. Nothing is read
but the documents of the nodes opened; layers and configs are never touched. Walking the same
node twice through two parents is allowed (a DAG); callers that want each node once skip it.

The walker needs little of a node (:class:`Node`, :class:`IndexNode`), so it does not depend on
:mod:`ocitool.image.source`, whose images and indexes are the nodes it walks.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final, Protocol, cast

from ocitool.errors import OcitoolError
from ocitool.model import mediatypes as mt
from ocitool.model.descriptor import Descriptor
from ocitool.model.digest import Digest

__all__ = ["MAX_DEPTH", "DescriptorPath", "Kind", "SkipDescriptor", "Step", "openable", "walk"]

MAX_DEPTH: Final = 8
"""How many levels of nesting below its root a walk opens: a child deeper than this is a
:attr:`Kind.TOO_DEEP` step. The one limit for every walk."""


class SkipDescriptor(Exception):
    """Raised by a ``visit`` callback: do not walk below the current descriptor."""


if TYPE_CHECKING:  # what the walker needs of a node; image.source's images and indexes have it

    class Node(Protocol):
        """A manifest or an index (``descriptor.media_type`` tells which)."""

        @property
        def descriptor(self) -> Descriptor: ...

    class _Presence(Protocol):
        def has(self, digest: Digest) -> bool: ...

    class _Manifests(Protocol):
        @property
        def manifests(self) -> Sequence[Descriptor]: ...

    class IndexNode(Node, Protocol):
        """An index: its parsed document, its blobs, and how to open a child."""

        @property
        def index(self) -> _Manifests: ...

        @property
        def blobs(self) -> _Presence: ...

        def child(self, desc: Descriptor) -> Node: ...


class DescriptorPath:
    """The descriptors walked from the root (first) to the current one (last), inclusive."""

    __slots__ = ("walk",)

    def __init__(self, walk: tuple[Descriptor, ...]) -> None:
        self.walk = walk

    def __repr__(self) -> str:
        return f"DescriptorPath({[str(d.digest) for d in self.walk]})"

    @property
    def descriptor(self) -> Descriptor:
        """The descriptor this path leads to."""
        return self.walk[-1]

    @property
    def depth(self) -> int:
        """0 for the root, 1 for its children, and so on."""
        return len(self.walk) - 1

    def extended(self, desc: Descriptor) -> DescriptorPath:
        return DescriptorPath((*self.walk, desc))

    def leads_through(self, digest: Digest) -> bool:
        """Whether a descriptor before the last one names ``digest`` (a loop, if it is the last's)."""
        return any(d.digest == digest for d in self.walk[:-1])


class Kind(enum.Enum):
    """What the walker made of a descriptor."""

    NODE = "node"
    """A manifest or an index, opened: :attr:`Step.node`. Indexes are walked into."""
    BLOB = "blob"
    """A descriptor naming neither a manifest nor an index (an artifact's blob in an index)."""
    ABSENT = "absent"
    """A manifest or index whose blob is not in the source (a partial export)."""
    LOOP = "loop"
    """A manifest or index already on the path: not opened again."""
    TOO_DEEP = "too-deep"
    """A manifest or index more than :data:`MAX_DEPTH` levels below the root: not opened."""
    FAILED = "failed"
    """A manifest or index that could not be opened (``report_errors`` only): :attr:`Step.error`."""


class Step:
    """One descriptor met by :func:`walk`: its path, what the walker made of it (``kind``), the
    opened ``node`` (NODE steps), the index that lists it (``parent``; None for the root) and,
    for FAILED steps, the ``error``."""

    __slots__ = ("error", "kind", "node", "parent", "path")

    def __init__(
        self,
        path: DescriptorPath,
        kind: Kind,
        node: Node | None = None,
        parent: IndexNode | None = None,
        error: OcitoolError | None = None,
    ) -> None:
        self.path = path
        self.kind = kind
        self.node = node
        self.parent = parent
        self.error = error

    def __repr__(self) -> str:
        return f"Step({self.kind.name}, {self.descriptor.digest}, depth={self.depth})"

    @property
    def descriptor(self) -> Descriptor:
        """The descriptor as its parent lists it (the root's own for the root)."""
        return self.path.descriptor

    @property
    def depth(self) -> int:
        return self.path.depth


Visit = Callable[[Step], None]


def openable(desc: Descriptor) -> bool:
    """A manifest or an index, or a descriptor without a media type (told from its content)."""
    return not desc.media_type or mt.is_index(desc.media_type) or mt.is_manifest(desc.media_type)


def _child_step(path: DescriptorPath, parent: IndexNode, desc: Descriptor, report_errors: bool) -> Step:
    path = path.extended(desc)
    if not openable(desc):
        return Step(path, Kind.BLOB, parent=parent)
    if desc.data is None and not parent.blobs.has(desc.digest):
        return Step(path, Kind.ABSENT, parent=parent)
    if path.depth > MAX_DEPTH:
        return Step(path, Kind.TOO_DEEP, parent=parent)
    if path.leads_through(desc.digest):
        return Step(path, Kind.LOOP, parent=parent)
    try:
        node = parent.child(desc)
    except OcitoolError as exc:
        if not report_errors:
            raise
        return Step(path, Kind.FAILED, parent=parent, error=exc)
    return Step(path, Kind.NODE, node=node, parent=parent)


def walk(root: Node, visit: Visit, *, leave: Visit | None = None, report_errors: bool = False) -> None:
    """Walk ``root`` and everything below it (see the module docstring).

    ``visit`` sees every step before the walk goes below it and may raise SkipDescriptor;
    ``leave`` sees every :attr:`Kind.NODE` step that was not skipped, after its children.
    A child that cannot be opened raises its OcitoolError (BlobNotFoundError,
    DigestMismatchError, ...), or with ``report_errors`` is a :attr:`Kind.FAILED` step. An index
    whose own document does not parse raises from the walk: ``visit`` can read
    ``step.node.index`` first and skip it.
    """
    _walk(Step(DescriptorPath((root.descriptor,)), Kind.NODE, node=root), visit, leave, report_errors)


def _walk(step: Step, visit: Visit, leave: Visit | None, report_errors: bool) -> None:
    try:
        visit(step)
    except SkipDescriptor:
        return
    node = step.node
    if node is None:
        return
    if mt.is_index(node.descriptor.media_type):
        index = cast("IndexNode", node)
        for desc in index.index.manifests:
            _walk(_child_step(step.path, index, desc, report_errors), visit, leave, report_errors)
    if leave is not None:
        leave(step)
