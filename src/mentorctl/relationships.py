"""The memory of each relationship: `relationships.csv`, a plain log in the programme folder.

One row per thing that happened to a pair (or to a person): `date, action, mentee_id, mentor_id, reason,
until, note`. Actions:

- `start`    a pair begins (written by `mentorctl match` in a running programme; may be typed by hand);
- `end`      a pair ends, with a `reason`: completed, moved-or-left, not-a-fit, no-show, other;
- `pause`    / `resume`: a pair takes a break (no check-ins while paused);
- `extend`   the pair goes on until the date in `until`;
- `rematch`  the person named (mentee_id, or mentor_id alone) is matched again by the next `match`;
- `waitlist` the mentee named could not be matched on that date and waits (written by `match`).

The log is read like a roster (CSV in any common delimiter and encoding, headings in any case, ids in any
case) and validated as a whole: every bad row is reported with its row and column. Pairs listed in
`out/matches.csv` but not started in the log are relationships too (they started on the file's `matched_on`
date, or on `design.start_date`): the coordinator's edits to either file stay the truth.

Writes append to the file under an exclusive lock (`files.exclusive_lock`), after validating the log with
the new rows, and replace it atomically: an earlier row is never lost and two commands at once queue up.
"""

from __future__ import annotations

import contextlib
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mentorctl.errors import Finding, Location, MentorctlError

if TYPE_CHECKING:
    import pandas as pd

    from mentorctl.matching import MatchResult
    from mentorctl.programme import Programme
    from mentorctl.roster import Participants

LOG_FILE = "relationships.csv"
LOCK_FILE = "relationships.lock"
COLUMNS = ("date", "action", "mentee_id", "mentor_id", "reason", "until", "note")
_ALIASES: dict[str, tuple[str, ...]] = {
    "date": ("date", "on", "when", "day"),
    "action": ("action", "what", "event"),
    "mentee_id": ("menteeid", "mentee", "person", "personid", "participantid", "peer1id", "person1"),
    "mentor_id": ("mentorid", "mentor", "peer2id", "person2"),
    "reason": ("reason", "why", "reasoncode"),
    "until": ("until", "plannedend", "enddate", "extendeduntil"),
    "note": ("note", "notes", "comment", "comments"),
}


class Action(StrEnum):
    START = "start"
    END = "end"
    PAUSE = "pause"
    RESUME = "resume"
    EXTEND = "extend"
    REMATCH = "rematch"
    WAITLIST = "waitlist"


class EndReason(StrEnum):
    COMPLETED = "completed"
    MOVED_OR_LEFT = "moved-or-left"
    NOT_A_FIT = "not-a-fit"
    NO_SHOW = "no-show"
    OTHER = "other"


