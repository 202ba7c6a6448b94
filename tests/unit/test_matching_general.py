"""Maximum-weight matching of a general graph with its odd-set proof (matching/general.py), against brute force
over every matching, with only some pairs given up front so that pricing must find the rest."""

import time

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mentorctl.matching.general import Duals, Priced, maximum_matching


def _pricer(weight: np.ndarray, eligible: np.ndarray, calls: list[int]):
    n = len(weight)
    iu, iv = np.nonzero(np.triu(eligible, 1))

    def price(duals: Duals, scale: int, base: int) -> Priced:
        calls.append(1)
        w = weight[iu, iv]
        cover = duals.cover(np.arange(n))[iu, iv]
        short = w + base > (cover + 1e-6) * scale
        unit = int(np.gcd.reduce(np.abs(w))) if len(w) else 0
        low, high = (int(w.min()), int(w.max())) if len(w) else (0, 0)
        return Priced(iu[short], iv[short], w[short], unit, low, high)

    return price


def _brute(weight: np.ndarray, eligible: np.ndarray, coverage: bool) -> tuple[int, int]:
    n = len(weight)
    best = (0, 0)

    def walk(free: list[int], size: int, total: int) -> None:
        nonlocal best
        best = max(best, (size, total) if coverage else (0, total))
        if len(free) < 2:
            return
        head, rest = free[0], free[1:]
        walk(rest, size, total)
        for k, other in enumerate(rest):
            if eligible[head, other]:
                walk(rest[:k] + rest[k + 1:], size + 1, total + int(weight[head, other]))

    walk(list(range(n)), 0, 0)
    return best


@st.composite
def graphs(draw):
    n = draw(st.integers(2, 9))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    upper = np.triu(rng.random((n, n)) < draw(st.floats(0.2, 1.0)), 1)
    eligible = upper | upper.T
    unit = draw(st.sampled_from([1, 7, 360360]))
    raw = rng.integers(draw(st.sampled_from([-3, 0])), 6, (n, n)) * unit
    weight = np.triu(raw, 1) + np.triu(raw, 1).T
    given_share = draw(st.floats(0.0, 1.0))
    return eligible, weight, given_share, draw(st.booleans()), rng


@settings(max_examples=200, deadline=None)
@given(graphs())
def test_the_matching_is_brute_force_optimal_and_proven(graph):
    eligible, weight, given_share, coverage, rng = graph
    n = len(weight)
    iu, iv = np.nonzero(np.triu(eligible, 1))
    some = rng.random(len(iu)) < given_share
    calls: list[int] = []
    out = maximum_matching(n, iu[some], iv[some], weight[iu[some], iv[some]], coverage,
                           _pricer(weight, eligible, calls), (int(weight.min()), int(weight.max())),
                           time.perf_counter() + 60)
    a, b = out.first, out.second
    people = np.concatenate([a, b])
    assert len(set(people.tolist())) == len(people) and eligible[a, b].all()
    assert int(weight[a, b].sum()) == out.weight
    size, total = _brute(weight, eligible, coverage)
    assert out.proven and out.bound_valid
    assert out.weight == total and (not coverage or len(a) == size)
    assert out.weight_bound >= total - 1e-6
    assert calls, "pricing never ran"


def test_pricing_brings_in_the_pair_the_candidates_left_out():
    # a path 0-1-2-3: given only the middle pair (weight 5), the best is the two outer pairs (4 + 4)
    weight = np.zeros((4, 4), np.int64)
    eligible = np.zeros((4, 4), bool)
    for x, y, w in ((0, 1, 4), (1, 2, 5), (2, 3, 4)):
        weight[x, y] = weight[y, x] = w
        eligible[x, y] = eligible[y, x] = True
    out = maximum_matching(4, np.array([1]), np.array([2]), np.array([5]), False, _pricer(weight, eligible, []),
                           (0, 5), time.perf_counter() + 60)
    assert out.proven and out.weight == 8 and out.stats["pairs_added"] == 2
    assert sorted(zip(out.first.tolist(), out.second.tolist(), strict=True)) == [(0, 1), (2, 3)]


def test_coverage_takes_more_pairs_over_a_higher_score():
    # the same path with a heavy middle: coverage still takes both outer pairs
    weight = np.zeros((4, 4), np.int64)
    eligible = np.zeros((4, 4), bool)
    for x, y, w in ((0, 1, 1), (1, 2, 50), (2, 3, 1)):
        weight[x, y] = weight[y, x] = w
        eligible[x, y] = eligible[y, x] = True
    iu, iv = np.nonzero(np.triu(eligible, 1))
    for coverage, expected in ((True, 2), (False, 50)):
        out = maximum_matching(4, iu, iv, weight[iu, iv], coverage, _pricer(weight, eligible, []), (0, 50),
                               time.perf_counter() + 60)
        assert out.proven and out.weight == expected


def test_no_proof_is_claimed_when_a_pair_weighs_more_than_the_range_given():
    # the coverage weight B is sized from the range: a pair outside it could make B too small
    weight = np.array([[0, 3], [3, 0]])
    eligible = ~np.eye(2, dtype=bool)
    out = maximum_matching(2, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64), True,
                           _pricer(weight, eligible, []), (0, 1), time.perf_counter() + 60)
    assert not out.proven and not out.bound_valid
