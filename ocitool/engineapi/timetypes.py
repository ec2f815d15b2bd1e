"""docker's ``api/types/time``: the time values of ``--filter until=``, ``before=`` and ``since=``.

:func:`get_timestamp` reads what ``timetypes.GetTimestamp`` reads: a Go duration counted back
from now (``10m``, ``1h30m``), a Unix time with optional fraction (``1700000000.5``), or an
RFC 3339 date or date-time (without a zone, local time; a bare date is midnight UTC).
"""

from __future__ import annotations

import contextlib
import datetime
import re
import time
from typing import Final

from ocitool.errors import InvalidReferenceError
from ocitool.model.timestamp import Timestamp

__all__ = ["get_timestamp"]

_DURATION: Final = re.compile(r"^(?:(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h))+$")
_DURATION_PART: Final = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT: Final = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_UNIX: Final = re.compile(r"^\d+(\.\d+)?$")
_LOCAL_LAYOUTS: Final = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d")


def get_timestamp(value: str, now: float | None = None) -> float:
    """``value`` as seconds since the Unix epoch (``now`` minus a duration; ``now`` defaults
    to the current time). Raises InvalidReferenceError naming the value when none of the
    forms parses."""
    now = time.time() if now is None else now
    if _DURATION.match(value):
        return now - sum(float(n) * _UNIT[u] for n, u in _DURATION_PART.findall(value))
    if _UNIX.match(value):
        return float(value)
    for candidate in (value, value + "T00:00:00Z" if len(value) == 10 else ""):
        if not candidate:
            continue
        with contextlib.suppress(ValueError):
            return Timestamp.parse(candidate).unix_nano() / 1e9
    for layout in _LOCAL_LAYOUTS:
        try:
            return datetime.datetime.strptime(value, layout).timestamp()
        except ValueError:
            continue
    raise InvalidReferenceError(value, "cannot parse as a timestamp or duration")
