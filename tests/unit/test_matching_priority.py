"""Waiting-time priority (matching/priority.py) against brute force: among the matchings covering the most
mentees, the waiting mentees matched are the best set in waitlist order, then the score is the best."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mentorctl.matching.candidates import Filters, MatrixSource, build_candidates
from mentorctl.matching.exact import FlowProblem, solve_exact
from mentorctl.matching.priority import PrioritySource


@st.composite
def instances(draw):
    n_e = draw(st.integers(1, 6))
    n_m = draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    eligible = rng.random((n_e, n_m)) < draw(st.floats(0.3, 1.0))
    score = (rng.integers(-2, 10, (n_e, n_m)) + rng.integers(0, 4, (n_e, n_m)) / 4).astype(float)
    cap = rng.integers(0, 3, n_m).astype(np.int64)
    order = [int(i) for i in rng.permutation(n_e)[: draw(st.integers(0, n_e))]]   # the waitlist, longest first
    return eligible, score, cap, order, draw(st.integers(1, 3)), draw(st.sampled_from(["coverage_then_score",
                                                                                       "score"]))


def _key(pairs: list[tuple[int, int]], score: np.ndarray, order: list[int], objective: str):
    matched = {i for i, _ in pairs}
    served = tuple(i in matched for i in order)
    total = round(sum(score[i, j] for i, j in pairs), 6)
    return (len(matched), served, total) if objective == "coverage_then_score" else (served, total)


def _brute(eligible, score, cap, order, objective):
    n_e, n_m = eligible.shape
    best = None
    for choice in itertools.product(*[[None, *np.flatnonzero(eligible[i]).tolist()] for i in range(n_e)]):
        if any(choice.count(j) > cap[j] for j in range(n_m)):
            continue
        pairs = [(i, j) for i, j in enumerate(choice) if j is not None]
        key = _key(pairs, score, order, objective)
        best = key if best is None or key > best else best
    return best


@settings(max_examples=80, deadline=None)
@given(instances())
def test_waiting_mentees_come_first_in_waitlist_order_then_score(case):
    eligible, score, cap, order, keep, objective = case
    n_e, n_m = eligible.shape
    source = PrioritySource(MatrixSource(eligible, score), np.zeros(n_e), None, False, order)
    filters = Filters(cap > 0, np.zeros(0, np.int64))
    cands = build_candidates(source, np.arange(n_e), filters, keep)
    cands = source.prioritise(cands, filters, cap, np.ones(n_e, bool), 2 + n_e + n_m)
    out = solve_exact(FlowProblem(np.ones(n_e, np.int64), cap, objective), source, filters, cands)
    pairs = list(zip(out.mentee.tolist(), out.mentor.tolist(), strict=True))
    assert eligible[out.mentee, out.mentor].all()
    assert (np.bincount(out.mentor, minlength=n_m) <= cap).all()
    assert np.allclose(source.inner.score_pairs(out.mentee, out.mentor), score[out.mentee, out.mentor])
    assert _key(pairs, score, order, objective) == _brute(eligible, score, cap, order, objective)


def test_a_longer_wait_beats_a_better_score():
    # two waiting mentees want the one free place; the second scores far higher but waited less
    eligible = np.ones((2, 1), bool)
    score = np.array([[0.0], [100.0]])
    source = PrioritySource(MatrixSource(eligible, score), np.zeros(2), None, False, [0, 1])
    filters = Filters(np.ones(1, bool), np.zeros(0, np.int64))
    cands = source.prioritise(build_candidates(source, np.arange(2), filters, 1), filters, np.ones(1, np.int64),
                              np.ones(2, bool), 5)
    out = solve_exact(FlowProblem(np.ones(2, np.int64), np.ones(1, np.int64)), source, filters, cands)
    assert out.mentee.tolist() == [0]