class Status(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    ENDED = "ended"


class RelationshipError(MentorctlError):
    """relationships.csv has a bad row, or an action does not fit the pair's state."""


@dataclass(frozen=True)
class Event:
    """One row of the log; `row` is its spreadsheet row (None for a row about to be written)."""

    day: date
    action: Action
    mentee_id: str = ""
    mentor_id: str = ""
    reason: str = ""
    until: date | None = None
    note: str = ""
    row: int | None = None

    def cells(self) -> dict[str, str]:
        return {"date": self.day.isoformat(), "action": self.action.value, "mentee_id": self.mentee_id,
                "mentor_id": self.mentor_id, "reason": self.reason,
                "until": self.until.isoformat() if self.until else "", "note": self.note}


@dataclass(frozen=True)
class Relationship:
    """One pair's life, as of a day."""

    mentee_id: str
    mentor_id: str
    start: date
    planned_end: date | None
    status: Status
    ended_on: date | None = None
    end_reason: EndReason | None = None
    paused_on: date | None = None
    note: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return self.mentee_id, self.mentor_id

    @property
    def ended_early(self) -> bool:
        return self.status is Status.ENDED and self.end_reason is not EndReason.COMPLETED

    def duration_days(self, today: date) -> int:
        return max(0, ((self.ended_on or today) - self.start).days)

    def as_dict(self) -> dict[str, Any]:
        return {"mentee_id": self.mentee_id, "mentor_id": self.mentor_id, "start": self.start.isoformat(),
                "planned_end": self.planned_end.isoformat() if self.planned_end else None,
                "status": self.status.value, "ended_on": self.ended_on.isoformat() if self.ended_on else None,
                "end_reason": self.end_reason.value if self.end_reason else None,
                "paused_on": self.paused_on.isoformat() if self.paused_on else None, "note": self.note}


@dataclass(frozen=True)
class Waiting:
    """A person waiting for a (new) match since `since`; `rematch`: after an ended pair."""

    person_id: str
    since: date
    rematch: bool = False

    def days(self, today: date) -> int:
        return max(0, (today - self.since).days)

    def as_dict(self, today: date) -> dict[str, Any]:
        return {"person_id": self.person_id, "since": self.since.isoformat(), "days": self.days(today),
                "rematch": self.rematch}


@dataclass(frozen=True)
class RelationshipState:
    """Every relationship of a programme as of `today`, who waits, and who is done."""

    today: date
    relationships: tuple[Relationship, ...]
    waiting: tuple[Waiting, ...] = ()
    started_in_log: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    rematches: int = 0

    def with_status(self, *statuses: Status) -> list[Relationship]:
        return [r for r in self.relationships if r.status in statuses]

    @property
    def current(self) -> list[Relationship]:
        """Active and paused pairs: they hold their places (kept by `match`)."""
        return self.with_status(Status.ACTIVE, Status.PAUSED)

    @property
    def ended(self) -> list[Relationship]:
        return self.with_status(Status.ENDED)

    def get(self, mentee_id: str, mentor_id: str) -> Relationship | None:
        return next((r for r in self.relationships if r.key == (mentee_id, mentor_id)), None)

    def as_dict(self) -> dict[str, Any]:
        return {"today": self.today.isoformat(), "relationships": [r.as_dict() for r in self.relationships],
                "waiting": [w.as_dict(self.today) for w in self.waiting], "rematches": self.rematches}


# ------------------------------------------------------------------------------------------------ reading

def log_path(programme: Programme) -> Path:
    return programme.base_dir / LOG_FILE


def read_log(path: Path, ids: IdResolver | None = None) -> list[Event]:
    """The log's rows as events (ids resolved to the rosters' spelling when `ids` is given). Every bad cell
    is reported at once (RelationshipError naming row and column); a missing file is an empty log."""
    from mentorctl.tables import TableError, normalise_heading, read_table

    if not path.exists():
        return []
    try:
        table = read_table(path, None, path.name)
    except TableError as e:
        raise RelationshipError(e.plain_message, location=Location(path.name)) from e
    headings, rows, numbers = list(table.headings), table.frame.to_numpy(dtype=object).tolist(), table.rows.tolist()
    if not headings:
        return []
    position: dict[str, int] = {}
    for index, heading in enumerate(headings):
        norm = normalise_heading(heading)
        for name, aliases in _ALIASES.items():
            if name not in position and norm in aliases:
                position[name] = index
    missing = [c for c in ("date", "action", "mentee_id") if c not in position]
    if missing:
        raise RelationshipError(f"missing column(s) {', '.join(missing)}; the log needs the columns "
                                f"{', '.join(COLUMNS)} (columns found: {', '.join(h for h in headings if h)})",
                                location=Location(path.name))
    problems: list[tuple[int, str, str]] = []
    events: list[Event] = []
    for cells, row in zip(rows, numbers, strict=True):
        value = {name: (str(cells[i]).strip() if cells[i] is not None else "") for name, i in position.items()}
        if not any(value.values()):
            continue
        event = _parse_row(value, row, problems, ids)
        if event is not None:
            events.append(event)
    if problems:
        raise _many(path.name, problems)
    return events


def _parse_row(value: Mapping[str, str], row: int, problems: list[tuple[int, str, str]],
               ids: IdResolver | None) -> Event | None:
    before = len(problems)
    action = value.get("action", "").lower()
    if action not in {a.value for a in Action}:
        problems.append((row, "action", f"'{value.get('action', '')}' is not an action; write one of "
                                        f"{', '.join(a.value for a in Action)}"))
    day = _date(value.get("date", ""), row, "date", problems, required=True)
    until = _date(value.get("until", ""), row, "until", problems, required=action == Action.EXTEND)
    reason = value.get("reason", "").lower()
    if action == Action.END and reason not in {r.value for r in EndReason}:
        problems.append((row, "reason", f"'{value.get('reason', '')}' is not a reason for ending; write one of "
                                        f"{', '.join(r.value for r in EndReason)}"))
    mentee, mentor = value.get("mentee_id", ""), value.get("mentor_id", "")
    needs_pair = action in (Action.START, Action.END, Action.PAUSE, Action.RESUME, Action.EXTEND)
    if needs_pair:
        for column, who in (("mentee_id", mentee), ("mentor_id", mentor)):
            if not who:
                problems.append((row, column, f"empty {column}: a {action} row names both people of the pair"))
    elif action in (Action.REMATCH, Action.WAITLIST) and not (mentee or mentor):
        problems.append((row, "mentee_id", f"a {action} row names the person (mentee_id)"))
    if ids is not None:
        mentee = ids.mentee(mentee) if mentee else ""
        mentor = ids.mentor(mentor) if mentor else ""
    if len(problems) > before:
        return None
    assert day is not None
    return Event(day, Action(action), mentee, mentor, reason, until, value.get("note", ""), row)


def _date(text: str, row: int, column: str, problems: list[tuple[int, str, str]], *, required: bool
          ) -> date | None:
    if not text:
        if required:
            problems.append((row, column, f"empty {column}: write a date YYYY-MM-DD"))
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        problems.append((row, column, f"'{text}' is not a date; write YYYY-MM-DD"))
        return None


def _many(shown: str, problems: Sequence[tuple[int | None, str, str]]) -> RelationshipError:
    """One error for every problem found, the first in the message (rows of the file named by row and
    column; a row not yet written by its action alone)."""
    ordered = sorted(problems, key=lambda p: (p[0] is None, p[0] or 0))
    row, column, first = ordered[0]
    extra = f" ({len(ordered)} problems in all)" if len(ordered) > 1 else ""
    if row is None:
        return RelationshipError(f"{first}; nothing was written{extra}")
    return RelationshipError(f"{first}; fix the row (nothing was written){extra}",
                             location=Location(shown, row, column),
                             details=[f"row {r}, column {c}: {what}" if r else what for r, c, what in ordered[1:20]])


class IdResolver:
    """Ids as the rosters spell them, looked up in any case; unknown ids are returned as given."""

    def __init__(self, mentor_ids: Iterable[str], mentee_ids: Iterable[str]) -> None:
        self._mentors = {str(i).casefold(): str(i) for i in mentor_ids}
        self._mentees = {str(i).casefold(): str(i) for i in mentee_ids}

    @classmethod
    def for_participants(cls, participants: Participants) -> IdResolver:
        mentors = participants.mentors.frame["id"].tolist() if participants.mentors is not None else []
        mentees = participants.mentees.frame["id"].tolist() if participants.mentees is not None else []
        return cls(mentors, mentees)

    def mentor(self, text: str) -> str:
        return self._mentors.get(text.strip().casefold(), text.strip())

    def mentee(self, text: str) -> str:
        return self._mentees.get(text.strip().casefold(), text.strip())

    def knows_mentor(self, text: str) -> bool:
        return text.strip().casefold() in self._mentors

    def knows_mentee(self, text: str) -> bool:
        return text.strip().casefold() in self._mentees

    def person(self, text: str) -> str:
        key = text.strip().casefold()
        return self._mentees.get(key) or self._mentors.get(key) or text.strip()


# ------------------------------------------------------------------------------------------------ state

def planned_end(programme: Programme, start: date) -> date | None:
    """The planned end of a pair that started on `start`: the cohort's end (cohort intake) or the start plus
    `design.relationship_length` (rolling intake)."""
    from mentorctl.programme import Intake, parse_duration

    design = programme.design
    if design.intake is Intake.ROLLING:
        length = design.relationship_length
        return start + parse_duration(length) if length else None
    return design.end_date


def derive_state(programme: Programme, events: Sequence[Event], today: date,
                 matched: Iterable[tuple[str, str, date | None]] = (), *, peer: bool = False,
                 shown: str = LOG_FILE) -> RelationshipState:
    """Replay the log (rows dated up to `today`, in date order; rows of one day in file order) over the pairs
    of the matches file (`matched`: mentee, mentor, matched_on). Raises RelationshipError naming every row
    that does not fit its pair (an end before the start, a pause of an ended pair, a pair nobody started)."""
    from mentorctl.programme import Intake

    default_start = programme.design.start_date
    started: dict[tuple[str, str], dict[str, Any]] = {}
    in_log: set[tuple[str, str]] = set()
    problems: list[tuple[int | None, str, str]] = []
    wait: dict[str, Waiting] = {}
    rematches = 0
    order = sorted(((e.day, n, e) for n, e in enumerate(events)), key=lambda t: (t[0], t[1]))
    log_starts = {_pair(e, peer) for e in events if e.action is Action.START}
    for mentee, mentor, on in matched:
        key = _pair(Event(default_start, Action.START, mentee, mentor), peer)
        if key not in log_starts:
            begin = on or default_start
            if programme.design.intake is not Intake.ROLLING:
                begin = max(begin, default_start)
            started[key] = _new(programme, key, begin)   # a pair due to start later is current already
    for _, _, event in order:   # starts first: a pair matched to start later is current already
        if event.action is not Action.START:
            continue
        key = _pair(event, peer)
        if key in started:
            problems.append((event.row, "action", f"the pair {event.mentee_id} – {event.mentor_id} already started "
                                                  f"on {started[key]['start']}; a pair starts once (an ended pair "
                                                  "stays in the programme's history)"))
        else:
            started[key] = _new(programme, key, event.day)
            in_log.add(key)
    for day, _, event in order:
        if day > today:   # later rows happen later
            continue
        row = event.row
        if event.action is Action.WAITLIST:
            who = event.mentee_id or event.mentor_id
            wait.setdefault(who, Waiting(who, day))
            continue
        if event.action is Action.REMATCH:
            for who in filter(None, (event.mentee_id, event.mentor_id)):
                wait[who] = Waiting(who, wait[who].since if who in wait else day, rematch=True)
            rematches += 1
            continue
        key = _pair(event, peer)
        pair = started.get(key)
        label = f"the pair {event.mentee_id} – {event.mentor_id}"
        if event.action is Action.START:
            for who in key:
                wait.pop(who, None)
            continue
        if pair is None:
            problems.append((row, "mentee_id", f"{label} never started (no start row, not in matches.csv); "
                                               "check the ids"))
            continue
        if day < pair["start"]:
            hint = "; give the day it happens with --on" if row is None else ""   # a command's row: today
            problems.append((row, "date", f"{event.action} on {day} is before {label} started ({pair['start']})"
                                          f"{hint}"))
            continue
        if pair["status"] is Status.ENDED:
            problems.append((row, "action", f"{label} already ended on {pair['ended_on']}; a {event.action} "
                                            "needs a current pair"))
            continue
        if event.action is Action.END:
            pair.update(status=Status.ENDED, ended_on=day, end_reason=EndReason(event.reason), note=event.note)
        elif event.action is Action.PAUSE:
            if pair["status"] is Status.PAUSED:
                problems.append((row, "action", f"{label} is already paused (since {pair['paused_on']})"))
            else:
                pair.update(status=Status.PAUSED, paused_on=day)
        elif event.action is Action.RESUME:
            if pair["status"] is not Status.PAUSED:
                problems.append((row, "action", f"{label} is not paused; there is nothing to resume"))
            else:
                pair.update(status=Status.ACTIVE, paused_on=None)
        elif event.action is Action.EXTEND:
            assert event.until is not None
            if event.until <= pair["start"]:
                problems.append((row, "until", f"{event.until} is not after the start of {label} ({pair['start']})"))
            else:
                pair["planned_end"] = event.until
    if problems:
        raise _many(shown, problems)
    current = {who for key, p in started.items() if p["status"] is not Status.ENDED for who in key}
    waiting = tuple(sorted((w for w in wait.values() if w.person_id not in current),
                           key=lambda w: (w.since, w.person_id)))
    relationships = tuple(Relationship(**p) for _, p in sorted(started.items()))
    return RelationshipState(today, relationships, waiting, frozenset(in_log), rematches)


def _pair(event: Event, peer: bool) -> tuple[str, str]:
    a, b = event.mentee_id, event.mentor_id
    return (min(a, b), max(a, b)) if peer else (a, b)


def _new(programme: Programme, key: tuple[str, str], start: date) -> dict[str, Any]:
    return {"mentee_id": key[0], "mentor_id": key[1], "start": start, "planned_end": planned_end(programme, start),
            "status": Status.ACTIVE}


def matched_pairs(matches: pd.DataFrame | None) -> list[tuple[str, str, date | None]]:
    """(mentee_id, mentor_id, matched_on) of a matches frame (`read_matches`)."""
    if matches is None or not len(matches):
        return []
    out = []
    dates = matches["matched_on"] if "matched_on" in matches.columns else [""] * len(matches)
    for mentee, mentor, on in zip(matches["mentee_id"], matches["mentor_id"], dates, strict=True):
        try:
            day = date.fromisoformat(str(on)[:10]) if on else None
        except ValueError:
            day = None
        out.append((str(mentee), str(mentor), day))
    return out


@dataclass(frozen=True)
class Lifecycle:
    """The log of a programme read against its rosters: the events and the state as of `today`."""

    programme: Programme
    events: tuple[Event, ...]
    state: RelationshipState
    ids: IdResolver
    matched: tuple[tuple[str, str, date | None], ...] = ()
    warnings: tuple[str, ...] = ()

    def on(self, today: date) -> RelationshipState:
        """The state as of another day (the log is replayed up to it)."""
        return derive_state(self.programme, self.events, today, self.matched, peer=self.programme.is_peer)


def pairs_with_status(life: Lifecycle, matches: pd.DataFrame | None, *statuses: Status) -> pd.DataFrame:
    """The matches rows of the relationships with these statuses (as of the lifecycle's day), in matches.csv's
    columns; such a pair missing from matches.csv (started by hand in the log) gets a row without a score."""
    import pandas as pd

    wanted = [r.key for r in life.state.with_status(*statuses)]
    frame = matches if matches is not None else pd.DataFrame(columns=["mentee_id", "mentor_id"])
    peer = life.programme.is_peer
    keys = [_pair(Event(life.state.today, Action.START, str(a), str(b)), peer)
            for a, b in zip(frame["mentee_id"], frame["mentor_id"], strict=True)]
    chosen = [i for i, k in enumerate(keys) if k in set(wanted)]
    rows = frame.iloc[chosen]
    have = {keys[i] for i in chosen}
    extra = [{"mentee_id": a, "mentor_id": b} for a, b in wanted if (a, b) not in have]
    if extra:
        rows = pd.concat([rows, pd.DataFrame(extra)], ignore_index=True)
    return rows.reset_index(drop=True)


def is_running(programme: Programme) -> bool:
    """A programme is running once its relationships log exists (the first `end`, `pause` or `extend`
    writes it), once welcome packs went out (the ledger records them), or from the first match of a rolling
    programme. Before that, `match` plans the cohort afresh every time."""
    from mentorctl.ledger import LEDGER_FILE, Ledger, SendStatus
    from mentorctl.programme import Intake

    if log_path(programme).exists() or programme.design.intake is Intake.ROLLING:
        return True
    ledger_file = programme.state_dir / LEDGER_FILE
    if not ledger_file.exists():
        return False
    with Ledger(ledger_file) as ledger:
        return bool(ledger.records("pack:", status=SendStatus.SENT))


def load_lifecycle(programme: Programme, participants: Participants, today: date,
                   matches: pd.DataFrame | None = None) -> Lifecycle:
    """Read and check the log against the rosters and the matches file (read here when not given)."""
    if matches is None:
        from mentorctl.matches import default_matches_path, read_matches

        matches = (read_matches(programme, participants=participants, unknown_ok=True)
                   if default_matches_path(programme).exists() else None)
    ids = IdResolver.for_participants(participants)
    events = read_log(log_path(programme), ids)
    matched = matched_pairs(matches)
    state = derive_state(programme, events, today, matched, peer=programme.is_peer)
    _check_people(events, state, ids, programme)
    warnings = tuple(f"{r.mentee_id} – {r.mentor_id}: {who} is no longer on the roster; end the pair "
                     f"(`mentorctl end … --reason moved-or-left`) or put them back"
                     for r in state.current for who in _missing(r, ids, programme))
    derive_state(programme, events, date.max, matched, peer=programme.is_peer)  # every row, also future ones
    return Lifecycle(programme, tuple(events), state, ids, tuple(matched), warnings)


def _missing(r: Relationship, ids: IdResolver, programme: Programme) -> list[str]:
    if programme.is_peer:
        return [w for w in r.key if not ids.knows_mentee(w)]
    return ([r.mentee_id] if not ids.knows_mentee(r.mentee_id) else []) + \
        ([r.mentor_id] if not ids.knows_mentor(r.mentor_id) else [])


def _check_people(events: Sequence[Event], state: RelationshipState, ids: IdResolver, programme: Programme) -> None:
    """A row that refers to nobody: a start, rematch or waitlist row whose person is on no roster (ended
    pairs are history: their people may have left the rosters)."""
    ended = {r.key for r in state.ended}
    problems: list[tuple[int | None, str, str]] = []
    for event in events:
        key = _pair(event, programme.is_peer)
        carried = event.row is None and event.note == "from matches.csv"   # a start frozen from matches.csv
        where = (f" (the pair {event.mentee_id} – {event.mentor_id} in matches.csv: fix the id there, add the "
                 "person to the roster or end the pair: `mentorctl end … --reason moved-or-left`)" if carried else "")
        if event.action is Action.START and key not in ended:
            if not ids.knows_mentee(event.mentee_id):
                problems.append((event.row, "mentee_id", f"'{event.mentee_id}' is on no roster{where}"))
            if not (ids.knows_mentor(event.mentor_id) or (programme.is_peer and ids.knows_mentee(event.mentor_id))):
                problems.append((event.row, "mentor_id", f"'{event.mentor_id}' is on no roster{where}"))
        elif event.action in (Action.REMATCH, Action.WAITLIST):
            for column, who in (("mentee_id", event.mentee_id), ("mentor_id", event.mentor_id)):
                if who and not (ids.knows_mentee(who) or ids.knows_mentor(who)):
                    problems.append((event.row, column, f"'{who}' is on no roster"))
    if problems:
        raise _many(LOG_FILE, problems)


# ------------------------------------------------------------------------------------------------ writing

def append_events(programme: Programme, participants: Participants, new: Sequence[Event], today: date,
                  matches: pd.DataFrame | None = None) -> Lifecycle:
    """Append `new` rows to the log, atomically and under the log's lock, after checking that the whole log
    with them still holds (RelationshipError otherwise, and nothing is written). Returns the lifecycle as of
    `today` after the write. The file keeps its delimiter, encoding, line endings and column order."""
    from mentorctl.files import atomic_write_bytes, exclusive_lock

    path = log_path(programme)
    with exclusive_lock(programme.state_dir / LOCK_FILE, wait=True):
        current = load_lifecycle(programme, participants, today, matches)
        numbered = [replace(e, row=None) for e in new]
        after = derive_state(programme, [*current.events, *numbered], date.max, current.matched,
                             peer=programme.is_peer)
        _check_people(numbered, after, current.ids, programme)   # a row naming nobody is never written
        if numbered:
            atomic_write_bytes(path, _appended(path, numbered))
    return load_lifecycle(programme, participants, today, matches)


def with_events(life: Lifecycle, new: Sequence[Event]) -> Lifecycle:
    """The lifecycle as if `new` rows were in the log, nothing written (`append_events` writes them later, once
    the command that makes them has succeeded); RelationshipError when the log with them would not hold."""
    if not new:
        return life
    events = (*life.events, *(replace(e, row=None) for e in new))
    peer = life.programme.is_peer
    derive_state(life.programme, events, date.max, life.matched, peer=peer)
    state = derive_state(life.programme, events, life.state.today, life.matched, peer=peer)
    return replace(life, events=events, state=state)


def _appended(path: Path, events: Sequence[Event]) -> bytes:
    import csv
    import io

    from mentorctl.tables import decode_text, normalise_heading, sniff_delimiter

    if path.exists() and path.stat().st_size:
        data = path.read_bytes()
        text, encoding = decode_text(data)
        delimiter = sniff_delimiter(text)
        newline = "\r\n" if "\r\n" in text else "\n"
        header = next(csv.reader(io.StringIO(text.lstrip("\ufeff").splitlines()[0] if text.strip() else "")),
                      [])
        if delimiter != ",":
            header = next(csv.reader(io.StringIO(text.splitlines()[0].lstrip("\ufeff")), delimiter=delimiter))
        order: list[str | None] = []
        for heading in header:
            norm = normalise_heading(heading)
            order.append(next((n for n, aliases in _ALIASES.items() if norm in aliases), None))
        lost = [c for c in COLUMNS if c not in order and any(e.cells()[c] for e in events)]
        if lost:
            raise RelationshipError(f"has no column {', '.join(lost)}, which the new row needs; add the "
                                    "column heading and run again (nothing was written)",
                                    location=Location(path.name))
        prefix = data if data.endswith((b"\n", b"\r")) else data + newline.encode(encoding.replace("-sig", ""))
    else:
        encoding, delimiter, newline, prefix = "utf-8", ",", "\n", b""
        order = list(COLUMNS)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline)
    if not prefix:
        writer.writerow(COLUMNS)
    for event in events:
        cells = event.cells()
        writer.writerow([_safe(cells[c]) if c else "" for c in order])
    return prefix + buffer.getvalue().encode(encoding.replace("-sig", ""), errors="replace")


