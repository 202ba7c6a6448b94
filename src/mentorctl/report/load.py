"""Read everything a report is computed from, once: rosters, matches, activity logs, the HR extract, the
survey export, the relationships log and the self-matching state, as a frozen `ReportInputs`.

Nothing here computes a KPI or writes a note: `build.compute_report` turns the inputs, a period and a time
into a `Report` without touching a file, so it can be tested (and timed) on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from mentorctl.activity import ActivityLog, Table
    from mentorctl.programme import Programme
    from mentorctl.relationships import Lifecycle
    from mentorctl.roster import Participants
    from mentorctl.selfmatch.funnel import Funnel


@dataclass(frozen=True)
class ReportInputs:
    """What the programme's files say, as read (validated, not yet counted)."""

    programme: Programme
    participants: Participants
    people: pd.DataFrame
    """One row per rostered person (first roster wins for an id in two), indexed by id; `_role` column."""
    excluded: dict[str, str]
    """{id: reason} of the people `design.eligibility` keeps out."""
    eligibility_error: str | None
    """Why `design.eligibility` could not be applied (then nobody is excluded), or None."""
    pairs: pd.DataFrame | None
    """out/matches.csv's (mentor_id, mentee_id), or None without the file."""
    log: ActivityLog
    hr: Table | None
    survey: Table | None
    lifecycle: Lifecycle | None
    """A running programme's relationships (relationships.csv) as of `as_of`, else None."""
    self_matching: Funnel | None
    """The self-matching funnel, when the programme does self-matching."""
    as_of: date
    """The day the relationships are taken as of (the period's last day, or today if earlier)."""


def load_inputs(programme: Programme, *, as_of: date, activity_paths: Sequence[str | Path] | None = None,
                timings: dict[str, float] | None = None) -> ReportInputs:
    """Read every input of the programme's report (MentorctlError naming the file and row on bad input).

    `activity_paths` replace the activity logs of programme.yaml; `timings`, when given, receives the seconds
    spent reading each kind of input (for benchmarks)."""
    from time import perf_counter

    from mentorctl.activity import load_activity, read_hr_extract, read_survey
    from mentorctl.matches import default_matches_path, read_matches
    from mentorctl.roster import load_participants

    clock = [perf_counter()]

    def lap(stage: str) -> None:
        if timings is not None:
            now_ = perf_counter()
            timings[stage] = timings.get(stage, 0.0) + now_ - clock[0]
            clock[0] = now_

    participants = load_participants(programme)
    frames = [r.frame.assign(_role=r.role) for r in participants.rosters()]
    people = pd.concat(frames, ignore_index=True).drop_duplicates("id", keep="first")
    people = people.set_index(pd.Index(people["id"].astype(str).to_numpy()))
    excluded, error = _excluded(programme, participants)
    pairs = None
    if default_matches_path(programme).exists():
        pairs = read_matches(programme, participants=participants)[["mentor_id", "mentee_id"]]
    lap("read rosters and matches")
    log = load_activity(programme, activity_paths, participants)
    lap("read activity log")
    hr = read_hr_extract(programme, participants=participants)
    survey = read_survey(programme, participants=participants)
    lap("read HR extract and survey")
    lifecycle = _lifecycle(programme, participants, as_of)
    from mentorctl.selfmatch.funnel import programme_funnel

    funnel = programme_funnel(programme)
    lap("read relationships and self-matching")
    return ReportInputs(programme=programme, participants=participants, people=people, excluded=excluded,
                        eligibility_error=error, pairs=pairs, log=log, hr=hr, survey=survey, lifecycle=lifecycle,
                        self_matching=funnel, as_of=as_of)


def _excluded(programme: Programme, participants: Participants) -> tuple[dict[str, str], str | None]:
    from mentorctl.errors import MentorctlError
    from mentorctl.matching.check import excluded_people

    try:
        return dict(excluded_people(programme, participants)), None
    except MentorctlError as error:
        return {}, error.plain_message


def _lifecycle(programme: Programme, participants: Participants, as_of: date) -> Lifecycle | None:
    from mentorctl.relationships import is_running, load_lifecycle

    if not is_running(programme):
        return None
    return load_lifecycle(programme, participants, as_of)
