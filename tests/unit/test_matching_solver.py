"""The solver layers on numeric matrices: min-cost flow, pruning + proof, fair, CP-SAT, against independent
oracles (scipy's linear_sum_assignment on the capacity-expanded matrix, brute force)."""

from __future__ import annotations

import itertools
from unittest import mock

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

from mentorctl.matching import exact
from mentorctl.matching.candidates import Filters, MatrixSource, build_candidates
from mentorctl.matching.cpsat import SatProblem, solve_sat
from mentorctl.matching.exact import FlowProblem, solve_exact


@st.composite
def instances(draw, max_mentees=8, max_mentors=5):
    n_e = draw(st.integers(1, max_mentees))
    n_m = draw(st.integers(1, max_mentors))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    eligible = rng.random((n_e, n_m)) < draw(st.floats(0.2, 1.0))
    score = rng.integers(-2, 10, (n_e, n_m)) + rng.integers(0, 4, (n_e, n_m)) / 4
    cap = rng.integers(0, 3, n_m)
    keep = draw(st.integers(1, 3))
    return eligible, score.astype(float), cap.astype(np.int64), keep


def _solve(eligible, score, cap, keep, objective):
    source = MatrixSource(eligible, score)
    filters = Filters(np.ones(len(cap), bool), np.zeros(0, np.int64))
    cands = build_candidates(source, np.arange(len(eligible)), filters, keep)
    return solve_exact(FlowProblem(np.ones(len(eligible), np.int64), cap, objective), source, filters, cands)


def _oracle(eligible, score, cap, objective):
    """(matched, total score) by linear_sum_assignment on the capacity-expanded matrix."""
    cols = np.repeat(np.arange(len(cap)), cap)
    if len(cols) == 0:
        return 0, 0.0
    big = 1e6
    ok = eligible[:, cols]
    s = score[:, cols]
    if objective == "coverage_then_score":
        weight = np.where(ok, s + big, -1e12)
    else:
        weight = np.where(ok & (s > 0), s, 0.0)
    rows, chosen = linear_sum_assignment(weight, maximize=True)
    w = weight[rows, chosen]
    if objective == "coverage_then_score":
        used = w > 0
        return int(used.sum()), float((w[used] - big).sum())
    return None, float(w.sum())


def _valid(out, eligible, cap):
    assert eligible[out.mentee, out.mentor].all(), "a pair breaks eligibility"
    assert (np.bincount(out.mentor, minlength=len(cap)) <= cap).all(), "a mentor is over capacity"
    assert (np.bincount(out.mentee, minlength=len(eligible)) <= 1).all(), "a mentee has two mentors"


@settings(max_examples=150, deadline=None)
@given(instances())
def test_coverage_then_score_equals_assignment_oracle(instance):
    eligible, score, cap, keep = instance
    out = _solve(eligible, score, cap, keep, "coverage_then_score")
    _valid(out, eligible, cap)
    matched, total = _oracle(eligible, score, cap, "coverage_then_score")
    assert len(out.mentee) == matched
    assert np.isclose(out.score.sum(), total)
    assert out.proof["proven"]


@settings(max_examples=150, deadline=None)
@given(instances())
def test_score_objective_equals_assignment_oracle(instance):
    eligible, score, cap, keep = instance
    out = _solve(eligible, score, cap, keep, "score")
    _valid(out, eligible, cap)
    assert np.isclose(out.score.sum(), _oracle(eligible, score, cap, "score")[1])


def _brute_fair(eligible, score, cap):
    n_e, n_m = eligible.shape
    best = (0, 0.0, 0.0)
    options = [[-1] + [j for j in range(n_m) if eligible[i, j]] for i in range(n_e)]
    for choice in itertools.product(*options):
        load = np.bincount([c for c in choice if c >= 0], minlength=n_m)
        if (load > cap).any():
            continue
        values = [score[i, c] for i, c in enumerate(choice) if c >= 0]
        key = (len(values), min(values) if values else 0.0, sum(values))
        best = max(best, key)
    return best


@settings(max_examples=80, deadline=None)
@given(instances(max_mentees=5, max_mentors=3))
@example(instance=(np.ones((3, 3), bool), np.array([[3.25, 5.75, 8.5], [7.25, -0.25, -1.5], [4.25, 8.25, 5.5]]),
                   np.array([0, 1, 2]), 1))   # the fair level's proof repairs locally after pairs were added
