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
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from functools import cache, lru_cache
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


_OFFSET_TEXT = re.compile(r"^\(?\s*(?:utc|gmt)?\s*(?:([+\-\u2212])\s*(\d{1,2})(?:\s*[:.h]\s*(\d{2}))?)?\s*\)?\s*(.*)$",
                          re.IGNORECASE)


@dataclass(frozen=True)
class ZoneReading:
    """How a `timezone` cell that is not an IANA name was read: a zone found by a city it names ("Berlin",
    "(UTC+01:00) Amsterdam, Berlin" as Windows and many forms write it), else the fixed offset it gives
    ("GMT+1", "UTC-5", "UTC+05:30"); `zone` is None when it is neither."""

    zone: tzinfo | None
    how: str            # "the time zone Europe/Berlin", "the fixed offset UTC+1", ""


@lru_cache(maxsize=4096)   # once per distinct cell: rosters repeat their zones
def read_zone(text: str) -> ZoneReading:
    """A `timezone` cell as a zone: an IANA name as is; else a city (`zone_by_city`) or a UTC/GMT offset.
    An offset has no clock changes, so it is labelled as an offset wherever a time is shown."""
    zone = zone_from_name(text)
    if zone is not None:
        return ZoneReading(zone, str(zone))
    value = " ".join(str(text).split())
    found = _OFFSET_TEXT.match(value)
    cities = found.group(4) if found else value
    for city in re.split(r"[,;/]| - ", cities):
        by_city = zone_by_city(city)
        if by_city is not None:
            return ZoneReading(by_city, f"the time zone {by_city}")
    bare = found is not None and found.group(2) is None and re.match(r"^\(\s*(utc|gmt)\s*\)", value, re.I)
    if found and (bare or (found.group(2) and int(found.group(2)) <= 14 and int(found.group(3) or 0) < 60)):
        sign = -1 if found.group(1) in ("-", "\u2212") else 1
        offset = timezone(sign * timedelta(hours=int(found.group(2) or 0), minutes=int(found.group(3) or 0)))
        return ZoneReading(offset, f"the fixed offset {offset_label(offset.utcoffset(None))}")
    return ZoneReading(None, "")


