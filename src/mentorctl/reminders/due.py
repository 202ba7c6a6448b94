"""What is due at a moment, pure: per reminder and recipient the latest occurrence the ledger has not recorded.

Due and catch-up: for each reminder and recipient, only the LATEST occurrence at or before now is due (if
the ledger has not recorded it). Older occurrences that were never recorded (cron was down) are recorded as
`skipped`, so they never go out later: after a gap each person gets one reminder, not a burst.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

from mentorctl.errors import MentorctlError, ProgrammeError
from mentorctl.programme import Audience, Programme
from mentorctl.reminders.recipients import Directory, Recipient, inactive_pairs
from mentorctl.reminders.schedule import (
    ScheduledReminder,
    localize,
    occurrence_id,
    programme_schedule,
    reminder_key,
)

if TYPE_CHECKING:
    import pandas as pd


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
