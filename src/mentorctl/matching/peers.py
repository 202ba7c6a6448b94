"""Peer programmes (a general, non-bipartite matching), proven optimal through the bipartite double cover.

Each person appears twice, as a "mentee" node and a "mentor" node, and every eligible pair {u, v} gives the
arcs u → v and v → u. A matching M gives a flow of 2·|M| units and twice its score, so the double cover's
optimum (most units, then the lowest cost) bounds every matching; `exact.solve_exact` solves it and proves
it over every eligible pair. When a matching reaches that bound exactly (integer costs), it is optimal.

Finding one: the optimal flow splits into two-cycles u → v → u (pairs), even cycles and paths (halved into
pairs without loss) and odd cycles, each of which leaves one person out. Those people are then matched by
augmenting paths (Edmonds' blossom search, unweighted) over the pairs whose two arcs both have zero reduced
cost under the flow's node potentials: every matching that reaches the bound uses only such pairs, and an
augmenting path never unmatches anyone. The bound check, not the search, is the proof."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from mentorctl.matching.candidates import Candidates, Filters, PairSource
from mentorctl.matching.flow import build_network, certify, solve_network, to_cost
from mentorctl.matching.general import (
    TOLERANCE,
    Duals,
    GeneralMatching,
    Priced,
    adjacency_of,
    augment,
    maximum_matching,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from mentorctl.matching.exact import FlowProblem

MAX_FAILED = 50   # people without an augmenting path searched before the rest are left to CP-SAT


@dataclass
class PeerOutcome:
    """Chosen pairs (u < v), whether they reach the double-cover bound, and that bound (people, score)."""

    first: np.ndarray
    second: np.ndarray
    proven: bool          # reaches the bound and the bound is proven over every eligible pair
    bound_proven: bool
    bound_people: int
    bound_score: float
    score: float
    proof: dict
    model_pairs: int
    left_over: int        # people the odd cycles left out before the augmenting search
    augmented: int


def solve_peers(problem: FlowProblem, source: PairSource, filters: Filters, cands: Candidates,
                note: Callable[[str], None] | None = None, time_limit: float = 60.0) -> PeerOutcome:
    """The best matching, proven by odd-set cuts (`general.py`) when they finish within `time_limit`
    seconds; otherwise the better of that matching and the double cover's, with the tighter bound."""
    say = note or (lambda _m: None)
    n = source.n_mentors
    first, second = np.minimum(cands.mentee, cands.mentor), np.maximum(cands.mentee, cands.mentor)
    keys = np.unique(first * n + second)
    u, v = keys // n, keys % n
    coverage = problem.objective != "score"
    weights = -to_cost(source.score_pairs(u, v))
    rows = np.flatnonzero(cands.eligible > 0)
    low, high = -to_cost(np.array([cands.score_low, cands.score_high]))
    deadline = time.perf_counter() + time_limit
    exact = maximum_matching(n, u, v, weights, coverage, _pricer(source, filters, rows, n), (int(low), int(high)),
                             deadline, say)
    got = _outcome(source, exact)
    if got.proven:
        return got
    say("the proof did not finish: bounding by the bipartite double cover")
    cover = _by_double_cover(problem, source, filters, cands, say)
    better = (len(got.first), got.score) > (len(cover.first), cover.score) if coverage else got.score > cover.score
    chosen = got if better else cover
    bounds = [(cover.bound_people, cover.bound_score)]
    if exact.bound_valid:
        bounds.append((got.bound_people, got.bound_score))
    people, score = min(bounds) if coverage else (cover.bound_people, min(b[1] for b in bounds))
    return replace(chosen, bound_people=people, bound_score=score, proven=False,
                   proof={**cover.proof, "odd_set_cuts": int(exact.stats["cuts"])})


def _outcome(source: PairSource, found: GeneralMatching) -> PeerOutcome:
    from mentorctl.matching.flow import SCALE

    a, b = found.first, found.second
    score = float(-to_cost(source.score_pairs(a, b)).sum() / SCALE)
    proof = {"proven": found.proven, "rounds": found.stats["pricing_rounds"],
             "pairs_added": found.stats["pairs_added"], "odd_set_cuts": found.stats["cuts"]}
    people = 2 * found.pairs_bound if found.bound_valid else source.n_mentors
    bound = found.weight_bound / SCALE if found.bound_valid else float("inf")
    return PeerOutcome(a, b, found.proven, found.bound_valid, people, score if found.proven else bound, score,
                       proof, int(found.stats.get("pairs", 0)), 0, 0)


def _pricer(source: PairSource, filters: Filters, rows: np.ndarray, n: int
            ) -> Callable[[Duals, int, int], Priced]:
    """Every eligible pair (in blocks of rows) whose raw weight + base exceeds (y_u + y_v)·scale."""
    from mentorctl.matching.candidates import block_rows

    def price(duals: Duals, scale: int, base: int) -> Priced:
        found_u, found_v, found_w = [], [], []
        unit, low, high = 0, None, None
        step = block_rows(n)
        for start in range(0, len(rows), step):
            block = rows[start:start + step]
            ok, score, _ = source.evaluate(block)
            mask = filters.apply(block, ok, score, n)
            r, c = np.nonzero(mask)
            w = -to_cost(score[r, c])
            if len(w):
                unit = int(np.gcd(unit, np.gcd.reduce(np.abs(w))))
                low = int(w.min()) if low is None else min(low, int(w.min()))
                high = int(w.max()) if high is None else max(high, int(w.max()))
            i = block[r]
            short = (w + base) > (duals.cover(block)[r, c] + TOLERANCE) * scale
            found_u.append(np.minimum(i, c)[short])
            found_v.append(np.maximum(i, c)[short])
            found_w.append(w[short])
        pu, pv, pw = (np.concatenate(x) if x else np.zeros(0, np.int64) for x in (found_u, found_v, found_w))
        key, at = np.unique(pu * n + pv, return_index=True)
        return Priced(pu[at], pv[at], pw[at], unit, 0 if low is None else low, 0 if high is None else high)

    return price


