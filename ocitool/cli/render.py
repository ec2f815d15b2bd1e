"""How the docker CLI renders values (human sizes and durations, truncated IDs, ellipses, errors
in the daemon's words), and the end of every command's ``--help`` (:func:`epilog`).

Each function reproduces the Go code docker v28 uses (go-units, docker/cli's ``formatter`` and
``stringid``) so that output reads byte for byte as docker's does. ``--format`` output (docker's
template functions, the ``table`` directive, its tabwriter) is :mod:`ocitool.cli.template`, kept
apart so that ``--help`` and the default tables don't load the Go template engine.
"""

from __future__ import annotations

import time
import unicodedata
from datetime import UTC, datetime
from typing import Any, Final

from ocitool.cli import RawDescriptionHelpFormatter
from ocitool.errors import ImageNotFoundError, OcitoolError

__all__ = [
    "SOURCE_IMAGE",
    "STORE_IMAGE",
    "created_at_go",
    "created_since",
    "daemon_message",
    "history_created_since",
    "image_created_since",
    "ellipsis",
    "epilog",
    "human_duration",
    "human_size",
    "rfc3339_local",
    "truncate_id",
]


# -- values (go-units, stringid, formatter.Ellipsis) --

_DECIMAL_UNITS: Final = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")


def human_size(size: float, precision: int = 3) -> str:
    """go-units ``HumanSizeWithPrecision``: decimal units, ``%.*g`` (``HumanSize`` is precision 4)."""
    unit = 0
    while size >= 1000.0 and unit < len(_DECIMAL_UNITS) - 1:
        size /= 1000.0
        unit += 1
    return f"{size:.{precision}g}{_DECIMAL_UNITS[unit]}"


def human_duration(seconds_float: float) -> str:
    """go-units ``HumanDuration``."""
    seconds = int(seconds_float)
    if seconds < 1:
        return "Less than a second"
    if seconds == 1:
        return "1 second"
    if seconds < 60:
        return f"{seconds} seconds"
    minutes = int(seconds_float / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    # d.Round(time.Hour): halves round away from zero.
    hours = (
        int((seconds_float + 1800) // 3600) if seconds_float >= 0 else int(-((-seconds_float + 1800) // 3600))
    )
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds_float / 3600) // 24 // 365} years"


def created_since(created_unix: int, now: float | None = None) -> str:
    """``"<duration> ago"`` as docker's images and history tables print it."""
    now = time.time() if now is None else now
    return human_duration(now - created_unix) + " ago"


# time.Unix(GO_ZERO_UNIX, 0) is Go's zero time (0001-01-01 UTC): an image whose config says
# "0001-01-01T00:00:00Z" (reproducible builds) has it as its Created.
GO_ZERO_UNIX: Final = -62135596800


def image_created_since(created_unix: int, now: float | None = None) -> str:
    """The ``CreatedSince`` of a ``docker images`` row: ``""`` for Go's zero time (the default
    table then prints ``N/A``), else :func:`created_since`."""
    return "" if created_unix == GO_ZERO_UNIX else created_since(created_unix, now)


def history_created_since(created_unix: int, now: float | None = None) -> str:
    """The ``CreatedSince`` of a ``docker history`` row: ``N/A`` at or before the Unix epoch."""
    return "N/A" if created_unix <= 0 else created_since(created_unix, now)


def _local(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC).astimezone()


def _year(dt: datetime) -> str:
    # Go pads the year to four digits ("0001" for the zero time); strftime's %Y does not.
    return f"{dt.year:04d}"


def created_at_go(created_unix: int) -> str:
    """Go's ``time.Unix(t, 0).String()`` in the local zone: ``2006-01-02 15:04:05 -0700 MST``."""
    dt = _local(created_unix)
    name = dt.tzname() or dt.strftime("%z")
    return _year(dt) + dt.strftime("-%m-%d %H:%M:%S %z ") + name


def rfc3339_local(created_unix: int) -> str:
    """Go's ``time.Unix(t, 0).Format(time.RFC3339)`` in the local zone."""
    dt = _local(created_unix)
    offset = dt.utcoffset()
    if offset is not None and offset.total_seconds() == 0:
        return _year(dt) + dt.strftime("-%m-%dT%H:%M:%SZ")
    text = _year(dt) + dt.strftime("-%m-%dT%H:%M:%S%z")
    return text[:-2] + ":" + text[-2:]


def truncate_id(image_id: str) -> str:
    """docker's ``stringid.TruncateID``: drop ``algorithm:``, keep 12 characters."""
    if ":" in image_id:
        image_id = image_id.split(":", 1)[1]
    return image_id[:12]


def _rune_width(ch: str) -> int:
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def ellipsis(text: str, max_width: int) -> str:
    """docker/cli's ``formatter.Ellipsis``: cut to ``max_width`` display columns with ``…``."""
    if max_width <= 0:
        return ""
    if max_width == 1:
        return text[:1]
    if len(text.encode()) == len(text):
        return text if len(text) <= max_width else text[: max_width - 1] + "…"
    widths = []
    total = 0
    for ch in text:
        total += _rune_width(ch)
        widths.append(total)
    if total <= max_width:
        return text
    for i in range(len(widths) - 1):
        if widths[i] <= max_width - 1 < widths[i + 1]:
            return text[: i + 1] + "…"
    return text


def daemon_message(exc: OcitoolError) -> str:
    """An error of a store command as the daemon words it: ``No such image: alpine:latest``."""
    if isinstance(exc, ImageNotFoundError):
        return f"No such image: {exc.ref}"
    return str(exc)


# -- help: what SOURCE and IMAGE accept (one text, shared by every command), and examples --

SOURCE_IMAGE = """\
SOURCE is a path, its format read from its content (a docker save archive of any vintage, an OCI
layout or archive, a skopeo dir: copy, any of them compressed whole), or skopeo's syntax:
  docker-archive:PATH[:NAME|:@N]  oci:DIR[:REF]  oci-archive:PATH[:REF]  dir:PATH
IMAGE picks one image of SOURCE: a name as in RepoTags (alpine means
docker.io/library/alpine:latest), an OCI ref.name annotation as written, a full image ID or a
unique ID prefix (sha256:... or bare hex), or @N (the N-th image, from 0)."""

STORE_IMAGE = """\
IMAGE names an image of the store (--root DIR, default $OCITOOL_ROOT): NAME[:TAG] as docker
normalises it (alpine means docker.io/library/alpine:latest), a full image ID or a unique ID
prefix."""


def epilog(*examples: str, grammar: str = SOURCE_IMAGE) -> dict[str, Any]:
    """``add_parser`` keyword arguments for a command's help: ``grammar`` (what SOURCE and IMAGE
    accept), then ``examples`` (command lines after ``ocitool``), kept as written."""
    lines = "\n".join(f"  ocitool {example}" for example in examples)
    return {
        "epilog": f"{grammar}\n\nexamples:\n{lines}" if grammar else f"examples:\n{lines}",
        "formatter_class": RawDescriptionHelpFormatter,
    }