def _safe(text: str) -> str:
    from mentorctl.files import neutralise_formula

    return str(neutralise_formula(text))


# ------------------------------------------------------------------------------------------------ actions

def find_pair(life: Lifecycle, mentee: str, mentor: str) -> Relationship:
    """The relationship of these two people (ids in any case; peers in either order), as of the lifecycle's
    day or, if it starts later, as planned; RelationshipError naming their current pairs when there is none."""
    peer = life.programme.is_peer
    mentee_id = life.ids.mentee(mentee)
    mentor_id = life.ids.mentee(mentor) if peer else life.ids.mentor(mentor)
    key = _pair(Event(life.state.today, Action.START, mentee_id, mentor_id), peer)
    found = life.state.get(*key) or life.on(date.max).get(*key)  # a date before the start is checked later
    if found is None:
        current = [f"{r.mentee_id} – {r.mentor_id}" for r in life.state.current if mentee_id in r.key
                   or mentor_id in r.key]
        hint = f"; their current pair(s): {', '.join(current)}" if current else ""
        raise RelationshipError(f"there is no relationship between mentee {mentee} and mentor {mentor} "
                                f"(check the ids and their order: mentee first){hint}; nothing was written")
    return found


def end_pair(programme: Programme, participants: Participants, mentee: str, mentor: str, reason: EndReason, *,
             on: date, note: str = "", rematch: bool = False) -> Lifecycle:
    """End a pair on `on` (appending `end`, and `rematch` for the mentee — both peers — when asked)."""
    life = load_lifecycle(programme, participants, on)
    pair = find_pair(life, mentee, mentor)
    rows = [Event(on, Action.END, pair.mentee_id, pair.mentor_id, reason.value, None, note)]
    if rematch:
        rows.append(Event(on, Action.REMATCH, pair.mentee_id, pair.mentor_id if programme.is_peer else ""))
    after = append_events(programme, participants, [*frozen_starts(life), *rows], on)
    _drop_from_matches(programme, pair.key)
    return after


