"""`solve()`: the whole matching pipeline, from a programme and its participants to a `MatchResult`."""

from __future__ import annotations

import time
import warnings as pywarnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mentorctl.errors import InfeasibleError, Location, MentorctlError
from mentorctl.matching.candidates import Candidates, Filters, build_candidates
from mentorctl.matching.kernels import warm_up
from mentorctl.matching.prepare import Prepared, excluded_note, prepare, read_pair_file
from mentorctl.matching.summary import (
    CandidateCounts,
    Coverage,
    GlobalBound,
    GroupRate,
    MatchSummary,
    MentorLoad,
    Proof,
    ShareAchieved,
)

if TYPE_CHECKING:
    import pandas as pd

    from mentorctl.matching.exact import FlowProblem
    from mentorctl.programme import Programme
    from mentorctl.relationships import MatchPlan
    from mentorctl.roster import Participants

Progress = Callable[[str, int | None, int | None], None]
_SHOWN_PINS = 8


@dataclass(frozen=True)
class MatchResult:
    """The matching: `pairs` (the matches.csv columns, sorted by mentee_id then mentor_id), `unmatched`
    (participant_id, role, reason) and `summary` (what match-summary.json holds: `summary.as_dict()`)."""

    pairs: pd.DataFrame
    unmatched: pd.DataFrame
    summary: MatchSummary


@dataclass
class _Fixed:
    mentee: np.ndarray
    mentor: np.ndarray
    label: list[str]      # "pins.csv row 3" per fixed pair, for messages


def _no_progress(message: str, done: int | None = None, total: int | None = None) -> None:
    return None


def solve(programme: Programme, participants: Participants, *, keep: str | Path | None = None, workers: int = 1,
          seed: int | None = None, progress: Progress | None = None, plan: MatchPlan | None = None) -> MatchResult:
    """Match mentees with mentors (or peers with each other) as programme.yaml asks; see the package docs.
    `plan` (a running programme, see relationships.py): its current pairs are kept, its ended pairs never
    repeat, the people it names as done are not matched again, and waiting people come first."""
    started = time.perf_counter()
    note: Progress = progress or _no_progress
    note("checking rules and rosters", None, None)
    people = [len(r.frame) if r is not None else 0
              for r in (participants.mentees, participants.mentors, participants.participants)]
    warm_up(max(people[0], people[2]), max(people[1], people[2]))
    prep = prepare(programme, participants)
    matching = programme.matching
    n_m = len(prep.mentors)
    warnings: list[str] = excluded_note(prep)
    fixed, excluded = _pair_files(programme, prep, keep, warnings)
    min_score = matching.min_score
    if plan is not None:
        fixed, excluded = _apply_plan(prep, plan, fixed, excluded)
        if plan.waiting_days and matching.objective.value != "fair":
            min_score = None   # the priority source applies min_score to the real scores
    mentee_res, mentor_res = _residual_capacities(prep, fixed)
    codes = _group_codes(prep) if matching.constraints.max_per_mentor else None
    _check_groups(prep, fixed, codes)

    keys = [fixed.mentee * n_m + fixed.mentor, excluded]
    if prep.peer:
        keys += [fixed.mentor * n_m + fixed.mentee]
    filters = Filters(prep.mentor_ok & (mentor_res > 0), np.unique(np.concatenate(keys)), min_score)
    rows = np.flatnonzero(prep.mentee_ok & (mentee_res > 0))
    built = time.perf_counter()
    with pywarnings.catch_warnings():  # scores out of range (inf, overflowing casts) are refused just below
        pywarnings.simplefilter("ignore", RuntimeWarning)
        cands = build_candidates(prep.source, rows, filters, matching.candidates_per_mentee, prep.mentor_ok,
                                 progress=lambda d, t: note("building candidate pairs", d, t),
                                 per_mentor=0 if prep.peer else matching.candidates_per_mentor)
    build_seconds = time.perf_counter() - built
    _check_score_range(prep, cands)
    if hasattr(prep.source, "prioritise"):   # waiting-time priority (matching/priority.py)
        cands = prep.source.prioritise(cands, filters, mentor_res, prep.mentee_ok & (mentee_res > 0),
                                       2 + len(prep.mentees) + n_m, float(matching.balance))
    note("solving", None, None)
    solved = time.perf_counter()
    need_sat = (prep.peer or bool(matching.constraints.min_share) or bool(matching.min_group_size)
                or len(matching.constraints.max_per_mentor) > 1)
    eligible_pairs = cands.total_eligible // (2 if prep.peer else 1)
    if need_sat:
        mentee, mentor, info = _solve_sat(prep, fixed, cands, filters, codes, mentee_res, mentor_res, rows,
                                          workers, seed, lambda m: note(m, None, None))
    else:
        mentee, mentor, info = _solve_flow(prep, fixed, cands, filters, codes, mentee_res, mentor_res,
                                           lambda m: note(m, None, None))
        proof = info["proof"]
        info["optimality"] = (f"optimal over all {eligible_pairs:,} eligible pairs (proof: no discarded pair "
                              "has negative reduced cost)" if proof["proven"] else
                              f"optimal over the {info['model_pairs']:,} pairs in the model; the proof over "
                              f"all pairs did not finish in {proof['rounds']} rounds")
    solve_seconds = time.perf_counter() - solved
    note("writing the result", None, None)
    mentee = np.concatenate([fixed.mentee, mentee]).astype(np.int64)
    mentor = np.concatenate([fixed.mentor, mentor]).astype(np.int64)
    pairs = pairs_frame(prep, mentee, mentor)
    unmatched = _unmatched_frame(prep, cands, mentee, mentor)
    summary = _summary(prep, pairs, unmatched, cands, info, fixed, mentee,
                       {"build_candidates": build_seconds, "solve": solve_seconds,
                        "total": time.perf_counter() - started}, warnings)
    return MatchResult(pairs, unmatched, summary)


