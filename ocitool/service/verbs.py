"""crane's verbs by name: an image named by a SOURCE string in, the result written to a DEST
string (:mod:`ocitool.ops.builder.verbs` does the work on opened images).

SOURCE and DEST are any transport convert reads and writes (``docker-archive:``, ``oci:``,
``oci-archive:``, ``docker://``, a path for SOURCE) or ``store:NAME`` for an image of the store
at ``root`` (a destination name needs a tag, which defaults to ``latest``). An index gives the
image of ``platform`` (else the host's, with Docker's fallback); ``all_platforms`` applies the
verb to every platform image and rebuilds the index (a SOURCE naming several indexes is refused
with ImageRequiredError).

Each function returns what it wrote, one :class:`WrittenImage` per image (one for a store
destination: the image loaded, with the name it got). Sources are open only for the call; the
store is opened for writing only when DEST is the store, and then for the whole call, so the
source read from it and the image written to it are one consistent view. Raises the errors of
the transports, the lookup (ImageNotFoundError, ImageRequiredError, PlatformNotFoundError), the
verbs (BaseMismatchError) and InvalidReferenceError for a store destination without a name or
with a digest; nothing is written when anything raises.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence

from ocitool._record import record
from ocitool.errors import ImageRequiredError, InvalidReferenceError, PlatformNotFoundError
from ocitool.formats.detect import REGISTRY_TRANSPORT, open_source, parse_source
from ocitool.formats.registry.options import RegistryOptions
from ocitool.formats.registry.read import open_registry_source
from ocitool.image.lookup import find_entries, is_platform_image, select_one
from ocitool.image.source import ImageIndex, Source, SourceImage
from ocitool.model.digest import Digest
from ocitool.model.platform import Platform, new_matcher
from ocitool.model.reference import parse_normalized
from ocitool.ops.builder.image import BuiltImage
from ocitool.ops.builder.verbs import Mutation, append, flatten, mutate, over_index, rebase
from ocitool.ops.convert import convert
from ocitool.service.loadsave import LoadSaveService
from ocitool.store.lookup import get_image
from ocitool.store.root import StoreRoot, default_root
from ocitool.store.source import StoreSource

__all__ = [
    "STORE_PREFIX",
    "VerbOptions",
    "WrittenImage",
    "append_image",
    "flatten_image",
    "mutate_image",
    "rebase_image",
]

STORE_PREFIX = "store:"


@record(frozen=True, slots=True)
class VerbOptions:
    """Where the store is, which platform an index gives (every one with ``all_platforms``),
    and the registry options of each side."""

    root: str | os.PathLike[str] | None = None
    platform: Platform | None = None
    all_platforms: bool = False
    src_registry: RegistryOptions | None = None
    dest_registry: RegistryOptions | None = None


@record(frozen=True, slots=True)
class WrittenImage:
    """One image a verb wrote: its manifest (or index) digest, and its name in the store when
    DEST was ``store:NAME`` (else "")."""

    digest: Digest
    name: str = ""


class _Session:
    """What one call opened: its sources, and the store (held for writing when DEST is it)."""

    def __init__(self, stack: contextlib.ExitStack, dest: str, options: VerbOptions) -> None:
        self.stack = stack
        self.dest = dest
        self.options = options
        self._root: StoreRoot | None = None

    def store(self) -> StoreRoot:
        if self._root is None:
            path = os.fspath(self.options.root) if self.options.root else default_root()
            write = self.dest.startswith(STORE_PREFIX)
            self._root = self.stack.enter_context(StoreRoot.open(path, write=write))
        return self._root

    def open(self, text: str, image: str = "") -> tuple[SourceImage | ImageIndex, str]:
        """The image (or, with all_platforms, the image or index) ``text`` names, and the name
        a base annotation records for it."""
        source: Source
        if text.startswith(STORE_PREFIX):
            name = text[len(STORE_PREFIX) :]
            r = self.store()
            image_id = get_image(r.images, r.references, name)
            source = self.stack.enter_context(StoreSource(r, selection=[(image_id, [])]))
            selector, label = "", name
        else:
            spec = parse_source(text)
            if spec.transport == REGISTRY_TRANSPORT:
                source = self.stack.enter_context(open_registry_source(spec.path, self.options.src_registry))
                label = spec.path.removeprefix("docker://")
            else:
                source = self.stack.enter_context(open_source(spec))
                label = text
            selector = image or spec.image
        if self.options.all_platforms:
            entries = find_entries(source, selector)
            nodes = {e.node.digest: e.node for e in entries if e.node is not None}
            if len(nodes) > 1:
                raise ImageRequiredError([str(d) for d in nodes], path=source.path)
            if nodes:
                return next(iter(nodes.values())), label
        return select_one(source, selector, platform=self.options.platform).image, label

    def write(self, built: BuiltImage) -> list[WrittenImage]:
        with built:
            familiar = _store_name(self.dest)
            if familiar is not None:
                built.named(familiar)
                LoadSaveService.load_into(self.store(), built, platform=self.options.platform)
                return [WrittenImage(built.digest, familiar)]
            result = convert(built, self.dest, all_platforms=True, dest_registry=self.options.dest_registry)
            return [WrittenImage(image.digest) for image in result.images]


def _store_name(dest: str) -> str | None:
    """The name a ``store:NAME`` DEST gives the image (tag defaulted), None for another DEST.
    Raises InvalidReferenceError for a missing name, a digest, or a name off the grammar."""
    if not dest.startswith(STORE_PREFIX):
        return None
    name = dest[len(STORE_PREFIX) :]
    if not name:
        raise InvalidReferenceError(dest, "a store destination needs a name with a tag")
    ref = parse_normalized(name)
    if ref.digest:
        raise InvalidReferenceError(name, "a store destination needs a name with a tag")
    return ref.with_default_tag().familiar()


def _run(
    dest: str, body: Callable[[_Session], BuiltImage], options: VerbOptions | None
) -> list[WrittenImage]:
    _store_name(dest)  # a bad store name is refused before any layer is built
    with contextlib.ExitStack() as stack:
        session = _Session(stack, dest, options or VerbOptions())
        return session.write(body(session))


def _each(node: SourceImage | ImageIndex, verb: Callable[[SourceImage], BuiltImage]) -> BuiltImage:
    return over_index(node, verb) if isinstance(node, ImageIndex) else verb(node)


def append_image(
    source: str | None,
    layers: Sequence[str | os.PathLike[str]],
    dest: str,
    *,
    image: str = "",
    set_base_annotations: bool = False,
    options: VerbOptions | None = None,
) -> list[WrittenImage]:
    """``crane append``: ``layers`` (directories or tars) on the image ``source`` names, or on
    nothing when ``source`` is None (scratch, for the options' platform or the host's)."""

    def body(session: _Session) -> BuiltImage:
        if source is None:
            return append(None, layers, platform=session.options.platform)
        node, label = session.open(source, image)
        return _each(
            node, lambda img: append(img, layers, set_base_annotations=set_base_annotations, base_name=label)
        )

    return _run(dest, body, options)


def mutate_image(
    source: str, mutation: Mutation, dest: str, *, image: str = "", options: VerbOptions | None = None
) -> list[WrittenImage]:
    """``crane mutate``: ``mutation``'s config edits and annotations; layers untouched."""
    return _run(dest, lambda s: _each(s.open(source, image)[0], lambda img: mutate(img, mutation)), options)