def test_fair_equals_brute_force(instance):
    eligible, score, cap, keep = instance
    out = _solve(eligible, score, cap, keep, "fair")
    _valid(out, eligible, cap)
    got = (len(out.score), float(out.score.min()) if len(out.score) else 0.0, float(out.score.sum()))
    assert np.allclose(got, _brute_fair(eligible, score, cap))


def test_pruning_to_one_candidate_is_widened_to_the_true_optimum():
    # Both mentees' best mentor is M0 (capacity 1); with one candidate each, one mentee would go unmatched.
    eligible = np.ones((2, 2), bool)
    score = np.array([[10.0, 9.0], [10.0, 1.0]])
    out = _solve(eligible, score, np.array([1, 1]), 1, "coverage_then_score")
    assert sorted(zip(out.mentee.tolist(), out.mentor.tolist(), strict=True)) == [(0, 1), (1, 0)]
    assert out.score.sum() == 19.0
    assert out.proof["pairs_added"] >= 1 and out.proof["proven"]


@pytest.mark.parametrize(("objective", "region_share", "cycle_runs"),
                         [("coverage_then_score", 0.0, 0), ("coverage_then_score", 1.0, 0), ("score", 0.0, 0),
                          ("score", 1.0, 0), ("coverage_then_score", 0.0, 40), ("score", 0.0, 40),
                          ("coverage_then_score", 0.0, 1)])
def test_local_repair_keeps_the_optimum_and_falls_back_when_its_region_is_too_small(objective, region_share,
                                                                                   cycle_runs):
    """The proof re-optimises around re-added pairs (exact.LOCAL_*): by cancelling cycles (cycle_runs > 0),
    else (or when the runs run out) in a region, certifying the result over the whole network; when the region
    misses an improvement the certificate fails and the whole network is solved."""
    from mentorctl.matching import flow

    rng = np.random.default_rng(11)
    repaired = 0
    cancelled = []
    real = flow.cancel_through

    def counting(*args, **kwargs):
        out = real(*args, **kwargs)
        cancelled.append(out is not None)
        return out

    with mock.patch.multiple(exact, LOCAL_MAX_SHARE=100.0, LOCAL_NODES=region_share, LOCAL_MIN_NODES=1,
                             LOCAL_CYCLE_RUNS=cycle_runs), \
            mock.patch.object(flow, "cancel_through", counting):
        for _ in range(120):
            n_e, n_m = int(rng.integers(4, 16)), int(rng.integers(2, 8))
            eligible = rng.random((n_e, n_m)) < 0.7
            score = (rng.integers(0, 6, (n_e, n_m)) + rng.integers(0, 4, (n_e, n_m)) / 4).astype(float)
            cap = rng.integers(0, 3, n_m).astype(np.int64)
            out = _solve(eligible, score, cap, int(rng.integers(1, 3)), objective)
            _valid(out, eligible, cap)
            matched, total = _oracle(eligible, score, cap, objective)
            if matched is not None:
                assert len(out.mentee) == matched
            assert np.isclose(out.score.sum(), total)
            assert out.proof["proven"]
            repaired += out.proof["local_repairs"]
    assert repaired > 0, "no proof round was settled by a local re-optimisation"
    if cycle_runs == 40:
        assert sum(cancelled) > 10, "the cycles were not cancelled"
    if cycle_runs == 0:
        assert not any(cancelled), "no Dijkstra run allowed, yet cycles were cancelled"


