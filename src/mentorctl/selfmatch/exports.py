"""Form exports of self-matching: the mentees' ranked picks, the mentors' answers, mentors' rankings.

Each is read like a roster (any CSV flavour or an Excel sheet, headings compared ignoring case, spaces,
underscores and hyphens) and mapped by `self_matching.choices` / `answers` / `mentor_rankings`. People are
found by id or email (ignoring case); a pick may also name a mentor by name (when the name is unique) or as
"Name (ID)". Every problem names the file, the row and the column:

- an unknown person, a repeated pick, picks beyond `max_picks`: a warning, the cell ignored — or, with
  `self_matching.unknown_pick: error`, an error (exit 2);
- a mentee who answered twice: the later answer counts (by the `submitted` column, else the row order), with
  a warning;
- an answer that is neither accept nor decline ("not a fit", "bad fit" and "poor fit" decline): an error.

A mentors' answer names the request it answers: the mentee and the mentor (their columns), and, when the
export has the `request` column, the request reference from the request email. Which request that is, and
whether it is still open, is decided in `requests.advance`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mentorctl.errors import Finding, Location, MentorctlError

if TYPE_CHECKING:
    from mentorctl.programme import Programme
    from mentorctl.roster import Participants

ACCEPT = {"accept", "accepted", "yes", "y", "ok", "agree", "true", "1"}
DECLINE = {"decline", "declined", "no", "n", "reject", "rejected", "refuse", "false", "0"}


@dataclass(frozen=True)
class Pick:
    """A ranked pick (rank 1 = first choice) from row `row` of the export."""

    chooser_id: str
    chosen_id: str
    rank: int
    row: int
    column: str
    submitted: datetime | None = None


@dataclass(frozen=True)
class Answer:
    """A mentor's answer to a mentee's request."""

    mentor: str
    mentee: str
    accept: bool
    row: int
    submitted: datetime | None
    request: str | None = None      # the request reference the row gives, when the export has that column


@dataclass(frozen=True)
class ExportRead:
    """What was read from an export: the items and every warning (errors are raised)."""

    source: str
    picks: tuple[Pick, ...] = ()
    answers: tuple[Answer, ...] = ()
    findings: tuple[Finding, ...] = ()

    def picks_of(self, chooser_id: str) -> list[Pick]:
        return sorted((p for p in self.picks if p.chooser_id == chooser_id), key=lambda p: p.rank)


class Directory:
    """Finds people by id, email or (unique) name, ignoring case and surrounding spaces — the one resolver of
    references.py, with names only when asked for."""

    def __init__(self, frame: Any) -> None:
        from mentorctl.references import Directory as People

        self.people = People.of_frames([frame])

    def find(self, text: str, *, names: bool = False) -> str | None:
        found = self.people.resolve(text)
        if not found.ok or (found.by == "name" and not names):
            return None
        return found.id

    def hint(self, text: str) -> str:
        """` (did you mean 'Dev Patel'?)` for a reference `find` did not take; empty without a close one."""
        found = self.people.resolve(text)
        if found.ambiguous:
            return f" (the name of {len(found.ambiguous)} people: write the id or email)"
        if found.ok:   # a name where only an id or email counts
            return f" ('{text}' is a name: write the id or email, {found.id})"
        return found.did_you_mean


def _table(programme: Programme, spec: str, label: str) -> tuple[str, list[str], list[list[Any]], list[int]]:
    from mentorctl.tables import TableError, read_table, split_sheet

    path_text, sheet = split_sheet(spec)
    try:
        table = read_table(programme.resolve(path_text), sheet, spec)
    except TableError as e:
        raise MentorctlError(f"{label}: {e.plain_message}", location=e.location or Location(spec)) from e
    cells = table.frame.to_numpy(dtype=object).tolist() if table.headings else []
    return spec, list(table.headings), cells, table.rows.tolist()


def _column(headings: Sequence[str], wanted: str, label: str, source: str) -> int:
    from mentorctl.tables import normalise_heading

    target = normalise_heading(wanted)
    for index, heading in enumerate(headings):
        if normalise_heading(heading) == target:
            return index
    raise MentorctlError(f"{label}: no column '{wanted}' (found: {', '.join(h for h in headings if h)}); "
                         "set the heading in programme.yaml", location=Location(source))


def _text(cell: Any) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell).strip()


def _when(cell: Any) -> datetime | None:
    if isinstance(cell, datetime):
        return cell
    text = _text(cell)
    if not text:
        return None
    import pandas as pd

    try:
        value = pd.Timestamp(text)
    except (ValueError, TypeError):
        return None
    return None if pd.isna(value) else value.to_pydatetime()


def _local(stamp: datetime | None, programme: Programme) -> datetime | None:
    """A form's timestamp; without a zone it is the programme's local time."""
    if stamp is not None and stamp.tzinfo is None:
        return stamp.replace(tzinfo=programme.tz)
    return stamp


class _Problems:
    """Row problems: warnings, or errors when `unknown_pick: error` (raised together at the end)."""

    def __init__(self, strict: bool, label: str) -> None:
        self.strict, self.label = strict, label
        self.findings: list[Finding] = []

    def add(self, message: str, source: str, row: int, column: str | None, *, always_error: bool = False) -> None:
        """`message` ends with "; … ignored" (what a warning does); as an error it says what to do instead."""
        level = "error" if self.strict or always_error else "warning"
        if level == "error" and not always_error:
            message = strict_message(message)
        self.findings.append(Finding(level, message, Location(source, row, column)))

    def warn(self, message: str, source: str, row: int | None = None, column: str | None = None) -> None:
        self.findings.append(Finding("warning", message, Location(source, row, column)))

    def raise_errors(self) -> tuple[Finding, ...]:
        errors = [f for f in self.findings if f.level == "error"]
        if errors:
            first = errors[0]
            raise MentorctlError(first.message
                                 + (f" ({len(errors)} problems in all)" if len(errors) > 1 else ""),
                                 location=first.location, details=[str(f) for f in errors[1:20]])
        return tuple(self.findings)


def strict_message(message: str) -> str:
    """A warning's "…; pick ignored" as an error: what to do about it."""
    base = re.sub(r"; (pick|row|cell) ignored$", "", message)
    return base + "; correct the export, or set self_matching.unknown_pick: warning to ignore such picks"