def _check_score_range(prep: Prepared, cands: Candidates) -> None:
    """Pair scores beyond `limits.MAX_PAIR_SCORE` would overflow the solvers' integer costs: say which
    scoring term to scale down instead of failing inside OR-Tools."""
    from mentorctl.limits import MAX_PAIR_SCORE

    if not len(cands.mentee):
        return
    worst = max(abs(cands.score_low), abs(cands.score_high))
    if np.isfinite(worst) and worst <= MAX_PAIR_SCORE:
        return
    with np.errstate(all="ignore"):
        terms = prep.source.terms_for_pairs(cands.mentee, cands.mentor)
    sizes = {name: float(np.nanmax(np.abs(values))) if np.isfinite(values).any() or len(values) else 0.0
             for name, values in terms.items()}
    name = max(sizes, key=lambda n: sizes[n]) if sizes else None
    which = (f"; scoring term '{name}' alone reaches {sizes[name]:.3g}: scale its weight (or the field it reads) "
             "down" if name else "")
    raise MentorctlError(f"pair scores reach {worst:.3g}, beyond mentorctl's limit of ±{MAX_PAIR_SCORE:,} (the "
                         f"matcher's integer costs would overflow){which}", location=Location("programme.yaml"))


# --------------------------------------------------------------------------------------------- pair files

def _apply_plan(prep: Prepared, plan: MatchPlan, fixed: _Fixed, excluded: np.ndarray) -> tuple[_Fixed, np.ndarray]:
    """A running programme: current pairs fixed, ended pairs excluded, people done left out, waiting first."""
    from mentorctl.matching.priority import PrioritySource, priority_step

    mentee_of, mentor_of = prep.mentee_index, prep.mentor_index
    n_m = len(prep.mentors)
    kept_keys = [(e, m) for e, m in plan.kept if e in mentee_of and m in mentor_of]
    kept = [(mentee_of[e], mentor_of[m]) for e, m in kept_keys]
    e = np.array([k[0] for k in kept], np.int64)
    j = np.array([k[1] for k in kept], np.int64)
    if prep.peer:
        e, j = np.minimum(e, j), np.maximum(e, j)
    known = {(int(a), int(b)) for a, b in zip(fixed.mentee, fixed.mentor, strict=True)}
    new = [k for k, pair in enumerate(zip(e.tolist(), j.tolist(), strict=True)) if pair not in known]
    fixed = _Fixed(np.concatenate([fixed.mentee, e[new]]).astype(np.int64),
                   np.concatenate([fixed.mentor, j[new]]).astype(np.int64),
                   [*fixed.label, *(plan.origin.get(kept_keys[k], f"relationships.csv: current pair "
                                                    f"{kept_keys[k][0]} – {kept_keys[k][1]}") for k in new)])
    ended = [(mentee_of[a], mentor_of[b]) for a, b in plan.history if a in mentee_of and b in mentor_of]
    keys = [a * n_m + b for a, b in ended] + ([b * n_m + a for a, b in ended] if prep.peer else [])
    excluded = np.unique(np.concatenate([excluded, np.array(keys, np.int64)]))
    for who, reason in plan.done.items():
        if who in mentee_of:
            prep.mentee_ok[mentee_of[who]] = False
            prep.mentee_reason[mentee_of[who]] = reason
            if prep.peer:
                prep.mentor_ok[mentor_of[who]] = False
                prep.mentor_reason[mentor_of[who]] = reason
    matching = prep.programme.matching
    if plan.waiting_days and matching.objective.value != "fair":
        step = priority_step([t.weight for t in matching.scoring])
        bonus = np.zeros(len(prep.mentees))
        waiting = sorted((-days, who) for who, days in plan.waiting_days.items() if who in mentee_of and days > 0)
        if prep.peer:   # weighted (matching/priority.py); mentor–mentee programmes: exact, set by prioritise()
            for who, days in plan.waiting_days.items():
                if who in mentee_of:
                    bonus[mentee_of[who]] = days * step
        prep.source = PrioritySource(prep.source, bonus, matching.min_score, prep.peer,  # type: ignore[assignment]
                                     [mentee_of[who] for _, who in waiting])
    return fixed, excluded


def check_inputs(programme: Programme, participants: Participants) -> list[str]:
    """Everything `solve` checks before it builds candidates — rules (fields, types, conditions), capacities,
    design.eligibility, pinned / forbidden / history files and pins against rules, capacity and side
    constraints — without solving. Raises the same errors `solve` would (exit 2, or 3 for pins that cannot
    all hold) and returns the same warnings (history or forbidden rows naming nobody). `mentorctl validate`
    calls it."""
    prep = prepare(programme, participants)
    warnings: list[str] = excluded_note(prep)
    fixed, _ = _pair_files(programme, prep, None, warnings)
    _residual_capacities(prep, fixed)
    codes = _group_codes(prep) if programme.matching.constraints.max_per_mentor else None
    _check_groups(prep, fixed, codes)
    return warnings


def _pair_files(programme: Programme, prep: Prepared, keep: str | Path | None,
                warnings: list[str] | None = None) -> tuple[_Fixed, np.ndarray]:
    m = programme.matching
    n_m = len(prep.mentors)
    empty = (np.zeros(0, np.int64),) * 3
    warnings = [] if warnings is None else warnings
    pins = read_pair_file(programme, m.pinned, "matching.pinned", prep) if m.pinned else empty
    forbidden = (read_pair_file(programme, m.forbidden, "matching.forbidden", prep, warnings=warnings)
                 if m.forbidden else empty)
    history = [read_pair_file(programme, h, "matching.history", prep, warnings=warnings) for h in m.history]
    kept = read_pair_file(programme, Path(keep), "--keep", prep) if keep else empty
    excluded_e = np.concatenate([forbidden[0], *(h[0] for h in history)]).astype(np.int64)
    excluded_m = np.concatenate([forbidden[1], *(h[1] for h in history)]).astype(np.int64)
    excluded = excluded_e * n_m + excluded_m
    if prep.peer:
        excluded = np.concatenate([excluded, excluded_m * n_m + excluded_e])
    _check_pins(programme, prep, pins, excluded)
    labels = [f"{m.pinned} row {r}" for r in pins[2]] + [f"{keep} row {r}" for r in kept[2]]
    e = np.concatenate([pins[0], kept[0]]).astype(np.int64)
    j = np.concatenate([pins[1], kept[1]]).astype(np.int64)
    if prep.peer:
        e, j = np.minimum(e, j), np.maximum(e, j)
    _, first = np.unique(e * n_m + j, return_index=True)
    first = np.sort(first)
    return _Fixed(e[first], j[first], [labels[f] for f in first]), np.unique(excluded)


