"""Reminders from the programme's schedule: occurrences, who receives them, what is due now, and the lock.

Time: every occurrence is computed in the programme's time zone with `zoneinfo`. A reminder at 09:00 stays
at 09:00 local time across daylight-saving changes. Its identity in the ledger is the reminder's id and the
local due day (`reminder:checkin:2026-03-30:mentor:M1`), not the minute: moving a reminder from 09:00 to
09:30 never sends again what already went that day. Only a cron reminder that fires several times on one day
adds the local time to tell those apart (`2026-03-30T17:00`). Ledgers written before this rule (keys with the
full date-time) are read as the same occurrences. A wall-clock time that does not exist on a spring-forward
day moves forward by the gap (02:30 becomes 03:30); an ambiguous one on a fall-back day is the first instance.

Schedule semantics (documented for coordinators in the README):
- `every: 2w` — at `time` on start + 2w, start + 4w, … while the date is before the end date
  (no reminder on the start date itself: the welcome pack covers day one).
- `at: week 13` — week 1 starts on the start date, so week 13 is start + 12 weeks; `at: YYYY-MM-DD` is that day.
- `cron: "0 9 * * MON"` — the cron expression in the programme's time zone, from the start date to the end.
- training sessions — `schedule.training_reminders.days_before` days before each session, at the session's
  local time; such a reminder is no longer due once the session has started.
Nothing is due after the programme's end date.

Due and catch-up: for each reminder and recipient, only the LATEST occurrence at or before now is due (if
the ledger has not recorded it). Older occurrences that were never recorded (cron was down) are recorded as
`skipped`, so they never go out later: after a gap each person gets one reminder, not a burst.

Delivery is at-most-once: the ledger records `sending` before a message goes and `sent` after. A crash in
between leaves `sending`, which is never re-sent automatically (better a missed reminder than a duplicate);
`mentorctl remind --retry-unknown` re-sends those on purpose. A `failed` send (the server refused it) is
retried on the next run while its occurrence is still the latest.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mentorctl.errors import MentorctlError, ProgrammeError
from mentorctl.programme import Audience, Programme, Reminder, Session, parse_duration

if TYPE_CHECKING:
    import pandas as pd

COORDINATOR_ID = "coordinator"
SESSION_EVENTS = frozenset({"session", "meeting"})
LOCK_FILE = "send.lock"     # ledger.SEND_LOCK_FILE: one lock for every command that sends


# --- occurrences -----------------------------------------------------------------------------------------


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


# --- recipients ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    """Someone a reminder goes to. `id` is the ledger's recipient id (`mentor:M001`, `coordinator`)."""

    id: str
    role: str                                   # mentor | mentee | participant | coordinator
    person_id: str | None
    name: str
    email: str | None
    profile: Mapping[str, Any] = field(default_factory=dict)   # their card (people.person_card): public only
    counterparts: tuple[Mapping[str, Any], ...] = ()             # the cards of the people they are matched with
    pairs: tuple[tuple[str, str], ...] = ()                      # (mentor_id, mentee_id) of their pairs
    zone: tzinfo | None = None                                   # their own time zone (timezones.py), if known


def _clean(value: Any) -> Any:
    from mentorctl.people import clean

    return clean(value)


