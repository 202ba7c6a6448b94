"""The priced-flow path for one min_share (matching/lagrange.py) and the peer path through the bipartite double
cover (matching/peers.py), against brute force over every set of pairs on small instances."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mentorctl.matching.candidates import Filters, MatrixSource, build_candidates
from mentorctl.matching.exact import FlowProblem
from mentorctl.matching.lagrange import solve_min_share
from mentorctl.matching.peers import _by_double_cover, solve_peers

RULE = object()  # the share's rule: the test source knows which pairs satisfy it


class ShareSource(MatrixSource):
    """A matrix source that also answers whether the share's rule holds (as RuleSource does)."""

    def __init__(self, eligible: np.ndarray, score: np.ndarray, holds: np.ndarray) -> None:
        super().__init__(eligible, score)
        self.holds = holds
        self.ctx = self

    def evaluate_block(self, rule: object, rows: np.ndarray, cols: np.ndarray | None) -> np.ndarray:
        return self.holds[rows][:, slice(None) if cols is None else cols]

    def rule_holds_for_pairs(self, rule: object, mentee: np.ndarray, mentor: np.ndarray) -> np.ndarray:
        return self.holds[mentee, mentor]


@st.composite
def share_instances(draw):
    n_e, n_m = draw(st.integers(1, 6)), draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    eligible = rng.random((n_e, n_m)) < draw(st.floats(0.3, 1.0))
    while eligible.sum() > 13:  # brute force over every set of pairs
        eligible[tuple(np.argwhere(eligible)[0])] = False
    score = (rng.integers(0, 8, (n_e, n_m)) + rng.integers(0, 2, (n_e, n_m)) / 2).astype(float)
    holds = rng.random((n_e, n_m)) < 0.4
    cap = rng.integers(1, 3, n_m).astype(np.int64)
    code = rng.integers(0, 2, n_e).astype(np.int64) if draw(st.booleans()) else None
    share = draw(st.sampled_from([0.0, 0.25, 0.3, 0.5, 0.7, 1.0]))
    keep = draw(st.integers(1, 4))
    return eligible, score, holds, cap, code, share, keep


def _brute_share(eligible, score, holds, cap, code, share, limit=1):
    """(most pairs without the share, (pairs, score) of the best matching meeting it or None)."""
    pairs = [tuple(p) for p in np.argwhere(eligible)]
    per_mille = int(round(share * 1000))
    most, best = 0, None
    for size in range(len(pairs) + 1):
        for subset in itertools.combinations(pairs, size):
            e = [p[0] for p in subset]
            m = [p[1] for p in subset]
            if len(set(e)) < len(e) or (np.bincount(m, minlength=len(cap)) > cap).any():
                continue
            if code is not None and max(np.unique([(b, code[a]) for a, b in subset], axis=0, return_counts=True)[1],
                                        default=0) > limit:
                continue
            most = max(most, size)
            if 1000 * sum(holds[a, b] for a, b in subset) < per_mille * size:
                continue
            key = (size, float(sum(score[a, b] for a, b in subset)))
            best = key if best is None or key > best else best
    return most, best


@settings(max_examples=150, deadline=None)
@given(share_instances())
def test_min_share_by_priced_flows_equals_brute_force(instance):
    eligible, score, holds, cap, code, share, keep = instance
    n_e, n_m = eligible.shape
    source = ShareSource(eligible, score, holds)
    filters = Filters(np.ones(n_m, bool), np.zeros(0, np.int64))
    rows = np.arange(n_e)
    cands = build_candidates(source, rows, filters, keep, np.ones(n_m, bool))
    problem = FlowProblem(np.ones(n_e, np.int64), cap, "coverage_then_score",
                          mentee_base=np.zeros(n_e, np.int64), mentor_base=np.zeros(n_m, np.int64))
    if code is not None:
        problem.mentee_code, problem.group_limit = code, 1
    out = solve_min_share(problem, source, filters, cands, rows, RULE, share, 0, 0, keep, np.ones(n_m, bool))
    most, best = _brute_share(eligible, score, holds, cap, code, share)
    if out is None:   # CP-SAT takes over: no matching with the most pairs meets the share (among candidates)
        assert keep < n_m or best is None or best[0] < most
        return
    e, m = out.mentee, out.mentor
    assert eligible[e, m].all() and len(set(e.tolist())) == len(e)
    assert (np.bincount(m, minlength=n_m) <= cap).all()
    assert 1000 * holds[e, m].sum() >= int(round(share * 1000)) * len(e), "the share does not hold"
    if code is not None:
        assert max(np.unique(np.c_[m, code[e]], axis=0, return_counts=True)[1], default=0) <= 1
    assert best is not None and len(e) == best[0] == most
    assert np.isclose(out.score, score[e, m].sum())
    assert out.bound_proven and out.bound >= best[1] - 1e-6, "the bound is not a bound"
    if out.proven:
        assert np.isclose(out.score, best[1]), "claimed optimal, but brute force does better"


