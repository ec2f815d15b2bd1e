"""Locating the JSON Schemas of ``schemas/`` (repository root, or shipped as package data).

Looked up, in order: ``ocitool/schemas/`` inside the installed package (package data), then the
repository's ``schemas/`` beside the package (an editable install or a source checkout).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["schema_dir"]


def schema_dir() -> Path:
    """The directory holding the schema files. Raises FileNotFoundError when none is found."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "schemas", here.parent / "schemas"):
        if (candidate / "image-manifest-schema.json").is_file():
            return candidate
    raise FileNotFoundError("ocitool's JSON schemas are not installed (schemas/)")