class Directory:
    """Who can receive reminders: rostered people, matched pairs and the coordinator.

    Decisions: `mentors`, `mentees` and `everyone` mean every rostered person of that role (matched or not:
    a survey or training invitation is for everyone taking part); `pairs` means every matched person, each
    with their counterparts; `coordinator` is `programme.coordinator`."""

    def __init__(self, programme: Programme, participants: Any, matches: pd.DataFrame | None):
        from mentorctl.people import person_card, privacy_policy, private_fields
        from mentorctl.timezones import participant_zone

        self.programme = programme
        policy = privacy_policy(programme, participants)
        private = frozenset(private_fields(programme))
        self.matches = matches
        self.people: dict[str, Recipient] = {}
        self._by_role: dict[str, list[str]] = {"mentor": [], "mentee": []}
        everyone = participants.participants
        rosters = [("mentor", participants.mentors or everyone), ("mentee", participants.mentees or everyone)]
        self._rows: dict[str, dict[str, Any]] = {}
        for side, roster in rosters:
            if roster is None:
                continue
            frame = roster.frame
            for row in frame.to_dict("records"):
                rid = f"{roster.role}:{row['id']}"
                self._by_role[side].append(rid)
                if rid not in self.people:
                    self._rows[rid] = row
                    email = _clean(row.get("email"))
                    self.people[rid] = Recipient(
                        id=rid, role=roster.role, person_id=str(row["id"]), name=str(_clean(row.get("name")) or ""),
                        email=email, profile=person_card(row, programme, role=roster.role, policy=policy),
                        zone=participant_zone(row, private))
        self._mentor_role = rosters[0][1].role if rosters[0][1] is not None else "mentor"
        self._mentee_role = rosters[1][1].role if rosters[1][1] is not None else "mentee"

    def person(self, role: str, person_id: str) -> Recipient | None:
        return self.people.get(f"{role}:{person_id}")

    def pair_members(self, pairs: pd.DataFrame | None = None) -> list[Recipient]:
        """Every person in the given pairs (default: all matches), each with the counterparts of those pairs."""
        pairs = self.matches if pairs is None else pairs
        if pairs is None or pairs.empty:
            return []
        collected: dict[str, tuple[list[Mapping[str, Any]], list[tuple[str, str]]]] = {}
        for mentor_id, mentee_id in zip(pairs["mentor_id"], pairs["mentee_id"], strict=True):
            mentor = self.person(self._mentor_role, str(mentor_id))
            mentee = self.person(self._mentee_role, str(mentee_id))
            for me, other in ((mentor, mentee), (mentee, mentor)):
                if me is None:
                    continue
                counterparts, own_pairs = collected.setdefault(me.id, ([], []))
                if other is not None:
                    counterparts.append(other.profile)
                own_pairs.append((str(mentor_id), str(mentee_id)))
        return [Recipient(id=p.id, role=p.role, person_id=p.person_id, name=p.name, email=p.email,
                          profile=p.profile, counterparts=tuple(cps), pairs=tuple(prs), zone=p.zone)
                for p in (self.people[rid] for rid in collected)
                for cps, prs in [collected[p.id]]]

    def coordinator(self) -> Recipient:
        contact = self.programme.programme.coordinator
        if contact is None:
            raise ProgrammeError("a reminder goes to the coordinator, but programme.coordinator is not set; "
                                 "add programme: coordinator: {name: …, email: …} to programme.yaml")
        profile = {"name": contact.name, "email": contact.email}
        return Recipient(id=COORDINATOR_ID, role="coordinator", person_id=None, name=contact.name or "",
                         email=contact.email, profile={**profile, "id": None, "role": "coordinator",
                                                       "profile": profile, "fields": []})

    def audience(self, to: Audience, inactive: pd.DataFrame | None = None) -> list[Recipient]:
        """Recipients of an audience; with `inactive` pairs given, only people in one of those pairs."""
        if to is Audience.COORDINATOR:
            return [self.coordinator()] if inactive is None or not inactive.empty else []
        if to is Audience.PAIRS or inactive is not None:
            members = self.pair_members(inactive)
            if to is Audience.PAIRS or to is Audience.EVERYONE:
                return members
            side = "mentor" if to is Audience.MENTORS else "mentee"
            wanted = set(self._by_role[side])
            return [m for m in members if m.id in wanted]
        ids: list[str] = []
        if to in (Audience.MENTORS, Audience.EVERYONE):
            ids += self._by_role["mentor"]
        if to in (Audience.MENTEES, Audience.EVERYONE):
            ids += self._by_role["mentee"]
        return [self.people[rid] for rid in dict.fromkeys(ids)]


# --- activity --------------------------------------------------------------------------------------------


