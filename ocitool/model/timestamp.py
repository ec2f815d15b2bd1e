"""Timestamps as Go's ``time.Time`` reads and writes them in image JSON.

Image configs carry times as RFC 3339 strings with up to nanosecond precision, and a
daemon's output reproduces them with Go's formatting. Python's :class:`datetime.datetime`
keeps only microseconds and cannot hold year 0, so :class:`Timestamp` stores the instant as
Unix seconds plus nanoseconds, with the UTC offset the text was written in kept apart.

What :meth:`Timestamp.parse` accepts is what Go 1.24's ``time.Time.UnmarshalJSON`` accepts
(moby v28 is built with it): the fast RFC 3339 path, plus the looser ``time.Parse(RFC3339)``
fallback that Go's "strict" parser still drops to. Concretely::

    YYYY-MM-DD "T" H[H]:MM:SS [("." | ",") DIGITS] ("Z" | ("+" | "-") HH:MM)

with month 1-12, a day that exists in that month, hour 0-23, minute and second 0-59 (no leap
second), a fraction of any length (digits past the ninth are truncated, not rounded), and an
offset of at most 24 hours and 60 minutes. Lower-case ``t``/``z`` and a space separator are
refused, as Go refuses them.
"""

from __future__ import annotations

import datetime as _dt
import re
import time
from typing import Final

from ocitool._record import record
from ocitool.errors import InvalidDocumentError

__all__ = ["Timestamp"]

_NANOS_PER_SECOND: Final = 1_000_000_000
_SECONDS_PER_DAY: Final = 86_400
# "+24:60" is the largest offset Go's fallback parser lets through (it checks hour > 24 and
# minute > 60, not >=), so it is the largest a parsed Timestamp can carry.
_MAX_OFFSET_MINUTES: Final = 24 * 60 + 60

# [0-9] rather than \d: \d also matches non-ASCII digits, which Go rejects.
_RFC3339: Final = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{1,2}):([0-9]{2}):([0-9]{2})"
    r"(?:[.,]([0-9]+))?"
    r"(?:(Z)|([+-])([0-9]{2}):([0-9]{2}))"
)

# Unix seconds of Go's zero Time, 0001-01-01T00:00:00Z.
_ZERO_UNIX: Final = -62_135_596_800


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 in the proleptic Gregorian calendar (any year, including <= 0)."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468


def _civil_from_days(days: int) -> tuple[int, int, int]:
    """The inverse of :func:`_days_from_civil`: (year, month, day)."""
    days += 719_468
    era = days // 146_097
    doe = days - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (month <= 2), month, day


def _days_in_month(year: int, month: int) -> int:
    # the Gregorian rule as calendar.isleap has it (not imported for this: start-up); Python's
    # modulo keeps it right for year 0 (a leap year) and negative years
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _go_year(year: int) -> str:
    """A year as Go writes it: at least four digits, a leading '-' for years before 0."""
    return f"-{-year:04d}" if year < 0 else f"{year:04d}"


def _fraction(nanos: int) -> str:
    """Go's ``.999999999`` element: the fraction without trailing zeros, or nothing."""
    if nanos == 0:
        return ""
    return "." + f"{nanos:09d}".rstrip("0")