def _check_pins(programme: Programme, prep: Prepared, pins: tuple, excluded: np.ndarray) -> None:
    """Every pin must be allowed on its own (exit 2 naming the pin and what it breaks)."""
    e, j, rows = pins
    if not len(e):
        return
    shown = programme.matching.pinned

    def fail(k: int, what: str) -> MentorctlError:
        pair = f"pin {prep.mentors['id'].iloc[j[k]]} – {prep.mentees['id'].iloc[e[k]]}"
        return MentorctlError(f"matching.pinned: {pair} {what}; remove the pin or change the rule",
                              location=Location(shown, int(rows[k])))

    for k in range(len(e)):
        if not prep.mentor_ok[j[k]] or not prep.mentee_ok[e[k]]:
            reason = prep.mentor_reason[j[k]] or prep.mentee_reason[e[k]]
            raise fail(k, f"involves someone {reason}")
        if prep.mentors["id"].iloc[j[k]] == prep.mentees["id"].iloc[e[k]]:
            raise fail(k, "pairs a person with themself")
    broken = []  # every pin that breaks a rule, so the coordinator fixes them all in one go
    for rule in prep.rules.eligibility:
        holds = prep.source.rule_holds_for_pairs(rule, e, j)
        broken += [(int(k), rule) for k in np.flatnonzero(~holds)]
    if broken:
        broken.sort(key=lambda item: rows[item[0]])
        k, rule = broken[0]
        pins_broken = len({b for b, _ in broken})
        counted = (f" ({pins_broken} broken pins, {len(broken)} broken rules in all)" if pins_broken > 1 else
                   f" (and {len(broken) - 1} more rule{'s' if len(broken) > 2 else ''})" if len(broken) > 1 else "")
        error = fail(k, f'breaks the rule {rule.origin}: "{rule.text}"{counted}')
        error.details.extend(
            f"row {int(rows[b])}: pin {prep.mentors['id'].iloc[j[b]]} – {prep.mentees['id'].iloc[e[b]]} breaks "
            f'"{r.text}"' for b, r in broken[1:20])
        raise MentorctlError(error.plain_message, location=error.location, details=error.details)
    n_m = len(prep.mentors)
    keys = e * n_m + j
    banned = np.isin(keys, excluded)
    if banned.any():
        raise fail(int(np.flatnonzero(banned)[0]), "is also a forbidden pair or was matched in an earlier cohort")
    if programme.matching.min_score is not None:
        score = _pair_scores(prep, e, j)
        low = score < programme.matching.min_score - 1e-9
        if low.any():
            k = int(np.flatnonzero(low)[0])
            raise fail(k, f"scores {score[k]:g}, below matching.min_score {programme.matching.min_score:g}")


def _pair_scores(prep: Prepared, e: np.ndarray, j: np.ndarray) -> np.ndarray:
    terms = prep.source.terms_for_pairs(e, j)
    return np.sum(list(terms.values()), axis=0) if terms else np.zeros(len(e))


def _residual_capacities(prep: Prepared, fixed: _Fixed) -> tuple[np.ndarray, np.ndarray]:
    """Capacities left after fixed pairs; fixed pairs beyond a capacity are infeasible (exit 3)."""
    n_e, n_m = len(prep.mentees), len(prep.mentors)
    if prep.peer:
        load = np.bincount(np.concatenate([fixed.mentee, fixed.mentor]), minlength=n_e)
        over = np.flatnonzero(load > 1)
        if len(over):
            who = over[0]
            labels = [lab for lab, a, b in zip(fixed.label, fixed.mentee, fixed.mentor, strict=True) if who in (a, b)]
            raise InfeasibleError(f"{prep.mentees['id'].iloc[who]} is pinned or kept in more than one pair "
                                  f"({'; '.join(labels[:_SHOWN_PINS])}); a peer has one partner")
        res = np.where(load > 0, 0, 1).astype(np.int64)
        return res, res.copy()
    mentee_load = np.bincount(fixed.mentee, minlength=n_e)
    mentor_load = np.bincount(fixed.mentor, minlength=n_m)
    for load, cap, frame, side, idx in ((mentee_load, prep.mentee_cap, prep.mentees, "mentee", fixed.mentee),
                                        (mentor_load, prep.mentor_cap, prep.mentors, "mentor", fixed.mentor)):
        over = np.flatnonzero(load > cap)
        if len(over):
            who = over[0]
            labels = [lab for lab, x in zip(fixed.label, idx, strict=True) if x == who]
            raise InfeasibleError(
                f"the pins cannot all hold: {side} {frame['id'].iloc[who]} has {int(load[who])} pinned or kept "
                f"pairs but capacity {int(cap[who])} ({'; '.join(labels[:_SHOWN_PINS])}); remove a pin or raise "
                "the capacity")
    return (prep.mentee_cap - mentee_load).clip(0), np.where(prep.mentor_ok, prep.mentor_cap - mentor_load, 0).clip(0)