def last_sessions(matches: pd.DataFrame, activity: pd.DataFrame | None, now: datetime,
                  peer: bool = False) -> pd.Series:
    """The last logged session at or before `now` of each matched pair (NaT when none), aligned with
    `matches`' rows. In peer programmes a session logged either way round counts."""
    import pandas as pd

    result = pd.Series(pd.NaT, index=matches.index, dtype="datetime64[ns, UTC]")
    if activity is None or activity.empty or matches.empty:
        return result
    stamps = pd.to_datetime(activity["timestamp"], utc=True)
    events = activity["event"].astype(str).str.lower()
    mask = events.isin(SESSION_EVENTS) & (stamps <= pd.Timestamp(now).tz_convert("UTC"))
    log = pd.DataFrame({"a": activity["mentor_id"].astype(str), "b": activity["mentee_id"].astype(str),
                        "t": stamps})[mask.to_numpy()]
    pairs = pd.DataFrame({"a": matches["mentor_id"].astype(str), "b": matches["mentee_id"].astype(str)},
                         index=matches.index)
    if peer:
        for frame in (log, pairs):
            low = frame[["a", "b"]].min(axis=1)
            high = frame[["a", "b"]].max(axis=1)
            frame["a"], frame["b"] = low, high
    last = log.groupby(["a", "b"])["t"].max().rename("last")
    joined = pairs.join(last, on=["a", "b"])
    return joined["last"].astype("datetime64[ns, UTC]")


def inactive_pairs(programme: Programme, matches: pd.DataFrame, activity: pd.DataFrame | None,
                   now: datetime, window: timedelta, as_of: datetime | None = None) -> pd.DataFrame:
    """Matched pairs with no logged session from `window` before `as_of` (default: now) up to `now`.

    For a reminder occurrence, `as_of` is the occurrence: the pair must have been inactive when it fell due
    and must not have met since (a late run never nudges a pair that was active at the time). A pair's
    clock starts at the programme's start date, so nobody is nudged before `window` has passed."""
    import pandas as pd

    last = last_sessions(matches, activity, now, peer=programme.is_peer)
    start = pd.Timestamp(localize(datetime.combine(programme.design.start_date, time(0)), programme.tz))
    since = last.where(last > start, start.tz_convert("UTC"))   # NaT (never met) counts from the start
    cutoff = pd.Timestamp(as_of or now).tz_convert("UTC") - pd.Timedelta(window)
    return matches[(since <= cutoff).to_numpy()]


# --- what is due -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DueReminder:
    """One message to send: an occurrence of a reminder for one recipient."""

    key: str
    reminder: ScheduledReminder
    occurrence: datetime
    recipient: Recipient
    status: str | None = None      # the ledger's status before this run: None, failed, or sending (retried)
    occurrence_id: str = ""        # the occurrence's identity in the ledger key (its local day, see occurrence_id)


@dataclass(frozen=True)
class Skipped:
    """An older occurrence superseded by a later one before it was sent (catch-up after a gap)."""

    key: str
    reminder_id: str
    recipient_id: str


@dataclass(frozen=True)
class ReminderPlan:
    """What one `remind` run should do at `now`."""

    now: datetime
    due: list[DueReminder]
    skipped: list[Skipped]         # older, never-recorded occurrences superseded by a later one
    unknown: list[str]             # keys left in `sending` by a crashed run (not re-sent without retry_unknown)


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


_KEY_OCCURRENCE = re.compile(r"(\d{4}-\d{2}-\d{2})(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[+-]\d{2}:\d{2}|Z)?)?:(.+)")
_STATUS_RANK = {"sent": 0, "skipped": 1, "sending": 2, "failed": 3}


