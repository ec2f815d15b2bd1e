"""Loading the JSON documents found inside images, with the limits hostile input needs.

Every document is bounded in size (4 MiB) and nesting depth (64) before anything uses it, and
every failure is an :class:`~ocitool.errors.InvalidDocumentError` naming the file.
"""

from __future__ import annotations

import json
from typing import Any, Final

from ocitool.errors import InvalidDocumentError

__all__ = ["MAX_DEPTH", "MAX_DOCUMENT_SIZE", "expect_dict", "load_json"]

MAX_DOCUMENT_SIZE: Final = 4 << 20
MAX_DEPTH: Final = 64


def _depth_ok(doc: Any) -> bool:
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            if depth > MAX_DEPTH:
                return False
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            if depth > MAX_DEPTH:
                return False
            stack.extend((v, depth + 1) for v in node)
    return True


def load_json(data: bytes, *, path: str, max_size: int = MAX_DOCUMENT_SIZE) -> Any:
    """Parse ``data`` (a document read from ``path``, at most ``max_size`` bytes). Raises
    InvalidDocumentError."""
    if len(data) > max_size:
        raise InvalidDocumentError(
            f"JSON document is {len(data)} bytes, over the {max_size}-byte limit", path=path
        )
    try:
        doc = json.loads(data)
    except RecursionError:
        raise InvalidDocumentError(f"JSON nested deeper than {MAX_DEPTH}", path=path) from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidDocumentError(f"not valid JSON: {exc}", path=path) from None
    # Nesting needs a bracket per level: a document with few brackets (a config has a dozen)
    # cannot be too deep, and is not walked.
    if data.count(b"[") + data.count(b"{") > MAX_DEPTH and not _depth_ok(doc):
        raise InvalidDocumentError(f"JSON nested deeper than {MAX_DEPTH}", path=path)
    return doc


def expect_dict(doc: Any, *, path: str, field: str = "") -> dict[str, Any]:
    """``doc`` if it is a JSON object, else InvalidDocumentError naming ``field`` (a JSON pointer)."""
    if not isinstance(doc, dict):
        raise InvalidDocumentError(
            f"expected a JSON object, got {type(doc).__name__}", path=path, field=field or "/"
        )
    return doc