def _group_codes(prep: Prepared) -> list[np.ndarray]:
    """Per max_per_mentor rule: a code per mentee for the field's value (missing: a code of its own)."""
    import pandas as pd

    out = []
    for rule in prep.programme.matching.constraints.max_per_mentor:
        if rule.field not in prep.mentees.columns:
            fields = ", ".join(c for c in prep.mentees.columns if not str(c).startswith("_"))
            raise MentorctlError(f"matching.constraints.max_per_mentor: no field '{rule.field}' on the mentee "
                                 f"roster; fields: {fields}")
        values = prep.mentees[rule.field].map(lambda v: None if pd.isna(v) else str(v).strip().lower())
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        codes = codes.astype(np.int64)
        missing = codes < 0
        codes[missing] = len(uniques) + np.flatnonzero(missing)
        out.append(codes)
    return out


def _check_groups(prep: Prepared, fixed: _Fixed, codes: list[np.ndarray] | None) -> None:
    if not codes or not len(fixed.mentee):
        return
    for rule, code in zip(prep.programme.matching.constraints.max_per_mentor, codes, strict=True):
        keys = fixed.mentor * (int(code.max()) + 1) + code[fixed.mentee]
        values, counts = np.unique(keys, return_counts=True)
        if (counts > rule.max).any():
            bad = values[counts > rule.max][0]
            labels = [lab for lab, k in zip(fixed.label, keys, strict=True) if k == bad]
            raise InfeasibleError(f"the pins break matching.constraints.max_per_mentor ({rule.field} at most "
                                  f"{rule.max} per mentor): {'; '.join(labels[:_SHOWN_PINS])}")


# ---------------------------------------------------------------------------------------------- solvers

def _solve_flow(prep: Prepared, fixed: _Fixed, cands: Candidates, filters: Filters, codes: list | None,
                mentee_res: np.ndarray, mentor_res: np.ndarray, note: Callable[[str], None]
                ) -> tuple[np.ndarray, np.ndarray, dict]:
    from mentorctl.matching.exact import solve_exact

    problem = _flow_problem(prep, fixed, codes, mentee_res, mentor_res)
    out = solve_exact(problem, prep.source, filters, cands, note)
    solver = out.proof.get("solver") or "OR-Tools"   # large programmes: the compiled primal-dual (kernels.py)
    info = {"model": f"min-cost flow ({solver})" + (" with (mentor, value) nodes" if codes else ""),
            "status": "OPTIMAL", "proof": out.proof, "model_pairs": len(cands.mentee) + out.proof["pairs_added"],
            "bound": None, "gap": 0.0}
    if out.level is not None:
        info["fair_level"] = out.level
    return out.mentee, out.mentor, info


def _solve_sat(prep: Prepared, fixed: _Fixed, cands: Candidates, filters: Filters, codes: list | None,
               mentee_res: np.ndarray, mentor_res: np.ndarray, rows: np.ndarray, workers: int, seed: int | None,
               note: Callable[[str], None]) -> tuple[np.ndarray, np.ndarray, dict]:
    """What a plain flow cannot express. One min_share (with at most one max_per_mentor): priced flows
    (lagrange.py), proven over every eligible pair when the matching reaches the bound. Otherwise CP-SAT
    over the candidates, then a true bound over every eligible pair from the relaxed flow."""
    m = prep.programme.matching
    eligible_pairs = cands.total_eligible // (2 if prep.peer else 1)
    if (not prep.peer and len(m.constraints.min_share) == 1 and len(m.constraints.max_per_mentor) <= 1
            and not m.min_group_size and m.objective.value != "fair" and not m.balance
            and not hasattr(prep.source, "pair_bonus")):
        found = _solve_share(prep, fixed, cands, filters, codes, mentee_res, mentor_res, rows, eligible_pairs,
                             note)
        if found is not None:
            return found
    if (prep.peer and not m.constraints.min_share and not m.constraints.max_per_mentor and not m.min_group_size
            and m.objective.value != "fair" and not hasattr(prep.source, "pair_bonus")):
        return _solve_peers(prep, fixed, cands, filters, mentee_res, eligible_pairs, note)
    mentee, mentor, info = _solve_cpsat(prep, fixed, cands, codes, workers, seed)
    info["optimality"] = (f"{info['status']} over the best {m.candidates_per_mentee} candidates per "
                          f"{'person' if prep.peer else 'mentee'}" if cands.pruned else
                          f"{info['status']} over all {eligible_pairs:,} eligible pairs (none pruned)")
    if cands.pruned and m.objective.value != "fair" and not m.balance:
        note("bounding over every eligible pair (side constraints relaxed)")
        _global_bound(prep, fixed, cands, filters, codes, mentee_res, mentor_res, mentee, mentor, info,
                      eligible_pairs)
    return mentee, mentor, info


def _flow_problem(prep: Prepared, fixed: _Fixed, codes: list | None, mentee_res: np.ndarray,
                  mentor_res: np.ndarray) -> FlowProblem:
    """The flow model of the programme (capacities left, coverage levels, balance, one max_per_mentor)."""
    from mentorctl.matching.exact import FlowProblem

    n_e, n_m = len(prep.mentees), len(prep.mentors)
    problem = FlowProblem(mentee_res, mentor_res, prep.programme.matching.objective.value,
                          mentee_base=np.bincount(fixed.mentee, minlength=n_e).astype(np.int64),
                          mentor_base=np.bincount(fixed.mentor, minlength=n_m).astype(np.int64),
                          balance=float(prep.programme.matching.balance))
    if codes:
        limit = prep.programme.matching.constraints.max_per_mentor[0].max
        problem.mentee_code, problem.group_limit = codes[0], limit
        for a, b in zip(fixed.mentee, fixed.mentor, strict=True):
            key = (int(b), int(codes[0][a]))
            problem.group_used[key] = problem.group_used.get(key, 0) + 1
    return problem


