"""Maximum-weight matching of a general (non-bipartite) graph, proven optimal over every eligible pair.

The matching itself is Edmonds' weighted blossom algorithm (rustworkx, exact on integer weights) over the
candidate pairs. The proof is the linear programme of the matching polytope: one row per person (at most one
partner) and one odd-set row x(E(S)) ≤ (|S| − 1)/2 per odd set S found to cut off a fractional optimum (the
odd components of the LP's support; for coverage also the odd components of the Gallai–Edmonds set D, which
bound the number of pairs). Its optimum bounds every matching; its duals y (people) and z (odd sets) price
every eligible pair left out: a pair with y_u + y_v ≥ its weight cannot raise the bound (z ≥ 0 only helps),
one below is added and the matching solved again. When the bound over every eligible pair is below the
matching's weight + 1 (integer weights), nothing beats the matching.

Coverage first: weights are B + w with B larger than any change of score a different number of pairs could
bring, so the most pairs come first, then the best score. A tiny random perturbation of the LP's weights (less
than one unit over any matching) breaks the ties that otherwise stall the odd-set cuts."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Callable

T = TypeVar("T")

PERTURBATION = 0.5     # at most this many weight units over any matching (the proof needs < 1)
CUT_ROUNDS = 400       # LP re-solves with new odd-set rows, per pricing round
PRICING_ROUNDS = 12    # matchings re-solved after pairs are added
TOLERANCE = 1e-6       # LP feasibility slack allowed per pair (covered by the proof's margin)

@dataclass
class Priced:
    """What pricing found: the eligible pairs (u < v, raw weight) the duals do not cover, and over every
    eligible pair the gcd of the raw weights (0 when all are 0), the lowest and the highest."""

    u: np.ndarray
    v: np.ndarray
    w: np.ndarray
    unit: int
    low: int
    high: int


class Duals:
    """The LP's duals in LP units: y per person, z per odd set; `cover` gives y_u + y_v + Σ z over the sets
    holding both, the most a pair's LP weight may be without raising the bound."""

    def __init__(self, n: int, y: np.ndarray, sets: list[np.ndarray], z: np.ndarray) -> None:
        from scipy.sparse import csr_matrix

        self.y = y
        used = [k for k in range(len(sets)) if z[k] > 0]
        rows = np.concatenate([sets[k] for k in used]) if used else np.zeros(0, np.int64)
        cols = np.repeat(np.arange(len(used)), [len(sets[k]) for k in used])
        self._member = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, len(used)))
        self._weighted = csr_matrix((z[used][cols], (cols, rows)), shape=(len(used), n))

    def cover(self, rows: np.ndarray) -> np.ndarray:
        """len(rows) × n."""
        shared = (self._member[rows] @ self._weighted).toarray()
        return shared + self.y[rows, None] + self.y[None, :]


@dataclass
class GeneralMatching:
    """Pairs (u < v), their weight, the LP bound over every eligible pair (NaN when pricing did not finish),
    and whether the matching reaches it."""

    first: np.ndarray
    second: np.ndarray
    proven: bool
    bound_valid: bool
    pairs_bound: int          # no matching has more pairs (proven when bound_valid)
    weight_bound: float       # … nor, with that many pairs, more weight (raw units)
    weight: int               # the matching's weight (raw units)
    stats: dict = field(default_factory=dict)


