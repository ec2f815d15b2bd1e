"""The Engine API's image filters: ``docker images --filter`` and ``docker image prune --filter``.

One parser (:meth:`ImageFilters.parse`) for both commands, the matchers docker uses
(``filters.Args.MatchKVList`` for labels, ``reference.FamiliarMatch`` for references), and
moby's ``Images`` listing rules over :class:`~ocitool.engineapi.summary.Summary` rows
(:func:`filter_images`), whatever the rows came from: archives or a store.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Final

from ocitool._go import path as gopath
from ocitool._record import record, replace
from ocitool.engineapi.summary import Summary
from ocitool.engineapi.timetypes import get_timestamp
from ocitool.errors import InvalidReferenceError
from ocitool.model.reference import try_parse_normalized

__all__ = ["IMAGES_FILTERS", "PRUNE_FILTERS", "ImageFilters", "familiar_match", "filter_images", "match_kv"]

IMAGES_FILTERS: Final = ("dangling", "label", "before", "since", "reference", "until")
"""The keys ``docker images --filter`` accepts (moby's ``acceptedImageFilterTags``)."""
PRUNE_FILTERS: Final = ("dangling", "label", "label!", "until")
"""The keys ``docker image prune --filter`` accepts (moby's ``imagesAcceptedFilters``)."""


@record(frozen=True)
class ImageFilters:
    """Parsed ``--filter key=value`` arguments. Each key may repeat; ``not_labels`` holds the
    ``label!`` values (prune only)."""

    dangling: bool | None = None
    labels: tuple[str, ...] = ()
    not_labels: tuple[str, ...] = ()
    before: tuple[str, ...] = ()
    since: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    until: tuple[str, ...] = ()

    @classmethod
    def parse(cls, filters: str | Sequence[str], *, allowed: Sequence[str] = IMAGES_FILTERS) -> ImageFilters:
        """From ``key=value`` strings, keys case-insensitive. Where ``label!`` is allowed,
        ``label=!x`` means ``label!=x``. Raises InvalidReferenceError (docker's "invalid
        filter") for a string without ``=``, a key not in ``allowed``, or a dangling value that
        is no boolean."""
        values: dict[str, list[str]] = {}
        for f in [filters] if isinstance(filters, str) else filters:
            key, sep, value = f.partition("=")
            key = key.strip().lower()
            if not sep:
                raise InvalidReferenceError(f, "bad format of filter (expected name=value)")
            if "label!" in allowed and key == "label" and value.startswith("!"):
                key, value = "label!", value[1:]
            if key not in allowed:
                raise InvalidReferenceError(f, f"invalid filter '{key}'")
            if key == "dangling" and value.lower() not in ("true", "false", "1", "0"):
                raise InvalidReferenceError(f, f"invalid filter 'dangling={value}'")
            values.setdefault(key, []).append(value)
        dangling: bool | None = None
        for v in values.get("dangling", []):
            dangling = v.lower() in ("true", "1")
        return cls(
            dangling=dangling,
            labels=tuple(values.get("label", [])),
            not_labels=tuple(values.get("label!", [])),
            before=tuple(values.get("before", [])),
            since=tuple(values.get("since", [])),
            references=tuple(values.get("reference", [])),
            until=tuple(values.get("until", [])),
        )


def match_kv(wanted: Sequence[str], labels: Mapping[str, str]) -> bool:
    """``filters.Args.MatchKVList``: every ``key`` or ``key=value`` of ``wanted`` is present."""
    for want in wanted:
        key, sep, value = want.partition("=")
        if key not in labels or (sep and labels[key] != value):
            return False
    return True


def familiar_match(pattern: str, ref: str) -> bool:
    """docker's ``reference.FamiliarMatch``: ``pattern`` against the familiar form of ``ref``,
    and against its familiar name alone."""
    parsed = try_parse_normalized(ref)
    if parsed is None:
        return gopath.match(pattern, ref)
    return gopath.match(pattern, parsed.familiar()) or gopath.match(pattern, parsed.familiar_name())


def filter_images(
    summaries: Sequence[Summary],
    filters: ImageFilters,
    *,
    all_images: bool,
    image_named: Callable[[str], Summary],
) -> list[Summary]:
    """moby's ``Images`` over ``summaries`` (every image of the store or sources), newest first.

    An untagged image with children is an intermediate image, shown only with ``all_images``;
    ``dangling=true`` keeps untagged images without children (moby's ``Heads``), ``false`` the
    named ones. ``before``/``since`` name images (``image_named`` resolves a name, raising
    ImageNotFoundError); ``until`` is a time (:func:`~ocitool.engineapi.timetypes.get_timestamp`).
    Images without a creation time never pass a time filter. ``reference`` keeps the matching
    names only, and the images that have one.
    """
    dangling_only = filters.dangling is True
    before: float | None = None
    since: float | None = None
    for value in filters.before:
        named = image_named(value)
        if named.created_set:
            before = named.created
    for value in filters.until:
        ts = get_timestamp(value)
        if before is None or before > ts:
            before = ts
    for value in filters.since:
        named = image_named(value)
        if named.created_set:
            since = named.created
    has_children = {s.parent_id for s in summaries if s.parent_id}
    out: list[Summary] = []
    for s in summaries:
        if dangling_only and s.id in has_children:
            continue
        if before is not None and (not s.created_set or not s.created < before):
            continue
        if since is not None and (not s.created_set or not s.created > since):
            continue
        if filters.labels and not match_kv(filters.labels, s.labels):
            continue
        tags, digests = s.repo_tags, s.repo_digests
        if filters.references:
            tags = [t for t in tags if any(familiar_match(p, t) for p in filters.references)]
            digests = [d for d in digests if any(familiar_match(p, d) for p in filters.references)]
        if not tags and not digests:
            if not all_images and s.id in has_children:
                continue
            if filters.dangling is False or filters.references:
                continue
        elif dangling_only and tags:
            continue
        if tags is not s.repo_tags or digests is not s.repo_digests:
            s = replace(s, repo_tags=tags, repo_digests=digests)
        out.append(s)
    out.sort(key=lambda s: s.created, reverse=True)
    return out