def _pick_cells(headings: list[str], row: list[Any], pick_columns: list[int] | int,
                separator: str) -> list[tuple[str, str]]:
    """(text, column heading) per pick of a row, in rank order."""
    if isinstance(pick_columns, int):
        text = _text(row[pick_columns])
        return [(part.strip(), headings[pick_columns]) for part in text.split(separator) if part.strip()]
    return [(_text(row[c]), headings[c]) for c in pick_columns]


def _latest_rows(cells: list[list[Any]], numbers: list[int], key_of: Any, when_column: int | None
                 ) -> tuple[dict[str, tuple[list[Any], int]], list[tuple[str, int, int]]]:
    """The last row per key (by the timestamp column, else row order); and (key, dropped row, kept row)."""
    latest: dict[str, tuple[list[Any], int, Any]] = {}
    replaced = []
    for row, number in zip(cells, numbers, strict=True):
        key = key_of(row, number)
        if key is None:
            continue
        stamp = _when(row[when_column]) if when_column is not None else None
        order = (stamp.timestamp() if stamp else float("-inf"), number)
        if key in latest:
            old_row, old_number, old_order = latest[key]
            if order >= old_order:
                replaced.append((key, old_number, number))
                latest[key] = (row, number, order)
            else:
                replaced.append((key, number, old_number))
            continue
        latest[key] = (row, number, order)
    return {k: (v[0], v[1]) for k, v in latest.items()}, replaced


def read_choices(programme: Programme, participants: Participants, *, collect: bool = False) -> ExportRead:
    """The mentees' ranked picks (`self_matching.choices`). Raises MentorctlError for a missing file or
    column, or for row problems under `unknown_pick: error` (with `collect`: returned among the findings);
    otherwise returns them with the warnings."""
    settings = programme.self_matching
    if settings is None or settings.choices is None:
        raise MentorctlError("self_matching.choices is not set in programme.yaml; add the choice form export "
                             "(path, mentee, picks)", location=Location(str(programme.path)))
    spec = settings.choices
    return _read_ranked(programme, spec.path, spec.mentee, spec.picks, spec.submitted, "self_matching.choices",
                        _roster_frame(participants, "mentee"), _roster_frame(participants, "mentor"),
                        ("mentee", "mentor"), settings.max_picks, settings.unknown_pick == "error", collect)


