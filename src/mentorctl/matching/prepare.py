"""From a programme and its participants to the matcher's inputs: people sorted by id, rules checked,
capacities, people eligible for the programme, and the pinned / forbidden / history / kept pair files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mentorctl.errors import Location, MentorctlError, RosterError, RuleError
from mentorctl.matching.blocking import build_blocking
from mentorctl.matching.sources import RuleSource
from mentorctl.rules import ProgrammeRules, RuleContext, programme_rules

if TYPE_CHECKING:
    import pandas as pd

    from mentorctl.programme import Programme
    from mentorctl.roster import Participants

_MENTOR_HEADINGS = ("mentorid", "mentor", "mentoremployeeid", "person1", "personaid", "peer1id", "aid")
_MENTEE_HEADINGS = ("menteeid", "mentee", "menteeemployeeid", "person2", "personbid", "peer2id", "bid")


@dataclass
class Prepared:
    programme: Programme
    peer: bool
    mentors: pd.DataFrame           # sorted by id, RangeIndex
    mentees: pd.DataFrame
    mentor_source: str
    mentee_source: str
    rules: ProgrammeRules
    ctx: RuleContext
    source: RuleSource
    mentor_cap: np.ndarray          # int64
    mentee_cap: np.ndarray
    mentor_ok: np.ndarray           # bool: eligible for the programme (design.eligibility.mentors)
    mentee_ok: np.ndarray
    mentor_reason: list[str | None]
    mentee_reason: list[str | None]

    @property
    def mentor_index(self) -> dict[str, int]:
        return {v: i for i, v in enumerate(self.mentors["id"].tolist())}

    @property
    def mentee_index(self) -> dict[str, int]:
        return {v: i for i, v in enumerate(self.mentees["id"].tolist())}


def prepare(programme: Programme, participants: Participants) -> Prepared:
    """Check every rule against the rosters and compute what the matcher needs (RuleError/RosterError)."""
    from mentorctl.matching.sources import PeerSource

    peer = programme.is_peer
    mentor_roster = participants.participants if peer and participants.participants else participants.mentors
    mentee_roster = mentor_roster if peer else participants.mentees
    if mentor_roster is None or mentee_roster is None:
        raise RosterError("the programme needs both a mentor and a mentee roster to match")
    for roster in {id(mentor_roster): mentor_roster, id(mentee_roster): mentee_roster}.values():
        if len(roster.frame) == 0:
            raise RosterError(f"the {roster.role} roster has nobody in it; add people (one row each) and run again",
                              location=Location(roster.source))
    mentors = mentor_roster.frame.sort_values("id", kind="stable").reset_index(drop=True)
    mentees = mentors if peer else mentee_roster.frame.sort_values("id", kind="stable").reset_index(drop=True)
    rules = programme_rules(programme)
    ctx = RuleContext(mentors, mentees, separator_for=programme.rosters.separator_for,
                      mentor_source=mentor_roster.source, mentee_source=mentee_roster.source)
    for rule in rules.all():
        kind = ctx.check(rule)
        is_score = any(s.rule is rule for s in rules.scoring)
        if kind != "bool" and not is_score:
            raise RuleError(f'{rule.origin}: "{rule.text}" is a number, not a condition; compare it with '
                            "something, e.g. ... >= 1")
    mentor_ok, mentor_reason = _side_eligibility(ctx, rules.mentor_eligibility, "mentor")
    mentee_ok, mentee_reason = _side_eligibility(ctx, rules.mentee_eligibility, "mentee")
    if peer:   # one roster on both sides: a participant takes part when every design.eligibility rule holds
        mentor_reason = [a or b for a, b in zip(mentor_reason, mentee_reason, strict=True)]
        mentor_ok = mentee_ok = mentor_ok & mentee_ok
        mentee_reason = mentor_reason
    mentor_cap = _capacities(programme, mentors, mentor_roster.source)
    mentee_cap = np.ones(len(mentees), np.int64) if peer else mentor_demands(programme, mentees)
    if peer:
        mentor_cap = np.ones(len(mentors), np.int64)
        source: RuleSource = PeerSource(ctx, rules.eligibility, rules.scoring)
    else:
        position = {v: i for i, v in enumerate(mentors["id"].tolist())}
        self_mentor = np.array([position.get(v, -1) for v in mentees["id"].tolist()], np.int64)
        source = RuleSource(ctx, rules.eligibility, rules.scoring,
                            self_mentor if (self_mentor >= 0).any() else None)
        source.blocking = build_blocking(ctx, rules.eligibility)
    return Prepared(programme, peer, mentors, mentees, mentor_roster.source, mentee_roster.source, rules, ctx,
                    source, mentor_cap, mentee_cap, mentor_ok, mentee_ok, mentor_reason, mentee_reason)


NOT_ELIGIBLE = "not eligible for the programme"   # starts the unmatched reason of people design.eligibility excludes


def excluded_note(prep: Prepared) -> list[str]:
    """'2 mentees excluded by design.eligibility (mentees.csv rows 5, 9)': one line per side that loses anyone
    (they are not matched, waitlisted, reminded or sent packs)."""
    from mentorctl.roster import ROW_COLUMN

    notes = []
    sides = [("participant", prep.mentors, prep.mentor_ok, prep.mentor_source)] if prep.peer else [
        ("mentor", prep.mentors, prep.mentor_ok, prep.mentor_source),
        ("mentee", prep.mentees, prep.mentee_ok, prep.mentee_source)]
    for role, frame, ok, source in sides:
        out = np.flatnonzero(~ok)
        if not len(out):
            continue
        rows = sorted(int(r) for r in frame[ROW_COLUMN].to_numpy()[out]) if ROW_COLUMN in frame else []
        shown = ", ".join(str(r) for r in rows[:10]) + (f" and {len(rows) - 10} more" if len(rows) > 10 else "")
        where = f" ({source} rows {shown})" if rows else ""
        notes.append(f"{len(out)} {role}{'' if len(out) == 1 else 's'} excluded by design.eligibility{where}: "
                     "they are not matched, waitlisted or reminded")
    return notes


def _side_eligibility(ctx: RuleContext, rules: list, side: str) -> tuple[np.ndarray, list[str | None]]:
    n = ctx.n(side)
    ok = np.ones(n, bool)
    reason: list[str | None] = [None] * n
    for rule in rules:
        holds = np.asarray(ctx.evaluate_side(rule, side))
        holds = holds if holds.dtype == bool else np.nan_to_num(holds.astype(float)) != 0
        for index in np.flatnonzero(ok & ~holds):
            reason[index] = f"{NOT_ELIGIBLE}: {rule.text}"
        ok &= holds
    return ok, reason


def _capacities(programme: Programme, mentors: pd.DataFrame, source: str) -> np.ndarray:
    """Per mentor: the capacity column when present and filled, else `matching.mentor_capacity`."""
    import pandas as pd

    default = programme.matching.mentor_capacity
    column = programme.matching.capacity_column
    if column not in mentors.columns:
        return np.full(len(mentors), default, np.int64)
    raw = mentors[column]
    values = pd.to_numeric(raw, errors="coerce")
    bad = raw.notna() & (raw.astype(str).str.strip() != "") & (values.isna() | (values < 0) | (values % 1 != 0))
    if bad.any():
        index = int(np.flatnonzero(bad.to_numpy())[0])
        row = int(mentors["_row"].iloc[index]) if "_row" in mentors.columns else None
        raise RosterError(f"capacity '{raw.iloc[index]}' is not a whole number ≥ 0; write how many mentees this "
                          "mentor can take (or leave it empty for the default "
                          f"{default})", location=Location(source, row, column))
    return values.fillna(default).to_numpy().astype(np.int64)


def mentor_demands(programme: Programme, mentees: pd.DataFrame) -> np.ndarray:
    """Per mentee: how many mentors they want — the `mentors_wanted` column (matching.mentors_wanted_column)
    when present and filled, else `matching.mentors_per_mentee`. The solver reads it as the mentee's demand."""
    from mentorctl.roster import snake_case

    default = programme.matching.mentors_per_mentee
    column = snake_case(programme.matching.mentors_wanted_column)
    if column not in mentees.columns:
        return np.full(len(mentees), default, np.int64)
    import pandas as pd

    values = pd.to_numeric(mentees[column], errors="coerce")
    return values.fillna(default).clip(lower=1).round().to_numpy().astype(np.int64)


