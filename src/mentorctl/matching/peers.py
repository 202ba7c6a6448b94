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

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from mentorctl.matching.candidates import Candidates, Filters, PairSource
from mentorctl.matching.flow import build_network, certify, solve_network, to_cost

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
                note: Callable[[str], None] | None = None) -> PeerOutcome:
    """The best matching the double cover allows (see the module docstring)."""
    from mentorctl.matching.exact import solve_exact

    say = note or (lambda _m: None)
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
    augmented = _augment(mate, left, tight, n)
    if problem.objective != "score" and (mate < 0).any():
        # the bound is out of reach: the most people first, over every candidate pair (best scores first)
        say("matching the people the odd cycles left out")
        order = np.argsort(-score, kind="stable")
        everyone = _adjacency(keys[order], n)
        exposed = [int(x) for x in np.flatnonzero((mate < 0) & (problem.mentee_cap > 0))]
        augmented += _augment(mate, exposed, everyone, n, give_up=MAX_FAILED)
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
    return _adjacency(keys[(reduced[:m] <= 0) & (reduced[m:] <= 0)], n)


def _adjacency(keys: np.ndarray, n: int) -> np.ndarray:
    """Pairs u·n + v as one array: n + 1 offsets, then each person's partners (in the keys' order)."""
    u, v = keys // n, keys % n
    ends, others = np.concatenate([u, v]), np.concatenate([v, u])
    order = np.argsort(ends, kind="stable")
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(ends, minlength=n), out=offsets[1:])
    return np.concatenate([offsets, others[order]])


def _augment(mate: np.ndarray, left: list[int], pairs: np.ndarray, n: int, give_up: int | None = None) -> int:
    """Augmenting paths from each person in `left` over `pairs` (an adjacency; Edmonds' blossom search, one
    root at a time: a root without one never gets one later). Returns how many augmentations were made;
    `mate` is updated in place. `give_up`: stop after that many roots without a path."""
    offsets, neighbours = pairs[:n + 1], pairs[n + 1:]
    done = failed = 0
    for root in left:
        if mate[root] >= 0 or offsets[root] == offsets[root + 1]:
            continue
        if _augment_from(root, mate, offsets, neighbours):
            done += 1
        else:
            failed += 1
            if give_up is not None and failed >= give_up:
                break
    return done


def _augment_from(root: int, mate: np.ndarray, offsets: np.ndarray, neighbours: np.ndarray) -> bool:
    n = len(mate)
    base = np.arange(n)
    parent = np.full(n, -1, np.int64)
    used = np.zeros(n, bool)
    used[root] = True
    queue = [root]
    match = mate  # alias: read and written below

    def lca(a: int, b: int) -> int:
        path = set()
        while True:
            a = int(base[a])
            path.add(a)
            if match[a] < 0:
                break
            a = int(parent[match[a]])
        while True:
            b = int(base[b])
            if b in path:
                return b
            b = int(parent[match[b]])

    def mark(v: int, b: int, child: int, blossom: np.ndarray) -> None:
        while base[v] != b:
            blossom[base[v]] = blossom[base[match[v]]] = True
            parent[v] = child
            child = int(match[v])
            v = int(parent[match[v]])

    head = 0
    while head < len(queue):
        v = queue[head]
        head += 1
        for to in neighbours[offsets[v]:offsets[v + 1]].tolist():
            if base[v] == base[to] or match[v] == to:
                continue
            if to == root or (match[to] >= 0 and parent[match[to]] >= 0):
                b = lca(v, to)
                blossom = np.zeros(n, bool)
                mark(v, b, to, blossom)
                mark(to, b, v, blossom)
                inside = blossom[base]
                base[inside] = b
                for x in np.flatnonzero(inside & ~used).tolist():
                    used[x] = True
                    queue.append(x)
            elif parent[to] < 0:
                parent[to] = v
                if match[to] < 0:
                    while to >= 0:
                        pv = int(parent[to])
                        nxt = int(match[pv])
                        match[to], match[pv] = pv, to
                        to = nxt
                    return True
                used[match[to]] = True
                queue.append(int(match[to]))
    return False
