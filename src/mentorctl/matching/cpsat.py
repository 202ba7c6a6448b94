"""CP-SAT for what a flow cannot express: `min_share`, `min_group_size`, several `max_per_mentor`, and peer
programmes (a general, non-bipartite matching). One Boolean per candidate pair; time-limited; the status,
bound and gap are reported. Suited to moderate sizes (thousands of people, ~10^5 candidate pairs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ortools.sat.python import cp_model

SCALE = 1000  # CP-SAT objective scale: scores to 1/1000 (small coefficients keep CP-SAT fast)


@dataclass
class SatProblem:
    """Pairs a = (left[a], right[a]) with integer scores; `fixed` pairs must be chosen.

    Bipartite: left = mentees (capacity left_cap), right = mentors (right_cap). Peer: left and right index the
    same people (left_cap is used for everyone) and each person is in at most left_cap pairs."""

    left: np.ndarray
    right: np.ndarray
    score: np.ndarray                      # float
    fixed: np.ndarray                      # bool per pair
    left_cap: np.ndarray
    right_cap: np.ndarray
    peer: bool = False
    objective: str = "coverage_then_score"
    groups: list[tuple[np.ndarray, int]] = field(default_factory=list)    # (group id per pair, -1 = none), max
    shares: list[tuple[np.ndarray, float]] = field(default_factory=list)  # (bool per pair, min share)
    min_group_size: int | None = None
    hint: np.ndarray | None = None
    balance: float = 0.0                   # a mentor's k-th mentee costs (k − 1) × balance (bipartite only)


@dataclass
class SatOutcome:
    chosen: np.ndarray
    status: str
    objective_value: float
    bound: float
    gap: float
    seconds: float
    stages: list[str]


def solve_sat(p: SatProblem, *, time_limit: float, workers: int = 1, seed: int = 0) -> SatOutcome | None:
    """Solve lexicographically in stages (coverage, then fairness level, then score, as the objective asks).
    Returns None when infeasible."""
    from ortools.sat.python import cp_model

    n = len(p.left)
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{a}") for a in range(n)]
    for a in np.flatnonzero(p.fixed).tolist():
        model.add(x[a] == 1)
    if p.peer:
        touching: dict[int, list[int]] = {}
        for a in range(n):
            touching.setdefault(int(p.left[a]), []).append(a)
            touching.setdefault(int(p.right[a]), []).append(a)
        for person, person_arcs in touching.items():
            model.add(cp_model.LinearExpr.sum([x[a] for a in person_arcs]) <= int(p.left_cap[person]))
    else:
        for side, cap in ((p.left, p.left_cap), (p.right, p.right_cap)):
            order = np.argsort(side, kind="stable")
            bounds = np.flatnonzero(np.diff(side[order])) + 1
            for arcs in np.split(order, bounds):
                if len(arcs):
                    model.add(cp_model.LinearExpr.sum([x[a] for a in arcs.tolist()]) <= int(cap[side[arcs[0]]]))
        if p.min_group_size:
            order = np.argsort(p.right, kind="stable")
            for arcs in np.split(order, np.flatnonzero(np.diff(p.right[order])) + 1):
                if len(arcs):
                    lead = model.new_bool_var("")
                    size = sum(x[a] for a in arcs)
                    model.add(size >= p.min_group_size * lead)
                    model.add(size <= len(arcs) * lead)
    for gid, limit in p.groups:
        ok = gid >= 0
        order = np.flatnonzero(ok)[np.argsort(gid[ok], kind="stable")]
        for arcs in np.split(order, np.flatnonzero(np.diff(gid[order])) + 1):
            if len(arcs) > limit:
                model.add(cp_model.LinearExpr.sum([x[a] for a in arcs.tolist()]) <= limit)
    for sat, share in p.shares:
        per_mille = int(round(share * 1000))
        model.add(cp_model.LinearExpr.weighted_sum(x, (1000 * np.asarray(sat, np.int64) - per_mille).tolist()) >= 0)
    score_int = np.rint(p.score * SCALE).astype(np.int64)
    count = cp_model.LinearExpr.sum(x)  # built in one call: a Python sum over 500,000 terms took seconds
    total: cp_model.LinearExpr | int = cp_model.LinearExpr.weighted_sum(x, score_int.tolist())
    if p.balance > 0 and not p.peer:
        total -= _balance_penalty(model, p, x)
    if p.hint is not None:
        for a in range(n):
            model.add_hint(x[a], bool(p.hint[a]))

    stages = ["coverage", "score"] if p.objective == "coverage_then_score" else \
        ["score"] if p.objective == "score" else ["coverage", "level", "score"]
    targets: dict[str, cp_model.LinearExprT] = {"coverage": count, "score": total}
    if "coverage" in stages and not p.peer:  # lexicographic: most mentees with ≥ 1 mentor, then ≥ 2, …
        lex = _coverage_levels(model, p, x)
        at = stages.index("coverage")
        stages[at:at] = [f"coverage ≥ {u}" for u in range(1, len(lex) + 1)]
        targets.update({f"coverage ≥ {u}": t for u, t in enumerate(lex, start=1)})
    level = None
    if "level" in stages:
        level = model.new_int_var(int(score_int.min(initial=0)), int(score_int.max(initial=0)), "level")
        low = int(score_int.min(initial=0))
        for a in range(n):
            model.add(level <= int(score_int[a]) + (int(score_int.max(initial=0)) - low) * (1 - x[a]))
        targets["level"] = level
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = max(1, workers)
    solver.parameters.random_seed = seed
    all_optimal, seconds, status_code = True, 0.0, None
    for index, stage in enumerate(stages):
        target = targets[stage]
        model.maximize(target)
        solver.parameters.max_time_in_seconds = max(0.5, (time_limit - seconds) / (len(stages) - index))
        status_code = solver.solve(model)
        seconds += solver.wall_time
        if status_code == cp_model.INFEASIBLE:
            return None
        if status_code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            all_optimal = False
            break
        all_optimal &= status_code == cp_model.OPTIMAL
        value = int(round(solver.objective_value))
        chosen = np.array([solver.boolean_value(v) for v in x], bool)
        model.clear_hints()
        for a in range(n):
            model.add_hint(x[a], bool(chosen[a]))
        if index < len(stages) - 1:
            model.add(target >= value)
    if status_code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return SatOutcome(np.zeros(n, bool), "UNKNOWN", 0.0, 0.0, 1.0, seconds, stages)
    objective = solver.objective_value
    bound = solver.best_objective_bound
    scale = SCALE if stages[-1] == "score" else 1
    gap = abs(bound - objective) / max(1.0, abs(bound))
    return SatOutcome(chosen, "OPTIMAL" if all_optimal else "FEASIBLE", objective / scale, bound / scale, gap,
                      seconds, stages)


def _by(side: np.ndarray) -> list[np.ndarray]:
    order = np.argsort(side, kind="stable")
    return [arcs for arcs in np.split(order, np.flatnonzero(np.diff(side[order])) + 1) if len(arcs)]


def _coverage_levels(model: cp_model.CpModel, p: SatProblem, x: list[cp_model.IntVar]
                     ) -> list[cp_model.LinearExprT]:
    """For u = 1 … (largest demand − 1): Σ_mentee min(load, u) — maximised in turn, they give the most mentees
    with ≥ 1 mentor, then with ≥ 2, … (the total count is the last level)."""
    top = int(p.left_cap.max(initial=0))
    if top <= 1:
        return []
    groups = [arcs for arcs in _by(p.left) if int(p.left_cap[p.left[arcs[0]]]) > 1]
    out = []
    for u in range(1, top):
        parts = []
        for arcs in groups:
            load = sum(x[a] for a in arcs)
            if len(arcs) <= u:
                parts.append(load)
                continue
            capped = model.new_int_var(0, u, "")
            model.add(capped <= load)
            parts.append(capped)
        single = [a for arcs in _by(p.left) if int(p.left_cap[p.left[arcs[0]]]) <= 1 for a in arcs]
        out.append(sum(parts) + sum(x[a] for a in single))
    return out


def _balance_penalty(model: cp_model.CpModel, p: SatProblem, x: list[cp_model.IntVar]) -> cp_model.LinearExpr | int:
    """Σ_mentor Σ_k (k − 1) × balance × [load ≥ k], with ordered unit Booleans per mentor (convex, exact)."""
    step = int(round(p.balance * SCALE))
    penalty: cp_model.LinearExpr | int = 0
    for arcs in _by(p.right):
        cap = min(len(arcs), int(p.right_cap[p.right[arcs[0]]]))
        if cap <= 1:
            continue
        units = [model.new_bool_var("") for _ in range(cap)]
        for a, b in zip(units, units[1:], strict=False):
            model.add(a >= b)
        model.add(sum(units) == sum(x[a] for a in arcs))
        penalty += sum(k * step * units[k] for k in range(1, cap))
    return penalty