def test_the_proof_names_the_solver_of_the_flow_also_after_local_repairs(monkeypatch):
    """With the compiled primal-dual solving (thresholds lowered), the optima are the oracle's and the proof
    says which solver found the flow, also when a proof round was settled by cancelling cycles afterwards."""
    pytest.importorskip("numba", reason="the compiled flow needs numba")
    from mentorctl.matching import flow

    monkeypatch.setattr(flow, "COMPILED_ARCS", 1)
    monkeypatch.setattr(flow, "SHIFT_ARCS", 1)
    rng = np.random.default_rng(5)
    repaired = 0
    with mock.patch.multiple(exact, LOCAL_MAX_SHARE=100.0, LOCAL_NODES=1.0, LOCAL_MIN_NODES=1, LOCAL_CYCLE_RUNS=40):
        for _ in range(80):
            n_e, n_m = int(rng.integers(4, 16)), int(rng.integers(2, 8))
            eligible = rng.random((n_e, n_m)) < 0.7
            score = (rng.integers(0, 6, (n_e, n_m)) + rng.integers(0, 4, (n_e, n_m)) / 4).astype(float)
            cap = rng.integers(0, 3, n_m).astype(np.int64)
            out = _solve(eligible, score, cap, int(rng.integers(1, 3)), "coverage_then_score")
            _valid(out, eligible, cap)
            matched, total = _oracle(eligible, score, cap, "coverage_then_score")
            assert len(out.mentee) == matched and np.isclose(out.score.sum(), total)
            assert out.proof["proven"] and out.proof["solver"] == "compiled primal-dual"
            repaired += out.proof["local_repairs"]
    assert repaired > 0, "no proof round was settled by a local re-optimisation"


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("bypass", [False, True])
def test_cancelling_cycles_through_added_arcs_reaches_the_optimum_of_the_larger_network(bypass, compiled):
    """`flow.cancel_through` against OR-Tools on the whole network: an optimal flow over some pair arcs, then
    the rest added; the result is a feasible flow of the same (optimal) cost, and its potentials satisfy every
    residual arc (so it is proven). Both the numpy loop and the compiled one (large networks)."""
    from mentorctl.matching.flow import build_network, cancel_through, certify, residual_arcs, solve_network

    if compiled:
        pytest.importorskip("numba", reason="the compiled loop needs numba (a dependency)")

    rng = np.random.default_rng(3 + bypass)
    cancelled = 0
    for _ in range(150):
        n_e, n_m = int(rng.integers(2, 14)), int(rng.integers(1, 7))
        i, j = np.nonzero(rng.random((n_e, n_m)) < 0.6)
        if len(i) == 0:
            continue
        cost = -rng.integers(0, 5, len(i)).astype(np.int64) * 3
        e_cap, m_cap = np.ones(n_e, np.int64), rng.integers(0, 3, n_m).astype(np.int64)
        first = rng.random(len(i)) < 0.5
        order = np.r_[np.flatnonzero(first), np.flatnonzero(~first)]     # the first arcs, then the added ones
        i, j, cost = i[order], j[order], cost[order]
        n_first = int(first.sum())
        small = build_network(e_cap, m_cap, i[:n_first], j[:n_first], cost[:n_first], bypass=bypass)
        flows_small = solve_network(small)
        cert = certify(small, flows_small, extra_cost_bound=15)
        full = build_network(e_cap, m_cap, i, j, cost, bypass=bypass)
        flows = np.concatenate([flows_small[:n_first], np.zeros(len(i) - n_first, np.int64),
                                flows_small[n_first:]])
        entering = np.zeros(len(full.tails), bool)
        entering[n_first:len(i)] = True
        out = cancel_through(full, flows, cert.potential, cert.big, entering, max_runs=100, compiled=compiled)
        assert out is not None
        got, pot = out
        best = solve_network(full)
        assert (got >= 0).all() and (got <= full.caps).all()
        balance = np.bincount(full.tails, got, full.n_nodes) - np.bincount(full.heads, got, full.n_nodes)
        assert (balance[2:] == 0).all()
        if not bypass:                                                         # coverage: as many pairs
            assert got[:len(i)].sum() == best[:len(i)].sum()
        assert (got * full.costs).sum() == (best * full.costs).sum()           # as good
        tails, heads, costs = residual_arcs(full, got)
        assert (costs + pot[tails] - pot[heads] >= 0).all()
        cancelled += int((got != flows).any())
    assert cancelled > 20, "too few instances needed a cycle cancelled"


def test_the_lowest_potentials_are_another_valid_certificate():
    """`certify(lowest=True)`: potentials ≥ 0 (minus distances to a root) satisfying every residual arc of an
    optimal flow, as the default (distances from a root, ≤ 0) do; the proof chooses between the two, so they
    must differ where the optimal dual is not unique."""
    from mentorctl.matching.flow import build_network, certify, residual_arcs, solve_network

    rng = np.random.default_rng(8)
    differ = 0
    for _ in range(60):
        n_e, n_m = int(rng.integers(2, 12)), int(rng.integers(1, 6))
        i, j = np.nonzero(rng.random((n_e, n_m)) < 0.6)
        if len(i) == 0:
            continue
        net = build_network(np.ones(n_e, np.int64), rng.integers(0, 3, n_m).astype(np.int64), i, j,
                            -rng.integers(0, 5, len(i)).astype(np.int64))
        flows = solve_network(net)
        tails, heads, costs = residual_arcs(net, flows)
        high, low = certify(net, flows), certify(net, flows, lowest=True)
        for pot in (high.potential, low.potential):
            assert (costs + pot[tails] - pot[heads] >= 0).all()
        assert (high.potential <= 0).all() and (low.potential >= 0).all()
        differ += int(not np.array_equal(high.potential - high.potential.max(), low.potential - low.potential.max()))
    assert differ > 10


