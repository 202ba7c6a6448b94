"""Exact matching without side constraints (or with one `max_per_mentor`): min-cost flow over the pruned
candidates, then a proof that no pair left out could improve it (re-adding any that could, and re-solving).

Objectives: `coverage_then_score` (max flow, then min cost), `score` (min cost with a bypass: a pair is used
only when it raises the total) and `fair` (the largest level L such that every mentee of a maximum matching
can get a pair scoring ≥ L, found by binary search over the candidates' distinct scores with max-flow
feasibility; then coverage_then_score over the pairs scoring ≥ L)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from mentorctl.matching.candidates import Candidates, Filters, PairSource, top_k
from mentorctl.matching.flow import SCALE, Network, build_network, certify, solve_network, tighten, to_cost

MAX_ROUNDS = 12


@dataclass
class FlowProblem:
    """Capacities left after pinned and kept pairs; `mentee_code` + `group_cap` model max_per_mentor."""

    mentee_cap: np.ndarray
    mentor_cap: np.ndarray
    objective: str = "coverage_then_score"
    mentee_code: np.ndarray | None = None           # per mentee: value code of the max_per_mentor field
    group_limit: int = 0
    group_used: dict[tuple[int, int], int] = field(default_factory=dict)  # (mentor, code): fixed pairs


@dataclass
class FlowOutcome:
    mentee: np.ndarray
    mentor: np.ndarray
    score: np.ndarray
    proof: dict
    level: float | None = None  # fair: the lowest pair score guaranteed


class _Model:
    """The candidate arcs and the network built over them."""

    def __init__(self, problem: FlowProblem, cands: Candidates, n_mentors: int) -> None:
        self.problem, self.n_mentors = problem, n_mentors
        self.i, self.j, self.s = cands.mentee.copy(), cands.mentor.copy(), cands.score.copy()
        self.best_discarded = cands.best_discarded.copy()
        self.score_bound = int(max(abs(cands.score_low), abs(cands.score_high)) * SCALE) + 1

    def keys(self) -> np.ndarray:
        return self.i * self.n_mentors + self.j

    def add(self, i: np.ndarray, j: np.ndarray, s: np.ndarray) -> None:
        self.i, self.j, self.s = np.concatenate([self.i, i]), np.concatenate([self.j, j]), np.concatenate([self.s, s])

    def network(self, mask: np.ndarray | None = None, zero_cost: bool = False) -> tuple[Network, np.ndarray]:
        p = self.problem
        sel = np.ones(len(self.i), bool) if mask is None else mask
        i, j = self.i[sel], self.j[sel]
        cost = np.zeros(len(i), np.int64) if zero_cost else to_cost(self.s[sel])
        bypass = p.objective == "score" and not zero_cost
        if p.mentee_code is None:
            return build_network(p.mentee_cap, p.mentor_cap, i, j, cost, bypass=bypass), sel
        gkey, ginv = np.unique(self._gk(i, j), return_inverse=True)
        gm = gkey // self.n_codes
        gcap = np.full(len(gkey), p.group_limit, np.int64)
        for (m, c), used in p.group_used.items():
            hit = np.searchsorted(gkey, m * self.n_codes + c)
            if hit < len(gkey) and gkey[hit] == m * self.n_codes + c:
                gcap[hit] = max(0, p.group_limit - used)
        net = build_network(p.mentee_cap, p.mentor_cap, i, j, cost, arc_group=ginv, group_mentor=gm,
                            group_cap=gcap, bypass=bypass)
        self.gkey = gkey
        return net, sel

    @property
    def n_codes(self) -> int:
        return int(self.problem.mentee_code.max(initial=0)) + 1

    def _gk(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        return j * self.n_codes + self.problem.mentee_code[i]

    def head_potential(self, net: Network, cert, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Potential of the node a new pair (i, j) would enter (a missing group node behaves like its mentor)."""
        mentor_pot = cert.potential[net.mentor_node(j)]
        if self.problem.mentee_code is None:
            return mentor_pot
        keys = self._gk(i, j)
        hit = np.searchsorted(self.gkey, keys).clip(0, max(0, len(self.gkey) - 1))
        exists = self.gkey[hit] == keys if len(self.gkey) else np.zeros(len(keys), bool)
        pot = mentor_pot.copy()
        pot[exists] = cert.potential[net.group_node(hit[exists])]
        return pot


def _flows_to_pairs(model: _Model, net: Network, sel: np.ndarray, flows: np.ndarray) -> np.ndarray:
    used = np.zeros(len(model.i), bool)
    used[np.flatnonzero(sel)[flows[: net.n_pair_arcs] > 0]] = True
    return used