def maximum_matching(n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray, coverage: bool,
                     price: Callable[[Duals, int, int], Priced],
                     weight_range: tuple[int, int], deadline: float,
                     note: Callable[[str], None] | None = None) -> GeneralMatching:
    """The best matching over pairs (u, v, integer weight w), grown by `price` and proven (module docstring).

    `price(duals, scale, base)` returns the eligible pairs whose raw weight + base exceeds their
    `duals.cover`·scale (see `Priced`). `weight_range`: the lowest and
    highest raw weight of any eligible pair; `deadline`: time.perf_counter() after which the proof stops."""
    say = note or (lambda _m: None)
    keep = (u != v) if coverage else (w > 0) & (u != v)
    u, v, w = np.minimum(u, v)[keep], np.maximum(u, v)[keep], np.asarray(w, np.int64)[keep]
    order = np.unique(u * n + v, return_index=True)[1]
    u, v, w = u[order], v[order], w[order]
    lp = _OddSetLP(n, coverage, weight_range)
    stats = {"pricing_rounds": 0, "pairs_added": 0, "cuts": 0, "lp_solves": 0}
    best: tuple[np.ndarray, np.ndarray, int] | None = None
    for _ in range(PRICING_ROUNDS):
        stats["pricing_rounds"] += 1
        say(f"solving the maximum-weight matching ({len(u):,} pairs)")
        a, b, total = _blossom(n, u, v, w, coverage)
        best = (a, b, total)
        lp.set_pairs(u, v, w)
        if coverage:
            lp.add_sets(_barrier_sets(n, u, v, a, b))
        say(f"proving it: odd-set cuts ({len(a):,} pairs matched)")
        lp.solve_to(len(a), total, deadline)
        if not lp.solved:
            break
        priced = price(lp.duals(), lp.scale, lp.base)
        new_u, new_v, new_w = priced.u, priced.v, priced.w
        fresh = ~np.isin(new_u * n + new_v, u * n + v)
        new_u, new_v, new_w = new_u[fresh], new_v[fresh], new_w[fresh]
        if not coverage:
            positive = new_w > 0
            new_u, new_v, new_w = new_u[positive], new_v[positive], new_w[positive]
        if len(new_u) == 0:
            stats.update(cuts=lp.n_sets, lp_solves=lp.solves, pairs=len(u))
            if priced.low < lp.low or priced.high > lp.high:   # the coverage weight B would be too small
                break
            return _verdict(lp, a, b, total, int(np.gcd(priced.unit, lp.scale)), stats)
        say(f"adding {len(new_u):,} pairs the duals do not cover")
        stats["pairs_added"] += len(new_u)
        u, v, w = np.concatenate([u, new_u]), np.concatenate([v, new_v]), np.concatenate([w, new_w])
    stats.update(cuts=lp.n_sets, lp_solves=lp.solves, pairs=len(u))
    assert best is not None
    a, b, total = best
    return GeneralMatching(a, b, False, False, len(a), float("nan"), int(total), stats)