def test_min_share_reaches_its_bound_through_the_cycles_between_two_prices():
    # four mentees, four mentors: same-site pairs score 2, cross-site 1; at least half must cross sites
    n = 4
    eligible = np.ones((n, n), bool)
    holds = ~np.eye(n, dtype=bool)       # "cross-site" unless i == j
    score = np.where(holds, 1.0, 2.0)
    source = ShareSource(eligible, score, holds)
    filters = Filters(np.ones(n, bool), np.zeros(0, np.int64))
    cands = build_candidates(source, np.arange(n), filters, 4, np.ones(n, bool))
    problem = FlowProblem(np.ones(n, np.int64), np.ones(n, np.int64), "coverage_then_score",
                          mentee_base=np.zeros(n, np.int64), mentor_base=np.zeros(n, np.int64))
    out = solve_min_share(problem, source, filters, cands, np.arange(n), RULE, 0.5, 0, 0, 4, np.ones(n, bool))
    assert out is not None and out.proven and len(out.mentee) == 4
    assert holds[out.mentee, out.mentor].sum() == 2 and out.score == 6.0 == out.bound


@st.composite
def peer_instances(draw):
    n = draw(st.integers(2, 7))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    upper = np.triu(rng.random((n, n)) < draw(st.floats(0.3, 1.0)), 1)
    eligible = upper | upper.T
    raw = rng.integers(0, 6, (n, n)) + rng.integers(0, 2, (n, n)) / 2
    score = np.triu(raw, 1) + np.triu(raw, 1).T
    return eligible, score.astype(float), draw(st.integers(1, 3)), draw(st.sampled_from(["coverage_then_score",
                                                                                        "score"]))


def _brute_peers(eligible, score, objective):
    n = len(eligible)
    best = (0, 0.0)

    def walk(free: list[int], size: int, total: float) -> None:
        nonlocal best
        key = (size, total) if objective == "coverage_then_score" else (0, total)
        best = max(best, key)
        if len(free) < 2:
            return
        first, rest = free[0], free[1:]
        walk(rest, size, total)
        for k, other in enumerate(rest):
            if eligible[first, other]:
                walk(rest[:k] + rest[k + 1:], size + 1, total + score[first, other])

    walk(list(range(n)), 0, 0.0)
    return best


@settings(max_examples=150, deadline=None)
@given(peer_instances())
def test_peers_equal_brute_force_and_are_proven(instance):
    eligible, score, keep, objective = instance
    n = len(eligible)
    source = MatrixSource(eligible, score)
    filters = Filters(np.ones(n, bool), np.zeros(0, np.int64))
    cands = build_candidates(source, np.arange(n), filters, keep, np.ones(n, bool))
    problem = FlowProblem(np.ones(n, np.int64), np.ones(n, np.int64), objective)
    out = solve_peers(problem, source, filters, cands)
    a, b = out.first, out.second
    people = np.concatenate([a, b])
    assert (a < b).all() and len(set(people.tolist())) == len(people) and eligible[a, b].all()
    best = _brute_peers(eligible, score, objective)
    got = float(score[a, b].sum())
    assert np.isclose(out.score, got)
    assert out.bound_proven
    if objective == "coverage_then_score":
        assert out.bound_people >= 2 * best[0]
        if out.bound_people == 2 * best[0]:
            assert out.bound_score >= best[1] - 1e-9
        if keep >= n - 1:   # every pair a candidate: Edmonds' search gives the most pairs
            assert len(a) == best[0]
    else:
        assert out.bound_score >= best[1] - 1e-9
    assert out.proven, "the odd-set proof should finish on a handful of people"
    assert np.isclose(got, best[1]) and (objective == "score" or len(a) == best[0])


def test_an_odd_cycle_is_proven_by_its_odd_set_cut_not_by_the_double_cover():
    # a triangle: the double cover takes every edge halfway (3 people "matched"), a matching only one pair
    eligible = ~np.eye(3, dtype=bool)
    score = np.where(eligible, 1.0, 0.0)
    source = MatrixSource(eligible, score)
    filters = Filters(np.ones(3, bool), np.zeros(0, np.int64))
    cands = build_candidates(source, np.arange(3), filters, 2, np.ones(3, bool))
    problem = FlowProblem(np.ones(3, np.int64), np.ones(3, np.int64))
    out = solve_peers(problem, source, filters, cands)
    assert len(out.first) == 1 and out.proven and out.bound_people == 2 and out.proof["odd_set_cuts"] >= 1
    cover = _by_double_cover(problem, source, filters, cands, lambda _m: None)
    assert len(cover.first) == 1 and cover.bound_people == 3 and not cover.proven
