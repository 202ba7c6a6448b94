"""Participants' own time zones: "your time" for a session, offsets labelled as offsets, clock changes.

A person's zone comes from a `timezone` field (an IANA name such as America/New_York: the clock time is
worked out with zoneinfo for the session's own date, so it is right on both sides of a clock change) or,
failing that, a `utc_offset` field (hours, e.g. -5 or 5.5). An offset is not a time zone: New York is
UTC−5 in January and UTC−4 in July. A time worked out from an offset is therefore labelled with the offset
("09:00 UTC−5") and never called "your time"; `validate` warns when people known only by an offset meet a
clock change of the programme's time zone inside the programme.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Any

TIMEZONE_FIELD = "timezone"
OFFSET_FIELD = "utc_offset"
MINUS = "\u2212"


def _norm(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", str(name).lower())


def zone_from_name(text: str) -> tzinfo | None:
    """The IANA zone called `text`, or None when there is none by that name."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = str(text).strip()
    if not name or name.startswith(("/", ".")) or ".." in name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def zone_from_offset(value: Any) -> tzinfo | None:
    """A fixed-offset zone for `value` hours (-14 to 14), or None."""
    try:
        hours = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(hours) or not -14 <= hours <= 14:
        return None
    return timezone(timedelta(hours=hours))


def participant_zone(person: Mapping[str, Any], private: set[str] | frozenset[str] = frozenset()) -> tzinfo | None:
    """The person's own zone from `timezone` (preferred) or `utc_offset`; None when they have neither, the
    value is unusable, or the field is private (`private`: normalised field names)."""
    from mentorctl.people import clean

    fields = {_norm(k): k for k in person if not str(k).startswith("_")}
    for norm, parse in ((_norm(TIMEZONE_FIELD), zone_from_name), (_norm(OFFSET_FIELD), zone_from_offset)):
        if norm not in fields or norm in private:
            continue
        value = clean(person[fields[norm]])
        if value is None or str(value).strip() == "":
            continue
        zone = parse(value)
        if zone is not None:
            return zone
    return None


def is_offset_only(zone: tzinfo | None) -> bool:
    """A fixed offset (from `utc_offset`), not a real time zone."""
    return isinstance(zone, timezone)


def offset_label(offset: timedelta | None) -> str:
    """UTC+1, UTC−5, UTC+5:30, UTC+0 (with a real minus sign)."""
    minutes = int((offset or timedelta()).total_seconds() // 60)
    sign = "+" if minutes >= 0 else MINUS
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


@dataclass(frozen=True)
class LocalTime:
    """A session's start in a participant's zone."""

    clock: str          # "10:00"
    day: str            # " on Tuesday 12 January" when the date differs from the programme's, else ""
    label: str          # "your time" for a time zone, "UTC−5" for an offset
    offset_only: bool

    @property
    def time(self) -> str:
        """"10:00", "00:30 on Tuesday 12 January"; with the offset when only that is known ("09:00 UTC−5")."""
        return f"{self.clock} {self.label}{self.day}" if self.offset_only else f"{self.clock}{self.day}"

    @property
    def text(self) -> str:
        """"your time: 10:00" for a time zone; "09:00 UTC−5" for an offset."""
        return self.time if self.offset_only else f"{self.label}: {self.time}"


def local_time(start: datetime, zone: tzinfo | None) -> LocalTime | None:
    """`start` (aware) in `zone`, for the session's own date; None without a zone or when it is the same
    clock time as in the programme's zone (start's own zone)."""
    if zone is None:
        return None
    local = start.astimezone(zone)
    if local.utcoffset() == start.utcoffset():
        return None
    day = "" if local.date() == start.date() else f" on {local:%A} {local.day} {local:%B}"
    if is_offset_only(zone):
        return LocalTime(f"{local:%H:%M}", day, offset_label(local.utcoffset()), True)
    return LocalTime(f"{local:%H:%M}", day, "your time", False)


def clock_changes(zone: tzinfo, first: date, last: date) -> list[date]:
    """The days from `first` to `last` (inclusive) on which `zone` changes its UTC offset."""
    changes = []
    day = first
    previous = datetime(first.year, first.month, first.day, 12, tzinfo=zone).utcoffset()
    while day < last:
        day += timedelta(days=1)
        offset = datetime(day.year, day.month, day.day, 12, tzinfo=zone).utcoffset()
        if offset != previous:
            changes.append(day)
            previous = offset
    return changes
