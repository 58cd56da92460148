"""Time helpers for the generator.

The generator keeps every moment as an integer of *local* (Europe/Amsterdam wall clock)
seconds since 1970-01-01 00:00 local, and every day as a proleptic ordinal
(`date.toordinal()`). Only when a moment is written does it get its UTC offset. Times
are never drawn inside the hour that daylight saving time skips or repeats (02:00-03:00
local), so wall-clock order is instant order.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from zoneinfo import ZoneInfo

AMS = ZoneInfo("Europe/Amsterdam")
DAY = 86_400
ORD_1970 = date(1970, 1, 1).toordinal()

LOCAL = 0  # written with the local offset, +01:00 or +02:00
ZULU = 1  # written in UTC with "Z"
UTC00 = 2  # written in UTC with "+00:00"


def lsec(day_ordinal: int, seconds: int = 0) -> int:
    """Local seconds of a day ordinal plus seconds into that day."""
    return (day_ordinal - ORD_1970) * DAY + seconds


def day_of(local_seconds: int) -> int:
    """Day ordinal (local calendar date) of a local-seconds moment."""
    return local_seconds // DAY + ORD_1970


@cache
def iso_day(day_ordinal: int) -> str:
    return date.fromordinal(day_ordinal).isoformat()


@cache
def compact_day(day_ordinal: int) -> str:
    d = date.fromordinal(day_ordinal)
    return f"{d.year:04d}{d.month:02d}{d.day:02d}"


@cache
def dmy_day(day_ordinal: int) -> str:
    d = date.fromordinal(day_ordinal)
    return f"{d.day:02d}-{d.month:02d}-{d.year:04d}"


@cache
def _offset_hours(day_ordinal: int, hour: int) -> int:
    d = date.fromordinal(day_ordinal)
    aware = datetime(d.year, d.month, d.day, hour, 30, tzinfo=AMS)
    offset = aware.utcoffset()
    assert offset is not None
    return int(offset.total_seconds()) // 3600


def offset_hours(local_seconds: int) -> int:
    return _offset_hours(day_of(local_seconds), (local_seconds % DAY) // 3600)


def utc_seconds(local_seconds: int) -> int:
    """The instant (seconds since the Unix epoch) of a local-seconds moment."""
    return local_seconds - 3600 * offset_hours(local_seconds)


def _clock(seconds_of_day: int) -> str:
    h, rest = divmod(seconds_of_day, 3600)
    m, s = divmod(rest, 60)
    return f"{h:02d}:{m:02d}:{s:02d}"


def fmt_ts(local_seconds: int, style: int = LOCAL) -> str:
    """ISO 8601 timestamp with offset, written in the given style."""
    off = offset_hours(local_seconds)
    if style == LOCAL:
        day, sod = divmod(local_seconds, DAY)
        return f"{iso_day(day + ORD_1970)}T{_clock(sod)}+{off:02d}:00"
    day, sod = divmod(local_seconds - 3600 * off, DAY)
    suffix = "Z" if style == ZULU else "+00:00"
    return f"{iso_day(day + ORD_1970)}T{_clock(sod)}{suffix}"


def name_stamp(local_seconds: int) -> str:
    """`JJJJMMDDTHHMMSS` of a local moment, as used in BVO file names."""
    day, sod = divmod(local_seconds, DAY)
    return f"{compact_day(day + ORD_1970)}T{_clock(sod).replace(':', '')}"


def ordinal(d: date) -> int:
    return d.toordinal()