def _recorded_by_identity(recorded: Mapping[str, str], items: Sequence[ScheduledReminder],
                          tz: tzinfo) -> dict[str, str]:
    """The ledger's statuses keyed the current way: keys written with the full date-time (older versions)
    are mapped to their occurrence's identity; when two keys meet, sent beats skipped beats sending beats
    failed."""
    by_id = sorted(((f"reminder:{item.id}:", item) for item in items), key=lambda pair: -len(pair[0]))
    out: dict[str, str] = {}
    for key, status in recorded.items():
        normal = key
        for prefix, item in by_id:
            if not key.startswith(prefix):
                continue
            match = _KEY_OCCURRENCE.fullmatch(key[len(prefix):])
            if match is None:
                continue
            day, clock, recipient = match.groups()
            ident = day
            if clock:
                try:
                    moment = datetime.fromisoformat(day + clock)
                except ValueError:
                    break
                moment = moment.astimezone(tz) if moment.tzinfo else localize(moment, tz)
                ident = occurrence_id(item, moment)
            normal = reminder_key(item.id, ident, recipient)
            break
        if normal not in out or _STATUS_RANK.get(status, 9) < _STATUS_RANK.get(out[normal], 9):
            out[normal] = status
    return out


def due_reminders(programme: Programme, now: datetime, directory: Directory, *,
                  activity: pd.DataFrame | None = None, recorded: Mapping[str, str] | None = None,
                  retry_unknown: bool = False, schedule: Sequence[ScheduledReminder] | None = None,
                  ) -> ReminderPlan:
    """Every reminder due at `now`: per reminder and recipient the latest occurrence at or before `now`
    that the ledger (`recorded`: key → status) has not recorded as sent, skipped or (unless
    `retry_unknown`) sending. Pure: nothing is read or written."""
    if now.tzinfo is None:
        raise MentorctlError("`now` must carry a time zone")
    items = programme_schedule(programme) if schedule is None else schedule
    recorded = _recorded_by_identity(recorded or {}, items, programme.tz)
    due: list[DueReminder] = []
    skipped: list[Skipped] = []
    unknown: list[str] = []
    for item in items:
        latest, older = item.latest_due(now)
        if latest is None:
            continue
        latest_id = occurrence_id(item, latest)
        older_ids = [i for i in dict.fromkeys(occurrence_id(item, t) for t in older) if i != latest_id]
        if item.to is Audience.PAIRS and directory.matches is None:
            raise ProgrammeError(f"reminder '{item.id}' goes to pairs, but there is no out/matches.csv yet; "
                                 "run `mentorctl match` first")
        inactive = None
        if item.inactive_for is not None:
            matches = directory.matches
            if matches is None:
                continue  # no pairs yet, so no inactive pair: nobody to nudge
            inactive = (matches.iloc[0:0] if matches.empty
                        else inactive_pairs(programme, matches, activity, now, item.inactive_for, as_of=latest))
        for person in directory.audience(item.to, inactive):
            key = reminder_key(item.id, latest_id, person.id)
            status = recorded.get(key)
            if status == "sending" and not retry_unknown:
                unknown.append(key)
            elif status in (None, "failed", "sending"):
                due.append(DueReminder(key=key, reminder=item, occurrence=latest, recipient=person, status=status,
                                       occurrence_id=latest_id))
            skipped += [Skipped(k, item.id, person.id) for ident in older_ids
                        if (k := reminder_key(item.id, ident, person.id)) not in recorded]
    return ReminderPlan(now=now, due=due, skipped=skipped, unknown=unknown)


def upcoming_reminders(programme: Programme, start: datetime, end: datetime,
                       schedule: Sequence[ScheduledReminder] | None = None,
                       ) -> list[tuple[datetime, ScheduledReminder]]:
    """Occurrences in (start, end], in time order."""
    found = [(t, item) for item in (programme_schedule(programme) if schedule is None else schedule)
             for t in item.times if start < t <= end and (item.expires is None or t < item.expires)]
    return sorted(found, key=lambda pair: (pair[0], pair[1].id))


# --- digest ----------------------------------------------------------------------------------------------