def _solve_share(prep: Prepared, fixed: _Fixed, cands: Candidates, filters: Filters, codes: list | None,
                 mentee_res: np.ndarray, mentor_res: np.ndarray, rows: np.ndarray, eligible_pairs: int,
                 note: Callable[[str], None]) -> tuple[np.ndarray, np.ndarray, dict] | None:
    """One min_share by priced flows (matching/lagrange.py); None when CP-SAT should take it instead (no
    matching with the most mentees satisfies the share among the candidates, or the costs would overflow)."""
    from mentorctl.matching.lagrange import solve_min_share

    m = prep.programme.matching
    rule, share = prep.rules.min_share[0], m.constraints.min_share[0]
    holding = int(prep.source.rule_holds_for_pairs(rule, fixed.mentee, fixed.mentor).sum()) if len(fixed.mentee) else 0
    try:
        out = solve_min_share(_flow_problem(prep, fixed, codes, mentee_res, mentor_res), prep.source, filters,
                              cands, rows, rule, share.share, len(fixed.mentee), holding,
                              m.candidates_per_mentee, prep.mentor_ok, note)
    except MentorctlError:   # integer costs too large for the priced flow (flow.check_cost_range)
        return None
    if out is None:
        return None
    fixed_score = float(_pair_scores(prep, fixed.mentee, fixed.mentor).sum()) if len(fixed.mentee) else 0.0
    bound, got = out.bound + fixed_score, out.score + fixed_score
    gap = 0.0 if out.proven else max(0.0, bound - got) / max(1.0, abs(bound))
    status = "OPTIMAL" if out.proven else "FEASIBLE"
    price = f"{share.name} priced at {out.price:.4g} score per pair, {out.solves} flows"
    if out.proven:
        optimality = (f"OPTIMAL over all {eligible_pairs:,} eligible pairs (proof: min-cost flow with {price}; "
                      "the priced flow is proven over every eligible pair and the matching reaches its bound)")
    elif out.bound_proven:
        optimality = (f"FEASIBLE; over all {eligible_pairs:,} eligible pairs no matching does better than score "
                      f"{bound:g} with as many mentees matched ({price}; score gap {gap:.2%})")
    else:
        optimality = (f"FEASIBLE; score {bound:g} bounds the matchings over the {out.model_pairs:,} pairs in the "
                      f"model ({price}); the proof over all pairs did not finish (score gap {gap:.2%})")
    people = len(np.unique(np.concatenate([fixed.mentee, out.mentee])))
    info = {"model": "min-cost flow with a priced min_share (OR-Tools)"
                     + (" and (mentor, value) nodes" if codes else ""),
            "status": status, "bound": bound, "gap": gap, "optimality": optimality, "proof": out.proof,
            "model_pairs": out.model_pairs,
            "global_bound": {"matched": people, "score": round(bound, 4), "proven": out.bound_proven,
                             "reached": out.proven, "gap": round(gap, 6)}}
    return out.mentee, out.mentor, info


def _solve_peers(prep: Prepared, fixed: _Fixed, cands: Candidates, filters: Filters, res: np.ndarray,
                 eligible_pairs: int, note: Callable[[str], None]) -> tuple[np.ndarray, np.ndarray, dict]:
    """A peer programme through its bipartite double cover (matching/peers.py)."""
    from mentorctl.matching.peers import solve_peers

    out = solve_peers(_flow_problem(prep, fixed, None, res, res), prep.source, filters, cands, note,
                      prep.programme.matching.time_limit_seconds)
    fixed_score = float(_pair_scores(prep, fixed.mentee, fixed.mentor).sum()) if len(fixed.mentee) else 0.0
    bound, got = out.bound_score + fixed_score, out.score + fixed_score
    people = out.bound_people + 2 * len(fixed.mentee)
    gap = 0.0 if out.proven else max(0.0, bound - got) / max(1.0, abs(bound))
    if out.proven:
        optimality = (f"OPTIMAL over all {eligible_pairs:,} eligible pairs (proof: the matching polytope's "
                      "linear programme with odd-set cuts bounds every matching, and its duals price every "
                      "eligible pair)")
    else:
        what = "over all " + f"{eligible_pairs:,} eligible pairs" if out.bound_proven else \
            f"over the {out.model_pairs:,} pairs in the model (the proof over all pairs did not finish)"
        optimality = (f"FEASIBLE; {what} no matching does better than {people:,} people matched and score "
                      f"{bound:g} (score gap {gap:.2%}; the proof did not finish within time_limit_seconds)")
    model = ("maximum-weight matching (Edmonds' blossom algorithm, rustworkx), proven by odd-set cuts (HiGHS)"
             if out.proven else "maximum-weight matching over the candidates (rustworkx), bounded by odd-set "
             "cuts (HiGHS) and the bipartite double cover (OR-Tools)")
    info = {"model": model,
            "status": "OPTIMAL" if out.proven else "FEASIBLE", "bound": bound, "gap": gap,
            "optimality": optimality, "proof": out.proof, "model_pairs": out.model_pairs,
            "global_bound": {"matched": int(people), "score": round(bound, 4), "proven": out.bound_proven,
                             "reached": out.proven, "gap": round(gap, 6)}}
    return out.first, out.second, info