def _verdict(lp: _OddSetLP, a: np.ndarray, b: np.ndarray, total: int, unit: int, stats: dict
             ) -> GeneralMatching:
    """What the bound over every eligible pair proves. Every matching's raw weight is a multiple of `unit`, so
    one below the matching's weight + unit is no better; with k pairs it weighs at least base·k + k·low."""
    k = len(a)
    bound = lp.safe_bound() * lp.scale                    # raw units, base included
    unit = unit or lp.scale
    more_pairs = bound >= lp.base * (k + 1) + (k + 1) * lp.low
    if lp.coverage and more_pairs:
        return GeneralMatching(a, b, False, True, lp.n // 2, float("nan"), total, stats)
    proven = bound < lp.base * k + total + unit
    return GeneralMatching(a, b, bool(proven), True, k, float(bound - lp.base * k), total, stats)


def _quiet(make: Callable[[], T]) -> T:
    """`make()` with the process's standard output closed: HiGHS prints a banner when it is created, before
    any option can silence it."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            return make()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _blossom(n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray, coverage: bool
             ) -> tuple[np.ndarray, np.ndarray, int]:
    """Edmonds' weighted blossom algorithm (rustworkx): the most pairs first when `coverage`, then weight."""
    import rustworkx as rx

    graph = rx.PyGraph(multigraph=False)
    graph.add_nodes_from(range(n))
    graph.add_edges_from(list(zip(u.tolist(), v.tolist(), w.tolist(), strict=True)))
    found = rx.max_weight_matching(graph, max_cardinality=coverage, weight_fn=int)
    pairs = np.array(sorted((min(p), max(p)) for p in found), np.int64).reshape(-1, 2)
    a, b = pairs[:, 0], pairs[:, 1]
    keys = u * n + v
    order = np.argsort(keys)
    at = order[np.searchsorted(keys[order], a * n + b)]
    return a, b, int(w[at].sum())


def _barrier_sets(n: int, u: np.ndarray, v: np.ndarray, a: np.ndarray, b: np.ndarray) -> list[np.ndarray]:
    """Gallai–Edmonds: the odd components (≥ 3 people) of D, the people some maximum matching leaves out.
    Their odd-set rows, with one row per person, hold the LP to the maximum number of pairs."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    mate = np.full(n, -1, np.int64)
    mate[a], mate[b] = b, a
    ends = np.zeros(n, bool)
    ends[u] = ends[v] = True
    adjacency = adjacency_of(u * n + v, n)
    reach = np.zeros(n, bool)
    for root in np.flatnonzero((mate < 0) & ends).tolist():
        if not reach[root]:
            reach |= outer_vertices(root, mate, adjacency[:n + 1], adjacency[n + 1:])
    inside = reach[u] & reach[v]
    graph = csr_matrix((np.ones(int(inside.sum())), (u[inside], v[inside])), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    label = np.where(reach, label, -1)
    sizes = np.bincount(label[reach], minlength=int(label.max()) + 1) if reach.any() else np.zeros(0, np.int64)
    return [np.flatnonzero(label == c) for c in np.flatnonzero(sizes >= 3)]


class _OddSetLP:
    """The matching LP over the pairs given so far, with odd-set rows, re-solved warm by HiGHS."""

    def __init__(self, n: int, coverage: bool, weight_range: tuple[int, int]) -> None:
        self.n, self.coverage = n, coverage
        self.low, self.high = int(weight_range[0]), int(weight_range[1])
        self.sets: list[np.ndarray] = []
        self.highs: Any = None
        self.u = self.v = np.zeros(0, np.int64)
        self.w = np.zeros(0, np.int64)
        self.scale = 1
        self.base = 0
        self.solves = 0
        self.solved = False
        self.x = np.zeros(0)
        self.objective = float("inf")
        self._rng = np.random.default_rng(0)
        self._noise = np.zeros(0)

    @property
    def n_sets(self) -> int:
        return len(self.sets)

    def set_pairs(self, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> None:
        """Use these pairs (a superset of the last ones, in the same order): new columns, or a new model when
        the unit of weight changes."""
        nonzero = np.abs(np.r_[w, self.low, self.high])
        scale = int(np.gcd.reduce(nonzero[nonzero > 0])) if (nonzero > 0).any() else 1
        span, low = -(-(self.high - self.low) // scale), -(-abs(self.low) // scale)
        base = ((self.n // 2) * span + low + 1) * scale if self.coverage else 0
        noise = self._rng.random(len(u) - len(self._noise)) * (PERTURBATION / (self.n // 2 + 1))
        self._noise = np.r_[self._noise, noise]
        if self.highs is None or scale != self.scale or base != self.base:
            self.scale, self.base = scale, base
            self.u, self.v, self.w = u, v, w
            self._build()
            return
        old = len(self.u)
        self.u, self.v, self.w = u, v, w
        self._add_columns(old)

    def _weights(self, sel: slice) -> np.ndarray:
        return (self.base + self.w[sel]) / self.scale + self._noise[sel]

    def _build(self) -> None:
        import highspy

        highs = _quiet(highspy.Highs)
        highs.setOptionValue("output_flag", False)
        highs.setOptionValue("random_seed", 0)
        inf = highspy.kHighsInf
        n = self.n
        highs.addRows(n, np.full(n, -inf), np.ones(n), 0, np.zeros(0, np.int32), np.zeros(0, np.int32),
                      np.zeros(0))
        self.highs = highs
        self.solves = 0
        for s in self.sets:
            self._add_row(s, 0)
        self._add_columns(0)

    def _members(self, s: np.ndarray, start: int) -> np.ndarray:
        mark = np.zeros(self.n, bool)
        mark[s] = True
        return start + np.flatnonzero(mark[self.u[start:]] & mark[self.v[start:]])

    def _add_row(self, s: np.ndarray, start: int) -> None:
        import highspy

        cols = self._members(s, start) if start < len(self.u) else np.zeros(0, np.int64)
        assert self.highs is not None
        self.highs.addRow(-highspy.kHighsInf, float((len(s) - 1) // 2), len(cols), cols.astype(np.int32),
                          np.ones(len(cols)))

    def _add_columns(self, start: int) -> None:
        """Columns for pairs start…: one in each person's row and in every odd-set row holding both (no upper
        bound: the rows imply x ≤ 1, and a bound would take duals the pricing needs)."""
        import highspy

        m = len(self.u) - start
        if m == 0:
            return
        rows = [[int(a), int(b)] for a, b in zip(self.u[start:].tolist(), self.v[start:].tolist(), strict=True)]
        for k, s in enumerate(self.sets):
            for col in self._members(s, start).tolist():
                rows[col - start].append(self.n + k)
        starts = np.r_[0, np.cumsum([len(r) for r in rows])[:-1]].astype(np.int32)
        index = np.array([i for r in rows for i in r], np.int32)
        assert self.highs is not None
        self.highs.addCols(m, -self._weights(slice(start, None)), np.zeros(m), np.full(m, highspy.kHighsInf),
                           len(index), starts,
                           index, np.ones(len(index)))

    def add_sets(self, sets: list[np.ndarray]) -> None:
        known = {s.tobytes() for s in self.sets}
        for s in sets:
            s = np.sort(s)
            if s.tobytes() in known or len(s) < 3 or len(s) % 2 == 0:
                continue
            known.add(s.tobytes())
            self.sets.append(s)
            self._add_row(s, 0)

    def solve_to(self, pairs: int, weight: int, deadline: float) -> None:
        """Re-solve with new odd-set cuts until the bound proves the matching (pairs, weight) optimal over
        these pairs, no cut is found, or the deadline passes. `solved`: the last LP was optimal."""
        target = (self.base * pairs + weight + self.scale) / self.scale   # one raw unit above the matching
        for _ in range(CUT_ROUNDS):
            self._run()
            if not self.solved or self.objective < target - 1e-3 or time.perf_counter() > deadline:
                return
            sets = self._violated()
            if not sets:
                return
            before = len(self.sets)
            self.add_sets(sets)
            if len(self.sets) == before:
                return

    def _run(self) -> None:
        import highspy

        assert self.highs is not None
        if len(self.u) == 0:   # nobody can pair: the bound is 0, every dual 0
            self.solved, self.objective, self.x = True, 0.0, np.zeros(0)
            return
        cold = self.solves == 0
        if cold:   # interior point (then crossover) from scratch: the simplex stalls on the barrier sets
            self.highs.setOptionValue("solver", "ipm")
        self.highs.run()
        if cold:
            self.highs.setOptionValue("solver", "simplex")
        self.solves += 1
        self.solved = self.highs.getModelStatus() == highspy.HighsModelStatus.kOptimal
        if self.solved:
            self.x = np.asarray(self.highs.getSolution().col_value)
            self.objective = -float(self.highs.getInfo().objective_function_value)

    def _violated(self) -> list[np.ndarray]:
        """Odd components of the fractional support (then of the whole support) whose pairs sum to more
        than (|S| − 1)/2."""
        from scipy.sparse import csr_matrix
        from scipy.sparse.csgraph import connected_components

        x, n = self.x, self.n
        fractional = (x > 1e-7) & (x < 1 - 1e-7)
        for chosen in (fractional, x > 1e-7):
            graph = csr_matrix((np.ones(int(chosen.sum())), (self.u[chosen], self.v[chosen])), shape=(n, n))
            count, label = connected_components(graph, directed=False)
            size = np.bincount(label, minlength=count)
            same = label[self.u] == label[self.v]
            inside = np.bincount(label[self.u][same], weights=x[same], minlength=count)
            bad = np.flatnonzero((size % 2 == 1) & (size >= 3) & (inside > (size - 1) / 2 + 1e-6))
            if len(bad):
                return [np.flatnonzero(label == c) for c in bad]
        return []

    def duals(self) -> Duals:
        """y ≥ 0 per person and z ≥ 0 per odd set (HiGHS minimises −weight, so its row duals are ≤ 0)."""
        assert self.highs is not None
        dual = self._row_duals()
        return Duals(self.n, dual[:self.n], self.sets, dual[self.n:])

    def _row_duals(self) -> np.ndarray:
        assert self.highs is not None
        if len(self.u) == 0:
            return np.zeros(self.n + len(self.sets))
        return np.maximum(0.0, -np.asarray(self.highs.getSolution().row_dual))

    def safe_bound(self) -> float:
        """The dual bound Σ y + Σ z·⌊|S|/2⌋ (LP units), raised by what any matching could gain from the duals'
        small infeasibilities: no matching over these pairs weighs more (perturbation included)."""
        dual = self._row_duals()
        y, z = dual[:self.n], dual[self.n:]
        cover = y[self.u] + y[self.v]
        for k, s in enumerate(self.sets):
            if z[k] > 0:
                cover[self._members(s, 0)] += z[k]
        weights = self._weights(slice(None))
        short = np.sort(np.maximum(0.0, weights - cover))[::-1][:self.n // 2]
        rhs = np.array([(len(s) - 1) // 2 for s in self.sets], float)
        return float(y.sum() + (z * rhs).sum() + short.sum() + TOLERANCE * (self.n // 2))


def adjacency_of(keys: np.ndarray, n: int) -> np.ndarray:
    """Pairs u·n + v as one array: n + 1 offsets, then each person's partners (in the keys' order)."""
    u, v = keys // n, keys % n
    ends, others = np.concatenate([u, v]), np.concatenate([v, u])
    order = np.argsort(ends, kind="stable")
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(ends, minlength=n), out=offsets[1:])
    return np.concatenate([offsets, others[order]])


def augment(mate: np.ndarray, left: list[int], pairs: np.ndarray, n: int, give_up: int | None = None) -> int:
    """Augmenting paths from each person in `left` over `pairs` (an adjacency; Edmonds' blossom search, one
    root at a time: a root without one never gets one later). Returns how many augmentations were made;
    `mate` is updated in place. `give_up`: stop after that many roots without a path."""
    offsets, neighbours = pairs[:n + 1], pairs[n + 1:]
    done = failed = 0
    for root in left:
        if mate[root] >= 0 or offsets[root] == offsets[root + 1]:
            continue
        if _search(root, mate, offsets, neighbours)[0]:
            done += 1
        else:
            failed += 1
            if give_up is not None and failed >= give_up:
                break
    return done


def outer_vertices(root: int, mate: np.ndarray, offsets: np.ndarray, neighbours: np.ndarray) -> np.ndarray:
    """The people an even alternating path from the unmatched `root` reaches (blossoms included). When
    `mate` is a maximum matching, the union over unmatched roots is Gallai–Edmonds' D."""
    return _search(root, mate, offsets, neighbours, augment=False)[1]


def _search(root: int, mate: np.ndarray, offsets: np.ndarray, neighbours: np.ndarray, augment: bool = True
            ) -> tuple[bool, np.ndarray]:
    """Edmonds' blossom search from `root`: augments `mate` in place along the first augmenting path found
    (when `augment`) and returns whether there was one, and the outer (even) people reached."""
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
                    if not augment:
                        return True, used
                    while to >= 0:
                        pv = int(parent[to])
                        nxt = int(match[pv])
                        match[to], match[pv] = pv, to
                        to = nxt
                    return True, used
                used[match[to]] = True
                queue.append(int(match[to]))
    return False, used