def _drop_from_matches(programme: Programme, key: tuple[str, str]) -> None:
    """Take an ended pair out of out/matches.csv (its start is in the log now), so that its people may leave
    the rosters; a matches file the coordinator edited is left as it is."""
    import pandas as pd

    from mentorctl.files import record_output, was_edited, write_csv
    from mentorctl.matches import default_matches_path

    path = default_matches_path(programme)
    if not path.exists() or was_edited(path):
        return
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    if not {"mentee_id", "mentor_id"} <= set(frame.columns):
        return
    peer = programme.is_peer
    keys = [_pair(Event(date.min, Action.START, a, b), peer) for a, b in zip(frame["mentee_id"], frame["mentor_id"],
                                                                            strict=True)]
    keep = [k != key for k in keys]
    if all(keep):
        return
    write_csv(frame[keep], path)
    record_output(path)


def pause_pair(programme: Programme, participants: Participants, mentee: str, mentor: str, *, on: date,
               resume: bool = False, note: str = "") -> Lifecycle:
    life = load_lifecycle(programme, participants, on)
    pair = find_pair(life, mentee, mentor)
    action = Action.RESUME if resume else Action.PAUSE
    row = Event(on, action, pair.mentee_id, pair.mentor_id, "", None, note)
    return append_events(programme, participants, [*frozen_starts(life), row], on)


