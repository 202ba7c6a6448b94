"""One `min_share` by Lagrangian relaxation: min-cost flows with a price on the share, proven exactly.

`min_share` (at least a share s = N/D of the pairs satisfy a rule) is one linear constraint on top of a flow
(capacities, lexicographic coverage, one `max_per_mentor` as (mentor, value) nodes): Σ a·x ≥ 0 with
a = D − N for a pair satisfying the rule and −N otherwise. Pricing it at λ ≥ 0 leaves a min-cost flow whose
pair costs are cost − λ·a; for every λ its optimum g(λ) bounds the constrained optimum (any feasible matching
x has cost(x) ≥ cost(x) − λ·a(x) ≥ g(λ)). The best λ is found exactly, in integers, by intersecting the lines
of a feasible and an infeasible flow (λ = p/q, costs q·cost − p·a); at that λ both are optimal, and so is
every flow between them (their difference splits into cycles of zero priced cost, and any subset of those
cycles applied to the feasible flow is a flow). The subset whose a(x) is smallest but ≥ 0 is chosen (a
subset sum); its cost is g(λ) + λ·a(x).

The proof: every matching with the optimal coverage has a(x) ≥ A_min, the smallest value ≥ 0 that
D·(pairs satisfying) − N·(pairs) can take, so cost ≥ g(λ) + λ·A_min; when the chosen flow has a(x) = A_min
it reaches that bound. g(λ) itself is proven over every eligible pair by `exact.solve_exact` (reduced costs
of the pairs left out, priced the same way). Candidates: the programme's best per mentee plus the best
per mentee among pairs satisfying the rule, which together hold the best of every priced order (pricing
keeps the order inside each class)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

from mentorctl.matching.candidates import Candidates, Filters, PairSource, build_candidates
from mentorctl.matching.flow import SCALE, build_network, solve_network, to_cost

if TYPE_CHECKING:
    from collections.abc import Callable

    from mentorctl.matching.exact import FlowProblem
    from mentorctl.matching.flow import Network
    from mentorctl.rules import Rule

MAX_SEARCH = 60      # flow solves in one search for the best price
MAX_WIDENINGS = 4    # rounds of pairs added by the proof before giving up the claim


def _as_bool(value: np.ndarray) -> np.ndarray:
    value = np.asarray(value)
    return value if value.dtype == bool else np.nan_to_num(value.astype(np.float64)) != 0


class RuleClassSource(PairSource):
    """`base` restricted to the pairs where `rule` holds (for the candidates of that class)."""

    def __init__(self, base: PairSource, rule: Rule) -> None:
        self.base, self.rule = base, rule
        self.n_mentees, self.n_mentors = base.n_mentees, base.n_mentors
        self.rule_names = base.rule_names
        self.blocking = base.blocking

    def evaluate(self, rows: np.ndarray, cols: np.ndarray | None = None, *, blocked: bool = True
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        ok, score, fails = self.base.evaluate(rows, cols, blocked=blocked)
        holds = _as_bool(self.base.ctx.evaluate_block(self.rule, rows, cols))  # type: ignore[attr-defined]
        return ok & holds, score, fails

    def score_pairs(self, mentee: np.ndarray, mentor: np.ndarray) -> np.ndarray:
        return self.base.score_pairs(mentee, mentor)


class PricedSource(PairSource):
    """`base` with each pair's score priced: q·score + p·a / SCALE in score units, so that its integer cost
    is q·cost − p·a exactly (a = D·[rule holds] − N); min_score is applied to the real score."""

    def __init__(self, base: PairSource, rule: Rule, weights: tuple[int, int], price: tuple[int, int],
                 min_score: float | None) -> None:
        self.base, self.rule, self.min_score = base, rule, min_score
        self.n_mentees, self.n_mentors = base.n_mentees, base.n_mentors
        self.rule_names = base.rule_names
        self.blocking = base.blocking
        self.d, self.n = weights
        self.p, self.q = price

    def _priced(self, score: np.ndarray, holds: np.ndarray) -> np.ndarray:
        a = np.where(holds, self.d - self.n, -self.n).astype(np.int64)
        return -(self.q * to_cost(score) - self.p * a) / SCALE

    def evaluate(self, rows: np.ndarray, cols: np.ndarray | None = None, *, blocked: bool = True
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        ok, score, fails = self.base.evaluate(rows, cols, blocked=blocked)
        if self.min_score is not None:
            ok &= score >= self.min_score - 1e-9
        holds = _as_bool(self.base.ctx.evaluate_block(self.rule, rows, cols))  # type: ignore[attr-defined]
        return ok, self._priced(score, holds), fails

    def score_pairs(self, mentee: np.ndarray, mentor: np.ndarray) -> np.ndarray:
        holds = self.base.rule_holds_for_pairs(self.rule, mentee, mentor)  # type: ignore[attr-defined]
        return self._priced(self.base.score_pairs(mentee, mentor), holds)


@dataclass
class ShareOutcome:
    """The chosen pairs (besides fixed ones); `bound` is the best score any matching with the same coverage
    can reach over every eligible pair (fixed pairs excluded), `proven` that the matching reaches it."""

    mentee: np.ndarray
    mentor: np.ndarray
    proven: bool
    bound_proven: bool       # the priced flow was proven optimal over every eligible pair
    bound: float
    score: float
    price: float             # λ in score points per unit of a (a = D·[holds] − N)
    solves: int
    proof: dict
    model_pairs: int
    matched_units: int


@dataclass
class _Flow:
    flows: np.ndarray
    chosen: np.ndarray
    cost: int          # Σ pair cost (unpriced)
    a: int             # Σ a, fixed pairs included


class _Search:
    """The candidate pairs, their network and the flows solved over it."""

    def __init__(self, problem: FlowProblem, i: np.ndarray, j: np.ndarray, score: np.ndarray,
                 holds: np.ndarray, weights: tuple[int, int], a_fixed: int, n_mentors: int) -> None:
        self.problem, self.i, self.j, self.score = problem, i, j, score
        self.cost = to_cost(score)
        d, n = weights
        self.a = np.where(holds, d - n, -n).astype(np.int64)
        self.a_fixed = a_fixed
        self.n_mentors = n_mentors
        self.solves = 0
        self.net = self._network(self.cost)
        demand = problem.mentee_cap + (0 if problem.mentee_base is None else problem.mentee_base)
        self.rebuild = problem.levels and int(demand.max(initial=0)) > 1   # level costs depend on pair costs

    def _network(self, cost: np.ndarray) -> Network:
        p = self.problem
        kwargs: dict = {}
        if p.mentee_code is not None:
            n_codes = int(p.mentee_code.max(initial=0)) + 1
            gkey, ginv = np.unique(self.j * n_codes + p.mentee_code[self.i], return_inverse=True)
            gcap = np.full(len(gkey), p.group_limit, np.int64)
            for (m, c), used in p.group_used.items():
                hit = np.searchsorted(gkey, m * n_codes + c)
                if hit < len(gkey) and gkey[hit] == m * n_codes + c:
                    gcap[hit] = max(0, p.group_limit - used)
            kwargs = {"arc_group": ginv, "group_mentor": gkey // n_codes, "group_cap": gcap}
        return build_network(p.mentee_cap, p.mentor_cap, self.i, self.j, cost, bypass=p.objective == "score",
                             levels=p.levels, mentee_base=p.mentee_base, mentor_base=p.mentor_base,
                             cost_bound=int(np.abs(cost).max(initial=0)), **kwargs)

    def priced(self, p: int, q: int) -> Network:
        """The network with pair costs q·cost − p·a."""
        priced = q * self.cost - p * self.a
        net = self._network(priced) if self.rebuild else self.net
        if not self.rebuild:  # same arcs; only the pair costs change
            net.costs[:net.n_pair_arcs] = priced
        return net

    def flow(self, flows: np.ndarray) -> _Flow:
        chosen = flows[:self.net.n_pair_arcs] > 0
        return _Flow(flows, chosen, int(self.cost[chosen].sum()), int(self.a[chosen].sum()) + self.a_fixed)

    def solve(self, p: int, q: int) -> _Flow:
        """The min-cost flow with pair costs q·cost − p·a."""
        net = self.priced(p, q)
        flows = solve_network(net)
        self.solves += 1
        chosen = flows[:net.n_pair_arcs] > 0
        return _Flow(flows, chosen, int(self.cost[chosen].sum()), int(self.a[chosen].sum()) + self.a_fixed)


def _value(flow: _Flow, p: int, q: int) -> int:
    return q * flow.cost - p * flow.a


def solve_min_share(problem: FlowProblem, source: PairSource, filters: Filters, cands: Candidates,
                    rows: np.ndarray, rule: Rule, share: float, fixed_count: int, fixed_holding: int,
                    keep: int, programme_mentor: np.ndarray, note: Callable[[str], None] | None = None
                    ) -> ShareOutcome | None:
    """The optimum under one min_share (see the module docstring), or None when no matching with the
    optimal coverage satisfies it among the candidates (the caller then uses CP-SAT)."""
    from mentorctl.matching.exact import solve_exact

    say = note or (lambda _m: None)
    share_q = Fraction(int(round(share * 1000)), 1000)
    weights = (share_q.denominator, share_q.numerator)
    d, n = weights
    a_fixed = d * fixed_holding - n * fixed_count
    say("candidates among the pairs that satisfy the share's rule")
    sat = build_candidates(RuleClassSource(source, rule), rows, filters, keep, programme_mentor)
    n_m = source.n_mentors
    keys = np.concatenate([cands.mentee * n_m + cands.mentor, sat.mentee * n_m + sat.mentor])
    scores = np.concatenate([cands.score, sat.score])
    keys, first = np.unique(keys, return_index=True)
    i, j, score = keys // n_m, keys % n_m, scores[first]
    holds = source.rule_holds_for_pairs(rule, i, j) if len(i) else np.zeros(0, bool)  # type: ignore[attr-defined]
    solves = 0
    proof: dict = {"proven": False}
    for _ in range(MAX_WIDENINGS):
        search = _Search(problem, i, j, score, holds, weights, a_fixed, n_m)
        found = _best_price(search, problem.objective, say)
        solves += search.solves
        if found is None:
            return None
        (p, q), low, high = found
        best = _between(search, low, high, p, q)
        a_min = 0 if problem.objective == "score" else (-n * (int(best.chosen.sum()) + fixed_count)) % d
        best = _refine(search, best, p, q, a_min)
        units = int(best.flows[:search.net.n_pair_arcs].sum())
        say(f"proving the priced flow over every eligible pair (price {p / q / SCALE:.4g})")
        priced = _priced_candidates(cands, sat, i, j, score, holds, weights, (p, q))
        out = solve_exact(replace(problem), PricedSource(source, rule, weights, (p, q), filters.min_score),
                          Filters(filters.mentor_open, filters.excluded_keys, None), priced)
        proof = out.proof
        solves += 1
        value = _value(low, p, q) + p * a_fixed    # the candidates' optimum of the priced flow, free pairs
        global_value = int(to_cost(out.score).sum())
        more = problem.objective != "score" and len(out.mentee) > units
        if not more and global_value >= value:
            break
        # pairs outside the candidates do better at this price: add the ones the proven flow chose
        new = out.mentee * n_m + out.mentor
        new = new[~np.isin(new, keys)]
        if not len(new):
            break
        keys = np.union1d(keys, new)
        i, j = keys // n_m, keys % n_m
        score = source.score_pairs(i, j)
        holds = source.rule_holds_for_pairs(rule, i, j)  # type: ignore[attr-defined]
    else:
        proof = {**proof, "proven": False}
    bound_cost = Fraction(_value(low, p, q) + p * a_min, q)   # every feasible matching costs at least this
    proven = bool(proof["proven"]) and best.a >= 0 and Fraction(best.cost) == bound_cost
    return ShareOutcome(search.i[best.chosen], search.j[best.chosen], proven, bool(proof["proven"]),
                        float(-bound_cost / SCALE), float(-best.cost / SCALE), p / q / SCALE, solves, proof,
                        len(search.i), units)


def _best_price(search: _Search, objective: str, say: Callable[[str], None]
                ) -> tuple[tuple[int, int], _Flow, _Flow] | None:
    """The price λ = p/q maximising g, with an infeasible and a feasible flow both optimal at it (the same
    flow twice when the unpriced optimum is feasible). None: no flow satisfies the share."""
    free = search.solve(0, 1)
    if free.a >= 0:
        return (0, 1), free, free
    spread = int(search.cost.max(initial=0) - search.cost.min(initial=0)) + 1
    # a feasible flow: a price at which one pair satisfying the rule outweighs any score difference of
    # a pair, raised until the share holds; at the last price, above any flow's cost difference, the
    # flow meets the share as far as any can, so an infeasible one there means none is feasible
    most = int(search.problem.mentee_cap.sum())   # pairs in any flow
    ceiling = spread * (most + 1)
    price = spread // max(1, int(np.ptp(search.a)) if len(search.a) else 1) + 1
    while True:
        top = search.solve(min(price, ceiling), 1)
        if top.a >= 0:
            break
        if price >= ceiling:
            return None
        price *= 8
    low, high = free, top
    for _ in range(MAX_SEARCH):
        p, q = high.cost - low.cost, high.a - low.a
        step = Fraction(max(p, 0), q)
        p, q = step.numerator, step.denominator
        say(f"pricing the share: λ = {p / q / SCALE:.6g} score per unit")
        flow = search.solve(p, q)
        if _value(flow, p, q) >= _value(low, p, q):   # nothing below the two lines: λ is optimal
            return (p, q), low, high
        if flow.a >= 0:
            high = flow
        else:
            low = flow
    return (p, q), low, high   # pragma: no cover - the search ends in far fewer steps


def _cycles(net: Network, diff: np.ndarray) -> list[list[tuple[int, int]]]:
    """Split a circulation (integer flow per arc) into unit cycles of (arc, ±1)."""
    out: dict[int, list[tuple[int, int, int]]] = {}
    for arc in np.flatnonzero(diff).tolist():
        units = int(diff[arc])
        tail, head = int(net.tails[arc]), int(net.heads[arc])
        edge = (arc, 1, head) if units > 0 else (arc, -1, tail)
        for _ in range(abs(units)):
            out.setdefault(tail if units > 0 else head, []).append(edge)
    cycles = []
    for start in list(out):
        while out.get(start):
            path_nodes, path_edges, at = [start], [], {start: 0}
            node = start
            while True:   # a balanced graph: a node on the open path always has an unused arc out
                arc, sign, nxt = out[node].pop()
                path_edges.append((arc, sign))
                if nxt in at:
                    k = at[nxt]
                    cycles.append(path_edges[k:])
                    for gone in path_nodes[k + 1:]:
                        del at[gone]
                    path_nodes, path_edges = path_nodes[:k + 1], path_edges[:k]
                    node = nxt
                    if not path_edges:
                        break
                else:
                    at[nxt] = len(path_nodes)
                    path_nodes.append(nxt)
                    node = nxt
    return cycles


def _between(search: _Search, low: _Flow, high: _Flow, p: int, q: int) -> _Flow:
    """Among the flows between `high` (feasible) and `low`, both optimal at price p/q, the one whose
    a(x) ≥ 0 is smallest (so whose cost is lowest): a subset sum over the cycles of their difference."""
    if low is high:
        return high
    n_pair = search.net.n_pair_arcs
    cycles = _cycles(search.net, low.flows - high.flows)
    delta = [sum(sign * int(search.a[arc]) for arc, sign in cycle if arc < n_pair) for cycle in cycles]
    useful = [k for k, v in enumerate(delta) if v]
    if not useful:
        return high
    unit = int(np.gcd.reduce(np.abs([delta[k] for k in useful])))
    steps = [delta[k] // unit for k in useful]
    offset = -sum(s for s in steps if s < 0)
    bits, history = 1 << offset, []
    for s in steps:
        history.append(bits)
        bits = bits | (bits << s) if s > 0 else bits | (bits >> -s)
    # the smallest reachable total t (in units) with high.a + t·unit ≥ 0
    need = -(high.a // unit)
    total = None
    for t in range(max(need, -offset), 1):
        if bits >> (t + offset) & 1:
            total = t
            break
    if total is None or total == 0:
        return high
    flows = high.flows.copy()
    for k in range(len(steps) - 1, -1, -1):
        if history[k] >> (total + offset) & 1:
            continue
        total -= steps[k]
        for arc, sign in cycles[useful[k]]:
            flows[arc] += sign
    return search.flow(flows)


def _refine(search: _Search, flow: _Flow, p: int, q: int, a_min: int, attempts: int = 200) -> _Flow:
    """Move within the flows optimal at price p/q towards a(x) = a_min: cycles of zero reduced cost (node
    potentials of `flow`) through a pair that does not satisfy the rule, each found by a breadth-first
    search in the residual graph of such arcs (first one where only such pairs come in and only satisfying
    ones go out, so a(x) falls; else any) and kept when a(x) falls but stays ≥ a_min."""
    if flow.a <= a_min:
        return flow
    from mentorctl.matching.flow import certify

    net = search.priced(p, q)
    flows = flow.flows.copy()
    potential = certify(net, flows).potential
    tight = net.costs + potential[net.tails] - potential[net.heads] == 0
    n_pair = net.n_pair_arcs
    arc_a = np.zeros(len(net.tails), np.int64)
    arc_a[:n_pair] = search.a
    may_add, may_drop = tight.copy(), tight.copy()
    may_add[:n_pair] &= search.a < 0
    may_drop[:n_pair] &= search.a > 0
    moves = np.flatnonzero(may_add[:n_pair] & (flows[:n_pair] == 0))
    a_now, graphs = flow.a, None
    for arc in moves[:attempts].tolist():
        if a_now <= a_min:
            break
        if flows[arc] != 0:
            continue
        if graphs is None:
            graphs = [_residual(net, flows, may_add, may_drop), _residual(net, flows, tight, tight)]
        for graph in graphs:
            path = _path_back(net, graph, arc)
            if path is None:
                continue
            change = sum(sign * int(arc_a[a]) for a, sign in path)
            if change < 0 and a_now + change >= a_min:
                for a, sign in path:
                    flows[a] += sign
                a_now += change
                graphs = None
                break
    return search.flow(flows)


def _residual(net: Network, flows: np.ndarray, forward: np.ndarray, backward: np.ndarray) -> tuple:
    """The residual arcs allowed (`forward` where flow < capacity, `backward` where flow > 0) as a sparse
    graph, and a lookup from (tail, head) to the arc (+id + 1 forward, −id − 1 backward)."""
    from scipy.sparse import csr_array

    fwd = np.flatnonzero(forward & (flows < net.caps))
    back = np.flatnonzero(backward & (flows > 0))
    tails = np.concatenate([net.tails[fwd], net.heads[back]]).astype(np.int64)
    heads = np.concatenate([net.heads[fwd], net.tails[back]]).astype(np.int64)
    ids = np.concatenate([fwd + 1, -(back + 1)])
    graph = csr_array((np.ones(len(tails)), (tails, heads)), shape=(net.n_nodes, net.n_nodes))
    order = np.lexsort((heads, tails))
    return graph, tails[order] * net.n_nodes + heads[order], ids[order]


def _path_back(net: Network, residual: tuple, arc: int) -> list[tuple[int, int]] | None:
    """A cycle through pair arc `arc` (unused) and a shortest residual path from its head back to its tail,
    as (arc, ±1) steps; None when there is no such path."""
    from scipy.sparse.csgraph import breadth_first_order

    graph, keys, ids = residual
    start, goal = int(net.heads[arc]), int(net.tails[arc])
    _, before = breadth_first_order(graph, start, directed=True, return_predecessors=True)
    if before[goal] < 0:
        return None
    path = [(arc, 1)]
    node = goal
    while node != start:
        prev = int(before[node])
        arc_id = int(ids[np.searchsorted(keys, prev * net.n_nodes + node)])
        path.append((arc_id - 1, 1) if arc_id > 0 else (-arc_id - 1, -1))
        node = prev
    return path


def _priced_candidates(cands: Candidates, sat: Candidates, i: np.ndarray, j: np.ndarray, score: np.ndarray,
                       holds: np.ndarray, weights: tuple[int, int], price: tuple[int, int]) -> Candidates:
    """The candidates with priced scores, and per mentee an upper bound on the priced score of any pair
    left out: a pair satisfying the rule scores at most the best one left out of its class, any other at
    most the best left out of the programme's candidates."""
    d, n = weights
    p, q = price
    a = np.where(holds, d - n, -n).astype(np.int64)
    priced = -(q * to_cost(score) - p * a) / SCALE
    with np.errstate(invalid="ignore"):
        from_sat = np.where(np.isfinite(sat.best_discarded), q * sat.best_discarded + p * (d - n) / SCALE,
                            -np.inf)
        from_all = np.where(np.isfinite(cands.best_discarded), q * cands.best_discarded - p * n / SCALE,
                            -np.inf)
    disc = np.maximum(from_sat, from_all)
    disc = np.where(np.isfinite(disc), disc + (q + 1) / SCALE, -np.inf)  # rounding margin (only higher: sound)
    low = q * cands.score_low - p * n / SCALE
    high = q * cands.score_high + p * (d - n) / SCALE
    order = np.lexsort((j, -priced, i))
    return Candidates(i[order], j[order], priced[order], cands.rule_eligible, cands.eligible, disc,
                      cands.failures, float(min(low, priced.min(initial=low))),
                      float(max(high, priced.max(initial=high))))
