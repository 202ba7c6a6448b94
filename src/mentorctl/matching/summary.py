"""What a matching run reports: `MatchSummary` (match-summary.json, the Summary sheet, the terminal) and its
parts, as frozen dataclasses. `as_dict()` gives the JSON shape: the same keys in the same order as
match-summary.json has always had; sections a run does not have (`min_share` without the constraint,
`choices` without self-matching …) are left out rather than written as null."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return value.as_dict()  # type: ignore[attr-defined]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


class AsDict:
    """`as_dict()` for the dataclasses below: fields in order, nested parts as dicts, tuples as lists; fields
    marked `optional` are left out when None."""

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if value is None and f.metadata.get("optional"):
                continue
            out[f.name] = _plain(value)
        return out


def _optional() -> Any:
    return field(default=None, metadata={"optional": True})


@dataclass(frozen=True)
class CandidateCounts(AsDict):
    eligible_pairs: int            # pairs allowed by every eligibility rule (peers: unordered pairs)
    kept_per_mentee: int           # matching.candidates_per_mentee
    model_pairs: int               # pairs in the solved model (after the proof's re-checks)
    pruned: bool                   # some eligible pairs were left out of the first model


@dataclass(frozen=True)
class Proof(AsDict):
    """The flow's optimality proof over every eligible pair (reduced costs of the pairs left out)."""

    proven: bool
    rounds: int | None = _optional()
    rechecked_mentees: int | None = _optional()
    pairs_added: int | None = _optional()
    local_repairs: int | None = _optional()      # proof rounds settled by re-optimising around added pairs
    coverage_proven: bool | None = _optional()   # fair: the coverage step was proven too
    odd_set_cuts: int | None = _optional()       # peers: odd-set rows of the matching LP the proof used
    solver: str | None = _optional()             # what found the flow: "OR-Tools" or "compiled primal-dual"


@dataclass(frozen=True)
class GroupRate(AsDict):
    """One value of a `reporting.report_by` field; a hidden small group has people "<N" and no rate."""

    people: int | str
    matched: int | None
    rate: float | None


@dataclass(frozen=True)
class Coverage(AsDict):
    by_mentors: Mapping[str, int]  # mentees with "0", "1", "2" … mentors
    fully_covered: int
    wanted_more: int
    max_wanted: int


@dataclass(frozen=True)
class MentorLoad(AsDict):
    mentors: int                   # mentors the programme admits with capacity
    used: int
    max: int
    mean: float                    # per mentor used
    mean_all: float                # per mentor admitted
    by_mentees: Mapping[str, int]  # mentors with "0", "1", "2" … mentees
    balance: float                 # matching.balance


@dataclass(frozen=True)
class ShareAchieved(AsDict):
    required: float
    achieved: float


@dataclass(frozen=True)
class GlobalBound(AsDict):
    """CP-SAT over pruned candidates: the relaxed flow's optimum over every eligible pair."""

    matched: int
    score: float
    proven: bool
    reached: bool
    gap: float


@dataclass(frozen=True)
class Choices(AsDict):
    """Self-matching (mentee-prefers): how the mentees' picks were met."""

    mentees_with_picks: int
    by_rank: Mapping[str, int]
    first_choice_share: float | None
    none_of_their_picks: int


@dataclass(frozen=True)
class BlockingPair(AsDict):
    mentee_id: str
    mentor_id: str


@dataclass(frozen=True)
class RelationshipCounts(AsDict):
    """A running programme (relationships.csv)."""

    kept: int
    new: int
    ended_never_repeated: int
    not_matched_again: int


@dataclass(frozen=True)
class Waiting(AsDict):
    id: str
    since: str
    days: int


@dataclass(frozen=True)
class MatchSummary(AsDict):
    """What match-summary.json holds (without `run_id`, which the writer adds)."""

    status: str
    objective: str
    objective_value: float
    bound: float | None
    gap: float
    optimality: str                # one sentence: optimal over what, and the proof
    model: str
    type: str                      # design.type
    pairs: int
    matched: int
    unmatched: int
    people: int                    # mentees (peers) the programme admits
    excluded: int                  # left out by design.eligibility
    match_rate: float
    min_pair_score: float | None
    mean_pair_score: float | None
    mentors_with_mentees: int | None
    fixed_pairs: int
    candidates: CandidateCounts
    proof: Proof | None
    seconds: Mapping[str, float]
    solve_seconds: float
    report_by: Mapping[str, Mapping[str, GroupRate]]
    coverage: Coverage | None = _optional()
    mentor_load: MentorLoad | None = _optional()
    min_share: Mapping[str, ShareAchieved] | None = _optional()
    fair_level: float | None = _optional()
    stages: tuple[str, ...] | None = _optional()
    global_bound: GlobalBound | None = _optional()
    choices: Choices | None = _optional()
    blocking_pairs: tuple[BlockingPair, ...] | None = _optional()
    warnings: tuple[str, ...] | None = _optional()
    relationships: RelationshipCounts | None = _optional()
    waitlist: tuple[Waiting, ...] | None = _optional()


__all__ = ["AsDict", "BlockingPair", "CandidateCounts", "Choices", "Coverage", "GlobalBound", "GroupRate", "MatchSummary",
           "MentorLoad", "Proof", "RelationshipCounts", "ShareAchieved", "Waiting"]