def read_rankings(programme: Programme, participants: Participants) -> ExportRead:
    """Mentors' rankings of mentees (`self_matching.mentor_rankings`); same rules as `read_choices`."""
    settings = programme.self_matching
    assert settings is not None and settings.mentor_rankings is not None
    spec = settings.mentor_rankings
    return _read_ranked(programme, spec.path, spec.mentor, spec.picks, None, "self_matching.mentor_rankings",
                        _roster_frame(participants, "mentor"), _roster_frame(participants, "mentee"),
                        ("mentor", "mentee"), 10_000, settings.unknown_pick == "error")


def _roster_frame(participants: Participants, role: str) -> Any:
    roster = participants.mentors if role == "mentor" else participants.mentees
    if roster is None:
        raise MentorctlError(f"self-matching needs a {role} roster")
    return roster.frame


def _read_ranked(programme: Programme, path: str, who_heading: str, picks: list[str] | str,
                 submitted: str | None, label: str, choosers: Any, chosen: Any, roles: tuple[str, str],
                 max_picks: int, strict: bool, collect: bool = False) -> ExportRead:
    source, headings, cells, numbers = _table(programme, path, label)
    who = _column(headings, who_heading, label, source)
    pick_columns: list[int] | int = (_column(headings, picks, label, source) if isinstance(picks, str)
                                     else [_column(headings, p, label, source) for p in picks])
    when = _column(headings, submitted, label, source) if submitted else None
    choosers_dir, chosen_dir = Directory(choosers), Directory(chosen)
    problems = _Problems(strict, label)

    def key_of(row: list[Any], number: int) -> str | None:
        text = _text(row[who])
        if not text:
            if any(_text(c) for c in row):
                problems.add(f"no {roles[0]} id or email; row ignored", source, number, headings[who])
            return None
        person = choosers_dir.find(text)
        if person is None:
            problems.add(f"'{text}' is not on the {roles[0]} roster (by id or email){choosers_dir.hint(text)}; "
                         "row ignored", source, number, headings[who])
        return person

    latest, replaced = _latest_rows(cells, numbers, key_of, when)
    for person, dropped, kept in replaced:
        problems.warn(f"{person} answered more than once; row {kept} counts, row {dropped} is ignored", source,
                      dropped)
    out: list[Pick] = []
    separator = programme.rosters.list_separator
    for person, (row, number) in sorted(latest.items(), key=lambda kv: kv[1][1]):
        stamp = _local(_when(row[when]), programme) if when is not None else None
        seen: set[str] = set()
        rank = 0  # the stated rank: the position among the row's non-empty picks, even when one is ignored
        for text, column in _pick_cells(headings, row, pick_columns, separator):
            if not text:
                continue
            rank += 1
            if rank > max_picks:
                problems.add(f"more than {max_picks} picks (self_matching.max_picks); '{text}' ignored",
                             source, number, column)
                continue
            target = chosen_dir.find(text, names=True)
            if target is None:
                problems.add(f"'{text}' is not on the {roles[1]} roster (by id, email or name)"
                             f"{chosen_dir.hint(text)}; pick ignored", source, number, column)
                continue
            if target in seen:
                problems.warn(f"{target} is picked twice; the higher rank counts", source, number, column)
                continue
            seen.add(target)
            out.append(Pick(person, target, rank, number, column, stamp))
    return ExportRead(source, picks=tuple(out),
                      findings=tuple(problems.findings) if collect else problems.raise_errors())


