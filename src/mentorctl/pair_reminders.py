"""Reminders that follow each pair's own clock (pure: nothing is read or written here).

- `after_match: 10d` — once, ten days after the pair started; with `unless: session`, only when the pair has
  logged no session since it started (checked when it falls due and again when it is sent);
- `before_end: 14d` — once, fourteen days before the pair's planned end ("ending soon"; an `extend` moves it);
- `after_first_session: 1d` — once, a day after the pair's first logged session (a pairing-fit check);
- in a rolling programme (`design.intake: rolling`) an `every:` reminder to pairs, mentors or mentees repeats
  from each pair's own start until its planned end (with `when_inactive_for`, only while the pair is
  inactive, its clock starting at its own start).

Only pairs active at `now` are reminded (never paused or ended ones). A one-off occurrence missed by a run
(cron down) is still sent up to `GRACE` later, then dropped. Each message goes under the reminder key of its
occurrence and recipient, so the ledger sends it once; a person in two pairs whose occurrences coincide gets
one message listing both counterparts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from mentorctl.programme import Audience, Intake, Programme, Reminder, parse_duration
from mentorctl.relationships import Relationship, RelationshipState, Status
from mentorctl.reminders import (
    SESSION_EVENTS,
    Directory,
    DueReminder,
    ReminderPlan,
    ScheduledReminder,
    localize,
    reminder_key,
)

if TYPE_CHECKING:
    import pandas as pd

GRACE = timedelta(days=7)


def pair_relative(programme: Programme, reminder: Reminder) -> bool:
    """Whether the reminder runs on each pair's clock rather than the programme's calendar."""
    return reminder.pair_event or (programme.design.intake is Intake.ROLLING and bool(reminder.every)
                                   and reminder.to in (Audience.PAIRS, Audience.MENTORS, Audience.MENTEES))


def needs_sessions(programme: Programme) -> bool:
    return any(pair_relative(programme, r) and (r.unless or r.after_first_session or r.when_inactive_for)
               for r in programme.reminders)


def sessions_by_pair(activity: pd.DataFrame | None, peer: bool) -> dict[tuple[str, str], list[datetime]]:
    """Logged sessions per (mentee_id, mentor_id) — peers: the sorted pair — oldest first, UTC."""
    import pandas as pd

    found: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    if activity is None or activity.empty:
        return found
    events = activity["event"].astype(str).str.lower()
    rows = activity[events.isin(SESSION_EVENTS).to_numpy()]
    stamps = pd.to_datetime(rows["timestamp"], utc=True)
    for mentee, mentor, stamp in zip(rows["mentee_id"].astype(str), rows["mentor_id"].astype(str), stamps,
                                     strict=True):
        key = (min(mentee, mentor), max(mentee, mentor)) if peer else (mentee, mentor)
        found[key].append(stamp.to_pydatetime())
    for stamps_of_pair in found.values():
        stamps_of_pair.sort()
    return found


def _at(programme: Programme, day: date, reminder: Reminder) -> datetime:
    hours, minutes = (int(p) for p in reminder.time.split(":"))
    return localize(datetime.combine(day, time(hours, minutes)), programme.tz)


def _start_moment(programme: Programme, pair: Relationship) -> datetime:
    return localize(datetime.combine(pair.start, time(0)), programme.tz)


def occurrences(programme: Programme, reminder: Reminder, pair: Relationship,
                sessions: Sequence[datetime]) -> list[datetime]:
    """Every occurrence of the reminder on this pair's clock, sorted."""
    if reminder.after_match:
        return [_at(programme, pair.start + parse_duration(reminder.after_match), reminder)]
    if reminder.before_end:
        if pair.planned_end is None:
            return []
        return [_at(programme, pair.planned_end - parse_duration(reminder.before_end), reminder)]
    if reminder.after_first_session:
        start = _start_moment(programme, pair)
        first = next((s for s in sessions if s >= start), None)
        if first is None:
            return []
        return [_at(programme, first.astimezone(programme.tz).date() + parse_duration(reminder.after_first_session),
                    reminder)]
    step = parse_duration(reminder.every or "1w")
    end = pair.planned_end or programme.design.end_date
    out, day = [], pair.start + step
    while day < end:
        out.append(_at(programme, day, reminder))
        day += step
    return out