def extend_pair(programme: Programme, participants: Participants, mentee: str, mentor: str, *, until: date,
                on: date, note: str = "") -> Lifecycle:
    life = load_lifecycle(programme, participants, on)
    pair = find_pair(life, mentee, mentor)
    row = Event(on, Action.EXTEND, pair.mentee_id, pair.mentor_id, "", until, note)
    return append_events(programme, participants, [*frozen_starts(life), row], on)


def frozen_starts(life: Lifecycle) -> list[Event]:
    """`start` rows for pairs known only from matches.csv, so that they outlive the next rewrite of it."""
    return [Event(r.start, Action.START, r.mentee_id, r.mentor_id, note="from matches.csv")
            for r in life.state.relationships if r.key not in life.state.started_in_log]


# ------------------------------------------------------------------------------------------------ matching

@dataclass(frozen=True)
class MatchPlan:
    """What a match in a running programme starts from: pairs kept, pairs never to repeat, people who are not
    matched again, and each waiting person's days on the waitlist (their priority)."""

    kept: tuple[tuple[str, str], ...]
    history: tuple[tuple[str, str], ...]
    done: Mapping[str, str]            # mentee id → why they are not matched again
    waiting_days: Mapping[str, int]
    waiting_since: Mapping[str, date]
    start: Mapping[tuple[str, str], date]
    origin: Mapping[tuple[str, str], str] = field(default_factory=dict)   # where each kept pair comes from


def match_plan(life: Lifecycle) -> MatchPlan:
    state = life.state
    waiting = {w.person_id: w for w in state.waiting}
    done: dict[str, str] = {}
    for r in state.ended:
        people = r.key if life.programme.is_peer else (r.mentee_id,)
        for who in people:
            if who not in waiting and not any(who in c.key for c in state.current):
                done[who] = (f"relationship with {r.mentor_id if who == r.mentee_id else r.mentee_id} ended "
                             f"({r.end_reason.value if r.end_reason else 'ended'}) on {r.ended_on}; to match "
                             "again, end it with --rematch or add a rematch row")
    kept = tuple(r.key for r in state.current if not _missing(r, life.ids, life.programme))
    logged = {_pair(e, life.programme.is_peer) for e in life.events if e.action is Action.START and e.row}
    origin = {key: (f"{LOG_FILE}: current pair {key[0]} – {key[1]}" if key in logged else
                    f"matches.csv: pair {key[0]} – {key[1]}, not in {LOG_FILE} (to give a mentee another mentor, "
                    "end the old pair first: `mentorctl end`)") for key in kept}
    return MatchPlan(kept, tuple(r.key for r in state.ended), done,
                     {k: w.days(state.today) for k, w in waiting.items()},
                     {k: w.since for k, w in waiting.items()},
                     {r.key: r.start for r in state.relationships}, origin)


def carried_waitlist(life: Lifecycle, unmatched: Path) -> list[Event]:
    """`waitlist` rows for the mentees (peers) an earlier match left unmatched (its unmatched.csv) who are not
    on the waitlist yet: they have waited since its `waiting_since` column, else since the programme's start
    (or today, if that is earlier)."""
    from mentorctl.matching.prepare import NOT_ELIGIBLE
    from mentorctl.tables import TableError, normalise_heading, read_table

    if not unmatched.exists():
        return []
    try:
        table = read_table(unmatched, None, unmatched.name)
    except TableError:
        return []
    if not table.headings:
        return []
    headings = [normalise_heading(h) for h in table.headings]
    if "participantid" not in headings or "role" not in headings:
        return []
    at = {name: headings.index(name) for name in ("participantid", "role", "waitingsince", "reason")
          if name in headings}
    state = life.state
    busy = {who for r in state.current for who in r.key} | {w.person_id for w in state.waiting}
    busy |= {who for r in state.ended for who in r.key}
    role = "participant" if life.programme.is_peer else "mentee"
    default = min(state.today, life.programme.design.start_date)
    rows = []
    for cells in table.frame.to_numpy(dtype=object).tolist():
        who = life.ids.mentee(str(cells[at["participantid"]] or ""))
        if str(cells[at["role"]] or "").strip().lower() != role or not who or who in busy \
                or not life.ids.knows_mentee(who) \
                or ("reason" in at and str(cells[at["reason"]] or "").startswith(NOT_ELIGIBLE)):
            continue  # matched, done, unknown, or kept out by design.eligibility: not waiting
        since = default
        if "waitingsince" in at and cells[at["waitingsince"]]:
            with contextlib.suppress(ValueError):
                since = min(date.fromisoformat(str(cells[at["waitingsince"]])[:10]), state.today)
        rows.append(Event(since, Action.WAITLIST, who, note="from unmatched.csv"))
        busy.add(who)
    return rows


