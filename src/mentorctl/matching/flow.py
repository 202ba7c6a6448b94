"""Min-cost flow models of the (capacitated, bipartite) matching problem, and their optimality certificates.

The network: source → mentee (capacity = mentors wanted) → [ (mentor, value) group node ] → mentor
(capacity) → sink. Each candidate arc has capacity 1 and integer cost −round(score × SCALE).

`coverage_then_score` is OR-Tools' `solve_max_flow_with_min_cost` (most people matched, then the best total
score); `score` adds a zero-cost bypass arc source → sink so a pair is used only when it raises the total.

Lexicographic coverage (`levels`): a mentee wanting d mentors gets d parallel source arcs of capacity 1 whose
costs rise by a step B per unit (0, B, 2B, …), B larger than the cost of any simple path. A residual cycle
that gives one mentee a k-th mentor by taking an l-th mentor (l < k) from another then costs at least B minus
a path cost, so it is never negative: the optimum has the most mentees with ≥ 1 mentor, then with ≥ 2, …,
then the best score (every lexicographic optimum is a maximum flow: augmenting paths never lower a load).

Load balance (`balance_cost`): a mentor of capacity c gets c parallel sink arcs of capacity 1 costing 0, b,
2b, …: the k-th mentee of a mentor costs (k − 1) × b more (convex, so the arcs fill in order; exact).

The certificate: node potentials π (shortest distances in the residual graph, computed with Bellman-Ford from
a virtual root, so every residual arc has reduced cost c + π_tail − π_head ≥ 0). A pair left out of the model
could improve the solution only if its reduced cost is negative (see `certify`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mentorctl.matching.kernels import numba_installed

# Scores become integer costs at this scale: 720720 = lcm(1..16), so scores that are multiples of 1/k for any
# k ≤ 16 (weights like 0.5, preference ranks of lists up to 16 long) are exact, others are rounded to ~1e-6.
# The solver itself gets the costs divided by their greatest common divisor (exact), which keeps its cost
# range, and so its running time, as small as the scores allow.
SCALE = 720720
COMPILED_ARCS = 200_000   # arcs from which solve_network, cancel_through and bellman_ford run compiled


def to_cost(score: np.ndarray) -> np.ndarray:
    """Integer cost of a score (higher score = lower cost)."""
    return -np.rint(np.asarray(score, dtype=np.float64) * SCALE).astype(np.int64)


@dataclass
class Network:
    """Node numbering: 0 source, 1 sink, then mentees, mentors and group nodes (see `mentee_node` …)."""

    n_mentees: int
    n_mentors: int
    n_groups: int
    tails: np.ndarray
    heads: np.ndarray
    caps: np.ndarray
    costs: np.ndarray
    n_pair_arcs: int           # the first n_pair_arcs arcs are the candidate pairs, in candidate order
    bypass: bool = False
    supply: int = 0            # units the source offers (Σ mentee demand)
    solved_by: str = ""        # set by solve_network: "OR-Tools" or "compiled primal-dual"

    SOURCE = 0
    SINK = 1

    @property
    def n_nodes(self) -> int:
        return 2 + self.n_mentees + self.n_mentors + self.n_groups

    def mentee_node(self, i: np.ndarray | int) -> np.ndarray | int:
        return 2 + np.asarray(i) if not isinstance(i, int) else 2 + i

    def mentor_node(self, j: np.ndarray | int) -> np.ndarray | int:
        return 2 + self.n_mentees + (np.asarray(j) if not isinstance(j, int) else j)

    def group_node(self, g: np.ndarray) -> np.ndarray:
        return 2 + self.n_mentees + self.n_mentors + np.asarray(g)


def check_cost_range(max_abs_cost: int, n_nodes: int) -> None:
    """The one overflow check of the integer costs: every path cost (≤ nodes × the largest |cost|) must fit
    in int64 with room for the solver's own scaling."""
    from mentorctl.errors import MentorctlError

    if int(max_abs_cost) * (int(n_nodes) + 1) >= 2**62:
        raise MentorctlError("scores too large for the exact min-cost flow (integer costs would overflow); "
                             "scale matching.scoring weights down (or lower matching.balance / "
                             "mentors_per_mentee)")


