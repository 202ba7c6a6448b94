"""`match` in `self_matching.mode: mentee-prefers`: read the choice export (and the mentors' rankings, when
given) and match on the picks (see `matching.preferences`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mentorctl.matching.preferences import PicksOutcome
    from mentorctl.programme import Programme
    from mentorctl.relationships import MatchPlan
    from mentorctl.roster import Participants


def uses_picks(programme: Programme) -> bool:
    """Whether `match` matches on the mentees' picks (mentee-prefers mode with a choice export)."""
    from mentorctl.programme import SelfMatchingMode

    settings = programme.self_matching
    return settings is not None and settings.mode is SelfMatchingMode.MENTEE_PREFERS and settings.choices is not None


def match_on_picks(programme: Programme, participants: Participants, *, stable: bool | None = None,
                   plan: MatchPlan | None = None) -> PicksOutcome:
    """The rank-maximal matching of the picks in `self_matching.choices` (checked against out/shortlists.csv
    when it exists; in a running programme `plan` keeps the current pairs and never repeats ended ones); with
    `mentor_rankings`, blocking pairs are reported, and with `stable` (default
    `self_matching.stable`) the stable matching is found instead."""
    from mentorctl.matching.preferences import solve_with_picks
    from mentorctl.selfmatch.exports import read_choices, read_rankings
    from mentorctl.selfmatch.shortlists import read_shortlists

    settings = programme.self_matching
    assert settings is not None
    choices = read_choices(programme, participants)
    rankings = read_rankings(programme, participants) if settings.mentor_rankings is not None else None
    want_stable = settings.stable if stable is None else stable
    if want_stable and rankings is None:
        from mentorctl.errors import ProgrammeError

        raise ProgrammeError("a stable matching needs the mentors' rankings: set self_matching.mentor_rankings")
    outcome = solve_with_picks(programme, participants, choices, read_shortlists(programme), rankings,
                               stable=want_stable, plan=plan)
    if rankings is not None and rankings.findings:
        from dataclasses import replace

        outcome = replace(outcome, findings=(*outcome.findings, *rankings.findings))
    return outcome
