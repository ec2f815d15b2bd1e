"""Go's ``bufio.Scanner`` with ``ScanLines``, as moby reads Dockerfiles and ``.dockerignore``.

Lines end at ``\\n``; one ``\\r`` before it is dropped; a final line without ``\\n`` counts, an
empty one does not. The default buffer holds at most ``MaxScanTokenSize`` (64 KiB) bytes, so a
line of :data:`MAX_LINE` + 1 bytes or more (its ``\\r`` included) stops the scanner with
``bufio.ErrTooLong``. Pure.
"""

from __future__ import annotations

from typing import Final

__all__ = ["MAX_LINE", "scan_lines"]

MAX_LINE: Final = 65535
"""The longest line the default scanner returns (``bufio.MaxScanTokenSize - 1``)."""


def scan_lines(data: bytes) -> tuple[list[bytes], int | None]:
    """The lines of ``data``, and the 0-based index of the first line too long for the scanner
    (None when all fit: then every line is returned; else only those before it)."""
    parts = data.split(b"\n")
    if parts and parts[-1] == b"":
        parts.pop()
    out: list[bytes] = []
    for i, part in enumerate(parts):
        if len(part) > MAX_LINE:
            return out, i
        out.append(part[:-1] if part.endswith(b"\r") else part)
    return out, None
