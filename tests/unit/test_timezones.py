"""timezones.py: reading the time-zone answers real exports hold (IANA names, cities, offsets, Windows labels)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from mentorctl.timezones import is_offset_only, local_time, participant_zone, read_zone


@pytest.mark.parametrize(("text", "zone"), [
    ("Europe/Berlin", "Europe/Berlin"),
    ("Berlin", "Europe/Berlin"),
    (" new york ", "America/New_York"),
    ("Paris, France", "Europe/Paris"),
    ("(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna", "Europe/Amsterdam"),
    ("(UTC-05:00) Eastern Time (US & Canada)", "America/New_York"),
    ("(UTC+05:30) Chennai, Kolkata, Mumbai, New Delhi", "Asia/Kolkata"),
    ("(UTC) Dublin, Edinburgh, Lisbon, London", "Europe/Dublin"),
    ("Buenos Aires", "America/Argentina/Buenos_Aires"),     # two names of one zone: the longer one
    ("San Francisco", "America/Los_Angeles"), ("Bangalore", "Asia/Kolkata"), ("Munich", "Europe/Berlin"),
    ("Cork", "Europe/Dublin"), ("Abuja", "Africa/Lagos"), ("Manchester", "Europe/London"),
    ("São Paulo", "America/Sao_Paulo"), ("Zürich", "Europe/Zurich"), ("Kraków", "Europe/Warsaw"),
])
def test_names_and_cities_become_real_time_zones(text, zone):
    reading = read_zone(text)
    assert str(reading.zone) == zone and not is_offset_only(reading.zone)


@pytest.mark.parametrize(("text", "hours", "label"), [
    ("GMT+1", 1, "the fixed offset UTC+1"), ("UTC-5", -5, "the fixed offset UTC\u22125"),
    ("UTC+05:30", 5.5, "the fixed offset UTC+5:30"), ("GMT-3:30", -3.5, "the fixed offset UTC\u22123:30"),
    ("+2", 2, "the fixed offset UTC+2"), ("(UTC) Coordinated Universal Time", 0, "the fixed offset UTC+0"),
])
def test_offsets_become_fixed_offsets_labelled_as_such(text, hours, label):
    reading = read_zone(text)
    assert is_offset_only(reading.zone) and reading.how == label
    assert reading.zone.utcoffset(None) == timedelta(hours=hours)


@pytest.mark.parametrize("text", ["Springfield", "UTC+15", "Pacific", "foo", "../etc/passwd"])
def test_what_is_no_zone_stays_unread(text):
    assert read_zone(text).zone is None


def test_a_city_gives_local_time_across_a_clock_change_an_offset_does_not():
    london = ZoneInfo("Europe/London")
    before, after = datetime(2027, 3, 26, 9, tzinfo=london), datetime(2027, 3, 29, 9, tzinfo=london)
    berlin = participant_zone({"timezone": "Berlin"})
    assert local_time(before, berlin).text == "your time: 10:00"
    assert local_time(after, berlin).text == "your time: 10:00"       # both sides of the clock change
    fixed = participant_zone({"timezone": "GMT+1"})
    assert local_time(before, fixed).text == "10:00 UTC+1"
    assert local_time(after, fixed) is None                            # the same clock time as London's now
