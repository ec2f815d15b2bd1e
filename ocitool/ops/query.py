"""The read-only queries: one library function per read-only CLI command.

Each takes a SOURCE (a string in skopeo's grammar, or an opened
:class:`~ocitool.image.source.Source`: an archive, a layout, or a store's source) and an
optional IMAGE, and returns Engine API dataclasses or raw bytes; what differs between an
archive and a store is what the source answers, not how the answer is built. A string source
is opened and closed inside the call; an image suffix in the source string
(``docker-archive:x.tar:name``) and the ``image`` argument are the same thing.

None of these read layer bytes unless ``with_size`` asks for sizes.

One broken image hides no other: the listing queries (``inspect``, ``images``, ``manifests``,
``image_tree``) take an ``errors`` list; given one, an image that cannot be read is reported
there (an ImageReadError naming its tags, ID and the cause) and the others are still returned,
and entries holding only artifacts are noted there as ArtifactError (a note, not a failure).
Without it the first failure raises. The one-image queries (``history``, ``raw_config``,
``raw_manifest``) refuse to guess: with several images and none named they raise
ImageRequiredError listing the choices.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from ocitool._record import record, replace
from ocitool.engineapi.filters import ImageFilters, filter_images
from ocitool.engineapi.summary import (
    HistoryResponseItem,
    ImageLister,
    InspectResponse,
    ManifestSummary,
    Summary,
    image_history,
    image_summary,
    inspect_image,
    manifest_summaries,
)
from ocitool.errors import ImageNotFoundError, ImageReadError, InvalidReferenceError, OcitoolError
from ocitool.formats.detect import SourceLike, open_source, parse_source
from ocitool.image.lookup import find_entries, select_images, select_one
from ocitool.image.source import Entry, Selected, Source
from ocitool.model.platform import Platform

if TYPE_CHECKING:
    from ocitool.ops.signing.keyless import KeylessPolicy
    from ocitool.ops.signing.keys import PublicKey

__all__ = [
    "ImageTree",
    "history",
    "image_tree",
    "images",
    "inspect",
    "manifests",
    "opened",
    "raw_config",
    "raw_manifest",
]

SourceArg = SourceLike | Source
T = TypeVar("T")


def _sources(value: SourceArg | Iterable[SourceArg]) -> list[SourceArg]:
    """One source or several: a string or a path is one source, never a list of characters."""
    if isinstance(value, str | os.PathLike | Source):
        return [value]
    return list(value)


def _strings(value: str | Iterable[str]) -> list[str]:
    """One string or several."""
    return [value] if isinstance(value, str) else list(value)


@contextmanager
def opened(source: SourceArg, image: str = "") -> Iterator[tuple[Source, str]]:
    """(source, image) for a string or an opened source; the image suffix of a
    ``transport:path:image`` string is used unless ``image`` is given."""
    if isinstance(source, Source):
        yield source, image
        return
    spec = parse_source(source)
    if spec.image and image and spec.image != image:
        raise InvalidReferenceError(os.fspath(source), f"names image {spec.image!r} and IMAGE {image!r}")
    with open_source(spec) as src:
        yield src, image or spec.image


def _one(source: Source, image: str, platform: Platform | None) -> Selected:
    return select_one(source, image, platform=platform)


def _broken(selected: Selected, cause: OcitoolError) -> ImageReadError:
    """``cause`` as the failure of one image, named by its entry's tags and its ID."""
    entry = selected.entry
    return ImageReadError(entry.repo_tags or entry.ref_names, str(selected.image.id), cause)


def _each(
    chosen: Iterable[Selected], build: Callable[[Selected], T], errors: list[OcitoolError] | None
) -> Iterator[T]:
    """``build`` of each chosen image; with ``errors``, a failure is reported there as that
    image's (ImageReadError) and the image left out, else it raises."""
    for selected in chosen:
        try:
            yield build(selected)
        except OcitoolError as exc:
            if errors is None:
                raise
            errors.append(_broken(selected, exc))