def unit_arcs(owner: np.ndarray, count: np.ndarray, base: np.ndarray | None, step: int
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`count[k]` parallel arcs of capacity 1 for each owner k, the u-th (u = 0, 1, …, after `base[k]`
    already used) costing (base + u) × step. Returns (owner per arc, capacity, cost)."""
    count = np.asarray(count, np.int64).clip(0)
    arcs_owner = np.repeat(np.asarray(owner, np.int64), count)
    first = np.cumsum(count) - count
    rank = np.arange(int(count.sum()), dtype=np.int64) - np.repeat(first, count)
    if base is not None:
        rank = rank + np.repeat(np.asarray(base, np.int64), count)
    return arcs_owner, np.ones(len(arcs_owner), np.int64), rank * int(step)


def level_step(n_nodes: int, pair_cost_bound: int, balance_cost: int, max_mentor_cap: int, unit: int) -> int:
    """B for lexicographic coverage: a multiple of `unit` above the cost of any simple path (≤ n_nodes arcs,
    each pair arc ≤ pair_cost_bound, each sink arc ≤ the largest balance cost)."""
    per_arc = int(pair_cost_bound) + int(balance_cost) * max(0, int(max_mentor_cap) - 1) + 1
    unit = max(1, int(unit))
    return unit * ((int(n_nodes) + 1) * per_arc // unit + 1)


def build_network(mentee_cap: np.ndarray, mentor_cap: np.ndarray, arc_mentee: np.ndarray,
                  arc_mentor: np.ndarray, arc_cost: np.ndarray, *, arc_group: np.ndarray | None = None,
                  group_mentor: np.ndarray | None = None, group_cap: np.ndarray | None = None,
                  bypass: bool = False, levels: bool = False, mentee_base: np.ndarray | None = None,
                  balance_cost: int = 0, mentor_base: np.ndarray | None = None,
                  cost_bound: int = 0) -> Network:
    """The flow network; with `arc_group`, each pair arc goes through the group node of (its mentor, the
    mentee's value of a field), whose capacity limits how many of one mentor's mentees share that value.

    `levels`: lexicographic coverage (one source arc per unit of demand, the u-th costing more; `mentee_base`
    counts units already given by pinned pairs). `balance_cost` > 0: one sink arc per unit of mentor capacity,
    the k-th costing (k − 1) × balance_cost (`mentor_base`: mentees already pinned). `cost_bound`: the largest
    |cost| of any pair that may ever be in the network (the level step must exceed every path's cost)."""
    n_e, n_m = len(mentee_cap), len(mentor_cap)
    if arc_group is not None and (group_mentor is None or group_cap is None):
        raise ValueError("arc_group needs group_mentor and group_cap")
    n_g = 0 if group_cap is None or arc_group is None else len(group_cap)
    probe = Network(n_e, n_m, n_g, *(np.empty(0),) * 4, 0)
    pair_tails = probe.mentee_node(arc_mentee)
    pair_heads = probe.mentor_node(arc_mentor) if arc_group is None else probe.group_node(arc_group)
    mentee_cap = np.asarray(mentee_cap, np.int64)
    mentor_cap = np.asarray(mentor_cap, np.int64)
    tails, heads, caps, costs = [pair_tails], [pair_heads], [np.ones(len(arc_mentee), np.int64)], [arc_cost]
    if balance_cost > 0:
        owner, cap, cost = unit_arcs(np.arange(n_m), mentor_cap, mentor_base, balance_cost)
        tails.append(probe.mentor_node(owner))
        heads.append(np.ones(len(owner), np.int64))
    else:
        tails.append(probe.mentor_node(np.arange(n_m)))
        heads.append(np.ones(n_m, np.int64))
        cap, cost = mentor_cap, np.zeros(n_m, np.int64)
    caps.append(cap)
    costs.append(cost)
    if levels and (mentee_cap + (0 if mentee_base is None else mentee_base)).max(initial=0) > 1:
        unit = int(np.gcd.reduce(np.abs(np.concatenate([np.asarray(arc_cost, np.int64), cost]))))
        step = level_step(2 + n_e + n_m + n_g, max(int(cost_bound), int(np.abs(arc_cost).max(initial=0))),
                          balance_cost, int(mentor_cap.max(initial=0)) + (
                              0 if mentor_base is None else int(np.max(mentor_base, initial=0))), unit)
        owner, cap, cost = unit_arcs(np.arange(n_e), mentee_cap, mentee_base, step)
        tails.append(np.zeros(len(owner), np.int64))
        heads.append(probe.mentee_node(owner))
        caps.append(cap)
        costs.append(cost)
    else:
        tails.append(np.zeros(n_e, np.int64))
        heads.append(probe.mentee_node(np.arange(n_e)))
        caps.append(mentee_cap)
        costs.append(np.zeros(n_e, np.int64))
    if arc_group is not None and group_mentor is not None and group_cap is not None:
        tails.append(probe.group_node(np.arange(n_g)))
        heads.append(probe.mentor_node(group_mentor))
        caps.append(group_cap)
        costs.append(np.zeros(n_g, np.int64))
    supply = int(np.sum(mentee_cap))
    if bypass:
        tails.append(np.array([0]))
        heads.append(np.array([1]))
        caps.append(np.array([supply]))  # source → sink: the bypass
        costs.append(np.array([0]))
    return Network(n_e, n_m, n_g, np.concatenate(tails).astype(np.int32), np.concatenate(heads).astype(np.int32),
                   np.concatenate(caps).astype(np.int64), np.concatenate(costs).astype(np.int64),
                   len(arc_mentee), bypass, supply)


def solver_costs(costs: np.ndarray) -> np.ndarray:
    """The costs OR-Tools gets: divided by their greatest common divisor (exact, and a smaller cost range makes
    its cost scaling faster)."""
    unit = int(np.gcd.reduce(np.abs(costs))) if len(costs) and costs.any() else 1
    return costs // unit


SHIFT_ARCS = 200_000   # arcs from which a coverage network's pair costs are shifted to start at 0


def shifted_costs(net: Network) -> np.ndarray:
    """`solver_costs`, with the pair arcs of a large coverage network shifted to start at 0: every unit of a
    maximum flow crosses exactly one pair arc, so every maximum flow's cost moves by the same amount and the
    optimal flows are the same set. OR-Tools solved the tight 50,000-mentee network 20-30 % faster so (3.4-4.3
    s against 4.9-5.4), the loose one as fast. It picks other pairs among equal optima, so small programmes
    (whose matchings coordinators may already have) keep the unshifted costs."""
    costs = solver_costs(net.costs)
    if net.bypass or len(net.tails) < SHIFT_ARCS or not net.n_pair_arcs:
        return costs
    costs = costs.copy()
    costs[:net.n_pair_arcs] -= costs[:net.n_pair_arcs].min()
    return solver_costs(costs)


def solve_network(net: Network, compiled: bool | None = None) -> np.ndarray:
    """Optimal flows of every arc (exact). OR-Tools' min-cost flow, or on large coverage networks with small
    costs (`compiled`, default: from COMPILED_ARCS arcs, costs 0..kernels.FLOW_MAX_COST after
    `shifted_costs`) the compiled primal-dual `kernels.min_cost_max_flow`, 2-5× faster there."""
    from ortools.graph.python import min_cost_flow

    costs = shifted_costs(net)
    check_cost_range(int(np.abs(costs).max(initial=0)), net.n_nodes)
    if compiled if compiled is not None else _compiled_flow_fits(net, costs):
        from mentorctl.matching.kernels import min_cost_max_flow

        flows = min_cost_max_flow(net.n_nodes, net.tails, net.heads, net.caps, costs, Network.SOURCE,
                                  Network.SINK)
        if flows is not None:
            net.solved_by = "compiled primal-dual"
            return flows
    net.solved_by = "OR-Tools"
    solver = min_cost_flow.SimpleMinCostFlow()
    solver.add_arcs_with_capacity_and_unit_cost(net.tails, net.heads, net.caps, costs)
    solver.set_node_supply(Network.SOURCE, net.supply)
    solver.set_node_supply(Network.SINK, -net.supply)
    status = solver.solve() if net.bypass else solver.solve_max_flow_with_min_cost()
    if status != solver.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed with status {status}")  # a bug, not a user error
    return solver.flows(np.arange(len(net.tails), dtype=np.int32)).astype(np.int64)


def _compiled_flow_fits(net: Network, costs: np.ndarray) -> bool:
    """Whether `solve_network` uses the compiled primal-dual: a large coverage network whose costs are small
    whole numbers ≥ 0 (its phases grow with the cost range; wide ranges stay with OR-Tools' cost scaling)."""
    from mentorctl.matching.kernels import FLOW_MAX_COST

    return (not net.bypass and len(net.tails) >= COMPILED_ARCS and numba_installed() and len(costs) > 0
            and int(costs.min()) >= 0 and int(costs.max()) <= FLOW_MAX_COST
            and int(net.caps.max(initial=0)) < 2**31)


def max_flow_value(net: Network, arc_mask: np.ndarray) -> int:
    """Maximum flow when only the pair arcs in `arc_mask` exist (the structure arcs always do)."""
    from ortools.graph.python import max_flow

    keep = np.ones(len(net.tails), bool)
    keep[:net.n_pair_arcs] = arc_mask
    if net.bypass:
        keep[-1] = False
    solver = max_flow.SimpleMaxFlow()
    solver.add_arcs_with_capacity(net.tails[keep], net.heads[keep], net.caps[keep])
    status = solver.solve(Network.SOURCE, Network.SINK)
    if status != solver.OPTIMAL:
        raise RuntimeError(f"max flow failed with status {status}")
    return int(solver.optimal_flow())


@dataclass
class Certificate:
    """Node potentials of an optimal flow: every residual arc has reduced cost c + π_tail − π_head ≥ 0."""

    potential: np.ndarray      # int64 per node
    big: int                   # cost of the sink → source return arc is −big (coverage objective)


def residual_arcs(net: Network, flows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tails, heads and costs of the residual graph."""
    fwd = flows < net.caps
    back = flows > 0
    tails = np.concatenate([net.tails[fwd], net.heads[back]])
    heads = np.concatenate([net.heads[fwd], net.tails[back]])
    costs = np.concatenate([net.costs[fwd], -net.costs[back]])
    return tails, heads, costs


def certify(net: Network, flows: np.ndarray, extra_cost_bound: int = 0, lowest: bool = False) -> Certificate:
    """Potentials proving `flows` optimal (see `try_certify`); raises when `flows` is not optimal.

    Any feasible potentials prove the flow optimal; which ones also reject the most pairs left out of the
    network differs. By default they are shortest distances from a root (the highest potentials ≤ 0: good for
    mentees); `lowest`: minus the shortest distances to a root (the lowest potentials ≥ 0: good for mentors —
    a mentor whose few candidates are all its own mentees is no longer priced as if it could take anyone)."""
    cert, _ = try_certify(net, flows, extra_cost_bound, reverse=lowest)
    if cert is None:  # pragma: no cover - would mean the solver was not optimal
        raise RuntimeError("flow is not optimal: negative cycle in the residual graph")
    return cert


def try_certify(net: Network, flows: np.ndarray, extra_cost_bound: int = 0, max_rounds: int | None = None,
                start: np.ndarray | None = None, reverse: bool = False) -> tuple[Certificate | None, np.ndarray]:
    """Potentials proving `flows` optimal, also against pairs not in the network.

    Coverage (max flow, then min cost) is the min-cost circulation with a return arc sink → source of cost −B,
    B larger than the cost of any simple path (B = (nodes + 1) × (max |cost| + 1)): then an augmenting path
    through a new arc closes a negative cycle, so one test (reduced cost ≥ 0) covers coverage and score.
    `extra_cost_bound` is the largest |cost| of any pair that may be tested later. `max_rounds`: for a flow
    not known to be optimal (a local improvement): None when Bellman-Ford has not settled within that many
    rounds (a negative cycle, or a graph too deep to tell quickly). `start`: potentials to begin from (those
    of a nearby flow: only the arcs they violate are relaxed, so a flow changed in a small region settles in
    a few rounds; any potentials satisfying every residual arc prove optimality, shortest distances or not).
    Returns (the certificate or None, the nodes still changing when the rounds ran out)."""
    n = net.n_nodes
    tails, heads, costs = residual_arcs(net, flows)
    big = 0
    if not net.bypass:
        max_cost = int(max(np.abs(net.costs).max(initial=0), extra_cost_bound))
        big = (n + 1) * (max_cost + 1)
        total = int(flows[:net.n_pair_arcs].sum())
        tails = np.concatenate([tails, [Network.SINK] + ([Network.SOURCE] if total else [])])
        heads = np.concatenate([heads, [Network.SOURCE] + ([Network.SINK] if total else [])])
        costs = np.concatenate([costs, [-big] + ([big] if total else [])])
    if reverse:   # distances to the root over the reversed arcs, negated: the same arcs satisfied
        distance, unsettled = bellman_ford(n, heads, tails, costs, max_rounds,
                                           None if start is None else -start)
        potential = None if distance is None else -distance
    else:
        potential, unsettled = bellman_ford(n, tails, heads, costs, max_rounds, start)
    if potential is None:
        return None, unsettled
    reduced = costs + potential[tails] - potential[heads]
    if reduced.size and reduced.min() < 0:  # pragma: no cover - would mean the solver was not optimal
        raise RuntimeError("flow is not optimal: negative reduced cost in the residual graph")
    return Certificate(potential, big), unsettled


def tighten(net: Network, flows: np.ndarray, cert: Certificate) -> None:
    """Move potentials within their valid range so that a cheap per-mentee test rejects most left-out pairs:
    lower each mentor / group node to the least value its outgoing residual arcs allow, then raise each
    mentee to the most its incoming arcs allow (each step keeps every reduced cost ≥ 0)."""
    tails, heads, costs = residual_arcs(net, flows)
    if not net.bypass:  # the return arc sink → source is part of the certificate
        tails, heads, costs = (np.append(tails, Network.SINK), np.append(heads, Network.SOURCE),
                               np.append(costs, -cert.big))
    pot = cert.potential
    first_mentor = 2 + net.n_mentees
    for lo, hi in ((first_mentor, first_mentor + net.n_mentors), (first_mentor + net.n_mentors, net.n_nodes)):
        out = (tails >= lo) & (tails < hi)
        lowest = np.full(net.n_nodes, np.iinfo(np.int64).min)
        np.maximum.at(lowest, tails[out], pot[heads[out]] - costs[out])
        nodes = np.arange(lo, hi)
        pot[nodes] = np.minimum(pot[nodes], np.maximum(lowest[nodes], pot[nodes] - 10**15))
    into = (heads >= 2) & (heads < first_mentor)
    highest = np.full(net.n_nodes, np.iinfo(np.int64).max)
    np.minimum.at(highest, heads[into], pot[tails[into]] + costs[into])
    nodes = np.arange(2, first_mentor)
    pot[nodes] = np.maximum(pot[nodes], np.minimum(highest[nodes], pot[nodes] + 10**15))


def shortest_distances(n: int, tails: np.ndarray, heads: np.ndarray, costs: np.ndarray) -> np.ndarray:
    """`bellman_ford` of a graph known to have no negative cycle."""
    dist, _ = bellman_ford(n, tails, heads, costs)
    if dist is None:  # pragma: no cover
        raise RuntimeError("negative cycle in the residual graph")
    return dist


def bellman_ford(n: int, tails: np.ndarray, heads: np.ndarray, costs: np.ndarray,
                 max_rounds: int | None = None, start: np.ndarray | None = None, compiled: bool | None = None
                 ) -> tuple[np.ndarray | None, np.ndarray]:
    """Distances from a virtual root joined to every node by a zero-cost arc (so all are ≤ 0): Bellman-Ford,
    relaxing in each round only the arcs leaving nodes whose distance changed (vectorised; the graph must have
    no negative cycle, which holds for the residual graph of an optimal flow). With `max_rounds`: None when
    the distances have not settled within that many rounds. `start`: begin from these values (relaxing the
    arcs they violate) instead of 0: the result then satisfies every arc without being a shortest distance.
    Returns (distances or None, the nodes still changing when the rounds ran out).

    On large graphs (`compiled`, default: from COMPILED_ARCS arcs) the rounds run compiled
    (`kernels.shortest_from_root`), with the same distances."""
    rounds = n + 1 if max_rounds is None else min(n + 1, max_rounds)
    if compiled if compiled is not None else len(tails) >= COMPILED_ARCS and numba_installed():
        from mentorctl.matching.kernels import shortest_from_root

        dist, changing, settled = shortest_from_root(n, tails, heads, costs, rounds, start)
        return (dist, changing) if settled else (None, changing)
    order = np.argsort(tails, kind="stable")
    tails, heads, costs = tails[order].astype(np.int64), heads[order].astype(np.int64), costs[order]
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(tails, minlength=n), out=indptr[1:])
    if start is None:
        dist, frontier = np.zeros(n, np.int64), np.arange(n)
    else:
        dist = start.astype(np.int64).copy()
        frontier = np.unique(tails[costs + dist[tails] - dist[heads] < 0])
    for _ in range(rounds):
        starts, stops = indptr[frontier], indptr[frontier + 1]
        counts = stops - starts
        if counts.sum() == 0:
            return dist, frontier[:0]
        arcs = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
        candidate = dist[tails[arcs]] + costs[arcs]
        better = candidate < dist[heads[arcs]]
        if not better.any():
            return dist, frontier[:0]
        new = dist.copy()
        np.minimum.at(new, heads[arcs[better]], candidate[better])
        frontier = np.flatnonzero(new < dist)
        dist = new
    return None, frontier


def improve_region(net: Network, flows: np.ndarray, region: np.ndarray) -> np.ndarray:
    """`flows` re-optimised inside `region` (bool per node; source and sink always belong), which must hold
    every partner of its people (no arc with flow leaves it): the arcs with both ends in the region form a
    network of their own, solved exactly as the whole one is (maximum flow, then least cost; least cost with
    the bypass), while every other arc keeps its flow — so the result is feasible for the whole network and
    covers at least as many. It is optimal within the region only: `try_certify` tells whether it is optimal
    everywhere."""
    from ortools.graph.python import min_cost_flow

    n_pair = net.n_pair_arcs
    if ((region[net.tails[:n_pair]] != region[net.heads[:n_pair]]) & (flows[:n_pair] > 0)).any():
        raise ValueError("the region must hold every partner of its people")  # a caller's bug
    inside = region.copy()
    inside[[Network.SOURCE, Network.SINK]] = True
    arcs = np.flatnonzero(inside[net.tails] & inside[net.heads])
    if net.bypass:
        arcs = arcs[arcs != len(net.tails) - 1]      # the bypass: one of the region's own below
    nodes = np.flatnonzero(inside)
    index = np.full(net.n_nodes, -1, np.int64)
    index[nodes] = np.arange(len(nodes))
    tails, heads = index[net.tails[arcs]], index[net.heads[arcs]]
    caps, costs = net.caps[arcs], net.costs[arcs]
    supply = int(caps[tails == index[Network.SOURCE]].sum())
    if net.bypass:
        tails, heads = np.append(tails, index[Network.SOURCE]), np.append(heads, index[Network.SINK])
        caps, costs = np.append(caps, supply), np.append(costs, 0)
    scaled = solver_costs(costs)
    check_cost_range(int(np.abs(scaled).max(initial=0)), len(nodes))
    solver = min_cost_flow.SimpleMinCostFlow()
    solver.add_arcs_with_capacity_and_unit_cost(tails.astype(np.int32), heads.astype(np.int32),
                                                caps.astype(np.int64), scaled.astype(np.int64))
    solver.set_node_supply(int(index[Network.SOURCE]), supply)
    solver.set_node_supply(int(index[Network.SINK]), -supply)
    status = solver.solve() if net.bypass else solver.solve_max_flow_with_min_cost()
    if status != solver.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed with status {status}")  # a bug, not a user error
    out = flows.copy()
    out[arcs] = solver.flows(np.arange(len(arcs), dtype=np.int32))
    if net.bypass:   # the bypass carries whatever the source does not send to mentees
        out[-1] = 0
        out[-1] = net.supply - int(out[net.tails == Network.SOURCE].sum())
    return out


_EXACT_FLOAT = 2**51   # Dijkstra's distances stop at the limit (≤ this) and add one weight (≤ this): exact float64


def cancel_through(net: Network, flows: np.ndarray, potential: np.ndarray, big: int, entering: np.ndarray,
                   max_runs: int, compiled: bool | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """Re-optimise a flow after arcs were added: `potential` satisfies every residual arc (reduced cost
    c + π_tail − π_head ≥ 0) except some of the arcs in `entering` (bool per arc). Repeatedly, for the node v
    most violated arcs enter: Dijkstra from v under reduced costs; a violated arc (u, v) closes a negative
    cycle when its reduced cost + dist(v → u) < 0, and the most negative such cycle is cancelled (one unit
    around it). Then π += min(dist, D) (D: that cycle's dist(v → u), or the largest violation when no cycle is
    negative) keeps every other residual arc ≥ 0, puts the cancelled cycle's arcs at 0 and leaves no arc
    into v negative unless it closes another negative cycle (successive shortest paths, on cycles). With
    coverage the return arc sink → source (cost −big) is in the graph, so a cycle through it raises the flow.

    Returns (flows, potentials satisfying every residual arc: the flows are optimal), or None after
    `max_runs` Dijkstra runs, or when two source or sink arcs join the same two nodes (the parallel arcs of
    lexicographic levels or balance: a path would not say which it took), or when costs are too large for
    float64 distances to be exact; then the caller re-optimises otherwise.

    On large networks (`compiled`, default: from COMPILED_ARCS arcs) the same loop runs compiled, with
    integer distances and each run's Dijkstra reading only the arcs it reaches (at 100,000 mentees: one
    call of 40 runs took about 4 s with numpy and scipy, which rebuild every arc's weight per run)."""
    import scipy.sparse as sp
    from scipy.sparse.csgraph import dijkstra

    from mentorctl.matching.kernels import cancel_cycles

    n, m = net.n_nodes, len(net.tails)
    tails, heads = net.tails.astype(np.int32, copy=False), net.heads.astype(np.int32, copy=False)
    costs, caps = net.costs.astype(np.int64, copy=False), net.caps.astype(np.int64, copy=False)
    flow = flows.astype(np.int64)
    entering = entering.copy()
    if not net.bypass:   # the circulation's return arc: sink → source, cost −big, carrying the whole flow
        tails, heads = np.append(tails, np.int32(Network.SINK)), np.append(heads, np.int32(Network.SOURCE))
        costs, caps = np.append(costs, -big), np.append(caps, np.iinfo(np.int64).max // 4)
        flow, entering = np.append(flow, flows[:net.n_pair_arcs].sum()), np.append(entering, False)
    from_source, into_sink = heads[tails == Network.SOURCE], tails[heads == Network.SINK]
    if len(np.unique(from_source)) != len(from_source) or len(np.unique(into_sink)) != len(into_sink):
        return None
    pot = potential.astype(np.int64).copy()
    a = len(tails)
    if compiled if compiled is not None else a >= COMPILED_ARCS and numba_installed():
        status = cancel_cycles(n, tails, heads, costs, caps, flow, pot, np.flatnonzero(entering), max_runs)
        return (flow[:m].copy(), pot) if status == 1 else None
    all_t, all_h = np.concatenate([tails, heads]), np.concatenate([heads, tails])
    order = np.argsort(all_t, kind="stable")     # every arc in both directions, one CSR layout built once
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(all_t, minlength=n), out=indptr[1:])
    columns = all_h[order]

    def step(x: int, y: int) -> None:
        """Push one unit along the residual arc x → y (forward where it has room, else backward)."""
        row = order[indptr[x]:indptr[x + 1]]
        for k in row[columns[indptr[x]:indptr[x + 1]] == y]:
            if k < a and flow[k] < caps[k]:
                flow[k] += 1
                return
            if k >= a and flow[k - a] > 0:
                flow[k - a] -= 1
                return
        raise RuntimeError("no residual arc on a shortest path")  # pragma: no cover - a bug

    for _ in range(max_runs):
        reduced = costs + pot[tails] - pot[heads]
        bad = entering & (flow < caps) & (reduced < 0)
        if not bad.any():
            return flow[:m].copy(), pot
        target = int(np.bincount(heads[bad]).argmax())
        into = np.flatnonzero(bad & (heads == target))
        weight = np.concatenate([np.where((flow < caps) & ~bad, reduced, np.inf),
                                 np.where(flow > 0, -reduced, np.inf)])
        finite = weight[np.isfinite(weight)]
        if finite.min(initial=0) < 0 or finite.max(initial=0) > _EXACT_FLOAT:   # pragma: no cover
            return None   # the invariant broken (a bug), or costs too large for Dijkstra's float64 to be exact
        graph = sp.csr_matrix((weight[order].astype(np.float64), columns, indptr), shape=(n, n))
        limit = float(-reduced[into].min())
        if limit > _EXACT_FLOAT:   # pragma: no cover - scores near mentorctl's limit on a large programme
            return None
        dist, pred, _ = dijkstra(graph, indices=np.array([target]), limit=limit, return_predecessors=True,
                                 min_only=True)
        value = reduced[into] + dist[tails[into]]
        best = int(np.argmin(value))
        cap_d = limit
        if value[best] < 0:
            close = int(into[best])
            cap_d = float(dist[tails[close]])
            node = int(tails[close])
            while node != target:   # the path target → … → tail of `close`, walked backwards
                prev = int(pred[node])
                step(prev, node)
                node = prev
            flow[close] += 1
        pot += np.minimum(dist, cap_d).astype(np.int64)
    return None