def due_pair_reminders(programme: Programme, now: datetime, directory: Directory, state: RelationshipState, *,
                       activity: pd.DataFrame | None = None, recorded: Mapping[str, str] | None = None,
                       retry_unknown: bool = False) -> ReminderPlan:
    """Every pair-clock reminder due at `now` (see the module docs), as a ReminderPlan to merge with the
    calendar's."""
    recorded = recorded or {}
    sessions = sessions_by_pair(activity, programme.is_peer)
    matches = directory.matches
    active = {r.key: r for r in state.relationships if r.status is Status.ACTIVE}
    rows_of: dict[tuple[str, str], list[int]] = defaultdict(list)
    if matches is not None:
        for index, (mentee, mentor) in enumerate(zip(matches["mentee_id"].astype(str),
                                                     matches["mentor_id"].astype(str), strict=True)):
            key = (min(mentee, mentor), max(mentee, mentor)) if programme.is_peer else (mentee, mentor)
            rows_of[key].append(index)
    due: list[DueReminder] = []
    unknown: list[str] = []
    for reminder in programme.reminders:
        if not pair_relative(programme, reminder):
            continue
        by_time: dict[datetime, list[int]] = defaultdict(list)
        for key, pair in active.items():
            times = [t for t in occurrences(programme, reminder, pair, sessions.get(key, [])) if t <= now]
            if not times or key not in rows_of:
                continue
            latest = times[-1]
            if not reminder.every and now >= latest + GRACE:
                continue
            if not _still_wanted(programme, reminder, pair, sessions.get(key, []), latest, now):
                continue
            by_time[latest] += rows_of[key]
        for moment, rows in sorted(by_time.items()):
            assert matches is not None
            item = ScheduledReminder(id=reminder.id, to=reminder.to, template=reminder.template, times=(moment,),
                                     inactive_for=parse_duration(reminder.when_inactive_for)
                                     if reminder.when_inactive_for else None)
            members = directory.audience(Audience.PAIRS if reminder.to is Audience.PAIRS else reminder.to,
                                         matches.iloc[sorted(set(rows))])
            for person in members:
                ledger_key = reminder_key(reminder.id, moment, person.id)
                status = recorded.get(ledger_key)
                if status == "sending" and not retry_unknown:
                    unknown.append(ledger_key)
                elif status in (None, "failed", "sending"):
                    due.append(DueReminder(key=ledger_key, reminder=item, occurrence=moment, recipient=person,
                                           status=status))
    return ReminderPlan(now=now, due=due, skipped=[], unknown=unknown)


def _still_wanted(programme: Programme, reminder: Reminder, pair: Relationship, sessions: Sequence[datetime],
                  moment: datetime, now: datetime) -> bool:
    """`unless: session`: no session since the start (up to now); `when_inactive_for`: no session in the
    window before the occurrence nor since (the pair's clock starts at its own start)."""
    start = _start_moment(programme, pair)
    since_start = [s for s in sessions if start <= s <= now]
    if reminder.unless == "session" and since_start:
        return False
    if reminder.when_inactive_for and reminder.every:
        window = parse_duration(reminder.when_inactive_for)
        last = max([start, *(s for s in since_start if s <= moment)])
        met_since = any(s > moment for s in since_start)
        if last > moment - window or met_since:
            return False
    return True


def escalated_pairs(programme: Programme, state: RelationshipState, activity: pd.DataFrame | None,
                    now: datetime) -> list[dict[str, Any]]:
    """Active pairs inactive beyond the longest `escalate_after` of the reminders (oldest first), for the
    coordinator's digest: mentee_id, mentor_id, last_session (or none), days_inactive (calendar days in the
    programme's time zone, as the digest's other lists count them)."""
    limits = [parse_duration(r.escalate_after) for r in programme.reminders if r.escalate_after]
    if not limits:
        return []
    limit = max(limits)
    sessions = sessions_by_pair(activity, programme.is_peer)
    out = []
    for pair in state.with_status(Status.ACTIVE):
        start = _start_moment(programme, pair)
        held = [s for s in sessions.get(pair.key, []) if start <= s <= now]
        last = held[-1] if held else None
        quiet_since = last or start
        if now - quiet_since >= limit:
            out.append({"mentee_id": pair.mentee_id, "mentor_id": pair.mentor_id,
                        "last_session": last.astimezone(programme.tz).date().isoformat() if last else None,
                        "days_inactive": (now.astimezone(programme.tz).date()
                                          - quiet_since.astimezone(programme.tz).date()).days})
    return sorted(out, key=lambda p: (-p["days_inactive"], p["mentee_id"], p["mentor_id"]))