def digest_context(programme: Programme, directory: Directory, activity: pd.DataFrame | None,
                   now: datetime, days_ahead: int = 14, escalated: Sequence[Mapping[str, Any]] = ()
                   ) -> dict[str, Any]:
    """The coordinator's digest: pairs that have not met, pairs overdue for a session, upcoming sessions, and
    pairs inactive beyond a reminder's `escalate_after` (`escalated`)."""
    import pandas as pd

    not_met: list[dict[str, Any]] = []
    overdue: list[dict[str, Any]] = []
    matches = directory.matches
    if matches is not None and not matches.empty:
        last = last_sessions(matches, activity, now, peer=programme.is_peer)
        limit = pd.Timestamp(now).tz_convert("UTC") - pd.Timedelta(parse_duration(programme.design.checkin_every))
        names = matches.assign(_last=last.to_numpy())
        for row in names.to_dict("records"):
            entry = {"mentor": _clean(row.get("mentor_name")) or row["mentor_id"],
                     "mentee": _clean(row.get("mentee_name")) or row["mentee_id"],
                     "mentor_id": str(row["mentor_id"]), "mentee_id": str(row["mentee_id"])}
            if pd.isna(row["_last"]):
                not_met.append(entry)
            elif row["_last"] < limit:
                last_day = row["_last"].tz_convert(programme.tz).date()
                overdue.append({**entry, "last_session": last_day.isoformat(),
                                "days_since": (now.astimezone(programme.tz).date() - last_day).days})
    not_met.sort(key=lambda p: (str(p["mentor"]), str(p["mentee"])))
    overdue.sort(key=lambda p: (-p["days_since"], str(p["mentor"]), str(p["mentee"])))
    horizon = now + timedelta(days=days_ahead)
    sessions = []
    for session in programme.schedule.training:
        start = localize(session.start, programme.tz)
        if now <= start <= horizon:
            sessions.append({"title": session.title, "start": start.strftime("%A %d %B %Y, %H:%M"),
                             "location": session.location, "url": session.url,
                             "audience": session.audience.value})
    return {"not_met": not_met, "overdue": overdue, "upcoming_sessions": sessions,
            "escalated": [dict(p) for p in escalated],
            "pairs": 0 if matches is None else len(matches), "days_ahead": days_ahead}


# --- lock ------------------------------------------------------------------------------------------------


@contextmanager
def remind_lock(programme: Programme, owner: str = "remind") -> Iterator[Path]:
    """Hold the programme's send lock (shared with `packs --send` and `requests`, see `ledger.send_lock`),
    non-blocking; `owner` names the command in the message another run shows.

    A second run while another holds it raises `LockedError` (exit code 0: cron sees a clean exit and tries
    again at its next run)."""
    from mentorctl.ledger import send_lock

    with send_lock(programme.state_dir, owner) as path:
        yield path


# --- running: render, record, deliver --------------------------------------------------------------------


class RunMode:
    SEND = "send"          # through SMTP, recorded in the ledger
    OUTBOX = "outbox"      # .eml files in out/outbox/ (a preview: the ledger is only read)
    DRY_RUN = "dry-run"    # nothing written, nothing recorded


@dataclass(frozen=True)
class RemindRow:
    """One line of the `remind` table."""

    reminder_id: str
    occurrence: datetime
    recipient_id: str
    name: str
    email: str | None
    template: str
    outcome: str           # sent | written | would send | failed | unknown | skipped | not attempted
    detail: str = ""


@dataclass(frozen=True)
class RemindResult:
    """What a `remind` run did."""

    mode: str
    now: datetime
    rows: list[RemindRow]
    skipped: int                  # older occurrences recorded as skipped (catch-up)
    unknown: list[str]            # keys left `sending` by an interrupted run, not re-sent
    aborted: str | None = None

    @property
    def failed(self) -> list[RemindRow]:
        return [r for r in self.rows if r.outcome in ("failed", "not attempted")]

    @property
    def ok(self) -> bool:
        return not self.failed and self.aborted is None


def _needs_activity(schedule: Sequence[ScheduledReminder], now: datetime, programme: Programme | None = None
                    ) -> bool:
    from mentorctl.pair_reminders import needs_sessions

    return (programme is not None and needs_sessions(programme)) or any(
        (item.inactive_for is not None or item.to is Audience.COORDINATOR)
        and item.latest_due(now)[0] is not None for item in schedule)


def load_activity_for(programme: Programme, participants: Any = None) -> pd.DataFrame | None:
    """The programme's activity log (None when `reporting.activity` names none); with `participants`, its ids
    are the rosters' own (people written by id or name in any case)."""
    if not programme.reporting.activity:
        return None
    from mentorctl.activity import read_activity

    return read_activity(programme, participants=participants)


