"""Go's ``path`` package: slash-separated paths, cleaned lexically.

Emulates ``path.Clean`` and ``path.Join`` exactly, edge cases included: an empty path cleans to
``.``, a relative path keeps its leading ``..`` elements, a rooted one drops them, and any run of
leading slashes becomes one (``posixpath.normpath`` keeps exactly two, as POSIX allows; Go does
not). Nothing touches the file system; nothing raises.
"""

from __future__ import annotations

import posixpath

__all__ = ["clean", "join"]


def clean(p: str) -> str:
    """``path.Clean``: collapse slashes, drop ``.`` elements, resolve ``..`` lexically."""
    if not p:
        return "."
    cleaned = posixpath.normpath(p)
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    return cleaned


def join(*elems: str) -> str:
    """``path.Join``: the non-empty elements joined with ``/`` and cleaned; ``""`` if none."""
    kept = [e for e in elems if e]
    if not kept:
        return ""
    return clean("/".join(kept))