def _solve_cpsat(prep: Prepared, fixed: _Fixed, cands: Candidates, codes: list | None, workers: int,
                 seed: int | None) -> tuple[np.ndarray, np.ndarray, dict]:
    from mentorctl.matching.cpsat import SatProblem, solve_sat

    m = prep.programme.matching
    n_m = len(prep.mentors)
    e, j = cands.mentee, cands.mentor
    if prep.peer:
        e, j = np.minimum(e, j), np.maximum(e, j)
        _, first = np.unique(e * n_m + j, return_index=True)
        e, j = e[first], j[first]
    e = np.concatenate([fixed.mentee, e])
    j = np.concatenate([fixed.mentor, j])
    is_fixed = np.zeros(len(e), bool)
    is_fixed[: len(fixed.mentee)] = True
    score = _pair_scores(prep, e, j) if len(e) else np.zeros(0)
    if hasattr(prep.source, "pair_bonus") and len(e):   # waiting-time priority (matching/priority.py)
        score = score + prep.source.pair_bonus(e, j)
    groups = []
    for rule, code in zip(m.constraints.max_per_mentor, codes or [], strict=False):
        _, gid = np.unique(j * (int(code.max()) + 1) + code[e], return_inverse=True)
        groups.append((gid.astype(np.int64), rule.max))
    shares = [(prep.source.rule_holds_for_pairs(rule, e, j), s.share)
              for rule, s in zip(prep.rules.min_share, m.constraints.min_share, strict=True)]
    problem = SatProblem(e, j, score, is_fixed, prep.mentee_cap, prep.mentor_cap * prep.mentor_ok, prep.peer,
                         m.objective.value, groups, shares, m.min_group_size, balance=float(m.balance))
    out = solve_sat(problem, time_limit=m.time_limit_seconds, workers=workers,
                    seed=m.seed if seed is None else seed)
    if out is None or out.status == "UNKNOWN":
        what = ("no matching satisfies the side constraints" if out is None else
                f"CP-SAT found no matching within {m.time_limit_seconds:g} s; raise matching.time_limit_seconds")
        if out is None and len(fixed.mentee):
            shown = "; ".join(fixed.label[:_SHOWN_PINS]) + (" …" if len(fixed.label) > _SHOWN_PINS else "")
            what = f"no matching satisfies the side constraints together with the pinned/kept pairs ({shown})"
        raise InfeasibleError(f"{what}; relax matching.constraints or remove pins")
    chosen = out.chosen & ~is_fixed
    info = {"model": "CP-SAT (OR-Tools)", "status": out.status, "bound": out.bound, "gap": out.gap,
            "stages": out.stages, "model_pairs": int(len(e)), "proof": {"proven": False}}
    return e[chosen], j[chosen], info


def _global_bound(prep: Prepared, fixed: _Fixed, cands: Candidates, filters: Filters, codes: list | None,
                  mentee_res: np.ndarray, mentor_res: np.ndarray, mentee: np.ndarray, mentor: np.ndarray,
                  info: dict, eligible_pairs: int) -> None:
    """A true bound over every eligible pair for a CP-SAT result over pruned candidates: the same problem
    without the constraints a flow cannot express (min_share, min_group_size, a second max_per_mentor; for
    peers, the bipartite double cover, whose optimum is at least twice any matching's), solved exactly and
    proven over every eligible pair. Side constraints only remove matchings, so no matching does better; when
    the CP-SAT result reaches the bound, it is optimal over every eligible pair."""
    relaxed, relaxed_j, flow = _solve_flow(prep, fixed, cands, filters, codes[:1] if codes else None,
                                           mentee_res, mentor_res, lambda _m: None)
    free_score = float(_pair_scores(prep, relaxed, relaxed_j).sum()) if len(relaxed) else 0.0
    got = float(_pair_scores(prep, mentee, mentor).sum()) if len(mentee) else 0.0
    if prep.peer:  # double cover: people matched ≤ its flow, score ≤ half its score
        bound_people, bound_score = len(fixed.mentee) * 2 + len(relaxed), free_score / 2
        got_people = 2 * (len(fixed.mentee) + len(mentee))
    else:
        bound_people = len(np.unique(np.concatenate([fixed.mentee, relaxed])))
        bound_score = free_score
        got_people = len(np.unique(np.concatenate([fixed.mentee, mentee])))
    fixed_score = float(_pair_scores(prep, fixed.mentee, fixed.mentor).sum()) if len(fixed.mentee) else 0.0
    bound_score += fixed_score
    got += fixed_score
    coverage_first = prep.programme.matching.objective.value == "coverage_then_score"
    reached = (got_people >= bound_people or not coverage_first) and got >= bound_score - 1e-6
    gap = 0.0 if reached else abs(bound_score - got) / max(1.0, abs(bound_score))
    info["global_bound"] = {"matched": int(bound_people), "score": round(bound_score, 4),
                            "proven": bool(flow["proof"]["proven"]), "reached": bool(reached),
                            "gap": round(gap, 6)}
    who = "people" if prep.peer else "mentees"
    if reached and flow["proof"]["proven"] and info["status"] == "OPTIMAL":
        info["optimality"] = (f"OPTIMAL over all {eligible_pairs:,} eligible pairs (it reaches the optimum "
                              "without side constraints, proven over every eligible pair)")
    elif flow["proof"]["proven"]:
        info["optimality"] += (f"; over all {eligible_pairs:,} eligible pairs no matching does better than "
                               f"{bound_people:,} {who} matched and score {bound_score:g} (side constraints "
                               f"relaxed; score gap {gap:.2%})")


# ---------------------------------------------------------------------------------------------- outputs