def load_matches_for(programme: Programme, participants: Any, on: date | None = None) -> pd.DataFrame | None:
    """`out/matches.csv` when it exists (None before `mentorctl match` has run). In a running programme with
    `on`, only the pairs active that day (relationships.csv: no reminders for paused or ended pairs)."""
    from mentorctl.matches import default_matches_path, read_matches
    from mentorctl.relationships import Status, is_running, load_lifecycle, pairs_with_status

    matches = read_matches(programme, participants=participants) if default_matches_path(programme).exists() \
        else None
    if on is None or not is_running(programme):
        return matches
    return pairs_with_status(load_lifecycle(programme, participants, on, matches), matches, Status.ACTIVE)


def message_context(programme: Programme, due: DueReminder, now: datetime,
                    digest: Mapping[str, Any] | None) -> dict[str, Any]:
    """What a reminder template sees (see the header of each built-in template)."""
    item, person = due.reminder, due.recipient
    coordinator = programme.programme.coordinator
    session = None
    if item.session is not None:
        s = item.session
        from mentorctl.timezones import local_time

        local = local_time(item.session_start, person.zone) if item.session_start is not None else None
        session = {"title": s.title, "start": item.session_start, "duration_minutes": s.duration_minutes,
                   "location": s.location, "url": s.url, "audience": s.audience.value,
                   # the start in the recipient's own zone, as in packs (templates/_wording.j2: your_time)
                   "local": local.time if local else None, "local_text": local.text if local else None}
    week = (due.occurrence.date() - programme.design.start_date).days // 7 + 1
    return {
        "recipient": {**person.profile, "id": person.person_id, "name": person.name, "email": person.email,
                      "role": person.role},     # the card of people.person_card
        "counterparts": [dict(c) for c in person.counterparts],
        "reminder": {"id": item.id, "template": item.template, "to": item.to.value,
                     "inactive_for": item.inactive_for.days if item.inactive_for else None},
        "occurrence": due.occurrence,
        "week": week,
        "now": now,
        "session": session,
        "coordinator": {"name": coordinator.name, "email": coordinator.email} if coordinator else None,
        "digest": dict(digest) if digest is not None and person.role == "coordinator" else None,
    }


def _sender(programme: Programme) -> tuple[str, str | None, str]:
    email = programme.email
    if email is None:
        raise ProgrammeError("reminders need an `email:` section with `from:` in programme.yaml "
                             "(the sender of every message)")
    return email.from_, email.reply_to, (email.subject_prefix + " ") if email.subject_prefix else ""


def build_outgoing(programme: Programme, plan: ReminderPlan, directory: Directory,
                   activity: pd.DataFrame | None, escalated: Sequence[Mapping[str, Any]] = ()
                   ) -> tuple[list[Any], list[tuple[DueReminder, str]]]:
    """Render every due reminder into an `OutgoingMessage`; people without an email address are returned
    separately with the reason."""
    from mentorctl.mail import FILE_HEADER, OutgoingMessage, build_message, format_address
    from mentorctl.templating import make_environment, render_message

    sender, reply_to, prefix = _sender(programme)
    env = make_environment(programme)
    digest = None
    if any(d.recipient.role == "coordinator" for d in plan.due):
        digest = digest_context(programme, directory, activity, plan.now, escalated=escalated)
    from mentorctl.files import dedupe_stems, safe_file_stem

    keys = [(d.reminder.id, d.occurrence_id, d.recipient.id) for d in plan.due]
    names = dedupe_stems({"\x1f".join(k): "-".join(("reminder", *(safe_file_stem(p, "x") for p in k)))
                          for k in keys})
    outgoing, unreachable = [], []
    for due in plan.due:
        person = due.recipient
        if not person.email:
            unreachable.append((due, "no email address on the roster"))
            continue
        rendered = render_message(env, due.reminder.template, message_context(programme, due, plan.now, digest))
        message = build_message(
            sender=sender, to=format_address(person.name, person.email), subject=prefix + rendered.subject,
            text=rendered.text, html=rendered.html, reply_to=reply_to,
            headers={FILE_HEADER: names["\x1f".join((due.reminder.id, due.occurrence_id, person.id))] + ".eml",
                     "X-Mentorctl-Reminder": due.reminder.id,
                     "X-Mentorctl-Occurrence": occurrence_iso(due.occurrence),
                     "X-Mentorctl-Recipient": person.id})
        outgoing.append(OutgoingMessage(key=due.key, kind=f"reminder:{due.reminder.id}",
                                        recipient_id=person.id, message=message))
    return outgoing, unreachable


