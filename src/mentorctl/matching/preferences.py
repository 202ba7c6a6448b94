"""Matching on ranked picks (`self_matching.mode: mentee-prefers`): the rank-maximal matching, blocking pairs
when mentors rank mentees too, and a stable matching with capacities (deferred acceptance).

Only picks of eligible pairs count: a pick of a mentor the rules or the programme exclude, or one that is
not on the mentee's shortlist (when out/shortlists.csv exists), is reported by row (`self_matching.unknown_pick`:
warning and ignored, or error). Mentees are matched only with mentors they picked; who got none of their picks
is listed in unmatched.csv with the reason.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from mentorctl.errors import Finding, Location, MentorctlError
from mentorctl.matching.summary import BlockingPair, CandidateCounts, Choices, MatchSummary, Proof

if TYPE_CHECKING:
    import pandas as pd

    from mentorctl.matching.solve import MatchResult
    from mentorctl.programme import Programme
    from mentorctl.relationships import MatchPlan
    from mentorctl.roster import Participants
    from mentorctl.selfmatch.exports import ExportRead, Pick


@dataclass(frozen=True)
class PicksOutcome:
    """The matching and the problems found in the picks (warnings; errors are raised)."""

    result: MatchResult
    findings: tuple[Finding, ...]


def deferred_acceptance(proposer_prefs: Mapping[int, Sequence[int]], receiver_rank: Mapping[int, Mapping[int, int]],
                        receiver_cap: Mapping[int, int], proposer_cap: int = 1) -> list[tuple[int, int]]:
    """Proposer-optimal stable matching with receiver capacities (Gale–Shapley, hospital–resident form).

    Proposers propose in their order; a receiver holds its best `cap` proposals by its ranking (a proposer it
    did not rank is never accepted) and rejects the rest. Deterministic: proposers in ascending order."""
    next_choice = {p: 0 for p in proposer_prefs}
    held: dict[int, list[int]] = {r: [] for r in receiver_cap}
    holding: dict[int, int] = {p: 0 for p in proposer_prefs}
    free = sorted(p for p in proposer_prefs if proposer_prefs[p])
    while free:
        p = free.pop(0)
        prefs = proposer_prefs[p]
        while holding[p] < proposer_cap and next_choice[p] < len(prefs):
            r = prefs[next_choice[p]]
            next_choice[p] += 1
            ranking = receiver_rank.get(r, {})
            if p not in ranking or receiver_cap.get(r, 0) <= 0:
                continue
            group = held.setdefault(r, [])
            group.append(p)
            holding[p] += 1
            group.sort(key=lambda q: ranking[q])
            if len(group) > receiver_cap[r]:
                rejected = group.pop()
                holding[rejected] -= 1
                if rejected != p and rejected not in free:
                    free.append(rejected)
                    free.sort()
    return sorted((p, r) for r, group in held.items() for p in group)


def blocking_pairs(pairs: Sequence[tuple[int, int]], proposer_prefs: Mapping[int, Sequence[int]],
                   receiver_rank: Mapping[int, Mapping[int, int]], receiver_cap: Mapping[int, int],
                   proposer_cap: int = 1) -> list[tuple[int, int]]:
    """(proposer, receiver) pairs, not matched together, who both rank each other and each prefer the other
    to one of their partners (or have room)."""
    partners_p: dict[int, set[int]] = {}
    partners_r: dict[int, set[int]] = {}
    for p, r in pairs:
        partners_p.setdefault(p, set()).add(r)
        partners_r.setdefault(r, set()).add(p)
    out = []
    for p, prefs in proposer_prefs.items():
        mine = partners_p.get(p, set())
        position = {r: k for k, r in enumerate(prefs)}
        worst_p = max((position.get(r, len(prefs)) for r in mine), default=len(prefs))
        for r in prefs:
            if r in mine:
                continue
            p_wants = len(mine) < proposer_cap or position[r] < worst_p
            ranking = receiver_rank.get(r, {})
            if not p_wants or p not in ranking:
                continue
            theirs = partners_r.get(r, set())
            worst_r = max((ranking.get(q, 10**9) for q in theirs), default=10**9)
            if len(theirs) < receiver_cap.get(r, 0) or (theirs and ranking[p] < worst_r):
                out.append((p, r))
    return sorted(out)


def solve_with_picks(programme: Programme, participants: Participants, choices: ExportRead,
                     shortlists: pd.DataFrame | None = None, rankings: ExportRead | None = None,
                     stable: bool = False, plan: MatchPlan | None = None) -> PicksOutcome:
    """Match mentees with mentors they picked: rank-maximal (most first choices, then second, …, then the
    total score), or with `stable` and mentors' rankings, the mentee-optimal stable matching.

    `plan` (a running programme, relationships.py): its current pairs are kept (they hold their places and
    are in the result, `choice_rank` empty unless the pair was a pick), a pick of an ended pair is ignored
    (a warning by row: ended pairs never repeat), and the people it names as done are not matched."""
    from mentorctl.matching.prepare import prepare
    from mentorctl.matching.shortlist import rank_maximal
    from mentorctl.matching.solve import MatchResult

    started = time.perf_counter()
    prep = prepare(programme, participants)
    settings = programme.self_matching
    strict = settings is not None and settings.unknown_pick == "error"
    mentee_of, mentor_of = prep.mentee_index, prep.mentor_index
    kept_e, kept_j, history = apply_plan(prep, plan)
    valid, problems = valid_picks(prep, choices, shortlists, strict, history=history,
                                  kept={(int(a), int(b)) for a, b in zip(kept_e, kept_j, strict=True)})
    findings: list[Finding] = [*choices.findings, *problems]
    e_list = [mentee_of[p.chooser_id] for p in valid]
    j_list = [mentor_of[p.chosen_id] for p in valid]
    r_list = [p.rank for p in valid]
    picks_by_mentee: dict[str, list[tuple[str, int]]] = {}
    for pick in valid:
        picks_by_mentee.setdefault(pick.chooser_id, []).append((pick.chosen_id, pick.rank))
    e = np.array(e_list, np.int64)
    j = np.array(j_list, np.int64)
    rank = np.array(r_list, np.int64)
    score = prep.source.score_pairs(e, j) if len(e) else np.zeros(0)
    mentor_cap = np.where(prep.mentor_ok, prep.mentor_cap, 0).astype(np.int64)
    mentee_cap = np.where(prep.mentee_ok, prep.mentee_cap, 0).astype(np.int64)
    kept_mentee = np.bincount(kept_e, minlength=len(prep.mentees))
    kept_mentor = np.bincount(kept_j, minlength=len(prep.mentors))
    mentee_cap = (mentee_cap - kept_mentee).clip(0)
    mentor_cap = (mentor_cap - kept_mentor).clip(0)
    blocking: list[tuple[str, str]] | None = None
    model = "rank-maximal min-cost flows (OR-Tools), one stage per choice rank, then score"
    if rankings is not None:
        prefs = {int(i): [int(x) for x in j[e == i][np.argsort(rank[e == i], kind="stable")]] for i in np.unique(e)}
        mentor_rank: dict[int, dict[int, int]] = {}
        for pick in rankings.picks:
            a, b = mentor_of.get(pick.chooser_id), mentee_of.get(pick.chosen_id)
            if a is not None and b is not None:
                mentor_rank.setdefault(a, {})[b] = pick.rank
        caps = {int(x): int(mentor_cap[x]) for x in range(len(mentor_cap))}
        if stable:
            chosen = deferred_acceptance(prefs, mentor_rank, caps, int(programme.matching.mentors_per_mentee))
            model = "deferred acceptance (mentee-proposing, stable with capacities)"
            key = {(int(a), int(b)): k for k, (a, b) in enumerate(zip(e, j, strict=True))}
            used = np.array(sorted(key[p] for p in chosen), np.int64)
        else:
            out = rank_maximal(mentee_cap, mentor_cap, e, j, rank, score)
            key = {(int(a), int(b)): k for k, (a, b) in enumerate(zip(e, j, strict=True))}
            used = np.array(sorted(key[(int(a), int(b))] for a, b in zip(out.mentee, out.mentor, strict=True)),
                            np.int64)
        pairs_idx = [(int(e[k]), int(j[k])) for k in used]
        found = blocking_pairs(pairs_idx, prefs, mentor_rank, caps, int(programme.matching.mentors_per_mentee))
        blocking = [(str(prep.mentees["id"].iloc[a]), str(prep.mentors["id"].iloc[b])) for a, b in found]
    else:
        out = rank_maximal(mentee_cap, mentor_cap, e, j, rank, score)
        key = {(int(a), int(b)): k for k, (a, b) in enumerate(zip(e, j, strict=True))}
        used = np.array(sorted(key[(int(a), int(b))] for a, b in zip(out.mentee, out.mentor, strict=True)),
                        np.int64)
    used = used.astype(np.int64)
    if len(kept_e):
        import pandas as pd

        rank_of = {(mentee_of[p.chooser_id], mentor_of[p.chosen_id]): p.rank for p in choices.picks
                   if p.chooser_id in mentee_of and p.chosen_id in mentor_of}
        kept_rank = [rank_of.get((int(a), int(b))) for a, b in zip(kept_e, kept_j, strict=True)]
        pairs = pairs_frame(prep, np.concatenate([kept_e, e[used]]), np.concatenate([kept_j, j[used]]),
                            pd.array([*kept_rank, *rank[used].tolist()], dtype="Int64"))
    else:
        pairs = pairs_frame(prep, e[used], j[used], rank[used])
    unmatched = _unmatched(prep, e, j, used, mentee_cap + kept_mentee, mentor_cap + kept_mentor, picks_by_mentee,
                           {p.chooser_id for p in choices.picks}, kept_mentee, kept_mentor)
    summary = _summary(prep, pairs, unmatched, rank, e, used, model, blocking, time.perf_counter() - started,
                       programme.self_matching.max_picks if programme.self_matching else 3)
    return PicksOutcome(MatchResult(pairs, unmatched, summary), tuple(findings))


def apply_plan(prep: Any, plan: MatchPlan | None) -> tuple[np.ndarray, np.ndarray, set[tuple[int, int]]]:
    """A running programme: the kept pairs (indices), the ended pairs never to repeat, and the people done
    marked as not eligible (with the reason)."""
    empty = np.zeros(0, np.int64)
    if plan is None:
        return empty, empty, set()
    mentee_of, mentor_of = prep.mentee_index, prep.mentor_index
    kept = [(mentee_of[a], mentor_of[b]) for a, b in plan.kept if a in mentee_of and b in mentor_of]
    history = {(mentee_of[a], mentor_of[b]) for a, b in plan.history if a in mentee_of and b in mentor_of}
    for who, reason in plan.done.items():
        if who in mentee_of:
            prep.mentee_ok[mentee_of[who]] = False
            prep.mentee_reason[mentee_of[who]] = reason
    return (np.array([k[0] for k in kept], np.int64), np.array([k[1] for k in kept], np.int64), history)


def valid_picks(prep: Any, choices: ExportRead, shortlists: pd.DataFrame | None, strict: bool, *,
                history: set[tuple[int, int]] | None = None, kept: set[tuple[int, int]] | None = None
                ) -> tuple[list[Pick], list[Finding]]:
    """The picks that can count: mentee and mentor eligible for the programme, the pair allowed by the rules,
    not a pair that ended (`history`, by index) nor one already current (`kept`: silently dropped), and (when
    `shortlists` is given) on the mentee's shortlist. The others are warnings by row, or with `strict` raised
    together as one error (exit 2)."""
    mentee_of, mentor_of = prep.mentee_index, prep.mentor_index
    on_list: set[tuple[str, str]] | None = None
    if shortlists is not None:
        on_list = {(str(a), str(b)) for a, b in zip(shortlists["mentee_id"], shortlists["mentor_id"], strict=True)}
    findings: list[Finding] = []
    valid: list[Pick] = []
    for pick in choices.picks:
        i, j = mentee_of.get(pick.chooser_id), mentor_of.get(pick.chosen_id)
        if i is None or j is None:
            continue
        problem = None
        if kept and (i, j) in kept:
            continue
        if history and (i, j) in history:
            problem = (f"{pick.chooser_id} and {pick.chosen_id} were matched before and the relationship ended; "
                       "ended pairs never repeat; pick ignored")
        elif not prep.mentee_ok[i]:
            problem = f"{pick.chooser_id} is {prep.mentee_reason[i]}; pick ignored"
        elif not prep.mentor_ok[j]:
            problem = f"{pick.chosen_id} is {prep.mentor_reason[j]}; pick ignored"
        elif not _eligible(prep, i, j):
            problem = f"{pick.chosen_id} is not an eligible mentor for {pick.chooser_id} (matching rules); pick ignored"
        elif on_list is not None and (pick.chooser_id, pick.chosen_id) not in on_list:
            problem = f"{pick.chosen_id} is not on {pick.chooser_id}'s shortlist; pick ignored"
        if problem is None:
            valid.append(pick)
            continue
        if strict:
            from mentorctl.selfmatch.exports import strict_message

            problem = strict_message(problem)
        findings.append(Finding("error" if strict else "warning", problem,
                                Location(choices.source, pick.row, pick.column)))
    if strict and findings:
        raise MentorctlError(findings[0].message
                             + (f" ({len(findings)} problems in all)" if len(findings) > 1 else ""),
                             location=findings[0].location, details=[str(f) for f in findings[1:20]])
    return valid, findings


def _eligible(prep: Any, i: int, j: int) -> bool:
    ok, _, _ = prep.source.evaluate(np.array([i]), np.array([j]))
    return bool(ok[0, 0])


def pairs_frame(prep: Any, e: np.ndarray, j: np.ndarray, rank: Any) -> pd.DataFrame:
    """The matches.csv columns for these pairs, plus `choice_rank` (an int array, or a nullable Int64 array
    when kept pairs of a running programme were not picks)."""
    from mentorctl.matching.solve import pairs_frame as matches_columns

    return matches_columns(prep, e, j, extra={"choice_rank": rank})


def _unmatched(prep: Any, e: np.ndarray, j: np.ndarray, used: np.ndarray, mentee_cap: np.ndarray,
               mentor_cap: np.ndarray, picks_by_mentee: dict[str, list[tuple[str, int]]], submitted: set[str],
               kept_mentee: np.ndarray | None = None, kept_mentor: np.ndarray | None = None) -> pd.DataFrame:
    """Who is left out and why, with name and email beside the id (as `match` writes it), so the coordinator
    can contact them."""
    import pandas as pd

    from mentorctl.matching.solve import contacts_of

    load = np.bincount(e[used], minlength=len(prep.mentees)) + (0 if kept_mentee is None else kept_mentee)
    mentor_load = np.bincount(j[used], minlength=len(prep.mentors)) + (0 if kept_mentor is None else kept_mentor)
    rows, left_out = [], []
    for i in range(len(prep.mentees)):
        if load[i] >= max(1, mentee_cap[i]) and prep.mentee_ok[i]:
            continue
        person = str(prep.mentees["id"].iloc[i])
        if not prep.mentee_ok[i]:
            reason = prep.mentee_reason[i] or "not eligible for the programme"
        elif person not in picks_by_mentee:
            reason = ("every pick was ignored (see the warnings)" if person in submitted else
                      "submitted no choices")
        else:
            picked = [m for m, _ in picks_by_mentee[person]]
            full = [m for m in picked if mentor_load[prep.mentor_index[m]] >= mentor_cap[prep.mentor_index[m]]]
            reason = (f"none of their picks: {', '.join(picked)} "
                      + ("all filled by mentees who ranked them higher or scored higher" if len(full) == len(picked)
                         else "not chosen by the optimum"))
            if load[i]:
                reason = f"only {int(load[i])} of {int(mentee_cap[i])} mentors: " + reason
        rows.append(("mentee", reason))
        left_out.append(i)
    idle = np.flatnonzero(mentor_load == 0)
    columns = {key: list(values) for key, values in contacts_of(prep.mentees, np.array(left_out, np.int64)).items()}
    for name, values in contacts_of(prep.mentors, idle).items():
        columns[name] += values
    rows += [("mentor", prep.mentor_reason[x] or f"no mentee assigned (capacity {int(prep.mentor_cap[x])})")
             for x in idle.tolist()]
    columns.update(role=[r for r, _ in rows], reason=[why for _, why in rows])
    frame = pd.DataFrame(columns)
    return frame.sort_values(["role", "participant_id"], kind="stable").reset_index(drop=True)


def _summary(prep: Any, pairs: pd.DataFrame, unmatched: pd.DataFrame, rank: np.ndarray, e: np.ndarray,
             used: np.ndarray, model: str, blocking: list[tuple[str, str]] | None, seconds: float,
             max_picks: int) -> MatchSummary:
    people = int(prep.mentee_ok.sum())
    matched = int(pairs["mentee_id"].nunique()) if len(pairs) else 0
    got = rank[used]
    by_rank = {str(r): int((got == r).sum()) for r in range(1, max(max_picks, int(got.max(initial=0))) + 1)}
    chose = int(len(np.unique(e))) if len(e) else 0
    return MatchSummary(
        status="OPTIMAL",
        objective="rank_maximal" if "rank-maximal" in model else "stable",
        objective_value=round(float(pairs["score"].sum()) if len(pairs) else 0.0, 4),
        bound=None, gap=0.0,
        optimality=("optimal: most first choices, then second, …, then total score (exact min-cost flows)"
                    if "rank-maximal" in model else "stable: no mentee and mentor both prefer each other"),
        model=model,
        type=prep.programme.design.type.value,
        pairs=int(len(pairs)), matched=matched, unmatched=people - matched, people=people,
        excluded=int((~prep.mentee_ok).sum()),
        match_rate=round(matched / people, 4) if people else 0.0,
        min_pair_score=None if not len(pairs) else round(float(pairs["score"].min()), 4),
        mean_pair_score=None if not len(pairs) else round(float(pairs["score"].mean()), 4),
        mentors_with_mentees=int(pairs["mentor_id"].nunique()) if len(pairs) else 0,
        fixed_pairs=0,
        candidates=CandidateCounts(int(len(e)), max_picks, int(len(e)), False),
        proof=Proof(True),
        seconds={"total": round(seconds, 3)}, solve_seconds=round(seconds, 3),
        report_by={},
        choices=Choices(chose, by_rank, round(by_rank.get("1", 0) / matched, 4) if matched else None,
                        int(chose - len(np.unique(e[used]))) if len(e) else 0),
        blocking_pairs=None if blocking is None else tuple(BlockingPair(a, b) for a, b in blocking),
    )