def test_cancelling_gives_up_on_parallel_arcs():
    from mentorctl.matching.flow import build_network, cancel_through

    net = build_network(np.array([2]), np.array([1, 1]), np.array([0, 0]), np.array([0, 1]),
                        np.array([-3, -1]), levels=True)
    for compiled in (False, True):
        assert cancel_through(net, np.zeros(len(net.tails), np.int64), np.zeros(net.n_nodes, np.int64), 10**6,
                              np.ones(len(net.tails), bool), 5, compiled=compiled) is None


def test_shuffling_mentors_changes_nothing_but_labels():
    rng = np.random.default_rng(5)
    eligible = rng.random((30, 10)) < 0.5
    score = rng.integers(0, 5, (30, 10)).astype(float)
    cap = rng.integers(1, 4, 10)
    base = _solve(eligible, score, cap, 3, "coverage_then_score")
    perm = rng.permutation(10)
    shuffled = _solve(eligible[:, perm], score[:, perm], cap[perm], 3, "coverage_then_score")
    assert np.isclose(base.score.sum(), shuffled.score.sum()) and len(base.mentee) == len(shuffled.mentee)


@settings(max_examples=40, deadline=None)
@given(instances(max_mentees=6, max_mentors=4))
def test_cpsat_without_side_constraints_agrees_with_flow(instance):
    eligible, score, cap, _ = instance
    left, right = np.nonzero(eligible)
    problem = SatProblem(left, right, score[left, right], np.zeros(len(left), bool),
                         np.ones(len(eligible), np.int64), cap)
    out = solve_sat(problem, time_limit=10, workers=1, seed=0)
    flow = _solve(eligible, score, cap, 10, "coverage_then_score")
    assert out.status == "OPTIMAL"
    assert out.chosen.sum() == len(flow.mentee)
    assert np.isclose(score[left[out.chosen], right[out.chosen]].sum(), flow.score.sum())


def test_cpsat_min_share_is_respected_and_infeasible_is_none():
    left = np.array([0, 0, 1, 1])
    right = np.array([0, 1, 0, 1])
    score = np.array([5.0, 1.0, 5.0, 1.0])
    cross = np.array([False, True, False, True])
    problem = SatProblem(left, right, score, np.zeros(4, bool), np.ones(2, np.int64), np.array([2, 2]),
                         shares=[(cross, 0.5)])
    out = solve_sat(problem, time_limit=10)
    assert out.chosen.sum() == 2 and cross[out.chosen].mean() >= 0.5
    forced = SatProblem(left, right, score, np.array([True, False, True, False]), np.ones(2, np.int64),
                        np.array([2, 2]), shares=[(cross, 0.5)])
    assert solve_sat(forced, time_limit=10) is None


@pytest.mark.parametrize("levels", [False, True])
def test_shifting_the_pair_costs_of_a_coverage_network_keeps_its_optimum(levels, monkeypatch):
    """Large coverage networks are solved with their pair costs shifted to start at 0 (faster): the flow found
    is a maximum flow of the same, optimal, original cost (every unit crosses one pair arc)."""
    from mentorctl.matching import flow

    rng = np.random.default_rng(11 + levels)
    for _ in range(60):
        n_e, n_m = int(rng.integers(2, 14)), int(rng.integers(1, 7))
        i, j = np.nonzero(rng.random((n_e, n_m)) < 0.6)
        if len(i) == 0:
            continue
        cost = -rng.integers(1, 9, len(i)).astype(np.int64) * 5
        demand = rng.integers(1, 3 if levels else 2, n_e).astype(np.int64)
        net = flow.build_network(demand, rng.integers(0, 3, n_m).astype(np.int64), i, j, cost, levels=levels)
        monkeypatch.setattr(flow, "SHIFT_ARCS", 10**9)
        plain = flow.solve_network(net)
        monkeypatch.setattr(flow, "SHIFT_ARCS", 0)
        assert flow.shifted_costs(net)[:len(i)].min() == 0
        got = flow.solve_network(net)
        assert got[:len(i)].sum() == plain[:len(i)].sum()
        assert (got * net.costs).sum() == (plain * net.costs).sum()
        flow.certify(net, got)   # proven optimal under the original costs