def match_events(life: Lifecycle, pairs: pd.DataFrame, unmatched_mentees: Iterable[str], on: date) -> list[Event]:
    """Rows a match in a running programme appends after writing matches.csv (`frozen_starts` went first): a
    start for each new pair, and a waitlist row for each mentee left unmatched who was not waiting yet."""
    known = {r.key for r in life.state.relationships}
    waiting = {w.person_id for w in life.state.waiting}
    rows: list[Event] = []
    peer = life.programme.is_peer
    start = max(on, life.programme.design.start_date)
    for mentee, mentor in zip(pairs["mentee_id"], pairs["mentor_id"], strict=True):
        key = _pair(Event(on, Action.START, str(mentee), str(mentor)), peer)
        if key not in known:
            rows.append(Event(start, Action.START, str(mentee), str(mentor)))
    for who in unmatched_mentees:
        if who not in waiting:
            rows.append(Event(on, Action.WAITLIST, who))
    return rows


# ------------------------------------------------------------------------------------------------ figures

@dataclass(frozen=True)
class RelationshipFigures:
    """The report's relationships section (counts over pairs; days are medians)."""

    started: int
    active: int
    paused: int
    ended: int
    ended_completed: int
    ended_early: int
    ended_by_reason: Mapping[str, int]
    median_duration_days: float | None
    reached_planned_length: float | None
    waitlist: int
    median_wait_days: float | None
    rematches: int

    def as_dict(self) -> dict[str, Any]:
        return {"started": self.started, "active": self.active, "paused": self.paused, "ended": self.ended,
                "ended_completed": self.ended_completed, "ended_early": self.ended_early,
                "ended_by_reason": dict(self.ended_by_reason), "median_duration_days": self.median_duration_days,
                "reached_planned_length": self.reached_planned_length, "waitlist": self.waitlist,
                "median_wait_days": self.median_wait_days, "rematches": self.rematches}


def relationship_figures(state: RelationshipState) -> RelationshipFigures:
    """Counts as of `state.today`. Duration: start to end (ended pairs) or to today; a pair reached its planned
    length when it lasted at least start → planned end (share over ended pairs and pairs past their end)."""
    today = state.today
    ended = state.ended
    by_reason = {r.value: sum(1 for p in ended if p.end_reason is r) for r in EndReason}
    durations = [r.duration_days(today) for r in state.relationships]
    judged = [r for r in state.relationships if r.planned_end is not None
              and (r.status is Status.ENDED or r.planned_end <= today)]
    reached = [r for r in judged if (r.ended_on or today) >= r.planned_end]  # type: ignore[operator]
    waits = [w.days(today) for w in state.waiting]
    return RelationshipFigures(
        started=len(state.relationships), active=len(state.with_status(Status.ACTIVE)),
        paused=len(state.with_status(Status.PAUSED)), ended=len(ended),
        ended_completed=by_reason[EndReason.COMPLETED.value], ended_early=sum(1 for r in ended if r.ended_early),
        ended_by_reason=by_reason, median_duration_days=_median(durations),
        reached_planned_length=round(len(reached) / len(judged), 4) if judged else None,
        waitlist=len(waits), median_wait_days=_median(waits), rematches=state.rematches)


def _median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None



def annotate_match(result: MatchResult, plan: MatchPlan, on: date, programme: Programme) -> MatchResult:
    """A running programme's match: each pair with its `matched_on` day (kept pairs: their start), the people
    left waiting in waitlist order (longest wait first) with `waiting_since` and `waiting_days`, and the
    summary's `relationships` and `waitlist` entries."""
    import pandas as pd

    from mentorctl.matching import MatchResult
    from mentorctl.matching.summary import RelationshipCounts, Waiting

    peer = programme.is_peer
    start_new = on if programme.design.intake.value == "rolling" else max(on, programme.design.start_date)
    pairs = result.pairs.copy()
    keys = [_pair(Event(on, Action.START, str(a), str(b)), peer) for a, b in
            zip(pairs["mentee_id"], pairs["mentor_id"], strict=True)]
    pairs["matched_on"] = [plan.start.get(k, start_new).isoformat() for k in keys]
    kept = sum(1 for k in keys if k in plan.start)
    unmatched = result.unmatched.copy()
    waiting_role = "participant" if peer else "mentee"
    from mentorctl.matching.prepare import NOT_ELIGIBLE

    is_waiting = (unmatched["role"] == waiting_role) & ~unmatched["participant_id"].isin(list(plan.done)) \
        & ~unmatched["reason"].astype(str).str.startswith(NOT_ELIGIBLE)  # design.eligibility keeps them out
    since = [plan.waiting_since.get(str(p), on) if w else None
             for p, w in zip(unmatched["participant_id"], is_waiting, strict=True)]
    unmatched["waiting_since"] = [s.isoformat() if s else "" for s in since]
    unmatched["waiting_days"] = pd.array([(on - s).days if s else None for s in since], dtype="Int64")
    order = sorted((i for i in range(len(unmatched)) if is_waiting.iloc[i]),
                   key=lambda i: (since[i], str(unmatched["participant_id"].iloc[i])))
    position = {i: n for n, i in enumerate(order, start=1)}
    unmatched["waitlist_position"] = pd.array([position.get(i) for i in range(len(unmatched))], dtype="Int64")
    unmatched = unmatched.sort_values(["waitlist_position", "role", "participant_id"], na_position="last",
                                      kind="stable").reset_index(drop=True)
    summary = replace(
        result.summary,
        relationships=RelationshipCounts(kept, len(keys) - kept, len(plan.history), len(plan.done)),
        waitlist=tuple(Waiting(str(unmatched["participant_id"].iloc[n - 1]), unmatched["waiting_since"].iloc[n - 1],
                               int(unmatched["waiting_days"].iloc[n - 1])) for n in range(1, len(order) + 1)))
    return MatchResult(pairs, unmatched, summary)


# ------------------------------------------------------------------------------------------------ report

FIT_COLUMNS = ("pairing_fit", "fit", "pairingfit", "is_it_a_good_fit")
NOT_A_FIT = ("not a fit", "no", "bad fit", "poor fit", "not a good fit", "not good")


