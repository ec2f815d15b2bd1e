"""Timestamp: Go's time.Time JSON parsing and RFC3339Nano / String() formatting."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocitool.errors import InvalidDocumentError
from ocitool.model.timestamp import Timestamp

# Unix seconds of 0001-01-01T00:00:00Z (Go's zero time), from Python's own calendar.
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
ZERO_UNIX = int((dt.datetime(1, 1, 1, tzinfo=dt.UTC) - EPOCH).total_seconds())


@pytest.mark.parametrize(
    ("text", "nano", "utc_string"),
    [
        ("2006-01-02T15:04:05Z", "2006-01-02T15:04:05Z", "2006-01-02 15:04:05 +0000 UTC"),
        (
            "2006-01-02T15:04:05.999999999-07:00",
            "2006-01-02T15:04:05.999999999-07:00",
            "2006-01-02 22:04:05.999999999 +0000 UTC",
        ),
        # Trailing zeros of the fraction go; an all-zero fraction goes entirely.
        ("2006-01-02T15:04:05.100Z", "2006-01-02T15:04:05.1Z", "2006-01-02 15:04:05.1 +0000 UTC"),
        ("2006-01-02T15:04:05.000000000Z", "2006-01-02T15:04:05Z", "2006-01-02 15:04:05 +0000 UTC"),
        # A zero offset is written Z however it was spelled.
        ("2006-01-02T15:04:05+00:00", "2006-01-02T15:04:05Z", "2006-01-02 15:04:05 +0000 UTC"),
        ("2006-01-02T15:04:05-00:00", "2006-01-02T15:04:05Z", "2006-01-02 15:04:05 +0000 UTC"),
        # Go reads nine fraction digits and ignores the rest (no rounding).
        (
            "2016-08-26T18:59:53.1234567899Z",
            "2016-08-26T18:59:53.123456789Z",
            "2016-08-26 18:59:53.123456789 +0000 UTC",
        ),
        # time.Parse's fallback: a one-digit hour and a comma before the fraction.
        ("2024-02-29T1:02:03,5+05:30", "2024-02-29T01:02:03.5+05:30", "2024-02-28 19:32:03.5 +0000 UTC"),
        ("0000-01-01T00:00:00Z", "0000-01-01T00:00:00Z", "0000-01-01 00:00:00 +0000 UTC"),
        ("2000-02-29T23:59:59Z", "2000-02-29T23:59:59Z", "2000-02-29 23:59:59 +0000 UTC"),
    ],
)
def test_parse_and_format(text: str, nano: str, utc_string: str) -> None:
    ts = Timestamp.parse(text)
    assert ts.rfc3339nano() == nano
    assert str(ts) == nano
    assert ts.go_string() == utc_string


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2006-01-02 15:04:05Z",  # space separator
        "2006-01-02t15:04:05Z",  # lower-case t
        "2006-01-02T15:04:05z",  # lower-case z
        "2006-01-02T15:04:05",  # no zone
        "2006-01-02T15:04:05+0700",  # offset without colon
        "2006-01-02T15:04:05+7:00",
        "2006-1-02T15:04:05Z",
        "2006-01-02T15:4:05Z",
        "2006-01-02T123:04:05Z",
        "2006-01-02T24:00:00Z",  # hour 24
        "2006-01-02T15:60:00Z",
        "2006-01-02T15:04:60Z",  # no leap seconds
        "2006-13-02T15:04:05Z",
        "2006-00-02T15:04:05Z",
        "2006-02-29T15:04:05Z",  # not a leap year
        "1900-02-29T15:04:05Z",
        "2006-04-31T15:04:05Z",
        "2006-01-00T15:04:05Z",
        "2006-01-02T15:04:05.Z",  # dot without digits
        "2006-01-02T15:04:05+25:00",
        "2006-01-02T15:04:05+23:61",
        " 2006-01-02T15:04:05Z",
        "2006-01-02T15:04:05Z\n",
        "+2006-01-02T15:04:05Z",
        "\u0662\u0660\u0660\u0666-01-02T15:04:05Z",  # Arabic-Indic digits
    ],
)
def test_parse_rejects_what_go_rejects(text: str) -> None:
    with pytest.raises(InvalidDocumentError):
        Timestamp.parse(text)


def test_parse_rejects_non_strings() -> None:
    with pytest.raises(InvalidDocumentError):
        Timestamp.parse(1136214245)  # type: ignore[arg-type]


def test_offset_up_to_24_60_parses_but_go_cannot_marshal_24_hours() -> None:
    ts = Timestamp.parse("2006-01-02T15:04:05+24:00")
    assert ts.offset_minutes == 24 * 60
    assert ts.rfc3339nano() == "2006-01-02T15:04:05+24:00"
    with pytest.raises(InvalidDocumentError, match="timezone hour"):
        ts.to_json()
    # +24:60 is accepted too (Go compares with >, not >=) and formats as +25:00.
    assert Timestamp.parse("2006-01-02T15:04:05+24:60").rfc3339nano() == "2006-01-02T15:04:05+25:00"


def test_unix_values() -> None:
    assert Timestamp.parse("2006-01-02T15:04:05Z").unix() == 1136214245
    assert Timestamp.parse("2006-01-02T15:04:05-07:00").unix() == 1136214245 + 7 * 3600
    assert Timestamp.parse("1970-01-01T00:00:00.5Z").unix_nano() == 500_000_000
    assert Timestamp.parse("1969-12-31T23:59:59.5Z").unix() == -1


def test_zero_time() -> None:
    zero = Timestamp.zero()
    assert zero.rfc3339nano() == "0001-01-01T00:00:00Z"
    assert zero.go_string() == "0001-01-01 00:00:00 +0000 UTC"
    assert zero.unix() == ZERO_UNIX
    assert zero.is_zero()
    assert Timestamp.parse("0001-01-01T00:00:00Z").is_zero()
    # IsZero is about the instant, not the wall clock.
    assert Timestamp.parse("0001-01-01T01:00:00+01:00").is_zero()
    assert not Timestamp.parse("0001-01-01T00:00:00.000000001Z").is_zero()
    assert not Timestamp.from_unix(0).is_zero()


def test_from_unix_normalises_nanos() -> None:
    assert Timestamp.from_unix(0).rfc3339nano() == "1970-01-01T00:00:00Z"
    assert Timestamp.from_unix(0, -1).rfc3339nano() == "1969-12-31T23:59:59.999999999Z"
    assert Timestamp.from_unix(1, 1_500_000_000) == Timestamp.from_unix(2, 500_000_000)


def test_years_outside_four_digits() -> None:
    # Year 0 is a leap year, so 0000-01-01 is 366 days before 0001-01-01; year -1 is not.
    minus_one = Timestamp.from_unix(ZERO_UNIX - 366 * 86400 - 365 * 86400)
    assert minus_one.rfc3339nano() == "-0001-01-01T00:00:00Z"
    big = Timestamp.parse("9999-12-31T23:59:59Z")
    later = Timestamp.from_unix(big.unix() + 1)
    assert later.rfc3339nano() == "10000-01-01T00:00:00Z"
    with pytest.raises(InvalidDocumentError, match="year outside"):
        later.to_json()
    assert big.to_json() == "9999-12-31T23:59:59Z"


def test_to_datetime_truncates_to_microseconds() -> None:
    ts = Timestamp.parse("2024-05-06T07:08:09.123456789+02:00")
    assert ts.to_datetime() == dt.datetime(2024, 5, 6, 5, 8, 9, 123456, tzinfo=dt.UTC)
    assert ts.to_datetime().tzinfo is dt.UTC
    with pytest.raises(ValueError):
        Timestamp.parse("0000-06-01T00:00:00Z").to_datetime()


def test_from_datetime() -> None:
    tz = dt.timezone(dt.timedelta(hours=-3, minutes=-30))
    ts = Timestamp.from_datetime(dt.datetime(2020, 1, 2, 3, 4, 5, 600, tzinfo=tz))
    assert ts.rfc3339nano() == "2020-01-02T03:04:05.0006-03:30"
    assert Timestamp.from_datetime(dt.datetime(2020, 1, 2)).rfc3339nano() == "2020-01-02T00:00:00Z"


def test_now_is_utc_and_current() -> None:
    before = time.time_ns()
    ts = Timestamp.now()
    after = time.time_ns()
    assert ts.offset_minutes == 0
    assert before <= ts.unix_nano() <= after


def test_equality_and_ordering_are_by_instant() -> None:
    a = Timestamp.parse("2006-01-02T15:04:05Z")
    b = Timestamp.parse("2006-01-02T16:04:05+01:00")
    c = Timestamp.parse("2006-01-02T15:04:05.000000001Z")
    assert a == b and hash(a) == hash(b)
    assert a.rfc3339nano() != b.rfc3339nano()
    assert a < c and c > b and a <= b and b >= a
    assert sorted([c, a]) == [a, c]
    assert b.utc().rfc3339nano() == "2006-01-02T15:04:05Z"
    assert a != "2006-01-02T15:04:05Z"


def test_constructor_validates() -> None:
    with pytest.raises(ValueError):
        Timestamp(0, 1_000_000_000)
    with pytest.raises(ValueError):
        Timestamp(0, -1)
    with pytest.raises(ValueError):
        Timestamp(0, 0, 24 * 60 + 61)


# Instants whose local time, at any offset below 25 hours, stays within years 0000..9999.
_LO = Timestamp.parse("0000-01-02T02:00:00Z").unix()
_HI = Timestamp.parse("9999-12-30T22:00:00Z").unix()

timestamps = st.builds(
    Timestamp,
    st.integers(_LO, _HI),
    st.integers(0, 999_999_999),
    st.integers(-(24 * 60 + 59), 24 * 60 + 59),
)


@given(timestamps)
def test_parse_round_trips_rfc3339nano(ts: Timestamp) -> None:
    text = ts.rfc3339nano()
    back = Timestamp.parse(text)
    assert (back.seconds, back.nanos, back.offset_minutes) == (ts.seconds, ts.nanos, ts.offset_minutes)
    assert back.rfc3339nano() == text


@given(st.integers(ZERO_UNIX, _HI), st.integers(0, 999_999_999))
def test_calendar_agrees_with_datetime(seconds: int, nanos: int) -> None:
    ts = Timestamp.from_unix(seconds, nanos)
    expected = EPOCH + dt.timedelta(seconds=seconds, microseconds=nanos // 1000)
    assert ts.to_datetime() == expected
    assert ts.rfc3339nano().startswith(expected.strftime("%Y-%m-%dT%H:%M:%S").rjust(19, "0"))
    assert Timestamp.from_datetime(expected).unix() == seconds
