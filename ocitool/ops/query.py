"""Archive-mode queries: one library function per read-only CLI command.

Each takes a SOURCE (a string in skopeo's grammar, or an opened
:class:`~ocitool.image.source.Source`) and an optional IMAGE, and returns Engine API dataclasses or
raw bytes. A string source is opened and closed inside the call; an image suffix in the source
string (``docker-archive:x.tar:name``) and the ``image`` argument are the same thing.

None of these read layer bytes unless ``with_size`` asks for sizes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from ocitool.engineapi.summary import (
    HistoryResponseItem,
    InspectResponse,
    ManifestSummary,
    Summary,
    image_history,
    image_summary,
    inspect_image,
    manifest_summaries,
)
from ocitool.errors import ImageNotFoundError, InvalidReferenceError, OcitoolError
from ocitool.formats.detect import SourceLike, open_source, parse_source
from ocitool.image.lookup import Selected, find_entries, select_images
from ocitool.image.source import Source
from ocitool.model.platform import Platform
from ocitool.model.reference import try_parse_normalized

__all__ = [
    "ImageFilters",
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
    chosen = select_images(source, image, platform=platform)
    if not chosen:
        raise ImageNotFoundError(image or "(any image)", path=source.path)
    return chosen[0]


def inspect(
    source: SourceArg,
    images: str | Sequence[str] = (),
    *,
    platform: Platform | None = None,
    all_platforms: bool = False,
    with_size: bool = True,
    errors: list[OcitoolError] | None = None,
) -> list[InspectResponse]:
    """``docker image inspect`` for each named image (all images when none are named).

    Without ``errors`` the first failure raises; with it, failures (an unknown name, an
    unreadable config) are appended there and the other images are still returned, as
    ``docker image inspect`` prints what it found and reports the rest.
    """
    out: list[InspectResponse] = []
    with opened(source) as (src, suffix):
        names = _strings(images) or [suffix]
        for name in names:
            try:
                for selected in select_images(
                    src, name, platform=platform, all_platforms=all_platforms, errors=errors
                ):
                    try:
                        out.append(inspect_image(selected, src, with_size=with_size))
                    except OcitoolError as exc:
                        if errors is None:
                            raise
                        errors.append(exc)
            except OcitoolError as exc:
                if errors is None:
                    raise
                errors.append(exc)
    return out


def history(
    source: SourceArg, image: str = "", *, platform: Platform | None = None, with_size: bool = True
) -> list[HistoryResponseItem]:
    """``docker history`` of one image (the first when the source holds several)."""
    with opened(source, image) as (src, name):
        return image_history(_one(src, name, platform), src, with_size=with_size)


def manifests(source: SourceArg, image: str = "", *, with_size: bool = True) -> list[ManifestSummary]:
    """ManifestSummary of every manifest of the selected entries (all when none is named)."""
    with opened(source, image) as (src, name):
        return [
            m for entry in find_entries(src, name) for m in manifest_summaries(entry, with_size=with_size)
        ]


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
        entry = entries[0]
        if platform is None and entry.node is not None:
            return entry.node.raw_manifest
        return _one(src, name, platform).image.raw_manifest


@dataclass(frozen=True)
class ImageTree:
    """One top-level image or index, as ``docker images --tree`` shows it: its names, its
    digest, and a ManifestSummary per manifest below it."""

    names: list[str]
    digest: str
    manifests: list[ManifestSummary]


def image_tree(sources: SourceArg | Iterable[SourceArg], *, with_size: bool = True) -> list[ImageTree]:
    """The entries of every source (one, or several) with their manifests (``docker images --tree``)."""
    out: list[ImageTree] = []
    for source in _sources(sources):
        with opened(source) as (src, name):
            for entry in find_entries(src, name):
                out.append(
                    ImageTree(
                        names=entry.repo_tags or entry.ref_names,
                        digest=str(entry.descriptor.digest),
                        manifests=manifest_summaries(entry, with_size=with_size),
                    )
                )
    return out


# -- docker images -------------------------------------------------------------------------


_GLOB_SPECIAL = re.compile(r"(\*|\?|\[[^\]]*\]|\\.)")


def _go_path_match(pattern: str, name: str) -> bool:
    """Go's ``path.Match``: ``*`` and ``?`` never match ``/``."""
    out = []
    pos = 0
    for m in _GLOB_SPECIAL.finditer(pattern):
        out.append(re.escape(pattern[pos : m.start()]))
        tok = m.group(0)
        if tok == "*":
            out.append("[^/]*")
        elif tok == "?":
            out.append("[^/]")
        elif tok.startswith("\\"):
            out.append(re.escape(tok[1]))
        else:
            body = tok[1:-1]
            if body.startswith("^"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
        pos = m.end()
    out.append(re.escape(pattern[pos:]))
    try:
        return re.fullmatch("".join(out), name) is not None
    except re.error:
        return False


def _familiar_match(pattern: str, tag: str) -> bool:
    """docker's ``reference.FamiliarMatch``: the pattern against the familiar reference, and
    against its familiar name alone."""
    ref = try_parse_normalized(tag)
    if ref is None:
        return _go_path_match(pattern, tag)
    return _go_path_match(pattern, ref.familiar()) or _go_path_match(pattern, ref.familiar_name())


@dataclass(frozen=True)
class ImageFilters:
    """``docker images --filter`` for archives: dangling, label, before, since, reference."""

    dangling: bool | None = None
    labels: tuple[str, ...] = ()
    before: str = ""
    since: str = ""
    references: tuple[str, ...] = ()

    @classmethod
    def parse(cls, filters: str | Sequence[str]) -> ImageFilters:
        """From ``key=value`` strings. Raises InvalidReferenceError for unknown keys/values."""
        dangling: bool | None = None
        labels: list[str] = []
        refs: list[str] = []
        before = since = ""
        for f in _strings(filters):
            key, sep, value = f.partition("=")
            key = key.strip().lower()
            if not sep:
                raise InvalidReferenceError(f, "bad format of filter (expected name=value)")
            if key == "dangling":
                if value.lower() not in ("true", "false", "1", "0"):
                    raise InvalidReferenceError(f, f"invalid filter 'dangling={value}'")
                dangling = value.lower() in ("true", "1")
            elif key == "label":
                labels.append(value)
            elif key == "reference":
                refs.append(value)
            elif key == "before":
                before = value
            elif key == "since":
                since = value
            else:
                raise InvalidReferenceError(f, f"invalid filter '{key}'")
        return cls(dangling, tuple(labels), before, since, tuple(refs))


def _label_ok(labels: dict[str, str], wanted: tuple[str, ...]) -> bool:
    for want in wanted:
        key, sep, value = want.partition("=")
        if key not in labels or (sep and labels[key] != value):
            return False
    return True


def images(
    sources: SourceArg | Iterable[SourceArg],
    *,
    all_images: bool = False,
    filters: ImageFilters | None = None,
    with_size: bool = True,
) -> list[Summary]:
    """``docker images`` over one source or several, newest first, as the daemon lists them:
    untagged images with children are hidden unless ``all_images``."""
    filters = filters or ImageFilters()
    rows: list[Summary] = []
    for source in _sources(sources):
        with opened(source) as (src, name):
            selected = select_images(src, name)
            rows.extend(image_summary(s, src, with_size=with_size) for s in selected)
    rows = _dedupe(rows)
    parents = {r.parent_id for r in rows if r.parent_id}
    by_ref = _resolver(rows)
    before = by_ref(filters.before).created if filters.before else None
    since = by_ref(filters.since).created if filters.since else None
    out = []
    for row in rows:
        if not all_images and not row.repo_tags and row.id in parents:
            continue
        if filters.dangling is not None and filters.dangling == bool(row.repo_tags):
            continue
        if filters.labels and not _label_ok(row.labels, filters.labels):
            continue
        if before is not None and row.created >= before:
            continue
        if since is not None and row.created <= since:
            continue
        if filters.references:
            tags = [t for t in row.repo_tags if any(_familiar_match(p, t) for p in filters.references)]
            if not tags:
                continue
            row = Summary(row.id, row.parent_id, tags, row.repo_digests, row.created, row.size, row.labels)
        out.append(row)
    out.sort(key=lambda r: r.created, reverse=True)
    return out


def _dedupe(rows: list[Summary]) -> list[Summary]:
    """One row per image ID, tags merged (the same image may appear in several sources)."""
    merged: dict[str, Summary] = {}
    for row in rows:
        prev = merged.get(row.id)
        if prev is None:
            merged[row.id] = row
        else:
            tags = list(dict.fromkeys([*prev.repo_tags, *row.repo_tags]))
            merged[row.id] = Summary(
                prev.id,
                prev.parent_id or row.parent_id,
                tags,
                prev.repo_digests,
                prev.created,
                prev.size,
                prev.labels,
            )
    return list(merged.values())


def _resolver(rows: list[Summary]) -> Callable[[str], Summary]:
    def find(ref: str) -> Summary:
        norm = try_parse_normalized(ref)
        familiar = norm.with_default_tag().familiar() if norm else ref
        for row in rows:
            if familiar in row.repo_tags or ref in row.repo_tags:
                return row
        hexpart = ref.removeprefix("sha256:")
        hits = [r for r in rows if r.id.removeprefix("sha256:").startswith(hexpart)] if hexpart else []
        if len(hits) == 1:
            return hits[0]
        raise ImageNotFoundError(ref)

    return find