@dataclass(frozen=True)
class FollowUp:
    """A pair the coordinator should look at, and why (for the coordinator only: never in breakdowns)."""

    mentee_id: str
    mentor_id: str
    reason: str
    detail: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"mentee_id": self.mentee_id, "mentor_id": self.mentor_id, "reason": self.reason,
                "detail": self.detail}


@dataclass(frozen=True)
class RelationshipsSection:
    """The report's relationships section: figures (counts under `min_group_size` shown as '<N' in the
    report's breakdown of endings by reason) and the coordinator's follow-up list."""

    figures: RelationshipFigures
    median_days_to_first_meeting: float | None
    ended_by_reason_shown: Mapping[str, int | str]
    follow_up: tuple[FollowUp, ...]
    warnings: tuple[str, ...] = ()
    """For the coordinator (the terminal, not the report): survey answers that could not be tied to a current
    pair, or that cannot be tied to a pair at all (see `survey_flags`)."""

    def as_dict(self) -> dict[str, Any]:
        """What report.json shows: the figures, with small groups of endings by reason hidden (no list of
        pairs: that goes to the coordinator's follow-up.csv only)."""
        data = self.figures.as_dict()
        data["ended_by_reason"] = dict(self.ended_by_reason_shown)
        data["median_days_to_first_meeting"] = self.median_days_to_first_meeting
        data["follow_up_pairs"] = len(self.follow_up)
        return data


def relationships_section(programme: Programme, state: RelationshipState, activity: pd.DataFrame | None,
                          survey: pd.DataFrame | None, *, inactive_days: int | None = None,
                          min_group_size: int = 5, survey_source: str = "the survey export",
                          survey_warnings: Sequence[Finding] = ()) -> RelationshipsSection:
    """Figures as of `state.today`, days from each pair's start to its first logged session, and the follow-up
    list: current pairs with no first meeting after `design.checkin_every`, pairs inactive for more than
    `inactive_days` (default: twice checkin_every), a "not a fit" answer about the pair (survey column
    pairing_fit), and pairs whose mentor and mentee satisfaction about the pair differ by 2 or more (see
    `survey_flags`). `survey_warnings` (`activity.Table.warnings` of `survey_source`) lead the section's
    warnings, the first few of them."""
    import pandas as pd

    from mentorctl.programme import parse_duration

    figures = relationship_figures(state)
    today = state.today
    sessions: dict[tuple[str, str], list[date]] = {}
    if activity is not None and not activity.empty:
        kinds = activity["event"].astype(str).str.lower()
        held = activity[kinds.isin(("session", "meeting")).to_numpy()]
        stamps = pd.to_datetime(held["timestamp"], utc=True).dt.tz_convert(programme.tz).dt.date
        for a, b, day in zip(held["mentee_id"].astype(str), held["mentor_id"].astype(str), stamps, strict=True):
            key = (min(a, b), max(a, b)) if programme.is_peer else (a, b)
            sessions.setdefault(key, []).append(day)
    first_gaps = []
    checkin = parse_duration(programme.design.checkin_every).days
    quiet_limit = inactive_days if inactive_days is not None else 2 * checkin
    follow: list[FollowUp] = []
    for pair in state.relationships:
        held_days = sorted(d for d in sessions.get(pair.key, []) if pair.start <= d <= (pair.ended_on or today))
        if held_days:
            first_gaps.append((held_days[0] - pair.start).days)
        if pair.status is not Status.ACTIVE or pair.start > today:
            continue
        if not held_days and (today - pair.start).days > checkin:
            follow.append(FollowUp(pair.mentee_id, pair.mentor_id, "no first meeting",
                                   f"started {pair.start}, {(today - pair.start).days} days ago"))
        elif held_days and (today - held_days[-1]).days > quiet_limit:
            follow.append(FollowUp(pair.mentee_id, pair.mentor_id, "inactive",
                                   f"last session {held_days[-1]}, {(today - held_days[-1]).days} days ago"))
    flags = survey_flags(state, survey, source=survey_source,
                         warned_rows={f.location.row for f in survey_warnings if f.location and f.location.row})
    follow += flags.follow_up
    row_warnings = [str(f) for f in survey_warnings[:SHOWN_ROWS]]
    if len(survey_warnings) > SHOWN_ROWS:
        row_warnings.append(f"{survey_source}: {len(survey_warnings) - SHOWN_ROWS} more row warning(s) on the "
                            "partner and submitted columns (`mentorctl validate` lists them all)")
    shown: dict[str, int | str] = {reason: (count if count == 0 or count >= min_group_size else f"<{min_group_size}")
                                   for reason, count in figures.ended_by_reason.items()}
    return RelationshipsSection(figures, _median(first_gaps), shown,
                                tuple(sorted(follow, key=lambda f: (f.reason, f.mentee_id, f.mentor_id))),
                                tuple(row_warnings) + flags.warnings)


def fit_answer(text: object) -> str:
    """A pairing-fit answer as compared: lower case, hyphens, underscores and runs of spaces as one space,
    trailing punctuation dropped ("Not-a-fit." → "not a fit")."""
    import re

    return re.sub(r"[\s_-]+", " ", str(text or "")).strip().strip(".!?:;,").strip().lower()


SHOWN_ROWS = 5
"""How many row numbers (or row warnings) a survey warning line names before "…"."""


@dataclass(frozen=True)
class SurveyFlags:
    """The survey's follow-ups ("not a fit", "ratings diverge") and what the coordinator should know about
    answers that were not applied: one line per kind, naming the first rows."""

    follow_up: tuple[FollowUp, ...] = ()
    warnings: tuple[str, ...] = ()