def solve_exact(problem: FlowProblem, source: PairSource, filters: Filters, cands: Candidates,
                progress: Callable[[str], None] | None = None) -> FlowOutcome:
    """Solve, prove optimality over every eligible pair, and return the chosen pairs."""
    model = _Model(problem, cands, source.n_mentors)
    note = progress or (lambda _m: None)
    if problem.objective == "fair":
        return _solve_fair(model, source, filters, note)
    used, proof = _solve_and_prove(model, source, filters, note)
    return FlowOutcome(model.i[used], model.j[used], model.s[used], proof)


def _solve_and_prove(model: _Model, source: PairSource, filters: Filters, note: Callable[[str], None],
                     min_cost_exclusive: int | None = None, zero_cost: bool = False
                     ) -> tuple[np.ndarray, dict]:
    """Solve over the model's arcs (only those with cost < min_cost_exclusive when given); re-add left-out
    pairs with negative reduced cost until there are none. Returns the used-arc mask and the proof."""
    rechecked = added = 0
    for round_no in range(1, MAX_ROUNDS + 1):
        mask = None if min_cost_exclusive is None else to_cost(model.s) < min_cost_exclusive
        net, sel = model.network(mask, zero_cost)
        note(f"solving min-cost flow ({int(sel.sum()):,} pairs)")
        flows = solve_network(net)
        used = _flows_to_pairs(model, net, sel, flows)
        disc = model.best_discarded
        if min_cost_exclusive is not None:
            disc = np.where(to_cost(np.where(np.isfinite(disc), disc, 0)) < min_cost_exclusive, disc, -np.inf)
        if not np.isfinite(disc).any():
            return used, {"proven": True, "rounds": round_no, "rechecked_mentees": rechecked,
                          "pairs_added": added}
        note("proving optimality (reduced costs)")
        cert = certify(net, flows, extra_cost_bound=0 if zero_cost else model.score_bound)
        tighten(net, flows, cert)
        mentee_pot = cert.potential[net.mentee_node(np.arange(net.n_mentees))]
        head_nodes = net.mentor_node(np.arange(net.n_mentors))
        if net.n_groups:
            head_nodes = np.concatenate([head_nodes, net.group_node(np.arange(net.n_groups))])
        max_head = cert.potential[head_nodes].max(initial=0)
        disc_cost = np.zeros(len(disc), np.int64) if zero_cost else to_cost(np.where(np.isfinite(disc), disc, 0))
        suspect = np.flatnonzero(np.isfinite(disc) & (disc_cost + mentee_pot - max_head < 0))
        if len(suspect) == 0:
            return used, {"proven": True, "rounds": round_no, "rechecked_mentees": rechecked,
                          "pairs_added": added}
        note(f"checking {len(suspect):,} mentees against every mentor")
        rechecked += len(suspect)
        new_i, new_j, new_s, full = _rescan(model, source, filters, suspect, net, cert, min_cost_exclusive,
                                            zero_cost, add_all=round_no >= 3)
        model.best_discarded[full] = -np.inf
        if len(new_i) == 0:
            return used, {"proven": True, "rounds": round_no, "rechecked_mentees": rechecked,
                          "pairs_added": added}
        added += len(new_i)
        model.add(new_i, new_j, new_s)
    return used, {"proven": False, "rounds": MAX_ROUNDS, "rechecked_mentees": rechecked, "pairs_added": added}