def _broken_entry(entry: Entry, cause: OcitoolError) -> ImageReadError:
    return ImageReadError(entry.repo_tags or entry.ref_names, str(entry.descriptor.digest), cause)


def _inspect_one(
    selected: Selected,
    *,
    source: Source,
    with_size: bool,
    identity: bool,
    key: PublicKey | KeylessPolicy | None,
) -> InspectResponse:
    resp = inspect_image(selected, source=source, with_size=with_size)
    if not identity or source.transport == "docker-archive":  # a docker-archive holds no signature
        return resp
    from ocitool.ops.signatures import image_identity

    found = image_identity(source, selected, key=key)
    return replace(resp, identity=found) if found is not None else resp


def inspect(
    source: SourceArg,
    images: str | Sequence[str] = (),
    *,
    platform: Platform | None = None,
    all_platforms: bool = False,
    with_size: bool = True,
    errors: list[OcitoolError] | None = None,
    identity: bool | None = None,
    verify_key: PublicKey | KeylessPolicy | None = None,
) -> list[InspectResponse]:
    """``docker image inspect`` for each named image (all images when none are named).

    Without ``errors`` the first failure raises; with it, failures (an unknown name, an
    unreadable config) are appended there and the other images are still returned, as
    ``docker image inspect`` prints what it found and reports the rest.

    ``identity`` adds moby's ``Identity`` (the image's signatures; see
    :func:`ocitool.ops.signatures.image_identity`), checked with ``verify_key`` when given. By
    default it is looked up in local sources, and in registries only with ``verify_key`` (it
    costs requests there).
    """
    out: list[InspectResponse] = []
    with opened(source) as (src, suffix):
        names = _strings(images) or [suffix]
        wanted = identity if identity is not None else (src.transport != "docker" or verify_key is not None)
        build = partial(_inspect_one, source=src, with_size=with_size, identity=wanted, key=verify_key)
        for name in names:
            try:
                chosen = select_images(
                    src, name, platform=platform, all_platforms=all_platforms, errors=errors
                )
                out.extend(_each(chosen, build, errors))
            except OcitoolError as exc:
                if errors is None:
                    raise
                errors.append(exc)
    return out


def history(
    source: SourceArg, image: str = "", *, platform: Platform | None = None, with_size: bool = True
) -> list[HistoryResponseItem]:
    """``docker history`` of one image (ImageRequiredError when the source holds several and
    none is named)."""
    with opened(source, image) as (src, name):
        return image_history(_one(src, name, platform), src, with_size=with_size)


def manifests(
    source: SourceArg,
    image: str = "",
    *,
    with_size: bool = True,
    errors: list[OcitoolError] | None = None,
) -> list[ManifestSummary]:
    """ManifestSummary of every manifest of the selected entries (all when none is named);
    with ``errors``, an entry that cannot be read is reported there and the others listed."""
    with opened(source, image) as (src, name):
        return [m for entry in find_entries(src, name) for m in _summaries(entry, with_size, errors)]


def _summaries(entry: Entry, with_size: bool, errors: list[OcitoolError] | None) -> list[ManifestSummary]:
    try:
        return manifest_summaries(entry, with_size=with_size)
    except OcitoolError as exc:
        if errors is None:
            raise
        errors.append(_broken_entry(entry, exc))
        return []


def raw_config(source: SourceArg, image: str = "", *, platform: Platform | None = None) -> bytes:
    """The config blob of one image, byte for byte."""
    with opened(source, image) as (src, name):
        return _one(src, name, platform).image.raw_config


def raw_manifest(source: SourceArg, image: str = "", *, platform: Platform | None = None) -> bytes:
    """The manifest of one entry, byte for byte: with ``platform`` (or for a single image) the
    image manifest, otherwise the entry's top-level manifest or index as stored. Legacy docker
    archives store none; theirs is synthesised (see the README)."""
    with opened(source, image) as (src, name):
        entries = find_entries(src, name)
        if not name and len(entries) > 1:
            # Several entries and none named: the one image, or ImageRequiredError.
            entries = [_one(src, name, platform).entry]
        entry = entries[0]
        if platform is None and entry.node is not None:
            return entry.node.raw_manifest
        return _one(src, name, platform).image.raw_manifest