def _by_double_cover(problem: FlowProblem, source: PairSource, filters: Filters, cands: Candidates,
                     say: Callable[[str], None]) -> PeerOutcome:
    """The double cover's bound and its rounded matching (see the module docstring)."""
    from mentorctl.matching.exact import solve_exact

    n = source.n_mentors
    first, second = np.minimum(cands.mentee, cands.mentor), np.maximum(cands.mentee, cands.mentor)
    keys = np.unique(first * n + second)
    both = _both_ways(keys, n, cands)
    say("solving the bipartite double cover over every eligible pair")
    out = solve_exact(problem, source, filters, both, say)
    bound_units, bound_cost = len(out.mentee), int(to_cost(out.score).sum())
    extra = np.minimum(out.mentee, out.mentor) * n + np.maximum(out.mentee, out.mentor)
    keys = np.union1d(keys, extra)
    u, v = keys // n, keys % n
    score = source.score_pairs(u, v)
    tail, head = np.concatenate([u, v]), np.concatenate([v, u])
    cost = to_cost(np.concatenate([score, score]))
    net = build_network(problem.mentee_cap, problem.mentor_cap, tail, head, cost,
                        bypass=problem.objective == "score")
    say(f"rounding the double cover ({len(keys):,} pairs)")
    flows = solve_network(net)
    potential = certify(net, flows).potential
    reduced = cost + potential[net.tails[:len(tail)]] - potential[net.heads[:len(tail)]]
    used = flows[:len(tail)] > 0
    mate, left = _round(n, tail[used], head[used])
    tight = _tight_pairs(keys, n, reduced)
    augmented = augment(mate, left, tight, n)
    if problem.objective != "score" and (mate < 0).any():
        # the bound is out of reach: the most people first, over every candidate pair (best scores first)
        say("matching the people the odd cycles left out")
        order = np.argsort(-score, kind="stable")
        everyone = adjacency_of(keys[order], n)
        exposed = [int(x) for x in np.flatnonzero((mate < 0) & (problem.mentee_cap > 0))]
        augmented += augment(mate, exposed, everyone, n, give_up=MAX_FAILED)
    a = np.flatnonzero(mate > np.arange(n))
    b = mate[a]
    pair_cost = to_cost(source.score_pairs(a, b))
    got_units, got_cost = 2 * len(a), 2 * int(pair_cost.sum())
    proven_bound = bool(out.proof["proven"])
    coverage = problem.objective == "score" or got_units >= bound_units
    reached = coverage and got_cost <= bound_cost
    from mentorctl.matching.flow import SCALE

    return PeerOutcome(a, b, proven_bound and reached, proven_bound, bound_units, -bound_cost / SCALE / 2,
                       float(-pair_cost.sum() / SCALE), out.proof, len(keys), len(left), augmented)


def _both_ways(keys: np.ndarray, n: int, cands: Candidates) -> Candidates:
    """The candidates as arcs both ways (u → v and v → u for each pair), sorted by mentee then score."""
    u, v = keys // n, keys % n
    lookup = np.concatenate([cands.mentee * n + cands.mentor, cands.mentor * n + cands.mentee])
    scores = np.concatenate([cands.score, cands.score])
    lookup, at = np.unique(lookup, return_index=True)
    score = scores[at][np.searchsorted(lookup, keys)]
    mentee, mentor, s = np.concatenate([u, v]), np.concatenate([v, u]), np.concatenate([score, score])
    order = np.lexsort((mentor, -s, mentee))
    return Candidates(mentee[order], mentor[order], s[order], cands.rule_eligible, cands.eligible,
                      cands.best_discarded, cands.failures, cands.score_low, cands.score_high)


def _round(n: int, tail: np.ndarray, head: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """A matching from the double cover's arcs (each person ≤ 1 out, ≤ 1 in): two-cycles are pairs; paths
    and even cycles are halved; odd cycles are halved leaving one person out (returned)."""
    succ = np.full(n, -1, np.int64)
    pred = np.full(n, -1, np.int64)
    succ[tail], pred[head] = head, tail
    mate = np.full(n, -1, np.int64)
    seen = np.zeros(n, bool)
    left: list[int] = []
    starts = [int(x) for x in np.flatnonzero((succ >= 0) & (pred < 0))]
    loops = [int(x) for x in np.flatnonzero((succ >= 0) & (pred >= 0))]
    for start in starts + loops:
        if seen[start]:
            continue
        chain = [start]
        seen[start] = True
        node = int(succ[start])
        while node >= 0 and not seen[node]:
            seen[node] = True
            chain.append(node)
            node = int(succ[node])
        cycle = node == start
        if cycle and len(chain) % 2:
            left.append(chain[0])
            chain = chain[1:]
        for x, y in zip(chain[0::2], chain[1::2], strict=False):
            mate[x], mate[y] = y, x
    return mate, left


def _tight_pairs(keys: np.ndarray, n: int, reduced: np.ndarray) -> np.ndarray:
    """Pairs (u < v) both of whose arcs have reduced cost ≤ 0, as an adjacency (see `_adjacency`)."""
    m = len(keys)
    return adjacency_of(keys[(reduced[:m] <= 0) & (reduced[m:] <= 0)], n)