def _rescan(model: _Model, source: PairSource, filters: Filters, rows: np.ndarray, net: Network, cert,
            min_cost_exclusive: int | None, zero_cost: bool, add_all: bool
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every eligible pair of `rows` not yet in the model whose reduced cost is negative (all of them when
    `add_all`). Also returns the rows whose every pair is now in the model."""
    from mentorctl.matching.candidates import block_rows

    have = np.sort(model.keys())
    out_i, out_j, out_s, full = [], [], [], []
    cols = None
    if not add_all:  # only mentors whose potential could make some left-out pair of these rows improving
        all_j = np.arange(source.n_mentors)
        head_pot = model.head_potential(net, cert, np.zeros(len(all_j), np.int64), all_j)
        if net.n_groups:
            head_pot = np.maximum(head_pot, cert.potential[net.mentor_node(all_j)])
            group_max = np.full(source.n_mentors, np.iinfo(np.int64).min)
            np.maximum.at(group_max, model.gkey // model.n_codes, cert.potential[net.group_node(
                np.arange(len(model.gkey)))])
            head_pot = np.maximum(head_pot, group_max)
        disc = model.best_discarded[rows]
        disc_cost = np.zeros(len(rows), np.int64) if zero_cost else to_cost(np.where(np.isfinite(disc), disc, 0))
        threshold = (disc_cost + cert.potential[net.mentee_node(rows)]).min()
        cols = np.flatnonzero(head_pot > threshold)
    step = block_rows(source.n_mentors if cols is None else max(1, len(cols)))
    for start in range(0, len(rows), step):
        block = rows[start:start + step]
        ok, score, _ = source.evaluate(block, cols)
        mask = filters.apply(block, ok, score, source.n_mentors, cols)
        if min_cost_exclusive is not None:
            mask &= to_cost(score) < min_cost_exclusive
        r, c = np.nonzero(mask)
        j = c if cols is None else cols[c]
        i = block[r]
        s = score[r, c]
        keys = i * source.n_mentors + j
        pos = np.searchsorted(have, keys).clip(0, max(0, len(have) - 1))
        new = ~((len(have) > 0) & (have[pos] == keys)) if len(have) else np.ones(len(keys), bool)
        i, j, s = i[new], j[new], s[new]
        if add_all:
            bad = np.ones(len(i), bool)
            full.append(block)
        else:
            cost = np.zeros(len(i), np.int64) if zero_cost else to_cost(s)
            bad = cost + cert.potential[net.mentee_node(i)] - model.head_potential(net, cert, i, j) < 0
        out_i.append(i[bad])
        out_j.append(j[bad])
        out_s.append(s[bad])
    return _cat(out_i, np.int64), _cat(out_j, np.int64), _cat(out_s, np.float64), _cat(full, np.int64)


def _solve_fair(model: _Model, source: PairSource, filters: Filters, note: Callable[[str], None]
                ) -> FlowOutcome:
    """Max coverage first; then the highest level L (every pair ≥ L) keeping that coverage; then the best
    total at that level. Each step is proven over every eligible pair."""
    from mentorctl.matching.flow import max_flow_value

    used, proof_cov = _solve_and_prove(model, source, filters, note)
    coverage = int(used.sum())
    if coverage == 0:
        return FlowOutcome(model.i[used], model.j[used], model.s[used], proof_cov, None)
    for _ in range(MAX_ROUNDS):
        cost = to_cost(model.s)
        levels = np.unique(cost)  # ascending cost = descending score
        # the largest score level keeping full coverage: smallest cost threshold c with flow(cost <= c) == coverage
        net_all, _ = model.network()
        lo, hi = 0, len(levels) - 1  # levels[hi] (the lowest score) always keeps coverage
        while lo < hi:
            mid = (lo + hi) // 2
            if max_flow_value(net_all, cost <= levels[mid]) >= coverage:
                hi = mid
            else:
                lo = mid + 1
        level_cost = int(levels[lo])
        note(f"fair: every pair scores at least {-level_cost / SCALE:g}")
        # proof that no left-out pair scoring above the level could reach the same coverage
        if lo > 0 or level_cost > cost.min():
            before = len(model.i)
            _solve_and_prove(model, source, filters, note, min_cost_exclusive=level_cost, zero_cost=True)
            if len(model.i) != before:  # pairs were added: the level may rise; search again
                continue
        used, proof = _solve_and_prove(model, source, filters, note, min_cost_exclusive=level_cost + 1)
        proof["coverage_proven"] = proof_cov["proven"]
        return FlowOutcome(model.i[used], model.j[used], model.s[used], proof, -level_cost / SCALE)
    raise RuntimeError("fair objective did not converge")  # pragma: no cover


def greedy(mentee_cap: np.ndarray, mentor_cap: np.ndarray, cands: Candidates) -> np.ndarray:
    """Best score first (ties by mentee, mentor): the baseline the benchmark compares with. Returns a mask."""
    order = np.lexsort((cands.mentor, cands.mentee, -cands.score))
    left_e, left_m = mentee_cap.copy(), mentor_cap.copy()
    used = np.zeros(len(cands.mentee), bool)
    mentee, mentor = cands.mentee, cands.mentor
    for a in order:  # a baseline, deliberately simple
        i, j = mentee[a], mentor[a]
        if left_e[i] > 0 and left_m[j] > 0:
            left_e[i] -= 1
            left_m[j] -= 1
            used[a] = True
    return used


__all__ = ["FlowOutcome", "FlowProblem", "greedy", "solve_exact", "top_k"]


def _cat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)