def read_pair_file(programme: Programme, spec: str | Path, label: str, prep: Prepared, *,
                   ignore_unknown: bool = False, warnings: list[str] | None = None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read a CSV of pairs (mentor_id, mentee_id; headings case-insensitive; matches.csv works too).
    People are found by id or name, ignoring case and spaces (references.py). Returns mentee indices, mentor
    indices and the file's row numbers. A reference that matches nobody is an error naming the row (pins,
    kept pairs), or — when `warnings` is given (history, forbidden) — one warning appended to it with
    did-you-mean suggestions, the row ignored. `ignore_unknown` ignores such rows silently."""
    if ignore_unknown and warnings is None:
        warnings = []

    from mentorctl.tables import TableError, normalise_heading, read_table

    path = programme.resolve(spec) if not isinstance(spec, Path) else spec
    shown = str(spec)
    if not path.exists():
        base = "the current folder" if isinstance(spec, Path) else "the programme folder"
        raise MentorctlError(f"{label}: file not found; check the path (relative to {base})",
                             location=Location(shown))
    try:  # read like a roster: any common CSV flavour, or .xlsx
        table = read_table(path, None, shown)
    except TableError as error:
        raise MentorctlError(f"{label}: {error.plain_message}", location=Location(shown)) from error
    if not table.headings:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    frame = table.frame.where(table.frame.notna(), "")
    numbers = table.rows.tolist()
    headings = {normalise_heading(c): c for c in frame.columns}
    mentor_col = next((headings[h] for h in _MENTOR_HEADINGS if h in headings), None)
    mentee_col = next((headings[h] for h in _MENTEE_HEADINGS if h in headings), None)
    if mentor_col is None or mentee_col is None:
        raise MentorctlError(f"{label}: needs columns mentor_id and mentee_id (found: {', '.join(frame.columns)})",
                             location=Location(shown))
    from mentorctl.references import Directory, summarise

    mentor_of, mentee_of = prep.mentor_index, prep.mentee_index
    mentor_dir = Directory.of_frames([prep.mentors])  # ids and names, ignoring case and spaces
    mentee_dir = mentor_dir if prep.peer else Directory.of_frames([prep.mentees])
    out_e, out_m, rows, problems = [], [], [], []
    unknown: dict[str, dict[str, list[int]]] = {"mentor": {}, "mentee": {}}
    resolutions: dict[str, dict] = {"mentor": {}, "mentee": {}}
    for row, m, e in zip(numbers, frame[mentor_col].str.strip(), frame[mentee_col].str.strip(), strict=True):
        if not m and not e:
            continue
        found_m, found_e = mentor_dir.resolve(m), mentee_dir.resolve(e)
        if not (found_m.ok and found_e.ok):
            for ref, column, side in ((found_m, mentor_col, "mentor"), (found_e, mentee_col, "mentee")):
                if ref.ok:
                    continue
                role = "participant" if prep.peer else side
                unknown[side].setdefault(ref.text, []).append(int(row))
                resolutions[side][ref.text] = ref
                hint = (f" (did you mean {' or '.join(repr(s) for s in ref.suggestions)}?)"
                        if ref.suggestions else "")
                what = (ref.describe(role) if ref.ambiguous else
                        f"'{ref.text}' is not on the {role} roster{hint}")
                problems.append((row, column, what))
            continue
        out_e.append(mentee_of[str(found_e.id)])
        out_m.append(mentor_of[str(found_m.id)])
        rows.append(row)
    if problems and warnings is not None:  # history, forbidden: the pair cannot happen anyway; say so
        for side in ("mentor", "mentee"):
            if unknown[side]:
                role = "participant" if prep.peer else side
                warnings.append(f"{label} ({shown}): {len(unknown[side])} {role} reference(s) match nobody, so "
                                f"their rows are ignored: {summarise(unknown[side], resolutions[side], role)}")
    elif problems:
        row, column, first = problems[0]
        raise MentorctlError(f"{label}: {first}; fix the id or delete the row"
                             + (f" ({len(problems)} problems in all)" if len(problems) > 1 else ""),
                             location=Location(shown, row, column),
                             details=[f"row {r}, column {c}: {what}" for r, c, what in problems[1:20]])
    return np.array(out_e, np.int64), np.array(out_m, np.int64), np.array(rows, np.int64)