def survey_flags(state: RelationshipState, survey: pd.DataFrame | None, *, source: str = "the survey export",
                 warned_rows: Iterable[int] = ()) -> SurveyFlags:
    """Follow-ups from the survey export (`activity.read_survey`, mapped under reporting.survey.columns) for
    each current pair: "not a fit" (the latest fit answer, column pairing_fit, of either person about the pair)
    and "ratings diverge" (the two people's latest answers about the pair, satisfaction 2+ apart).

    An answer is about a current pair when it names that pair's partner (column `partner`, roster ids), or,
    naming none, when it was submitted (column `submitted`) on or after the pair's start; with both, both must
    hold. "Latest" follows `submitted` when the export has it, else the row order. Answers of people in a
    current pair that are about none of their current pairs are not applied, counted in `warnings` (rows in
    `warned_rows` already have a row warning and are not counted again). Without either column answers cannot
    be tied to a pair: each person's answers count for all their current pairs (a warning says so).
    """
    if survey is None or survey.empty:
        return SurveyFlags()
    import pandas as pd

    from mentorctl.tables import normalise_heading

    aliases = {normalise_heading(f) for f in FIT_COLUMNS}
    fit_columns = [c for c in survey.columns if normalise_heading(c) in aliases]
    fit_column = "pairing_fit" if "pairing_fit" in fit_columns and survey["pairing_fit"].astype(str).str.strip().ne(
        "").any() else next((c for c in fit_columns if c != "pairing_fit"), None)
    has_partner, has_submitted = "partner" in survey.columns, "submitted" in survey.columns
    tied = has_partner or has_submitted
    if has_submitted:   # the latest answer last; undated answers (tied by partner) before the dated ones
        survey = survey.sort_values("submitted", kind="stable", na_position="first")
    current: dict[str, list[Relationship]] = {}
    for pair in state.with_status(Status.ACTIVE, Status.PAUSED):
        for who in pair.key:
            current.setdefault(who, []).append(pair)
    before: dict[str, set[str]] = {}    # person → partners of their other (ended) pairs, case-folded
    for pair in state.relationships:
        if pair.status is Status.ENDED:
            before.setdefault(pair.mentee_id, set()).add(pair.mentor_id.casefold())
            before.setdefault(pair.mentor_id, set()).add(pair.mentee_id.casefold())
    n = len(survey)

    def column(name: str) -> list[Any]:
        return survey[name].tolist() if name in survey.columns else [None] * n

    fits: dict[tuple[tuple[str, str], str], tuple[str, Any]] = {}     # (pair, person) → (answer, submitted)
    latest: dict[tuple[tuple[str, str], str], float | None] = {}      # (pair, person) → satisfaction
    skipped: dict[str, list[int | None]] = {"earlier": [], "stranger": [], "undated": [], "ambiguous": [],
                                            "untied": []}
    warned = set(warned_rows)
    for who, answer, rating, partner, when, row in zip(
            survey["participant_id"].astype(str), column(fit_column) if fit_column else [None] * n,
            column("satisfaction"), column("partner"), column("submitted"), column("_row"), strict=True):
        pairs = current.get(who)
        if not pairs:
            continue
        text = "" if answer is None or answer != answer else fit_answer(answer)   # NaN: an empty cell
        named = partner.strip().casefold() if isinstance(partner, str) and partner.strip() else None
        day = None if when is None or pd.isna(when) else pd.Timestamp(when).date()
        about = [p for p in pairs if not tied or _about(p, who, named, day)]
        for pair in about:
            if text:
                fits[(pair.key, who)] = (text, day)    # the later answer counts
            latest[(pair.key, who)] = _number(rating)
        if not (text or _number(rating) is not None):
            continue
        if not tied:
            skipped["ambiguous" if before.get(who) else "untied"].append(row)
        elif not about and row not in warned:
            partners = before.get(who, set()) | {(p.mentor_id if who == p.mentee_id else p.mentee_id).casefold()
                                                  for p in pairs}   # a current partner: dated before the pair
            kind = ("earlier" if named in partners else "stranger") if named else (
                "earlier" if day is not None else "undated")
            skipped[kind].append(row)
    out: list[FollowUp] = []
    for pair in state.with_status(Status.ACTIVE, Status.PAUSED):
        for who in pair.key:
            fit = fits.get((pair.key, who))
            if fit is not None and fit[0] in NOT_A_FIT:
                on = f" on {fit[1]}" if fit[1] else ""
                out.append(FollowUp(pair.mentee_id, pair.mentor_id, "not a fit", f"{who} answered '{fit[0]}'{on}"))
        a, b = (latest.get((pair.key, w)) for w in pair.key)
        if a is not None and b is not None and abs(a - b) >= 2:
            out.append(FollowUp(pair.mentee_id, pair.mentor_id, "ratings diverge",
                                f"satisfaction {a:g} ({pair.mentee_id}) vs {b:g} ({pair.mentor_id})"))
    return SurveyFlags(tuple(out), _survey_warnings(skipped, source, tied, survey.columns))


def _about(pair: Relationship, who: str, partner: str | None, day: date | None) -> bool:
    """Whether `who`'s answer naming `partner` (case-folded id), submitted on `day`, is about `pair`."""
    if partner is not None:
        other = pair.mentor_id if who == pair.mentee_id else pair.mentee_id
        return partner == other.casefold() and (day is None or day >= pair.start)
    return day is not None and day >= pair.start


def _survey_warnings(skipped: Mapping[str, list[int | None]], source: str, tied: bool,
                     columns: Iterable[str]) -> tuple[str, ...]:
    """One line per kind of answer not applied (or, without partner and submitted, that cannot be tied)."""

    def rows(numbers: list[int | None]) -> str:
        known = [str(r) for r in numbers if r is not None]
        if not known:
            return ""
        more = " …" if len(known) > SHOWN_ROWS else ""
        return f" ({source} row{'s' if len(known) > 1 else ''} {', '.join(known[:SHOWN_ROWS])}{more})"

    def answers(count: int) -> str:
        return f"{count} survey answer{'s' if count != 1 else ''}"

    lines = []
    if not tied:
        ambiguous = skipped["ambiguous"]
        if not ambiguous and not skipped["untied"]:
            return ()   # nobody in a current pair answered: nothing to tie
        hint = " (its timestamp column may be that date: map it as submitted)" if "timestamp" in columns else ""
        who = "comes from someone who" if len(ambiguous) == 1 else "come from people who"
        risk = (f"; {answers(len(ambiguous))} {who} had an earlier pair and may be about it{rows(ambiguous)}"
                if ambiguous else "")
        lines.append(f"{source} has no partner or submitted column, so survey answers cannot be tied to a pair: "
                     f"each person's latest answer counts for their current pair{risk}. Add a partner column (the "
                     f"other person's id, email or name) or a submitted date{hint}, mapped under "
                     "reporting.survey.columns.")
        return tuple(lines)
    if skipped["earlier"]:
        count = len(skipped["earlier"])
        verbs = "is about an earlier pair and was" if count == 1 else "are about earlier pairs and were"
        lines.append(f"{answers(count)} {verbs} not applied to follow-ups"
                     f"{rows(skipped['earlier'])}.")
    if skipped["stranger"]:
        count = len(skipped["stranger"])
        verbs = "names a partner the person is not paired with and was" if count == 1 else (
            "name a partner the person is not paired with and were")
        lines.append(f"{answers(count)} {verbs} not applied to follow-ups{rows(skipped['stranger'])}; check "
                     "the partner column.")
    if skipped["undated"]:
        count = len(skipped["undated"])
        verbs = ("names no partner and has no submitted date, so it cannot be tied to a pair and was" if count == 1
                 else "name no partner and have no submitted date, so they cannot be tied to a pair and were")
        lines.append(f"{answers(count)} {verbs} not applied to follow-ups{rows(skipped['undated'])}.")
    return tuple(lines)


def _number(value: object) -> float | None:
    """A survey cell as a number; None when it is empty or not a number."""
    try:
        number = float(str(value))
    except ValueError:
        return None
    return None if number != number else number  # NaN: an empty cell