def flatten_image(
    source: str, dest: str, *, image: str = "", options: VerbOptions | None = None
) -> list[WrittenImage]:
    """``crane flatten``: the image's layers merged into one."""
    return _run(dest, lambda s: _each(s.open(source, image)[0], flatten), options)


def rebase_image(
    source: str,
    old_base: str,
    new_base: str,
    dest: str,
    *,
    image: str = "",
    options: VerbOptions | None = None,
) -> list[WrittenImage]:
    """``crane rebase``: the image's ``old_base`` layers swapped for ``new_base``'s. For a base
    that is an index, each image's own platform picks the base image; PlatformNotFoundError when
    the base has none for it."""

    def body(session: _Session) -> BuiltImage:
        node, _ = session.open(source, image)
        old_node, _ = session.open(old_base)
        new_node, new_label = session.open(new_base)
        return _each(
            node,
            lambda img: rebase(img, _pick(old_node, img), _pick(new_node, img), new_base_name=new_label),
        )

    return _run(dest, body, options)


def _pick(base: SourceImage | ImageIndex, img: SourceImage) -> SourceImage:
    if isinstance(base, SourceImage):
        return base
    matcher = new_matcher(img.platform)
    for candidate in base.images():
        if is_platform_image(candidate) and matcher.match(candidate.platform):
            return candidate
    raise PlatformNotFoundError(str(img.platform), [str(c.platform) for c in base.images()])
