"""The compiled selection (matching/kernels.py) keeps exactly the candidates the numpy selection keeps: same
pairs in the same order, the same best score left out, counts and score range; and large programmes use it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mentorctl.matching import kernels
from mentorctl.matching.candidates import SPREAD, Filters, build_candidates, top_k_rotated
from mentorctl.matching.flow import SCALE

pytest.importorskip("numba", reason="numba is a dependency; without it the numpy selection is used")


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 12), st.integers(0, 40), st.integers(1, 8),
       st.sampled_from([1, 2, 4, 1000]), st.booleans())
def test_kernel_selects_what_numpy_selects(seed, b, width, keep, levels, negative):
    rng = np.random.default_rng(seed)
    n_m = width + int(rng.integers(1, 20))
    cols = np.sort(rng.choice(n_m, width, replace=False))
    rows = rng.choice(10_000, b, replace=False)
    mask = rng.random((b, width)) < rng.choice([0.1, 0.7, 1.0])
    score = rng.integers(0, levels, (b, width)) / 4 + (-3.25 if negative else 0.5)   # few levels: many ties
    want_r, want_j, want_s, want_disc = top_k_rotated(mask, score, keep, rows, cols, n_m)
    r, j, s, counts, disc, low, high = kernels.top_k_block(mask, score, keep, rows, cols, n_m, SPREAD, SCALE)
    assert np.array_equal(r, want_r) and np.array_equal(j, want_j) and np.array_equal(s, want_s)
    assert np.array_equal(disc, want_disc)
    assert np.array_equal(counts, mask.sum(axis=1))
    masked = score[mask]
    assert (low, high) == ((masked.min(), masked.max()) if mask.any() else (np.inf, -np.inf))


def test_kernel_breaks_ties_by_each_rows_rotation_of_the_mentors():
    mask = np.ones((2, 5), bool)
    score = np.ones((2, 5))
    rows, cols = np.array([0, 1]), np.arange(5)
    r, j, *_ = kernels.top_k_block(mask, score, 2, rows, cols, 5, SPREAD, SCALE)
    first = (-(1 * SPREAD)) % 5   # mentee 1's first mentor among equals
    assert list(j[r == 0]) == [0, 1]
    assert list(j[r == 1]) == sorted([first, (first + 1) % 5])


def test_large_scans_use_the_kernel_and_small_ones_do_not(monkeypatch):
    assert kernels.use_kernel(50_000, 16_666)
    assert not kernels.use_kernel(1_000, 333)
    calls = []
    real = kernels.top_k_block
    monkeypatch.setattr(kernels, "top_k_block", lambda *a: calls.append(1) or real(*a))
    monkeypatch.setattr(kernels, "KERNEL_CELLS", 1)
    rng = np.random.default_rng(3)
    from mentorctl.matching.candidates import MatrixSource

    source = MatrixSource(rng.random((30, 12)) < 0.6, rng.integers(0, 3, (30, 12)).astype(float))
    filters = Filters(np.ones(12, bool), np.zeros(0, np.int64))
    compiled = build_candidates(source, np.arange(30), filters, 4)
    assert calls
    plain = build_candidates(source, np.arange(30), filters, 4, compiled=False)
    for name in ("mentee", "mentor", "score", "eligible", "best_discarded"):
        assert np.array_equal(getattr(compiled, name), getattr(plain, name)), name
    assert (compiled.score_low, compiled.score_high) == (plain.score_low, plain.score_high)


@settings(max_examples=120, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 30), st.integers(0, 120), st.booleans(), st.booleans())
def test_compiled_bellman_ford_finds_the_same_distances(seed, n, m, from_start, cycle):
    """`flow.bellman_ford` compiled and with numpy: the same distances (from a virtual root, or relaxed from
    given values), the same verdict on a negative cycle, and the compiled one never needs more rounds."""
    from mentorctl.matching.flow import bellman_ford

    rng = np.random.default_rng(seed)
    tails, heads = rng.integers(0, n, m), rng.integers(0, n, m)
    potential = rng.integers(-20, 20, n)
    costs = rng.integers(0, 6, m) + potential[tails] - potential[heads]   # no negative cycle …
    if cycle and m:
        costs[0] -= 1000                                                   # … unless made one
    start = rng.integers(-30, 1, n) if from_start else None
    want, want_left = bellman_ford(n, tails, heads, costs, None, start, compiled=False)
    got, got_left = bellman_ford(n, tails, heads, costs, None, start, compiled=True)
    assert (want is None) == (got is None)
    if want is not None:
        assert np.array_equal(want, got)
        assert len(got_left) == 0
    for rounds in (1, 2, 4):
        limited, _ = bellman_ford(n, tails, heads, costs, rounds, start, compiled=False)
        if limited is not None:
            fast, _ = bellman_ford(n, tails, heads, costs, rounds, start, compiled=True)
            assert fast is not None and np.array_equal(fast, limited)


def _ortools_max_flow_min_cost(n, tails, heads, caps, costs):
    from ortools.graph.python import min_cost_flow

    solver = min_cost_flow.SimpleMinCostFlow()
    solver.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    supply = int(caps[tails == 0].sum())
    solver.set_node_supply(0, supply)
    solver.set_node_supply(1, -supply)
    assert solver.solve_max_flow_with_min_cost() == solver.OPTIMAL
    return int(solver.maximum_flow()), int(solver.optimal_cost())


@settings(max_examples=250, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([1, 3, 8, 14, 40]), st.sampled_from([0, 5, 20, 60, 300]),
       st.sampled_from([0, 1, 3, 12, 255]))
def test_compiled_min_cost_flow_finds_a_maximum_flow_of_least_cost(seed, inner, m, max_cost):
    """The primal-dual kernel against OR-Tools on random networks (source 0, sink 1, inner nodes joined by
    arcs in both directions, so residual cycles, zero-cost cycles and parallel arcs occur): the same flow value
    and cost, every capacity respected and flow conserved at every inner node."""
    rng = np.random.default_rng(seed)
    n = inner + 2
    k_in, k_out = int(rng.integers(1, inner + 1)), int(rng.integers(1, inner + 1))
    tails = np.concatenate([np.zeros(k_in, np.int64), rng.integers(2, n, k_out), rng.integers(2, n, m)])
    heads = np.concatenate([rng.integers(2, n, k_in), np.ones(k_out, np.int64), rng.integers(2, n, m)])
    caps = rng.integers(0, 4, len(tails))
    costs = rng.integers(0, max_cost + 1, len(tails))
    flow = kernels.min_cost_max_flow(n, tails, heads, caps, costs, 0, 1)
    assert flow is not None
    assert ((flow >= 0) & (flow <= caps)).all()
    balance = np.bincount(heads, flow, n) - np.bincount(tails, flow, n)
    assert (balance[2:] == 0).all()
    assert (int(-balance[0]), int(flow @ costs)) == _ortools_max_flow_min_cost(n, tails, heads, caps, costs)


def test_compiled_min_cost_flow_gives_up_after_its_phases_and_refuses_costs_out_of_range(monkeypatch):
    # two paths of different cost: two phases; allowed one, the kernel gives up
    tails, heads = np.array([0, 0, 2, 3]), np.array([2, 3, 1, 1])
    caps, costs = np.ones(4, np.int64), np.array([0, 5, 0, 0])
    assert kernels.min_cost_max_flow(4, tails, heads, caps, costs, 0, 1).tolist() == [1, 1, 1, 1]
    monkeypatch.setattr(kernels, "FLOW_MAX_PHASES", 1)
    assert kernels.min_cost_max_flow(4, tails, heads, caps, costs, 0, 1) is None
    monkeypatch.setattr(kernels, "FLOW_MAX_PHASES", 10)
    monkeypatch.setattr(kernels, "FLOW_MAX_WORK", 1)   # the slots read once over: not enough for two phases
    assert kernels.min_cost_max_flow(4, tails, heads, caps, costs, 0, 1) is None
    with pytest.raises(ValueError, match="costs must lie"):
        kernels.min_cost_max_flow(4, tails, heads, caps, costs - 1, 0, 1)


def test_large_coverage_networks_are_solved_compiled_and_the_rest_by_ortools(monkeypatch):
    """`flow.solve_network`: a coverage network from COMPILED_ARCS arcs with small costs goes to the kernel,
    with the same objective as OR-Tools; the score objective (bypass arc) and wide cost ranges do not; when
    the kernel gives up, OR-Tools solves."""
    from mentorctl.matching import flow as flow_module

    rng = np.random.default_rng(5)
    n_e, n_m, arcs = 60, 25, 600
    mentee, mentor = rng.integers(0, n_e, arcs), rng.integers(0, n_m, arcs)
    cost = -rng.integers(0, 8, arcs) * 3
    calls = []
    real = kernels.min_cost_max_flow

    def spy(*args):
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(kernels, "min_cost_max_flow", spy)
    monkeypatch.setattr(flow_module, "COMPILED_ARCS", 100)
    monkeypatch.setattr(flow_module, "SHIFT_ARCS", 100)   # pair costs shifted to start at 0 (shifted_costs)
    net = flow_module.build_network(np.ones(n_e, np.int64), rng.integers(1, 3, n_m), mentee, mentor, cost)
    fast = flow_module.solve_network(net)
    assert calls == [1]
    plain = flow_module.solve_network(net, compiled=False)
    assert calls == [1]
    assert fast[:arcs].sum() == plain[:arcs].sum() and fast @ net.costs == plain @ net.costs
    flow_module.solve_network(flow_module.build_network(np.ones(n_e, np.int64), rng.integers(1, 3, n_m), mentee,
                                                        mentor, cost, bypass=True))
    wide = flow_module.build_network(np.ones(n_e, np.int64), rng.integers(1, 3, n_m), mentee, mentor,
                                     cost * 1000 + rng.integers(0, 7, arcs))
    flow_module.solve_network(wide)
    assert calls == [1]
    monkeypatch.setattr(kernels, "FLOW_MAX_PHASES", 1)
    again = flow_module.solve_network(net)
    assert calls == [1, 1] and again @ net.costs == plain @ net.costs


def test_a_match_solved_by_the_compiled_flow_says_so_and_is_the_same_optimum(example_programme, monkeypatch):
    """End to end on the example programme (made "large" by lowering the thresholds): the summary's model and
    proof name the compiled primal-dual, the result is proven optimal, and its objective and matched count are
    those OR-Tools gives."""
    import json

    from mentorctl.matching import flow as flow_module
    from mentorctl.matching.solve import solve
    from mentorctl.programme import load_programme
    from mentorctl.roster import load_participants

    programme = load_programme(example_programme)
    participants = load_participants(programme)
    plain = solve(programme, participants).summary
    monkeypatch.setattr(flow_module, "COMPILED_ARCS", 10)
    monkeypatch.setattr(flow_module, "SHIFT_ARCS", 10)
    fast = solve(programme, participants).summary
    assert plain.model == "min-cost flow (OR-Tools)" and plain.proof.solver == "OR-Tools"
    assert fast.model == "min-cost flow (compiled primal-dual)" and fast.proof.solver == "compiled primal-dual"
    assert fast.proof.proven
    assert (fast.matched, fast.objective_value) == (plain.matched, plain.objective_value)
    assert json.loads(json.dumps(fast.as_dict()))["proof"]["solver"] == "compiled primal-dual"