def read_answers(programme: Programme, participants: Participants, *, collect: bool = False) -> ExportRead:
    """The mentors' answers (`self_matching.answers`): one per row, in the order they were given (the
    `submitted` column, else row order). An answer that is neither accept nor decline is an error. With
    `collect`, errors are returned among the findings instead of raised (`validate`)."""
    settings = programme.self_matching
    if settings is None or settings.answers is None:
        return ExportRead("(no answers file)")
    spec = settings.answers
    label = "self_matching.answers"
    if not programme.resolve(spec.path.rsplit("#", 1)[0]).exists():
        return ExportRead(spec.path)   # no answers yet: nothing to read
    source, headings, cells, numbers = _table(programme, spec.path, label)
    mentor_col = _column(headings, spec.mentor, label, source)
    mentee_col = _column(headings, spec.mentee, label, source)
    answer_col = _column(headings, spec.answer, label, source)
    when = _column(headings, spec.submitted, label, source) if spec.submitted else None
    request_col = _column(headings, spec.request, label, source) if spec.request else None
    mentors, mentees = Directory(_roster_frame(participants, "mentor")), Directory(_roster_frame(participants, "mentee"))
    problems = _Problems(settings.unknown_pick == "error", label)
    out: list[Answer] = []
    for row, number in zip(cells, numbers, strict=True):
        if not any(_text(c) for c in row):
            continue
        mentor = mentors.find(_text(row[mentor_col]))
        mentee = mentees.find(_text(row[mentee_col]), names=True)
        if mentor is None:
            problems.add(f"'{_text(row[mentor_col])}' is not on the mentor roster"
                         f"{mentors.hint(_text(row[mentor_col]))}; row ignored", source, number, headings[mentor_col])
            continue
        if mentee is None:
            problems.add(f"'{_text(row[mentee_col])}' is not on the mentee roster"
                         f"{mentees.hint(_text(row[mentee_col]))}; row ignored", source, number, headings[mentee_col])
            continue
        word = _text(row[answer_col]).lower()
        first = word.split()[0].strip(".,!") if word.split() else ""
        if first in ACCEPT or word in ACCEPT:
            accept = True
        elif first in DECLINE or word in DECLINE or _not_a_fit(word):
            accept = False
        else:
            problems.add(f"'{_text(row[answer_col])}' is neither accept nor decline; write accept or decline",
                         source, number, headings[answer_col], always_error=True)
            continue
        stamp = _local(_when(row[when]), programme) if when is not None else None
        reference = (_text(row[request_col]) or None) if request_col is not None else None
        out.append(Answer(mentor, mentee, accept, number, stamp, reference))
    out.sort(key=lambda a: (a.submitted.timestamp() if a.submitted else float("-inf"), a.row))
    return ExportRead(source, answers=tuple(out),
                      findings=tuple(problems.findings) if collect else problems.raise_errors())


def _not_a_fit(word: str) -> bool:
    """"Not a fit" (or "bad fit", "poor fit": the fit check's words, relationships.NOT_A_FIT) is a decline."""
    from mentorctl.relationships import NOT_A_FIT, fit_answer

    return fit_answer(word) in NOT_A_FIT


def keyed(picks: Iterable[Pick]) -> dict[str, list[Pick]]:
    """Picks per chooser, in rank order."""
    out: dict[str, list[Pick]] = {}
    for pick in sorted(picks, key=lambda p: (p.chooser_id, p.rank)):
        out.setdefault(pick.chooser_id, []).append(pick)
    return out


def check_exports(programme: Programme, participants: Participants) -> list[Finding]:
    """For `validate`: every problem in the self-matching exports that exist (the choice form, the mentors'
    answers), by file, row and column — people not on the rosters, picks of unknown or ineligible mentors,
    picks not on the mentee's shortlist (when out/shortlists.csv exists), more picks than max_picks, repeated
    picks, answers that are neither accept nor decline, answers about a mentee who never picked that mentor.
    Under `unknown_pick: error` the pick problems are errors, as `match` and `requests` would make them."""
    from mentorctl.matching.preferences import valid_picks
    from mentorctl.matching.prepare import prepare
    from mentorctl.selfmatch.shortlists import read_shortlists

    settings = programme.self_matching
    if settings is None or programme.is_peer:
        return []
    findings: list[Finding] = []
    strict = settings.unknown_pick == "error"
    picked: set[tuple[str, str]] | None = None
    if settings.choices is not None and programme.resolve(settings.choices.path.rsplit("#", 1)[0]).exists():
        try:
            choices = read_choices(programme, participants, collect=True)
            _, problems = valid_picks(prepare(programme, participants), choices, read_shortlists(programme), False)
        except MentorctlError as error:   # a missing column, an unreadable file
            return [Finding("error", error.plain_message, error.location)]
        findings += choices.findings
        findings += [Finding("error", strict_message(f.message), f.location) if strict else f for f in problems]
        picked = {(p.chooser_id, p.chosen_id) for p in choices.picks}
    if settings.answers is not None:
        try:
            answers = read_answers(programme, participants, collect=True)
        except MentorctlError as error:
            return [*findings, Finding("error", error.plain_message, error.location)]
        findings += answers.findings
        for answer in answers.answers:
            if picked is not None and (answer.mentee, answer.mentor) not in picked:
                findings.append(Finding("warning", f"{answer.mentor} answered about {answer.mentee}, who did not "
                                                   f"pick them in {choices.source}; `requests` will ignore it",
                                        Location(answers.source, answer.row)))
    return findings
