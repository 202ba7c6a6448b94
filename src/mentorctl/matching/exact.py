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

from mentorctl.matching.candidates import Candidates, Filters, PairSource, cells, top_k
from mentorctl.matching.flow import (
    SCALE,
    Certificate,
    Network,
    build_network,
    certify,
    solve_network,
    tighten,
    to_cost,
)

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
    mentee_base: np.ndarray | None = None           # per mentee: mentors already given (pinned / kept pairs)
    mentor_base: np.ndarray | None = None           # per mentor: mentees already given
    balance: float = 0.0                            # matching.balance: score cost of a mentor's k-th mentee, × (k−1)

    @property
    def levels(self) -> bool:
        """Lexicographic coverage: every mentee a first mentor before any gets a second (coverage objectives)."""
        return self.objective in ("coverage_then_score", "fair")

    @property
    def balance_cost(self) -> int:
        return int(-to_cost(np.array([self.balance]))[0]) if self.balance > 0 else 0


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

        def build(arc_group: np.ndarray | None = None, group_mentor: np.ndarray | None = None,
                  group_cap: np.ndarray | None = None) -> Network:
            return build_network(p.mentee_cap, p.mentor_cap, i, j, cost, arc_group=arc_group,
                                 group_mentor=group_mentor, group_cap=group_cap, bypass=bypass, levels=p.levels,
                                 mentee_base=p.mentee_base, balance_cost=0 if zero_cost else p.balance_cost,
                                 mentor_base=p.mentor_base, cost_bound=0 if zero_cost else self.score_bound)

        if p.mentee_code is None:
            return build(), sel
        gkey, ginv = np.unique(self._gk(i, j), return_inverse=True)
        gm = gkey // self.n_codes
        gcap = np.full(len(gkey), p.group_limit, np.int64)
        for (m, c), used in p.group_used.items():
            hit = np.searchsorted(gkey, m * self.n_codes + c)
            if hit < len(gkey) and gkey[hit] == m * self.n_codes + c:
                gcap[hit] = max(0, p.group_limit - used)
        net = build(arc_group=ginv, group_mentor=gm, group_cap=gcap)
        self.gkey = gkey
        return net, sel

    @property
    def mentee_code(self) -> np.ndarray:
        """Each mentee's code of the field a mentor's group limit counts (only with a group limit)."""
        if self.problem.mentee_code is None:
            raise ValueError("this problem has no per-mentor group limit")
        return self.problem.mentee_code

    @property
    def n_codes(self) -> int:
        return int(self.mentee_code.max(initial=0)) + 1

    def _gk(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        return j * self.n_codes + self.mentee_code[i]

    def head_potential(self, net: Network, cert: Certificate, i: np.ndarray, j: np.ndarray) -> np.ndarray:
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
    pairs with negative reduced cost until there are none. Returns the used-arc mask and the proof.

    When few pairs are re-added, the flow is first re-optimised around them (`_improve_locally`) and
    certified again over the whole network; only when that certificate fails is the whole network solved
    again (exact either way: the proof always runs on the whole network)."""
    rechecked = added = local = 0
    cert: Certificate | None = None
    net, sel, flows = None, None, None
    solver = "OR-Tools"   # what solved the whole network last (local repairs then only cancel cycles)
    bound = 0 if zero_cost else model.score_bound
    for round_no in range(1, MAX_ROUNDS + 1):
        mask = None if min_cost_exclusive is None else to_cost(model.s) < min_cost_exclusive
        if cert is None:
            net, sel = model.network(mask, zero_cost)
            note(f"solving min-cost flow ({int(sel.sum()):,} pairs)")
            flows = solve_network(net)
            solver = net.solved_by or solver
        assert net is not None and sel is not None and flows is not None
        used = _flows_to_pairs(model, net, sel, flows)
        disc = model.best_discarded
        if min_cost_exclusive is not None:
            disc = np.where(to_cost(np.where(np.isfinite(disc), disc, 0)) < min_cost_exclusive, disc, -np.inf)
        proof = {"proven": True, "rounds": round_no, "rechecked_mentees": rechecked, "pairs_added": added,
                 "local_repairs": local, "solver": solver}
        if not np.isfinite(disc).any():
            return used, proof
        note("proving optimality (reduced costs)")
        candidates = np.flatnonzero(np.isfinite(disc))
        disc_cost = np.zeros(len(candidates), np.int64) if zero_cost else to_cost(disc[candidates])
        certs = [cert] if cert is not None else [certify(net, flows, extra_cost_bound=bound, lowest=low)
                                                 for low in (False, True)]
        plans = []
        for option in certs:   # the potentials that leave the fewest pairs to evaluate
            tighten(net, flows, option)
            head = _mentor_head_potential(model, net, option, source.n_mentors)
            slack = disc_cost + option.potential[net.mentee_node(candidates)]
            suspect, hot = _split(slack, head, source.n_mentors)
            plans.append((int(suspect.sum()) * source.n_mentors + len(slack) * len(hot), option, head, slack,
                          suspect, hot))
        _, cert, head, slack, suspect, hot = min(plans, key=lambda plan: plan[0])
        note(f"checking {int(suspect.sum()):,} mentees against every mentor and the rest against "
             f"{len(hot):,} mentors")
        rechecked += int(suspect.sum())
        found = [_rescan(model, source, filters, candidates[suspect], net, cert, min_cost_exclusive, zero_cost,
                         np.flatnonzero(head > slack[suspect].min()) if suspect.any() else np.zeros(0, np.int64)),
                 _rescan(model, source, filters, candidates[~suspect], net, cert, min_cost_exclusive, zero_cost,
                         hot)]
        new_i = np.concatenate([f[0] for f in found])
        if len(new_i) == 0:
            return used, proof
        added += len(new_i)
        before = len(model.i)
        model.add(new_i, np.concatenate([f[1] for f in found]), np.concatenate([f[2] for f in found]))
        improved = None
        if model.problem.mentee_code is None and len(new_i) <= LOCAL_MAX_SHARE * before:
            grown = None if min_cost_exclusive is None else to_cost(model.s) < min_cost_exclusive
            improved = _improve_locally(model, net, sel, flows, cert, before, grown, zero_cost, bound)
        if improved is None:
            cert = None          # solve the whole network again
            continue
        net, sel, flows, cert = improved
        local += 1
        note(f"re-optimised around {len(new_i):,} added pairs")
    return used, {"proven": False, "rounds": MAX_ROUNDS, "rechecked_mentees": rechecked, "pairs_added": added,
                  "local_repairs": local, "solver": solver}


LOCAL_MAX_SHARE = 0.5       # re-optimise locally when the pairs re-added are at most this share of the model
LOCAL_NODES = 1.0           # … within a region of at most this share of the nodes (at least LOCAL_MIN_NODES):
LOCAL_MIN_NODES = 2_000     # all that breadth-first search reaches (at 50,000 tight: 55 % of the nodes, 1 s)
LOCAL_ROUNDS = 300          # Bellman-Ford rounds allowed to certify a re-optimised flow
LOCAL_CYCLE_RUNS = 40       # Dijkstra runs allowed to cancel the cycles through added pairs, before a region
LOCAL_ATTEMPTS = 2          # re-optimisations (the second around the nodes the first certificate left unsettled)


def _improve_locally(model: _Model, old: Network, old_sel: np.ndarray, old_flows: np.ndarray, cert: Certificate,
                     n_old: int, mask: np.ndarray | None, zero_cost: bool, bound: int
                     ) -> tuple[Network, np.ndarray, np.ndarray, Certificate] | None:
    """The network with the pairs added since `n_old`, its flow re-optimised, and a certificate over the whole
    network. First by cancelling the negative cycles through the new pairs one by one (`cancel_through`:
    a few Dijkstra runs when, as usual, few cycles improve); failing that, in a region around them (the
    nodes an improving cycle through a new pair reaches first: breadth-first over residual pair arcs whose
    reduced cost is below the largest gain a new pair offers). None when the certificate fails (an
    improvement runs outside the region): then solve everything again."""
    from mentorctl.matching.flow import cancel_through, improve_region, try_certify

    net, sel = model.network(mask, zero_cost)
    pair_flow = np.zeros(len(model.i), np.int64)
    pair_flow[np.flatnonzero(old_sel)] = old_flows[:old.n_pair_arcs]
    if len(net.tails) - net.n_pair_arcs != len(old.tails) - old.n_pair_arcs:
        return None   # pragma: no cover - the structure arcs depend only on the capacities
    flows = np.concatenate([pair_flow[sel], old_flows[old.n_pair_arcs:]])
    pot = cert.potential
    n_pair = net.n_pair_arcs
    tails, heads = net.tails[:n_pair].astype(np.int64), net.heads[:n_pair].astype(np.int64)
    reduced = net.costs[:n_pair] + pot[tails] - pot[heads]
    is_new = np.zeros(len(model.i), bool)
    is_new[n_old:] = True
    new = is_new[sel] & (reduced < 0)
    if not new.any():
        return None
    entering = np.zeros(len(net.tails), bool)
    entering[:n_pair] = is_new[sel]
    cancelled = cancel_through(net, flows, pot, cert.big, entering, LOCAL_CYCLE_RUNS)
    if cancelled is not None:
        better, _ = try_certify(net, cancelled[0], extra_cost_bound=bound, max_rounds=LOCAL_ROUNDS,
                                start=cancelled[1])
        if better is not None:
            return net, sel, cancelled[0], better
    gain = int(-reduced[new].min())
    seeds = np.unique(np.concatenate([tails[new], heads[new]]))
    budget = max(LOCAL_MIN_NODES, int(LOCAL_NODES * net.n_nodes))
    for _ in range(LOCAL_ATTEMPTS):   # each failed certificate names the nodes still improving: widen there
        used = flows[:n_pair] > 0  # residual: unused pairs forward, used pairs backward (reduced cost negated)
        keep = (np.where(used, -reduced, reduced) < gain) | new
        region = _reach(net.n_nodes, np.where(used, heads, tails)[keep], np.where(used, tails, heads)[keep],
                        seeds, budget)
        region = _with_partners(region, tails[used], heads[used])
        flows = improve_region(net, flows, region)
        better, unsettled = try_certify(net, flows, extra_cost_bound=bound, max_rounds=LOCAL_ROUNDS,
                                        start=pot)
        if better is not None:
            return net, sel, flows, better
        seeds = np.unique(np.concatenate([seeds, unsettled[(unsettled >= 2)]]))
    return None


def _with_partners(region: np.ndarray, tails: np.ndarray, heads: np.ndarray) -> np.ndarray:
    """`region` grown until it holds both ends of every pair (tails[k], heads[k]) it touches."""
    region = region.copy()
    while True:
        touch = region[tails] != region[heads]
        if not touch.any():
            return region
        region[tails[touch]] = True
        region[heads[touch]] = True


def _reach(n_nodes: int, tails: np.ndarray, heads: np.ndarray, seeds: np.ndarray, budget: int) -> np.ndarray:
    """Nodes reached breadth-first from `seeds` along the arcs, at most `budget` of them (bool per node)."""
    order = np.argsort(tails, kind="stable")
    tails, heads = tails[order], heads[order]
    indptr = np.zeros(n_nodes + 1, np.int64)
    np.cumsum(np.bincount(tails, minlength=n_nodes), out=indptr[1:])
    seen = np.zeros(n_nodes, bool)
    seen[seeds] = True
    count, frontier = len(seeds), seeds
    while len(frontier) and count < budget:
        starts, stops = indptr[frontier], indptr[frontier + 1]
        sizes = stops - starts
        arcs = np.repeat(starts - np.cumsum(sizes) + sizes, sizes) + np.arange(int(sizes.sum()))
        nxt = np.unique(heads[arcs])
        nxt = nxt[~seen[nxt]][: budget - count]
        seen[nxt] = True
        count += len(nxt)
        frontier = nxt
    return seen


def _mentor_head_potential(model: _Model, net: Network, cert: Certificate, n_mentors: int) -> np.ndarray:
    """Per mentor, the highest potential a new pair to that mentor could enter (its node or a group node)."""
    all_j = np.arange(n_mentors)
    head = cert.potential[net.mentor_node(all_j)].copy()
    if net.n_groups:
        np.maximum.at(head, model.gkey // model.n_codes, cert.potential[net.group_node(np.arange(len(model.gkey)))])
    return head


def _split(slack: np.ndarray, head: np.ndarray, n_mentors: int) -> tuple[np.ndarray, np.ndarray]:
    """Choose a potential level τ: mentees whose slack is below τ ("suspects") are checked against every mentor
    that could admit an improving pair; the others can only improve with a "hot" mentor (potential above τ),
    so they are checked against those alone. τ minimises the cells evaluated."""
    if len(slack) == 0:
        return np.zeros(0, bool), np.zeros(0, np.int64)
    levels = np.unique(head)
    sorted_slack = np.sort(slack)
    suspects = np.searchsorted(sorted_slack, levels, side="left")          # slack < τ
    hot = len(head) - np.searchsorted(np.sort(head), levels, side="right")  # head > τ
    cells = suspects * n_mentors + len(slack) * hot
    tau = levels[int(np.argmin(cells))]
    return slack < tau, np.flatnonzero(head > tau)


def _rescan(model: _Model, source: PairSource, filters: Filters, rows: np.ndarray, net: Network, cert: Certificate,
            min_cost_exclusive: int | None, zero_cost: bool, cols: np.ndarray, per_mentee: int = 50
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The eligible pairs of `rows` × `cols` not yet in the model whose reduced cost is negative (at most
    `per_mentee` most negative per mentee per round, to bound memory; later rounds add more if needed)."""
    from mentorctl.matching.candidates import block_rows

    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    if len(rows) == 0 or len(cols) == 0:
        return empty
    have = np.sort(model.keys())
    out_i, out_j, out_s, out_r = [], [], [], []
    step = block_rows(len(cols))
    blocking = getattr(source, "blocking", None)
    for start in range(0, len(rows), step):
        block = rows[start:start + step]
        block_cols = cols if blocking is None else blocking.columns(block, cols)
        if len(block_cols) == 0:
            continue
        ok, score, _ = source.evaluate(block, block_cols)
        mask = filters.apply(block, ok, score, source.n_mentors, block_cols)
        if min_cost_exclusive is not None:
            mask &= to_cost(score) < min_cost_exclusive
        r, c = cells(mask)
        j = block_cols[c]
        i = block[r]
        s = score[r, c]
        cost = np.zeros(len(i), np.int64) if zero_cost else to_cost(s)
        reduced = cost + cert.potential[net.mentee_node(i)] - model.head_potential(net, cert, i, j)
        bad = reduced < 0
        i, j, s, reduced = i[bad], j[bad], s[bad], reduced[bad]
        keys = i * source.n_mentors + j
        if len(have):
            pos = np.searchsorted(have, keys).clip(0, len(have) - 1)
            new = have[pos] != keys
            i, j, s, reduced = i[new], j[new], s[new], reduced[new]
        out_i.append(i)
        out_j.append(j)
        out_s.append(s)
        out_r.append(reduced)
    i, j, s, reduced = (_cat(out_i, np.int64), _cat(out_j, np.int64), _cat(out_s, np.float64),
                        _cat(out_r, np.int64))
    order = np.lexsort((j, reduced, i))
    i, j, s = i[order], j[order], s[order]
    first = np.r_[0, np.flatnonzero(np.diff(i)) + 1] if len(i) else np.zeros(0, np.int64)
    rank = np.arange(len(i)) - np.repeat(first, np.diff(np.r_[first, len(i)]))
    take = rank < per_mentee
    return i[take], j[take], s[take]


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