# names Windows and form builders show, and cities people write, that are not the city of an IANA zone
# ("(UTC-05:00) Eastern Time (US & Canada)", "San Francisco", "Bangalore"): zone → the names
_ALIAS_NAMES = {
    "America/New_York": ["Eastern Time", "Washington", "Boston", "Philadelphia", "Atlanta", "Miami", "Pittsburgh",
                         "Charlotte", "Orlando", "Baltimore", "Raleigh"],
    "America/Chicago": ["Central Time", "Dallas", "Houston", "Austin", "San Antonio", "Minneapolis", "St Louis",
                        "Nashville", "Kansas City", "New Orleans"],
    "America/Denver": ["Mountain Time", "Salt Lake City", "Albuquerque", "Colorado Springs"],
    "America/Phoenix": ["Arizona", "Tucson"],
    "America/Los_Angeles": ["Pacific Time", "San Francisco", "Seattle", "San Diego", "San Jose", "Portland",
                            "Sacramento", "Oakland", "Palo Alto", "Silicon Valley", "Las Vegas"],
    "America/Anchorage": ["Alaska"], "Pacific/Honolulu": ["Hawaii"],
    "America/Halifax": ["Atlantic Time"], "America/Toronto": ["Ottawa", "Montreal", "Quebec"],
    "America/Edmonton": ["Calgary"], "America/Bogota": ["Medellin", "Cali"],
    "America/Mexico_City": ["Guadalajara", "Mexico"], "America/Sao_Paulo": ["Brasilia", "Rio de Janeiro", "Rio"],
    "Europe/London": ["Manchester", "Birmingham", "Leeds", "Glasgow", "Edinburgh", "Cardiff", "Bristol", "Liverpool",
                      "Newcastle", "Sheffield", "Nottingham", "Belfast", "Oxford", "Cambridge", "Southampton"],
    "Europe/Dublin": ["Cork", "Galway", "Limerick"],
    "Europe/Berlin": ["Munich", "Frankfurt", "Hamburg", "Cologne", "Dusseldorf", "Stuttgart", "Leipzig", "Dresden"],
    "Europe/Paris": ["Lyon", "Marseille", "Toulouse", "Nice", "Bordeaux", "Lille", "Nantes", "Strasbourg"],
    "Europe/Madrid": ["Barcelona", "Valencia", "Seville", "Bilbao", "Malaga"],
    "Europe/Rome": ["Milan", "Turin", "Naples", "Florence", "Bologna", "Venice", "Genoa"],
    "Europe/Amsterdam": ["Rotterdam", "The Hague", "Utrecht", "Eindhoven"], "Europe/Brussels": ["Antwerp", "Ghent"],
    "Europe/Zurich": ["Geneva", "Basel", "Bern", "Lausanne"], "Europe/Lisbon": ["Porto"],
    "Europe/Warsaw": ["Krakow", "Wroclaw", "Gdansk"], "Europe/Stockholm": ["Gothenburg", "Malmo"],
    "Europe/Istanbul": ["Ankara"], "Asia/Dubai": ["Abu Dhabi"],
    "Asia/Kolkata": ["Mumbai", "New Delhi", "Delhi", "Chennai", "Bangalore", "Bengaluru", "Hyderabad", "Pune",
                     "Ahmedabad", "Gurgaon", "Gurugram", "Noida", "India"],
    "Asia/Shanghai": ["Beijing", "Shenzhen", "Guangzhou", "Hangzhou", "China"], "Asia/Tokyo": ["Osaka", "Kyoto"],
    "Asia/Ho_Chi_Minh": ["Saigon"], "Asia/Bangkok": ["Hanoi"],
    "Africa/Lagos": ["Abuja"], "Africa/Johannesburg": ["Cape Town", "Durban", "Pretoria"],
    "Australia/Sydney": ["Canberra"], "Australia/Brisbane": ["Gold Coast"],
}
_ALIASES = {_norm(name): zone for zone, names in _ALIAS_NAMES.items() for name in names}


def zone_by_city(text: str) -> tzinfo | None:
    """The IANA zone whose last part is this city ("new york" → America/New_York), when exactly one is, or
    one of the few names Windows shows for a zone ("Eastern Time (US & Canada)")."""
    from mentorctl.references import without_accents

    key = _norm(re.sub(r"\(.*?\)", "", without_accents(text)))   # São Paulo, Zürich
    zones = (_ALIASES[key],) if key in _ALIASES else _zones_by_city().get(key, ()) if key else ()
    if not zones:
        return None
    found = [zone for zone in map(zone_from_name, zones) if zone is not None]
    instants = [datetime(year, month, 1, 12, tzinfo=UTC) for year in (2026, 2027) for month in (1, 4, 7, 10)]
    same = {tuple(t.astimezone(zone).utcoffset() for t in instants) for zone in found}
    return found[0] if len(same) == 1 else None   # one city, two names (a link, e.g. America/Buenos_Aires)


@cache
def _zones_by_city() -> dict[str, tuple[str, ...]]:
    from zoneinfo import available_timezones

    found: dict[str, list[str]] = {}
    for name in sorted(available_timezones()):
        if "/" in name and not name.startswith(("Etc/", "SystemV/", "US/", "Canada/", "Brazil/", "Chile/",
                                                "Mexico/")):
            found.setdefault(_norm(name.rsplit("/", 1)[1]), []).append(name)
    return {city: tuple(sorted(names, key=lambda n: (-n.count("/"), n))) for city, names in found.items()}


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
    for norm, parse in ((_norm(TIMEZONE_FIELD), lambda v: read_zone(v).zone), (_norm(OFFSET_FIELD),
                                                                                zone_from_offset)):
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