def run_reminders(programme: Programme, now: datetime, *, mode: str = RunMode.OUTBOX, mailer: Any = None,
                  retry_unknown: bool = False, participants: Any = None) -> RemindResult:
    """Send (or preview) every reminder due at `now`, holding the programme's lock.

    `mailer` is the seam for delivery (an SmtpMailer for SEND, an OutboxMailer for OUTBOX; unused for
    DRY_RUN). Raises LockedError when another run holds the lock, MentorctlError for configuration
    problems; per-recipient failures are in the result."""
    from mentorctl.ledger import Ledger

    if mode != RunMode.DRY_RUN and mailer is None:
        raise ValueError("a mailer is needed unless mode is dry-run")
    with remind_lock(programme):
        if participants is None:
            from mentorctl.roster import load_participants

            participants = load_participants(programme)
        matches = load_matches_for(programme, participants, now.astimezone(programme.tz).date())
        directory = Directory(programme, participants, matches)
        schedule = programme_schedule(programme)
        for item in schedule:
            if item.inactive_for is not None and not programme.reporting.activity:
                raise ProgrammeError(f"reminder '{item.id}' uses when_inactive_for, but reporting.activity "
                                     "names no activity log to read sessions from; add one or remove it")
        activity = load_activity_for(programme, participants) if _needs_activity(schedule, now, programme) \
            else None

        ledger_path = programme.state_dir / "ledger.sqlite"
        ledger = Ledger.for_programme(programme) if mode == RunMode.SEND or ledger_path.exists() else None
        try:
            if ledger is not None and retry_unknown and mode == RunMode.SEND:
                ledger.clear_unknown("reminder:")
            recorded = {r.key: str(r.status) for r in ledger.records("reminder:")} if ledger is not None else {}
            plan = due_reminders(programme, now, directory, activity=activity, recorded=recorded,
                                 retry_unknown=retry_unknown and mode != RunMode.SEND, schedule=schedule)
            plan, closures, escalated = _relationship_events(programme, participants, now, directory, plan,
                                                             activity, recorded, ledger, retry_unknown)
            outgoing, unreachable = build_outgoing(programme, plan, directory, activity, escalated)
            outgoing += [message for message, _ in closures]
            by_key = {d.key: d for d in plan.due} | {m.key: d for m, d in closures}
            rows = [_row(due, "failed", reason) for due, reason in unreachable]
            aborted = None
            if mode == RunMode.DRY_RUN:
                rows += [_row(by_key[o.key], "would send") for o in outgoing]
            else:
                from mentorctl.mail import deliver

                if ledger is not None and mode == RunMode.SEND and plan.skipped:
                    ledger.mark_skipped([(s.key, f"reminder:{s.reminder_id}", s.recipient_id) for s in plan.skipped])
                report = deliver(outgoing, mailer, ledger if mode == RunMode.SEND else None)
                done = "written" if mode == RunMode.OUTBOX else "sent"
                failures = {f.recipient_id: f.reason for f in report.failed}
                outcome_of = {**{k: done for k in report.sent}, **{k: "already sent" for k in report.skipped},
                              **{k: "unknown" for k in report.unknown},
                              **{k: "not attempted" for k in report.not_attempted}}
                for item in outgoing:
                    due = by_key[item.key]
                    outcome = outcome_of.get(item.key) or ("failed" if item.recipient_id in failures else "unknown")
                    rows.append(_row(due, outcome, failures.get(item.recipient_id, "")))
                aborted = report.aborted
        finally:
            if ledger is not None:
                ledger.close()
    rows.sort(key=lambda r: (r.occurrence, r.reminder_id, r.recipient_id))
    return RemindResult(mode=mode, now=now, rows=rows, skipped=len(plan.skipped) if mode == RunMode.SEND else 0,
                        unknown=plan.unknown, aborted=aborted)