@record(frozen=True, slots=True, eq=False)
class Timestamp:
    """An instant with nanosecond precision and the UTC offset it was written with.

    ``seconds`` is Unix time (may be negative), ``nanos`` is 0..999,999,999 and
    ``offset_minutes`` is the zone offset east of UTC (at most 24h60m either way). Equality,
    ordering and hashing compare the instant only, as Go's ``Time.Equal`` and Python's aware
    datetimes do; two timestamps that are equal may still format differently because of
    their offsets. Constructing one with out-of-range parts raises ValueError.
    """

    seconds: int
    nanos: int = 0
    offset_minutes: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.nanos < _NANOS_PER_SECOND:
            raise ValueError(f"nanos must be in [0, 999999999], got {self.nanos}")
        if abs(self.offset_minutes) > _MAX_OFFSET_MINUTES:
            raise ValueError(f"offset of {self.offset_minutes} minutes is out of range")

    # --- construction -------------------------------------------------------------------

    @classmethod
    def parse(cls, text: str) -> Timestamp:
        """Parse an RFC 3339 string as Go's ``time.Time.UnmarshalJSON`` does (see the module doc).

        Raises InvalidDocumentError for anything Go would refuse.
        """
        if not isinstance(text, str):
            raise InvalidDocumentError(f"timestamp must be a string, got {type(text).__name__}")
        m = _RFC3339.fullmatch(text)
        if m is None:
            raise InvalidDocumentError(f"timestamp {text!r} is not RFC 3339")
        year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
        if not 1 <= month <= 12:
            raise InvalidDocumentError(f"timestamp {text!r}: month out of range")
        if not 1 <= day <= _days_in_month(year, month):
            raise InvalidDocumentError(f"timestamp {text!r}: day out of range")
        if hour > 23 or minute > 59 or second > 59:
            raise InvalidDocumentError(f"timestamp {text!r}: time of day out of range")
        frac = m.group(7) or ""
        # Go reads at most nine digits and ignores the rest: truncation, not rounding.
        nanos = int(frac[:9].ljust(9, "0")) if frac else 0
        offset = 0
        if m.group(8) is None:
            off_hour, off_minute = int(m.group(10)), int(m.group(11))
            if off_hour > 24 or off_minute > 60:
                raise InvalidDocumentError(f"timestamp {text!r}: zone offset out of range")
            offset = off_hour * 60 + off_minute
            if m.group(9) == "-":
                offset = -offset
        local = _days_from_civil(year, month, day) * _SECONDS_PER_DAY + hour * 3600 + minute * 60 + second
        return cls(local - offset * 60, nanos, offset)

    @classmethod
    def from_unix(cls, seconds: int, nanos: int = 0) -> Timestamp:
        """As Go's ``time.Unix(sec, nsec)`` but in UTC; ``nanos`` outside [0, 1e9) carries into seconds."""
        carry, nanos = divmod(nanos, _NANOS_PER_SECOND)
        return cls(seconds + carry, nanos, 0)

    @classmethod
    def from_datetime(cls, value: _dt.datetime) -> Timestamp:
        """An aware datetime keeps its offset (whole minutes only); a naive one is taken as UTC."""
        offset = value.utcoffset()
        offset_seconds = 0 if offset is None else int(offset.total_seconds())
        if offset_seconds % 60:
            raise ValueError("RFC 3339 offsets are whole minutes")
        naive = value.replace(tzinfo=None)
        days = _days_from_civil(naive.year, naive.month, naive.day)
        local = days * _SECONDS_PER_DAY + naive.hour * 3600 + naive.minute * 60 + naive.second
        return cls(local - offset_seconds, naive.microsecond * 1000, offset_seconds // 60)

    @classmethod
    def now(cls) -> Timestamp:
        """The current time in UTC at the clock's full (nanosecond) resolution, as ``time.Now().UTC()``."""
        return cls.from_unix(0, time.time_ns())

    @classmethod
    def zero(cls) -> Timestamp:
        """Go's zero ``time.Time``: 0001-01-01T00:00:00Z."""
        return cls(_ZERO_UNIX, 0, 0)

    # --- queries ------------------------------------------------------------------------

    def is_zero(self) -> bool:
        """True for the instant 0001-01-01T00:00:00Z, whatever the offset (Go's ``IsZero``)."""
        return self.seconds == _ZERO_UNIX and self.nanos == 0

    def unix(self) -> int:
        """Whole seconds since the Unix epoch (floor for instants before it), Go's ``Unix()``."""
        return self.seconds

    def unix_nano(self) -> int:
        """Nanoseconds since the Unix epoch (unbounded, unlike Go's int64 ``UnixNano``)."""
        return self.seconds * _NANOS_PER_SECOND + self.nanos

    def utc(self) -> Timestamp:
        """The same instant with offset 0."""
        return Timestamp(self.seconds, self.nanos, 0)

    def _local_parts(self, offset_minutes: int) -> tuple[int, int, int, int, int, int]:
        days, secs = divmod(self.seconds + offset_minutes * 60, _SECONDS_PER_DAY)
        year, month, day = _civil_from_days(days)
        hour, rest = divmod(secs, 3600)
        minute, second = divmod(rest, 60)
        return year, month, day, hour, minute, second

    # --- formatting ---------------------------------------------------------------------

    def _format(self, *, nanos: bool) -> str:
        year, month, day, hour, minute, second = self._local_parts(self.offset_minutes)
        frac = _fraction(self.nanos) if nanos else ""
        if self.offset_minutes == 0:
            zone = "Z"
        else:
            sign = "-" if self.offset_minutes < 0 else "+"
            hh, mm = divmod(abs(self.offset_minutes), 60)
            zone = f"{sign}{hh:02d}:{mm:02d}"
        return f"{_go_year(year)}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}{frac}{zone}"

    def rfc3339nano(self) -> str:
        """Exactly Go's ``Format(time.RFC3339Nano)``: local time at the stored offset, the
        fraction without trailing zeros (none at all when zero), ``Z`` for offset 0."""
        return self._format(nanos=True)

    def rfc3339(self) -> str:
        """Go's ``Format(time.RFC3339)``: as :meth:`rfc3339nano` with the fraction dropped."""
        return self._format(nanos=False)

    def go_string(self) -> str:
        """Go's ``Time.String()`` of the instant in UTC, e.g. ``2006-01-02 15:04:05.5 +0000 UTC``."""
        year, month, day, hour, minute, second = self._local_parts(0)
        frac = _fraction(self.nanos)
        return f"{_go_year(year)}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{second:02d}{frac} +0000 UTC"

    def to_json(self) -> str:
        """The string Go's ``Time.MarshalJSON`` writes (RFC 3339 with nanoseconds).

        Go refuses to marshal a year outside [0, 9999] or an offset of 24 hours or more (which
        the parser does accept), and so does this: InvalidDocumentError.
        """
        text = self.rfc3339nano()
        year = self._local_parts(self.offset_minutes)[0]
        if not 0 <= year <= 9999:
            raise InvalidDocumentError(f"cannot encode {text}: year outside of range [0,9999]")
        if abs(self.offset_minutes) >= 24 * 60:
            raise InvalidDocumentError(f"cannot encode {text}: timezone hour outside of range [0,23]")
        return text

    def to_datetime(self) -> _dt.datetime:
        """The instant as an aware UTC datetime, microseconds truncated.

        Raises ValueError when the UTC year is outside datetime's 1..9999.
        """
        year, month, day, hour, minute, second = self._local_parts(0)
        if not _dt.MINYEAR <= year <= _dt.MAXYEAR:
            raise ValueError(f"{self.rfc3339nano()} is outside the range of datetime")
        return _dt.datetime(year, month, day, hour, minute, second, self.nanos // 1000, tzinfo=_dt.UTC)

    def __str__(self) -> str:
        return self.rfc3339nano()

    def __repr__(self) -> str:
        return f"Timestamp({self.rfc3339nano()!r})"

    # --- comparison: by instant ---------------------------------------------------------

    def _key(self) -> tuple[int, int]:
        return (self.seconds, self.nanos)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Timestamp):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __lt__(self, other: Timestamp) -> bool:
        if not isinstance(other, Timestamp):
            return NotImplemented
        return self._key() < other._key()

    def __le__(self, other: Timestamp) -> bool:
        if not isinstance(other, Timestamp):
            return NotImplemented
        return self._key() <= other._key()

    def __gt__(self, other: Timestamp) -> bool:
        if not isinstance(other, Timestamp):
            return NotImplemented
        return self._key() > other._key()

    def __ge__(self, other: Timestamp) -> bool:
        if not isinstance(other, Timestamp):
            return NotImplemented
        return self._key() >= other._key()