@record(frozen=True)
class ImageTree:
    """One top-level image or index, as ``docker images --tree`` shows it: its names, its
    digest, and a ManifestSummary per manifest below it."""

    names: list[str]
    digest: str
    manifests: list[ManifestSummary]


def image_tree(
    sources: SourceArg | Iterable[SourceArg],
    *,
    with_size: bool = True,
    errors: list[OcitoolError] | None = None,
) -> list[ImageTree]:
    """The entries of every source with their manifests (``docker images --tree``); with
    ``errors``, an entry that cannot be read is reported there and left out."""
    out: list[ImageTree] = []
    for source in _sources(sources):
        with opened(source) as (src, name):
            for entry in find_entries(src, name):
                before = len(errors) if errors is not None else 0
                summaries = _summaries(entry, with_size, errors)
                if errors is not None and len(errors) > before:
                    continue
                out.append(
                    ImageTree(
                        names=entry.repo_tags or entry.ref_names,
                        digest=str(entry.descriptor.digest),
                        manifests=summaries,
                    )
                )
    return out


# -- docker images -------------------------------------------------------------------------


def images(
    sources: SourceArg | Iterable[SourceArg],
    *,
    all_images: bool = False,
    filters: ImageFilters | None = None,
    with_size: bool = True,
    errors: list[OcitoolError] | None = None,
) -> list[Summary]:
    """``docker images`` over one or more sources (archives, or a store's
    :class:`~ocitool.engineapi.summary.ImageLister` source), newest first, as the daemon lists
    them: one row per image ID (names merged across sources), untagged images with children
    hidden unless ``all_images``, ``filters`` as :func:`~ocitool.engineapi.filters.filter_images`
    applies them (``before``/``since`` names are looked up in the sources). With ``errors``,
    an image that cannot be read is reported there (ImageReadError) and the rest listed;
    entries of artifacts only are noted there (ArtifactError)."""
    filters = filters or ImageFilters()
    with ExitStack() as stack:
        srcs = [stack.enter_context(opened(source)) for source in _sources(sources)]
        rows: list[Summary] = []
        for src, name in srcs:
            if not name and isinstance(src, ImageLister):
                rows.extend(src.image_summaries())
            else:
                chosen = select_images(src, name, errors=errors)
                rows.extend(_each(chosen, partial(image_summary, source=src, with_size=with_size), errors))
        rows = _dedupe(rows)
        by_id = {row.id: row for row in rows} if filters.before or filters.since else {}

        def image_named(name: str) -> Summary:
            """The listed image ``name`` names in the first source that knows it."""
            missing: ImageNotFoundError | None = None
            for src, _ in srcs:
                try:
                    chosen = select_images(src, name)
                except ImageNotFoundError as exc:
                    missing = missing or exc
                    continue
                for selected in chosen:
                    row = by_id.get(str(selected.image.id))
                    if row is not None:
                        return row
            # A name is looked up in every source: the error names none of them.
            raise ImageNotFoundError(missing.ref if missing is not None else name)

        return filter_images(rows, filters, all_images=all_images, image_named=image_named)


def _dedupe(rows: list[Summary]) -> list[Summary]:
    """One row per image ID, tags merged (the same image may appear in several sources)."""
    merged: dict[str, Summary] = {}
    for row in rows:
        prev = merged.get(row.id)
        if prev is None:
            merged[row.id] = row
        else:
            tags = list(dict.fromkeys([*prev.repo_tags, *row.repo_tags]))
            merged[row.id] = replace(prev, parent_id=prev.parent_id or row.parent_id, repo_tags=tags)
    return list(merged.values())