def pairs_frame(prep: Prepared, mentee: np.ndarray, mentor: np.ndarray,
                extra: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """The matches.csv columns for these pairs (ids, names, emails, score, one column per scoring term), then
    the `extra` columns, sorted by mentee and mentor."""
    import pandas as pd

    terms = prep.source.terms_for_pairs(mentee, mentor) if len(mentee) else {
        t.name: np.zeros(0) for t in prep.rules.scoring}
    score = np.sum(list(terms.values()), axis=0) if terms else np.zeros(len(mentee))

    def col(frame: pd.DataFrame, name: str, idx: np.ndarray) -> list:
        if name not in frame.columns:
            return [None] * len(idx)
        values = frame[name].to_numpy(dtype=object)[idx]    # (a copy: fancy indexing)
        values[pd.isna(values)] = None
        return values.tolist()

    data = {"mentee_id": col(prep.mentees, "id", mentee), "mentee_name": col(prep.mentees, "name", mentee),
            "mentee_email": col(prep.mentees, "email", mentee), "mentor_id": col(prep.mentors, "id", mentor),
            "mentor_name": col(prep.mentors, "name", mentor), "mentor_email": col(prep.mentors, "email", mentor),
            "score": np.round(score, 4)}
    for name, values in terms.items():
        data[name] = np.round(values, 4)
    data.update(extra or {})
    frame = pd.DataFrame(data)
    # prep.mentees and prep.mentors are sorted by id (prepare), so positions sort as the ids do: no string sort
    return frame.iloc[np.lexsort((mentor, mentee))].reset_index(drop=True)


def _why_left_out(prep: Prepared, cands: Candidates, i: int, mentor_left: np.ndarray,
                  by_mentee: tuple[np.ndarray, np.ndarray]) -> str:
    """Why a mentee with allowed candidates stayed unmatched: capacity, or what else (group size, side
    constraints, the objective) when some candidate still had room."""
    who = "peers" if prep.peer else "mentors"
    count = int(cands.rule_eligible[i])
    mentees, mentors = by_mentee
    lo, hi = np.searchsorted(mentees, [i, i + 1])
    options = mentors[lo:hi]
    if not (mentor_left[options] > 0).any():
        return f"eligible {who} all at capacity ({count} eligible)"
    m = prep.programme.matching
    if m.min_group_size:
        return (f"eligible {who} with room could not form a group of at least {m.min_group_size} "
                f"(matching.min_group_size; {count} eligible)")
    if m.constraints.max_per_mentor or m.constraints.min_share:
        return f"a side constraint (matching.constraints) kept them from the eligible {who} with room ({count} eligible)"
    if m.objective.value == "score":
        return f"no pair raised the total score (objective: score; {count} eligible)"
    return f"left out by the optimum: a pair with room would lower the total score ({count} eligible)"


def contacts_of(frame: pd.DataFrame, rows: np.ndarray) -> dict[str, list[str | None]]:
    """Id, name and email of the people at `rows` of a roster (None for a missing name or email), a column at
    a time (a per-person lookup took seconds at 50,000 people)."""
    import pandas as pd

    def column(name: str) -> list[str | None]:
        if name not in frame.columns:
            return [None] * len(rows)
        values = frame[name].to_numpy(dtype=object)[rows]
        missing = pd.isna(values)
        if pd.api.types.infer_dtype(values[~missing], skipna=False) not in ("string", "empty"):
            values = np.array([str(v) for v in values.tolist()], dtype=object)
        values[missing] = None
        return values.tolist()

    ids = frame["id"].to_numpy(dtype=object)[rows]
    return {"participant_id": [str(v) for v in ids.tolist()], "name": column("name"), "email": column("email")}


def _unmatched_frame(prep: Prepared, cands: Candidates, mentee: np.ndarray, mentor: np.ndarray) -> pd.DataFrame:
    import pandas as pd

    n_e, n_m = len(prep.mentees), len(prep.mentors)
    if prep.peer:
        load = np.bincount(np.concatenate([mentee, mentor]), minlength=n_e)
        wanted = np.ones(n_e, np.int64)
        role = "participant"
    else:
        load = np.bincount(mentee, minlength=n_e)
        wanted = prep.mentee_cap
        role = "mentee"
    names = prep.rules.eligibility
    used = np.bincount(np.concatenate([mentee, mentor]) if prep.peer else mentor, minlength=n_m)
    mentor_left = np.where(prep.mentor_ok, prep.mentor_cap - used, 0) if not prep.peer else 1 - used
    order = np.argsort(cands.mentee, kind="stable")
    by_mentee = (cands.mentee[order], cands.mentor[order])
    left_out = np.flatnonzero(load < wanted)
    room = np.zeros(n_e, bool)           # some candidate still has room
    room[cands.mentee[mentor_left[cands.mentor] > 0]] = True
    worded: dict[tuple[int, bool], str] = {}   # _why_left_out's words depend on these two only: once each
    reasons = []
    ok, rule_eligible, eligible = prep.mentee_ok.tolist(), cands.rule_eligible.tolist(), cands.eligible.tolist()
    for i in left_out.tolist():
        if not ok[i]:
            reason = prep.mentee_reason[i]
        elif rule_eligible[i] == 0:
            reason = "no eligible mentor" if not prep.peer else "no eligible peer"
            if len(names):
                worst = int(cands.failures[i].argmax())
                reason += (f" (the rule that removed the most: {names[worst].text}, "
                           f"{min(int(cands.failures[i, worst]), n_m - int(prep.peer))} of {n_m - int(prep.peer)})")
        elif eligible[i] == 0:
            reason = (f"no allowed {'peer' if prep.peer else 'mentor'}: the {int(rule_eligible[i])} eligible "
                      "are all at capacity with pinned/kept pairs, forbidden, matched in an earlier cohort, or "
                      "score below min_score")
        else:
            key = (int(rule_eligible[i]), bool(room[i]))
            if key not in worded:
                worded[key] = _why_left_out(prep, cands, i, mentor_left, by_mentee)
            reason = worded[key]
            if load[i]:
                reason = f"only {int(load[i])} of {int(wanted[i])} mentors: " + reason
        reasons.append(reason)
    # name and email beside the id, so the coordinator can contact the people left out
    columns = {key: list(values) for key, values in contacts_of(prep.mentees, left_out).items()}
    columns.update(role=[role] * len(left_out), reason=reasons)
    if not prep.peer:
        idle = np.flatnonzero(np.bincount(mentor, minlength=n_m) == 0)
        for name, values in contacts_of(prep.mentors, idle).items():
            columns[name] += values
        columns["role"] += ["mentor"] * len(idle)
        columns["reason"] += [prep.mentor_reason[j] or f"no mentee assigned (capacity {int(prep.mentor_cap[j])})"
                              for j in idle.tolist()]
    frame = pd.DataFrame(list(zip(*columns.values(), strict=True)), columns=list(columns))
    return frame.sort_values(["role", "participant_id"], kind="stable").reset_index(drop=True)


def _summary(prep: Prepared, pairs: pd.DataFrame, unmatched: pd.DataFrame, cands: Candidates, info: dict,
             fixed: _Fixed, mentee: np.ndarray, seconds: dict, warnings: list[str]) -> MatchSummary:
    import pandas as pd

    m = prep.programme.matching
    # rates are over the people the programme admits (design.eligibility); the others are counted apart
    people = prep.mentees[prep.mentee_ok].reset_index(drop=True)
    excluded = int((~prep.mentee_ok).sum())
    matched = people["id"].isin(pd.concat([pairs["mentee_id"], pairs["mentor_id"]]) if prep.peer
                                else pairs["mentee_id"])
    smallest = prep.programme.reporting.min_group_size
    from mentorctl.people import complement_hidden, pool_small_groups
    report_by: dict[str, dict[str, GroupRate]] = {}
    for field in prep.programme.reporting.report_by:
        if field not in people.columns:
            continue
        codes, uniques = pd.factorize(people[field], use_na_sentinel=True)  # each value formatted once
        shown = [f"{v:g}" if isinstance(v, float) else str(v) for v in uniques.tolist()] + ["(missing)"]
        values = pd.Series(np.array(shown, dtype=object)[codes], index=people.index)
        # small groups are pooled and never named, counts hidden as in reports (people.pool_small_groups)
        values, pooled = pool_small_groups(values, smallest)
        table = pd.DataFrame({"value": values, "matched": matched}).groupby("value", sort=True)["matched"]
        sizes, sums = table.count(), table.sum()
        hidden = complement_hidden({str(k): int(c) for k, c in sizes.items()}, smallest, pooled)
        report_by[field] = {
            str(k): (GroupRate(int(c), int(s), round(float(s) / c, 4)) if str(k) not in hidden
                     else GroupRate(f"<{smallest}", None, None))
            for k, c, s in zip(sizes.index, sizes, sums, strict=True)}
    objective_value = float(pairs["score"].sum()) if len(pairs) else 0.0
    min_share = None
    constraints = prep.programme.matching.constraints
    if constraints.min_share and len(pairs):
        mentee_of, mentor_of = prep.mentee_index, prep.mentor_index   # each a dict built on every access
        e = np.array([mentee_of[x] for x in pairs["mentee_id"]], np.int64)
        j = np.array([mentor_of[x] for x in pairs["mentor_id"]], np.int64)
        min_share = {
            c.name: ShareAchieved(c.share, round(float(prep.source.rule_holds_for_pairs(rule, e, j).mean()), 4))
            for rule, c in zip(prep.rules.min_share, constraints.min_share, strict=True)}
    proof = info.get("proof")
    bound = info.get("global_bound")
    return MatchSummary(
        status=info["status"],
        objective=m.objective.value,
        objective_value=round(objective_value, 4),
        bound=None if info.get("bound") is None else round(float(info["bound"]), 4),
        gap=round(float(info.get("gap") or 0.0), 6),
        optimality=info["optimality"],
        model=info["model"],
        type=prep.programme.design.type.value,
        pairs=int(len(pairs)),
        matched=int(matched.sum()),
        unmatched=int((~matched).sum()),
        people=int(len(people)),
        excluded=excluded,
        match_rate=round(float(matched.mean()) if len(people) else 0.0, 4),
        min_pair_score=None if not len(pairs) else round(float(pairs["score"].min()), 4),
        mean_pair_score=None if not len(pairs) else round(float(pairs["score"].mean()), 4),
        mentors_with_mentees=int(pairs["mentor_id"].nunique()) if not prep.peer else None,
        fixed_pairs=int(len(fixed.mentee)),
        candidates=CandidateCounts(int(cands.total_eligible // (2 if prep.peer else 1)), m.candidates_per_mentee,
                                   int(info.get("model_pairs", len(cands.mentee))), bool(cands.pruned)),
        proof=None if proof is None else Proof(**proof),
        seconds={k: round(v, 3) for k, v in seconds.items()},
        solve_seconds=round(seconds["solve"], 3),
        report_by=report_by,
        coverage=_coverage(prep, pairs),
        mentor_load=None if prep.peer else _mentor_load(prep, pairs, m.balance),
        min_share=min_share,
        fair_level=info.get("fair_level"),
        stages=tuple(info["stages"]) if "stages" in info else None,
        global_bound=None if bound is None else GlobalBound(**bound),
        warnings=tuple(warnings) if warnings else None,
    )


def _coverage(prep: Prepared, pairs: pd.DataFrame) -> Coverage:
    """Mentees (people the programme admits) by how many mentors they got, and by how many they wanted."""
    n = len(prep.mentees)
    index = prep.mentee_index
    ids = pairs["mentee_id"].tolist() + (pairs["mentor_id"].tolist() if prep.peer else [])
    got = np.bincount(np.array([index[x] for x in ids], np.int64), minlength=n)[prep.mentee_ok]
    wanted = (np.ones(n, np.int64) if prep.peer else prep.mentee_cap)[prep.mentee_ok]
    counts = np.bincount(got, minlength=int(wanted.max(initial=1)) + 1)
    return Coverage({str(k): int(c) for k, c in enumerate(counts)}, int((got >= wanted).sum()),
                    int((got < wanted).sum()), int(wanted.max(initial=0)))


def _mentor_load(prep: Prepared, pairs: pd.DataFrame, balance: float) -> MentorLoad:
    """How the mentees spread over the mentors the programme admits (those with capacity)."""
    index = prep.mentor_index
    load = np.bincount(np.array([index[x] for x in pairs["mentor_id"]], np.int64), minlength=len(prep.mentors))
    open_ = prep.mentor_ok & (prep.mentor_cap > 0)
    used = load[open_] > 0
    return MentorLoad(mentors=int(open_.sum()), used=int(used.sum()), max=int(load.max(initial=0)),
                      mean=round(float(load[open_][used].mean()) if used.any() else 0.0, 3),
                      mean_all=round(float(load[open_].mean()) if open_.any() else 0.0, 3),
                      by_mentees={str(k): int(c) for k, c in enumerate(np.bincount(load[open_]))},
                      balance=float(balance))
