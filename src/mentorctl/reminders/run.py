"""The run: hold the send lock, read what the run needs, render each due reminder, deliver through the ledger.

Delivery is at-most-once: the ledger records `sending` before a message goes and `sent` after. A crash in
between leaves `sending`, which is never re-sent automatically (better a missed reminder than a duplicate);
`mentorctl remind --retry-unknown` re-sends those on purpose. A `failed` send (the server refused it) is
retried on the next run while its occurrence is still the latest.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mentorctl.errors import ProgrammeError
from mentorctl.programme import Audience, Programme
from mentorctl.reminders.due import DueReminder, ReminderPlan, Skipped, due_reminders
from mentorctl.reminders.recipients import Directory, Recipient, digest_context
from mentorctl.reminders.schedule import ScheduledReminder, occurrence_iso, programme_schedule

if TYPE_CHECKING:
    import pandas as pd


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
    #                        (skipped: the recipient has no email address, a warning and not a failure)
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
    def no_address(self) -> list[RemindRow]:
        """Recipients without an email address on the roster: reported as a warning in every mode, never a
        failure (cron would otherwise exit 1 on every run until the roster is fixed)."""
        return [r for r in self.rows if r.outcome == "skipped"]

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
                      "role": person.role,      # the card of people.person_card; greeted as in the welcome pack
                      "first_name": person.first_name or person.name},
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


NO_ADDRESS = "no email address"


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
            unreachable.append((due, NO_ADDRESS))
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
            rows = [_row(due, "skipped", reason) for due, reason in unreachable]
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
        by_id = {r.person_id: r for r in reversed(list(directory.people.values()))}   # the first role wins
        for message in messages:
            if str(done.get(message.key, "")) in ("sent", "skipped", "sending"):
                continue
            item = ScheduledReminder(id="closure", to=Audience.PAIRS, template="closure.md.j2", times=(now,))
            known = by_id.get(message.recipient_id)
            person = Recipient(id=message.recipient_id, role=known.role if known else "",
                               person_id=message.recipient_id, name=known.name if known else "",
                               email=message.recipient_email)   # named in the run's list and in --json
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
