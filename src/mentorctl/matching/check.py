"""Which pairs of a matches file break the programme's rules: the check behind `validate` and `packs` for a
matches.csv the coordinator edited by hand.

A pair breaks a rule when a `matching.eligibility` rule does not hold for it (for peers: in either
orientation), when one of its people is excluded by `design.eligibility`, or when it pairs a person with
themself. Pairs whose people are not on the rosters are left to `read_matches`, which names them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from mentorctl.matching.prepare import Prepared
    from mentorctl.programme import Programme
    from mentorctl.roster import Participants


@dataclass(frozen=True)
class BrokenPair:
    """A pair of the matches file and the rules it breaks (their text, as in programme.yaml)."""

    mentor_id: str
    mentee_id: str
    row: int | None           # the row of the matches file (header = 1), when known
    rules: tuple[str, ...]

    @property
    def message(self) -> str:
        broken = "; ".join(f'"{r}"' for r in self.rules)
        where = f"row {self.row}: " if self.row is not None else ""
        return (f"{where}pair {self.mentor_id} – {self.mentee_id} breaks {broken}; the packs will not say it "
                "meets the rules (run `mentorctl explain` to see the alternatives)")


@dataclass(frozen=True)
class PairCheck:
    """A matches file checked against the rosters and rules as they are now: the pairs that break a rule,
    each known pair's scoring terms (weighted, recomputed: a pair typed in by hand keeps the score columns of
    the row it replaced, which may say nothing true of it), and the people with more pairs than places."""

    broken: list[BrokenPair]
    terms: dict[tuple[str, str], dict[str, float]]    # (mentor_id, mentee_id) → term name → points
    over_capacity: list[str]                          # "mentor M1 has 3 mentees in the file but capacity 2"
    excluded: list[str] = field(default_factory=list)  # pairs with someone design.eligibility keeps out


def broken_pairs(programme: Programme, participants: Participants, pairs: pd.DataFrame) -> list[BrokenPair]:
    """Every pair of `pairs` (mentor_id, mentee_id, optional _row) that breaks a rule, in file order."""
    return check_pairs(programme, participants, pairs).broken


def check_pairs(programme: Programme, participants: Participants, pairs: pd.DataFrame | None) -> PairCheck:
    """`PairCheck` of `pairs` (mentor_id, mentee_id, optional _row), in file order."""
    from mentorctl.matching.prepare import prepare

    if pairs is None or not len(pairs):
        return PairCheck([], {}, [])
    prep = prepare(programme, participants)
    mentor_of, mentee_of = prep.mentor_index, prep.mentee_index
    mentor_ids = [str(v) for v in pairs["mentor_id"]]
    mentee_ids = [str(v) for v in pairs["mentee_id"]]
    known = np.array([m in mentor_of and e in mentee_of for m, e in zip(mentor_ids, mentee_ids, strict=True)])
    rows = pairs["_row"].tolist() if "_row" in pairs.columns else [None] * len(pairs)
    where = np.flatnonzero(known)
    if not len(where):
        return PairCheck([], {}, [])
    j = np.array([mentor_of[mentor_ids[k]] for k in where], np.int64)
    e = np.array([mentee_of[mentee_ids[k]] for k in where], np.int64)
    points = prep.source.terms_for_pairs(e, j)
    terms = {(mentor_ids[k], mentee_ids[k]): {name: float(values[position]) for name, values in points.items()}
             for position, k in enumerate(where)}
    broken: dict[int, list[str]] = {}
    excluded = []
    for position, k in enumerate(where):
        reasons = []
        for who, ok, why in ((mentor_ids[k], prep.mentor_ok[j[position]], prep.mentor_reason[j[position]]),
                             (mentee_ids[k], prep.mentee_ok[e[position]], prep.mentee_reason[e[position]])):
            if not ok:
                reasons.append(str(why or "design.eligibility"))
                where_row = f"row {rows[k]}: " if rows[k] is not None else ""
                excluded.append(f"{where_row}pair {mentor_ids[k]} – {mentee_ids[k]} includes {who}, whom "
                                f"design.eligibility keeps out of the programme ({why or 'not eligible'})")
        if mentor_ids[k] == mentee_ids[k]:
            reasons.append("a person cannot be matched with themself")
        if reasons:
            broken[int(k)] = reasons
    for rule in prep.rules.eligibility:
        holds = prep.source.rule_holds_for_pairs(rule, e, j)
        for failed in np.flatnonzero(~holds):
            broken.setdefault(int(where[failed]), []).append(rule.text)
    out = []
    for key in sorted(broken):
        row = rows[key]
        out.append(BrokenPair(mentor_ids[key], mentee_ids[key], None if row is None else int(row),
                              tuple(dict.fromkeys(broken[key]))))
    return PairCheck(out, terms, _over_capacity(prep, j, e), list(dict.fromkeys(excluded)))


def _over_capacity(prep: Prepared, j: np.ndarray, e: np.ndarray) -> list[str]:
    """People of the file with more pairs than places (mentor capacity, mentors per mentee; a peer has one)."""
    found = []
    if prep.peer:
        counts = np.bincount(np.concatenate([j, e]), minlength=len(prep.mentors))
        return [f"{prep.mentors['id'].iloc[person]} is in {counts[person]} pairs in the file (a peer has one)"
                for person in np.flatnonzero(counts > 1)]
    for side, index, cap, frame in (("mentor", j, prep.mentor_cap, prep.mentors),
                                    ("mentee", e, prep.mentee_cap, prep.mentees)):
        counts = np.bincount(index, minlength=len(cap))
        for person in np.flatnonzero(counts > cap):
            held = "mentees" if side == "mentor" else "mentors"
            place = "capacity" if side == "mentor" else "mentors_per_mentee"
            found.append(f"{side} {frame['id'].iloc[person]} has {counts[person]} {held} in the file but "
                         f"{place} {cap[person]}")
    return found


def excluded_people(programme: Programme, participants: Participants) -> dict[str, str]:
    """{id: reason} of everyone `design.eligibility` keeps out of the programme (e.g. mentors with fewer
    than three years at the company): they are neither matched nor counted as eligible in the report."""
    from mentorctl.matching.prepare import prepare

    design = programme.design.eligibility
    if not design.mentors and not design.mentees:
        return {}
    prep = prepare(programme, participants)
    out: dict[str, str] = {}
    for frame, ok, reasons in ((prep.mentors, prep.mentor_ok, prep.mentor_reason),
                               (prep.mentees, prep.mentee_ok, prep.mentee_reason)):
        for index in np.flatnonzero(~ok):
            out.setdefault(str(frame["id"].iloc[index]), str(reasons[index] or "not eligible for the programme"))
    return out
