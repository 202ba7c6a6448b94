"""The schedule, pure: every occurrence of every reminder, their identities in the ledger, what is upcoming.

Time: every occurrence is computed in the programme's time zone with `zoneinfo`. A reminder at 09:00 stays
at 09:00 local time across daylight-saving changes. Its identity in the ledger is the reminder's id and the
local due day (`reminder:checkin:2026-03-30:mentor:M1`), not the minute: moving a reminder from 09:00 to
09:30 never sends again what already went that day. Only a cron reminder that fires several times on one day
adds the local time to tell those apart (`2026-03-30T17:00`). Ledgers written before this rule (keys with the
full date-time) are read as the same occurrences (due.py). A wall-clock time that does not exist on a
spring-forward day moves forward by the gap (02:30 becomes 03:30); an ambiguous one on a fall-back day is the
first instance.

Schedule semantics (documented for coordinators in the README):
- `every: 2w` — at `time` on start + 2w, start + 4w, … while the date is before the end date
  (no reminder on the start date itself: the welcome pack covers day one).
- `at: week 13` — week 1 starts on the start date, so week 13 is start + 12 weeks; `at: YYYY-MM-DD` is that day.
- `cron: "0 9 * * MON"` — the cron expression in the programme's time zone, from the start date to the end.
- training sessions — `schedule.training_reminders.days_before` days before each session, at the session's
  local time; such a reminder is no longer due once the session has started.
Nothing is due after the programme's end date.

Nothing here reads or writes a file.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from mentorctl.errors import ProgrammeError
from mentorctl.programme import Audience, Programme, Reminder, Session, parse_duration


@dataclass(frozen=True)
class ScheduledReminder:
    """One reminder of the schedule (from `reminders:` or an automatic training reminder)."""

    id: str
    to: Audience
    template: str
    times: tuple[datetime, ...]          # every occurrence, tz-aware, sorted
    expires: datetime | None = None      # not due at or after this instant
    inactive_for: timedelta | None = None
    session: Session | None = None
    session_start: datetime | None = None

    def latest_due(self, now: datetime) -> tuple[datetime | None, tuple[datetime, ...]]:
        """The latest occurrence at or before `now` (None if none is due or it expired) and the older ones."""
        due = tuple(t for t in self.times if t <= now)
        if not due or (self.expires is not None and now >= self.expires):
            return None, due
        return due[-1], due[:-1]


def localize(naive: datetime, tz: tzinfo) -> datetime:
    """Attach `tz` to a wall-clock time; a time in a spring-forward gap moves forward by the gap."""
    if naive.tzinfo is not None:
        return naive.astimezone(tz)
    return naive.replace(tzinfo=tz, fold=0).astimezone(UTC).astimezone(tz)


def occurrence_iso(moment: datetime) -> str:
    """The occurrence's identity in the ledger: local ISO date-time with offset, to the second."""
    return moment.replace(microsecond=0).isoformat()


def _time_of_day(text: str) -> time:
    hours, minutes = (int(p) for p in text.split(":"))
    return time(hours, minutes)


def _end(programme: Programme) -> datetime:
    return localize(datetime.combine(programme.design.end_date, time(0)), programme.tz)


def reminder_times(programme: Programme, reminder: Reminder) -> tuple[datetime, ...]:
    """Every occurrence of a configured reminder, tz-aware in the programme's time zone, sorted, unique."""
    tz = programme.tz
    start: date = programme.design.start_date
    end: date = programme.design.end_date
    at_time = _time_of_day(reminder.time)
    naive: list[datetime] = []
    if reminder.every:
        step = parse_duration(reminder.every)
        if step <= timedelta(0):
            raise ProgrammeError(f"reminder '{reminder.id}': every must be longer than zero")
        moment = datetime.combine(start, at_time) + step
        while moment.date() < end:
            naive.append(moment)
            moment += step
    elif reminder.at:
        text = reminder.at.strip()
        week = re.fullmatch(r"(?i)week\s+(\d+)", text)
        day = start + timedelta(weeks=int(week.group(1)) - 1) if week else date.fromisoformat(text)
        naive.append(datetime.combine(day, at_time))
    elif reminder.cron:
        # Iterate in naive wall-clock time, then attach the zone: cron fields mean local time, and each
        # wall-clock time comes out once even on a fall-back day.
        from croniter import CroniterBadDateError, croniter

        iterator = croniter(reminder.cron, datetime.combine(start, time(0)) - timedelta(seconds=1))
        try:  # croniter gives up on an expression with no next time within its search window
            while (moment := iterator.get_next(datetime)).date() < end:
                naive.append(moment)
        except CroniterBadDateError:
            pass
    return tuple(sorted({localize(m, tz) for m in naive}))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "session"


def training_schedule(programme: Programme) -> list[ScheduledReminder]:
    """An automatic reminder `days_before` each training session (none when disabled)."""
    settings = programme.schedule.training_reminders
    if not settings.enabled:
        return []
    items = []
    end = _end(programme)
    for session in programme.schedule.training:
        start = localize(session.start, programme.tz)
        wall = start.replace(tzinfo=None) - timedelta(days=settings.days_before)
        when = localize(wall, programme.tz)
        items.append(ScheduledReminder(  # nothing is sent after the programme's last day
            id=f"training-{_slug(session.title)}", to=session.audience, template=settings.template,
            times=(when,) if when < end else (), expires=min(start, end), session=session, session_start=start))
    return items


def programme_schedule(programme: Programme) -> list[ScheduledReminder]:
    """Every reminder of the programme with its occurrences: configured ones, then training reminders."""
    from mentorctl.pair_reminders import pair_relative

    end = _end(programme)
    items = [
        ScheduledReminder(
            id=r.id, to=r.to, template=r.template, times=reminder_times(programme, r), expires=end,
            inactive_for=parse_duration(r.when_inactive_for) if r.when_inactive_for else None)
        for r in programme.reminders if not pair_relative(programme, r)  # pair clocks: pair_reminders.py
    ]
    return items + training_schedule(programme)


def occurrence_id(item: ScheduledReminder, moment: datetime) -> str:
    """An occurrence's identity: its local day (`2026-03-30`), with the local time (`2026-03-30T17:00`) only
    when the reminder has several occurrences on that day."""
    day = moment.date()
    if sum(1 for t in item.times if t.date() == day) > 1:
        return f"{day.isoformat()}T{moment:%H:%M}"
    return day.isoformat()


def reminder_key(reminder_id: str, occurrence: datetime | str, recipient_id: str) -> str:
    """The ledger key of one occurrence for one recipient; a datetime stands for its local day."""
    ident = occurrence if isinstance(occurrence, str) else occurrence.date().isoformat()
    return f"reminder:{reminder_id}:{ident}:{recipient_id}"


def upcoming_reminders(programme: Programme, start: datetime, end: datetime,
                       schedule: Sequence[ScheduledReminder] | None = None,
                       ) -> list[tuple[datetime, ScheduledReminder]]:
    """Occurrences in (start, end], in time order."""
    found = [(t, item) for item in (programme_schedule(programme) if schedule is None else schedule)
             for t in item.times if start < t <= end and (item.expires is None or t < item.expires)]
    return sorted(found, key=lambda pair: (pair[0], pair[1].id))
