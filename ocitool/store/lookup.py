"""Name → image ID in a store, as moby's ``GetImage`` resolves it: a full ID, then a reference
(tag or digest) in the reference store, then a unique ID prefix in the image index.

Archives resolve names by :mod:`ocitool.image.lookup`'s rules; a store's
:class:`~ocitool.store.source.StoreSource` answers names through :func:`get_image`, and so does
every store command of :mod:`ocitool.service`.
"""

from __future__ import annotations

import re
from typing import Final

from ocitool.errors import ImageNotFoundError
from ocitool.model.digest import Digest
from ocitool.model.reference import parse_normalized, try_parse_normalized
from ocitool.store.images import ImageStore
from ocitool.store.references import ReferenceStore

__all__ = ["FULL_ID", "get_image", "is_id_prefix", "not_found"]

FULL_ID: Final = re.compile(r"^sha256:[a-f0-9]{64}$")
_HEX_ID: Final = re.compile(r"^(sha256:)?[a-f0-9]+$")


def not_found(ref: str) -> ImageNotFoundError:
    """moby's ``ErrImageDoesNotExist``: a name is shown with its default tag."""
    parsed = None if FULL_ID.match(ref) else try_parse_normalized(ref)
    return ImageNotFoundError(parsed.with_default_tag().familiar() if parsed else ref)


def is_id_prefix(image_id: str, possible: str) -> bool:
    """moby's ``isImageIDPrefix``: ``possible`` starts the ID, with or without ``sha256:``."""
    return image_id.startswith(possible) or image_id.split(":", 1)[-1].startswith(possible)


def get_image(images: ImageStore, references: ReferenceStore, ref_or_id: str) -> Digest:
    """moby's ``GetImage``: the ID ``ref_or_id`` names. Raises ImageNotFoundError (moby's
    message), AmbiguousImageError (a prefix of several IDs), InvalidReferenceError (neither a
    reference nor hex)."""
    if FULL_ID.match(ref_or_id):
        id = Digest.parse(ref_or_id)
        if images.exists(id):
            return id
        raise not_found(ref_or_id)
    ref = try_parse_normalized(ref_or_id)
    if ref is None and not _HEX_ID.match(ref_or_id):
        parse_normalized(ref_or_id)  # raises InvalidReferenceError with the reason
    if ref is not None:
        found = references.get(ref)
        if found is not None and images.exists(found):
            return found
    try:
        return images.search(ref_or_id)
    except ImageNotFoundError:
        raise not_found(ref_or_id) from None