def _relationship_events(programme: Programme, participants: Any, now: datetime, directory: Directory,
                         plan: ReminderPlan, activity: pd.DataFrame | None, recorded: Mapping[str, str],
                         ledger: Any, retry_unknown: bool) -> tuple[ReminderPlan, list[tuple[Any, DueReminder]],
                                                                    list[dict[str, Any]]]:
    """What each pair's own clock adds (pair_reminders.py), the closure messages of ended pairs (once each),
    and the pairs escalated to the coordinator's digest."""
    from mentorctl.matches import default_matches_path
    from mentorctl.pair_reminders import due_pair_reminders, escalated_pairs, pair_relative
    from mentorctl.relationship_mail import closure_messages
    from mentorctl.relationships import is_running, load_lifecycle

    running = is_running(programme)
    wanted = any(pair_relative(programme, r) or r.escalate_after for r in programme.reminders)
    if not (running or wanted) or not default_matches_path(programme).exists():
        return plan, [], []
    life = load_lifecycle(programme, participants, now.astimezone(programme.tz).date())
    extra = due_pair_reminders(programme, now, directory, life.state, activity=activity, recorded=recorded,
                               retry_unknown=retry_unknown)
    kept, paused = _active_at_occurrence(programme, life, plan.due)
    plan = ReminderPlan(now=plan.now, due=kept + extra.due, skipped=plan.skipped + paused,
                        unknown=plan.unknown + extra.unknown)
    closures: list[tuple[Any, DueReminder]] = []
    if running:
        messages = closure_messages(programme, participants, life)
        done = ledger.statuses([m.key for m in messages]) if ledger is not None and messages else {}
        for message in messages:
            if str(done.get(message.key, "")) in ("sent", "skipped", "sending"):
                continue
            item = ScheduledReminder(id="closure", to=Audience.PAIRS, template="closure.md.j2", times=(now,))
            person = Recipient(id=message.recipient_id, role="", person_id=message.recipient_id, name="",
                               email=message.recipient_email)
            closures.append((message, DueReminder(key=message.key, reminder=item, occurrence=now, recipient=person)))
    return plan, closures, escalated_pairs(programme, life.state, activity, now)


def _active_at_occurrence(programme: Programme, life: Any, due: list[DueReminder]
                          ) -> tuple[list[DueReminder], list[Skipped]]:
    """A pair reminder whose occurrence fell while none of the person's pairs was active (paused, not yet
    started, ended) is skipped for good, so that it does not go out late when the pair resumes."""
    from mentorctl.relationships import Status

    states: dict[date, set[tuple[str, str]]] = {}
    kept: list[DueReminder] = []
    skipped: list[Skipped] = []
    for item in due:
        if not item.recipient.pairs or (item.reminder.to is not Audience.PAIRS and item.reminder.inactive_for is None):
            kept.append(item)
            continue
        day = item.occurrence.astimezone(programme.tz).date()
        if day not in states:
            states[day] = {r.key for r in life.on(day).with_status(Status.ACTIVE) if r.start <= day}
        keys = {(min(a, b), max(a, b)) if programme.is_peer else (b, a) for a, b in item.recipient.pairs}
        if keys & states[day]:
            kept.append(item)
        else:
            skipped.append(Skipped(item.key, item.reminder.id, item.recipient.id))
    return kept, skipped


def _row(due: DueReminder, outcome: str, detail: str = "") -> RemindRow:
    person = due.recipient
    return RemindRow(reminder_id=due.reminder.id, occurrence=due.occurrence, recipient_id=person.id,
                     name=person.name, email=person.email, template=due.reminder.template, outcome=outcome,
                     detail=detail)
